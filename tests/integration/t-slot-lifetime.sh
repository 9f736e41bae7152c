#!/bin/bash
# How long a payload's slot lives (DESIGN 5.3): like the bytes in TCP's buffers, for as long as
# a process may still read the connection, whatever became of the writer, and no longer.
#  - a writer that exits at once, a reader that starts reading 35 s later (past the 30 s
#    orphan timeout that once freed such slots): every byte arrives, through the region;
#  - a reader that closes with payloads unread while its writer lives on: the slots come back
#    to the writer within the grace period, and no slot is left out of the pool at the end.
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon
M=$((1 << 20))

name="writer exits at once, reader reads 35 s later"
before=$(it_stat region_bytes)
if it_xfer_server srv shim --timeout 100 --stall-after 1 --stall-ms 35000; then
	srv=$IT_LAST
	it_shim "$XFER" client --port "$IT_PORT" --timeout 60 --exit-after-send --sizes 1,3M \
		>"$T/cli.out" 2>"$T/cli.err"
	crc=$?
	it_join "$srv" 80
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$name" "client exited $crc, server $IT_RC"
		it_show srv
	elif it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" &&
		it_grew "$name" "$before" $((3 * M)); then
		it_pass "$name"
	fi
else
	it_fail "$name" "server did not start"
fi

# The reader accepts and closes without reading; the writer has sent 3 MiB through the region,
# closed, and stays alive. Its slots are FILLED until the coordinator sees that nobody reads
# the connection any more.
name="reader closes unread, writer lives on: the slots come back"
before=$(it_stat region_bytes)
rm -f "$T/rd.port" "$T/wr.sent" "$T/rd.closed"
it_bg rd shim "$PY" -c '
import os, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(sys.argv[1], "w").write(str(l.getsockname()[1]))
s, _ = l.accept()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
s.close()
open(sys.argv[3], "w").write("closed")
time.sleep(120)' "$T/rd.port" "$T/wr.sent" "$T/rd.closed"
rd=$IT_LAST
if it_wait_file "$T/rd.port" 20; then
	it_bg wr shim "$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x" * (3 << 20))
s.close()
open(sys.argv[2], "w").write("sent")
time.sleep(120)' "$(cat "$T/rd.port")" "$T/wr.sent"
	wr=$IT_LAST
	if ! it_wait_file "$T/rd.closed" 30; then
		it_fail "$name" "the reader did not close"
		it_show rd wr
	elif ! it_grew "$name" "$before" $((3 * M)); then
		:
	elif [ "$(it_stat slots_filled)" = 0 ]; then
		it_fail "$name" "no slot FILLED after the reader closed: the case tests nothing"
	elif ! it_wait_stat slots_filled -eq 0 25; then
		it_fail "$name" "$(it_stat slots_filled) slot(s) still FILLED 25 s after their only reader closed"
	elif ! kill -0 "$wr" 2>/dev/null; then
		it_fail "$name" "the writer exited early: its slots were orphans, not given back"
		it_show wr
	else
		it_pass "$name"
	fi
	kill "$wr" "$rd" 2>/dev/null
	wait "$wr" "$rd" 2>/dev/null
else
	it_fail "$name" "reader did not start"
	it_show rd
fi
it_all_slots_free "no slot lost at the end" 5000 && it_pass "no slot lost at the end"
it_done
