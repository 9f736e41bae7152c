#!/bin/bash
# run-bench.sh: the A/B benchmark. The same unmodified faasflow-bench binary runs over plain
# TCP and under the shim (LD_PRELOAD), alternated A B A B, with AF_UNIX, a bare shared-memory
# ring and redis SET/GET measured in the same run. Writes raw.csv, results.csv, results.md and
# throughput.png into the output directory.
#
#   run-bench.sh [--build DIR] [--out DIR] [--quick] [--reps K] [--no-shim] [--no-pin]
#
#   --build DIR  top build directory (default: found from $BENCH or the current directory)
#   --out DIR    output directory (default: <source dir>/results)
#   --quick      CI smoke: under a minute
#   --reps K     repetitions of each A/B pair (default 5, quick 2)
#   --no-shim    reference rows only
#   --no-pin     let the scheduler place the two ends (default: server on the first CPU,
#                client on the second, for every path alike: a round trip across CPUs and one
#                within a CPU differ 3-4x here, and the scheduler's choice would be noise)
# Environment overrides: BENCH, FAASFLOWD, FAASFLOWCTL, SHIM.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build='' out="$here/results" quick=0 reps='' noshim=0 pin=1
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	--reps) reps=$2; shift 2 ;;
	--no-shim) noshim=1; shift ;;
	--no-pin) pin=0; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "run-bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case ${reps:-x} in x) reps=$([ $quick = 1 ] && echo 2 || echo 5) ;; *[!0-9]*|0)
	echo "run-bench.sh: --reps '$reps': expected a positive number" >&2; exit 2 ;; esac
if [ -z "$build" ]; then
	if [ -n "${BENCH:-}" ]; then build=$(cd "$(dirname "$BENCH")/../.." && pwd)
	elif [ -x ./contrib/bench/faasflow-bench ]; then build=$(pwd)
	elif [ -x "$here/faasflow-bench" ]; then build=$(cd "$here/../.." && pwd)
	else echo "run-bench.sh: no faasflow-bench found: pass --build <top build dir>" >&2; exit 2
	fi
fi
BENCH=${BENCH:-$build/contrib/bench/faasflow-bench}
FAASFLOWD=${FAASFLOWD:-$build/daemon/faasflowd}
FAASFLOWCTL=${FAASFLOWCTL:-$build/daemon/faasflowctl}
SHIM=${SHIM:-$build/preload/.libs/libfaasflow_intercept.so}
EDGES=$here/faasflow_edges.csv
PY=/usr/bin/python3
[ -x "$BENCH" ] || { echo "run-bench.sh: $BENCH is missing: run make first" >&2; exit 2; }
if [ $noshim = 0 ] && { [ ! -f "$SHIM" ] || [ ! -x "$FAASFLOWD" ]; }; then
	echo "run-bench.sh: no shim at $SHIM (or no faasflowd): reference rows only" >&2
	noshim=1
fi

PIN=()
if [ $pin = 1 ]; then
	mapfile -t cpus < <(taskset -cp $$ 2>/dev/null | sed 's/.*: //' | tr ',' '\n' |
		awk -F- '{ for (i = $1; i <= ($2 == "" ? $1 : $2); i++) print i }')
	if [ "${#cpus[@]}" -ge 2 ]; then PIN=(-C "${cpus[0]},${cpus[1]}")
	else echo "run-bench.sh: fewer than two CPUs: the ends are not pinned" >&2; pin=0; fi
fi
T=$(mktemp -d /tmp/faasflow-bench.XXXXXX)
pids=()
RDIR=$T
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
	[ "$RDIR" = "$T" ] || rm -rf "$RDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$out"
RAW=$out/raw.csv
: > "$T/err.log"

# wait_for COND-COMMAND...: poll (10 ms) for up to 10 s
wait_for() {
	local _
	for _ in $(seq 1000); do "$@" 2>/dev/null && return 0; sleep 0.01; done
	return 1
}

