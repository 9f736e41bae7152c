#!/bin/bash
# The region's inline counters are exact: 100 writes of 64 bytes are 100 inline frames and
# 6,400 inline bytes whether the writer closes its socket, exits with it open, or shares it
# with a child forked by fork() or by the fork system call itself (no fork handlers run in
# it): each process counts only the frames it sent. The bytes read are compared with a plain
# run of the same script. By default a stream of small writes goes as runs through a slot
# (tx.c): then inline and region bytes add up to the 6,400 written, each counted once.
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 77; }
st_start_daemon

for mode in close exit fork rawfork; do
	p=$(plain "$PY" "$ST_SRCDIR/counters_case.py" "$mode" 2>"$T/$mode.plain.err")
	# each write an inline frame of its own
	f0=$(st_stat inline_frames)
	b0=$(st_stat inline_bytes)
	s=$(FAASFLOW_SMALL_WRITE_RUNS=false shim "$PY" "$ST_SRCDIR/counters_case.py" "$mode" 2>"$T/$mode.shim.err")
	rc=$?
	f1=$(st_stat inline_frames)
	b1=$(st_stat inline_bytes)
	if [ -z "$p" ] || [ "$p" != "$s" ]; then
		st_fail "$mode" "plain: '$p' shim: '$s' (rc=$rc) $(tail -n 3 "$T/$mode.shim.err")"
	elif [ $((f1 - f0)) != 100 ] || [ $((b1 - b0)) != 6400 ]; then
		st_fail "$mode" "inline counters grew by $((f1 - f0)) frames and $((b1 - b0)) bytes, expected 100 and 6400"
	else
		st_pass "$mode: $s, 100 frames and 6400 bytes counted"
	fi
	# the default: from the third write on, runs through a slot; every byte counted once
	r0=$(st_stat region_bytes)
	s=$(shim "$PY" "$ST_SRCDIR/counters_case.py" "$mode" 2>"$T/$mode.run.err")
	rc=$?
	b2=$(st_stat inline_bytes)
	r1=$(st_stat region_bytes)
	if [ "$p" != "$s" ]; then
		st_fail "$mode-runs" "plain: '$p' shim: '$s' (rc=$rc) $(tail -n 3 "$T/$mode.run.err")"
	elif [ $((r1 - r0)) -le 0 ] || [ $((b2 - b1 + r1 - r0)) != 6400 ]; then
		st_fail "$mode-runs" "inline bytes +$((b2 - b1)), region bytes +$((r1 - r0)): expected runs, 6400 in all"
	else
		st_pass "$mode-runs: $s, inline $((b2 - b1)) + region $((r1 - r0)) bytes"
	fi
done
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
