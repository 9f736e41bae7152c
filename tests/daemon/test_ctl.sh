#!/bin/sh
# faasflowctl against the real faasflowd in a temp dir: status (1 GiB region), stats --json,
# metrics, enable/disable, endpoints, leases, the "not running" message, the lease benchmark.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dt_tempdir ffctl
dt_config 1G info

# not running: non-zero exit and a message that says how to start it
out=$($CTL status 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "status without a daemon exited $rc, expected 2"
case $out in
*"coordinator not running: cannot connect to $SOCK"*"faasflowd --config $T/f.conf"*) ok "not running message";;
*) fail "not running message: $out";;
esac

# flags
"$FFD" --version | grep -Eq '^faasflowd [0-9]' || fail "faasflowd --version"
"$FFD" --help | grep -q -- '--set KEY=VALUE' || fail "faasflowd --help"
out=$("$FFD" --config "$T/f.conf" --set SHM_SIZE=1X 2>&1) && fail "bad --set accepted"
echo "$out" | grep -q "SHM_SIZE" || fail "bad --set: message does not name the key: $out"
[ -e "$SOCK" ] && fail "socket created by a refused start"

dt_start --set TENANTS=blue
dt_wait_up || { cat "$T/d.log"; fail "daemon did not come up"; exit 1; }

out=$($CTL status) || fail "status exited non-zero"
echo "$out"
echo "$out" | grep -q "region .*$T/shm/region (1.0 GiB)" || fail "status: region path and 1.0 GiB"
echo "$out" | grep -q "shared memory *enabled" || fail "status: enabled"
echo "$out" | grep -Eq "slots +1023 x 1.0 MiB" || fail "status: slot count and size"
[ "$(stat -c %s "$T/shm/region")" -eq 1073741824 ] || fail "region file is not 1 GiB"

json=$($CTL stats --json) || fail "stats --json exited non-zero"
if echo "$json" | $PY -c '
import json, sys
d = json.load(sys.stdin)
for k in ("tenant", "region_path", "region_size", "slot_size", "slot_count", "slots_free",
          "slots_leased", "slots_filled", "slots_reading", "slots_in_flight", "slots_hwm",
          "clients", "endpoints", "enabled", "region_bytes", "inline_bytes", "region_payloads",
          "upgrade_attempts", "upgrade_success", "fallbacks", "reclaimed", "bad_messages"):
    assert k in d, k
assert d["region_size"] == 1 << 30, d["region_size"]
assert d["slots_free"] == d["slot_count"] == 1023, d
assert d["enabled"] is True
assert "no_slot" in d["fallbacks"]
'; then ok "stats --json"; else fail "stats --json: $json"; fi

m=$($CTL metrics) || fail "metrics exited non-zero"
for want in '# TYPE faasflow_region_bytes_total counter' 'faasflow_inline_bytes_total{' \
	'faasflow_slots{tenant="default",state="free"} 1023' \
	'faasflow_fallbacks_total{tenant="default",cause="no_slot"} 0' \
	'faasflow_region_memory_bytes{' 'faasflow_transfer_latency_seconds_count{' \
	'faasflow_enabled{tenant="default"} 1'; do
	echo "$m" | grep -qF "$want" || fail "metrics lacks: $want"
done
# every sample line is "name{labels} number"
echo "$m" | grep -v '^#' | grep -Evq '^faasflow_[a-z_]+(\{[^}]*\})? [0-9.e+-]+$' &&
	fail "metrics: malformed sample line"

$CTL disable | grep -q "shared memory disabled" || fail "disable"
$CTL stats --json | $PY -c 'import json,sys; assert json.load(sys.stdin)["enabled"] is False' ||
	fail "disable not visible in stats"
$CTL enable | grep -q "shared memory enabled" || fail "enable"

$CTL endpoints | grep -q "^CLIENT .*PORT" || fail "endpoints table header"
$CTL leases | grep -q "0 slot(s) out of the pool" || fail "leases: empty"

# the lease benchmark (a smoke run) also leaves nothing behind
b=$("$BENCH" -n 2000 "$SOCK") || fail "ff-lease-bench failed"
echo "$b"
echo "$b" | grep -Eq "round trips/s" || fail "bench output"
$CTL stats --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["slots_free"] == 1023 and d["lease_requests"] >= 2000, d' || fail "after bench"

# a second tenant: its own socket and region file
$CTL --tenant blue stats --json | $PY -c '
import json, sys
d = json.load(sys.stdin)
assert d["tenant"] == "blue" and d["region_path"].endswith("/shm/region.blue"), d
assert d["socket_path"].endswith("/faasflow_container_blue.sock"), d' || fail "tenant blue"
[ -S "$T/sock/faasflow_container_blue.sock" ] || fail "no socket for tenant blue"

$CTL --tenant other status >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown tenant should not connect"
$CTL bogus >/dev/null 2>&1 && fail "unknown command accepted"

dt_stop || fail "daemon exit status $? after SIGTERM"
[ -e "$SOCK" ] && fail "socket left after SIGTERM"

[ "$fails" -eq 0 ] || { echo "--- daemon log"; cat "$T/d.log"; exit 1; }
echo "all faasflowctl checks passed"
