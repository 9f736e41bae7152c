#!/bin/bash
# Unmodified programs: socat pipes a 64 MiB file from a file-reading client to a file-writing
# server, both under the shim, with 1 MiB blocks (socat -b; its default 8 KiB writes stay
# below THRESHOLD); the file arrives intact and went through the region.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
it_need socat ss

it_config
it_start_daemon
head -c $((64 << 20)) /dev/urandom >"$T/in"
port=$(it_free_port)
before=$(it_stat region_bytes)
it_bg socat-srv shim socat -b 1048576 -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "OPEN:$T/out,creat,trunc"
srv=$IT_LAST
it_wait_port "$port" 30 || { it_fail "socat server" "did not listen"; it_show socat-srv; it_done; }

name="socat pipes a 64 MiB file"
if it_shim env FAASFLOW_PEERS="127.0.0.1:$port" socat -b 1048576 -u "OPEN:$T/in" "TCP:127.0.0.1:$port" \
	2>"$T/socat-cli.err"; then
	it_join "$srv" 60
	want=$(sha256sum <"$T/in" | cut -d' ' -f1)
	got=$(sha256sum <"$T/out" | cut -d' ' -f1)
	if [ "$IT_RC" != 0 ]; then
		it_fail "$name" "socat server exited $IT_RC"
		it_show socat-srv
	elif [ "$want" != "$got" ]; then
		it_fail "$name" "sha256 $got, expected $want ($(stat -c %s "$T/out") bytes)"
	elif it_grew "$name" "$before" $((32 << 20)); then
		it_pass "$name"
	fi
else
	it_fail "$name" "socat client failed: $(head -c 300 "$T/socat-cli.err")"
fi
it_done
