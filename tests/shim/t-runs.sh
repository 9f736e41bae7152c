#!/bin/bash
# A stream of small writes goes as runs through a slot (tx.c): the same bytes in the same order
# as TCP's, whoever writes (a forked child, threads taking turns, a process the socket was
# passed to, an exec'd program), readiness exact (a reader woken by poll or select gets the
# whole burst while the writer waits), MSG_MORE's last write not held, writes to a reader that
# left failing as TCP's do, urgent bytes and big writes in between. Each case runs plain and
# under the shim; the outputs must be equal, and the runs must have gone through the region.
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 77; }
st_start_daemon

for mode in mixed fork-order fork-turns thread-order pass-order exec-order burst-poll more reader-gone big-mixed; do
	p=$(plain "$PY" "$ST_SRCDIR/runs_case.py" "$mode" 2>"$T/$mode.plain.err")
	r0=$(st_stat region_bytes)
	s=$(shim "$PY" "$ST_SRCDIR/runs_case.py" "$mode" 2>"$T/$mode.shim.err")
	rc=$?
	r1=$(st_stat region_bytes)
	if [ -z "$p" ] || [ "$p" != "$s" ]; then
		st_fail "$mode" "plain: '$p' shim: '$s' (rc=$rc; 124: it hung) $(tail -n 3 "$T/$mode.shim.err")"
	elif [ $((r1 - r0)) -le 0 ]; then
		st_fail "$mode" "no run went through the region: region_bytes +$((r1 - r0))"
	else
		st_pass "$mode: $s (region +$((r1 - r0)) bytes)"
	fi
done
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
