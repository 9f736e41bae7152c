#!/bin/bash
# The Python binding (contrib/python/faasflow.py): an unmodified /usr/bin/python3 under the shim
# sends faasflow.alloc() buffers with socket.sendall() and the peer borrows them in place.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
B=$top_builddir
SHIM=$B/preload/.libs/libfaasflow_intercept.so
PY=/usr/bin/python3
T=$(mktemp -d /tmp/ff-py.XXXXXX)
pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$PY" ] || { echo "SKIP: $PY is missing"; exit 77; }

cat > "$T/ff.conf" <<CONF
SHM_SIZE = 128M
SLOT_SIZE = 1M
SHM_FILE_PATH = $T/region
SOCKET_DIR = $T
CONF
export FAASFLOW_CONFIG=$T/ff.conf FAASFLOW_LOG=$T/shim.log FAASFLOW_PYTHON_DIR=$top_srcdir/contrib/python
preload=$SHIM
if ldd "$SHIM" | grep -q libasan; then
	preload="$(gcc -print-file-name=libasan.so):$SHIM"
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi

"$B/daemon/faasflowd" --config "$T/ff.conf" 2>"$T/daemon.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/faasflow_container_default.sock" ] && break; sleep 0.05; done
"$B/daemon/faasflowctl" status >/dev/null || fail "coordinator did not start"

LD_PRELOAD=$preload "$PY" "$top_srcdir/tests/api/py_pair.py" server "$T/port" >"$T/srv.out" 2>"$T/srv.err" &
sp=$!
pids+=("$sp")
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || fail "python server did not listen: $(cat "$T/srv.err")"
LD_PRELOAD=$preload "$PY" "$top_srcdir/tests/api/py_pair.py" client "$(cat "$T/port")" 4194304 8 \
	>"$T/cli.out" 2>"$T/cli.err" || fail "python client: $(cat "$T/cli.err")"
wait "$sp" || fail "python server: $(cat "$T/srv.err")"
sent=$(grep -o 'sha256=[0-9a-f]*' "$T/cli.out")
recv=$(grep -o 'sha256=[0-9a-f]*' "$T/srv.out")
if [ -z "$sent" ] || [ "$sent" != "$recv" ]; then
	fail "hash mismatch: sent $sent received $recv"
fi
grep -q 'inregion=8' "$T/cli.out" || fail "buffers were not in the region: $(cat "$T/cli.out")"
grep -q 'framed=2' "$T/srv.out" || fail "the connection was not upgraded: $(cat "$T/srv.out")"
lent=$(grep -o 'lent=[0-9]*' "$T/srv.out" | cut -d= -f2)
[ "$lent" -ge 32 ] || fail "expected at least 32 borrowed payloads (4 MiB in 1 MiB slots), got $lent"
echo "ok: $(cat "$T/cli.out") | $(cat "$T/srv.out")"
exit 0
