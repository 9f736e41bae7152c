#!/bin/bash
# Nobody impersonates the coordinator. SOCKET_DIR and the region's directory are shared like
# /tmp (world-writable, sticky); while the real coordinator is stopped, a process of another
# uid runs its own faasflowd on the same socket path and region path.
#  - root's processes under the shim refuse it (it runs as neither root, their user, nor
#    OWNER): 8 MiB arrive intact over plain TCP, nothing goes through the impostor's region,
#    and the shim says why at WARN;
#  - the real coordinator starts anyway: it takes the socket path back from the impostor and
#    does not use the region file the impostor made (whoever made it may hold it open); then
#    8 MiB go through its own region, intact.
# Needs root (another uid through setpriv).
. "$ST_SRCDIR/lib.sh"

PY=/usr/bin/python3
st_other_user
other_uid=$ST_OTHER_UID
mkdir -m 700 "$T/other"
chown "$other_uid" "$T/other"
cat >"$CONF" <<CONF
SHM_FILE_PATH = $T/shared/region
SOCKET_DIR = $T/shared
SHM_SIZE = 64M
LOG_LEVEL = info
CONF
cp "$CONF" "$T/other/faasflow.conf"
chown "$other_uid" "$T/other/faasflow.conf"
SOCK=$T/shared/faasflow_container_default.sock
as_other() {
	setpriv --reuid "$other_uid" --regid "$other_uid" --clear-groups "$@"
}

# xfer TAG: a shim server receives 8 MiB from a shim client; "TAG sent=SHA recv=SHA" on stdout
xfer() {
	local port
	rm -f "$T/$1.port"
	shim "$PY" -c '
import hashlib, socket, sys
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
open(sys.argv[1], "w").write(str(l.getsockname()[1]))
s, _ = l.accept(); h = hashlib.sha256(); n = 0
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    h.update(d); n += len(d)
print(n, h.hexdigest())' "$T/$1.port" >"$T/$1.srv" 2>"$T/$1.srv.err" &
	local spid=$!
	st_wait_file "$T/$1.port" || return 1
	port=$(cat "$T/$1.port")
	shim "$PY" -c '
import hashlib, socket, sys
data = bytes((i * 13 + 5) & 0xFF for i in range(8 << 20))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())' "$port" >"$T/$1.cli" 2>"$T/$1.cli.err"
	wait "$spid"
	[ -s "$T/$1.cli" ] && [ "$(cat "$T/$1.cli")" = "$(cat "$T/$1.srv")" ]
}

# The impostor: another uid's coordinator on the shared paths.
setpriv --reuid "$other_uid" --regid "$other_uid" --clear-groups env -u LD_PRELOAD \
	"$FFD" --config "$T/other/faasflow.conf" >"$T/impostor.log" 2>&1 &
IMP=$!
ST_PIDS+=("$IMP")
for _ in $(seq 1 500); do
	[ -S "$SOCK" ] && as_other "$FFCTL" --config "$T/other/faasflow.conf" status >/dev/null 2>&1 && break
	sleep 0.02
done
imp_bytes() {
	as_other "$FFCTL" --config "$T/other/faasflow.conf" stats --json |
		grep -o '"region_bytes": [0-9]*' | grep -o '[0-9]*$'
}
name="a coordinator of another user is refused: 8 MiB intact over TCP, its region unused"
if ! kill -0 "$IMP" 2>/dev/null || [ "$(stat -c %u "$SOCK" 2>/dev/null)" != "$other_uid" ]; then
	st_fail "$name" "the impostor did not start: $(tail -n 3 "$T/impostor.log" | tr '\n' ' ')"
elif ! xfer impostor; then
	st_fail "$name" "transfer: sent $(cat "$T/impostor.cli") received $(cat "$T/impostor.srv")"
elif [ "$(imp_bytes)" != 0 ]; then
	st_fail "$name" "$(imp_bytes) bytes went through the impostor's region"
elif ! grep -q "runs as uid $other_uid .*not trusted" "$T/shim.log"; then
	st_fail "$name" "no WARN line naming the untrusted coordinator in the shim log"
else
	st_pass "$name"
fi

name="the real coordinator takes the socket path and the region back"
old_ino=$(stat -c %i "$T/shared/region" 2>/dev/null)
"$FFD" --config "$CONF" >"$T/daemon.log" 2>&1 &
ST_DAEMON_PID=$!
up=0
# (faasflowctl would answer from the impostor too: ours must be alive and own the socket)
for _ in $(seq 1 500); do
	kill -0 "$ST_DAEMON_PID" 2>/dev/null || break
	if [ "$(stat -c %u "$SOCK" 2>/dev/null)" = 0 ] &&
		"$FFCTL" --config "$CONF" status >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.02
done
if [ "$up" != 1 ]; then
	st_fail "$name" "faasflowd did not start or does not own $SOCK: $(tail -n 3 "$T/daemon.log" | tr '\n' ' ')"
elif [ "$(stat -c %u "$T/shared/region")" != 0 ]; then
	st_fail "$name" "region owner $(stat -c %u "$T/shared/region") (want 0)"
elif [ "$(stat -c %i "$T/shared/region")" = "$old_ino" ]; then
	st_fail "$name" "the impostor's region file (inode $old_ino) is still in use"
elif ! grep -q "held by pid $IMP of uid $other_uid.*taking it back" "$T/daemon.log" ||
	! grep -q "belongs to uid $other_uid" "$T/daemon.log"; then
	st_fail "$name" "the log does not say what was taken back: $(grep WARN "$T/daemon.log" | tr '\n' ' ')"
else
	st_pass "$name"
fi

name="after it: 8 MiB through the real coordinator's region, intact"
before=$(st_stat region_bytes)
if [ "$up" != 1 ]; then
	st_fail "$name" "no coordinator"
elif ! xfer real; then
	st_fail "$name" "transfer: sent $(cat "$T/real.cli") received $(cat "$T/real.srv")"
elif [ $(($(st_stat region_bytes) - before)) -lt $((7 << 20)) ]; then
	st_fail "$name" "only $(($(st_stat region_bytes) - before)) bytes through the region"
else
	st_pass "$name"
fi
st_done
