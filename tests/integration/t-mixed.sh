#!/bin/bash
# Mixed deployments: shim client -> plain server, plain client -> shim server, both shimmed.
# The plain side checks every byte against the expected stream (xfer verifies by default), so
# a single framing byte reaching it fails the case; nothing may go through the region when one
# end has no shim, and the region must be used when both have it.
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
it_start_daemon

# run_case NAME SERVER(shim|plain) CLIENT(shim|plain) REGION(none|used) "SARGS" "CARGS"
run_case() {
	local name=$1 sh=$2 ch=$3 want=$4 sargs=$5 cargs=$6 before now srv
	before=$(it_stat region_bytes)
	if ! it_xfer_server srv "$sh" --timeout 100 $sargs; then
		it_fail "$name" "server did not start"
		return
	fi
	srv=$IT_LAST
	"it_$ch" "$XFER" client --port "$IT_PORT" --timeout 100 $cargs >"$T/cli.out" 2>"$T/cli.err"
	local crc=$?
	it_join "$srv" 60
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$name" "client exited $crc, server $IT_RC (xfer server $sargs / xfer client $cargs)"
		sed -n '1,5s/^/    client: /p' "$T/cli.err"
		it_show srv
		return
	fi
	it_same "$name" "$(it_line "$T/cli.out" SENT)" "$(it_line "$T/srv.out" RECV)" || return
	if [[ " $cargs " == *" --half-close "* ]] && ! grep -qx "REPLY ok" "$T/cli.out"; then
		it_fail "$name" "the reply after half-close did not arrive intact"
		return
	fi
	now=$(it_stat region_bytes)
	if [ "$want" = none ] && [ "$now" != "$before" ]; then
		it_fail "$name" "region_bytes grew by $((now - before)) though one end has no shim"
		return
	fi
	if [ "$want" = used ]; then
		it_grew "$name" "$before" $((2 << 20)) || return
	fi
	it_pass "$name"
}

S=1,1000,64K,4M,3
run_case "shim client -> plain server" plain shim none "" "--sizes $S"
run_case "shim client -> plain server, epoll-et, 1-byte reads" plain shim none "--rbuf 1 --mode nonblock-epoll-et" "--sizes 100K,3 --mode nonblock-epoll-et"
run_case "shim client -> plain server, echo back" plain shim none "--rr echo" "--rr echo --sizes 1,3M"
run_case "shim client -> plain server, half-close reply" plain shim none "--reply" "--half-close --sizes 4M"
run_case "plain client -> shim server" shim plain none "" "--sizes $S"
run_case "plain client -> shim server, peek" shim plain none "--peek --mode poll" "--sizes $S"
run_case "plain client -> shim server, echo back" shim plain none "--rr echo --mode nonblock-epoll-lt" "--rr echo --sizes 1,3M"
run_case "plain client -> shim server, half-close reply" shim plain none "--reply" "--half-close --sizes 4M"
run_case "both shimmed" shim shim used "" "--sizes $S"
run_case "both shimmed, echo back" shim shim used "--rr echo" "--rr echo --sizes 1,3M"
# Server speaks first to a client without the shim: the client must see only payload bytes.
before=$(it_stat region_bytes)
it_xfer_server ssf shim --timeout 100 --server-sends --sizes 3M,1
it_plain "$XFER" client --port "$IT_PORT" --server-sends --timeout 100 >"$T/ssf-cli.out" 2>"$T/ssf-cli.err"
crc=$?
it_join "$IT_LAST" 60
if [ "$crc" = 0 ] && [ "$IT_RC" = 0 ] &&
	it_same "shim server speaks first -> plain client" "$(it_line "$T/ssf.out" SENT)" "$(it_line "$T/ssf-cli.out" RECV)"; then
	it_pass "shim server speaks first -> plain client"
elif [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
	it_fail "shim server speaks first -> plain client" "client exited $crc, server $IT_RC: $(head -c 300 "$T/ssf-cli.err")"
fi
it_done
