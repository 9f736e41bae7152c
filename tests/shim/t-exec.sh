#!/bin/bash
# An upgraded connection survives exec (state handed over, the shim kept in the new image),
# on the sending side, on the receiving side in the middle of a doorbell, and across an exec
# with an empty environment; a connection that was never upgraded stays plain; the state text
# keeps every field at its limits.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
SHA6=$(st_sha_of_pattern 1 6M)

# (a) client side: 3 MiB, exec, 3 MiB more on the same fd
rb0=$(st_stat region_bytes)
st_bg "$T/a.srv" shim "$B/st_sink" -p "$T/a.port"
srv=$ST_LAST
shim "$B/st_exec" client "$T/a.port" keep >"$T/a.cli" 2>&1
crc=$?
st_join "$srv"
out=$(cat "$T/a.srv")
rb1=$(st_stat region_bytes)
img2=$(grep '^image=2' "$T/a.cli")
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
	st_fail "exec-client" "client rc=$crc server rc=$ST_RC: $(cat "$T/a.cli" "$T/a.srv.err")"
elif [ "$(st_field "$out" sha256)" != "$SHA6" ] || [ "$(st_field "$out" bytes)" != 6291456 ]; then
	st_fail "exec-client" "server got $out, expected 6291456 bytes sha256=$SHA6"
elif [ $(( $(st_field "$out" status) & 2 )) -eq 0 ]; then
	st_fail "exec-client" "the server's direction was not framed: $out"
elif [ "$(st_field "$img2" status)" != 3 ] && [ $(( $(st_field "$img2" status) & 1 )) -eq 0 ]; then
	st_fail "exec-client" "after exec the fd is not upgraded for sending: $img2"
elif [ $((rb1 - rb0)) -lt 6291456 ]; then
	st_fail "exec-client" "region_bytes grew by $((rb1 - rb0)), expected >= 6291456 (the new image went inline or raw)"
else
	st_pass "exec-client"
fi

# (b) server side: read 1.5 MiB (half of the second doorbell), exec, read the rest
rx0=$(st_stat rx_region_bytes)
st_bg "$T/b.srv" shim "$B/st_exec" server "$T/b.port"
srv=$ST_LAST
shim "$B/st_source" -p "$T/b.port" -n 6M -c 1M -s 1 >"$T/b.cli" 2>&1
crc=$?
st_join "$srv"
out=$(grep '^image=2' "$T/b.srv")
rx1=$(st_stat rx_region_bytes)
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
	st_fail "exec-server-mid-doorbell" "client rc=$crc server rc=$ST_RC: $(cat "$T/b.cli" "$T/b.srv" "$T/b.srv.err")"
elif [ "$(st_field "$out" sha256)" != "$SHA6" ] || [ "$(st_field "$out" bytes)" != 6291456 ]; then
	st_fail "exec-server-mid-doorbell" "new image ended with '$out', expected 6291456 bytes sha256=$SHA6"
elif [ $(( $(st_field "$out" status) & 2 )) -eq 0 ]; then
	st_fail "exec-server-mid-doorbell" "after exec the fd is not framed for receiving: $out"
elif [ $((rx1 - rx0)) -lt 6291456 ]; then
	st_fail "exec-server-mid-doorbell" "rx_region_bytes grew by $((rx1 - rx0)), expected >= 6291456"
else
	st_pass "exec-server-mid-doorbell"
fi

# (c) exec with an empty environment: the shim is still in the new image, the stream correct
st_bg "$T/c.srv" shim "$B/st_sink" -p "$T/c.port"
srv=$ST_LAST
shim "$B/st_exec" client "$T/c.port" clear >"$T/c.cli" 2>&1
crc=$?
st_join "$srv"
out=$(cat "$T/c.srv")
img2=$(grep '^image=2' "$T/c.cli")
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ] || [ -z "$img2" ]; then
	st_fail "exec-empty-env" "client rc=$crc server rc=$ST_RC: $(head -c 2000 "$T/c.cli") $(cat "$T/c.srv.err")"
elif [ "$(st_field "$out" sha256)" != "$SHA6" ]; then
	st_fail "exec-empty-env" "server got $out, expected sha256=$SHA6"
elif [ "$(st_field "$img2" shim)" != 1 ]; then
	st_fail "exec-empty-env" "the new image runs without the shim: $img2"
elif [ $(( $(st_field "$img2" status) & 1 )) -eq 0 ]; then
	st_fail "exec-empty-env" "the new image does not know the fd is upgraded: $img2"
else
	st_pass "exec-empty-env"
fi

# (d) not upgraded (plain server, no shim): stays plain across exec, byte for byte
st_bg "$T/d.srv" plain "$B/st_sink" -p "$T/d.port"
srv=$ST_LAST
shim "$B/st_exec" client "$T/d.port" keep >"$T/d.cli" 2>&1
crc=$?
st_join "$srv"
out=$(cat "$T/d.srv")
img1=$(grep '^image=1' "$T/d.cli")
img2=$(grep '^image=2' "$T/d.cli")
if [ $crc -ne 0 ] || [ $ST_RC -ne 0 ]; then
	st_fail "exec-plain" "client rc=$crc server rc=$ST_RC: $(cat "$T/d.cli" "$T/d.srv.err")"
elif [ "$(st_field "$out" sha256)" != "$SHA6" ] || [ "$(st_field "$out" magic)" != 0 ]; then
	st_fail "exec-plain" "plain server got $out, expected sha256=$SHA6 and no hello magic"
elif [ "$(st_field "$img1" status)" != 0 ] || [ "$(st_field "$img2" status)" != 0 ]; then
	st_fail "exec-plain" "the plain connection was marked upgraded: $img1 / $img2"
else
	st_pass "exec-plain"
fi

# (e) the handed-over state at its limits (127 stashed bytes of a doorbell, 64-bit numbers):
# encoded and restored by the shim's own functions, every field compared
out=$("$B/st_handoff" 2>"$T/e.err")
if [ "$(st_field "$out" handoff)" = ok ] && [ "$(st_field "$out" stash)" = 127 ]; then
	st_pass "handoff-state-limits"
else
	st_fail "handoff-state-limits" "$out $(head -c 1000 "$T/e.err")"
fi

st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
