# The soak's processes: xfer servers (restartable on a fixed port), client loops (one xfer
# client per connection), kills. Sourced by t-soak.sh after tests/integration/lib.sh.
# shellcheck shell=bash

SOAK_NSERVERS=4
SOAK_NCLIENTS=4
SOAK_SEED_BASE=7000          # server s (and its clients) use data seed SOAK_SEED_BASE + s
SOAK_MAX=$((32 << 20))       # largest payload
SOAK_CLIENT_TIMEOUT=${SOAK_CLIENT_TIMEOUT:-120}
SOAK_PORT=()
SOAK_SPID=()
SOAK_LOOPS=()
SOAK_SERVER_DEATHS=0
SOAK_SAMPLER=

soak_now() { echo "$EPOCHREALTIME"; }

# soak_kill_log KIND INDEX: a kill is about to be sent (logged before, so its time is earlier
# than anything the kill causes)
soak_kill_log() {
	echo "$(soak_now) $1 $2" >>"$T/kills.log"
}

# Servers 0 and 1 take plain streams; servers 2 and 3 answer a half-close with --reply. Every
# (re)start picks a reader mode and a reader buffer, from 64 KiB down to 7 bytes.
soak_server_args() {
	local s=$1 modes=(block nonblock-epoll-et poll) rbufs=(64K 64K 4K 100 7)
	SOAK_ARGS=(server --port "${SOAK_PORT[s]}" --port-file "$T/s$s.port" --accept 100000
		--seed $((SOAK_SEED_BASE + s)) --mode "${modes[RANDOM % 3]}" --rbuf "${rbufs[RANDOM % 5]}"
		--timeout $((SOAK_SECONDS + 600)))
	if [ "$s" -ge 2 ]; then
		SOAK_ARGS+=(--reply)
	fi
}

# soak_start_server S: start server S on its port (a first start picks a free port below the
# ephemeral range, so a restart gets the same port back); 0 when it listens.
soak_start_server() {
	local s=$1 i
	for _ in $(seq 1 40); do
		if [ -z "${SOAK_PORT[s]:-}" ] || [ "${SOAK_PORT_FIXED[s]:-0}" = 0 ]; then
			SOAK_PORT[s]=$((20000 + RANDOM % 12000))
		fi
		soak_server_args "$s"
		rm -f "$T/s$s.port"
		echo "== start $(date +%T.%N) ${SOAK_ARGS[*]}" >>"$T/s$s.err"
		(exec "${IT_SHIM_ENV[@]}" "$XFER" "${SOAK_ARGS[@]}") >>"$T/s$s.out" 2>>"$T/s$s.err" &
		SOAK_SPID[s]=$!
		for i in $(seq 1 1000); do
			[ -s "$T/s$s.port" ] && break
			kill -0 "${SOAK_SPID[s]}" 2>/dev/null || break
			sleep 0.01
		done
		if [ -s "$T/s$s.port" ]; then
			SOAK_PORT_FIXED[s]=1
			return 0
		fi
		kill -9 "${SOAK_SPID[s]}" 2>/dev/null
		wait "${SOAK_SPID[s]}" 2>/dev/null
		SOAK_SPID[s]=
		sleep 0.05
	done
	echo "server $s could not listen on port ${SOAK_PORT[s]} (40 attempts); its stderr:" >&2
	tail -n 5 "$T/s$s.err" >&2
	return 1
}

# A server that exited although nobody killed it is a failure (crash, hang timeout, accept
# error): note it and start it again.
soak_check_servers() {
	local s rc
	for s in $(seq 0 $((SOAK_NSERVERS - 1))); do
		kill -0 "${SOAK_SPID[s]}" 2>/dev/null && continue
		wait "${SOAK_SPID[s]}"
		rc=$?
		SOAK_SERVER_DEATHS=$((SOAK_SERVER_DEATHS + 1))
		it_fail "server $s" "exited $rc by itself during the soak; its stderr ends with:"
		tail -n 5 "$T/s$s.err" | sed 's/^/    /'
		soak_start_server "$s" || return 1
	done
	return 0
}

soak_kill_server() {
	local s=$1
	soak_kill_log server "$s"
	kill -9 "${SOAK_SPID[s]}" 2>/dev/null
	wait "${SOAK_SPID[s]}" 2>/dev/null
	soak_start_server "$s"
}

