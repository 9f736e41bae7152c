#!/bin/bash
# Another library's constructor calls listen/connect/accept/send/recv before (or after) the
# shim's constructor: the program works, does not deadlock or crash, and the connection made
# in the constructor is upgraded when the coordinator runs.
. "$ST_SRCDIR/lib.sh"

CTOR=$B/.libs/libstctor.so
ASAN=${PRELOAD%"$SHIM"}

run_case() { # name preload-list want-upgrade
	local name=$1 pl=$2 want=$3 out rc st
	out=$(env LD_PRELOAD="$pl" FAASFLOW_CONFIG="$CONF" FAASFLOW_LOG="$T/shim.log" \
		timeout 30 "$B/st_ctor_main" 2>"$T/$name.err")
	rc=$?
	st=$(st_field "$out" status_c)
	if [ $rc -ne 0 ]; then
		st_fail "$name" "rc=$rc (124: deadlock/timeout): $out $(head -c 1500 "$T/$name.err")"
	elif [ "$(st_field "$out" ctor)" != ok ] || [ "$(st_field "$out" main)" != ok ]; then
		st_fail "$name" "$out"
	elif [ "$want" = 1 ] && [ $(( st & 1 )) -eq 0 ]; then
		st_fail "$name" "the constructor's connection was not upgraded: $out"
	elif [ "$want" = 0 ] && [ "$st" != 0 ]; then
		st_fail "$name" "upgraded without a coordinator: $out"
	else
		st_pass "$name"
	fi
}

# no coordinator yet: pure pass-through from a constructor
st_config
run_case ctor-first-no-daemon "${ASAN}$CTOR:$SHIM" 0
run_case shim-first-no-daemon "${ASAN}$SHIM:$CTOR" 0
st_start_daemon
run_case ctor-first "${ASAN}$CTOR:$SHIM" 1
run_case shim-first "${ASAN}$SHIM:$CTOR" 1
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"

# The shim starts at a program's first connection, not in its constructor: a program that never
# opens one does not even read the configuration (a rejected one is reported by the first
# program that connects), which is what keeps spawning cheap.
printf 'THRESHOLD = banana\n' > "$T/bad.conf"
env LD_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$T/bad.conf" FAASFLOW_LOG="$T/lazy.log" /bin/true
if [ -e "$T/lazy.log" ]; then
	st_fail lazy-start "/bin/true started the shim: $(head -c 500 "$T/lazy.log")"
else
	env LD_PRELOAD="$PRELOAD" FAASFLOW_CONFIG="$T/bad.conf" FAASFLOW_LOG="$T/lazy.log" \
		bash -c 'exec 3<>/dev/tcp/127.0.0.1/1' 2>/dev/null
	if grep -q "configuration rejected.*THRESHOLD = 'banana'" "$T/lazy.log" 2>/dev/null; then
		st_pass lazy-start
	else
		st_fail lazy-start "a connecting program did not report the rejected configuration: $(head -c 500 "$T/lazy.log" 2>/dev/null)"
	fi
fi
st_done
