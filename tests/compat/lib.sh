# Shared by the compatibility-matrix rows (tests/compat/t-compat-*.sh): a private coordinator
# in a temp dir (region on /dev/shm), payloads of 1 KiB up to the row's maximum, every row run
# twice -- plain (no LD_PRELOAD) and with both ends under the shim -- with the sha256 of every
# payload compared at both ends, the two runs required to give the same result, and the
# region's byte counter required to grow in the shim run. Servers are started with their pid
# recorded and killed by pid in a trap; every server start and every client has a time limit,
# and a watchdog bounds the whole row.
# Environment (from Makefile.am): abs_top_builddir, abs_builddir, abs_srcdir
# (FF_BUILDDIR overrides abs_top_builddir for a manual run).
# shellcheck shell=bash disable=SC2034,SC2119,SC2120

set -u
CX_TOP=${FF_BUILDDIR:-${abs_top_builddir:-}}
if [ -z "$CX_TOP" ]; then
	echo "run through 'make check' (abs_top_builddir unset) or set FF_BUILDDIR" >&2
	exit 99
fi
CX_SRC=${abs_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
CX_BUILD=${abs_builddir:-$CX_TOP/tests/compat}
FFD=$CX_TOP/daemon/faasflowd
FFCTL=$CX_TOP/daemon/faasflowctl
SHIM=$CX_TOP/preload/.libs/libfaasflow_intercept.so
PY=/usr/bin/python3
CX_ROW_TIMEOUT=${CX_ROW_TIMEOUT:-240}  # the whole row (both runs)
CX_START_TIMEOUT=${CX_START_TIMEOUT:-20} # a server must listen within this
CX_CLIENT_TIMEOUT=${CX_CLIENT_TIMEOUT:-20} # one client invocation (64 MiB takes 1-2 s)
CX_FAILS=0
CX_PASSES=0
CX_PIDS=()
CX_LAST=
CX_RC=0
CX_MS=0
CX_MODE=
CX_SIZES=${CX_SIZES:-"1K 64K 1M 8M"}  # rows override the maximum
CX_ACCEL=yes # "inline REASON": the program never writes THRESHOLD bytes at once (the connection
# must be upgraded, inline_bytes must grow); "no REASON": the shim cannot reach the program
CX_MIN_GROWTH=$((1 << 20)) # region_bytes growth required in the shim run

for f in "$FFD" "$FFCTL" "$SHIM"; do
	if [ ! -e "$f" ]; then
		echo "missing build product $f (build the tree first)" >&2
		exit 99
	fi
done

# Sanitizer builds: the ASan runtime must come first for uninstrumented programs (as in
# tests/integration/lib.sh).
# shellcheck source=../testlib.sh
. "$CX_SRC/../testlib.sh"
tl_sanitizer_env "$SHIM"
CX_ASAN=$TL_ASAN

T=$(mktemp -d "${TMPDIR:-/tmp}/ffcompat.XXXXXX")
chmod 755 "$T"
CX_REGION=$(mktemp -u /dev/shm/ffcompat.XXXXXX)
CONF=$T/faasflow.conf
CX_DAEMON_PID=
CX_WATCHDOG=

cx_kill_pids() { tl_kill_pids "$@"; }

cx_cleanup() {
	[ -n "$CX_WATCHDOG" ] && kill "$CX_WATCHDOG" 2>/dev/null
	cx_kill_pids "${CX_PIDS[@]}" ${CX_DAEMON_PID:+"$CX_DAEMON_PID"}
	[ -n "${CX_EXTRA_CLEANUP:-}" ] && $CX_EXTRA_CLEANUP
	rm -f "$CX_REGION"
	if [ "${CX_KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cx_cleanup EXIT
trap 'echo "FAIL: row interrupted (watchdog: more than ${CX_ROW_TIMEOUT} s, or a signal)"; exit 1' INT TERM HUP

# The watchdog: a row never takes longer than CX_ROW_TIMEOUT (clients have their own limits,
# so the TERM is handled as soon as the current one returns).
(sleep "$CX_ROW_TIMEOUT" && kill -TERM $$) >/dev/null 2>&1 &
CX_WATCHDOG=$!

# cx_need PKG CMD...: skip (77) naming the Debian package when a command is missing.
cx_need() {
	local pkg=$1 c
	shift
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "$c" ]; then
			echo "SKIP: $c is not installed (package $pkg; contrib/install-deps.sh installs the compatibility-matrix group)"
			exit 77
		fi
	done
}

# cx_need_file PKG FILE: the same for a library.
cx_need_file() {
	if [ ! -e "$2" ]; then
		echo "SKIP: $2 is missing (package $1; contrib/install-deps.sh installs the compatibility-matrix group)"
		exit 77
	fi
}

# cx_version TEXT: the program's version, printed at run time (the README table lists it too).
cx_version() {
	echo "VERSION: $*" | head -1
}

cx_config() {
	# the socket directory and region are private to this row; let other users (sshd's
	# unprivileged child, postgres) talk to the coordinator
	tl_config "$CONF" "$CX_REGION" "$T" SLOT_SIZE=1M SOCKET_MODE=0666 SHM_FILE_MODE=0666 \
		${CX_ALLOW_UIDS:+"ALLOW_UIDS=$CX_ALLOW_UIDS"} "$@"
	chmod 644 "$CONF"
	: >>"$T/shim.log"
	chmod 666 "$T/shim.log"
}

cx_start_daemon() {
	[ -f "$CONF" ] || cx_config
	"$FFD" --config "$CONF" >>"$T/daemon.log" 2>&1 &
	CX_DAEMON_PID=$!
	tl_wait_ready "$FFCTL" "$CONF" "$CX_DAEMON_PID" && return 0
	echo "faasflowd did not become ready within 10 s; its log:" >&2
	cat "$T/daemon.log" >&2
	exit 99
}

# cx_env MODE: the environment prefix of a process of this run (shim: the shim preloaded,
# after CX_PRELOAD_BEFORE and before CX_PRELOAD_AFTER; plain: only CX_PRELOAD_PLAIN, if set --
# for the allocator rows).
cx_env() {
	if [ "$1" = shim ]; then
		local pre=$SHIM
		[ -n "${CX_PRELOAD_BEFORE:-}" ] && pre=$CX_PRELOAD_BEFORE:$pre
		[ -n "$CX_ASAN" ] && pre=$CX_ASAN:$pre
		[ -n "${CX_PRELOAD_AFTER:-}" ] && pre=$pre:$CX_PRELOAD_AFTER
		CX_ENV=(env LD_PRELOAD="$pre" FAASFLOW_CONFIG="$CONF" FAASFLOW_LOG="$T/shim.log")
	elif [ -n "${CX_PRELOAD_PLAIN:-}" ]; then
		CX_ENV=(env LD_PRELOAD="$CX_PRELOAD_PLAIN" FAASFLOW_CONFIG="$CONF")
	else
		CX_ENV=(env -u LD_PRELOAD FAASFLOW_CONFIG="$CONF")
	fi
}

# cx_bg NAME MODE CMD...: a server in the background (its own pid, no wrapper, so a signal
# reaches it), recorded for the trap; stdout/stderr in $T/NAME.out, $T/NAME.err.
cx_bg() {
	local name=$1
	cx_env "$2"
	shift 2
	(exec "${CX_ENV[@]}" "$@") >"$T/$name.out" 2>"$T/$name.err" &
	CX_LAST=$!
	CX_PIDS+=("$CX_LAST")
}

# cx_run MODE CMD...: a client in the foreground, with CX_CLIENT_TIMEOUT; status in CX_RC
# (124: it timed out).
cx_run() {
	local t0
	cx_env "$1"
	shift
	t0=$(date +%s%N)
	"${CX_ENV[@]}" timeout -k 5 "$CX_CLIENT_TIMEOUT" "$@"
	CX_RC=$?
	CX_MS=$((($(date +%s%N) - t0) / 1000000))
	return $CX_RC
}

# cx_stop PID...: kill servers of the current run by pid (and forget them).
cx_stop() {
	local p q keep=()
	cx_kill_pids "$@"
	for q in "${CX_PIDS[@]}"; do
		local drop=0
		for p in "$@"; do [ "$p" = "$q" ] && drop=1; done
		[ $drop = 0 ] && keep+=("$q")
	done
	CX_PIDS=("${keep[@]}")
}

# cx_wait_port PORT [timeout_s] [PID]: until something listens on the TCP port; fails early
# when PID (the server) has exited.
cx_wait_port() {
	local i n=$((${2:-$CX_START_TIMEOUT} * 20))
	for i in $(seq 1 "$n"); do
		if ss -ltnH "sport = :$1" 2>/dev/null | grep -q LISTEN; then
			return 0
		fi
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			echo "the server (pid $3) exited before listening on port $1" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "nothing listens on port $1 after ${2:-$CX_START_TIMEOUT} s" >&2
	return 1
}

# cx_port: a high port (20000-31999, below the ephemeral range) nobody listens on.
cx_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM + $$) % 12000))
		if ! ss -ltnaH "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	echo 29999
}

