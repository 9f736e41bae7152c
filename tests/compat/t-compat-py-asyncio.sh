#!/bin/bash
# Compatibility matrix: Python asyncio streams (asyncio.start_server / open_connection), server
# and client both /usr/bin/python3, echoing payloads of 1 KiB to 64 MiB.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need python3 "$PY" ss
cx_version "$($PY --version)"
CX_SIZES="1K 64K 1M 8M 64M"

row() {
	local port
	port=$(cx_port)
	cx_bg srv "$1" "$PY" "$CX_SRC/echo.py" server "$port" asyncio
	local srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "asyncio server starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	cx_echo_cases "$1" "$port" "$PY" "$CX_SRC/echo.py" client 127.0.0.1 "$port" asyncio
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
