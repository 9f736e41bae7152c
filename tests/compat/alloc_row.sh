# The allocator rows (t-compat-alloc-*.sh set CX_ALLOC_PKG and CX_ALLOC_LIB, then source this
# after lib.sh): the Python echo server and client with the allocator preloaded, alone (plain
# run), then before the shim and after it (shim run). Must not hang and must pass.
# shellcheck shell=bash disable=SC2034
cx_need_file "$CX_ALLOC_PKG" "$CX_ALLOC_LIB"
cx_need python3 "$PY"
cx_need iproute2 ss
cx_version "$CX_ALLOC_PKG $(dpkg-query -W -f '${Version}' "$CX_ALLOC_PKG" 2>/dev/null) ($CX_ALLOC_LIB)"
CX_SIZES="1K 64K 1M 8M"
CX_START_TIMEOUT=${CX_ALLOC_START_TIMEOUT:-10}
CX_PRELOAD_PLAIN=$CX_ALLOC_LIB

order() { # MODE ORDER
	local mode=$1 port srv
	CX_PRELOAD_BEFORE=
	CX_PRELOAD_AFTER=
	if [ "$mode" = shim ]; then
		if [ "$2" = before ]; then CX_PRELOAD_BEFORE=$CX_ALLOC_LIB; else CX_PRELOAD_AFTER=$CX_ALLOC_LIB; fi
	fi
	echo "  allocator $2 the shim: LD_PRELOAD order $([ "$mode" = shim ] && { [ "$2" = before ] && echo "allocator:shim" || echo "shim:allocator"; } || echo "allocator only")"
	port=$(cx_port)
	cx_bg srv "$mode" "$PY" "$CX_SRC/echo.py" server "$port"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "python server with $(basename "$CX_ALLOC_LIB") $2 the shim starts ($mode)" "did not listen within $CX_START_TIMEOUT s$(kill -0 "$srv" 2>/dev/null && echo ' (still running: hung)')"
		cx_show srv
		cx_result "$mode" "$2" "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	cx_echo_cases "$mode" "$port" "$PY" "$CX_SRC/echo.py" client 127.0.0.1 "$port"
	cx_stop "$srv"
}

row() {
	order "$1" before
	order "$1" after
}

cx_start_daemon
cx_matrix
cx_done
