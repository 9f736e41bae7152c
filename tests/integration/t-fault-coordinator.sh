#!/bin/bash
# The coordinator killed with SIGKILL in the middle of a stream, then restarted (three rounds,
# at different points of the stream): the running transfer completes with the right hash; the
# region is re-attached (same region id), not re-created; a new connection after the restart
# goes through the region again; no slot is lost.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

region_id() {
	"$FFCTL" --config "$CONF" stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["region_id"])'
}

round() { # N DELAY_MS: kill the coordinator DELAY_MS after the stream first used the region
	local name="coordinator SIGKILL mid-stream and restart, round $1" srv cli before id1 id2 crc
	id1=$(region_id)
	it_xfer_server srv shim --timeout 100 || { it_fail "$name" "server did not start"; return; }
	srv=$IT_LAST
	before=$(it_stat region_bytes)
	it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 2M*40 --gap-ms 30
	cli=$IT_LAST
	if ! it_wait_stat region_bytes -ge $((before + (4 << 20))) 20; then
		it_fail "$name" "the stream never used the region"
	fi
	sleep "0.$2"
	it_stop_daemon KILL
	sleep 0.2
	it_start_daemon
	id2=$(region_id)
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
		it_pass "round $1: region re-attached (same id)"
	else
		it_fail "round $1: region re-attached" "region id '$id1' before, '$id2' after the restart"
	fi

	it_xfer_server srv2 shim --timeout 100
	before=$(it_stat region_bytes)
	it_shim "$XFER" client --port "$IT_PORT" --sizes 4M,4M >"$T/cli2.out" 2>"$T/cli2.err"
	it_join "$IT_LAST" 30
	if it_same "round $1: new connection after restart" "$(it_line "$T/cli2.out" SENT)" "$(it_line "$T/srv2.out" RECV)" &&
		it_grew "round $1: new connection after restart" "$before" $((4 << 20)); then
		it_pass "round $1: new connection after restart uses the region"
	fi
	it_all_slots_free "round $1: slots after the restart" 3000 && it_pass "round $1: no slot lost"
}

round 1 0
round 2 300
round 3 700
it_done
