#!/bin/bash
# Both ends under the shim: every I/O discipline, sizes from 1 B to 256 MiB, random mixes,
# tiny reader buffers, MSG_PEEK, MSG_WAITALL, FIONREAD, half-close, pre-fork server, dup2,
# two writer threads, request/response, server speaks first, every read/write entry point,
# EINTR storms. Each case compares the sha256 of both ends and, when it moves large
# payloads, checks that region_bytes grew (the region was used).
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

# run_case NAME MIN_REGION_BYTES "SERVER ARGS" "CLIENT ARGS" [CLIENTS]
# A client's first write waits a bounded time (5 ms non-blocking, 50 ms blocking) for the
# server's accept() to prove the server runs the shim, and stays plain TCP when it does not
# come (preload/upgrade.c). On a loaded machine (make -j2 check) a server can be that late:
# a case whose bytes were right but which stayed plain with such a miss counted (fallback
# not_peer) runs once more, and must then use the region.
run_case() {
	local name=$1 miss
	miss=$(it_stat fallbacks.not_peer)
	IT_CASE_PLAIN=0
	IT_FIRST=1 run_case_once "$@"
	[ "$IT_CASE_PLAIN" = 1 ] || return
	if [ "$(it_stat fallbacks.not_peer)" -gt "$miss" ]; then
		echo "  $name: stayed plain after a late accept (fallback not_peer); once more"
		IT_FIRST=0 run_case_once "$@"
	else
		it_fail "$name" "the bytes went over plain TCP although every accept proved the server (region_bytes grew too little)"
	fi
}

run_case_once() {
	local name=$1 min=$2 sargs=$3 cargs=$4 n=${5:-1} before i rc=0 pids=() srv s c
	before=$(it_stat region_bytes)
	if ! it_xfer_server srv shim --timeout 200 --accept "$n" $sargs; then
		it_fail "$name" "server did not start"
		it_show srv
		return
	fi
	srv=$IT_LAST
	for i in $(seq 1 "$n"); do
		it_bg "cli$i" shim "$XFER" client --port "$IT_PORT" --timeout 200 $cargs
		pids+=("$IT_LAST")
	done
	for i in $(seq 1 "$n"); do
		it_join "${pids[$((i - 1))]}" 240
		[ "$IT_RC" = 0 ] || rc="client $i exited $IT_RC"
	done
	it_join "$srv" 60
	if [ "$IT_RC" != 0 ]; then
		[ "$rc" = 0 ] && rc="server exited $IT_RC" || rc="server exited $IT_RC; $rc"
	fi
	if [ "$rc" != 0 ]; then
		it_fail "$name" "$rc; server: xfer server $sargs; client: xfer client $cargs"
		it_show srv cli1
		return
	fi
	for i in $(seq 1 "$n"); do
		if [[ " $sargs " == *" --server-sends "* ]]; then
			s=$(it_line "$T/srv.out" SENT "$i")
			c=$(it_line "$T/cli$i.out" RECV)
		else
			s=$(it_line "$T/cli$i.out" SENT)
			c=$(it_line "$T/srv.out" RECV "$i")
		fi
		it_same "$name" "$s" "$c" || return
		if [[ " $cargs " == *" --half-close "* ]] && ! grep -qx "REPLY ok" "$T/cli$i.out"; then
			it_fail "$name" "client $i did not get the server's reply after half-close"
			return
		fi
	done
	if [ "$min" -gt 0 ]; then
		if [ "$IT_FIRST" = 1 ] && [ $(($(it_stat region_bytes) - before)) -lt "$min" ]; then
			IT_CASE_PLAIN=1
			return
		fi
		it_grew "$name" "$before" "$min" || return
	fi
	it_pass "$name"
}

M=$((1 << 20))
# A blocking writer waits for its reader at the bound of region bytes in flight (4 MiB), so
# nearly all of the 16 MiB go through the region; a non-blocking one goes inline once the
# bound is reached and its reader (hashing as it reads) does not give a slot back within a
# short spin, as TCP's own buffer bounds it: at least the bound goes through the region.
for mode in block nonblock-epoll-lt nonblock-epoll-et poll select; do
	[ "$mode" = block ] && min=$((8 * M)) || min=$((4 * M))
	run_case "mode $mode, 1 B..16 MiB" "$min" "--mode $mode" "--mode $mode --sizes 1,1000,64K,1M,16M"
