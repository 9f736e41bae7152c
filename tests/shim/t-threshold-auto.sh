#!/bin/bash
# THRESHOLD = auto (the default): the coordinator measures at start from which write size the
# region beats loopback TCP on this host and publishes it; a shim without its own THRESHOLD
# sends writes of that size through the region and smaller ones inline. A shim's own
# THRESHOLD wins; a restarted coordinator that re-attaches the region keeps the value
# (no second measurement); a configured THRESHOLD, applied by SIGHUP, is published as such
# and shims without their own follow it; back to auto, the measured value returns. Every
# transfer is hash-checked at both ends. Where nothing can be measured (no loopback), 64K.
. "$ST_SRCDIR/lib.sh"

unset FAASFLOW_THRESHOLD           # (the test environment pins 64K for the other tests)
# Writes below the threshold are inline frames here, not runs of a stream (t-counters.sh).
export FAASFLOW_SMALL_WRITE_RUNS=false
st_start_daemon
json() { "$FFCTL" --config "$CONF" stats --json; }
jfield() { json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# xfer NAME CHUNK BYTES [VAR=VALUE...]: a shimmed stream of BYTES in writes of CHUNK; sets
# X_REGION and X_INLINE to what the counters grew by; returns 1 (after st_fail) when the bytes
# did not arrive whole
xfer() {
	local name=$1 chunk=$2 n=$3 r0 i0 srv cli
	shift 3
	r0=$(st_stat region_bytes)
	i0=$(st_stat inline_bytes)
	rm -f "$T/$name.port"
	st_bg "$T/$name.srv" env LD_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$CONF" \
		FAASFLOW_LOG="$T/shim.log" "$@" timeout 30 "$B/st_sink" -p "$T/$name.port"
	srv=$ST_LAST
	st_wait_file "$T/$name.port" || { st_fail "$name" "the sink did not listen"; return 1; }
	env LD_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$CONF" FAASFLOW_LOG="$T/shim.log" "$@" \
		timeout 30 "$B/st_source" -p "$T/$name.port" -n "$n" -c "$chunk" >"$T/$name.cli" 2>&1
	st_join "$srv"
	cli=$(cat "$T/$name.cli")
	X_REGION=$(($(st_stat region_bytes) - r0))
	X_INLINE=$(($(st_stat inline_bytes) - i0))
	if [ "$(st_field "$(cat "$T/$name.srv")" bytes)" != "$n" ] ||
	   [ "$(st_field "$(cat "$T/$name.srv")" sha256)" != "$(st_field "$cli" sha256)" ]; then
		st_fail "$name" "the bytes did not arrive whole: sink '$(cat "$T/$name.srv")', source '$cli'"
		return 1
	fi
}

thr=$(jfield threshold)
src=$(jfield threshold_source)
line=$("$FFCTL" --config "$CONF" status | grep '^  threshold ')
case $thr in
16384 | 32768 | 65536 | 131072 | 262144) ok=1 ;;
*) ok= ;;
esac
if [ "$src" != measured ] || [ -z "$ok" ]; then
	st_fail "published" "threshold $thr ($src): expected a power of two from 16K to 256K, measured"
elif ! echo "$line" | grep -Eq "auto, measured in [0-9]+ ms; region/TCP 8K [0-9.]+x, 16K [0-9.]+x, 32K [0-9.]+x, 64K [0-9.]+x, 128K [0-9.]+x, 256K [0-9.]+x\)$"; then
	st_fail "published" "faasflowctl status does not say how it was measured: '$line'"
else
	st_pass "published: $line"
fi
[ -n "$ok" ] || thr=65536

n=$((thr * 8))
if xfer at "$thr" "$n"; then
	if [ "$X_REGION" -ne "$n" ]; then
		st_fail "at-threshold" "writes of $thr bytes: region_bytes grew by $X_REGION, expected $n"
	else
		st_pass "at-threshold: $n bytes in writes of $thr, all through the region, hashes equal"
	fi
fi
half=$((thr / 2))
if xfer below "$half" "$n"; then
	if [ "$X_REGION" -ne 0 ] || [ "$X_INLINE" -ne "$n" ]; then
		st_fail "below" "writes of $half bytes: region $X_REGION, inline $X_INLINE bytes, expected 0 and $n"
	else
		st_pass "below: writes of $half bytes inline ($X_INLINE bytes), hashes equal"
	fi
