#!/bin/bash
# A client without the shim that maps the region sends a valid hello and a good inline frame,
# then a forged or stale frame. The shim server must fail the read with ECONNRESET after the
# 16 good bytes, never return a byte from a slot (or from after the bad frame), not crash;
# the daemon survives; a victim connection whose slot was aimed at is not disturbed.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
GOOD_SHA=$(printf 'INLINE-OK-16BYTE' | sha256sum | cut -d' ' -f1)
VSHA=$(st_sha_of_pattern 1 1M)

attack() { # case
	local c=$1 srv out a
	rm -f "$T/$c.port"
	st_bg "$T/$c.srv" shim "$B/st_sink" -p "$T/$c.port"
	srv=$ST_LAST
	a=$(plain "$B/st_attack" "$T/$c.port" "$T/region" "$c" 2>&1)
	local arc=$?
	st_join "$srv"
	out=$(cat "$T/$c.srv")
	if [ $arc -ne 0 ]; then
		st_fail "$c" "attacker rc=$arc: $a"
	elif [ $ST_RC -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$T/$c.srv.err"; then
		st_fail "$c" "server rc=$ST_RC: $(head -c 2000 "$T/$c.srv.err")"
	elif [ "$(st_field "$out" bytes)" != 16 ] || [ "$(st_field "$out" sha256)" != "$GOOD_SHA" ]; then
		st_fail "$c" "server returned bytes beyond the 16 good ones: '$out' ($a)"
	elif [ "$(st_field "$out" end)" != ECONNRESET ]; then
		st_fail "$c" "server's read ended with $(st_field "$out" end), expected ECONNRESET ('$out'; $a)"
	elif ! st_daemon_alive; then
		st_fail "$c" "faasflowd died"
	else
		st_pass "$c"
	fi
}

for c in badsum slot-range len-range free-slot inline-zero garbage-type foreign-region; do
	attack "$c"
done

# A victim: a shim client has one 1 MiB payload FILLED in a slot for a shim server that does
# not read yet (it waits for $T/go). Other leased slots of the victim are LEASED.
st_bg "$T/v.srv" shim "$B/st_sink" -p "$T/v.port" -g "$T/go"
vsrv=$ST_LAST
st_bg "$T/v.cli" shim "$B/st_source" -p "$T/v.port" -n 1M -c 1M -s 1
vcli=$ST_LAST
for _ in $(seq 1 1000); do
	[ "$(st_stat slots_filled)" = 1 ] && break
	sleep 0.01
done
if [ "$(st_stat slots_filled)" != 1 ]; then
	st_fail "victim-setup" "no FILLED slot: $("$FFCTL" --config "$CONF" stats --json)"
else
	attack leased-slot
	attack wrong-gen
	attack steal
fi
touch "$T/go"
st_join "$vsrv"
st_join "$vcli"
out=$(cat "$T/v.srv")
if [ "$(st_field "$out" sha256)" != "$VSHA" ]; then
	st_fail "victim-intact" "the victim's server got '$out', expected 1048576 bytes sha256=$VSHA"
elif [ $(( $(st_field "$out" status) & 2 )) -eq 0 ]; then
	st_fail "victim-intact" "the victim's connection was not framed: $out"
else
	st_pass "victim-intact"
fi
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
