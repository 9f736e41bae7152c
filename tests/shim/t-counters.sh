#!/bin/bash
# The region's inline counters are exact: 100 writes of 64 bytes are 100 inline frames and
# 6,400 inline bytes whether the writer closes its socket, exits with it open, or shares it
# with a child forked by fork() or by the fork system call itself (no fork handlers run in
# it): each process counts only the frames it sent. The bytes read are compared with a plain
# run of the same script.
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 77; }
st_start_daemon

for mode in close exit fork rawfork; do
	p=$(plain "$PY" "$ST_SRCDIR/counters_case.py" "$mode" 2>"$T/$mode.plain.err")
	f0=$(st_stat inline_frames)
	b0=$(st_stat inline_bytes)
	s=$(shim "$PY" "$ST_SRCDIR/counters_case.py" "$mode" 2>"$T/$mode.shim.err")
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
done
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
