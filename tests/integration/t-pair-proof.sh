#!/bin/bash
# A connection is upgraded only when both of its ends proved that they run the shim on this
# region (the pair table, common/pairs.h), never on the coordinator's word that a shim listener
# has that address and port. Cases, each with every byte hashed on both ends:
# - the same address in two network namespaces: a shim listener on A:P in one, a plain server
#   on A:P in the client's own; the plain server gets exactly the client's bytes (root);
# - the same, the shim listener bound to 0.0.0.0;
# - a SO_REUSEPORT group of a shim process and a plain one: every connection intact, those
#   that land on the shim process can still go through the region;
# - an accepted connection handed across exec to a program without the shim (static);
# - a server that speaks first (a 10-byte greeting, then three 8 MiB replies) is upgraded;
# - the same four addresses again while an earlier connection's entry is still in the table
#   (left there by a fork): the later connection is read as itself.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
it_config
it_start_daemon
CASE_PY=$IT_SRC/pair_case.py
MIB=1048576

# serve NAME shim|plain [ip netns exec NS] BIND PORT [reuseport]: a pair_case server; waits
# for its port file
serve() {
	local name=$1 how=$2
	shift 2
	local pre=()
	if [ "$1" = ns ]; then
		pre=(ip netns exec "$2")
		shift 2
	fi
	rm -f "$T/$name.port"
	it_bg "$name" "$how" "${pre[@]}" "$PY" "$CASE_PY" server "$1" "$2" "$T/$name.port" ${3:+"$3"}
	it_wait_file "$T/$name.port" 20
}
conns() { # NAME: connections a server answered
	grep -c '^conn ' "$T/$1.out" 2>/dev/null
}

# --- the same address in two namespaces ----------------------------------------------------
samens() { # CASE BIND-OF-SHIM-LISTENER WRITE-SIZE
	local name=$1 before out port=$((20000 + RANDOM % 20000))
	serve "s-$name" shim ns "$IT_NS_A" "$2" "$port" || { it_fail "$name" "shim listener did not start"; return; }
	serve "p-$name" plain ns "$IT_NS_B" "$IT_ADDR_A" "$port" || { it_fail "$name" "plain server did not start"; return; }
	before=$(it_stat region_bytes)
	if ! out=$(ip netns exec "$IT_NS_B" "${IT_SHIM_ENV[@]}" timeout 60 "$PY" "$CASE_PY" client \
		"$IT_ADDR_A" "$port" 3 "$MIB" "$3" 2>&1); then
		it_fail "$name" "the plain server did not get the client's bytes: $out"
	elif [ "$(conns "p-$name")" != 3 ] || [ "$(conns "s-$name")" != 0 ]; then
		it_fail "$name" "connections: plain $(conns "p-$name"), shim listener $(conns "s-$name") (3 and 0 expected)"
	elif [ "$(it_stat region_bytes)" != "$before" ]; then
		it_fail "$name" "region_bytes moved ($before -> $(it_stat region_bytes)) for a plain peer"
	else
		it_pass "$name"
	fi
}
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
	if it_netns_pair && ip -n "$IT_NS_B" addr add "$IT_ADDR_A/32" dev lo; then
		samens "same address in the client's namespace, plain server there (listener on the address, 4 KiB writes)" "$IT_ADDR_A" 4096
		samens "same address in the client's namespace, plain server there (listener on 0.0.0.0, 1 MiB writes)" 0.0.0.0 "$MIB"
	else
		it_fail "same address in two namespaces" "could not set up the namespaces"
	fi
else
	echo "SKIP: same address in two namespaces (needs root and ip)"
fi

# --- a mixed SO_REUSEPORT group -----------------------------------------------------------------
name="SO_REUSEPORT group of a shim process and a plain one: 24 connections intact"
if serve r-shim shim 127.0.0.1 0 reuseport &&
	serve r-plain plain 127.0.0.1 "$(cat "$T/r-shim.port")" reuseport; then
	port=$(cat "$T/r-shim.port")
	before=$(it_stat region_bytes)
	if ! out=$(it_shim "$PY" "$CASE_PY" client 127.0.0.1 "$port" 24 "$MIB" "$MIB" 2>&1); then
		it_fail "$name" "$out"
	else
		ns=$(conns r-shim)
		np=$(conns r-plain)
		grew=$(( $(it_stat region_bytes) - before ))
		if [ $((ns + np)) != 24 ] || [ "$ns" = 0 ] || [ "$np" = 0 ]; then
			it_fail "$name" "connections: shim $ns, plain $np (both members expected to get some)"
		elif [ "$grew" -lt "$MIB" ]; then
			# (after two misses in a row the client waits only briefly for a proof, so
			# on a busy machine a connection to the shim member may stay plain too)
			it_fail "$name" "region_bytes +$grew: none of the $ns connection(s) to the shim member was upgraded"
		else
			it_pass "$name ($ns to the shim member, $((grew / MIB)) of them through the region; $np plain)"
		fi
	fi
