#!/bin/bash
# The shim loaded and no coordinator running: every transfer behaves exactly like plain TCP
# (same stdout, same hashes, same exit codes, errors included), and the shim prints nothing on
# stdout. Nothing is created in the socket directory or at the region path.
# shellcheck disable=SC2086
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config
# no it_start_daemon: the socket does not exist

# pair HOW SARGS CARGS: run server and client with the shim or plain; "<srv rc> <cli rc>" and
# both stdouts in $T/HOW.txt
pair() {
	local how=$1 sargs=$2 cargs=$3 crc port
	it_xfer_server "srv-$how" "$how" --timeout 60 $sargs || return 1
	port=$IT_PORT
	"it_$how" "$XFER" client --port "$port" --timeout 60 $cargs >"$T/cli-$how.out" 2>"$T/cli-$how.err"
	crc=$?
	it_join "$IT_LAST" 60
	{
		echo "rc $IT_RC $crc"
		cat "$T/srv-$how.out" "$T/cli-$how.out"
	} >"$T/$how.txt"
}

run_case() {
	local name=$1
	shift
	pair plain "$@" && pair shim "$@"
	if ! cmp -s "$T/plain.txt" "$T/shim.txt"; then
		it_fail "$name" "with the shim: '$(tr '\n' '|' <"$T/shim.txt")' without: '$(tr '\n' '|' <"$T/plain.txt")'"
		return
	fi
	if ! grep -q '^rc ' "$T/shim.txt"; then
		it_fail "$name" "no result"
		return
	fi
	it_pass "$name"
}

run_case "stream, block" "" "--sizes 1,1000,64K,4M"
run_case "stream, epoll-et, peek" "--peek --mode nonblock-epoll-et" "--sizes 1,4M --mode nonblock-epoll-et"
run_case "FIONREAD" "--fionread --mode poll" "--sizes 1,3M"
run_case "half-close reply" "--reply" "--half-close --sizes 3M"
run_case "echo" "--rr echo" "--rr echo --sizes 1,2M"
run_case "server speaks first" "--server-sends --sizes 2M" "--server-sends"
run_case "two threads" "--msgs" "--threads 2 --sizes 1M*3"
run_case "receiver expected more (exit 1 on both)" "--expect-bytes 5" "--sizes 4"
grep -q '^rc 1 0' "$T/shim.txt" || it_fail "receiver expected more" "exit codes were $(head -1 "$T/shim.txt"), expected 'rc 1 0'"

# connect refused: the same exit status and no output on stdout
port=$(it_free_port)
it_plain "$XFER" client --port "$port" --retry-ms 0 --sizes 10 >"$T/r-plain.out" 2>/dev/null
prc=$?
it_shim "$XFER" client --port "$port" --retry-ms 0 --sizes 10 >"$T/r-shim.out" 2>/dev/null
src=$?
if [ "$prc" = "$src" ] && [ "$src" != 0 ] && cmp -s "$T/r-plain.out" "$T/r-shim.out"; then
	it_pass "connection refused"
else
	it_fail "connection refused" "exit $src with the shim, $prc without"
fi

# nothing on stdout from the shim itself
out=$(it_shim /bin/echo hello)
if [ "$out" = hello ]; then it_pass "stdout of /bin/echo untouched"; else it_fail "stdout of /bin/echo" "'$out'"; fi
out=$(it_shim "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print("ok")')
if [ "$out" = ok ]; then it_pass "stdout of a python listener untouched"; else it_fail "stdout of a python listener" "'$out'"; fi
status_plain=$(it_plain /bin/sh -c 'exit 42'; echo $?)
status_shim=$(it_shim /bin/sh -c 'exit 42'; echo $?)
if [ "$status_plain" = "$status_shim" ] && [ "$status_shim" = 42 ]; then
	it_pass "exit status passed through"
else
	it_fail "exit status" "$status_shim with the shim, $status_plain without (expected 42)"
fi

# The shim says why, once per process, in its log (never on stdout).
if ! grep -q "coordinator unreachable" "$T/shim.log" 2>/dev/null; then
	it_fail "fallback reason logged" "no 'coordinator unreachable' line in the shim log"
elif [ -n "$(grep "coordinator unreachable" "$T/shim.log" | grep -o 'faasflow-shim\[[0-9]*\]' | sort | uniq -d)" ]; then
	it_fail "fallback reason logged once" "a process logged it more than once: $(grep -c "coordinator unreachable" "$T/shim.log") lines"
else
	it_pass "fallback reason logged once per process"
fi

if [ -e "$T/region" ] || ls "$T"/faasflow_container_* >/dev/null 2>&1; then
	it_fail "nothing created" "$(ls "$T")"
else
	it_pass "no region file or socket created by the shim"
fi
it_done
