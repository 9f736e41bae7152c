#!/bin/bash
# The switch flipped in the middle of a stream of large payloads, two ways: `faasflowctl
# disable` / `enable`, and ENABLE_SHARED_MEMORY = false / true in the config file plus SIGHUP.
# While off, no payload goes through the region; nothing is lost (hash match); no process
# restarts; once back on, a new connection uses the region again.
# shellcheck disable=SC2317  # off_ctl ... are called through variables
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

off_ctl() { "$FFCTL" --config "$CONF" disable >/dev/null; }
on_ctl() { "$FFCTL" --config "$CONF" enable >/dev/null; }
off_hup() {
	it_config "ENABLE_SHARED_MEMORY=false"
	kill -HUP "$IT_DAEMON_PID"
}
on_hup() {
	it_config "ENABLE_SHARED_MEMORY=true"
	kill -HUP "$IT_DAEMON_PID"
}

# run_case NAME OFF ON
run_case() {
	local name=$1 off=$2 on=$3 srv cli r1 r2 before
	it_xfer_server srv shim --timeout 100 || { it_fail "$name" "server did not start"; return; }
	srv=$IT_LAST
	before=$(it_stat region_bytes)
	it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 2M*60 --gap-ms 40
	cli=$IT_LAST
	if ! it_wait_stat region_bytes -ge $((before + (4 << 20))) 20; then
		it_fail "$name" "the stream never used the region before the switch"
		return
	fi
	$off
	if ! it_wait_stat enabled -eq 0 5; then
		it_fail "$name" "the switch did not turn off"
		return
	fi
	sleep 0.3                          # payloads already announced may finish
	r1=$(it_stat region_bytes)
	sleep 0.8
	r2=$(it_stat region_bytes)
	$on
	it_join_both "$name" "$cli" "$srv" 120 || return
	it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" || return
	if [ "$r1" != "$r2" ]; then
		it_fail "$name" "region_bytes grew by $((r2 - r1)) while shared memory was off"
		return
	fi
	it_wait_stat enabled -eq 1 5 || { it_fail "$name" "the switch did not turn back on"; return; }
	it_xfer_server srv2 shim --timeout 100
	before=$(it_stat region_bytes)
	it_shim "$XFER" client --port "$IT_PORT" --sizes 4M >"$T/cli2.out" 2>"$T/cli2.err"
	it_join "$IT_LAST" 30
	it_same "$name (after on)" "$(it_line "$T/cli2.out" SENT)" "$(it_line "$T/srv2.out" RECV)" || return
	it_grew "$name (a new connection after on)" "$before" $((2 << 20)) || return
	it_pass "$name"
}

run_case "faasflowctl disable / enable mid-stream" off_ctl on_ctl
run_case "ENABLE_SHARED_MEMORY=false + SIGHUP mid-stream" off_hup on_hup
kill -0 "$IT_DAEMON_PID" 2>/dev/null || it_fail "daemon" "faasflowd died"
it_done
