#!/bin/bash
# A full buffer on an upgraded connection behaves as TCP's: a non-blocking writer gets EAGAIN
# after about what TCP takes (the region adds at most its per-connection bound) and POLLOUT
# stays off; two ends that each write 2 MiB before reading do not deadlock (TCP buffers that
# much); a signal during a blocking send runs its handler and the send returns a partial
# count; an SO_SNDBUF the application set bounds the region bytes in flight (a 4 KiB buffer:
# about 10 KB taken, not 256 KiB). Each case runs plain and under the shim; the outputs must be equal, and the shimmed
# run must have gone through the region.
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY missing"; exit 77; }
st_start_daemon

# Every case twice under the shim: at the THRESHOLD the tests pin (64K) and at 1 (every write of the
# shimmed run through the region, the bound and the signals included).
for thr in default 1; do
for mode in nb-bound both-write alarm-send alarm-copy oob oob-inline oob-twice oob-marks cmsg sndtimeo sndbuf-4k \
	writev-many oob-many; do
	name=$mode
	if [ "$thr" = 1 ]; then
		export FAASFLOW_THRESHOLD=1
		name="$mode@threshold-1"
	else
		unset FAASFLOW_THRESHOLD
	fi
	p=$(plain "$PY" "$ST_SRCDIR/writer_contract.py" "$mode" 2>"$T/$mode.plain.err")
	rb0=$(st_stat region_bytes)
	ib0=$(st_stat inline_bytes)
	s=$(shim "$PY" "$ST_SRCDIR/writer_contract.py" "$mode" 2>"$T/$mode.shim.err")
	rc=$?
	rb1=$(st_stat region_bytes)
	ib1=$(st_stat inline_bytes)
	if [ -z "$p" ] || [ "$p" != "$s" ]; then
		st_fail "$name" "plain: '$p' shim: '$s' (rc=$rc; 124: it hung) $(tail -n 3 "$T/$mode.shim.err")"
	elif [ "$mode" = sndbuf-4k ] && [ $((ib1 - ib0)) -le 0 ]; then
		st_fail "$name" "the connection was not upgraded: inline_bytes +$((ib1 - ib0))"
	elif [ "$mode" != sndbuf-4k ] && [ $((rb1 - rb0)) -lt 1048576 ]; then
		st_fail "$name" "not through the region: region_bytes +$((rb1 - rb0))"
	else
		st_pass "$name: $s ($(cat "$T/$mode.plain.err" "$T/$mode.shim.err" | tr '\n' ' '))"
	fi
done
done
unset FAASFLOW_THRESHOLD
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