cx_stat() { tl_stat "$FFCTL" "$CONF" "$1" 2>>"$T/ctl.err"; }

cx_bytes() { # 1K 64K 8M -> bytes
	case $1 in
	*K) echo $((${1%K} << 10)) ;;
	*M) echo $((${1%M} << 20)) ;;
	*) echo "$1" ;;
	esac
}

# cx_payload SIZE: path of a random payload of that size (made once per row).
cx_payload() {
	local f=$T/payload.$1
	[ -f "$f" ] || head -c "$(cx_bytes "$1")" /dev/urandom >"$f"
	echo "$f"
}

cx_sha() { tl_sha "$1"; }

cx_show() { # NAME...: first lines of servers' stderr (for FAIL details)
	local f
	for f in "$@"; do
		[ -s "$T/$f.err" ] && sed -n '1,10s/^/    '"$f"' stderr: /p' "$T/$f.err"
		[ -s "$T/$f.out" ] && sed -n '1,4s/^/    '"$f"' stdout: /p' "$T/$f.out"
	done
	return 0
}

cx_pass() {
	echo "PASS: $1"
	CX_PASSES=$((CX_PASSES + 1))
}
cx_fail() {
	echo "FAIL: $1: $2"
	CX_FAILS=$((CX_FAILS + 1))
}

