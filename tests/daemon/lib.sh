# Sourced by the daemon test scripts (POSIX sh: test_ctl.sh runs under /bin/sh): the programs
# under test, a private temp dir removed with every process the test started, ok/fail counting,
# the test's config file, starting faasflowd and waiting until its control socket answers.
# Environment (from Makefile.am): FFD, FFCTL, BENCH, PROBE; defaults for a run from the build dir.
# shellcheck shell=sh disable=SC2034,SC2119,SC2120
# (SOCK, BENCH, PROBE and PY are read by the scripts; ff_start and ff_wait_up take optional
# arguments)

FFD=${FFD:-../../daemon/faasflowd}
FFCTL=${FFCTL:-../../daemon/faasflowctl}
BENCH=${BENCH:-./ff-lease-bench}
PROBE=${PROBE:-./ff-probe}
PY=/usr/bin/python3

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

DPID=           # the faasflowd under test, empty when none runs
FF_PIDS=        # other background processes, killed at exit (ff_track)
FF_UP_TRIES=300 # ff_wait_up polls this many times,
FF_UP_STEP=0.05 # this many seconds apart

ff_track() { FF_PIDS="$FF_PIDS $*"; }
ff_kill_tracked() {
	for ff_p in $FF_PIDS; do kill -KILL "$ff_p" 2>/dev/null; wait "$ff_p" 2>/dev/null; done
	FF_PIDS=
}
ff_cleanup() {
	ff_kill_tracked
	if [ -n "$DPID" ]; then kill -KILL "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; fi
	rm -rf "$T"
}

# ff_tempdir NAME: T is a new directory ${TMPDIR:-/tmp}/NAME-test.XXXXXX, removed at exit.
ff_tempdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/$1-test.XXXXXX") || exit 99
	trap ff_cleanup EXIT INT TERM
}

# ff_config SHM_SIZE LOG_LEVEL [LINE...]: $T/f.conf (1 MiB slots, socket and region under $T)
# with the extra lines appended; SOCK is the default tenant's socket, CTL faasflowctl for it.
ff_config() {
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

# ff_spawn LOGFILE COMMAND...: COMMAND in the background, its stderr appended to LOGFILE;
# DPID is its pid.
ff_spawn() {
	ff_log=$1
	shift
	( exec "$@" 2>>"$ff_log" ) &
	DPID=$!
}

# ff_start [OPTION...]: faasflowd --config $T/f.conf OPTION..., stderr to $T/d.log.
ff_start() { ff_spawn "$T/d.log" "$FFD" --config "$T/f.conf" "$@"; }

# ff_wait_up [FAASFLOWCTL OPTION...]: until `faasflowctl OPTION... status` answers. Returns 1
# when faasflowd exits first or FF_UP_TRIES polls FF_UP_STEP seconds apart go by.
ff_wait_up() {
	ff_i=0
	until $CTL "$@" status >/dev/null 2>&1; do
		ff_i=$((ff_i + 1))
		if [ "$ff_i" -gt "$FF_UP_TRIES" ] || ! kill -0 "$DPID" 2>/dev/null; then return 1; fi
		sleep "$FF_UP_STEP"
	done
}

# ff_stop: SIGTERM to faasflowd; returns its exit status.
ff_stop() {
	kill -TERM "$DPID"
	wait "$DPID"
	ff_rc=$?
	DPID=
	return "$ff_rc"
}

# ff_free_port: a TCP port of 127.0.0.1 free a moment ago.
ff_free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
