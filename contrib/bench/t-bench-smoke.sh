#!/bin/bash
# Smoke test of faasflow-bench: every transport and mode with tiny sizes; each row must report
# matching hashes on both ends. With the shim built: one TCP row under LD_PRELOAD too, which
# must go through the region.
set -euo pipefail

: "${top_builddir:=../..}"
: "${srcdir:=.}"
BENCH=${BENCH:-$top_builddir/contrib/bench/faasflow-bench}
SHIM=${SHIM:-$top_builddir/preload/.libs/libfaasflow_intercept.so}
FAASFLOWD=${FAASFLOWD:-$top_builddir/daemon/faasflowd}
FAASFLOWCTL=${FAASFLOWCTL:-$top_builddir/daemon/faasflowctl}
[ -x "$BENCH" ] || { echo "FAIL: no $BENCH" >&2; exit 1; }

T=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fails=0 rows=0
wait_for() { local _; for _ in $(seq 1000); do "$@" >/dev/null 2>&1 && return 0; sleep 0.01; done; return 1; }

# check NAME ARGS...: run faasflow-bench, every output line must say hash_ok=yes
check() {
	local name=$1 out rc=0; shift
	out=$("$@" 2>"$T/err") || rc=$?
	if [ $rc != 0 ] || [ -z "$out" ] || printf '%s\n' "$out" | awk -F, '$10 != "yes" { bad = 1 } END { exit !bad }'; then
		echo "FAIL: $name (rc $rc): $out" >&2
		cat "$T/err" >&2
		fails=$((fails + 1))
	else
		rows=$((rows + $(printf '%s\n' "$out" | wc -l)))
		echo "ok: $name: $(printf '%s\n' "$out" | head -1 | cut -d, -f1-6,10)"
	fi
}

printf 'workflow,producer,consumer,output,bytes\nw1,a,b,x,1\nw1,b,c,y,70001\nw2,a,b,z,3000000\nw2,b,c,z,13\n' > "$T/edges.csv"

RPORT=
if command -v redis-server >/dev/null; then
	for _ in 1 2 3; do
		p=$((20000 + RANDOM % 40000))
		redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" > "$T/redis.log" 2>&1 &
		rp=$!
		if wait_for redis-cli -p "$p" ping; then RPORT=$p; pids+=("$rp"); break; fi
		kill "$rp" 2>/dev/null || true
	done
fi

for tr in tcp unix ring redis; do
	if [ $tr = redis ] && [ -z "$RPORT" ]; then echo "skip: redis (no redis-server)"; continue; fi
	common=(-t "$tr" -u "$T/u.sock" -R "${RPORT:-6379}")
	check "$tr stream 1000003x3" "$BENCH" "${common[@]}" -m stream -s 1000003 -n 3
	check "$tr stream 64x100" "$BENCH" "${common[@]}" -m stream -s 64 -n 100
	check "$tr rr 4K" "$BENCH" "${common[@]}" -m rr -s 4K -n 20
	check "$tr rr 2.5M" "$BENCH" "${common[@]}" -m rr -s 2500000 -n 3
	check "$tr replay" "$BENCH" "${common[@]}" -m replay -e "$T/edges.csv" -n 2
	case $tr in tcp|unix) check "$tr conn 100000" "$BENCH" "${common[@]}" -m conn -s 100000 -n 5 ;; esac
done

# separate server and client processes (how run-bench.sh runs TCP)
"$BENCH" -r server -p 0 -f "$T/port" -m rr -s 300000 -n 4 2>"$T/serr" &
spid=$!; pids+=("$spid")
wait_for test -s "$T/port" || { echo "FAIL: server did not announce its port" >&2; exit 1; }
check "tcp rr, two processes" "$BENCH" -r client -p "$(cat "$T/port")" -m rr -s 300000 -n 4
wait "$spid" || { echo "FAIL: server exit" >&2; fails=$((fails + 1)); }

# a mismatch must be seen: the client says 5 requests, the server expects 4 -> error exit
"$BENCH" -r server -p 0 -f "$T/port2" -m stream -s 1000 -n 4 2>/dev/null &
spid=$!; pids+=("$spid")
wait_for test -s "$T/port2"
if "$BENCH" -r client -p "$(cat "$T/port2")" -m stream -s 1000 -n 5 > "$T/mm" 2>/dev/null &&
	! grep -q ',NO,' "$T/mm"; then
	echo "FAIL: a different stream was reported as matching" >&2
	fails=$((fails + 1))
else
	echo "ok: a different stream is reported as not matching"
fi
wait "$spid" 2>/dev/null || true

if [ -f "$SHIM" ] && [ -x "$FAASFLOWD" ]; then
	conf=$T/ff.conf
	printf 'SHM_FILE_PATH = %s/region\nSOCKET_DIR = %s\nSHM_SIZE = 64M\nSLOT_SIZE = 1M\n' "$T" "$T" > "$conf"
	"$FAASFLOWD" --config "$conf" > "$T/d.log" 2>&1 &
	pids+=("$!")
	if ! { wait_for test -S "$T/faasflow_container_default.sock" && wait_for "$FAASFLOWCTL" --config "$conf" status; }; then
		echo "FAIL: faasflowd did not start" >&2; cat "$T/d.log" >&2; exit 1
	fi
	pre=$SHIM envx=()
	if ldd "$SHIM" | grep -q libasan; then
		pre="$(gcc -print-file-name=libasan.so):$SHIM"
		envx=(ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
	fi
	region() { "$FAASFLOWCTL" --config "$conf" stats --json | grep -o '"region_bytes": *[0-9]*' | grep -o '[0-9]*$'; }
	b0=$(region)
	check "shim tcp stream 4M x4" env "${envx[@]}" LD_PRELOAD="$pre" FAASFLOW_CONFIG="$conf" \
		"$BENCH" -t tcp -m stream -s 4M -n 4 -l shim
	b1=$(region)
	if [ $((b1 - b0)) -lt $((8 * 1024 * 1024)) ]; then
		echo "FAIL: the shim row moved $((b1 - b0)) bytes through the region (expected >= 8 MiB of 16 MiB)" >&2
		fails=$((fails + 1))
	else
		echo "ok: shim row: $((b1 - b0)) bytes through the region"
	fi
else
	echo "note: no shim built ($SHIM): shim row skipped"
fi

echo "$rows rows, $fails failures"
[ $fails = 0 ] && [ $rows -gt 0 ]
