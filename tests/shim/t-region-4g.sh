#!/bin/bash
# A region larger than 4 GiB (sparse, SLOT_SIZE 64M): payloads land in slots above the 4 GiB
# offset; every byte hashed, and the high slots were used.
. "$ST_SRCDIR/lib.sh"

need=$((6 * 1024 * 1024))   # KiB: the 5 GiB region plus room
avail=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "${avail:-0}" -lt $need ]; then
	echo "SKIP: MemAvailable ${avail} KiB is below ${need} KiB for a 5 GiB region"
	exit 77
fi

st_config SHM_SIZE=5G SLOT_SIZE=64M QUOTA=256
st_start_daemon
info=$("$B/st_util" high "$T/region")
first=$(st_field "$info" first_high)
count=$(st_field "$info" slot_count)
if [ "${first:--1}" -lt 0 ] || [ "$first" -ge "$count" ]; then
	st_fail "region-layout" "no slot above 4 GiB: $info"
	st_done
fi
st_pass "region-layout"

# P payloads of 1 MiB, each its own send (its own slot), none read until all are in flight.
# The slots below 4 GiB go to another client first (ff-probe holds a lease of them; the
# coordinator leases low slots first), so this connection's payloads land above 4 GiB: one
# connection has at most 4 payloads in flight, not every slot of the region.
probe=$ST_TOP_BUILDDIR/tests/daemon/ff-probe
[ -x "$probe" ] || make -C "$ST_TOP_BUILDDIR/tests/daemon" ff-probe >/dev/null 2>&1
st_bg "$T/hog.out" "$probe" "$T/faasflow_container_default.sock" lease "$first"
st_wait_file "$T/hog.out" || { st_fail "region-layout" "ff-probe did not lease the low slots"; st_done; }
P=$((first + 4 < count ? 4 : count - first))
SHA=$(st_sha_of_pattern 1 "$P"M)
st_bg "$T/s.srv" shim "$B/st_sink" -p "$T/s.port" -g "$T/go"
srv=$ST_LAST
st_bg "$T/s.cli" shim "$B/st_source" -p "$T/s.port" -n "$P"M -c 1M -s 1 -d
cli=$ST_LAST
for _ in $(seq 1 1500); do
	[ "$(st_stat slots_filled)" = "$P" ] && break
	kill -0 "$cli" 2>/dev/null || break
	sleep 0.01
done
filled=$(st_stat slots_filled)
high=$("$B/st_util" high "$T/region")
touch "$T/go"
st_join "$srv"
src=$ST_RC
st_join "$cli"
s=$(cat "$T/s.srv")
after=$("$B/st_util" high "$T/region")
if [ "$src" -ne 0 ] || [ "$ST_RC" -ne 0 ]; then
	st_fail "transfer-above-4g" "server rc=$src client rc=$ST_RC: $(cat "$T/s.srv.err" "$T/s.cli.err")"
elif [ "$filled" != "$P" ]; then
	st_fail "transfer-above-4g" "only $filled of $P payloads were in slots at once (stats: $("$FFCTL" --config "$CONF" stats --json))"
elif [ "$(st_field "$high" used_high)" -lt 1 ]; then
	st_fail "transfer-above-4g" "no payload landed in a slot above 4 GiB: $high"
elif [ "$(st_field "$s" sha256)" != "$SHA" ]; then
	st_fail "transfer-above-4g" "server got '$s', expected $P MiB sha256=$SHA"
elif [ $(( $(st_field "$s" status) & 2 )) -eq 0 ] || [ "$(st_field "$after" max_gen_high)" -lt 1 ]; then
	st_fail "transfer-above-4g" "high slots not read through the region: '$s' $after"
else
	st_pass "transfer-above-4g"
fi
# the bytes are in the file where a 64-bit offset puts them (not wrapped below 4 GiB)
hs=$(st_field "$after" a_used_high)
d=$("$B/st_util" slotdata "$T/region" "${hs:-0}" 1 "$P")
if [ "${hs:--1}" -lt 0 ] || [ "$(st_field "$d" match)" = -1 ] || [ -z "$(st_field "$d" match)" ]; then
	st_fail "slot-data-at-64bit-offset" "slot $hs above 4 GiB does not hold a payload of the stream: $d"
else
	st_pass "slot-data-at-64bit-offset"
fi
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
