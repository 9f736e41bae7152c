#!/bin/bash
# Either end of an upgraded connection killed with SIGKILL in the middle of a payload:
# - the receiver dies: the sender gets the error TCP gives (EPIPE / ECONNRESET), not a hang;
# - the sender dies: the receiver sees EOF (or ECONNRESET), not a hang, and what it did receive
#   is an uncorrupted prefix of the stream.
# Within about a second afterwards every slot is back in the pool.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

# --- the receiver killed ---
name="receiver SIGKILLed mid-payload"
it_xfer_server rx shim --timeout 100 --rbuf 64K
rx=$IT_LAST
before=$(it_stat region_bytes)
it_bg tx shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 64M*4
tx=$IT_LAST
if it_wait_stat region_bytes -ge $((before + (8 << 20))) 30; then
	kill -9 "$rx"
	it_join "$tx" 10
	if [ "$IT_RC" = 124 ]; then
		it_fail "$name" "the sender hung after the receiver died"
	elif [ "$IT_RC" = 0 ]; then
		it_fail "$name" "the sender reported success though the receiver died mid-stream"
	elif ! grep -qE 'EPIPE|ECONNRESET' "$T/tx.err"; then
		it_fail "$name" "the sender failed without EPIPE/ECONNRESET: $(head -c 300 "$T/tx.err")"
	elif it_all_slots_free "$name" 1500; then
		it_pass "$name: sender got $(grep -oE 'EPIPE|ECONNRESET' "$T/tx.err" | head -1), no slot lost"
	fi
else
	it_fail "$name" "the transfer never used the region"
fi

# --- the sender killed ---
name="sender SIGKILLed mid-payload"
it_xfer_server rx2 shim --timeout 100 --rbuf 64K
rx=$IT_LAST
before=$(it_stat region_bytes)
it_bg tx2 shim "$XFER" client --port "$IT_PORT" --timeout 100 --sizes 64M*4
tx=$IT_LAST
if it_wait_stat region_bytes -ge $((before + (8 << 20))) 30; then
	kill -9 "$tx"
	it_join "$rx" 10
	got=$(it_line "$T/rx2.out" RECV)
	if [ "$IT_RC" = 124 ]; then
		it_fail "$name" "the receiver hung after the sender died"
	elif grep -q corrupt "$T/rx2.err"; then
		it_fail "$name" "the receiver got corrupt data: $(head -c 300 "$T/rx2.err")"
	elif [ "$IT_RC" != 0 ] && ! grep -q ECONNRESET "$T/rx2.err"; then
		it_fail "$name" "the receiver failed with neither EOF nor ECONNRESET: $(head -c 300 "$T/rx2.err")"
	elif [ "$IT_RC" = 0 ] && [ "$(it_field "$got" bytes)" -ge $((256 << 20)) ]; then
		it_fail "$name" "the receiver got everything though the sender died first ($got)"
	elif it_all_slots_free "$name" 1500; then
		it_pass "$name: receiver saw $([ "$IT_RC" = 0 ] && echo EOF || echo ECONNRESET) after $(it_field "$got" bytes) bytes, no slot lost"
	fi
else
	it_fail "$name" "the transfer never used the region"
fi
it_done
