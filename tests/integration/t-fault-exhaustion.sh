#!/bin/bash
# Region exhaustion: a region of 4 slots, 8 concurrent senders of large payloads (each to its
# own receiver). Everyone completes with the right hash, nobody waits forever, some bytes go
# inline, and every slot is back in the pool at the end.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

it_config "SHM_SIZE=5M" "QUOTA=2" "LEASE_BATCH=1"
it_start_daemon
n=$(it_stat slot_count)
if [ "$n" != 4 ]; then
	it_fail "region of 4 slots" "SHM_SIZE=5M gave $n slots"
	it_done
fi
name="8 senders, 4 slots"
inl=$(it_stat inline_bytes)
reg=$(it_stat region_bytes)
srvs=()
clis=()
for i in 1 2 3 4 5 6 7 8; do
	it_xfer_server "srv$i" shim --timeout 150 || it_fail "$name" "server $i did not start"
	srvs+=("$IT_LAST")
	it_bg "cli$i" shim "$XFER" client --port "$IT_PORT" --timeout 150 --sizes 8M*3,1M*4
	clis+=("$IT_LAST")
done
ok=1
for i in 1 2 3 4 5 6 7 8; do
	it_join "${clis[$((i - 1))]}" 170
	c=$IT_RC
	it_join "${srvs[$((i - 1))]}" 30
	if [ "$c" != 0 ] || [ "$IT_RC" != 0 ]; then
		it_fail "$name" "pair $i: client exited $c, server $IT_RC"
		it_show "cli$i" "srv$i"
		ok=0
		continue
	fi
	it_same "$name, pair $i" "$(it_line "$T/cli$i.out" SENT)" "$(it_line "$T/srv$i.out" RECV)" || ok=0
done
if [ $ok = 1 ]; then
	inl2=$(it_stat inline_bytes)
	reg2=$(it_stat region_bytes)
	if [ "$reg2" -le "$reg" ]; then
		it_fail "$name" "nothing went through the region"
	elif [ "$inl2" -le "$inl" ]; then
		it_fail "$name" "no byte went inline though 8 senders shared 4 slots (region_bytes +$((reg2 - reg)))"
	else
		it_pass "$name: all hashes match, $(((reg2 - reg) >> 20)) MiB via the region, $(((inl2 - inl) >> 20)) MiB inline"
	fi
fi
it_all_slots_free "$name" 2000 && it_pass "every slot back in the pool"
it_done