done
run_case "256 MiB payload" $((128 * M)) "" "--sizes 256M"
run_case "random mix, poll / epoll-et" $M "--mode poll" "--random-mix 7:60:4M --mode nonblock-epoll-et"
run_case "random mix, select / block" $M "--mode select --rbuf 5000" "--random-mix 11:40:2M --mode block"
run_case "reader buffer 1 B, 100 KiB" $((50 << 10)) "--rbuf 1" "--sizes 100K"
run_case "reader buffer 7 B, 3 MiB, epoll-et" $M "--rbuf 7 --mode nonblock-epoll-et" "--sizes 3M --mode poll"
# Reads of at most 119 bytes take a frame's header and payload in one call before knowing the
# frame: small frames, then doorbells right behind them, must still come whole and in order.
run_case "small reads over small frames and doorbells, poll" $((3 * M)) "--rbuf 100 --mode poll" "--sizes 3,64,119,120,1M,50,2M,7"
run_case "119-byte reads, epoll-lt" $((3 * M)) "--rbuf 119 --mode nonblock-epoll-lt" "--sizes 1,118,119,2M,9,1M,200 --mode nonblock-epoll-et"
# Reads bigger than any TCP receive buffer return at a slot boundary after 1 MiB: short reads,
# every byte still in order.
run_case "32 MiB reads over 40 MiB of payloads" $((32 * M)) "--rbuf 32M" "--sizes 3M,40M,1"
run_case "MSG_PEEK then read, block" $M "--peek --rbuf 100000" "--sizes 1M,5,2M"
run_case "MSG_PEEK then read, epoll-lt" $M "--peek --rbuf 4096 --mode nonblock-epoll-lt" "--sizes 2M,1"
run_case "MSG_WAITALL" $M "--waitall --rbuf 100000" "--sizes 1M,5,3M"
run_case "FIONREAD, poll" $M "--fionread --mode poll" "--sizes 1,1000,2M,3"
run_case "FIONREAD, epoll-et, odd buffer" $M "--fionread --mode nonblock-epoll-et --rbuf 333" "--sizes 2M"
run_case "FIONREAD, block" $M "--fionread" "--sizes 2M,7"
run_case "half-close, reply after EOF" $((8 * M)) "--reply" "--half-close --sizes 1,16M"
run_case "half-close, non-blocking" $M "--reply --mode nonblock-epoll-et" "--half-close --mode nonblock-epoll-lt --sizes 2M"
run_case "pre-fork server, 3 clients" $((6 * M)) "--fork" "--sizes 4M" 3
run_case "dup2 mid-stream" $((2 * M)) "" "--dup2 --sizes 1M,4M"
run_case "dup2 at start, epoll-et" $((2 * M)) "--mode nonblock-epoll-et" "--dup2 --sizes 4M --mode nonblock-epoll-et"
run_case "two writer threads" $((2 * M)) "--msgs" "--threads 2 --sizes 1,100K,1M,3M*2"
run_case "two writer threads, poll" $((2 * M)) "--msgs --mode poll" "--threads 2 --mode poll --sizes 2M*3,10"
run_case "request/ack" $M "--rr ack" "--rr ack --sizes 1,100K,1M,4M"
run_case "request/echo (both directions)" $((3 * M)) "--rr echo --mode poll" "--rr echo --sizes 1,2M --mode nonblock-epoll-lt"
# A server that speaks first keeps its direction raw (DESIGN 3.2: it has read no hello before
# its first write), so only the hashes are checked; large server-to-client payloads through the
# region are covered by request/echo above.
run_case "server speaks first" 0 "--server-sends --sizes 4M,1,2M" "--server-sends"
run_case "server speaks first, select reader" 0 "--server-sends --sizes 3M --mode nonblock-epoll-et" "--server-sends --mode select --rbuf 3000"
run_case "non-blocking connect, epoll-et" $M "" "--nonblock-connect --mode nonblock-epoll-et --sizes 2M"
run_case "non-blocking connect, block" $M "" "--nonblock-connect --sizes 2M"
run_case "readv / sendmsg" $M "--api vec" "--api msg --sizes 2M,1"
run_case "recvfrom / sendto / send / recvmsg" $M "--api to" "--api sr --sizes 2M,1"
run_case "recvmsg / writev" $M "--api msg --mode poll" "--api vec --mode select --sizes 2M,1"
run_case "EINTR storm, blocking" $M "--eintr" "--eintr --sizes 4M,1"
run_case "EINTR storm, epoll-et / poll" $M "--eintr --mode nonblock-epoll-et" "--eintr --mode poll --sizes 4M,1"
run_case "random mix, 13-byte FIONREAD reads, epoll-et" $M "--rbuf 13 --mode nonblock-epoll-et --fionread" "--random-mix 5:30:3M --mode nonblock-epoll-et"
run_case "request/echo 16 MiB both ways" $((16 * M)) "--rr echo --mode nonblock-epoll-et" "--rr echo --sizes 16M,1,16M --mode poll"
run_case "four writer threads, epoll-lt reader" $M "--msgs --mode nonblock-epoll-lt" "--threads 4 --sizes 1M*4,100,3M"
run_case "pre-fork server, non-blocking peek readers" $((4 * M)) "--fork --mode nonblock-epoll-et --peek --rbuf 5000" "--sizes 3M,1 --mode select" 3
run_case "MSG_WAITALL larger than a payload" $M "--waitall --rbuf 3M" "--sizes 2M,17,5M"
run_case "many 70 KiB request/ack rounds" $M "--rr ack --mode select" "--rr ack --sizes 70K*50 --mode nonblock-epoll-et"
run_case "one payload in many writes (--wbuf)" $M "--rbuf 1M" "--sizes 8M --wbuf 100000"
it_done
