#!/bin/bash
# Compatibility matrix: memcached (-I 16m) with a Python text-protocol client (mc_client.py):
# items of 1 KiB to 8 MiB are set and read back; the value's sha256 is compared with the file's,
# and the server's own count of bytes read/written (stats) must cover the payloads.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need memcached memcached
cx_need python3 "$PY"
cx_need iproute2 ss
cx_version "$(memcached -V)"
CX_SIZES="1K 64K 1M 4M 8M"

mc_stat() { # PORT MODE NAME
	cx_run "$2" "$PY" -c 'import socket,sys
c=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); c.sendall(b"stats\r\n"); b=b""
while not b.endswith(b"END\r\n"): b+=c.recv(65536)
for l in b.decode().split("\r\n"):
    p=l.split()
    if len(p)==3 and p[1]==sys.argv[2]: print(p[2])' "$1" "$3"
}

row() {
	local mode=$1 port srv size f want got r0 r1
	port=$(cx_port)
	cx_bg srv "$mode" memcached -l 127.0.0.1 -p "$port" -U 0 -I 16m -m 256 -t 2 -u root
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "memcached starts ($mode)" "did not listen within $CX_START_TIMEOUT s"
		cx_show srv
		cx_result "$mode" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	for size in $CX_SIZES; do
		f=$(cx_payload "$size")
		want=$(cx_sha "$f")
		r0=$(mc_stat "$port" "$mode" bytes_read)
		if ! cx_run "$mode" "$PY" "$CX_SRC/mc_client.py" 127.0.0.1 "$port" "$f" >"$T/cli.out" 2>"$T/cli.err"; then
			cx_fail "set+get $size ($mode)" "client exited $CX_RC: $(tail -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "client-rc-$CX_RC"
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		r1=$(mc_stat "$port" "$mode" bytes_read)
		if [ $((r1 - r0)) -lt "$(cx_bytes "$size")" ]; then
			cx_fail "server read the item $size ($mode)" "memcached's bytes_read grew by $((r1 - r0))"
			cx_result "$mode" "$size" "server-short-read"
			continue
		fi
		got=$(sed -n 's/^RECV .*sha256=//p' "$T/cli.out")
		cx_check_case "$mode" "$size" "set+get" "$want" "$got"
	done
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
