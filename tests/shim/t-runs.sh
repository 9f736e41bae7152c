#!/bin/bash
# A stream of small writes goes as runs through a slot (tx.c): the same bytes in the same order
# as TCP's, whoever writes (a forked child, threads taking turns, a process the socket was
# passed to, an exec'd program), readiness exact (a reader woken by poll or select gets the
# whole burst while the writer waits), MSG_MORE's last write not held, writes to a reader that
# left failing as TCP's do, urgent bytes and big writes in between. Each case runs plain and
# under the shim; the outputs must be equal, and the runs must have gone through the region.
# Then an unmodified program (socat) streams a file in small writes.
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
# An unmodified program: socat copies a file to a socket in writes of 64 and 1500 bytes, its
# reader (socat too) keeps up. The file arrives whole, partly through runs.
if command -v socat >/dev/null; then
	head -c 4000000 /dev/urandom >"$T/in"
	want=$(tl_sha "$T/in")
	for bs in 64 1500; do
		r0=$(st_stat region_bytes)
		port=$(tl_free_port)
		st_bg "$T/socat.srv" shim socat -u TCP-LISTEN:"$port",reuseaddr OPEN:"$T/out",creat,trunc
		srv=$ST_LAST
		tl_wait_port "$port" 5
		shim socat -b "$bs" -u OPEN:"$T/in" TCP:127.0.0.1:"$port"
		st_join "$srv"
		r1=$(st_stat region_bytes)
		got=$(tl_sha "$T/out")
		if [ "$got" != "$want" ]; then
			st_fail "socat-$bs" "the file did not arrive whole: $(stat -c %s "$T/out") bytes"
		elif [ $((r1 - r0)) -le 0 ]; then
			st_fail "socat-$bs" "no run went through the region: region_bytes +$((r1 - r0))"
		else
			st_pass "socat-$bs: 4000000 bytes, hashes equal (region +$((r1 - r0)) bytes)"
		fi
	done
else
	echo "SKIP: socat missing (contrib/install-deps.sh installs it)"
fi
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
