#!/bin/bash
# Compatibility matrix: Perl IO::Socket::INET server and client (echo.pl), payloads of 1 KiB
# to 64 MiB written in 1 MiB syswrite()s.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need perl perl ss
cx_version "perl $(perl -e 'print $^V') IO::Socket::INET $(perl -MIO::Socket::INET -e 'print $IO::Socket::INET::VERSION')"
CX_SIZES="1K 64K 1M 8M 64M"

row() {
	local port srv
	port=$(cx_port)
	cx_bg srv "$1" perl "$CX_SRC/echo.pl" server "$port"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "perl server starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	cx_echo_cases "$1" "$port" perl "$CX_SRC/echo.pl" client 127.0.0.1 "$port"
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
