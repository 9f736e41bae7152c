#!/bin/bash
# "Containers": two network namespaces joined by a veth pair, sharing /tmp, one coordinator on
# the host. An xfer server in one namespace, the client in the other: the transfer goes
# through the region and the hashes match. Needs root (ip netns).
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: network namespaces need root"
	exit 77
fi
it_need ip ss

it_config
it_start_daemon
it_netns_pair || { it_fail "netns setup" "could not create namespaces and veth"; it_done; }

# run_case NAME MIN "SARGS" "CARGS"
run_case() {
	local name=$1 min=$2 sargs=$3 cargs=$4 before srv crc
	before=$(it_stat region_bytes)
	rm -f "$T/ns.port"
	it_bg nsrv plain ip netns exec "$IT_NS_A" "${IT_SHIM_ENV[@]}" "$XFER" server \
		--bind "$IT_ADDR_A" --port 0 --port-file "$T/ns.port" --timeout 100 $sargs
	srv=$IT_LAST
	if ! it_wait_file "$T/ns.port" 20; then
		it_fail "$name" "server did not start"
		it_show nsrv
		return
	fi
	ip netns exec "$IT_NS_B" "${IT_SHIM_ENV[@]}" timeout 120 "$XFER" client --host "$IT_ADDR_A" \
		--port "$(cat "$T/ns.port")" --timeout 100 $cargs >"$T/ncli.out" 2>"$T/ncli.err"
	crc=$?
	it_join "$srv" 60
	if [ "$crc" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$name" "client exited $crc, server $IT_RC"
		sed -n '1,5s/^/    client: /p' "$T/ncli.err"
		it_show nsrv
		return
	fi
	it_same "$name" "$(it_line "$T/ncli.out" SENT)" "$(it_line "$T/nsrv.out" RECV)" || return
	it_grew "$name" "$before" "$min" || return
	it_pass "$name"
}

# the namespaces really are separate: A's address is not local to B (it is reached over the veth)
if ip -n "$IT_NS_B" -o addr show | grep -q " $IT_ADDR_A/"; then
	it_fail "netns" "$IT_ADDR_A is local to $IT_NS_B"
	it_done
fi
run_case "netns B -> netns A, 1 B..16 MiB" $((8 << 20)) "" "--sizes 1,1000,64K,1M,16M"
run_case "netns B -> netns A, epoll-et, echo" $((4 << 20)) "--rr echo --mode nonblock-epoll-et" "--rr echo --sizes 1,3M --mode poll"
it_done
