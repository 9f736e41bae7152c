#!/bin/bash
# The zero-copy API end to end: faasflow_alloc() buffers sent without a copy and borrowed in
# place by the reader, mixed with ordinary buffers on one connection, sent to a peer without
# the shim, a borrower that dies holding a slot, and misuse. Every byte is hashed.
set -u
: "${top_builddir:?}"
B=$top_builddir
X=$B/tests/api/api_xfer
SHIM=$B/preload/.libs/libfaasflow_intercept.so
T=$(mktemp -d /tmp/ff-api.XXXXXX)
pids=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$T/ff.conf" <<CONF
SHM_SIZE = 128M
SLOT_SIZE = 1M
SHM_FILE_PATH = $T/region
SOCKET_DIR = $T
QUOTA = 64
CONF
export FAASFLOW_CONFIG=$T/ff.conf FAASFLOW_LOG=$T/shim.log
[ -f "$SHIM" ] || fail "no shim at $SHIM"

"$B/daemon/faasflowd" --config "$T/ff.conf" 2>"$T/daemon.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/faasflow_container_default.sock" ] && break; sleep 0.05; done
"$B/daemon/faasflowctl" status >/dev/null || fail "coordinator did not start"

stat_of() {
	"$B/daemon/faasflowctl" stats --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

wait_port() {
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail "server did not listen"
}

# run_case NAME SERVER_MODE CLIENT_MODE SIZE COUNT
run_case() {
	local name=$1 smode=$2 cmode=$3 size=$4 count=$5
	rm -f "$T/port"
	"$X" server "$T/port" "$smode" >"$T/srv.out" 2>"$T/srv.err" &
	local sp=$!
	pids+=("$sp")
	wait_port "$T/port"
	"$X" client "$(cat "$T/port")" "$cmode" "$size" "$count" >"$T/cli.out" 2>"$T/cli.err" ||
		fail "$name: client: $(cat "$T/cli.err")"
	wait "$sp" || fail "$name: server: $(cat "$T/srv.err")"
	local sent recv
	sent=$(grep -o 'sha256=[0-9a-f]*' "$T/cli.out")
	recv=$(grep -o 'sha256=[0-9a-f]*' "$T/srv.out")
	if [ -z "$sent" ] || [ "$sent" != "$recv" ]; then
		fail "$name: hash mismatch: sent $sent received $recv"
	fi
	echo "ok: $name: $(cat "$T/cli.out") | $(cat "$T/srv.out")"
}

before=$(stat_of region_bytes)
run_case "api 1 MiB -> borrow" borrow api 1048576 32
grep -q 'inregion=32' "$T/cli.out" || fail "api buffers were not allocated in the region"
grep -q 'borrowed=32' "$T/srv.out" || fail "the reader did not borrow 32 payloads: $(cat "$T/srv.out")"
after=$(stat_of region_bytes)
[ $((after - before)) -ge $((32 * 1048576)) ] || fail "region_bytes grew by $((after - before)) only"

run_case "api 16 MiB -> borrow" borrow api 16777216 4
grep -q 'inregion=4' "$T/cli.out" || fail "16 MiB api buffers were not in the region"

run_case "mixed api and malloc buffers -> borrow" borrow mixed 3000000 10
run_case "api -> plain read()" read api 2000000 8
run_case "plain buffers -> borrow" borrow plain 700000 6
run_case "small api buffers -> borrow" borrow api 100 50

# A peer without the shim: socat writes what it receives to a file.
rm -f "$T/plain.bin"
port=$((20000 + RANDOM % 12000))    # (below the ephemeral range: no connection's local port)
socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "OPEN:$T/plain.bin,creat,trunc" &
sp=$!
pids+=("$sp")
for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.05; done
"$X" client "$port" api 1048576 8 >"$T/cli.out" 2>"$T/cli.err" || fail "client to plain peer: $(cat "$T/cli.err")"
wait "$sp"
sent=$(grep -o 'sha256=[0-9a-f]*' "$T/cli.out" | cut -d= -f2)
got=$(sha256sum "$T/plain.bin" | cut -d' ' -f1)
[ "$sent" = "$got" ] || fail "plain peer received other bytes: $got, sent $sent"
echo "ok: api buffers to a peer without the shim arrive as plain bytes"

# A borrower that dies holding a slot: its slots come back.
rm -f "$T/port"
"$X" server "$T/port" borrow --die-holding >"$T/srv.out" 2>"$T/srv.err" &
sp=$!
pids+=("$sp")
wait_port "$T/port"
"$X" client "$(cat "$T/port")" api 1048576 16 >/dev/null 2>&1
wait "$sp"
[ $? -eq 3 ] || fail "the borrower did not die as planned"
total=$(stat_of slot_count)
for _ in $(seq 40); do
	[ "$(stat_of slots_free)" = "$total" ] && break
	sleep 0.1
done
[ "$(stat_of slots_free)" = "$total" ] || fail "slots not back after the borrower died: $(stat_of slots_free)/$total free"
echo "ok: a borrower that dies gives its slots back"

# An upgraded connection passed with SCM_RIGHTS to an unrelated process, in the middle of a
# region payload (1.5 MiB read of 1 MiB payloads): the receiver carries on reading it.
S=$B/tests/api/scm_pass
rm -f "$T/port"
timeout 60 "$S" worker "$T/pass.sock" >"$T/worker.out" 2>"$T/worker.err" &
wp=$!
pids+=("$wp")
timeout 60 "$S" acceptor "$T/port" "$T/pass.sock" 1572864 >"$T/acc.out" 2>"$T/acc.err" &
ap=$!
pids+=("$ap")
wait_port "$T/port"
timeout 60 "$X" client "$(cat "$T/port")" plain 1048576 8 >"$T/cli.out" 2>"$T/cli.err" || fail "scm client: $(cat "$T/cli.err")"
wait "$ap" || fail "acceptor: $(cat "$T/acc.err")"
wait "$wp" || fail "worker: $(cat "$T/worker.err")"
grep -Eq 'status=(2|3)' "$T/acc.out" || fail "the passed connection was not upgraded: $(cat "$T/acc.out")"
sent=$(grep -o 'sha256=[0-9a-f]*' "$T/cli.out")
recv=$(grep -o 'sha256=[0-9a-f]*' "$T/worker.out")
if [ -z "$sent" ] || [ "$sent" != "$recv" ]; then
	fail "SCM_RIGHTS pass: sent $sent, the receiving process read $recv"
fi
echo "ok: an upgraded connection passed with SCM_RIGHTS mid-payload keeps its stream"

"$X" misuse >"$T/mis.out" 2>&1 || fail "misuse: $(cat "$T/mis.out")"
grep -q "not a live buffer" "$T/shim.log" || fail "double free was not logged"
echo "ok: double free, foreign free and foreign release are refused with EINVAL"
exit 0
