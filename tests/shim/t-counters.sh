#!/bin/bash
# The region's inline counters stay exact while a connection adds its frames up in batches:
# 100 writes of 64 bytes are 100 inline frames and 6,400 inline bytes whether the writer closes
# its socket, exits with it open, or shares it with a forked child (each process counts its own
# frames once). A child made by the fork system call itself, without fork()'s handlers, cannot
# tell its inherited batch from its own frames: it drops that batch (up to 63 frames go
# uncounted) and never counts the parent's frames twice (150 for 100). The bytes read are
# compared with a plain run of the same script.
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
	elif [ "$mode" = rawfork ] && { [ $((f1 - f0)) -gt 100 ] || [ $((f1 - f0)) -lt 37 ] ||
		[ $((b1 - b0)) != $(((f1 - f0) * 64)) ]; }; then
		st_fail "$mode" "inline counters grew by $((f1 - f0)) frames and $((b1 - b0)) bytes, expected 37-100 frames of 64 bytes"
	elif [ "$mode" = rawfork ]; then
		st_pass "$mode: $s, $((f1 - f0)) frames and $((b1 - b0)) bytes counted (at most 100)"
	elif [ $((f1 - f0)) != 100 ] || [ $((b1 - b0)) != 6400 ]; then
		st_fail "$mode" "inline counters grew by $((f1 - f0)) frames and $((b1 - b0)) bytes, expected 100 and 6400"
	else
		st_pass "$mode: $s, 100 frames and 6400 bytes counted"
	fi
done
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
