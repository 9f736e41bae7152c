#!/bin/bash
# The README's operator path, end to end: faasflowd under a systemd-style supervisor
# (Type=notify: it must send READY=1 on $NOTIFY_SOCKET), two "containers" (network
# namespaces joined by a veth pair, sharing the region file and the socket directory)
# moving data through the region, the metrics moving (faasflowctl metrics and GET /metrics
# over HTTP with curl), the fallback switch by reload
# (SIGHUP, as `systemctl reload` sends), and a clean stop on SIGTERM.
# shellcheck disable=SC2016 # single-quoted Python and shell for the children
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"

[ "$(id -u)" -eq 0 ] || op_skip "needs root for network namespaces"
command -v ip >/dev/null 2>&1 || op_skip "ip (iproute2) not installed"
py=/usr/bin/python3
daemon=$top_builddir/daemon/faasflowd
ctl=$top_builddir/daemon/faasflowctl
shim=$top_builddir/preload/.libs/libfaasflow_intercept.so
for f in "$daemon" "$ctl" "$shim"; do [ -e "$f" ] || op_fail "$f not built"; done
op_make_tmp

# Names and addresses of our own, so parallel runs cannot collide.
id=$(( $$ % 200 + 20 ))
nsa=ffops-a-$$ nsb=ffops-b-$$ va=ffa$$ vb=ffb$$
addr_a=10.251.$id.1 addr_b=10.251.$id.2
cleanup_cmds+=("ip netns del $nsa 2>/dev/null" "ip netns del $nsb 2>/dev/null")
{ ip netns add "$nsa" && ip netns add "$nsb"; } || op_fail "ip netns add"
ip link add "$va" type veth peer name "$vb" || op_fail "veth"
{ ip link set "$va" netns "$nsa" && ip link set "$vb" netns "$nsb"; } || op_fail "veth to netns"
ip -n "$nsa" addr add "$addr_a/24" dev "$va" && ip -n "$nsa" link set "$va" up && ip -n "$nsa" link set lo up
ip -n "$nsb" addr add "$addr_b/24" dev "$vb" && ip -n "$nsb" link set "$vb" up && ip -n "$nsb" link set lo up

conf=$tmp/faasflow.conf
cat >"$conf" <<CONF
SHM_FILE_PATH = $tmp/faasflow_shm
SOCKET_DIR = $tmp
SHM_SIZE = 64M
SLOT_SIZE = 1M
LOG_LEVEL = info
CONF
export FAASFLOW_CONFIG=$conf ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0

# The supervisor's notify socket: a datagram socket whose messages go to a file.
"$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    print("LISTENING", file=out)
    while True:
        out.write(s.recv(4096).decode() + "\n")
' "$tmp/notify" "$tmp/notify.log" &
notify_pid=$!
cleanup_cmds+=("kill $notify_pid 2>/dev/null")
wait_for() { local _; for _ in $(seq 500); do eval "$1" && return 0; sleep 0.02; done; return 1; }
wait_for 'grep -q LISTENING "$tmp/notify.log" 2>/dev/null' || op_fail "notify listener did not start"

# (below the kernel's ephemeral range, 32768 up by default: a port picked from inside it was
# once in use by some connection's local end, and faasflowd could not listen: EADDRINUSE)
mport=$(( 20000 + $$ % 12000 ))
NOTIFY_SOCKET=$tmp/notify "$daemon" --config "$conf" --metrics-listen "127.0.0.1:$mport" \
	2>"$tmp/daemon.log" &
dpid=$!
cleanup_cmds+=("kill $dpid 2>/dev/null")
wait_for 'grep -qx "READY=1" "$tmp/notify.log"' ||
	op_fail "faasflowd sent no READY=1: $(cat "$tmp/daemon.log")"
"$ctl" status >"$tmp/status" || op_fail "faasflowctl status after READY=1: $(cat "$tmp/status")"
[ -S "$tmp/faasflow_container_default.sock" ] || op_fail "no socket faasflow_container_default.sock"
op_ok "faasflowd ready under Type=notify supervision"

preload=$shim
if ldd "$shim" | grep -q libasan; then preload="$(${CC:-cc} -print-file-name=libasan.so):$shim"; fi

