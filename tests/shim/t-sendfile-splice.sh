#!/bin/bash
# sendfile() of a 32 MiB file to an upgraded socket, splice() from a pipe to an upgraded socket,
# and splice() from an upgraded socket into a pipe: every byte hashed, the region used.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
SHA32=$(st_sha_of_pattern 1 32M)

one() { # name server-mode client-mode min-region-bytes
	local name=$1 rb0 rb1 rx0 rx1 s c
	rm -f "$T/$name.port"
	rb0=$(st_stat region_bytes)
	rx0=$(st_stat rx_region_bytes)
	st_bg "$T/$name.srv" shim "$B/st_sink" -p "$T/$name.port" -m "$2" -b 1M
	local srv=$ST_LAST
	c=$(shim "$B/st_source" -p "$T/$name.port" -n 32M -c 8M -s 1 -m "$3" -f "$T/file32" 2>&1)
	local crc=$?
	st_join "$srv"
	s=$(cat "$T/$name.srv")
	rb1=$(st_stat region_bytes)
	rx1=$(st_stat rx_region_bytes)
	if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
		st_fail "$name" "client rc=$crc ($c) server rc=$ST_RC ($(cat "$T/$name.srv.err"))"
	elif [ "$(st_field "$s" sha256)" != "$SHA32" ] || [ "$(st_field "$c" sha256)" != "$SHA32" ]; then
		st_fail "$name" "server got '$s' (client '$c'), expected 33554432 bytes sha256=$SHA32"
	elif [ $(( $(st_field "$s" status) & 2 )) -eq 0 ] || [ $(( $(st_field "$c" status) & 1 )) -eq 0 ]; then
		st_fail "$name" "not upgraded: server '$s' client '$c'"
	elif [ $((rb1 - rb0)) -lt "$4" ] || [ $((rx1 - rx0)) -lt "$4" ]; then
		st_fail "$name" "region_bytes +$((rb1 - rb0)), rx_region_bytes +$((rx1 - rx0)), expected >= $4"
	else
		st_pass "$name"
	fi
}

one sendfile-to-socket read sendfile 33554432
one splice-pipe-to-socket read splice 16777216
one splice-socket-to-pipe splice send 16777216
one splice-both-ends splice splice 16777216
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
