#!/bin/bash
# Compatibility matrix: redis-server + redis-cli. Values of 1 KiB to 8 MiB: `redis-cli -x SET`
# from the payload file, then GET; the sha256 of what GET returns is compared with the file's,
# and the server itself hashes the stored value (redis.sha1hex in EVAL) for the other end.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need redis-server redis-server
cx_need redis-tools redis-cli
cx_need iproute2 ss
cx_version "$(redis-server --version)"
CX_START_TIMEOUT=${CX_START_TIMEOUT_REDIS:-10}

row() {
	local mode=$1 port srv size f want got sha1_srv sha1_want
	port=$(cx_port)
	mkdir -p "$T/redis-$mode"
	cx_bg srv "$mode" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$T/redis-$mode" --daemonize no --protected-mode no
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "redis-server starts ($mode)" "did not listen within $CX_START_TIMEOUT s$(kill -0 "$srv" 2>/dev/null && echo ' (still running: hung)')"
		cx_show srv
		cx_result "$mode" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	for size in $CX_SIZES; do
		f=$(cx_payload "$size")
		want=$(cx_sha "$f")
		sha1_want=$(sha1sum <"$f" | cut -d' ' -f1)
		if ! cx_run "$mode" redis-cli -p "$port" -x SET "k$size" <"$f" >"$T/set.out" 2>"$T/cli.err" ||
			[ "$(cat "$T/set.out")" != OK ]; then
			cx_fail "SET $size ($mode)" "redis-cli exited $CX_RC, said '$(head -c 200 "$T/set.out")' $(head -c 200 "$T/cli.err")"
			cx_result "$mode" "$size" "set-failed-$CX_RC"
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		# redis-cli prints the bulk string and a newline when stdout is not a terminal
		if ! cx_run "$mode" redis-cli -p "$port" GET "k$size" >"$T/get.out" 2>"$T/cli.err"; then
			cx_fail "GET $size ($mode)" "redis-cli exited $CX_RC $(head -c 200 "$T/cli.err")"
			cx_result "$mode" "$size" "get-failed-$CX_RC"
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		got=$(head -c -1 "$T/get.out" | sha256sum | cut -d' ' -f1)
		sha1_srv=$(cx_run "$mode" redis-cli -p "$port" EVAL "return redis.sha1hex(redis.call('GET', KEYS[1]))" 1 "k$size" 2>>"$T/cli.err")
		if [ "$sha1_srv" != "$sha1_want" ]; then
			cx_fail "server-side hash $size ($mode)" "redis computed sha1 '$sha1_srv' of the stored value, the file's is $sha1_want"
			cx_result "$mode" "$size" "server-hash-mismatch"
			continue
		fi
		cx_check_case "$mode" "$size" "SET+GET (server sha1 ok)" "$want" "$got"
	done
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