# ---- coordinator, shim environment ------------------------------------------------------
CONF=$T/faasflow.conf
# The region on tmpfs, as the deployment guide's tuning section puts it (on a disk filesystem
# its pages are written back and fault again): /dev/shm when it is tmpfs.
case "$(stat -f -c %T /dev/shm 2>/dev/null)" in
tmpfs) RDIR=$(mktemp -d /dev/shm/faasflow-bench.XXXXXX) ;;
*) echo "run-bench.sh: /dev/shm is not tmpfs: the region goes to $T" >&2 ;;
esac
REGION=$RDIR/region
# The host's facts that explain the numbers (memcpy bandwidth, page-fault costs), measured
# before anything else runs; pinned like the server end
HOSTF=$T/host.txt
HOSTP=$build/contrib/bench/bench-host
if [ -x "$HOSTP" ]; then
	tsk=(); [ $pin = 0 ] || tsk=(taskset -c "${cpus[0]}")
	"${tsk[@]}" "$HOSTP" "$RDIR" > "$HOSTF" 2>>"$T/err.log" ||
		{ echo "run-bench.sh: bench-host failed" >&2; : > "$HOSTF"; }
else
	: > "$HOSTF"
fi
cat > "$CONF" <<CONF
SHM_FILE_PATH = $REGION
SOCKET_DIR = $T
SHM_SIZE = 1G
SLOT_SIZE = 1M
CONF
DPID=
shim_env=()
if [ $noshim = 0 ]; then
	"$FAASFLOWD" --config "$CONF" > "$T/faasflowd.log" 2>&1 &
	DPID=$!; pids+=("$DPID")
	if ! { wait_for test -S "$T/faasflow_container_default.sock" &&
		wait_for "$FAASFLOWCTL" --config "$CONF" status >/dev/null; }; then
		echo "run-bench.sh: faasflowd did not start:" >&2; cat "$T/faasflowd.log" >&2; exit 1
	fi
	# THRESHOLD = auto: what the coordinator measured at its start (system.txt)
	echo "threshold=$("$FAASFLOWCTL" --config "$CONF" status | sed -n 's/^  threshold *//p')" \
		>> "$HOSTF"
	preload=$SHIM
	if ldd "$SHIM" | grep -q libasan; then
		echo "run-bench.sh: WARNING: $SHIM is a sanitizer build: numbers mean nothing" >&2
		preload="$(gcc -print-file-name=libasan.so):$SHIM"
		shim_env+=(ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0)
	fi
	shim_env+=(LD_PRELOAD="$preload" FAASFLOW_CONFIG="$CONF")
fi
region_bytes() {
	[ $noshim = 0 ] || { echo 0; return; }
	"$FAASFLOWCTL" --config "$CONF" stats --json | grep -o '"region_bytes": *[0-9]*' | grep -o '[0-9]*$'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }

# ---- redis-server (FaaSFlow's local path) -------------------------------------------------
RPORT=
if command -v redis-server >/dev/null; then
	for _ in 1 2 3 4 5; do
		p=$((20000 + RANDOM % 40000))
		redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
			--protected-mode no > "$T/redis.log" 2>&1 &
		rp=$!
		if wait_for redis-cli -p "$p" ping >/dev/null; then RPORT=$p; pids+=("$rp"); break; fi
		kill "$rp" 2>/dev/null || true
	done
fi
[ -n "$RPORT" ] || echo "run-bench.sh: no redis-server: redis rows skipped" >&2

