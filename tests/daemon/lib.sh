# Sourced by the daemon test scripts (POSIX sh: test_ctl.sh runs under /bin/sh): the programs
# under test, a private temp dir removed with every process the test started, ok/fail counting,
# the test's config file, starting faasflowd and waiting until its control socket answers.
# Environment (from Makefile.am): FFD, FFCTL, BENCH, PROBE; defaults for a run from the build dir.
# Helpers are dt_* (the naming rule of ../testlib.sh).
# shellcheck shell=sh disable=SC2034,SC2119,SC2120
# (SOCK, BENCH, PROBE and PY are read by the scripts; dt_start and dt_wait_up take optional
# arguments)

# shellcheck source=../testlib.sh
. "$(dirname "$0")/../testlib.sh"

FFD=${FFD:-../../daemon/faasflowd}
FFCTL=${FFCTL:-../../daemon/faasflowctl}
BENCH=${BENCH:-./ff-lease-bench}
PROBE=${PROBE:-./ff-probe}
PY=/usr/bin/python3

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

DPID=           # the faasflowd under test, empty when none runs
DT_PIDS=        # other background processes, killed at exit (dt_track)
DT_UP_TRIES=300 # dt_wait_up polls this many times,
DT_UP_STEP=0.05 # this many seconds apart

dt_track() { DT_PIDS="$DT_PIDS $*"; }
dt_kill_tracked() {
	for dt_p in $DT_PIDS; do kill -KILL "$dt_p" 2>/dev/null; wait "$dt_p" 2>/dev/null; done
	DT_PIDS=
}
dt_cleanup() {
	dt_kill_tracked
	if [ -n "$DPID" ]; then kill -KILL "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
	rm -rf "$T"
}

# dt_tempdir NAME: T is a new directory ${TMPDIR:-/tmp}/NAME-test.XXXXXX, removed at exit.
dt_tempdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/$1-test.XXXXXX") || exit 99
	trap dt_cleanup EXIT INT TERM
}

# dt_config SHM_SIZE LOG_LEVEL [LINE...]: $T/f.conf (1 MiB slots, socket and region under $T)
# with the extra lines appended; SOCK is the default tenant's socket, CTL faasflowctl for it.
dt_config() {
	cat >"$T/f.conf" <<EOF
SHM_SIZE = $1
SLOT_SIZE = 1M
SOCKET_DIR = $T/sock
SHM_FILE_PATH = $T/shm/region
LOG_LEVEL = $2
EOF
	shift 2
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$T/f.conf"
	SOCK=$T/sock/faasflow_container_default.sock
	CTL="$FFCTL --config $T/f.conf"
}

# dt_spawn LOGFILE COMMAND...: COMMAND in the background, its stderr appended to LOGFILE;
# DPID is its pid.
dt_spawn() {
	dt_log=$1
	shift
	( exec "$@" 2>>"$dt_log" ) &
	DPID=$!
}

# dt_start [OPTION...]: faasflowd --config $T/f.conf OPTION..., stderr to $T/d.log.
dt_start() { dt_spawn "$T/d.log" "$FFD" --config "$T/f.conf" "$@"; }

# dt_wait_up [FAASFLOWCTL OPTION...]: until `faasflowctl OPTION... status` answers. Returns 1
# when faasflowd exits first or DT_UP_TRIES polls DT_UP_STEP seconds apart go by.
dt_wait_up() {
	dt_i=0
	until $CTL "$@" status >/dev/null 2>&1; do
		dt_i=$((dt_i + 1))
		if [ "$dt_i" -gt "$DT_UP_TRIES" ] || ! kill -0 "$DPID" 2>/dev/null; then return 1; fi
		sleep "$DT_UP_STEP"
	done
}

# dt_stop: SIGTERM to faasflowd; returns its exit status.
dt_stop() {
	kill -TERM "$DPID"
	wait "$DPID"
	dt_rc=$?
	DPID=
	return "$dt_rc"
}

# dt_free_port: a TCP port of 127.0.0.1 free a moment ago.
dt_free_port() { tl_free_port; }
