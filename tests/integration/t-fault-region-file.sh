#!/bin/bash
# The region file deleted, truncated or replaced under a running system, or the socket
# directory missing: a transfer running at the time completes intact (deletion), and new
# transfers still complete with the right hash (through TCP when the region is gone).
# Nothing crashes.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

pair() { # NAME SIZES
	local name=$1 srv
	it_xfer_server srv shim --timeout 60 || { it_fail "$name" "server did not start"; return 1; }
	srv=$IT_LAST
	it_shim "$XFER" client --port "$IT_PORT" --timeout 60 --sizes "$2" >"$T/cli.out" 2>"$T/cli.err"
	local crc=$?
	it_join "$srv" 60
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$name" "client exited $crc, server $IT_RC"
		sed -n '1,5s/^/    client: /p' "$T/cli.err"
		it_show srv
		return 1
	fi
	it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" && it_pass "$name"
}

restart_fresh() {
	it_stop_daemon TERM
	rm -f "$T/region"
	it_start_daemon
}

# damaged_verdict: after the region was damaged under the stream of cli to srv (case $name):
# no process killed or hung, no wrong byte at the reader (it checks each one); intact or reset.
damaged_verdict() {
	local crc
	it_join "$cli" 120
	crc=$IT_RC
	it_join "$srv" 30
	if [ "$crc" -ge 124 ] || [ "$IT_RC" -ge 124 ]; then
		it_fail "$name" "killed or hung: client exited $crc, server $IT_RC (SIGBUS is 135)"
		it_show cli srv
	elif grep -q "corrupt data" "$T/srv.err"; then
		it_fail "$name" "the reader got wrong bytes: $(grep -m1 'corrupt data' "$T/srv.err")"
	elif [ "$crc" = 0 ] && [ "$IT_RC" = 0 ]; then
		it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" &&
			it_pass "$name (intact)"
	else
		it_pass "$name (reset: client $crc, server $IT_RC: $(tail -1 "$T/srv.err"))"
	fi
}

# replaced_verdict N CASE: faasflowd alive, its log names the Nth truncation (the log spans
# restarts), and a new transfer goes through the region that replaced the damaged one.
replaced_verdict() {
	local before after _
	for _ in $(seq 1 50); do
		[ "$(grep -c "was truncated while in use" "$T/daemon.log")" -ge "$1" ] && break
		sleep 0.1
	done
	if ! kill -0 "$IT_DAEMON_PID" 2>/dev/null; then
		it_fail "$name" "faasflowd died: $(tail -3 "$T/daemon.log")"
		it_start_daemon
	elif [ "$(grep -c "was truncated while in use" "$T/daemon.log")" -lt "$1" ]; then
		it_fail "$name" "faasflowd did not say the region was truncated"
	elif it_wait_file "$T/region" 20; then
		before=$(it_stat region_bytes)
		if pair "$2" 1,4M,16M; then
			after=$(it_stat region_bytes)
			[ "${after:-0}" -gt "${before:-0}" ] ||
				it_fail "$2" "did not use the new region ($before -> $after)"
		fi
	else
		it_fail "$name" "faasflowd did not replace the truncated region: $(tail -3 "$T/daemon.log")"
	fi
}

# deleted while a stream runs
name="region file deleted mid-stream"
it_xfer_server srv shim --timeout 100
srv=$IT_LAST
before=$(it_stat region_bytes)
it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 2M*30 --gap-ms 30
cli=$IT_LAST
it_wait_stat region_bytes -ge $((before + (4 << 20))) 20 || it_fail "$name" "the stream never used the region"
rm -f "$T/region"
it_join "$cli" 120
crc=$IT_RC
it_join "$srv" 30
if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
	it_fail "$name" "client exited $crc, server $IT_RC"
	it_show cli srv
elif it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)"; then
	it_pass "$name"
fi
pair "new transfer after the region file was deleted" 1,4M,16M

# truncated to nothing while a stream runs (an operator's `truncate -s 0` or `> file`): the
# pages the two ends and the coordinator have mapped are gone. Nobody dies of SIGBUS; the
# reader gets every byte right or an error (it checks each byte, so a wrong one fails it as
# corrupt); the coordinator replaces the region, and a new transfer goes through the new one.
name="region file truncated mid-stream"
restart_fresh
it_xfer_server srv shim --timeout 100
srv=$IT_LAST
before=$(it_stat region_bytes)
it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 2M*60 --gap-ms 20
cli=$IT_LAST
it_wait_stat region_bytes -ge $((before + (8 << 20))) 20 || it_fail "$name" "the stream never used the region"
truncate -s 0 "$T/region"
damaged_verdict
replaced_verdict 1 "new transfer after a truncation mid-stream"

# shrunk and grown back at once, while payloads wait in slots for a stalled reader: no
# SIGBUS anywhere, and the zeros where the payloads were never reach the reader as data
# (the region's last page lost its mark: the reader checks it after every copy out)
name="region file shrunk and grown back under payloads in flight"
restart_fresh
it_xfer_server srv shim --timeout 100 --stall-after 8M --stall-ms 3000
srv=$IT_LAST
it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 2M*16
cli=$IT_LAST
it_wait_stat slots_filled -ge 2 20 || it_fail "$name" "no payloads waited in slots"
"$PY" -c 'import os, sys; os.truncate(sys.argv[1], 1 << 20); os.truncate(sys.argv[1], 256 << 20)' "$T/region"
damaged_verdict
replaced_verdict 2 "new transfer after a shrink and regrow"

restart_fresh
truncate -s 1M "$T/region"
pair "new transfer after the region file was truncated" 1,4M,16M

restart_fresh
head -c $((256 << 20)) /dev/urandom >"$T/region.new"
mv "$T/region.new" "$T/region"
pair "new transfer after the region file was replaced by garbage" 1,4M,16M

# the socket directory missing (for the shim): plain TCP, hashes intact, the region untouched
restart_fresh
saved=("${IT_SHIM_ENV[@]}")
IT_SHIM_ENV+=("FAASFLOW_SOCKET_DIR=$T/no-such-dir")
before=$(it_stat region_bytes)
if pair "socket directory missing" 1,4M,16M; then
	[ "$(it_stat region_bytes)" = "$before" ] ||
		it_fail "socket directory missing" "region_bytes grew without a reachable coordinator"
fi
IT_SHIM_ENV=("${saved[@]}")

if kill -0 "$IT_DAEMON_PID" 2>/dev/null; then
	it_pass "faasflowd still running"
else
	it_fail "faasflowd" "died: $(tail -3 "$T/daemon.log")"
fi
it_done
