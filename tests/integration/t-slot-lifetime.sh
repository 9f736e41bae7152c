#!/bin/bash
# How long a payload's slot lives (DESIGN 5.3): like the bytes in TCP's buffers, for as long as
# a process may still read the connection, whatever became of the writer, and no longer.
#  - a writer that exits at once, a reader that starts reading 35 s later (past the 30 s
#    orphan timeout that once freed such slots): every byte arrives, through the region;
#  - the same with a writer that stays alive while the coordinator is killed and restarted;
#  - a reader that closes, or is killed, with payloads unread while its writer lives on: the
#    slots come back to the writer within the grace period;
#  - a reader that closes mid-payload while its writer exits: the slot comes back after the
#    orphan timeout; and no slot is left out of the pool at the end.
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

# Two late readers at once (35 s after the payloads were filled, past the 30 s orphan timeout
# that once freed such slots). For the first, the coordinator is killed and restarted while its
# writer, alive and idle, has 3 MiB in flight: the restarted coordinator must keep the slots of
# a live owner (the writer has closed its socket and stays alive). The second connection starts after the restart; its writer exits at once.
M=$((1 << 20))
# A reader that closes in the middle of a payload (10 bytes of 1 MiB read) leaves its slot
# marked as handed over (another process might hold the socket and finish it); its writer has
# exited. Nobody takes it over: the slot comes back after the orphan timeout (it stayed out of
# the pool for good). Checked by "no slot lost at the end", 40 s on.
H="a reader closes mid-payload, its writer exits: the slot comes back"
it_shim "$PY" -c '
import socket, threading
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
sent = threading.Event()
def serve():
    s, _ = l.accept()
    s.recv(10)
    sent.wait()
    s.close()
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(l.getsockname())
c.sendall(b"h" * (1 << 20))
c.close()          # (before the reader: the writer sees no reset, keeps the slot out)
sent.set()
t.join()' >"$T/h.out" 2>"$T/h.err"
hrc=$?
hreading=$(it_stat slots_reading)
# A fork-per-connection server: the parent accepts, forks and closes its copy at once; the
# child reads 36 s later (it never talked to the coordinator: its parent's entry, left at the
# fork, names it). The writer exits at once. The slots were given back 10 s after the parent's
# close, and the child read a reset.
F="forked child reads 36 s after its parent closed, writer exited"
rm -f "$T/f.port"
it_bg fsrv shim "$PY" -c '
import hashlib, os, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(sys.argv[1], "w").write(str(l.getsockname()[1]))
s, _ = l.accept()
pid = os.fork()
if pid == 0:
    time.sleep(36)
    h = hashlib.sha256(); n = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        h.update(b); n += len(b)
    print("RECV bytes=%d sha256=%s" % (n, h.hexdigest()), flush=True)
    os._exit(0)
s.close()
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))' "$T/f.port"
fsrv=$IT_LAST
if it_wait_file "$T/f.port" 20; then
	it_shim "$PY" -c '
import hashlib, socket, sys
data = bytes(range(256)) * (3 << 12) + b"?"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(data)
s.close()
print("SENT bytes=%d sha256=%s" % (len(data), hashlib.sha256(data).hexdigest()))' "$(cat "$T/f.port")" >"$T/fw.out" 2>"$T/fw.err"
fi
A="writer lives on across a coordinator restart, reader reads 35 s later"
B="writer exits at once, reader reads 35 s later"
before=$(it_stat region_bytes)
rm -f "$T/wa.sent"
if it_xfer_server sa shim --timeout 100 --no-verify --stall-after 1 --stall-ms 36000; then
	sa=$IT_LAST
	it_bg wa shim "$PY" -c '
import hashlib, socket, sys, time
data = bytes(range(256)) * (3 << 12) + b"!"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(data)
s.close()
open(sys.argv[2], "w").write("SENT bytes=%d sha256=%s\n" % (len(data), hashlib.sha256(data).hexdigest()))
time.sleep(120)' "$IT_PORT" "$T/wa.sent"
	wa=$IT_LAST
	if it_wait_file "$T/wa.sent" 30; then
		it_stop_daemon KILL
		it_start_daemon
	fi
else
	it_fail "$A" "server did not start"
fi
if it_xfer_server sb shim --timeout 100 --stall-after 1 --stall-ms 35000; then
	sb=$IT_LAST
	it_shim "$XFER" client --port "$IT_PORT" --timeout 60 --exit-after-send --sizes 1,3M \
		>"$T/cb.out" 2>"$T/cb.err"
	crc=$?
	it_join "$sb" 80
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$B" "client exited $crc, server $IT_RC"
		it_show sb
	elif it_same "$B" "$(it_line "$T/cb.out" SENT)" "$(it_line "$T/sb.out" RECV)"; then
		it_pass "$B"
	fi
else
	it_fail "$B" "server did not start"
fi
if [ -n "${sa:-}" ]; then
	it_join "$sa" 60
	if [ "$IT_RC" != 0 ] || [ ! -s "$T/wa.sent" ]; then
		it_fail "$A" "reader exited $IT_RC"
		it_show sa wa
	elif it_same "$A" "$(cat "$T/wa.sent")" "$(it_line "$T/sa.out" RECV)" &&
		it_grew "$A" "$before" $((6 * M)); then
		it_pass "$A"
	fi
	kill "$wa" 2>/dev/null
	wait "$wa" 2>/dev/null