else
	it_fail "$name" "servers did not start: $(cat "$T/r-shim.err" "$T/r-plain.err")"
fi

# --- a connection handed across exec to a program without the shim ----------------------
# (inetd's way: the shim server accepts, its child execs a static program with the connection
# as its standard input; the client writes a moment later). The entry the server put at
# accept() goes with the exec, so the client finds none and stays plain.
name="accepted connection handed across exec to a static program: it gets exactly the bytes"
rm -f "$T/x.port"
it_bg x shim "$PY" "$CASE_PY" exec-server "$T/x.port" "$IT_BUILD/static_sink"
if it_wait_file "$T/x.port" 20; then
	if out=$(it_shim "$PY" "$CASE_PY" client 127.0.0.1 "$(cat "$T/x.port")" 3 "$MIB" "$MIB" 0.3 2>&1); then
		it_pass "$name"
	else
		it_fail "$name" "$out"
	fi
else
	it_fail "$name" "server did not start: $(cat "$T/x.err")"
fi

# --- a server that speaks first ----------------------------------------------------------------
greet() { # CASE DELAY MIN-REGION-BYTES
	local name=$1 before srv
	rm -f "$T/g.port"
	before=$(it_stat region_bytes)
	it_bg g shim "$PY" "$CASE_PY" greet "$T/g.port" "$2"
	srv=$IT_LAST
	it_wait_file "$T/g.port" 20 || { it_fail "$name" "server did not start"; return; }
	it_shim "$PY" "$CASE_PY" listen-greet 127.0.0.1 "$(cat "$T/g.port")" >"$T/gc.out" 2>"$T/gc.err"
	it_join "$srv" 60
	if [ "$(cat "$T/g.out")" != "$(cat "$T/gc.out")" ] || [ ! -s "$T/gc.out" ]; then
		it_fail "$name" "server '$(cat "$T/g.out")' client '$(cat "$T/gc.out")' $(cat "$T/gc.err")"
		return
	fi
	it_grew "$name" "$before" "$3" && it_pass "$name"
}
greet "server speaks first (greeting, then 3 x 8 MiB) after 0.3 s: upgraded" 0.3 $((24 * MIB))
greet "server speaks first at once: intact" 0 0

# --- the same four addresses again -------------------------------------------------------------
# A connection's entry stays in the table after a fork (the other process may still answer on
# it) until the coordinator's sweep: a later connection from the same source port must be
# read as itself, never as the earlier one said. Each run plain and with the shim as named;
# the clients' lines (bytes, hash) must be equal.
REUSE_PY=$IT_SRC/pair_reuse.py
reuse_run() { # SERVER-MODE SERVER-HOW CLIENT1-HOW CLIENT1-FORK CLIENT2-HOW: both client lines
	local sport out
	rm -f "$T/r.port"
	it_bg r "$2" "$PY" "$REUSE_PY" "$1" "$T/r.port" 2
	it_wait_file "$T/r.port" 20 || { echo "server did not start"; return; }
	sport=$(it_free_port)
	out=$("it_$3" "$PY" "$REUSE_PY" client "$(cat "$T/r.port")" "$sport" first ${4:+"$4"})
	sleep 0.2
	out="$out / $("it_$5" "$PY" "$REUSE_PY" client "$(cat "$T/r.port")" "$sport" second)"
	it_join "$IT_LAST" 20
	echo "$out $(cat "$T/r.out")"
}
name="same addresses again: a forking server's earlier connection (client without the shim), then a shim client"
p=$(reuse_run fork-server plain plain "" plain)
s=$(reuse_run fork-server shim plain "" shim)
if [ "$p" = "$s" ] && [ "${p#*/ got 34 }" != "$p" ]; then
	it_pass "$name: $s"
else
	it_fail "$name" "plain: $p; with the shim: $s"
fi
name="same addresses again: a shim client that forked, then a client without the shim"
p=$(reuse_run server plain plain fork plain)
s=$(reuse_run server shim shim fork plain)
if [ "$p" = "$s" ] && [ "${p#*/ got 22 }" != "$p" ]; then
	it_pass "$name: $s"
else
	it_fail "$name" "plain: $p; with the shim: $s"
fi

it_done
