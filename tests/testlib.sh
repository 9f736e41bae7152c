# tests/testlib.sh: what the shell suites of tests/ share, sourced by each suite's lib.sh (the
# suite's own helpers stay there). POSIX sh: the daemon suite runs a script under /bin/sh.
#
# Naming: shared helpers are tl_* (here); a suite's helpers carry its prefix (st_ shim,
# it_ integration, cx_ compat, ct_ container, dt_ daemon, op_ ops); a test script is
# t-<area>-<what>.sh (test_<what>.sh in daemon/, whose names predate the rule), a Check test
# check_<module>.c, a Python program compared plain against shimmed <what>_contract.py.
# shellcheck shell=sh disable=SC2034
# (TL_ASAN is read by the suites)

# tl_sanitizer_env SHIM: for a sanitizer build of the shim, TL_ASAN is the ASan runtime that
# must come first in LD_PRELOAD of programs that are not instrumented (empty otherwise), and
# the sanitizers' options are set so a report fails the program with a known exit code (86
# ASan, 87 UBSan) instead of aborting or reporting leaks of programs we did not write.
tl_sanitizer_env() {
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:abort_on_error=0:exitcode=86
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
	TL_ASAN=
	if ldd "$1" 2>/dev/null | grep -q libasan; then
		TL_ASAN=$(${CC:-gcc} -print-file-name=libasan.so)
	fi
}

# tl_kill_pids PID...: SIGTERM, up to 2 s to exit, then SIGKILL; every one reaped.
tl_kill_pids() {
	for tl_p in "$@"; do kill "$tl_p" 2>/dev/null; done
	tl_i=0
	while [ "$tl_i" -lt 40 ]; do
		tl_alive=0
		for tl_p in "$@"; do kill -0 "$tl_p" 2>/dev/null && tl_alive=1; done
		[ "$tl_alive" = 0 ] && break
		sleep 0.05
		tl_i=$((tl_i + 1))
	done
	for tl_p in "$@"; do
		kill -9 "$tl_p" 2>/dev/null
		wait "$tl_p" 2>/dev/null
	done
	return 0
}

# tl_config FILE REGION SOCKET_DIR KEY=VALUE...: a coordinator configuration (256 MiB region,
# LOG_LEVEL info) with the given keys added or overriding.
tl_config() {
	tl_file=$1
	{
		echo "SHM_FILE_PATH = $2"
		echo "SOCKET_DIR = $3"
		echo "SHM_SIZE = 256M"
		echo "LOG_LEVEL = info"
		shift 3
		for tl_kv in "$@"; do
			echo "${tl_kv%%=*} = ${tl_kv#*=}"
		done
	} >"$tl_file"
}

# tl_wait_ready FAASFLOWCTL CONF PID [SECONDS]: until the coordinator (pid PID) answers
# `faasflowctl status` (default 10 s); 1 when it exits first or the time runs out.
tl_wait_ready() {
	tl_n=$((${4:-10} * 100))
	tl_i=0
	while [ "$tl_i" -lt "$tl_n" ]; do
		"$1" --config "$2" status >/dev/null 2>&1 && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.01
		tl_i=$((tl_i + 1))
	done
	return 1
}

# tl_stat FAASFLOWCTL CONF KEY: one counter of `stats --json`; KEY may be nested with dots
# ("fallback.no_slot").
tl_stat() {
	"$1" --config "$2" stats --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
print(int(d))' "$3"
}

# tl_wait_file FILE [SECONDS]: until FILE exists and is not empty (default 20 s).
tl_wait_file() {
	tl_n=$((${2:-20} * 100))
	tl_i=0
	while [ "$tl_i" -lt "$tl_n" ]; do
		[ -s "$1" ] && return 0
		sleep 0.01
		tl_i=$((tl_i + 1))
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# tl_field LINE KEY: the value of KEY in a "k=v k=v" line.
tl_field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# tl_free_port: a TCP port of 127.0.0.1 that was free a moment ago.
tl_free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tl_wait_port PORT [timeout_s] [netns]: until something listens on the TCP port.
tl_wait_port() {
	tl_n=$((${2:-20} * 20))
	tl_i=0
	while [ "$tl_i" -lt "$tl_n" ]; do
		if { if [ -n "${3:-}" ]; then ip netns exec "$3" ss -ltnH "sport = :$1"
		     else ss -ltnH "sport = :$1"; fi; } 2>/dev/null | grep -q LISTEN; then
			return 0
		fi
		sleep 0.05
		tl_i=$((tl_i + 1))
	done
	echo "nothing listens on port $1 after ${2:-20} s" >&2
	return 1
}

# tl_sha FILE: its sha256 in hex.
tl_sha() { sha256sum <"$1" | cut -d' ' -f1; }
