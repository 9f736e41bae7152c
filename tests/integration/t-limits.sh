#!/bin/bash
# The region cannot take an application down through its resource limits:
# - a process whose address space is limited (`ulimit -v` a little above the region) does not
#   map the region: its connection is plain TCP, its own allocations still succeed, a log line
#   names RLIMIT_AS;
# - a process in a 128 MiB memory cgroup moves 1 GiB through a 256 MiB region on tmpfs
#   without being OOM-killed: the coordinator reserved the region, so its pages are charged
#   to the coordinator, not to whoever touches a slot first (root; cgroup v1 or v2).
# Every transfer is hashed on both ends.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
SHMDIR=$(mktemp -d /dev/shm/fflimits.XXXXXX)
it_config
sed -i "s|^SHM_FILE_PATH = .*|SHM_FILE_PATH = $SHMDIR/region|" "$CONF"
it_start_daemon
CASE_PY=$IT_SRC/pair_case.py
CG=

# shellcheck disable=SC2317  # (called by the trap)
cleanup_limits() {
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null
	rm -rf "$SHMDIR"
}
trap 'cleanup_limits; it_cleanup' EXIT

# --- RLIMIT_AS ----------------------------------------------------------------------------------
name="ulimit -v 384 MiB, 256 MiB region: plain TCP, the application's 160 MiB allocation succeeds"
if [[ "$IT_PRELOAD" == *libasan* ]]; then
	echo "SKIP: $name (a sanitizer runtime cannot start under ulimit -v)"
else
	rm -f "$T/as.port"
	it_bg as shim "$PY" "$CASE_PY" server 127.0.0.1 0 "$T/as.port"
	it_wait_file "$T/as.port" 20
	out=$(bash -c 'ulimit -v 393216; exec "$@"' sh "${IT_SHIM_ENV[@]}" timeout 60 "$PY" -c '
import socket, sys, hashlib
data = bytes(range(256)) * 16384
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(data)
c.shutdown(socket.SHUT_WR)
ans = c.makefile("rb").readline()
want = b"%d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode())
assert ans == want, (ans, want)
big = bytearray(160 << 20)
print("ok", len(big))' "$(cat "$T/as.port")" 2>&1)
	if [ "$out" != "ok 167772160" ]; then
		it_fail "$name" "$out"
	elif ! grep -q "RLIMIT_AS" "$T/shim.log"; then
		it_fail "$name" "no log line names RLIMIT_AS: $(tail -n 3 "$T/shim.log")"
	else
		it_pass "$name"
	fi
fi

# --- a memory cgroup ----------------------------------------------------------------------------
name="a process in a 128 MiB memory cgroup moves 1 GiB through the region, not OOM-killed"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: $name (needs root)"
elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	CG=/sys/fs/cgroup/fflimits$$
	mkdir "$CG" && echo $((128 << 20)) >"$CG/memory.max" && echo 0 >"$CG/memory.swap.max" 2>/dev/null
	EVENTS=$CG/memory.events
elif [ -d /sys/fs/cgroup/memory ]; then
	CG=/sys/fs/cgroup/memory/fflimits$$
	mkdir "$CG" && echo $((128 << 20)) >"$CG/memory.limit_in_bytes"
	echo 0 >"$CG/memory.swappiness" 2>/dev/null
	EVENTS=$CG/memory.oom_control
else
	echo "SKIP: $name (no memory cgroup here)"
fi
if [ -n "$CG" ] && [ -d "$CG" ]; then
	if it_xfer_server cg shim --timeout 200; then
		before=$(it_stat region_bytes)
		bash -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$CG" "${IT_SHIM_ENV[@]}" \
			timeout 200 "$XFER" client --host 127.0.0.1 --port "$IT_PORT" --sizes '1M*1024' \
			>"$T/cgc.out" 2>"$T/cgc.err"
		crc=$?
		it_join "$IT_LAST" 30
		kills=$(sed -n 's/^oom_kill \([0-9]*\)/\1/p' "$EVENTS")
		if [ "$crc" != 0 ]; then
			it_fail "$name" "client exited $crc (137: killed), oom_kill=${kills:-?}: $(tail -n 3 "$T/cgc.err")"
		elif [ "${kills:-0}" != 0 ]; then
			it_fail "$name" "oom_kill=$kills in the cgroup"
		elif it_same "$name" "$(it_line "$T/cgc.out" SENT)" "$(it_line "$T/cg.out" RECV)" &&
			it_grew "$name" "$before" $((1 << 30)); then
			it_pass "$name"
		fi
	fi
fi
it_done
