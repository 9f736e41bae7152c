/* Runs: a stream of small writes through one slot (tx.c sends them; the reader seals them,
 * slots.c). Each small write of a stream was a frame of its own in the socket, one system call on each
 * side per write (a stream of 64-byte writes ran at 0.73 of TCP). From the third small write
 * in a row with no read between (a request/response never gets there: its lone writes keep
 * their inline latency), the bytes go to a slot and one doorbell announces the run; the
 * writes after it only append to the slot and count in its meta's `run` word. The reader's
 * first look at the doorbell seals the run (ff_run_seal): from then on it is an ordinary
 * doorbell of the run's final length, and the writer's next append, finding the seal, starts
 * a new run. So a doorbell is in the socket, and the socket readable, for every appended byte,
 * and order holds: any other frame (inline, doorbell, urgent, shutdown) ends the run first,
 * as do fork, exec and passing the socket on (another writer must not append behind ours). */
#include "shim.h"

/* A run's bytes: few enough that a reader that went away leaves the writer no further behind
 * than this before a doorbell's send tells it (TCP's answers its second write), enough that
 * one system call carries a thousand 64-byte writes. */
#define RUN_MAX            (128u << 10)
/* Nor longer than this: a slow writer's next write, after a reader that went away, is a
 * doorbell that fails as TCP's second write does (a write every 50 ms failed after 66 s). */
#define RUN_AGE_NS         (1000u * 1000)
/* A run its reader sealed after fewer writes than this cost more than their inline frames
 * would have: a doorbell, its push (a segment sent at once, where TCP's small writes wait
 * for Nagle and each other) and a slot for a few writes, when the reader keeps up (socat -b
 * 64: 1.2 times plain TCP's time). The small writes after such a run go inline, twice as
 * many after each short run in a row (up to RUN_BACKOFF_MAX), none after a long one. */
#define RUN_SHORT          16u
#define RUN_BACKOFF_MAX    1024u

/* Not on a socket another process may write on too (after a fork, passed on, received):
 * its frames would go behind our doorbell while our appends go before them (two processes
 * taking turns read A B B A). Not with MSG_MORE (a corked doorbell would hide every byte
 * appended after it), ancillary data (it goes with its own bytes), an SO_SNDBUF the
 * application bounds its writes with. */
bool ff_tx_run_allowed(const struct ff_conn *c, size_t len, int flags, uint64_t threshold)
{
	return len < threshold && ff_proc.cfg.small_write_runs && !c->tx_sndbuf && !c->tx_ctllen &&
	       !c->tx_shared && c->born_forks == atomic_load_explicit(&ff_forks, memory_order_relaxed) &&
	       !(flags & ~(MSG_NOSIGNAL | MSG_DONTWAIT)) &&
	       atomic_load(&c->tx) == FF_TX_FRAMED;
}

void ff_tx_run_end(struct ff_conn *c)
{
	if (!c->tx_run)
		return;
	c->tx_run = false;
	if (c->tx_run_writes >= RUN_SHORT)
		c->tx_run_backoff = 0;
	else if (c->tx_run_backoff < RUN_BACKOFF_MAX)
		c->tx_run_backoff = c->tx_run_backoff ? 2 * c->tx_run_backoff : 1;
	c->tx_run_skip = c->tx_run_backoff;
	if (!ff_mapped())
		return;
	atomic_fetch_and(&ff_rg()->meta[c->tx_run_slot].run, ~FF_RUN_OPEN);
	ff_slot_run_reserve(c->tx_run_slot, false, c->tx_run_len);
}

/* Append to the open run: len bytes, or 0 when it is sealed or full (then it has ended). */
ssize_t ff_tx_run_append(struct ff_conn *c, const struct iovec *iov, int iovcnt, size_t skip,
			  size_t len)
{
	struct ff_region *rg = ff_rg();
	struct ff_slot_meta *m = &rg->meta[c->tx_run_slot];
	uint64_t at = c->tx_run_len, open = at | FF_RUN_OPEN;

	if (at + len > RUN_MAX || atomic_load_explicit(&m->run, memory_order_acquire) != open ||
	    ff_now_ns() - c->tx_run_t0 > RUN_AGE_NS) {
		ff_tx_run_end(c);
		return 0;
	}
	/* The slot is reserved (ff_slot_run_reserve): if the reader seals it meanwhile, this
	 * copy lands in a slot nobody reads, and the append below fails. */
	if (!ff_tx_copy_in(rg, ff_slot_ptr(rg, c->tx_run_slot) + at, iov, iovcnt, skip, len) ||
	    !atomic_compare_exchange_strong_explicit(&m->run, &open, (at + len) | FF_RUN_OPEN,
						     memory_order_release, memory_order_relaxed)) {
		ff_tx_run_end(c);
		return 0;
	}
	c->tx_run_len = at + len;
	c->tx_run_writes++;
	ff_counter_add(&rg->hdr->c.region_bytes, len);
	return (ssize_t)len;
}

/* Start a run with these bytes. Returns len, 0 when no slot is free (go inline), or -1. */
ssize_t ff_tx_run_start(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			 size_t skip, size_t len, int flags)
{
	struct ff_region *rg = ff_rg();
	uint32_t gen;
	int64_t slot;
	ssize_t r;

	slot = ff_slot_take(c->cookie, c->tx_key, fd, false, len, 0, &c->tx_flight_deep, &gen);
	if (slot < 0)
		return 0;      /* (never waits: a slow reader's runs go inline, TCP's flow control) */
	ff_slot_run_reserve((uint32_t)slot, true, RUN_MAX);
	if (!ff_tx_copy_in(rg, ff_slot_ptr(rg, (uint64_t)slot), iov, iovcnt, skip, len)) {
		ff_slot_untake((uint32_t)slot, gen);
		ff_slot_run_reserve((uint32_t)slot, false, 0);
		return 0;
	}
	atomic_store_explicit(&rg->meta[slot].run, len | FF_RUN_OPEN, memory_order_release);
	c->tx_run = true;
	c->tx_run_slot = (uint32_t)slot;
	c->tx_run_len = len;
	c->tx_run_writes = 1;
	c->tx_run_t0 = ff_now_ns();
	r = ff_tx_doorbell(c, fd, (uint32_t)slot, gen, 0, len, flags, FF_DB_RUN);
	if (r <= 0) {
		c->tx_run = false;     /* (the slot went back: ff_tx_doorbell) */
		ff_slot_run_reserve((uint32_t)slot, false, 0);
	}
	return r;
}
