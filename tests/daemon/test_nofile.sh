#!/bin/bash
# A coordinator out of descriptors (RLIMIT_NOFILE 64, 150 clients connecting) neither spins
# nor floods its log: over 3 s at the limit it uses under 0.3 s of CPU and logs under 20
# lines; once clients leave, the queued ones are taken and faasflowctl is answered. (It used
# to retry the failing accept at once, for ever: 2 s of CPU in 3 s, 675,000 log lines.)
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
command -v prlimit >/dev/null || { echo "SKIP: prlimit missing (util-linux)"; exit 77; }

dt_tempdir ffnofile
dt_config 8M info "LOG_FILE = $T/d.log"
dt_spawn "$T/d.err" prlimit --nofile=64:64 "$FFD" --config "$T/f.conf"
dt_wait_up || { fail "faasflowd did not come up: $(cat "$T/d.err")"; exit 1; }
"$PY" - "$SOCK" "$T/held" <<'PY' &
import socket, sys, time
ss = []
for i in range(150):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    ss.append(s)
open(sys.argv[2], "w").write("held")
time.sleep(5)
for s in ss[:120]:
    s.close()
time.sleep(60)
PY
dt_track $!
for _ in $(seq 1 100); do [ -s "$T/held" ] && break; sleep 0.05; done
sleep 0.5
t0=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
sleep 3
t1=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
lines=$(wc -l <"$T/d.log")
if [ $((t1 - t0)) -ge 30 ]; then
	fail "at the descriptor limit: $((t1 - t0)) clock ticks of CPU in 3 s (spinning)"
elif [ "$lines" -ge 20 ]; then
	fail "at the descriptor limit: $lines log lines: $(tail -n 2 "$T/d.log")"
else
	ok "at the descriptor limit: $((t1 - t0)) ticks of CPU in 3 s, $lines log lines"
fi
if grep -q "RLIMIT_NOFILE" "$T/d.log"; then
	ok "the limit is named in the log"
else
	fail "no log line names RLIMIT_NOFILE: $(cat "$T/d.log")"
fi
sleep 3
if $CTL status >/dev/null 2>&1; then
	ok "answers faasflowctl once clients left"
else
	fail "faasflowctl unanswered after clients left"
fi
dt_stop || fail "faasflowd exit status $?"
[ "$fails" -eq 0 ] || exit 1
exit 0