# ---- one measurement ---------------------------------------------------------------------
# emit REP: prefix every CSV line of stdin with "REP,REGION_DELTA,"
rep=0
# net LABEL SHIMMED ARGS...: server and client as two processes (tcp)
net() {
	local label=$1 shimmed=$2; shift 2
	local rf=$T/ready.$label.$RANDOM envc=(env) before after spid rc=0 out_line
	[ "$shimmed" = 0 ] || envc+=("${shim_env[@]}" "${extra_env[@]}")
	before=$(region_bytes)
	"${envc[@]}" timeout 120 "$BENCH" "${PIN[@]}" -r server -p 0 -f "$rf" -l "$label" -M "$REGION" "$@" \
		2>>"$T/err.log" &
	spid=$!
	if ! wait_for test -s "$rf"; then kill "$spid" 2>/dev/null; echo "server $label did not start" >&2; return 1; fi
	out_line=$("${envc[@]}" timeout 120 "$BENCH" "${PIN[@]}" -r client -p "$(cat "$rf")" -l "$label" "$@" 2>>"$T/err.log") || rc=$?
	wait "$spid" || rc=$?
	after=$(region_bytes)
	[ -n "$out_line" ] && printf '%s\n' "$out_line" | sed "s/^/$rep,$((after - before)),/" >> "$RAW"
	[ $rc = 0 ] || { echo "run-bench.sh: $label $* failed (rc $rc); see below" >&2; tail -5 "$T/err.log" >&2; }
	return 0
}
# ref TRANSPORT ARGS...: one forked pair, no shim
ref() {
	local tr=$1 out_line rc=0; shift
	[ "$tr" != redis ] || [ -n "$RPORT" ] || return 0
	out_line=$(timeout 120 "$BENCH" "${PIN[@]}" -t "$tr" -R "${RPORT:-6379}" -u "$T/unix.sock" "$@" 2>>"$T/err.log") || rc=$?
	[ -n "$out_line" ] && printf '%s\n' "$out_line" | sed "s/^/$rep,0,/" >> "$RAW"
	[ $rc = 0 ] || { echo "run-bench.sh: $tr $* failed (rc $rc)" >&2; tail -5 "$T/err.log" >&2; }
	return 0
}
# ab ARGS...: one A/B pair (+ the references when REFS lists them)
ab() {
	extra_env=()
	net tcp 0 "$@"
	[ $noshim = 1 ] || net shim 1 "$@"
	for r in ${REFS:-}; do ref "$r" "$@"; done
}
noupgrade_ab() {
	extra_env=()
	net tcp_nu 0 "$@"
	[ $noshim = 1 ] && return 0
	extra_env=(FAASFLOW_PEERS=192.0.2.1:9)
	net noupgrade 1 "$@"
	extra_env=()
}
# noupgrade pairs use their own TCP label, so they pair with their own A rows
# thr_ab SIZE: THRESHOLD's crossover on this host: a stream of SIZE writes through the region
# (THRESHOLD = 1) against plain TCP (its own label, like the noupgrade pairs)
thr_ab() {
	extra_env=()
	net tcp_th 0 -m stream -s "$1" -V "$(volume "$1")"
	[ $noshim = 1 ] && return 0
	extra_env=(FAASFLOW_THRESHOLD=1)
	net region_all 1 -m stream -s "$1" -V "$(volume "$1")"
	extra_env=()
}


echo "rep,region_bytes_delta,path,mode,size,iterations,seconds,GBps,median_us,p90_us,ops_per_s,hash_ok,hash_tx,hash_rx,region_rss_kb,transport,workflow" > "$RAW"
t_start=$(date +%s.%N)
[ $noshim = 1 ] || cpu0=$(cpu_ticks)
if [ $quick = 1 ]; then
	sizes="64 4K 64K 1M 16M 256M"; div=8
else
	sizes="64 4K 64K 256K 1M 16M 256M"; div=1
fi
volume() { # bytes moved by one stream measurement of size $1
	case $1 in 64) echo $((2 * 1024 * 1024 / div));; 4K) echo $((96 * 1024 * 1024 / div));;
	8K|16K|32K|64K|128K) echo $((512 * 1024 * 1024 / div));; 256M) echo $(( (1024 / (div > 1 ? 4 : 1)) * 1024 * 1024));;
	*) echo $((1024 * 1024 * 1024 / div));; esac
}
rr_iters() { case $1 in 64|4K) echo $((3000 / div));; 64K) echo $((1000 / div));;
	1M) echo $((300 / div));; 16M) echo $((24 / (div > 1 ? 4 : 1)));; *) echo 8;; esac; }

