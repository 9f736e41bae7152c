#!/bin/bash
# ab-demo.sh: the same unmodified client/server pair (faasflow-bench), run twice over TCP
# loopback -- once plain, once with LD_PRELOAD=libfaasflow_intercept.so -- moving payloads of
# FaaSFlow's real edge sizes (every edge of its 8 benchmark workflows, and request/response at
# the median and p90 edge). Prints a side-by-side table and checks every hash; exits non-zero
# when a hash does not match or the shim moved nothing through the region.
#
#   contrib/demo/ab-demo.sh [--build DIR] [--reps K]
#
# DIR is the top build directory (default: the source tree, i.e. an in-tree build).
# It starts its own faasflowd in a temporary directory and stops it at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${FAASFLOW_BUILD:-$src} reps=3
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "ab-demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case $reps in ''|*[!0-9]*|0) echo "ab-demo.sh: --reps '$reps': expected a positive number" >&2; exit 2 ;; esac
BENCH=$build/contrib/bench/faasflow-bench
FAASFLOWD=$build/daemon/faasflowd
FAASFLOWCTL=$build/daemon/faasflowctl
SHIM=$build/preload/.libs/libfaasflow_intercept.so
EDGES=$src/contrib/bench/faasflow_edges.csv
for f in "$BENCH" "$FAASFLOWD" "$FAASFLOWCTL" "$SHIM" "$EDGES"; do
	[ -e "$f" ] || { echo "ab-demo.sh: $f is missing: build first (./configure && make), or pass --build DIR" >&2; exit 2; }
done

T=$(mktemp -d /tmp/faasflow-demo.XXXXXX)
pids=()
RDIR=$T
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
	[ "$RDIR" = "$T" ] || rm -rf "$RDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_for() { local _; for _ in $(seq 1000); do "$@" >/dev/null 2>&1 && return 0; sleep 0.01; done; return 1; }

CONF=$T/faasflow.conf
# The region on tmpfs when /dev/shm is one (the guide's tuning; on disk its pages are written back)
[ "$(stat -f -c %T /dev/shm 2>/dev/null)" != tmpfs ] || RDIR=$(mktemp -d /dev/shm/faasflow-demo.XXXXXX)
printf 'SHM_FILE_PATH = %s/region\nSOCKET_DIR = %s\nSHM_SIZE = 1G\nSLOT_SIZE = 1M\n' "$RDIR" "$T" > "$CONF"
"$FAASFLOWD" --config "$CONF" > "$T/faasflowd.log" 2>&1 &
pids+=("$!")
if ! { wait_for test -S "$T/faasflow_container_default.sock" && wait_for "$FAASFLOWCTL" --config "$CONF" status; }; then
	echo "ab-demo.sh: faasflowd did not start:" >&2; cat "$T/faasflowd.log" >&2; exit 1
fi
shim_env=(LD_PRELOAD="$SHIM" FAASFLOW_CONFIG="$CONF")
if ldd "$SHIM" | grep -q libasan; then
	echo "ab-demo.sh: note: sanitizer build of the shim: slower than a normal build" >&2
	shim_env=(ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
		LD_PRELOAD="$(gcc -print-file-name=libasan.so):$SHIM" FAASFLOW_CONFIG="$CONF")
fi
region_bytes() {
	"$FAASFLOWCTL" --config "$CONF" stats --json | grep -o '"region_bytes": *[0-9]*' | grep -o '[0-9]*$'
}

RAW=$T/raw.csv
: > "$RAW"
fail=0
# run LABEL(tcp|shim) ARGS...: server and client, two processes; lines "label,...,region_delta"
run() {
	local label=$1 envc=(env) rf=$T/port.$RANDOM b0 b1 spid out rc=0; shift
	[ "$label" = tcp ] || envc+=("${shim_env[@]}")
	b0=$(region_bytes)
	"${envc[@]}" timeout 120 "$BENCH" -r server -p 0 -f "$rf" "$@" 2>>"$T/err.log" &
	spid=$!
	wait_for test -s "$rf" || { echo "ab-demo.sh: server did not start" >&2; cat "$T/err.log" >&2; exit 1; }
	out=$("${envc[@]}" timeout 120 "$BENCH" -r client -p "$(cat "$rf")" -l "$label" "$@" 2>>"$T/err.log") || rc=$?
	wait "$spid" || rc=$?
	b1=$(region_bytes)
	if [ $rc != 0 ] || [ -z "$out" ]; then
		echo "ab-demo.sh: $label $* failed (exit $rc):" >&2; tail -5 "$T/err.log" >&2; fail=1
	fi
	# the region delta belongs to the run: put it on its first line only
	printf '%s\n' "$out" | awk -v d=$((b1 - b0)) '{ print $0 "," (NR == 1 ? d : 0) }' >> "$RAW"
}

