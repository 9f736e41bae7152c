#!/bin/bash
# Soak (issue 4, fault 7): for SOAK_SECONDS (60 in `make check`, 600 in `make soak`), 4 xfer
# servers and 4 client loops, all under the shim, move payloads of 1 B to 32 MiB in random modes
# (blocking, epoll ET, poll, reader buffers down to 1 byte, half-close with a reply) through one
# coordinator with a small region (63 slots of 1 MiB, quota 16: slots run out). Every 1-5 s a
# random client or server is killed with SIGKILL and restarted; about every 15 s the coordinator
# too, and it must re-attach the same region (same region id, counters kept). No kills in the
# last 10 s.
# Fails on: a completed transfer (client exit 0 with its SENT line, server RECV line) whose
# hashes differ; corrupt bytes seen by a server (each server verifies every byte against its
# seed); a client error, hang or lost transfer that no kill explains; a sanitizer report in any
# process; a server exiting by itself; a slot not back in the pool after everything stopped
# (waits up to the coordinator's 30 s orphan timeout plus a margin); the region never used; the
# region re-created by a coordinator restart.
# Environment: SOAK_SECONDS, SOAK_SEED (the driver's random choices; printed, for a rerun),
# SOAK_CLIENT_TIMEOUT (xfer --timeout of a client, 120), IT_KEEP_ON_FAIL (default 1: keep the
# temp dir of a failed run, without the region file).
SOAK_SRC=${abs_srcdir:-$(cd "$(dirname "$0")" && pwd)}
export abs_builddir=${FF_BUILDDIR:-${abs_top_builddir:-}}/tests/integration  # where lib.sh finds xfer
IT_KEEP_ON_FAIL=${IT_KEEP_ON_FAIL-1}
SOAK_SECONDS=${SOAK_SECONDS:-60}
if ! [[ "$SOAK_SECONDS" =~ ^[0-9]+$ ]] || [ "$SOAK_SECONDS" -lt 10 ]; then
	echo "SOAK_SECONDS '$SOAK_SECONDS': expected a whole number of seconds, at least 10" >&2
	exit 99
fi
SOAK_SEED=${SOAK_SEED:-$(((RANDOM << 15) | RANDOM))}
# shellcheck source=../integration/lib.sh
. "${abs_top_srcdir:-$SOAK_SRC/../..}/tests/integration/lib.sh"
# shellcheck source=soak-procs.sh
. "$SOAK_SRC/soak-procs.sh"
trap soak_cleanup EXIT
RANDOM=$SOAK_SEED

echo "soak: $SOAK_SECONDS s, SOAK_SEED=$SOAK_SEED, temp dir $T"

cat >"$CONF" <<EOF
SHM_FILE_PATH = $T/region
SOCKET_DIR = $T
SHM_SIZE = 64M
SLOT_SIZE = 1M
QUOTA = 16
LOG_LEVEL = info
EOF

# soak_stat KEY...: values from `faasflowctl stats --json` on one line (nested keys: a.b)
soak_stat() {
	"$FFCTL" --config "$CONF" stats --json 2>>"$T/ctl.err" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
out = []
for key in sys.argv[1:]:
    v = d
    for k in key.split("."):
        v = v[k]
    out.append(str(int(v) if isinstance(v, bool) else v))
print(" ".join(out))' "$@"
}

SOAK_COORD_KILLS=0
SOAK_EPOCH_FROM=0            # region_bytes when the running coordinator started
SOAK_EPOCH_T=0
SOAK_EP_B=()                 # region bytes moved under each coordinator run ...
SOAK_EP_S=()                 # ... and how long it ran (s)

soak_epoch_end() {
	SOAK_EP_B+=("$(($1 - SOAK_EPOCH_FROM))")
	SOAK_EP_S+=("$(($(date +%s) - SOAK_EPOCH_T))")
}

# kill -9 the coordinator, leave it down for up to a second (connections made meanwhile fall
# back to TCP), start it with the same config: it must re-attach the same region.
soak_kill_coordinator() {
	local before id rb
	before=$(soak_stat region_bytes)
	soak_epoch_end "$before"
	soak_kill_log coordinator 0
	it_stop_daemon KILL
	SOAK_COORD_KILLS=$((SOAK_COORD_KILLS + 1))
	sleep "0.$((RANDOM % 10))"
	it_start_daemon
	read -r id rb < <(soak_stat region_id region_bytes)
	if [ "$id" != "$SOAK_REGION_ID" ]; then
		it_fail "coordinator restart $SOAK_COORD_KILLS" "region id $id, was $SOAK_REGION_ID: the region was re-created, not re-attached"
		SOAK_REGION_ID=$id
	fi
	if [ "$rb" -lt "$before" ]; then
		it_fail "coordinator restart $SOAK_COORD_KILLS" "region_bytes went back from $before to $rb (counters of the region lost)"
	fi
	SOAK_EPOCH_FROM=$rb
	SOAK_EPOCH_T=$(date +%s)
}

