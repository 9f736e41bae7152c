#!/bin/bash
# A writer that exits right after its last send() returned (no close, no shutdown): the data
# still arrives intact. A reader that stops reading for 2 s while the writer has payloads in
# flight, then resumes: the data arrives intact, nothing times out.
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

run_case() { # NAME MIN "SARGS" "CARGS"
	local name=$1 min=$2 sargs=$3 cargs=$4 before srv crc
	before=$(it_stat region_bytes)
	it_xfer_server srv shim --timeout 100 $sargs || { it_fail "$name" "server did not start"; return; }
	srv=$IT_LAST
	it_shim "$XFER" client --port "$IT_PORT" --timeout 100 $cargs >"$T/cli.out" 2>"$T/cli.err"
	crc=$?
	it_join "$srv" 60
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$name" "client exited $crc, server $IT_RC"
		sed -n '1,5s/^/    client: /p' "$T/cli.err"
		it_show srv
		return
	fi
	it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" || return
	it_grew "$name" "$before" "$min" || return
	it_pass "$name"
}

M=$((1 << 20))
run_case "writer exits right after send()" $((4 * M)) "" "--exit-after-send --sizes 8M"
run_case "writer exits right after send(), several payloads" $((4 * M)) "--mode nonblock-epoll-et" "--exit-after-send --sizes 1M*3,8M,100"
run_case "writer exits right after send(), slow reader" $((4 * M)) "--rbuf 4096 --stall-after 1 --stall-ms 500" "--exit-after-send --sizes 16M"
run_case "reader stalls 2 s, blocking" $((16 * M)) "--stall-after 1M --stall-ms 2000" "--sizes 16M,16M"
# a non-blocking writer keeps at most the bound (4 MiB) in the region while its reader stalls;
# the rest of that write goes inline (TCP's flow control)
run_case "reader stalls 2 s, epoll-et" $((4 * M)) "--stall-after 3M --stall-ms 2000 --mode nonblock-epoll-et" "--sizes 16M,16M --mode nonblock-epoll-lt"
it_all_slots_free "slots at the end" 2000 && it_pass "no slot lost"
it_done
