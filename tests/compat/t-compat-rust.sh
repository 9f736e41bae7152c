#!/bin/bash
# Compatibility matrix: a Rust std::net server and client (echo.rs, std only, built offline
# with rustc here), payloads of 1 KiB to 64 MiB written in 1 MiB write_all()s. Rust's std
# calls the C library's socket functions, so the shim reaches it.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
RUSTC=${RUSTC:-$(command -v rustc || echo /root/.cargo/bin/rustc)}
if [ ! -x "$RUSTC" ]; then
	echo "SKIP: rustc not found (looked on PATH and at /root/.cargo/bin/rustc; set RUSTC)"
	exit 77
fi
cx_need iproute2 ss
cx_version "$("$RUSTC" --version)"
CX_SIZES="1K 64K 1M 8M 64M"
if ! "$RUSTC" -O -o "$T/echo-rs" "$CX_SRC/echo.rs" >"$T/rustc.err" 2>&1; then
	echo "rustc failed to build echo.rs:"
	cat "$T/rustc.err"
	exit 99
fi

row() {
	local port srv
	port=$(cx_port)
	cx_bg srv "$1" "$T/echo-rs" server "$port"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "rust server starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	cx_echo_cases "$1" "$port" "$T/echo-rs" client 127.0.0.1 "$port"
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
