#!/bin/bash
# Non-blocking connect (EINPROGRESS, EPOLLOUT, SO_ERROR 0) with the epoll set registered before
# connect(), then 8 MiB of mixed writes through the region with edge-triggered epoll on both ends.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
SHA=$(st_sha_of_pattern 1 8M)

one() { # name server-wrapper client-wrapper min-region-bytes
	local name=$1 rb0 rb1 s c
	rm -f "$T/$name.port"
	rb0=$(st_stat region_bytes)
	st_bg "$T/$name.srv" "$2" "$B/st_nbconn" server "$T/$name.port"
	local srv=$ST_LAST
	c=$("$3" "$B/st_nbconn" client "$T/$name.port" 8M 2>&1)
	local crc=$?
	st_join "$srv"
	s=$(cat "$T/$name.srv")
	rb1=$(st_stat region_bytes)
	if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
		st_fail "$name" "client rc=$crc ($c) server rc=$ST_RC ($(cat "$T/$name.srv.err"))"
	elif [ "$(st_field "$s" sha256)" != "$SHA" ] || [ "$(st_field "$s" end)" != eof ]; then
		st_fail "$name" "server got '$s', expected 8388608 bytes sha256=$SHA"
	elif [ "$(st_field "$c" connect)" != einprogress ]; then
		st_fail "$name" "connect() did not return EINPROGRESS: $c"
	elif [ "$4" -gt 0 ] && { [ $(( $(st_field "$s" status) & 2 )) -eq 0 ] ||
		[ $(( $(st_field "$c" status) & 1 )) -eq 0 ] || [ $((rb1 - rb0)) -lt "$4" ]; }; then
		st_fail "$name" "not through the region: server '$s' client '$c' region_bytes +$((rb1 - rb0))"
	else
		st_pass "$name"
	fi
}

one nonblock-connect-plain plain plain 0
# non-blocking writes: payloads go through the region up to the per-connection bound of bytes
# in flight (4 MiB); beyond it, one whose slot the reader has not given back within a short
# spin goes inline (the kernel's flow control then bounds the writer, as TCP's does). How
# much that is depends on how fast the reader is (3.9-6 MiB of the 8 seen): at least 1 MiB,
# and both directions upgraded (the status bits)
one nonblock-connect-shim shim shim $((1 * 1048576))
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
