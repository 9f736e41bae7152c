#!/bin/bash
# FIONREAD equals what a following non-blocking read returns; MSG_PEEK returns what a later read
# returns; MSG_TRUNC discards. For region payloads and inline ones, partly consumed or not.
# The same program runs over plain TCP first (so the expectations are TCP's).
. "$ST_SRCDIR/lib.sh"

st_start_daemon

report() { # prefix output rc
	local line
	if [ "$3" -ne 0 ]; then
		st_fail "$1" "rc=$3: $(head -c 2000 "$T/$1.err")"
		return
	fi
	while read -r line; do
		case $line in
		case=*)
			local n r
			n=$(st_field "$line" case)
			r=$(st_field "$line" result)
			if [ "$r" = ok ]; then st_pass "$1-$n"; else st_fail "$1-$n" "${line#* * }"; fi
			;;
		esac
	done <<<"$2"
}

out=$(plain "$B/st_peek" 2>"$T/plain.err")
rc=$?
if [ $rc -eq 77 ]; then
	echo "$out"
	exit 77
fi
report plain "$out" $rc

rx0=$(st_stat rx_region_bytes)
out=$(shim "$B/st_peek" 2>"$T/shim.err")
rc=$?
rx1=$(st_stat rx_region_bytes)
report shim "$out" $rc
st=$(st_field "$(echo "$out" | tail -n 1)" status)
if [ $rc -eq 0 ] && { [ "${st:-0}" -le 0 ] || [ $((st & 2)) -eq 0 ] || [ $((rx1 - rx0)) -lt $((8 * 1048576)) ]; }; then
	st_fail "shim-upgraded" "receiver status $st, rx_region_bytes +$((rx1 - rx0))"
else
	st_pass "shim-upgraded"
fi
st_daemon_alive || st_fail "daemon-alive" "faasflowd died"
st_done