echo "ab-demo: FaaSFlow edges ($(($(wc -l < "$EDGES") - 1)) edges, 8 workflows), $reps x (plain TCP, shim) alternated ..." >&2
for _ in $(seq "$reps"); do
	for label in tcp shim; do
		run "$label" -m replay -e "$EDGES" -n 1
		run "$label" -m rr -s 352036 -n 200
		run "$label" -m rr -s 18086749 -n 10
	done
done

# ---- the table ---------------------------------------------------------------------------
awk -F, '
function med(arr, n,   i, j, t) {           # median of arr[1..n] (insertion sort)
	for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
	return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
function hum(b) { return b >= 1e9 ? sprintf("%.2f GB", b / 1e9) : b >= 1e6 ? sprintf("%.1f MB", b / 1e6) : b >= 1e3 ? sprintf("%.0f kB", b / 1e3) : b " B" }
{
	p = $1; k = $2 == "replay" ? "replay " $15 : "rr " $3
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k; size[k] = $3 }
	n = ++cnt[p, k]; us[p, k, n] = $7
	if ($10 != "yes") bad[p] = 1
	region[p] += $16; runs[p]++
	if ($2 == "replay") { wall[p, cnt[p, k]] += $7; nwall[p] = cnt[p, k]; bytes_all[p, cnt[p, k]] += $3 }
}
END {
	printf "\n%-36s | %-22s | %-22s | %s\n", "payloads of FaaSFlow edge sizes", "plain TCP", "with the shim", "shim vs TCP"
	printf "%s\n", "-------------------------------------+------------------------+------------------------+------------"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		# one median time per side; its rate is derived from it (payload bytes over that time),
		# so the two columns of a row always agree
		for (j = 1; j <= cnt["tcp", k]; j++) a[j] = us["tcp", k, j]
		ut = med(a, cnt["tcp", k]); gt = ut > 0 ? size[k] / ut / 1000 : 0
		for (j = 1; j <= cnt["shim", k]; j++) a[j] = us["shim", k, j]
		us_ = med(a, cnt["shim", k]); gs = us_ > 0 ? size[k] / us_ / 1000 : 0
		if (k ~ /^replay/) { lab = "workflow " substr(k, 8) " (" hum(size[k]) ")"; ft = sprintf("%8.1f ms %6.2f GB/s", ut / 1000, gt); fs = sprintf("%8.1f ms %6.2f GB/s", us_ / 1000, gs) }
		else { lab = "round trip, " hum(size[k]) (size[k] < 1e6 ? " (median edge)" : " (p90 edge)"); ft = sprintf("%8.0f us %6.2f GB/s", ut, gt); fs = sprintf("%8.0f us %6.2f GB/s", us_, gs) }
		printf "%-36s | %-22s | %-22s | %5.2fx faster\n", lab, ft, fs, (us_ > 0 ? ut / us_ : 0)
	}
	for (p = 1; p <= 2; p++) { q = p == 1 ? "tcp" : "shim"; for (j = 1; j <= nwall[q]; j++) a[j] = wall[q, j]; W[q] = med(a, nwall[q]); B[q] = bytes_all[q, 1] }
	printf "%s\n", "-------------------------------------+------------------------+------------------------+------------"
	printf "%-36s | %8.1f ms %6.2f GB/s | %8.1f ms %6.2f GB/s | %5.2fx faster\n", "all 8 workflows, one after another", W["tcp"] / 1000, B["tcp"] / W["tcp"] / 1000, W["shim"] / 1000, B["shim"] / W["shim"] / 1000, W["tcp"] / W["shim"]
	printf "%-36s | %-22s | %-22s |\n", "bytes through the region", hum(region["tcp"] / reps), hum(region["shim"] / reps) " per run"
	printf "%-36s | %-22s | %-22s |\n", "hashes (both ends, every byte)", bad["tcp"] ? "MISMATCH" : "match", bad["shim"] ? "MISMATCH" : "match"
	if (bad["tcp"] || bad["shim"]) exit 1
	if (region["shim"] <= 0) { print "\nab-demo: the shim moved nothing through the region" > "/dev/stderr"; exit 3 }
}' reps="$reps" "$RAW" || fail=1
echo
echo "(medians of $reps alternated runs; region bytes from 'faasflowctl stats --json'; coordinator: $FAASFLOWD)"
exit $fail