fi

# The reader accepts and leaves without reading (close(), or killed with SIGKILL); the writer
# has sent 3 MiB through the region, closed, and stays alive. Its slots are FILLED until the
# coordinator sees that nobody reads the connection any more.
unread_case() { # close|kill
	local name="reader leaves unread ($1), writer lives on: the slots come back" rd wr
	before=$(it_stat region_bytes)
	rm -f "$T/rd.port" "$T/wr.sent" "$T/rd.closed"
	it_bg rd shim "$PY" -c '
import os, signal, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(sys.argv[1], "w").write(str(l.getsockname()[1]))
s, _ = l.accept()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
if sys.argv[4] == "kill":
    open(sys.argv[3], "w").write("killed")
    os.kill(os.getpid(), signal.SIGKILL)
s.close()
open(sys.argv[3], "w").write("closed")
time.sleep(120)' "$T/rd.port" "$T/wr.sent" "$T/rd.closed" "$1"
	rd=$IT_LAST
	if ! it_wait_file "$T/rd.port" 20; then
		it_fail "$name" "reader did not start"
		it_show rd
		return
	fi
	it_bg wr shim "$PY" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x" * (3 << 20))
s.close()
open(sys.argv[2], "w").write("sent")
time.sleep(120)' "$(cat "$T/rd.port")" "$T/wr.sent"
	wr=$IT_LAST
	if ! it_wait_file "$T/rd.closed" 30; then
		it_fail "$name" "the reader did not leave"
		it_show rd wr
	elif ! it_grew "$name" "$before" $((3 * M)); then
		:
	elif [ "$(it_stat slots_filled)" = 0 ]; then
		it_fail "$name" "no slot FILLED after the reader left: the case tests nothing"
	elif ! it_wait_stat slots_filled -eq 0 25; then
		it_fail "$name" "$(it_stat slots_filled) slot(s) still FILLED 25 s after their only reader left"
	elif ! kill -0 "$wr" 2>/dev/null; then
		it_fail "$name" "the writer exited early: its slots were orphans, not given back"
		it_show wr
	else
		it_pass "$name"
	fi
	kill "$wr" "$rd" 2>/dev/null
	wait "$wr" "$rd" 2>/dev/null
}
unread_case close
unread_case kill
# Naming the connections a process reads costs the coordinator nothing per connection: the
# names go on the readers channel, read at its ticks (through the control socket, the
# accept, connect and both closes of every connection each woke it). 400 short connections
# between two shim processes; the coordinator's wake-ups are counted in /proc.
name="400 connections opened and closed: the coordinator is not woken for each"
wakeups() {
	awk '/^voluntary_ctxt_switches/ {n += $2} END {print n + 0}' /proc/"$IT_DAEMON_PID"/task/*/status
}
rm -f "$T/cc.port"
it_bg cc shim "$PY" -c '
import socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
open(sys.argv[1], "w").write(str(l.getsockname()[1]))
while True:
    s, _ = l.accept()
    s.sendall(s.recv(16))
    s.close()' "$T/cc.port"
cc=$IT_LAST
if it_wait_file "$T/cc.port" 20; then
	w0=$(wakeups)
	it_shim "$PY" -c '
import socket, sys
for i in range(400):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"ping")
    assert s.recv(16) == b"ping"
    s.close()
print("DONE")' "$(cat "$T/cc.port")" >"$T/ccc.out" 2>"$T/ccc.err"
	crc=$?
	w1=$(wakeups)
	if [ "$crc" != 0 ] || ! grep -q DONE "$T/ccc.out"; then
		it_fail "$name" "the client exited $crc"
		cat "$T/ccc.err" >&2
	elif [ $((w1 - w0)) -ge 150 ]; then
		it_fail "$name" "the coordinator woke $((w1 - w0)) times for 400 connections"
	else
		echo "coordinator wake-ups for 400 connections: $((w1 - w0))"
		it_pass "$name"
	fi
else
	it_fail "$name" "server did not start"
	it_show cc
fi
kill "$cc" 2>/dev/null
wait "$cc" 2>/dev/null

it_join "$fsrv" 60
if [ "$IT_RC" != 0 ]; then
	it_fail "$F" "the server (or its child) exited $IT_RC"
	it_show fsrv
elif it_same "$F" "$(it_line "$T/fw.out" SENT)" "$(it_line "$T/fsrv.out" RECV)"; then
	it_pass "$F"
fi
if [ "$hrc" != 0 ]; then
	it_fail "$H" "the pair exited $hrc: $(head -c 300 "$T/h.err")"
elif [ "${hreading:-0}" = 0 ]; then
	it_fail "$H" "no slot was READING after the reader's close: the case tests nothing"
elif [ "$(it_stat slots_reading)" != 0 ]; then
	it_fail "$H" "$(it_stat slots_reading) slot(s) still READING 40 s after the reader closed and the writer exited"
else
	it_pass "$H"
fi
it_all_slots_free "no slot lost at the end" 5000 && it_pass "no slot lost at the end"
it_done
