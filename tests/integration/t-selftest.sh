#!/bin/bash
# xfer's own SHA-256 passes the FIPS 180-4 known answers, and xfer detects corrupt data.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

if out=$("$XFER" --selftest 2>&1) && [ "$out" = "sha256 self test: ok" ]; then
	it_pass "sha256 known answers"
else
	it_fail "sha256 known answers" "$out"
fi

# A receiver expecting seed 1 must reject data made from seed 2 (the checker can fail).
it_xfer_server corrupt plain --timeout 30
it_plain "$XFER" client --port "$IT_PORT" --sizes 100K --seed 2 >"$T/c.out" 2>"$T/c.err"
it_join "$IT_LAST" 30
if [ "$IT_RC" = 1 ] && grep -q "corrupt data at stream offset 0" "$T/corrupt.err"; then
	it_pass "corrupt data detected"
else
	it_fail "corrupt data detected" "server status $IT_RC, stderr: $(head -c 300 "$T/corrupt.err")"
fi

# Same data, same hash on both ends over plain TCP.
it_xfer_server plain plain --timeout 30
it_plain "$XFER" client --port "$IT_PORT" --sizes 1,64K,3M >"$T/c.out" 2>"$T/c.err"
it_join "$IT_LAST" 30
if [ "$IT_RC" = 0 ] && it_same "plain TCP hashes" "$(it_line "$T/c.out" SENT)" "$(it_line "$T/plain.out" RECV)"; then
	it_pass "plain TCP hashes"
fi
it_done
