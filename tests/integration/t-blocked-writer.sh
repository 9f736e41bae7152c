#!/bin/bash
# A blocking writer whose reader stops reading waits in the kernel, not on the CPU: the writer
# spins briefly for a slot to come back (it usually does within tens of microseconds), and a
# reader that stays away makes it sleep. Then the reader resumes: every byte arrives, hashed.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_start_daemon
name="writer blocked 5 s by a stalled reader"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }   # utime + stime, in ticks
hz=$(getconf CLK_TCK)
reg=$(it_stat region_bytes)
it_xfer_server srv shim --stall-after 8M --stall-ms 5000 --timeout 120 ||
	{ it_fail "$name" "server did not start"; it_done; }
srv=$IT_LAST
it_bg cli shim "$XFER" client --port "$IT_PORT" --timeout 120 --sizes 64M
cli=$IT_LAST
# Inside the stall (8 MiB went through, the writer is blocked on slots in flight): on a busy
# machine the writer may still be making its 64 MiB a second after the start, so wait (at most
# 2.5 s, well inside the 5 s stall) until a quarter second passes with at most one tick of its
# CPU; a writer that spins never gets there and is measured anyway.
sleep 0.5
p=$(cpu "$cli")
for _ in $(seq 1 10); do
	sleep 0.25
	c0=$(cpu "$cli")
	[ -n "$c0" ] && [ -n "$p" ] && [ $((c0 - p)) -le 1 ] && break
	p=$c0
done
sleep 1.5
c1=$(cpu "$cli")
it_join "$cli" 120
crc=$IT_RC
it_join "$srv" 60
if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
	it_fail "$name" "client exited $crc, server $IT_RC"
	it_show cli srv
elif [ -z "$c0" ] || [ -z "$c1" ]; then
	it_fail "$name" "the writer was gone before the reader resumed (it should have been blocked)"
elif [ $((c1 - c0)) -gt $((hz * 3 / 10)) ]; then
	it_fail "$name" "the blocked writer used $(((c1 - c0) * 1000 / hz)) ms of CPU in 1.5 s (at most 300 expected)"
elif it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" &&
	it_grew "$name: through the region" "$reg" $((32 << 20)); then
	it_pass "$name: $(((c1 - c0) * 1000 / hz)) ms of CPU while blocked 1.5 s, 64 MiB arrived whole"
fi
it_done
