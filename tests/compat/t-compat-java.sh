#!/bin/bash
# Compatibility matrix: OpenJDK, a com.sun.net.httpserver server and a java.net.http client
# (JHttp.java, compiled here): GET of 1 KiB to 64 MiB files (the client hashes the response
# stream) and POST of the same file (the server hashes the request body).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need openjdk-17-jdk-headless java javac
cx_need iproute2 ss
cx_version "$(java -version 2>&1 | head -1)"
CX_SIZES="1K 64K 1M 8M 64M"
mkdir -p "$T/www" "$T/classes"
for s in $CX_SIZES; do ln -sf "$(cx_payload "$s")" "$T/www/payload.$s"; done
if ! timeout 120 javac -d "$T/classes" "$CX_SRC/JHttp.java" >"$T/javac.err" 2>&1; then
	echo "javac failed:"
	cat "$T/javac.err"
	exit 99
fi
JAVA=(java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$T/classes" JHttp)

row() {
	local port srv
	port=$(cx_port)
	cx_bg srv "$1" "${JAVA[@]}" server "$port" "$T/www"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "java server starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	# RECV from the client = its download; RECV from the server = the upload it hashed
	cx_echo_cases "$1" "$port" "${JAVA[@]}" client "$port"
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
