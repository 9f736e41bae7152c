#!/bin/bash
# Hand-over state nobody else can plant: a connection passed with SCM_RIGHTS to a worker under
# the shim, while a process of another uid puts a file (the state of a genuinely upgraded
# connection) or a FIFO at the predictable hand-over path in a shared, sticky SOCKET_DIR.
# The client without the shim must receive exactly the worker's 64 KiB (no framing byte) and
# the worker must not block; with the dispatcher under the shim too, its own hand-over
# replaces the planted file. Needs root (another uid through setpriv).
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
# SOCKET_DIR shared like /tmp: world-writable and sticky; the other user can reach it.
st_other_user
mkdir -m 1777 "$T/scratch"
cat >"$CONF" <<CONF
SHM_FILE_PATH = $T/region
SOCKET_DIR = $T/shared
SHM_SIZE = 64M
LOG_LEVEL = info
CONF
st_start_daemon() {
	"$FFD" --config "$CONF" >"$T/daemon.log" 2>&1 &
	ST_DAEMON_PID=$!
	for _ in $(seq 1 1000); do
		"$FFCTL" --config "$CONF" status >/dev/null 2>&1 && return 0
		sleep 0.01
	done
	echo "faasflowd did not become ready" >&2
	cat "$T/daemon.log" >&2
	exit 99
}
st_start_daemon
other_uid=$ST_OTHER_UID

for case in plain-dispatcher shim-dispatcher fifo; do
	out=$(FF_TEST_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$CONF" FAASFLOW_LOG="$T/shim.log" \
		FF_TEST_SOCKDIR="$T/shared" FF_TEST_TMP="$T/scratch" FF_TEST_UID="$other_uid" \
		timeout 90 "$PY" "$ST_SRCDIR/handoff_plant.py" run "$case" 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		st_pass "$case"
	else
		st_fail "$case" "exit $rc: $(echo "$out" | tail -n 4 | tr '\n' ' ')"
	fi
done
if grep -q "hand-over file .* ignored" "$T/shim.log"; then
	st_pass "the ignored file is logged"
else
	st_fail "the ignored file is logged" "no 'hand-over file ... ignored' line in the shim log"
fi
st_done