# cx_result MODE SIZE RESULT: what one payload gave (ok, or the failure); the plain and the
# shim run must give the same lines.
cx_result() {
	echo "$2 $3" >>"$T/result.$1"
}

# cx_check_case MODE SIZE WHAT WANT GOT...: every GOT hash equals WANT, else FAIL; records
# the result line. Status 0 when it passed.
cx_check_case() {
	local mode=$1 size=$2 what=$3 want=$4 g
	shift 4
	for g in "$@"; do
		if [ "$g" != "$want" ]; then
			cx_fail "$what, $size, $mode" "sha256 '$g' where '$want' was sent (hashes: $*)"
			cx_result "$mode" "$size" "mismatch"
			return 1
		fi
	done
	echo "  ok: $what, $size, $mode: sha256 ${want:0:16}... at both ends (last client ${CX_MS} ms)"
	cx_result "$mode" "$size" ok
	return 0
}

# cx_matrix: runs the row's `row MODE` (defined by the script) plain and under the shim;
# `row` starts its servers (cx_bg, recorded), runs the cases for every size in CX_SIZES
# (cx_check_case / cx_result) and stops its servers. Then compares the runs and the counter.
cx_matrix() {
	local mode before after growth ib0 ib1 up0 up1
	for mode in plain shim; do
		CX_MODE=$mode
		: >"$T/result.$mode"
		before=$(cx_stat region_bytes)
		ib0=$(cx_stat inline_bytes)
		up0=$(cx_stat upgrade_success)
		echo "--- $mode run ($(date +%T))"
		row "$mode"
		after=$(cx_stat region_bytes)
		ib1=$(cx_stat inline_bytes)
		up1=$(cx_stat upgrade_success)
		growth=$((${after:-0} - ${before:-0}))
		echo "  region_bytes grew by $growth in the $mode run (inline_bytes by $((${ib1:-0} - ${ib0:-0})), upgrade_success by $((${up1:-0} - ${up0:-0})))"
		eval "growth_$mode=$growth"
		eval "inline_$mode=$((${ib1:-0} - ${ib0:-0}))"
	done
	local n_ok
	n_ok=$(grep -c ' ok$' "$T/result.shim")
	if ! cmp -s "$T/result.plain" "$T/result.shim"; then
		cx_fail "same result plain and under the shim" "plain: $(tr '\n' ' ' <"$T/result.plain")| shim: $(tr '\n' ' ' <"$T/result.shim")"
	elif [ ! -s "$T/result.shim" ]; then
		cx_fail "cases ran" "no case gave a result"
	else
		cx_pass "same result plain and under the shim ($(wc -l <"$T/result.shim") cases)"
	fi
	# shellcheck disable=SC2154
	if [ "$growth_plain" -ne 0 ]; then
		cx_fail "plain run stays plain" "region_bytes grew by $growth_plain without the shim"
	fi
	if [ "$CX_ACCEL" = yes ]; then
		# shellcheck disable=SC2154
		if [ "$growth_shim" -ge "$CX_MIN_GROWTH" ]; then
			cx_pass "accelerated: region_bytes grew by $growth_shim"
		elif [ "$n_ok" -gt 0 ]; then
			cx_fail "accelerated" "region_bytes grew by $growth_shim, expected at least $CX_MIN_GROWTH (the payloads >= THRESHOLD did not go through the region)"
		fi
	elif [ "${CX_ACCEL%% *}" = inline ]; then
		# the program never writes THRESHOLD bytes at once: the connection must still be
		# upgraded, its bytes carried inline in the shim's frames
		# shellcheck disable=SC2154
		if [ "$inline_shim" -ge "$CX_MIN_GROWTH" ]; then
			cx_pass "upgraded, payloads inline (${CX_ACCEL#inline }): inline_bytes grew by $inline_shim, region_bytes by $growth_shim"
		elif [ "$n_ok" -gt 0 ]; then
			cx_fail "upgraded" "inline_bytes grew by $inline_shim, expected at least $CX_MIN_GROWTH (the connection was not upgraded)"
		fi
	else
		echo "NOTE: not accelerated by design: ${CX_ACCEL#no }; region_bytes grew by $growth_shim"
	fi
}

