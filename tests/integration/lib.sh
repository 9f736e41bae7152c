# Shared by the integration test scripts: a private coordinator in a temp dir, the shim
# preloaded the way a sanitizer build needs it, counters from `faasflowctl stats --json`,
# network namespaces, background processes killed by pid in a trap, named cases with PASS/FAIL.
# Environment (from Makefile.am): abs_top_builddir, abs_builddir, abs_srcdir
# (FF_BUILDDIR overrides abs_top_builddir for a manual run).
# shellcheck shell=bash disable=SC2034,SC2119,SC2120

set -u
IT_TOP=${FF_BUILDDIR:-${abs_top_builddir:-}}
if [ -z "$IT_TOP" ]; then
	echo "run through 'make check' (abs_top_builddir unset) or set FF_BUILDDIR" >&2
	exit 99
fi
IT_BUILD=${abs_builddir:-$IT_TOP/tests/integration}
IT_SRC=${abs_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
FFD=$IT_TOP/daemon/faasflowd
FFCTL=$IT_TOP/daemon/faasflowctl
SHIM=$IT_TOP/preload/.libs/libfaasflow_intercept.so
XFER=$IT_BUILD/xfer
PY=/usr/bin/python3
IT_TIMEOUT=${IT_TIMEOUT:-120}
IT_FAILS=0
IT_PASSES=0
IT_PIDS=()
IT_NETNS=()
IT_DAEMON_PID=
IT_LAST=
IT_PORT=

for f in "$FFD" "$FFCTL" "$SHIM" "$XFER"; do
	if [ ! -e "$f" ]; then
		echo "missing build product $f (build the tree first)" >&2
		exit 99
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/ffint.XXXXXX")
CONF=$T/faasflow.conf

# shellcheck source=../testlib.sh
. "$IT_SRC/../testlib.sh"

it_cleanup() {
	local ns
	tl_kill_pids "${IT_PIDS[@]}" ${IT_DAEMON_PID:+"$IT_DAEMON_PID"}
	for ns in "${IT_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "${IT_KEEP:-0}" = 1 ] || { [ "$IT_FAILS" -ne 0 ] && [ -n "${IT_KEEP_ON_FAIL:-}" ]; }; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP

# Sanitizer builds: the ASan runtime must come first for uninstrumented programs.
tl_sanitizer_env "$SHIM"
IT_PRELOAD=${TL_ASAN:+$TL_ASAN:}$SHIM

# A tool the test needs is genuinely missing: skip (77) saying which.
it_need() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1 && [ ! -x "$t" ]; then
			echo "SKIP: $t is not installed"
			exit 77
		fi
	done
}

# it_config KEY=VALUE ...: a fresh config file (small region) with overrides.
it_config() {
	tl_config "$CONF" "$T/region" "$T" SLOT_SIZE=1M "$@"
}

it_daemon_ready() {
	[ -S "$T/faasflow_container_default.sock" ] &&
		"$FFCTL" --config "$CONF" status >/dev/null 2>&1
}

# Start faasflowd (foreground process, pid recorded) and wait until it answers.
it_start_daemon() {
	[ -f "$CONF" ] || it_config
	"$FFD" --config "$CONF" >>"$T/daemon.log" 2>&1 &
	IT_DAEMON_PID=$!
	tl_wait_ready "$FFCTL" "$CONF" "$IT_DAEMON_PID" && return 0
	echo "faasflowd did not become ready within 10 s; its log:" >&2
	cat "$T/daemon.log" >&2
	exit 99
}

# Stop it with a signal (default TERM) and reap it.
it_stop_daemon() {
	[ -n "$IT_DAEMON_PID" ] || return 0
	kill "-${1:-TERM}" "$IT_DAEMON_PID" 2>/dev/null
	wait "$IT_DAEMON_PID" 2>/dev/null
	IT_DAEMON_PID=
}

# Run a command under the shim / without it (with a timeout).
IT_SHIM_ENV=(env LD_PRELOAD="$IT_PRELOAD" FAASFLOW_CONFIG="$CONF" FAASFLOW_LOG="$T/shim.log")
IT_PLAIN_ENV=(env -u LD_PRELOAD FAASFLOW_CONFIG="$CONF")
it_shim() {
	"${IT_SHIM_ENV[@]}" timeout "$IT_TIMEOUT" "$@"
}
it_plain() {
	"${IT_PLAIN_ENV[@]}" timeout "$IT_TIMEOUT" "$@"
}

# it_bg NAME shim|plain cmd...: start in the background, stdout in $T/NAME.out, stderr in
# $T/NAME.err. The pid (of the program itself: no wrapper, so a signal reaches it) is recorded
# for the trap and left in IT_LAST. Programs started this way bring their own time limit
# (xfer --timeout) or are killed by the trap.
it_bg() {
	local name=$1 how=$2 envv
	shift 2
	if [ "$how" = shim ]; then
		envv=("${IT_SHIM_ENV[@]}")
	else
		envv=("${IT_PLAIN_ENV[@]}")
	fi
	(exec "${envv[@]}" "$@") >"$T/$name.out" 2>"$T/$name.err" &
	IT_LAST=$!
	IT_PIDS+=("$IT_LAST")
}

# wait for a background pid, at most IT_TIMEOUT seconds (then it is killed: status 124);
# status in IT_RC
it_join() {
	local i n=$((${2:-$IT_TIMEOUT} * 20))
	for i in $(seq 1 "$n"); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		IT_RC=124
		return
	fi
	wait "$1"
	IT_RC=$?
}

# it_join_both CASE CLIENT_PID SERVER_PID [client_timeout_s]: both exit 0, else a FAIL naming
# their statuses (and their stderr) and status 1. Output files are cli.* and srv.*.
it_join_both() {
	local crc
	it_join "$2" "${4:-$IT_TIMEOUT}"
	crc=$IT_RC
	it_join "$3" 30
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$1" "client exited $crc, server $IT_RC"
		it_show cli srv
		return 1
	fi
	return 0
}

it_wait_file() { tl_wait_file "$@"; } # FILE [timeout_s]

it_wait_port() { tl_wait_port "$@"; }   # PORT [timeout_s] [netns]

# A port that was free a moment ago (for programs that cannot report theirs).
it_free_port() { tl_free_port; }

# it_stat KEY: one counter from stats --json (nested: "fallbacks.no_slot").
it_stat() { tl_stat "$FFCTL" "$CONF" "$1" 2>>"$T/ctl.err"; }

# it_xfer_server NAME [shim|plain] ARGS...: an xfer server on a free port; port in IT_PORT.
it_xfer_server() {
	local name=$1 how=$2
	shift 2
	rm -f "$T/$name.port"
	it_bg "$name" "$how" "$XFER" server --port 0 --port-file "$T/$name.port" "$@"
	it_wait_file "$T/$name.port" 20 || return 1
	IT_PORT=$(cat "$T/$name.port")
}

# field of a "K=v K=v" line: it_field LINE KEY
it_field() { tl_field "$@"; }

# The hash line of an output file: it_line FILE RECV|SENT [n-th, default 1]
it_line() {
	grep "^$2 " "$1" 2>/dev/null | sed -n "${3:-1}p"
}

it_pass() {
	echo "PASS: $1"
	IT_PASSES=$((IT_PASSES + 1))
}
it_fail() {
	echo "FAIL: $1: $2"
	IT_FAILS=$((IT_FAILS + 1))
}

# it_show NAME: the last lines of a background process's stderr, indented (for FAIL details)
it_show() {
	local f
	for f in "$@"; do
		[ -s "$T/$f.err" ] && tail -n 14 "$T/$f.err" | sed 's/^/    '"$f"': /'
	done
	return 0
}

# it_same CASE SENDER_LINE RECEIVER_LINE: both hash lines present, same bytes and sha256
it_same() {
	local a=$2 b=$3
	if [ -z "$a" ] || [ -z "$b" ]; then
		it_fail "$1" "missing hash line (sender '$a', receiver '$b')"
		return 1
	fi
	if [ "$(it_field "$a" bytes)" != "$(it_field "$b" bytes)" ] ||
		[ "$(it_field "$a" sha256)" != "$(it_field "$b" sha256)" ]; then
		it_fail "$1" "hash mismatch: sender '$a', receiver '$b'"
		return 1
	fi
	return 0
}

# it_grew CASE BEFORE MIN: region_bytes grew by at least MIN since BEFORE
it_grew() {
	local now
	now=$(it_stat region_bytes)
	if [ -z "$now" ] || [ $((now - $2)) -lt "$3" ]; then
		it_fail "$1" "region_bytes grew by $((${now:-0} - $2)), expected at least $3 (payloads did not go through the region)"
		return 1
	fi
	return 0
}

# it_netns_pair: two namespaces joined by a veth pair, unique per run.
# Sets IT_NS_A IT_NS_B IT_ADDR_A IT_ADDR_B.
it_netns_pair() {
	local tag=$$ x y
	x=$((100 + RANDOM % 150))
	y=$((RANDOM % 250))
	IT_NS_A=ffia$tag
	IT_NS_B=ffib$tag
	IT_ADDR_A=10.$x.$y.1
	IT_ADDR_B=10.$x.$y.2
	ip netns add "$IT_NS_A" || return 1
	IT_NETNS+=("$IT_NS_A")
	ip netns add "$IT_NS_B" || return 1
	IT_NETNS+=("$IT_NS_B")
	ip link add "fva$tag" type veth peer name "fvb$tag" || return 1
	ip link set "fva$tag" netns "$IT_NS_A" &&
		ip link set "fvb$tag" netns "$IT_NS_B" &&
		ip -n "$IT_NS_A" addr add "$IT_ADDR_A/24" dev "fva$tag" &&
		ip -n "$IT_NS_A" link set "fva$tag" up &&
		ip -n "$IT_NS_A" link set lo up &&
		ip -n "$IT_NS_B" addr add "$IT_ADDR_B/24" dev "fvb$tag" &&
		ip -n "$IT_NS_B" link set "fvb$tag" up &&
		ip -n "$IT_NS_B" link set lo up
}

it_done() {
	echo "$IT_PASSES case(s) passed, $IT_FAILS failed"
	if [ "$IT_FAILS" -ne 0 ]; then
		if [ -s "$T/shim.log" ]; then
			echo "last lines of the shim log:"
			tail -n 20 "$T/shim.log"
		fi
		if [ -s "$T/daemon.log" ]; then
			echo "last lines of the daemon log:"
			tail -n 10 "$T/daemon.log"
		fi
		exit 1
	fi
	exit 0
}

# it_wait_stat KEY OP VALUE [timeout_s]: poll a counter until "[ counter OP VALUE ]" holds.
it_wait_stat() {
	local i v n=$((${4:-10} * 20))
	for i in $(seq 1 "$n"); do
		v=$(it_stat "$1")
		[ -n "$v" ] && test "$v" "$2" "$3" && return 0
		sleep 0.05
	done
	return 1
}

# it_all_slots_free CASE [timeout_ms]: slots_free == slot_count within the time
it_all_slots_free() {
	local i n=$((${2:-1000} / 50)) f c
	for i in $(seq 1 "$n"); do
		f=$(it_stat slots_free)
		c=$(it_stat slot_count)
		[ -n "$f" ] && [ "$f" = "$c" ] && return 0
		sleep 0.05
	done
	it_fail "$1" "slots_free $f of $c after ${2:-1000} ms (slots lost); leases: $("$FFCTL" --config "$CONF" leases 2>&1 | tail -3 | tr '\n' ' ')"
	return 1
}
