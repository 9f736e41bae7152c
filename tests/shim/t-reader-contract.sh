#!/bin/bash
# What a read returns on an upgraded connection is what TCP's read returns: an edge-triggered
# reader that stops at a short read gets every byte (a read never stops early while more is
# queued), one that stops after the bytes FIONREAD promised (nginx) too, even when the queue
# closed the window, MSG_PEEK shows the bytes of several frames at once, and splice() into a
# pipe honours SPLICE_F_NONBLOCK and the pipe's capacity, SO_RCVLOWAT counts payload bytes
# (readiness comes, each blocking read returns at least the mark), a blocking reader turned
# non-blocking (by ioctl, fcntl, or another process sharing the socket) gets EAGAIN at once. Each
# case runs plain and under the shim; the outputs must be equal and the shimmed run must have
# gone through the region. A program whose configuration names a user its system lacks
# (OWNER, read only by the coordinator) is still accelerated.
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 77; }
st_start_daemon

# run_case MODE RUNNER: prints the client's line (the server's sha appended). The server
# takes a free port (a fixed one may be some other test's ephemeral port).
run_case() {
	local mode=$1 runner=$2 port srv cli
	rm -f "$T/$mode.$runner.srv"     # (the previous threshold's: not read as this one's)
	st_bg "$T/$mode.$runner.srv" "$runner" "$PY" "$ST_SRCDIR/reader_contract.py" "$mode" 0 server
	srv=$ST_LAST
	st_wait_file "$T/$mode.$runner.srv" || return 1
	port=$(sed -n 's/^listening //p' "$T/$mode.$runner.srv")
	cli=$("$runner" "$PY" "$ST_SRCDIR/reader_contract.py" "$mode" "$port" 2>&1)
	st_join "$srv"
	echo "$cli $(grep '^sent=' "$T/$mode.$runner.srv")"
}

# Every case twice under the shim: at the THRESHOLD the tests pin (64K) and at 1; the
# nginx case (60000-byte writes, runs through slots by default) once more with every small
# write an inline frame (SMALL_WRITE_RUNS = false), the queue full of frames.
for thr in default 1 inline; do
for mode in et-big fionread-et peek splice-nb rcvlowat nb-switch; do
	name=$mode
	unset FAASFLOW_SMALL_WRITE_RUNS
	if [ "$thr" = 1 ]; then
		export FAASFLOW_THRESHOLD=1
		name="$mode@threshold-1"
	elif [ "$thr" = inline ]; then
		[ "$mode" = fionread-et ] || continue
		unset FAASFLOW_THRESHOLD FAASFLOW_SMALL_WRITE_RUNS
		export FAASFLOW_SMALL_WRITE_RUNS=false
		name="$mode@inline"
	else
		unset FAASFLOW_THRESHOLD
	fi
	rb0=$(st_stat rx_region_bytes)
	ib0=$(st_stat inline_bytes)
	p=$(run_case "$mode" plain)
	rb1=$(st_stat rx_region_bytes)
	ib1=$(st_stat inline_bytes)
	s=$(run_case "$mode" shim)
	rb2=$(st_stat rx_region_bytes)
	ib2=$(st_stat inline_bytes)
	want=$(st_field "$p" sent)
	if [ "$(st_field "$p" bytes)" != "$want" ] || [ "$(st_field "$p" sha)" != "$(st_field "$p" sent_sha)" ]; then
		st_fail "$name-plain" "the plain run itself is wrong: $p"
	elif [ "$p" != "$s" ]; then
		st_fail "$name" "plain: '$p' shim: '$s' $(tail -n 3 "$T/$mode.shim.srv.err" 2>/dev/null)"
	elif [ "$thr" = inline ]; then   # inline frames by design
		if [ $((ib2 - ib1)) -lt 16777216 ] || [ "$ib1" != "$ib0" ]; then
			st_fail "$name" "not upgraded: inline_bytes plain +$((ib1 - ib0)) shim +$((ib2 - ib1))"
		else
			st_pass "$name"
		fi
	elif [ $((rb2 - rb1)) -lt "$([ "$mode" = peek ] && echo 65536 || echo 1048576)" ] ||
		[ "$rb1" != "$rb0" ]; then
		st_fail "$name" "not through the region: rx_region_bytes plain +$((rb1 - rb0)) shim +$((rb2 - rb1))"
	else
		st_pass "$name"
	fi
done
done
unset FAASFLOW_THRESHOLD

# Coordinator-only keys are accepted unread by the shim: an OWNER that names no user of this
# system (as inside a container image) leaves the shim on.
rb0=$(st_stat rx_region_bytes)
export FAASFLOW_OWNER=no_such_user_$$ FAASFLOW_ALLOW_GIDS=no_such_group_$$
s=$(run_case splice-nb shim)
unset FAASFLOW_OWNER FAASFLOW_ALLOW_GIDS
rb1=$(st_stat rx_region_bytes)
if [ "$(st_field "$s" bytes)" != 1048576 ] || [ $((rb1 - rb0)) -lt 1048576 ]; then
	st_fail "unknown-owner-still-accelerated" "'$s' rx_region_bytes +$((rb1 - rb0)); $(grep -i 'configuration' "$T/shim.log" | head -n 2)"
else
	st_pass "unknown-owner-still-accelerated"
fi
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
