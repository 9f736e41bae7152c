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

# shellcheck source=../testlib.sh
. "$ST_SRCDIR/../testlib.sh"

st_cleanup() {
	tl_kill_pids "${ST_PIDS[@]}" ${ST_DAEMON_PID:+"$ST_DAEMON_PID"}
	rm -rf "$T"
}
trap st_cleanup EXIT
trap 'exit 1' INT TERM

tl_sanitizer_env "$SHIM"
PRELOAD=${TL_ASAN:+$TL_ASAN:}$SHIM

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
	tl_config "$CONF" "$T/region" "$T" "$@"
}

st_start_daemon() {
	[ -f "$CONF" ] || st_config
	"$FFD" --config "$CONF" >"$T/daemon.log" 2>&1 &
	ST_DAEMON_PID=$!
	tl_wait_ready "$FFCTL" "$CONF" "$ST_DAEMON_PID" && return 0
	echo "faasflowd did not become ready; its log:" >&2
	cat "$T/daemon.log" >&2
	exit 99
}

st_daemon_alive() {
	kill -0 "$ST_DAEMON_PID" 2>/dev/null && "$FFCTL" --config "$CONF" status >/dev/null 2>&1
}

# st_stat KEY: one number from stats --json
st_stat() {
	tl_stat "$FFCTL" "$CONF" "$1"
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

st_wait_file() { tl_wait_file "$1" 20; }

# field of a "k=v k=v" line: st_field LINE KEY
st_field() { tl_field "$@"; }

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
