#!/bin/bash
# faasflowd --daemon: the parent exits 0 once the socket listens, and the detached child
# answers its signals: SIGHUP reloads the configuration, SIGTERM stops it (socket removed)
# within 5 s. (Its signal descriptor was made before the fork and watched only the parent's
# signals: the detached coordinator ignored both.)
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dt_tempdir ffdaemonize
dt_config 8M info "LOG_FILE = $T/d.log"
"$FFD" --config "$T/f.conf" --daemon 2>>"$T/d.err" || fail "faasflowd --daemon exited $?"
pid=
for _ in $(seq 1 100); do
	pid=$(pgrep -f "faasflowd --config $T/f.conf --daemon" | head -n 1)
	[ -n "$pid" ] && $CTL status >/dev/null 2>&1 && break
	sleep 0.05
done
if [ -z "$pid" ]; then
	fail "no detached faasflowd answers: $(cat "$T/d.err" "$T/d.log" 2>/dev/null | tail -n 5)"
	exit 1
fi
dt_track "$pid"
kill -HUP "$pid"
for _ in $(seq 1 100); do
	grep -q "configuration reloaded" "$T/d.log" && break
	sleep 0.05
done
if grep -q "configuration reloaded" "$T/d.log"; then
	ok "SIGHUP reloads the detached coordinator"
else
	fail "SIGHUP: no reload within 5 s"
fi
kill -TERM "$pid"
for _ in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if kill -0 "$pid" 2>/dev/null; then
	fail "SIGTERM: the detached coordinator still runs after 5 s"
elif [ -e "$SOCK" ]; then
	fail "SIGTERM: stopped but left its socket $SOCK"
else
	ok "SIGTERM stops the detached coordinator and removes its socket"
fi
[ "$fails" -eq 0 ] || exit 1
exit 0
