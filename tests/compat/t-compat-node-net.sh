#!/bin/bash
# Compatibility matrix: Node.js net server and client (node_net.js) with pause/resume
# backpressure on the reading side and 'drain' on the writing side, echoing 1 KiB to 64 MiB.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need nodejs node
cx_need iproute2 ss
cx_version "node $(node --version)"
CX_SIZES="1K 64K 1M 8M 64M"

row() {
	local port srv
	port=$(cx_port)
	cx_bg srv "$1" node "$CX_SRC/node_net.js" server "$port"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "node net server starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	cx_echo_cases "$1" "$port" node "$CX_SRC/node_net.js" client 127.0.0.1 "$port"
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
