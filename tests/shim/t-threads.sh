#!/bin/bash
# Two threads sending whole messages on one upgraded fd never interleave inside a message;
# close() racing another thread's recv() does not crash and never yields wrong bytes.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
N=40

rb0=$(st_stat region_bytes)
st_bg "$T/m.srv" shim "$B/st_threads" server "$T/m.port"
srv=$ST_LAST
c=$(shim "$B/st_threads" client "$T/m.port" $N 2>&1)
crc=$?
st_join "$srv"
s=$(tail -n 1 "$T/m.srv")
rb1=$(st_stat region_bytes)
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
	st_fail "two-writer-threads" "client rc=$crc ($c) server rc=$ST_RC ($(cat "$T/m.srv" "$T/m.srv.err" | head -c 2000))"
elif [ "$(st_field "$s" messages)" != $((2 * N)) ] || [ "$(st_field "$s" end)" != eof ]; then
	st_fail "two-writer-threads" "server: $(cat "$T/m.srv")"
elif [ $(( $(st_field "$s" status) & 2 )) -eq 0 ] || [ $((rb1 - rb0)) -lt 10485760 ]; then
	st_fail "two-writer-threads" "not through the region: '$s' region_bytes +$((rb1 - rb0))"
else
	st_pass "two-writer-threads"
fi

# A reader asleep in recv() holds nothing another thread needs: FIONREAD and a non-blocking
# peek on the same fd answer at once (before: both waited until the reader's data came).
out=$(shim "$B/st_threads" side 20 2>"$T/side.err")
rc=$?
if [ $rc -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$T/side.err"; then
	st_fail "side-calls-during-blocked-read" "rc=$rc: $(head -c 3000 "$T/side.err") $out"
elif [ "$(st_field "$(echo "$out" | tail -n 1)" framed)" != 20 ] ||
	[ "$(st_field "$(echo "$out" | tail -n 1)" bad)" != 0 ]; then
	st_fail "side-calls-during-blocked-read" "$out"
elif [ "$(st_field "$(echo "$out" | tail -n 1)" worst_side_us)" -gt 15000 ]; then
	st_fail "side-calls-during-blocked-read" "a side call waited behind the reader: $out"
else
	st_pass "side-calls-during-blocked-read"
fi

# Under ThreadSanitizer the race below is the test's own deliberate close()/recv() race on one
# fd, which TSan reports as it would without the shim: that half runs in the normal build.
if [ -n "${ST_TSAN:-}" ]; then
	st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
	st_done
fi
out=$(shim "$B/st_threads" race 200 2>"$T/race.err")
rc=$?
last=$(echo "$out" | tail -n 1)
if [ $rc -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$T/race.err"; then
	st_fail "close-races-recv" "rc=$rc: $(head -c 3000 "$T/race.err")"
elif [ "$(st_field "$last" bad_end)" != 0 ]; then
	st_fail "close-races-recv" "$(echo "$out" | grep -v 'wrong bytes' | head -n 10 | tr '\n' ';')"
elif [ "$(st_field "$last" framed)" != 200 ]; then
	st_fail "close-races-recv" "connections were not upgraded: $last"
else
	st_pass "close-races-recv"
fi
# the bytes a racing recv() did return must be the stream's bytes (TCP never gets this wrong)
if [ $rc -eq 0 ] && [ "$(st_field "$last" bad_bytes)" != 0 ]; then
	st_fail "close-races-recv-bytes" "$(echo "$out" | grep 'wrong bytes' | head -n 5 | tr '\n' ';') $last"
elif [ $rc -eq 0 ]; then
	st_pass "close-races-recv-bytes"
fi
# The first connects of a process made by 8 threads at once: the threads' look-ups wait for
# the one that registers and maps the region (a thread touched the region's counters before it
# was mapped: SIGSEGV in 8 of 10 runs). Every connection intact in each of 5 runs; the region
# used (a connection whose server accepts late, busy with the others, stays plain by design).
PY=/usr/bin/python3
rb0=$(st_stat region_bytes)
for run in 1 2 3 4 5; do
	rm -f "$T/fc.port"
	st_bg "$T/fc.srv" shim "$PY" "$ST_SRCDIR/first_connects.py" server "$T/fc.port" 8
	srv=$ST_LAST
	st_wait_file "$T/fc.port" || break
	out=$(shim "$PY" "$ST_SRCDIR/first_connects.py" client "$(cat "$T/fc.port")" 8 2>&1)
	crc=$?
	st_join "$srv"
	if [ $crc -ne 0 ] || [ "$ST_RC" -ne 0 ] || [ "$out" != "ok=8 of 8" ]; then
		st_fail "first-connects-8-threads" "run $run: client rc=$crc ($out), server rc=$ST_RC $(head -c 500 "$T/fc.srv.err")"
		break
	fi
	if [ $run = 5 ]; then
		rb=$(($(st_stat region_bytes) - rb0))
		if [ "$rb" -lt $((4 << 20)) ]; then
			st_fail "first-connects-8-threads" "only $rb bytes through the region in 5 runs"
		else
			st_pass "first-connects-8-threads (5 runs, $rb bytes through the region)"
		fi
	fi
done

st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
