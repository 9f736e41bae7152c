#!/bin/bash
# Spawning beside upgraded connections (subprocess uses vfork, which the shim keeps a vfork):
# a connection made a child's stdin and stdout keeps its framing in the child (the hand-over
# sees the child's dup2 onto fds 0 and 1; with posix_spawn, the file actions that dup2 it),
# and 50 children that close every inherited fd
# before exec leave the parent's own connections intact (a vfork child must not touch the
# shim's state, which it shares with its parent). Each case runs plain and under the shim; the
# outputs must be equal and the shimmed run must have gone through the region.
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 77; }
st_start_daemon

for mode in stdio posix_spawn many; do
	p=$(plain "$PY" "$ST_SRCDIR/spawn_contract.py" "$mode" 2>"$T/$mode.plain.err")
	rb0=$(st_stat region_bytes)
	s=$(shim "$PY" "$ST_SRCDIR/spawn_contract.py" "$mode" 2>"$T/$mode.shim.err")
	rc=$?
	rb1=$(st_stat region_bytes)
	if [ -z "$p" ] || [ "$p" != "$s" ]; then
		st_fail "$mode" "plain: '$p' shim: '$s' (rc=$rc; 124: it hung) $(tail -n 3 "$T/$mode.shim.err")"
	elif echo "$p" | grep -qE "(sha_ok|back_ok|a_to_b|b_to_a)=0"; then
		st_fail "$mode" "the plain run itself is wrong: $p"
	elif [ $((rb1 - rb0)) -lt 2097152 ]; then
		st_fail "$mode" "not through the region: region_bytes +$((rb1 - rb0))"
	else
		st_pass "$mode: $s"
	fi
done
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
