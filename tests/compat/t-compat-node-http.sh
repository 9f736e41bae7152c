#!/bin/bash
# Compatibility matrix: Node.js http server and client (node_http.js), both streaming: GET of
# 1 KiB to 64 MiB files (read stream piped to the response, the client hashes the response
# stream) and POST of the same file (the server hashes the request stream).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need nodejs node
cx_need iproute2 ss
cx_version "node $(node --version)"
CX_SIZES="1K 64K 1M 8M 64M"
mkdir -p "$T/www"
for s in $CX_SIZES; do ln -sf "$(cx_payload "$s")" "$T/www/payload.$s"; done

row() {
	local port srv
	port=$(cx_port)
	cx_bg srv "$1" node "$CX_SRC/node_http.js" server "$port" "$T/www"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "node http server starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	# RECV from the client = its download; RECV from the server = the upload it hashed
	cx_echo_cases "$1" "$port" node "$CX_SRC/node_http.js" client "$port"
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
