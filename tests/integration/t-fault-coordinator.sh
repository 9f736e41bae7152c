#!/bin/bash
# The coordinator killed with SIGKILL in the middle of a stream, then restarted: the running
# transfer completes with the right hash; the region is re-attached (same region id), not
# re-created; a new connection after the restart goes through the region again.
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon
name="coordinator SIGKILL mid-stream and restart"
id1=$("$FFCTL" --config "$CONF" stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["region_id"])')
it_xfer_server srv shim --timeout 100
srv=$IT_LAST
before=$(it_stat region_bytes)
it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 2M*50 --gap-ms 40
cli=$IT_LAST
it_wait_stat region_bytes -ge $((before + (4 << 20))) 20 || it_fail "$name" "the stream never used the region"
it_stop_daemon KILL
sleep 0.3
it_start_daemon
id2=$("$FFCTL" --config "$CONF" stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["region_id"])')
it_join "$cli" 120
crc=$IT_RC
it_join "$srv" 30
if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
	it_fail "$name" "client exited $crc, server $IT_RC"
	it_show cli srv
elif it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)"; then
	it_pass "$name: running transfer intact"
fi
if [ -n "$id1" ] && [ "$id1" = "$id2" ]; then
	it_pass "region re-attached (same id)"
else
	it_fail "region re-attached" "region id '$id1' before, '$id2' after the restart"
fi

it_xfer_server srv2 shim --timeout 100
before=$(it_stat region_bytes)
it_shim "$XFER" client --port "$IT_PORT" --sizes 4M,4M >"$T/cli2.out" 2>"$T/cli2.err"
it_join "$IT_LAST" 30
if it_same "new connection after restart" "$(it_line "$T/cli2.out" SENT)" "$(it_line "$T/srv2.out" RECV)" &&
	it_grew "new connection after restart" "$before" $((4 << 20)); then
	it_pass "new connection after restart uses the region"
fi
it_all_slots_free "slots after the restart" 3000 && it_pass "no slot lost"
it_done
