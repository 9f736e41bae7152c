#!/bin/bash
# Mixed deployments: a peer without the shim, on either side, sees exactly the bytes the other
# application sent, never a hello or a frame header.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
SHA_C=$(st_sha_of_pattern 1 5M)
SHA_R=$(st_sha_of_pattern 2 2M)

check() { # name srv-line cli-line
	local name=$1 s=$2 c=$3
	if [ "$(st_field "$s" sha256)" != "$SHA_C" ] || [ "$(st_field "$s" bytes)" != 5242880 ]; then
		st_fail "$name" "server got '$s', expected 5242880 bytes sha256=$SHA_C"
	elif [ "$(st_field "$s" magic)" != 0 ] || [ "$(st_field "$c" reply_magic)" != 0 ]; then
		st_fail "$name" "a hello magic reached an application: server '$s' client '$c'"
	elif [ "$(st_field "$c" reply_sha256)" != "$SHA_R" ]; then
		st_fail "$name" "client got reply '$c', expected 2097152 bytes sha256=$SHA_R"
	elif [ "$(st_field "$s" status)" -gt 0 ] || [ "$(st_field "$c" status)" -gt 0 ]; then
		st_fail "$name" "a connection with a plain peer was marked upgraded: '$s' / '$c'"
	else
		st_pass "$name"
	fi
}

run() { # name server-wrapper client-wrapper [extra client args]
	local name=$1 sw=$2 cw=$3 srv
	shift 3
	rm -f "$T/$name.port"
	st_bg "$T/$name.srv" "$sw" "$B/st_sink" -p "$T/$name.port" -R 2M -S 2
	srv=$ST_LAST
	"$cw" "$B/st_source" -p "$T/$name.port" -n 5M -s 1 "$@" >"$T/$name.cli" 2>&1
	local crc=$?
	st_join "$srv"
	if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
		st_fail "$name" "client rc=$crc server rc=$ST_RC: $(cat "$T/$name.cli" "$T/$name.srv.err")"
		return
	fi
	check "$name" "$(cat "$T/$name.srv")" "$(cat "$T/$name.cli")"
}

# a registered shim listener, a plain client (1 MiB writes, then mixed small ones)
run plain-client-shim-server shim plain -c 1M
run plain-client-shim-server-small shim plain -c 1000
# a shim client, a plain server, PEERS=* and nobody registered on that port
run shim-client-plain-server plain shim -c 1M
# a shim client whose PEERS names the plain server explicitly: the coordinator says no
st_bg "$T/x.srv" plain "$B/st_sink" -p "$T/x.port" -R 2M -S 2
srv=$ST_LAST
st_wait_file "$T/x.port"
port=$(cat "$T/x.port")
env LD_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$CONF" FAASFLOW_PEERS="127.0.0.1:$port" \
	FAASFLOW_LOG="$T/shim.log" timeout 60 "$B/st_source" -P "$port" -n 5M -s 1 >"$T/x.cli" 2>&1
crc=$?
st_join "$srv"
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
	st_fail "shim-client-named-plain-server" "client rc=$crc server rc=$ST_RC: $(cat "$T/x.cli" "$T/x.srv.err")"
else
	check "shim-client-named-plain-server" "$(cat "$T/x.srv")" "$(cat "$T/x.cli")"
fi
# controls: both shimmed, the same programs do use the region (so the checks above can fail)
both() { # name reply-bytes
	rm -f "$T/$1.port"
	st_bg "$T/$1.srv" shim "$B/st_sink" -p "$T/$1.port" -R "$2" -S 2
	srv=$ST_LAST
	shim "$B/st_source" -p "$T/$1.port" -n 5M -s 1 >"$T/$1.cli" 2>&1
	crc=$?
	st_join "$srv"
	s=$(cat "$T/$1.srv")
	c=$(cat "$T/$1.cli")
}
rb0=$(st_stat region_bytes)
both control-both-shimmed 0
rb1=$(st_stat region_bytes)
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ] || [ "$(st_field "$s" sha256)" != "$SHA_C" ]; then
	st_fail "control-both-shimmed" "rc=$crc/$ST_RC server '$s' client '$c'"
elif [ $(( $(st_field "$s" status) & 2 )) -eq 0 ] || [ $((rb1 - rb0)) -lt 5242880 ]; then
	st_fail "control-both-shimmed" "not upgraded: '$s' / '$c', region_bytes +$((rb1 - rb0))"
else
	st_pass "control-both-shimmed"
fi
# the reply direction too: the server writes 2 MiB through the region, closes and exits at
# once; its payloads in flight must still reach the client
rb0=$(st_stat region_bytes)
both control-reply-then-exit 2M
rb1=$(st_stat region_bytes)
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ] || [ "$(st_field "$c" reply_sha256)" != "$SHA_R" ]; then
	st_fail "control-reply-then-exit" "rc=$crc/$ST_RC server '$s' client '$c'"
elif [ $(( $(st_field "$s" status) & 2 )) -eq 0 ] || [ $((rb1 - rb0)) -lt $((7 * 1048576)) ]; then
	st_fail "control-reply-then-exit" "not upgraded both ways: '$s' / '$c', region_bytes +$((rb1 - rb0))"
else
	st_pass "control-reply-then-exit"
fi
# an IPv6-only shim listener on [::]:P does not vouch for a plain IPv4 server on P
PY=/usr/bin/python3
rm -f "$T/v6.port"
st_bg "$T/v6.l" shim "$PY" "$ST_SRCDIR/v6only_case.py" listen6 "$T/v6.port"
l6=$ST_LAST
if st_wait_file "$T/v6.port"; then
	st_bg "$T/v4.srv" plain "$PY" "$ST_SRCDIR/v6only_case.py" plain4 "$(cat "$T/v6.port")"
	srv=$ST_LAST
	st_wait_file "$T/v4.srv"
	c=$(shim "$PY" "$ST_SRCDIR/v6only_case.py" send "$(cat "$T/v6.port")" 2>&1)
	st_join "$srv"
	s=$(grep bytes= "$T/v4.srv")
	if [ -z "$s" ] || [ "$s" != "$c" ]; then
		st_fail "ipv6-only-listener-plain-ipv4-server" "the plain server got '$s', the client sent '$c'"
	else
		st_pass "ipv6-only-listener-plain-ipv4-server"
	fi
else
	st_fail "ipv6-only-listener-plain-ipv4-server" "the IPv6 listener did not start: $(cat "$T/v6.l.err")"
fi
kill "$l6" 2>/dev/null
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
