#!/bin/bash
# Tenant isolation (root only): TENANTS = a,b with TENANT_OWNERS = a=nobody,b=daemon.
# Tenant b's user cannot open tenant a's region file (EACCES) nor use tenant a's socket
# (the socket's mode stops it; with SOCKET_MODE = 0666 the SO_PEERCRED check refuses it),
# and cannot learn tenant a's endpoints through its own socket. Tenant a's user can do all of
# it on its own tenant, so every refusal above is the ownership, not a broken path.
# ALLOW_GIDS admits members of a group through their supplementary groups too.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (setpriv to two users)"; exit 77; }
command -v setpriv >/dev/null 2>&1 || { echo "SKIP: setpriv not installed"; exit 77; }
# Two existing system users (no account is created, so parallel runs cannot race).
UA=nobody UB=daemon
if ! getent passwd "$UA" >/dev/null || ! getent passwd "$UB" >/dev/null; then
	echo "SKIP: users $UA and $UB do not exist"; exit 77
fi
uid_a=$(id -u "$UA") uid_b=$(id -u "$UB")

umask 022
dt_tempdir fftenants
chmod 0755 "$T"     # reachable by both users: only the files' own modes may stop them
as() { local u=$1; shift; setpriv --reuid "$u" --regid "$(id -g "$u")" --clear-groups "$@"; }

# Binaries under test must be reachable by the two users as well.
cp "$FFCTL" "$PROBE" "$T/" && chmod 0755 "$T/$(basename "$FFCTL")" "$T/$(basename "$PROBE")"
CTLB=$T/$(basename "$FFCTL") PROBEB=$T/$(basename "$PROBE")
export ASAN_OPTIONS=detect_leaks=0

start() { # start EXTRA_CONF_LINE
	dt_config 8M info "TENANT = a" "TENANTS = a, b" "TENANT_OWNERS = a=$UA, b=$UB" "$1"
	chmod 0644 "$T/f.conf"
	dt_start
	dt_wait_up --tenant b || { cat "$T/d.log"; fail "daemon did not come up"; exit 1; }
}
stop() { dt_stop || fail "exit $?"; }

start ""
SA=$T/sock/faasflow_container_a.sock SB=$T/sock/faasflow_container_b.sock
RA=$T/shm/region.a RB=$T/shm/region.b

# Owners and modes (0600 by default).
[ "$(stat -c '%u %a' "$RA")" = "$uid_a 600" ] || fail "region a: $(stat -c '%U %a' "$RA")"
[ "$(stat -c '%u %a' "$RB")" = "$uid_b 600" ] || fail "region b: $(stat -c '%U %a' "$RB")"
[ "$(stat -c '%u %a' "$SA")" = "$uid_a 600" ] || fail "socket a: $(stat -c '%U %a' "$SA")"
[ "$(stat -c '%u %a' "$SB")" = "$uid_b 600" ] || fail "socket b: $(stat -c '%U %a' "$SB")"
ok "regions and sockets owned by their tenants, mode 0600"

# The region file: b gets EACCES on a's, a opens its own (read-write, as the shim does).
open_rw='import sys
try:
    open(sys.argv[1], "r+b").read(8)
except PermissionError:
    sys.exit(13)'
as "$UB" "$PY" -c "$open_rw" "$RA"; rc=$?
[ "$rc" -eq 13 ] || fail "user $UB opening tenant a's region: exit $rc, expected EACCES (13)"
as "$UA" "$PY" -c "$open_rw" "$RA" || fail "user $UA cannot open its own region"
as "$UB" "$PY" -c "$open_rw" "$RB" || fail "user $UB cannot open its own region"
ok "region a: EACCES for $UB, open for $UA"

# The socket: b cannot connect to a's; each registers on its own.
out=$(as "$UB" "$PROBEB" "$SA" register); rc=$?
{ [ "$rc" -eq 3 ] && echo "$out" | grep -q "Permission denied"; } ||
	fail "user $UB on tenant a's socket: exit $rc ($out), expected a refused connect"
