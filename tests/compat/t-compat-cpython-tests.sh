#!/bin/bash
# A third-party test suite of socket behaviour: CPython's own tests of sockets, selectors and
# asyncio's socket, stream and sendfile paths (Debian's libpython3.11-testsuite, 1,000-odd
# tests), run plain and under the shim with a coordinator. Every test must end the same way in
# both runs (ok, skipped, expected failure ...); a test that differs is run again alone, both
# ways, twice, before it counts as a difference (a few of them time things). The shimmed run
# must have upgraded connections and moved bytes through the region. VSOCK tests are left out
# (they wait for a hypervisor socket that this kind of machine does not answer).
# Two runs of the suite (about 100 s each alone in a sanitizer build, several times that
# beside other rows): the row's watchdog is longer than the others'.
CX_ROW_TIMEOUT=${CX_ROW_TIMEOUT:-1500}
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
PYT=/usr/bin/python3
cx_need python3 "$PYT"
cx_need_file libpython3.11-testsuite /usr/lib/python3.11/test/test_socket.py
cx_version "CPython $("$PYT" -c 'import sys; print(sys.version.split()[0])') test suite (libpython3.11-testsuite)"
MODULES=(test_socket test_selectors test_asyncio.test_sock_lowlevel test_asyncio.test_sendfile
	test_asyncio.test_streams)

cx_start_daemon

# suite MODE OUT [PATTERN...]: the modules (or only the tests matching the patterns), verbose
suite() {
	local mode=$1 out=$2 args=() p
	shift 2
	for p in "$@"; do args+=(-m "$p"); done
	cx_env "$mode"
	(cd "$T" && "${CX_ENV[@]}" timeout -k 5 900 "$PYT" -m test -v "${MODULES[@]}" \
		-i '*VSOCK*' "${args[@]}") >"$out" 2>&1
}

r0=$(cx_stat region_bytes)
i0=$(cx_stat inline_bytes)
u0=$(cx_stat upgrade_success)
suite plain "$T/plain.log"
suite shim "$T/shim.log.txt"
r1=$(cx_stat region_bytes)
i1=$(cx_stat inline_bytes)
u1=$(cx_stat upgrade_success)
"$PY" "$CX_SRC/pytest_outcomes.py" "$T/plain.log" >"$T/plain.res"
"$PY" "$CX_SRC/pytest_outcomes.py" "$T/shim.log.txt" >"$T/shim.res"
n=$(wc -l <"$T/plain.res")
if [ "$n" -lt 500 ]; then
	cx_fail "suite ran" "only $n test results in the plain run; its end:"
	tail -n 20 "$T/plain.log" | sed 's/^/    /'
	cx_done
fi
diffs=$(join -a1 -a2 -e MISSING -o 0,1.2,2.2 "$T/plain.res" "$T/shim.res" | awk '$2 != $3 {print $1}')
echo "NOTE: $n tests; $(awk '{print $2}' "$T/plain.res" | sort | uniq -c | tr '\n' ' ')"
still=()
for t in $diffs; do
	same=0
	for _ in 1 2; do
		suite plain "$T/re.plain" "$t"
		suite shim "$T/re.shim" "$t"
		a=$("$PY" "$CX_SRC/pytest_outcomes.py" "$T/re.plain" | awk -v t="$t" '$1 == t {print $2}')
		b=$("$PY" "$CX_SRC/pytest_outcomes.py" "$T/re.shim" | awk -v t="$t" '$1 == t {print $2}')
		if [ -n "$a" ] && [ "$a" = "$b" ]; then
			same=1
			break
		fi
	done
	if [ $same = 1 ]; then
		echo "NOTE: $t differed once ($(grep "^$t " "$T/plain.res" | cut -d' ' -f2) plain, $(grep "^$t " "$T/shim.res" | cut -d' ' -f2) shim), then agreed ($a)"
	else
		still+=("$t: plain ${a:-none}, shim ${b:-none}")
	fi
done
if [ ${#still[@]} -eq 0 ]; then
	cx_pass "every test ends the same plain and under the shim ($n tests)"
else
	cx_fail "same outcomes" "${#still[@]} test(s) differ: $(printf '%s; ' "${still[@]}")"
	for t in "${still[@]}"; do
		m=${t%%:*}
		grep -B2 -A25 "^ERROR: \|^FAIL: " "$T/re.shim" | grep -A25 "${m##*.}" | head -30 | sed 's/^/    /'
	done
fi
if [ $((u1 - u0)) -gt 0 ] && [ $((i1 - i0 + r1 - r0)) -gt 0 ]; then
	cx_pass "upgraded under the shim: $((u1 - u0)) directions, region $((r1 - r0)) B, inline $((i1 - i0)) B"
else
	cx_fail "upgraded" "upgrade_success +$((u1 - u0)), region_bytes +$((r1 - r0)), inline_bytes +$((i1 - i0))"
fi
if [ $((r1 - r0)) -lt 1048576 ]; then
	cx_fail "region used" "region_bytes grew by $((r1 - r0)) B, expected at least 1 MiB"
else
	cx_pass "region used"
fi
cx_done
