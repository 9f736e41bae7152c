/* The upgrade decision, in one place.
 *
 * 1. connect(): PEERS, then the coordinator's registry of listeners (lookup.c), say whether the
 *    destination may be a shim; if so the connection is tracked and its client end puts its
 *    entry in the pair table. accept() on a shim listener tracks the connection and puts the
 *    server end's entry.
 * 2. A direction's first write (ff_tx_decide, below) sends a hello only with proof that the
 *    other end runs the shim on this region: its entry for this very connection.
 * 3. A direction's reader (rx.c) switches to frames only on a valid hello at offset 0 of its
 *    stream (the region's id in it); anything else keeps that direction plain for good.
 *
 * Both ends proven before the first framing byte (common/pairs.h).
 *
 * A connection's ends put their entries in the region's pair table: the server when it
 * accepts, the client when it connects. A direction sends its hello only after finding the
 * other end's entry for this very connection. The coordinator's answer at connect() (a shim
 * listener is registered at that address and port) is only a hint: the listener may be in
 * another network namespace, share the port with processes without the shim, or sit behind
 * an address translation; then no entry comes and the connection stays plain TCP.
 *
 * The client's first write usually runs right after connect() returns, when the server may
 * not have returned from accept() yet, so the client waits for the entry: at most
 * CONFIRM_WAIT_MS on a blocking socket, CONFIRM_NB_WAIT_MS on a non-blocking one, first
 * yielding the CPU (the server is running), then sleeping in growing steps. The server reads
 * nothing the client wrote before it accepted, so the wait moves no transfer's end; it costs
 * time only when no shim accepts (then at most the bound, once per connection). The server's
 * own first write only looks: a client that ran the shim put its entry at connect(), before
 * its own first byte.
 *
 * A destination that let QUIET_AFTER waits in a row run out (an address translation, a plain
 * server at an address a shim listener also has) is waited for only QUIET_WAIT_NS during
 * QUIET_NS (a shim member of a mixed SO_REUSEPORT group that accepts at once is still found);
 * a success ends that. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "shim.h"

#define CONFIRM_WAIT_MS     50
#define CONFIRM_NB_WAIT_MS  5
#define CONFIRM_YIELD_NS    (50 * 1000ull)

#define QUIET_AFTER 2
#define QUIET_NS    (10ull * 1000 * 1000 * 1000)
#define QUIET_WAIT_NS (1000 * 1000ull)
#define MISSES      32

_Atomic uint32_t ff_forks;

/* Destinations whose waits ran out lately, by a hash of address and port. A race between
 * threads at worst waits once more or once less. */
static struct {
	_Atomic uint64_t dest;
	_Atomic uint32_t n;
	_Atomic uint64_t until;
} misses[MISSES];

static uint64_t dest_of(const struct ff_tuple *t)
{
	uint64_t a, b;

	memcpy(&a, t->srv, 8);
	memcpy(&b, t->srv + 8, 8);
	return ff_hash_mix(ff_hash_mix(ff_hash_mix(0, a), b), t->srv_port) | 1;
}

static bool quiet(const struct ff_tuple *t, uint64_t now)
{
	uint64_t d = dest_of(t);
	unsigned i = (unsigned)(d >> 7) % MISSES;

	return atomic_load(&misses[i].dest) == d && atomic_load(&misses[i].n) >= QUIET_AFTER &&
	       now < atomic_load(&misses[i].until);
}

static void note(const struct ff_tuple *t, bool ok, uint64_t now)
{
	uint64_t d = dest_of(t);
	unsigned i = (unsigned)(d >> 7) % MISSES;

	if (atomic_load(&misses[i].dest) != d) {
		if (ok)
			return;
		atomic_store(&misses[i].n, 0);
		atomic_store(&misses[i].dest, d);
	}
	if (ok) {
		atomic_store(&misses[i].n, 0);
	} else if (atomic_fetch_add(&misses[i].n, 1) + 1 >= QUIET_AFTER) {
		atomic_store(&misses[i].until, now + QUIET_NS);
	}
}

void ff_pair_mine(struct ff_conn *c)
{
	struct ff_region *rg;
	uint32_t id;

	if (!c->tup_ok || c->pair_at >= 0 || ff_is_sandboxed() || !ff_ctl_ensure())
		return;
	rg = ff_rg();
	id = ff_ctl.client_id;
	if (!rg || !id)
		return;
	c->pair_forks = atomic_load(&ff_forks);
	c->pair_since = ff_now_ns();
	c->pair_at = ff_pair_put(rg, &c->tup, c->is_client ? FF_PAIR_CLIENT : FF_PAIR_SERVER, id,
				 c->pair_since, &c->pair_key);
	if (c->pair_at < 0)
		ff_note_fallback(FF_FB_NOT_PEER, "the region's pair table is full here: "
				 "a connection stays plain TCP");
}