# soak_kill_client C: kill -9 the xfer client of loop C that is running now (the loop goes on
# with a new connection: that is its restart). 1 if it was between connections.
soak_kill_client() {
	local c=$1 pid
	pid=$(cat "$T/c$c.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] || return 1
	soak_kill_log client "$c"
	kill -9 "$pid" 2>/dev/null
}

# A payload size from 1 B to 32 MiB, log-uniform (as many tiny as huge ones).
soak_rsize() {
	local e=$((RANDOM % 26)) b
	if [ "$e" = 25 ]; then
		echo "$SOAK_MAX"
		return
	fi
	b=$((1 << e))
	echo $((b + (((RANDOM << 15) | RANDOM) % b)))
}

# soak_plan C S: 1-3 payload sizes in SOAK_SIZES, total in SOAK_TOTAL, with total % 4 == C and
# a total this client never sent to server S before (so (server, bytes) names one transfer).
soak_plan() {
	local c=$1 s=$2 k i last sum=0 sizes=()
	k=$((1 + RANDOM % 3))
	for i in $(seq 1 "$k"); do
		sizes+=("$(soak_rsize)")
	done
	for ((i = 0; i < k - 1; i++)); do
		sum=$((sum + sizes[i]))
	done
	last=${sizes[k - 1]}
	last=$((last - ((sum + last - c) % 4 + 4) % 4))
	[ "$last" -ge 1 ] || last=$((last + 4))
	while [ -n "${SOAK_USED[$s:$((sum + last))]:-}" ]; do
		last=$((last + 4))
		[ "$last" -le "$SOAK_MAX" ] || last=$(((last - 1) % 4 + 1))
	done
	sizes[k - 1]=$last
	SOAK_TOTAL=$((sum + last))
	SOAK_USED[$s:$SOAK_TOTAL]=1
	SOAK_SIZES=$(IFS=,; echo "${sizes[*]}")
}

# soak_client_loop C: connections until $T/stop exists. Each: a random server, a random writer
# mode (half-close ones to the --reply servers), 1-3 random sizes. One record per connection in
# $T/conns.cC: id client server bytes mode rc start end sent_bytes sent_sha256.
soak_client_loop() {
	local c=$1 id=0 s mode modes=(block nonblock-epoll-et poll) args pid rc t0 t1 line
	declare -A SOAK_USED
	# shellcheck disable=SC2153 # set by t-soak.sh
	RANDOM=$((SOAK_SEED * 16 + c + 1))
	while [ ! -e "$T/stop" ]; do
		id=$((id + 1))
		s=$((RANDOM % SOAK_NSERVERS))
		mode=${modes[RANDOM % 3]}
		soak_plan "$c" "$s"
		args=(client --port "${SOAK_PORT[s]}" --sizes "$SOAK_SIZES" --seed $((SOAK_SEED_BASE + s))
			--mode "$mode" --retry-ms 20000 --timeout "$SOAK_CLIENT_TIMEOUT")
		if [ "$s" -ge 2 ]; then
			args+=(--half-close --rbuf $((1 + RANDOM % 64)))
			mode=$mode+half-close
		fi
		echo "== connection $c.$id: ${args[*]}" >>"$T/c$c.err"
		t0=$(soak_now)
		(exec "${IT_SHIM_ENV[@]}" "$XFER" "${args[@]}") >"$T/c$c.cur" 2>>"$T/c$c.err" &
		pid=$!
		echo "$pid" >"$T/c$c.pid"
		wait "$pid" 2>/dev/null     # (no "Killed" notice: a kill is counted, not an error)
		rc=$?
		rm -f "$T/c$c.pid"
		t1=$(soak_now)
		line=$(grep -m1 '^SENT ' "$T/c$c.cur")
		line=${line#SENT bytes=}
		[ -n "$line" ] || line="- -"
		echo "$id $c $s $SOAK_TOTAL $mode $rc $t0 $t1 ${line/ sha256=/ }" >>"$T/conns.c$c"
	done
}

soak_start_clients() {
	local c
	for c in $(seq 0 $((SOAK_NCLIENTS - 1))); do
		soak_client_loop "$c" &
		SOAK_LOOPS[c]=$!
	done
}

# Ask the loops to stop after their connection, wait (each connection is bounded by its xfer
# --timeout); a loop still running after that is a hang.
soak_stop_clients() {
	local c i alive
	touch "$T/stop"
	for i in $(seq 1 $(((SOAK_CLIENT_TIMEOUT + 30) * 10))); do
		alive=0
		for c in "${!SOAK_LOOPS[@]}"; do
			kill -0 "${SOAK_LOOPS[c]}" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for c in "${!SOAK_LOOPS[@]}"; do
		if kill -0 "${SOAK_LOOPS[c]}" 2>/dev/null; then
			it_fail "client $c" "still running $((SOAK_CLIENT_TIMEOUT + 30)) s after the stop"
			kill -9 "${SOAK_LOOPS[c]}" 2>/dev/null
			soak_kill_client "$c"
		fi
		wait "${SOAK_LOOPS[c]}" 2>/dev/null
	done
	SOAK_LOOPS=()
}

# region_bytes twice a second ("time bytes" in $T/samples; nothing while the coordinator is down)
soak_sampler() {
	local v
	while [ ! -e "$T/stop" ]; do
		v=$("$FFCTL" --config "$CONF" stats --json 2>/dev/null |
			sed -n 's/.*"region_bytes": \([0-9]*\).*/\1/p')
		[ -n "$v" ] && echo "$(soak_now) $v" >>"$T/samples"
		sleep 0.5
	done
}

# All records for soak-verdict.awk.
soak_records() {
	local s
	sed 's/^/K /' "$T/kills.log" 2>/dev/null
	for s in $(seq 0 $((SOAK_NSERVERS - 1))); do
		sed -n "s/^RECV bytes=\([0-9]*\) sha256=\([0-9a-f]*\)\$/R $s \1 \2/p" "$T/s$s.out"
	done
	cat "$T"/conns.c* 2>/dev/null | sed 's/^/C /'
}

soak_verdict() {
	soak_records | awk -v grace=2 -f "$SOAK_SRC/soak-verdict.awk"
}

# Kill everything this script started (by pid), then lib.sh's cleanup (coordinator, temp dir).
soak_cleanup() {
	local p c
	touch "$T/stop" 2>/dev/null
	for p in "${SOAK_LOOPS[@]}" ${SOAK_SAMPLER:-}; do
		kill -9 "$p" 2>/dev/null
	done
	for c in $(seq 0 $((SOAK_NCLIENTS - 1))); do
		p=$(cat "$T/c$c.pid" 2>/dev/null) && [ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	for p in "${SOAK_SPID[@]}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	for p in "${SOAK_LOOPS[@]}" "${SOAK_SPID[@]}" ${SOAK_SAMPLER:-}; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	rm -f "$T/region"
	it_cleanup
}