cx_done() {
	echo "$CX_PASSES check(s) passed, $CX_FAILS failed"
	if [ "$CX_FAILS" -ne 0 ]; then
		if [ -s "$T/shim.log" ]; then
			echo "last lines of the shim log:"
			tail -n 15 "$T/shim.log"
		fi
		exit 1
	fi
	exit 0
}

# ---- the echo protocol of the small programs (python, perl, rust, go, node, allocators) ----
# A server accepts connections in a loop; per connection it reads to EOF, prints
# "RECV bytes=N sha256=H", writes the same bytes back and closes. A client sends a file, shuts
# down its write side, reads to EOF and prints "RECV bytes=N sha256=H" of what came back.

# cx_echo_cases MODE PORT CLIENT_CMD...: every size; the client command gets FILE appended.
# The server's stdout must be $T/srv.out.
cx_echo_cases() {
	local mode=$1 port=$2 size f want n0 got_c got_s i
	shift 2
	for size in $CX_SIZES; do
		f=$(cx_payload "$size")
		want=$(cx_sha "$f")
		n0=$(grep -c '^RECV' "$T/srv.out" 2>/dev/null)
		cx_run "$mode" "$@" "$f" >"$T/cli.out" 2>>"$T/cli.err"
		got_c=$(sed -n 's/^RECV .*sha256=//p' "$T/cli.out")
		if [ "$CX_RC" != 0 ]; then
			cx_fail "echo $size, $mode" "client exited $CX_RC$([ "$CX_RC" = 124 ] && echo ' (timed out after '"$CX_CLIENT_TIMEOUT"' s)'): $(tail -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "client-rc-$CX_RC"
			cx_show srv
			[ "$CX_RC" = 124 ] && return 1
			continue
		fi
		for i in $(seq 1 100); do
			[ "$(grep -c '^RECV' "$T/srv.out" 2>/dev/null)" -gt "$n0" ] && break
			sleep 0.05
		done
		got_s=$(grep '^RECV' "$T/srv.out" | sed -n "$((n0 + 1))s/^RECV .*sha256=//p")
		cx_check_case "$mode" "$size" "echo" "$want" "$got_s" "$got_c"
	done
}