for rep in $(seq "$reps"); do
	echo "run-bench.sh: repetition $rep/$reps" >&2
	# the zero-copy API at FaaSFlow's median edge size (344 KiB), 1 MiB and near its p90
	# (16 MiB), each right after the transparent row it is compared with
	for s in $sizes $([ $quick = 1 ] || echo 344K); do
		if [ "$s" = 344K ]; then ab -m stream -s 344K -V "$(volume 1M)"
		else REFS="unix ring redis" ab -m stream -s "$s" -V "$(volume "$s")"; fi
		case $quick,$s in 0,344K|0,1M|?,16M) ;; *) continue ;; esac
		[ $noshim = 0 ] || continue
		net api1 1 -m stream -s "$s" -V "$(volume 1M)" -A 1
		net api2 1 -m stream -s "$s" -V "$(volume 1M)" -A 2
	done
	for s in 64 4K 64K 1M 16M; do REFS="unix ring redis" ab -m rr -s "$s" -n "$(rr_iters "$s")"; done
	# small round trips differ by a few per cent at most: two more TCP/shim pairs each
	rep0=$rep
	for k in 2 3; do
		rep=$rep0.$k
		for s in 64 4K; do ab -m rr -s "$s" -n "$(rr_iters "$s")"; done
	done
	rep=$rep0
	# an 8-byte request on a new connection: what each replayed edge costs besides its bytes
	REFS="unix" ab -m conn -s 8 -n $((600 / div))
	REFS="unix" ab -m conn -s 64K -n $((600 / div))
	REFS="unix" ab -m conn -s 1M -n $((300 / div))
	if [ $quick = 1 ]; then
		REFS="unix ring redis" ab -m replay -e "$EDGES" -w Genome -n 1
	else
		REFS="unix ring redis" ab -m replay -e "$EDGES" -n 1
	fi
	[ $quick = 1 ] || for s in 8K 16K 32K 64K 128K; do thr_ab "$s"; done
	# "no measurable difference" (2%) needs more pairs than the rest: a single pair of TCP's own
	# 64 KiB stream varies by 5%; six per repetition, 30 in a run
	for k in 1 2 3 4 5 6; do
		rep=$rep0.$k
		noupgrade_ab -m stream -s 64K -V "$(volume 64K)"
		noupgrade_ab -m stream -s 1M -V "$(volume 1M)"
		noupgrade_ab -m rr -s 64 -n "$(rr_iters 64)"
	done
	rep=$rep0
done
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }
wall=$(calc "$(date +%s.%N) - $t_start")

# ---- medium writes: unmodified python3 http.server + curl, 64 MiB --------------------------
MED=$out/medium.csv
echo "rep,path,seconds,GBps,hash_ok,region_bytes_delta" > "$MED"
if [ -x "$PY" ] && command -v curl >/dev/null; then
	mkdir -p "$T/www"
	head -c $((64 * 1024 * 1024)) /dev/urandom > "$T/www/blob"
	want=$(sha256sum < "$T/www/blob")
	start_http() { # LOG VAR ENV...: start python's http.server on a free port, VAR = the port
		local log=$1 var=$2; shift 2
		env "$@" "$PY" -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" > "$log" 2>&1 &
		pids+=("$!")
		wait_for grep -q 'port [0-9]' "$log" || { echo "run-bench.sh: http.server did not start" >&2; return 1; }
		printf -v "$var" '%s' "$(grep -o 'port [0-9]*' "$log" | head -1 | grep -o '[0-9]*')"
	}
	p_plain='' p_shim=''
	start_http "$T/http-plain.log" p_plain
	[ $noshim = 1 ] || start_http "$T/http-shim.log" p_shim "${shim_env[@]}"
	fetch() { # LABEL PORT ENV...
		local label=$1 port=$2 before after t; shift 2
		before=$(region_bytes)
		t=$(env "$@" curl -s -o "$T/got" -w '%{time_total}' "http://127.0.0.1:$port/blob")
		after=$(region_bytes)
		ok=no; [ "$(sha256sum < "$T/got")" = "$want" ] && ok=yes
		echo "$r,$label,$t,$(calc "67108864 / $t / 1e9"),$ok,$((after - before))" >> "$MED"
	}
	for r in $(seq $((reps < 3 ? 3 : reps))); do
		fetch tcp "$p_plain"
		[ -z "$p_shim" ] || fetch shim "$p_shim" "${shim_env[@]}"
	done
