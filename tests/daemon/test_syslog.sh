#!/bin/bash
# Logs: every line faasflowd writes carries the word "faasflow" (journalctl -f | grep faasflow),
# and LOG_SYSLOG = true works: without a syslog daemon faasflowd still runs and logs to stderr;
# as root, in a private mount namespace whose /dev/log is a socket of this test, the syslog
# lines arrive there with the faasflowd tag.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dt_tempdir ffsyslog
dt_config 8M debug "LOG_SYSLOG = true"

# 1. LOG_SYSLOG on, whatever syslog there is (often none in a container): the daemon runs.
dt_start
dt_wait_up || { cat "$T/d.log"; fail "faasflowd with LOG_SYSLOG = true did not come up"; exit 1; }
{ $CTL disable >/dev/null && $CTL enable >/dev/null; } || fail "faasflowctl disable/enable"
"$FFD" --config "$T/f.conf" 2>>"$T/d.log" && fail "a second faasflowd started"
kill -HUP "$DPID"
i=0
until grep -q "configuration reloaded" "$T/d.log"; do
	i=$((i + 1)); [ $i -gt 200 ] && { fail "no reload line"; break; }; sleep 0.05
done
dt_stop || fail "faasflowd with LOG_SYSLOG = true: bad exit status"
[ "$(grep -c . "$T/d.log")" -ge 5 ] || fail "too few log lines: $(cat "$T/d.log")"
if grep -v faasflow "$T/d.log" | grep -q .; then
	fail "log lines without 'faasflow': $(grep -v faasflow "$T/d.log" | head -n 3)"
else
	ok "LOG_SYSLOG = true runs; all $(grep -c . "$T/d.log") stderr lines carry 'faasflow'"
fi

# 2. A syslog socket of our own at /dev/log, in a private mount namespace.
if [ "$(id -u)" -ne 0 ] || ! unshare --mount true 2>/dev/null; then
	echo "note: not root or no mount namespaces: syslog delivery not checked"
	[ "$fails" -eq 0 ] || exit 1
	exit 0
fi
mkdir "$T/dev" && touch "$T/dev/null"
"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    print("LISTENING", file=out)
    while True:
        out.write(s.recv(8192).decode(errors="replace").rstrip("\n") + "\n")
' "$T/dev/log" "$T/syslog.txt" &
dt_track "$!"
i=0
until grep -q LISTENING "$T/syslog.txt" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 200 ] && { fail "syslog listener did not start"; exit 1; }; sleep 0.05
done
: >"$T/d.log"
# shellcheck disable=SC2016 # expanded by the inner shell
dt_spawn "$T/d.log" unshare --mount --propagation private sh -c \
	'mount --bind /dev/null "$1/dev/null" && mount --rbind "$1/dev" /dev && shift && exec "$@"' \
	sh "$T" "$FFD" --config "$T/f.conf"
dt_wait_up || { cat "$T/d.log"; fail "faasflowd in the mount namespace did not come up"; exit 1; }
$CTL disable >/dev/null && $CTL enable >/dev/null
dt_stop || fail "faasflowd (syslog to our socket): bad exit status"
i=0
until grep -q "shutting down" "$T/syslog.txt"; do
	i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.05
done
if grep -q 'faasflowd\[[0-9]*\]: .*ready: tenant default' "$T/syslog.txt" &&
	grep -q 'faasflowd\[[0-9]*\]: .*switched off' "$T/syslog.txt" &&
	grep -q 'faasflowd\[[0-9]*\]: .*shutting down' "$T/syslog.txt"; then
	ok "syslog got $(grep -c faasflowd "$T/syslog.txt") lines tagged faasflowd"
else
	fail "syslog lines missing: $(cat "$T/syslog.txt")"
fi
if grep -v LISTENING "$T/syslog.txt" | grep -v faasflow | grep -q .; then
	fail "syslog lines without 'faasflow'"
fi

[ "$fails" -eq 0 ] || { echo "--- daemon log"; cat "$T/d.log"; exit 1; }
echo "all log checks passed"