fi
if xfer own "$half" "$n" FAASFLOW_THRESHOLD="$half"; then
	if [ "$X_REGION" -ne "$n" ]; then
		st_fail "own-wins" "FAASFLOW_THRESHOLD=$half, writes of $half: region_bytes grew by $X_REGION, expected $n"
	else
		st_pass "own-wins: FAASFLOW_THRESHOLD=$half sends writes of $half through the region"
	fi
fi

# a new coordinator re-attaches the region: the value stays, nothing measured again
{ kill -9 "$ST_DAEMON_PID" && wait "$ST_DAEMON_PID"; } 2>/dev/null
mv "$T/daemon.log" "$T/daemon.1.log"
st_start_daemon
if [ "$(jfield threshold)" != "$thr" ] || [ "$(jfield threshold_source)" != measured ]; then
	st_fail "restart" "after a restart: threshold $(jfield threshold) ($(jfield threshold_source)), expected $thr (measured)"
elif ! grep -q "region/TCP" "$T/daemon.1.log" || grep -q "region/TCP" "$T/daemon.log"; then
	st_fail "restart" "expected one measurement in the first run's log and none in the second's"
else
	st_pass "restart: $thr kept from the first run's measurement"
fi

# SIGHUP with THRESHOLD = 48K: published as configured; a shim with a configuration of its
# own that names no THRESHOLD follows it
cp "$CONF" "$T/shim.conf"
echo "THRESHOLD = 48K" >>"$CONF"
kill -HUP "$ST_DAEMON_PID"
for _ in $(seq 100); do
	[ "$(jfield threshold)" = 49152 ] && break
	sleep 0.05
done
if [ "$(jfield threshold)" != 49152 ] || [ "$(jfield threshold_source)" != configured ]; then
	st_fail "configured" "after SIGHUP with THRESHOLD = 48K: $(jfield threshold) ($(jfield threshold_source))"
else
	xfer cfg48 49152 $((49152 * 8)) FAASFLOW_CONFIG="$T/shim.conf" && r48=$X_REGION
	xfer cfg40 40960 $((40960 * 8)) FAASFLOW_CONFIG="$T/shim.conf" && r40=$X_REGION
	if [ "${r48:-x}" != $((49152 * 8)) ] || [ "${r40:-x}" != 0 ]; then
		st_fail "configured" "writes of 48K: region grew by ${r48:-?}, of 40K: by ${r40:-?}; expected all and none"
	else
		st_pass "configured: 48K published by SIGHUP, followed by shims without their own"
	fi
fi

grep -v '^THRESHOLD' "$T/shim.conf" >"$CONF"
kill -HUP "$ST_DAEMON_PID"
for _ in $(seq 100); do
	[ "$(jfield threshold_source)" = measured ] && break
	sleep 0.05
done
if [ "$(jfield threshold)" != "$thr" ] || [ "$(jfield threshold_source)" != measured ]; then
	st_fail "back-to-auto" "after SIGHUP without THRESHOLD: $(jfield threshold) ($(jfield threshold_source)), expected $thr (measured)"
else
	st_pass "back-to-auto: $thr (measured) published again"
fi
# where nothing can be measured (a network namespace whose loopback is down): the default,
# and the log says why
if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
	mkdir -p "$T/ns"
	tl_config "$T/ns.conf" "$T/ns/region" "$T/ns"
	unshare -n "$FFD" --config "$T/ns.conf" >"$T/ns.log" 2>&1 &
	nsd=$!
	ST_PIDS+=("$nsd")
	if ! tl_wait_ready "$FFCTL" "$T/ns.conf" "$nsd"; then
		st_fail "unmeasurable" "the coordinator without loopback did not start: $(tail -n 3 "$T/ns.log")"
	else
		nline=$("$FFCTL" --config "$T/ns.conf" status | grep '^  threshold ')
		if [ "$nline" != "  threshold            64 KiB (default: the measurement could not run)" ] ||
		   ! grep -q "THRESHOLD = auto: the measurement could not run (Network is unreachable); using 65536 bytes" "$T/ns.log"; then
			st_fail "unmeasurable" "status '$nline', log: $(grep THRESHOLD "$T/ns.log")"
		else
			st_pass "unmeasurable: loopback down, 64 KiB published and the reason logged"
		fi
	fi
	kill "$nsd" 2>/dev/null
else
	echo "(unmeasurable: not root or no unshare, not run)"
fi
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