void ff_pair_gone(struct ff_conn *c)
{
	struct ff_region *rg = ff_rg();

	if (c->pair_at < 0 || !rg)
		return;
	/* After a fork another process may hold the connection: its entry stays until the
	 * coordinator's sweep by age (a forked server's child answers on it). */
	if (atomic_load(&ff_forks) != c->pair_forks)
		ff_pair_leave(rg, c->pair_at, c->pair_key, ff_now_ns());
	else
		ff_pair_drop(rg, c->pair_at, c->pair_key);
	c->pair_at = -1;
}

void ff_pair_handed(struct ff_conn *c)
{
	struct ff_region *rg = ff_rg();

	ff_reader_unpair(c);     /* (the entry named us as its reader) */
	if (c->pair_at >= 0 && rg)
		ff_pair_drop(rg, c->pair_at, c->pair_key);
}

static bool seen(const struct ff_conn *c)
{
	struct ff_region *rg = ff_rg();

	return rg && ff_pair_seen(rg, &c->tup, c->is_client ? FF_PAIR_SERVER : FF_PAIR_CLIENT);
}

bool ff_pair_confirmed(struct ff_conn *c, int fd, bool wait)
{
	uint64_t t0, now, limit, step = 20 * 1000;

	if (!c->tup_ok || !ff_mapped())
		return false;
	if (seen(c)) {
		if (wait)
			note(&c->tup, true, 0);
		return true;
	}
	if (!wait || ff_is_sandboxed())     /* a sandbox may not allow the waits' system calls */
		return false;
	t0 = ff_now_ns();
	limit = (ff_fd_blocking(fd, 0) ? CONFIRM_WAIT_MS : CONFIRM_NB_WAIT_MS) * 1000000ull;
	if (quiet(&c->tup, t0))
		limit = QUIET_WAIT_NS;
	for (;;) {
		now = ff_now_ns();
		if (now - t0 >= limit)
			break;
		if (now - t0 < CONFIRM_YIELD_NS) {
			sched_yield();
		} else {
			struct timespec ts = { 0, (long)step };
			nanosleep(&ts, NULL);    /* a signal's handler runs; the bound holds */
			if (step < 1000 * 1000)
				step *= 2;
		}
		if (seen(c)) {
			note(&c->tup, true, 0);
			return true;
		}
	}
	note(&c->tup, false, ff_now_ns());
	ff_note_fallback(FF_FB_NOT_PEER, "no shim accepted the connection at the other end "
			 "(another namespace, a process without the shim, or an address "
			 "translation): it stays plain TCP");
	return false;
}

/* A direction upgrades only once the other end is proven to run the shim on our region: the
 * client's when the server's entry for this connection is in the pair table; the
 * server's when a valid hello came from the client, or the client's entry is there (a server
 * that speaks first). */
void ff_tx_decide(struct ff_conn *c, int fd)
{
	int want = FF_TX_RAW, expect = FF_TX_UNDECIDED;
	int saved = errno;

	if (c->is_client) {
		if (ff_region_usable() && ff_pair_confirmed(c, fd, true))
			want = FF_TX_HELLO;
		goto decided;
	}
	/* (a sandbox may not allow the look: sandbox.c decides at the first read) */
	if (atomic_load(&c->rx) == FF_RX_UNDECIDED && !ff_is_sandboxed()) {
		if (pthread_mutex_trylock(&c->rx_lock) == 0) {
			/* A zero-length read decides the incoming direction without blocking. */
			struct iovec none = { 0 };
			pthread_mutex_unlock(&c->rx_lock);
			ff_rx(c, fd, &none, 0, MSG_DONTWAIT);
		}
		/* (else another thread waits in a read: the hello has not arrived) */
	}
	if (atomic_load(&c->rx) == FF_RX_FRAMED && c->rx_region_ok && ff_mapped())
		want = FF_TX_HELLO;
	else if (ff_region_usable() && ff_pair_confirmed(c, fd, false))
		want = FF_TX_HELLO;
decided:
	atomic_compare_exchange_strong(&c->tx, &expect, want);
	/* Said in our entry before the first byte goes: the reader then takes the hello with the
	 * first frame, or reads raw, without a peek. (What is said is what was decided, whichever
	 * thread decided it; a reader that looks before it is said peeks.) */
	if (c->pair_at >= 0 && ff_mapped())
		ff_pair_set_tx(ff_rg(), c->pair_at, c->pair_key, c->pair_since,
			       atomic_load(&c->tx) == FF_TX_RAW ? FF_PAIR_TX_RAW : FF_PAIR_TX_HELLO);
	errno = saved;
}
