#!/bin/bash
# callgrind-rr.sh: the shim's cost on the request/response hot path in instructions, which
# valgrind --tool=callgrind counts the same on every run (wall-clock numbers on a shared
# machine wander by 5-10%). One side at a time runs under callgrind, the other natively; each
# measurement runs N1 and N2 requests and reports (I(N2) - I(N1)) / (N2 - N1), so start-up,
# connection set-up and the benchmark's own summary cancel out. User-space instructions only:
# the kernel's share of a system call is not counted.
#
#   callgrind-rr.sh [--build DIR] [--size N] [--sizes N1,N2]
#
# Rows: plain TCP; the shim preloaded, connection upgraded; the shim preloaded, connection
# never upgraded (FAASFLOW_PEERS names another host). Columns: client (sends N bytes, reads
# the 1-byte reply) and server.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build='' size=64 n1=1000 n2=3000
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--size) size=$2; shift 2 ;;
	--sizes) IFS=, read -r n1 n2 <<<"$2"; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "callgrind-rr.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$n1,$n2" in *[!0-9,]*|,*|*,) echo "callgrind-rr.sh: --sizes '$n1,$n2': expected two request counts like 1000,3000" >&2; exit 2 ;; esac
[ "$n2" -gt "$n1" ] || { echo "callgrind-rr.sh: --sizes: the second count must be larger" >&2; exit 2; }
[ -n "$build" ] || build=$(cd "$here/../.." && pwd)
BENCH=$build/contrib/bench/faasflow-bench
SHIM=$build/preload/.libs/libfaasflow_intercept.so
FAASFLOWD=$build/daemon/faasflowd
for f in "$BENCH" "$SHIM" "$FAASFLOWD"; do
	[ -e "$f" ] || { echo "callgrind-rr.sh: $f is missing: pass --build <top build dir>" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "callgrind-rr.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
if ldd "$SHIM" | grep -q libasan; then
	echo "callgrind-rr.sh: $SHIM is a sanitizer build: use a build without sanitizers" >&2; exit 2
fi

T=$(mktemp -d /tmp/faasflow-callgrind.XXXXXX)
D=
cleanup() { [ -z "$D" ] || kill "$D" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
CONF=$T/faasflow.conf
printf 'SHM_FILE_PATH = %s/region\nSOCKET_DIR = %s\nSHM_SIZE = 64M\nSLOT_SIZE = 1M\n' "$T" "$T" > "$CONF"
"$FAASFLOWD" --config "$CONF" > "$T/faasflowd.log" 2>&1 &
D=$!
for _ in $(seq 500); do [ -S "$T/faasflow_container_default.sock" ] && break; sleep 0.01; done
[ -S "$T/faasflow_container_default.sock" ] || { echo "callgrind-rr.sh: faasflowd did not start" >&2; cat "$T/faasflowd.log" >&2; exit 1; }

# instructions VARIANT SIDE N: callgrind's instruction count of SIDE for N requests
instructions() {
	local env=(env) rf=$T/ready.$RANDOM vs=() vc=() s
	case $1 in
	shim) env+=(LD_PRELOAD="$SHIM" FAASFLOW_CONFIG="$CONF") ;;
	noup) env+=(LD_PRELOAD="$SHIM" FAASFLOW_CONFIG="$CONF" FAASFLOW_PEERS=192.0.2.1:9) ;;
	esac
	local vg=(valgrind --tool=callgrind --callgrind-out-file="$T/cg.out")
	if [ "$2" = server ]; then vs=("${vg[@]}"); else vc=("${vg[@]}"); fi
	"${env[@]}" "${vs[@]}" "$BENCH" -r server -p 0 -f "$rf" -m rr -s "$size" -n "$3" >/dev/null 2>"$T/server.log" &
	s=$!
	for _ in $(seq 1500); do [ -s "$rf" ] && break; sleep 0.02; done
	"${env[@]}" "${vc[@]}" "$BENCH" -r client -p "$(cat "$rf")" -m rr -s "$size" -n "$3" >"$T/client.out" 2>"$T/client.log"
	wait "$s"
	grep -q ',yes,' "$T/client.out" || { echo "callgrind-rr.sh: $1 $2: hashes did not match" >&2; exit 1; }
	grep -h 'Collected' "$T/server.log" "$T/client.log" | awk '{ print $4 }'
}

declare -A per
for v in tcp shim noup; do
	for side in client server; do
		a=$(instructions $v $side "$n1")
		b=$(instructions $v $side "$n2")
		per[$v.$side]=$(( (b - a) / (n2 - n1) ))
	done
done
printf 'Instructions per %s-byte request (user space, callgrind; %s vs %s requests)\n\n' "$size" "$n2" "$n1"
printf '| path | client | server | client - TCP | server - TCP |\n|---|---|---|---|---|\n'
base_c=${per[tcp.client]} base_s=${per[tcp.server]}
for v in tcp shim noup; do
	case $v in tcp) name="plain TCP" ;; shim) name="shim, upgraded" ;; noup) name="shim, never upgraded" ;; esac
	c=${per[$v.client]} s=${per[$v.server]}
	printf '| %s | %d | %d | %+d | %+d |\n' "$name" "$c" "$s" $((c - base_c)) $((s - base_s))
done
