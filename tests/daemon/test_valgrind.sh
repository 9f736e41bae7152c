#!/bin/bash
# faasflowd under valgrind memcheck: register, lease/return, listeners and LOOKUP, malformed
# and oversized messages, a client that says nothing, a client killed with SIGKILL holding
# slots, /metrics scrapes, faasflowctl, SIGHUP; then SIGTERM: exit 0, no memcheck error and no
# definite leak. A second run takes SIGABRT: the libunwind backtrace is clean too (with
# libunwind.supp). Skipped when valgrind is missing or the build has sanitizers.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
SUPP=${SUPP:-$(dirname "$0")/libunwind.supp}

command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind not installed"; exit 77; }
case ${FF_SANITIZERS:-none} in
none | "") ;;
*) echo "SKIP: built with sanitizers ($FF_SANITIZERS); valgrind and ASan do not mix"; exit 77;;
esac
if ldd "$FFD" 2>/dev/null | grep -Eq 'lib(asan|tsan|ubsan)'; then
	echo "SKIP: $FFD is linked with a sanitizer runtime"; exit 77
fi
[ -r "$SUPP" ] || { echo "FAIL: suppression file $SUPP missing"; exit 1; }

dt_tempdir ffvalgrind
dt_config 16M debug "TENANTS = blue"
PORT=$(dt_free_port)
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
    "--suppressions=$SUPP" --track-fds=no)
DT_UP_TRIES=600 DT_UP_STEP=0.1   # valgrind starts slowly

start() { # start LOGNAME
	dt_spawn "$T/$1.log" "${VG[@]}" "--log-file=$T/$1.vg" "$FFD" --config "$T/f.conf" \
		--metrics-listen "$PORT"
	dt_wait_up || {
		cat "$T/$1.log" "$T/$1.vg"; fail "faasflowd under valgrind did not come up"; exit 1
	}
}
free_slots() { $CTL stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["slots_free"])'; }

start run
total=$(free_slots)

# Lease/return round trips, a listener and lookups.
"$BENCH" -n 300 "$SOCK" >/dev/null || fail "ff-lease-bench"
"$PROBE" "$SOCK" hold vg-endpoint >"$T/hold" &
dt_track "$!"
i=0; until grep -q ready "$T/hold"; do i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.05; done
"$PROBE" "$SOCK" lookup vg-endpoint >/dev/null || fail "lookup of a live listener"
"$PROBE" "$SOCK" lookup nobody-here >/dev/null && fail "lookup of an unknown name"
$CTL endpoints | grep -q vg-endpoint || fail "endpoints list"

# Malformed messages, an oversized packet, a silent client; then a valid request is answered.
"$PY" - "$SOCK" <<'PYEOF' || fail "malformed messages"
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1]); s.settimeout(10); return s
silent = conn()                                    # says nothing, closes at exit
s = conn()
V = 4                                              # FF_PROTO_VERSION
hdr = lambda t, v, n, seq: struct.pack("<HHIIi", t, v, n, seq, 0)
s.send(b"\x01\x00\x01")                              # truncated header: no answer
s.send(hdr(8, 99, 0, 1))                             # wrong version
assert struct.unpack("<HHIIi", s.recv(65536)[:16])[4] != 0
s.send(hdr(8, V, 1 << 30, 2))                        # huge length
assert struct.unpack("<HHIIi", s.recv(65536)[:16])[4] != 0
s.send(hdr(1, V, 100000, 3) + b"x" * 100000)         # oversized packet
assert struct.unpack("<HHIIi", s.recv(65536)[:16])[4] != 0
s.send(hdr(5, V, 4, 4) + struct.pack("<I", 1))       # LEASE before REGISTER
s.recv(65536)
s.send(hdr(6, V, 8, 5) + struct.pack("<II", 1, 100000))   # RETURN of a slot never held
assert struct.unpack("<HHIIi", s.recv(65536)[:16])[4] != 0
s.send(hdr(8, V, 0, 6))                              # STATS: answered
h = struct.unpack("<HHIIi", s.recv(65536)[:16])
assert h[3] == 6 and h[4] == 0, h
PYEOF
$CTL status >/dev/null || fail "status after malformed messages"

# A client killed with SIGKILL while it holds slots: they come back.
"$PROBE" "$SOCK" lease 8 >"$T/lease" &
LPID=$!
dt_track "$LPID"
i=0; until grep -q "ready 8" "$T/lease"; do i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.05; done
[ "$(free_slots)" -eq $((total - 8)) ] || fail "8 slots not out of the pool"
kill -KILL "$LPID"; wait "$LPID" 2>/dev/null
i=0; until [ "$(free_slots)" -eq "$total" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { fail "slots of the killed client not reclaimed"; break; }
	sleep 0.1
done

# /metrics, faasflowctl commands, a reload.
curl -sf "http://127.0.0.1:$PORT/metrics" | grep -q faasflow_region_bytes_total || fail "scrape"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope")" = 404 ] || fail "404"
$CTL metrics >/dev/null || fail "faasflowctl metrics"
$CTL leases >/dev/null || fail "faasflowctl leases"
$CTL --tenant blue stats --json >/dev/null || fail "faasflowctl --tenant blue"
$CTL disable >/dev/null || fail "disable"
$CTL enable >/dev/null || fail "enable"
echo "LOG_LEVEL = info" >>"$T/f.conf"
kill -HUP "$DPID"
i=0; until grep -q "configuration reloaded" "$T/run.log"; do
	i=$((i + 1)); [ $i -gt 300 ] && { fail "no reload"; break; }; sleep 0.05
done
dt_kill_tracked

dt_stop || fail "faasflowd under valgrind exited $? (99: memcheck errors)"
grep -q "ERROR SUMMARY: 0 errors" "$T/run.vg" || fail "memcheck errors: $(grep -A3 'ERROR SUMMARY' "$T/run.vg")"
if grep -q "definitely lost: [1-9]" "$T/run.vg"; then fail "definite leaks"; fi
[ "$fails" -eq 0 ] && ok "memcheck: exit 0, $(grep -o 'in use at exit: [0-9,]* bytes' "$T/run.vg"), no errors"

# The crash path: a fatal signal gives a libunwind backtrace; memcheck finds nothing (the
# suppressions). SIGABRT, not SIGSEGV: valgrind may leave a SIGSEGV sent by kill(2) pending
# while the guest sleeps in epoll_wait.
sed -i '/^LOG_LEVEL = info$/d' "$T/f.conf"
start crash
kill -ABRT "$DPID"
i=0; while kill -0 "$DPID" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 300 ] && { fail "SIGABRT did not end faasflowd"; kill -KILL "$DPID"; }
	sleep 0.1
done
wait "$DPID"; rc=$?; DPID=
[ "$rc" -ne 0 ] || fail "SIGABRT: exit 0"
grep -q "backtrace:" "$T/crash.log" || fail "no backtrace after SIGABRT: $(cat "$T/crash.log")"
if grep -v faasflow "$T/crash.log" | grep -q .; then
	fail "crash lines without 'faasflow': $(grep -v faasflow "$T/crash.log" | head -n 3)"
fi
grep -q "ERROR SUMMARY: 0 errors" "$T/crash.vg" ||
	fail "memcheck errors in the crash path: $(grep -B2 -A12 'uninitialised' "$T/crash.vg" | head -n 30)"
[ "$fails" -eq 0 ] && ok "crash backtrace under memcheck: no errors"

[ "$fails" -eq 0 ] || { echo "--- daemon log"; tail -n 30 "$T/run.log"; exit 1; }
echo "all valgrind checks passed"