as "$UA" "$PROBEB" "$SA" register >/dev/null || fail "user $UA cannot register on its socket"
as "$UB" "$PROBEB" "$SB" register >/dev/null || fail "user $UB cannot register on its socket"
as "$UB" "$CTLB" --config "$T/f.conf" --tenant a status >"$T/st.b" 2>&1 &&
	fail "faasflowctl as $UB reached tenant a"
# the refusal says what is wrong and how to fix it (the guide's §5.1/§5.2)
grep -q "no access to the coordinator's socket .*SOCKET_MODE" "$T/st.b" ||
	fail "faasflowctl as $UB: no fix in the message: $(cat "$T/st.b")"
as "$UA" "$CTLB" --config "$T/f.conf" --tenant a status >"$T/st.a" 2>&1 ||
	fail "faasflowctl as $UA on tenant a: $(cat "$T/st.a")"
ok "socket a: refused for $UB, open for $UA"

# Endpoints are per tenant: a's listener is found on a's socket, never on b's.
# (setpriv itself in the background, not the function: the tracked pid is the probe)
setpriv --reuid "$UA" --regid "$(id -g "$UA")" --clear-groups "$PROBEB" "$SA" hold secret-a >"$T/hold.a" &
dt_track "$!"
setpriv --reuid "$UB" --regid "$(id -g "$UB")" --clear-groups "$PROBEB" "$SB" hold secret-b >"$T/hold.b" &
dt_track "$!"
i=0
until grep -q ready "$T/hold.a" && grep -q ready "$T/hold.b"; do
	i=$((i + 1)); [ $i -gt 200 ] && { fail "hold did not come up"; break; }; sleep 0.05
done
as "$UA" "$PROBEB" "$SA" lookup secret-a >/dev/null || fail "tenant a cannot find its own endpoint"
as "$UB" "$PROBEB" "$SB" lookup secret-b >/dev/null || fail "tenant b cannot find its own endpoint"
out=$(as "$UB" "$PROBEB" "$SB" lookup secret-a); rc=$?
{ [ "$rc" -eq 1 ] && [ "$out" = "not found" ]; } || fail "tenant b looked up tenant a's endpoint: $out"
out=$(as "$UA" "$PROBEB" "$SA" lookup secret-b); rc=$?
[ "$rc" -eq 1 ] || fail "tenant a looked up tenant b's endpoint: $out"
dt_kill_tracked
ok "LOOKUP answers only the caller's tenant"
stop

# A world-connectable socket: the SO_PEERCRED check alone keeps b out of a.
start "SOCKET_MODE = 0666"
[ "$(stat -c %a "$SA")" = 666 ] || fail "SOCKET_MODE 0666 not applied"
out=$(as "$UB" "$PROBEB" "$SA" register); rc=$?
[ "$rc" -eq 3 ] || fail "user $UB registered on tenant a's 0666 socket: $out"
as "$UA" "$PROBEB" "$SA" register >/dev/null || fail "user $UA refused on its 0666 socket"
grep -q "refused client uid=$uid_b .*tenant a" "$T/d.log" || fail "refusal not logged"
"$FFCTL" --config "$T/f.conf" --tenant a stats --json |
	"$PY" -c 'import json,sys; assert json.load(sys.stdin)["refused_clients"] >= 1' ||
	fail "refused_clients not counted"
ok "socket a at 0666: $UB refused by uid and logged, $UA accepted"
stop

# ALLOW_GIDS counts supplementary groups (SO_PEERGROUPS): b, a member of gid G only through
# a supplementary group, is admitted to a; without the group it is refused.
G=$((40000 + $$ % 20000))
start "ALLOW_GIDS = $G
SOCKET_MODE = 0666"
out=$(as "$UB" "$PROBEB" "$SA" register); rc=$?
[ "$rc" -eq 3 ] || fail "user $UB without group $G registered on tenant a: $out"
out=$(setpriv --reuid "$UB" --regid "$(id -g "$UB")" --groups "$G" "$PROBEB" "$SA" register); rc=$?
[ "$rc" -eq 0 ] || fail "user $UB with supplementary group $G refused (exit $rc: $out)"
ok "ALLOW_GIDS admits a member through a supplementary group, not a non-member"
stop

[ "$fails" -eq 0 ] || { echo "--- daemon log"; cat "$T/d.log"; exit 1; }
echo "all tenant isolation checks passed"