it_start_daemon
read -r SOAK_REGION_ID SOAK_SLOTS SOAK_RB0 < <(soak_stat region_id slot_count region_bytes)
SOAK_EPOCH_FROM=$SOAK_RB0
SOAK_EPOCH_T=$(date +%s)
for s in $(seq 0 $((SOAK_NSERVERS - 1))); do
	soak_start_server "$s" || exit 99
done
: >"$T/kills.log"
soak_start_clients
soak_sampler &
SOAK_SAMPLER=$!

# The run: a kill every 1-5 s, the coordinator about every 15 s; the last 10 s without kills
# (traffic goes on), so that slots orphaned by the last kills are due before the run ends.
soak_t0=$(date +%s)
soak_deadline=$((soak_t0 + SOAK_SECONDS))
soak_calm=$((soak_deadline - 10))
soak_next_coord=$((soak_t0 + 13 + RANDOM % 5))
while :; do
	sleep "$((1 + RANDOM % 4)).$((RANDOM % 10))"
	now=$(date +%s)
	[ "$now" -lt "$soak_deadline" ] || break
	soak_check_servers || break
	if [ "$now" -ge "$soak_calm" ]; then
		continue
	elif [ "$now" -ge "$soak_next_coord" ]; then
		soak_kill_coordinator
		soak_next_coord=$(($(date +%s) + 13 + RANDOM % 5))
	elif [ $((RANDOM % 2)) = 0 ]; then
		soak_kill_client $((RANDOM % SOAK_NCLIENTS))
	else
		soak_kill_server $((RANDOM % SOAK_NSERVERS)) || break
	fi
done

# Stop: clients finish their connection, servers report what they received, then go.
soak_stop_clients
kill "$SOAK_SAMPLER" 2>/dev/null
wait "$SOAK_SAMPLER" 2>/dev/null
SOAK_SAMPLER=
for i in $(seq 1 60); do
	pending=$(soak_verdict | sed -n 's/^TOTALS .* lost=\([0-9]*\) .*/\1/p')
	[ "${pending:-0}" = 0 ] && break
	sleep 0.5
done
soak_check_servers
for s in $(seq 0 $((SOAK_NSERVERS - 1))); do
	kill -TERM "${SOAK_SPID[s]}" 2>/dev/null
	wait "${SOAK_SPID[s]}" 2>/dev/null
	SOAK_SPID[s]=
done
read -r rb_end < <(soak_stat region_bytes)
soak_epoch_end "$rb_end"

# Every slot back in the pool: give it the orphan timeout (30 s) and a margin.
t_stop=$EPOCHREALTIME
free=-1
clients=-1
for i in $(seq 1 450); do
	read -r free clients < <(soak_stat slots_free clients)
	[ "$free" = "$SOAK_SLOTS" ] && [ "$clients" = 0 ] && break
	sleep 0.1