fi

# ---- spawning: posix_spawn of /bin/true, plain and with the shim in the environment -------
# (the parent and every child load it, as in a container started with the shim)
SPW=$out/spawn.csv
echo "rep,path,us_per_spawn" > "$SPW"
SPAWN=$build/contrib/bench/bench-spawn
if [ -x "$SPAWN" ]; then
	for r in $(seq $((reps < 3 ? 3 : reps * 2))); do
		echo "$r,plain,$(env -u LD_PRELOAD "$SPAWN" $((1000 / div)))" >> "$SPW"
		[ $noshim = 1 ] || echo "$r,shim,$(env "${shim_env[@]}" "$SPAWN" $((1000 / div)))" >> "$SPW"
	done
fi

# ---- coordinator CPU during a steady stream; totals ------------------------------------------
SYS=$out/system.txt
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -sr)"
	echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
	echo "commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "reps=$reps quick=$quick shim=$([ $noshim = 1 ] && echo none || echo "$SHIM")"
	echo "region_fs=$(stat -f -c %T "$RDIR")"
	echo "pinned=$([ $pin = 1 ] && echo "server CPU ${cpus[0]}, client CPU ${cpus[1]}" || echo no)"
	echo "bench_wall_s=$wall"
	cat "$HOSTF"
} > "$SYS"
if [ $noshim = 0 ]; then
	hz=$(getconf CLK_TCK)
	echo "coord_cpu_run_s=$(calc "($(cpu_ticks) - $cpu0) / $hz")" >> "$SYS"
	c0=$(cpu_ticks); w0=$(date +%s.%N)
	rep=steady; extra_env=()
	# 64 GiB: some 3 s at 20 GB/s, so one 10 ms clock tick of the coordinator is 0.3%, not 2%
	net shim 1 -m stream -s 1M -V $(( (quick ? 1 : 64) * 1024 * 1024 * 1024))
	c1=$(cpu_ticks); w1=$(date +%s.%N)
	echo "coord_cpu_steady_s=$(calc "($c1 - $c0) / $hz")" >> "$SYS"
	echo "steady_wall_s=$(calc "$w1 - $w0")" >> "$SYS"
	"$FAASFLOWCTL" --config "$CONF" stats --json > "$out/faasflowctl-stats.json" || true
fi

# the hot path in instructions (repeatable where the wall clock is not)
rm -f "$out/callgrind.md"
if [ $quick = 0 ] && [ $noshim = 0 ] && command -v valgrind >/dev/null && ! ldd "$SHIM" | grep -q libasan; then
	"$here/callgrind-rr.sh" --build "$build" > "$out/callgrind.md" 2>>"$T/err.log" ||
		{ echo "run-bench.sh: callgrind-rr.sh failed" >&2; rm -f "$out/callgrind.md"; }
fi
"$PY" "$here/summarize.py" "$out"
if command -v gnuplot >/dev/null && [ -s "$out/plot.dat" ]; then
	gnuplot "$out/plot.gp" || echo "run-bench.sh: gnuplot failed" >&2
fi
if grep -q ',NO,' "$RAW" || grep -q ',no,' "$MED"; then
	echo "run-bench.sh: HASH MISMATCH in some rows (see $RAW)" >&2
	exit 1
fi
echo "run-bench.sh: wrote $out/results.md, results.csv, raw.csv, throughput.png" >&2
# The repository's own results (the default --out) are the README's table too.
if [ "$(cd "$out" && pwd)" = "$here/results" ] && [ $quick = 0 ] && [ $noshim = 0 ] &&
	[ -w "$here/../../README.md" ]; then
	"$PY" "$here/summarize.py" --readme "$here/../../README.md" "$out" &&
		echo "run-bench.sh: README.md's benchmark section refreshed" >&2
fi
