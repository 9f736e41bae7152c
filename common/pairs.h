/* The pair table: proof, outside the byte stream, that both ends of one TCP connection run
 * the shim on this region.
 *
 * Each shim end of a candidate connection puts an entry for it here: the server at accept(),
 * the client at connect(). An entry names the connection by its exact addresses (server's
 * address and port, client's address and port, the way both ends see them when nothing
 * translates in between) and the end that put it. A direction may send its first framing byte
 * only after finding the other end's entry for this very connection: only a process that maps
 * this region can put one, and a process without the shim (a plain server answering at the
 * same address in another network namespace, a member of a mixed SO_REUSEPORT group, a proxy
 * or a NAT in between, a stale registration) puts none, so that connection stays plain TCP.
 *
 * Entries are found by a hash of the addresses in a window of FF_PAIR_WINDOW places; an entry
 * is written whole before its key is published (release) and removed by clearing the key. The
 * coordinator removes the entries of a process that died, and old entries whose owner it does
 * not know (from before a restart, or left to a forked child). */
#ifndef FAASFLOW_PAIRS_H
#define FAASFLOW_PAIRS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "region.h"

#define FF_PAIR_WINDOW 16u
#define FF_PAIR_BUSY   1u          /* key of a place being written */

enum ff_pair_role { FF_PAIR_SERVER = 1, FF_PAIR_CLIENT = 2 };
/* How an end's outgoing direction begins (said before its first byte): unknown, with a hello,
 * or raw for good. */
enum ff_pair_tx { FF_PAIR_TX_UNKNOWN = 0, FF_PAIR_TX_HELLO = 1, FF_PAIR_TX_RAW = 2 };

/* A connection's addresses, the server's end first (IPv4 as v4-mapped IPv6). */
struct ff_tuple {
	uint8_t srv[16];
	uint8_t cli[16];
	uint16_t srv_port;
	uint16_t cli_port;
};

struct ff_pair {
	_Atomic uint64_t key;        /* 0: free; FF_PAIR_BUSY: being written; else hash | role */
	_Atomic uint32_t owner;      /* client id of the process that put it; 0: left to others */
	uint32_t role;
	_Atomic uint64_t since_ns;   /* CLOCK_MONOTONIC when put (or left) */
	struct ff_tuple t;
	_Atomic uint32_t tx;         /* a tag of key and since_ns | enum ff_pair_tx (tagged: a late
				      * write for an entry gone meanwhile never speaks for a new one) */
};
_Static_assert(sizeof(struct ff_pair) == FF_PAIR_SIZE, "a pair entry is a cache line");

/* One step of a 64-bit hash (splitmix64's finaliser over a combine): the pair table's keys,
 * the readers' connection keys (preload/readers.c), the shim's per-destination table. */
static inline uint64_t ff_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* The key of one direction of a connection (its writer's address and port first) on the region
 * with id `id`: what the writer puts in every slot it announces on it, and what a reader names
 * to the coordinator (preload/readers.c, daemon/readers.c). Never 0. */
uint32_t ff_dir_key(const uint8_t id[16], const uint8_t from[16], uint16_t fport,
		    const uint8_t to[16], uint16_t tport);
/* Coordinator: the keys of the directions read by the ends whose entries a live process holds
 * (live(owner)), into out (at most max); returns how many there are (may exceed max). An entry
 * stands for its end's reader name for as long as its owner holds it (preload/readers.c). */
size_t ff_pair_reader_keys(const struct ff_region *r, bool (*live)(uint32_t owner, void *arg),
			   void *arg, uint32_t *out, size_t max);
/* Put an entry for t by role; returns its place, or -1 (table full here: stay plain). */
int64_t ff_pair_put(struct ff_region *r, const struct ff_tuple *t, int role, uint32_t owner,
		    uint64_t now_ns, uint64_t *key);
/* Is there an entry for t by role? */
bool ff_pair_seen(const struct ff_region *r, const struct ff_tuple *t, int role);
/* The end whose entry is at place i (key, put at since_ns) says how its direction begins (enum
 * ff_pair_tx), before its first byte. */
void ff_pair_set_tx(struct ff_region *r, int64_t i, uint64_t key, uint64_t since_ns, uint32_t tx);
/* How the direction of the end with t's entry by role begins: FF_PAIR_TX_UNKNOWN when there is
 * no such entry held by a live process, more than one, or it did not say. */
uint32_t ff_pair_tx_of(const struct ff_region *r, const struct ff_tuple *t, int role);
/* Remove the entry at place i if it still is key. */
void ff_pair_drop(struct ff_region *r, int64_t i, uint64_t key);
/* Leave the entry at place i to whoever else holds the connection (after fork): it stays
 * until the coordinator's sweep by age. */
void ff_pair_leave(struct ff_region *r, int64_t i, uint64_t key, uint64_t now_ns);
/* Coordinator: remove entries whose owner `dead` says is gone, or (old_ns > 0) that are older
 * than old_ns with an owner `known` does not know. Returns how many went. */
uint64_t ff_pair_sweep(struct ff_region *r, bool (*gone)(uint32_t owner, void *arg),
		       bool (*known)(uint32_t owner, void *arg), void *arg, uint64_t now_ns,
		       uint64_t old_ns);

#endif
