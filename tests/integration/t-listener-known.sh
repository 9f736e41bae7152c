#!/bin/bash
# Listeners are known to the coordinator at once, without waiting for their next accept():
# - after a coordinator restart (it takes back the endpoints it saved next to its socket);
# - after a server daemonizes (the parent registered the listener and exited, the child
#   accepts: the endpoint lingers as a hint after its process is gone).
# In both, the first connection after the event is upgraded (8 MiB, hashed on both ends,
# payloads through the region). (A hint never upgrades by itself: both ends must put their pair entries.)
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
it_config
it_start_daemon
CASE_PY=$IT_SRC/pair_case.py
MIB=1048576

first_conn() { # CASE PORT
	local before out
	before=$(it_stat region_bytes)
	if ! out=$(it_shim "$PY" "$CASE_PY" client 127.0.0.1 "$2" 1 $((8 * MIB)) "$MIB" 2>&1); then
		it_fail "$1" "$out"
		return
	fi
	# upgraded: payloads went through the region (past the connection's bound in flight the
	# rest go inline, as much as TCP's buffers would hold, so not necessarily all 8 MiB)
	it_grew "$1" "$before" $((2 * MIB)) && it_pass "$1"
}

# --- a coordinator restart, the listener idle in accept() -------------------------------------
name="coordinator restarted: the first connection to an idle listener is upgraded"
rm -f "$T/r.port"
it_bg r shim "$PY" "$CASE_PY" server 127.0.0.1 0 "$T/r.port"
if it_wait_file "$T/r.port" 20; then
	port=$(cat "$T/r.port")
	first_conn "before the restart (control)" "$port"
	it_stop_daemon
	it_start_daemon
	if ! "$FFCTL" --config "$CONF" endpoints | grep -qE "[[:space:]]${port}[[:space:]]"; then
		it_fail "$name" "the restarted coordinator does not know port $port: $("$FFCTL" --config "$CONF" endpoints)"
	else
		first_conn "$name" "$port"
		# killed (no chance to save at exit): the list saved at its tick is taken back
		sleep 0.5
		it_stop_daemon KILL
		it_start_daemon
		first_conn "coordinator killed and started again: the first connection is upgraded" "$port"
	fi
else
	it_fail "$name" "server did not start: $(cat "$T/r.err")"
fi

# --- a server that daemonizes ------------------------------------------------------------
name="daemonizing server: the first connection to the child is upgraded"
rm -f "$T/d.port"
it_bg d shim "$PY" "$CASE_PY" daemon 127.0.0.1 "$T/d.port"
dpid=$IT_LAST
if it_wait_file "$T/d.port" 20; then
	it_join "$dpid" 5         # the parent is gone (its child published the port)
	first_conn "$name" "$(cat "$T/d.port")"
	pkill -f "$CASE_PY daemon 127.0.0.1 $T/d.port"
else
	it_fail "$name" "server did not start: $(cat "$T/d.err")"
fi
it_done
