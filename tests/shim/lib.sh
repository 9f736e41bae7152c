# Shared by the shim test drivers: a private coordinator in a temp dir, the shim preloaded the
# way a sanitizer build needs it, stats from faasflowctl, named cases with PASS/FAIL lines.
# Environment (set by Makefile.am): ST_TOP_BUILDDIR, ST_BUILDDIR, ST_SRCDIR.
# shellcheck shell=bash disable=SC2034,SC2119,SC2120
# (ST_LAST, ST_RC are read by the drivers; st_config takes optional KEY=VALUE arguments)

set -u
: "${ST_TOP_BUILDDIR:?run through make check (ST_TOP_BUILDDIR unset)}"
: "${ST_BUILDDIR:?}"
: "${ST_SRCDIR:?}"
FFD=$ST_TOP_BUILDDIR/daemon/faasflowd
FFCTL=$ST_TOP_BUILDDIR/daemon/faasflowctl
SHIM=$ST_TOP_BUILDDIR/preload/.libs/libfaasflow_intercept.so
B=$ST_BUILDDIR
ST_FAILS=0
ST_PIDS=()
ST_DAEMON_PID=
T=$(mktemp -d "${TMPDIR:-/tmp}/ffshim.XXXXXX")
CONF=$T/faasflow.conf

st_cleanup() {
	local p
	for p in "${ST_PIDS[@]}" $ST_DAEMON_PID; do
		kill "$p" 2>/dev/null
	done
	for p in "${ST_PIDS[@]}" $ST_DAEMON_PID; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap st_cleanup EXIT
trap 'exit 1' INT TERM

PRELOAD=$SHIM
export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
if ldd "$SHIM" 2>/dev/null | grep -q libasan; then
	PRELOAD="$(${CC:-gcc} -print-file-name=libasan.so):$SHIM"
fi

# A test that runs a process as another uid: root and setpriv, else SKIP. $T becomes reachable
# by that user and $T/shared is made like /tmp (world-writable, sticky); the uid is in
# ST_OTHER_UID.
st_other_user() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (runs a process as another uid)"
		exit 77
	fi
	command -v setpriv >/dev/null || { echo "SKIP: setpriv missing (util-linux)"; exit 77; }
	chmod 711 "$T"
	mkdir -m 1777 "$T/shared"
	ST_OTHER_UID=$((60000 + $$ % 5000))
}

# write the config: st_config KEY=VALUE ...
st_config() {
	{
		echo "SHM_FILE_PATH = $T/region"
		echo "SOCKET_DIR = $T"
		echo "SHM_SIZE = 256M"
		echo "LOG_LEVEL = info"
		local kv
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >"$CONF"
}

st_start_daemon() {
	[ -f "$CONF" ] || st_config
	"$FFD" --config "$CONF" >"$T/daemon.log" 2>&1 &
	ST_DAEMON_PID=$!
	local _
	for _ in $(seq 1 1000); do
		if [ -S "$T/faasflow_container_default.sock" ] &&
			"$FFCTL" --config "$CONF" status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$ST_DAEMON_PID" 2>/dev/null; then
			break
		fi
		sleep 0.01
	done
	echo "faasflowd did not become ready; its log:" >&2
	cat "$T/daemon.log" >&2
	exit 99
}

st_daemon_alive() {
	kill -0 "$ST_DAEMON_PID" 2>/dev/null && "$FFCTL" --config "$CONF" status >/dev/null 2>&1
}

# st_stat KEY: one number from stats --json
st_stat() {
	"$FFCTL" --config "$CONF" stats --json | grep -o "\"$1\": [0-9]*" | head -1 | grep -o '[0-9]*$'
}

# run a program under the shim (with a timeout)
shim() {
	env LD_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$CONF" FAASFLOW_LOG="$T/shim.log" \
		timeout 30 "$@"
}
# and without it
plain() {
	env FAASFLOW_CONFIG="$CONF" timeout 30 "$@"
}

# start in the background, remember the pid: st_bg OUTFILE cmd...
st_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" &
	ST_PIDS+=($!)
	ST_LAST=$!
}

st_wait_file() {
	local _
	for _ in $(seq 1 2000); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# field of a "k=v k=v" line: st_field LINE KEY
st_field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

st_pass() { echo "PASS: $1"; }
st_fail() {
	echo "FAIL: $1: $2"
	ST_FAILS=$((ST_FAILS + 1))
}

# wait for a background pid; its exit status in ST_RC
st_join() {
	wait "$1"
	ST_RC=$?
}

st_sha_of_pattern() {
	"$B/st_util" patsha "$1" "$2"
}

st_done() {
	if [ "$ST_FAILS" -ne 0 ]; then
		echo "$ST_FAILS case(s) failed; shim log:"
		tail -n 30 "$T/shim.log" 2>/dev/null
		exit 1
	fi
	exit 0
}