stat_of() { "$ctl" stats --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# transfer PORT: server in namespace A, client in B, 8 MiB; prints "sent-hash received-hash"
transfer() {
	local port=$1
	rm -f "$tmp/srv.out"
	ip netns exec "$nsa" env LD_PRELOAD="$preload" "$py" -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
open(sys.argv[3] + ".ready", "w").close()
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[3], "w").write("%d %s\n" % (n, h.hexdigest()))
' "$addr_a" "$port" "$tmp/srv.out" 2>>"$tmp/shim.log" &
	local spid=$!
	wait_for '[ -e "$tmp/srv.out.ready" ]' || { kill "$spid"; return 1; }
	rm -f "$tmp/srv.out.ready"
	ip netns exec "$nsb" env LD_PRELOAD="$preload" "$py" -c '
import hashlib, os, socket, sys
data = os.urandom(8 << 20)
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
for i in range(0, len(data), 1 << 20):
    c.sendall(data[i:i + (1 << 20)])
c.close()
print("%d %s" % (len(data), hashlib.sha256(data).hexdigest()))
' "$addr_a" "$port" 2>>"$tmp/shim.log" >"$tmp/cli.out" || { kill "$spid"; return 1; }
	wait "$spid" || return 1
	cmp -s "$tmp/cli.out" "$tmp/srv.out" || { echo "sent $(cat "$tmp/cli.out"), received $(cat "$tmp/srv.out")" >&2; return 1; }
}

scrape() {
	curl -sf --max-time 5 "http://127.0.0.1:$mport/metrics" |
		sed -n 's/^faasflow_region_bytes_total\({[^}]*}\)\? \([0-9]*\)$/\2/p' | head -n 1
}
h0=$(scrape)
[ -n "$h0" ] || op_fail "no faasflow_region_bytes_total at http://127.0.0.1:$mport/metrics"
before=$(stat_of region_bytes)
transfer 15001 || op_fail "transfer between the namespaces failed: $(tail -n 5 "$tmp/shim.log")"
after=$(stat_of region_bytes)
[ $((after - before)) -ge $((4 << 20)) ] ||
	op_fail "region_bytes grew by $((after - before)) for 8 MiB: the data did not go through the region"
op_ok "8 MiB between two namespaces, intact, $((after - before)) bytes through the region"

"$ctl" metrics >"$tmp/metrics" || op_fail "faasflowctl metrics"
m=$(sed -n 's/^faasflow_region_bytes_total\({[^}]*}\)\? \([0-9]*\)$/\2/p' "$tmp/metrics" | head -n 1)
{ [ -n "$m" ] && [ "$m" -ge "$after" ]; } || op_fail "faasflow_region_bytes_total is '$m', expected >= $after"
op_ok "faasflowctl metrics: faasflow_region_bytes_total $m"
h1=$(scrape)
{ [ -n "$h1" ] && [ $((h1 - h0)) -ge $((4 << 20)) ]; } || op_fail "HTTP /metrics region bytes moved from '$h0' to '$h1'"
op_ok "GET /metrics over HTTP: faasflow_region_bytes_total $h0 -> $h1"

# Fallback (guide section 7): ENABLE_SHARED_MEMORY = false and a reload; data flows as TCP.
echo 'ENABLE_SHARED_MEMORY = false' >>"$conf"
kill -HUP "$dpid"
wait_for '"$ctl" status | grep -q "disabled"' || op_fail "reload did not switch shared memory off"
before=$(stat_of region_bytes)
transfer 15002 || op_fail "transfer after the switch-off failed"
after=$(stat_of region_bytes)
[ "$after" -eq "$before" ] || op_fail "region used while switched off ($before -> $after)"
kill -0 "$dpid" || op_fail "faasflowd died on SIGHUP"
op_ok "reload switches to plain TCP; data intact"

grep -q faasflow "$tmp/daemon.log" || op_fail "no log line contains 'faasflow'"
if grep -v faasflow "$tmp/daemon.log" | grep -q .; then
	op_fail "log lines without the word faasflow: $(grep -v faasflow "$tmp/daemon.log" | head -n 3)"
fi
op_ok "every log line contains 'faasflow' (journalctl -f | grep faasflow)"

kill -TERM "$dpid"
wait "$dpid"
rc=$?
[ "$rc" -eq 0 ] || op_fail "faasflowd exited $rc on SIGTERM"
op_ok "clean stop on SIGTERM"
exit 0