done
slot_wait=$(awk -v a="$t_stop" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
leaked=$((SOAK_SLOTS - ${free:-0}))
if [ "$leaked" != 0 ]; then
	it_fail "slots" "$leaked of $SOAK_SLOTS slot(s) still out $slot_wait s after every process stopped"
	soak_stat slots_leased slots_filled slots_reading clients | sed 's/^/    leased filled reading clients: /'
fi
if [ "$clients" != 0 ]; then
	it_fail "clients" "the coordinator still counts $clients client(s) $slot_wait s after every process stopped"
fi
read -r hwm no_slot reclaimed upgrades < <(soak_stat slots_hwm fallbacks.no_slot reclaimed upgrade_success)
orphan_timeouts=$(grep -c 'unread for .* reclaimed' "$T/daemon.log")
# The coordinator must stop on SIGTERM (exit 0, or by the signal), within 15 s.
kill -TERM "$IT_DAEMON_PID"
for i in $(seq 1 150); do
	kill -0 "$IT_DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$IT_DAEMON_PID" 2>/dev/null; then
	it_fail "coordinator" "still running 15 s after SIGTERM"
	kill -9 "$IT_DAEMON_PID"
fi
wait "$IT_DAEMON_PID"
rc=$?
IT_DAEMON_PID=
if [ "$rc" != 0 ] && [ "$rc" != 143 ]; then
	it_fail "coordinator" "exited $rc on SIGTERM; its log ends with: $(tail -n 3 "$T/daemon.log")"
fi

# The verdict.
soak_verdict >"$T/verdict.txt"
grep '^FAIL' "$T/verdict.txt" | head -n 30
nfail=$(grep -c '^FAIL' "$T/verdict.txt")
if [ "$nfail" -gt 0 ]; then
	IT_FAILS=$((IT_FAILS + nfail))
	echo "($nfail transfer failure(s); the first ones above; the connection's xfer stderr is in"
	echo " c<client>.err after its '== connection <client>.<id>' line, the server's in s<server>.err)"
fi
totals=$(grep '^TOTALS' "$T/verdict.txt")
tv() { it_field "$totals" "$1"; }

corrupt=$(cat "$T"/s*.err | grep -c -e 'corrupt data' -e 'differ from the peeked')
if [ "$corrupt" != 0 ]; then
	it_fail "server verification" "$corrupt corrupt receipt(s): $(cat "$T"/s*.err | grep -m1 -e 'corrupt data' -e 'differ from the peeked')"
fi
sanitized=$(grep -l -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' \
	"$T"/*.err "$T/daemon.log" "$T/shim.log" 2>/dev/null)
if [ -n "$sanitized" ]; then
	it_fail "sanitizers" "reports in: $(echo "$sanitized" | xargs -n1 basename | tr '\n' ' ')"
	for f in $sanitized; do
		grep -m1 -A6 -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' "$f" | sed 's/^/    /'
	done
fi
if [ $((rb_end - SOAK_RB0)) -le 0 ]; then
	it_fail "region" "region_bytes did not grow: every payload went over TCP"
fi
# After each restart the region must be used again (new connections upgrade again).
for i in $(seq 1 $((${#SOAK_EP_B[@]} - 1))); do
	if [ "${SOAK_EP_B[i]}" = 0 ] && [ "${SOAK_EP_S[i]}" -ge 8 ]; then
		it_fail "region after restart $i" "nothing went through the region in the ${SOAK_EP_S[i]} s after coordinator restart $i"
	fi
done
epochs=
for i in "${!SOAK_EP_B[@]}"; do
	epochs="$epochs $((SOAK_EP_B[i] >> 20))MiB/${SOAK_EP_S[i]}s"
done
if [ "$(tv completed)" -lt 1 ]; then
	it_fail "traffic" "no transfer completed"
fi

# How long after each coordinator kill the region carried payloads again.
reup=$(awk 'FILENAME ~ /kills.log$/ { if ($2 == "coordinator") k[++n] = $1; next }
	{ t[++m] = $1; v[m] = $2 }
	END {
		for (i = 1; i <= n; i++) {
			base = -1; d = "never"
			for (j = 1; j <= m; j++) {
				if (t[j] < k[i]) { base = v[j]; continue }
				if (base >= 0 && v[j] > base) { d = sprintf("%.1fs", t[j] - k[i]); break }
			}
			printf " %s", d
		}
	}' "$T/kills.log" "$T/samples")
nk_c=$(grep -c ' client ' "$T/kills.log")
nk_s=$(grep -c ' server ' "$T/kills.log")
echo "region use per coordinator run:$epochs; slots hwm $hwm of $SOAK_SLOTS," \
	"no-slot fallbacks $no_slot, reclaimed $reclaimed, upgraded directions $upgrades"
echo "region carried payloads again after each coordinator kill (within 0.5 s):${reup:- (no kill)}"
echo "connections $(tv connections): completed $(tv completed) ($(tv completed_half_close) half-close)," \
	"cut by a client kill $(tv cut_client), cut by a server kill $(tv cut_server)," \
	"errors $(tv errors), lost $(tv lost), hangs $(tv hangs), crashes $(tv crashes)"
if [ "$orphan_timeouts" -gt 0 ]; then
	echo "NOTE: $orphan_timeouts slot(s) came back only by the coordinator's 30 s orphan timeout" \
		"(filled by a killed sender, never read); the kills 29-32 s before each:"
	grep 'unread for .* reclaimed' "$T/daemon.log" | head -n 5 | while read -r when rest; do
		at=$(date -d "$when" +%s)
		echo "    $when: $(grep -o "slot [0-9]*" <<<"$rest" | head -1), after kill(s):" \
			"$(awk -v a="$at" '$1 >= a - 32 && $1 <= a - 29 { printf "%s %s at %.1f s before; ", $2, $3, a - $1 }' "$T/kills.log")"
	done
fi
echo "SOAK seconds=$SOAK_SECONDS seed=$SOAK_SEED transfers_completed=$(tv completed)" \
	"bytes_checked=$(tv bytes) kills_clients=$nk_c kills_servers=$nk_s" \
	"kills_coordinator=$SOAK_COORD_KILLS cut=$(($(tv cut_client) + $(tv cut_server)))" \
	"slots_leaked=$leaked slot_return_s=$slot_wait hash_mismatches=$(($(tv mismatches) + corrupt))" \
	"region_bytes=$((rb_end - SOAK_RB0)) server_deaths=$SOAK_SERVER_DEATHS"
[ "$IT_FAILS" = 0 ] && it_pass "soak: $SOAK_SECONDS s of mixed traffic with kills"
it_done
