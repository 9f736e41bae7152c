/* This process's leased slots. Writers take an idle one (LEASED -> FILLED), readers claim
 * (FILLED -> READING) and give it back to its owner (READING -> LEASED, generation + 1).
 * Every transition is a compare-and-swap on the slot word, so a slot the coordinator took back
 * (after a restart, or from a process it believes dead) can never be used twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto.h"
#include "shim.h"
#include "sys.h"

struct my_slot {
	uint32_t slot;
	uint64_t cookie;     /* connection it is in flight on (0: idle) */
	uint64_t seq;        /* fill order: to wait for the oldest, to refill the oldest */
	uint64_t bytes;      /* payload bytes in it */
	bool app;            /* handed to the application by faasflow_alloc() */
	uint64_t resident;   /* bytes from its start mapped into this process (populate) */
	bool run;            /* an open run of ours appends to it: not idle even when LEASED */
};

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct my_slot *mine;
static uint32_t nmine, capmine;
static uint64_t fill_seq;

/* Payload bytes in flight on one connection: enough to keep both cores copying while one of
 * them sleeps and wakes, and about what TCP buffers (it takes 64 writes of 64 KiB, 4 MiB,
 * before a writer blocks). Always this many payloads (big slots), never more than that many
 * (small payloads). At the bound a blocking writer waits for its reader as TCP's would
 * (signals, SO_SNDTIMEO and a reset end the wait as they end a blocking send); a
 * non-blocking one goes inline, where the kernel's own flow control answers EAGAIN with exact
 * EPOLLOUT readiness. */
#define CONN_FLIGHT_BYTES  (4ull << 20)
/* A blocking writer whose reader keeps up holds no more than this in flight: beyond it, it
 * first waits a little for the reader to give a slot back (as it does at the bound), and only
 * a reader that lets STEADY_WAIT_NS pass gets the whole bound (until the connection is back
 * under this). Slots that are copied out soon after they were filled stay in the cores'
 * own caches: 64 KiB and 256 KiB streams ran at 5.96 and 10.1 GB/s with 4 MiB in flight,
 * 8.64 and 12.5 with 1 MiB (pinned; unpinned 6.41 -> 9.02 and 9.38 -> 12.3). */
#define CONN_FLIGHT_STEADY (1ull << 20)
#define STEADY_WAIT_NS     (200ull * 1000)
#define CONN_INFLIGHT_MIN  4
#define CONN_INFLIGHT_MAX  64
#define LEASE_RETRY_NS     (100ull * 1000 * 1000)
#define WAIT_OTHERS_NS  (20ull * 1000 * 1000)

static struct ff_slot_meta *meta(uint32_t slot)
{
	return &ff_rg()->meta[slot];
}

static bool cas_word(uint32_t slot, uint32_t from, uint32_t to)
{
	return atomic_compare_exchange_strong(&meta(slot)->word, &from, to);
}

static void futex_wake(_Atomic uint32_t *w)
{
	ff_sys_futex_wake((const void *)w);
}

static void forget(uint32_t i)
{
	mine[i] = mine[--nmine];
}

/* A slot's pages are mapped into this process in one call when it is first filled, not one
 * fault at a time inside the copy (4 us a page on one virtual machine: a first 300 KB payload
 * took 230-360 us instead of 20-30); only the slot about to be used, not the whole lease a
 * first payload waited for, and only as far as the payload reaches (a first 64 KiB payload
 * mapped 16 pages, not the slot's 256). Before Linux 5.14, or on failure, the pages fault
 * in. Lock held. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static void populate(struct my_slot *s, uint64_t len)
{
	static uint64_t page;
	uint64_t size = ff_rg()->hdr->slot_size, want;

	if (!page) {
		long p = sysconf(_SC_PAGESIZE);
		page = p > 0 && !(p & (p - 1)) ? (uint64_t)p : 4096;
	}
	want = (len + page - 1) & ~(page - 1);   /* (slots are page-aligned, whole pages) */

	if (want > size)
		want = size;
	if (want <= s->resident)
		return;
	madvise(ff_slot_ptr(ff_rg(), s->slot) + s->resident, want - s->resident, MADV_POPULATE_WRITE);
	s->resident = want;
}

/* Lock held. Returns the index in `mine` of a slot now FILLED by us, or -1. Picks the idle
 * slot filled longest ago. A slot its reader has just copied out still has its lines in the
 * reader's core, and refilling it makes every store steal one (1 MiB stream: 11.5 GB/s when
 * the most recent slot filled at least 2 MiB ago was taken, 17.0 GB/s least recently filled,
 * against the bare ring's 16.6; 4 KiB to 256 KiB, runs included, the same or better). No
 * slot is leased just for that: a fresh slot costs a coordinator round trip and page faults
 * on both sides, more than a warm one saves. */
static int take_idle(uint32_t *gen, uint32_t key, uint64_t len)
{
	uint32_t me = ff_ctl.client_id;
	int pick = -1;

	if (!me)
		return -1;   /* between coordinators: ours until the next one gives them back */
	for (uint32_t i = 0; i < nmine; i++) {
		struct ff_slot_meta *m = meta(mine[i].slot);
		uint32_t w = atomic_load_explicit(&m->word, memory_order_acquire);

		if (FF_SLOT_STATE(w) == FF_SLOT_FREE || atomic_load(&m->owner) != me) {
			forget(i--);         /* the coordinator took it back */
			continue;
		}
		if (FF_SLOT_STATE(w) != FF_SLOT_LEASED || mine[i].app || mine[i].run)
			continue;
		if (pick < 0 || mine[i].seq < mine[pick].seq)
			pick = (int)i;
	}
	if (pick >= 0) {
		uint32_t w = atomic_load_explicit(&meta(mine[pick].slot)->word, memory_order_acquire);
		/* The new connection's key goes in while the slot is still LEASED: FILLED under
		 * the last connection's key, the coordinator could take it for a slot that
		 * connection's gone reader left unread (readers.c) while we fill it. */
		if (FF_SLOT_STATE(w) == FF_SLOT_LEASED)
			atomic_store(&meta(mine[pick].slot)->conn_key, key);
		if (FF_SLOT_STATE(w) == FF_SLOT_LEASED &&
		    cas_word(mine[pick].slot, w, FF_SLOT_WORD(FF_SLOT_GEN(w), FF_SLOT_FILLED))) {
			*gen = FF_SLOT_GEN(w);
			populate(&mine[pick], len);
			return pick;
		}
	}
	return -1;
}

/* Lock held. */
static bool lease_more(void)
{
	static uint64_t refused_at;   /* a refused lease is not asked again at once */
	uint32_t want = ff_ctl.lease_batch, got_slots[FF_LEASE_MAX];
	int got;

	if (!ff_ctl.client_id || nmine >= ff_ctl.quota ||
	    (refused_at && ff_now_ns() - refused_at < LEASE_RETRY_NS))
		return false;
	if (want > ff_ctl.quota - nmine)
		want = ff_ctl.quota - nmine;
	if (want > FF_LEASE_MAX)
		want = FF_LEASE_MAX;
	got = ff_ctl_lease(want, got_slots, want);
	refused_at = got <= 0 ? ff_now_ns() : 0;
	if (got <= 0)
		return false;
	if (nmine + (uint32_t)got > capmine) {
		uint32_t ncap = capmine ? capmine * 2 : 64;
		struct my_slot *n;
		while (ncap < nmine + (uint32_t)got)
			ncap *= 2;
		n = realloc(mine, ncap * sizeof(*n));
		if (!n) {
			ff_ctl_return(got_slots, (uint32_t)got);
			return false;
		}
		mine = n;
		capmine = ncap;
	}
	for (int i = 0; i < got; i++)
		mine[nmine++] = (struct my_slot){ .slot = got_slots[i] };
	return true;
}

/* Lock held: the oldest slot in flight on this connection (or on any, when cookie is 0), with
 * how many and how many bytes are in flight there. */
static int oldest_in_flight(uint64_t cookie, unsigned *count, uint64_t *bytes)
{
	int best = -1;
	unsigned n = 0;
	uint64_t b = 0;

	for (uint32_t i = 0; i < nmine; i++) {
		uint32_t st = FF_SLOT_STATE(atomic_load(&meta(mine[i].slot)->word));
		if ((st == FF_SLOT_FILLED || st == FF_SLOT_READING) &&
		    (!cookie || mine[i].cookie == cookie)) {
			n++;
			b += mine[i].bytes;
			if (best < 0 || mine[i].seq < mine[best].seq)
				best = (int)i;
		}
	}
	if (count)
		*count = n;
	if (bytes)
		*bytes = b;
	return best;
}

int64_t ff_slot_take(uint64_t cookie, uint32_t key, int fd, bool may_wait, size_t len,
		     uint64_t bound, bool *deep, uint32_t *gen)
{
	uint64_t start = 0, deadline = 0, steady_until = 0;
	bool deadline_known = false;
	int i;

	ff_ctl_fresh();
	if (!ff_ctl.client_id && !ff_ctl_ensure())
		return -1;
	pthread_mutex_lock(&slots_lock);
	for (;;) {
		unsigned inflight = 0;
		uint64_t flight_bytes = 0;
		int w = oldest_in_flight(cookie, &inflight, &flight_bytes);
		bool steady = inflight < CONN_INFLIGHT_MIN || flight_bytes + len <= CONN_FLIGHT_STEADY;

		i = -1;
		if (steady && *deep)
			*deep = false;
		/* An SO_SNDBUF the application set is its bound (as the kernel applies it):
		 * a payload that alone exceeds it goes inline. */
		if (bound ? flight_bytes + len <= bound :
			    (steady || *deep || !may_wait) &&
			    (inflight < CONN_INFLIGHT_MIN ||
			     (inflight < CONN_INFLIGHT_MAX && flight_bytes + len <= CONN_FLIGHT_BYTES))) {
			i = take_idle(gen, key, len);
			if (i < 0 && lease_more())
				i = take_idle(gen, key, len);
		}
		if (i >= 0) {
			uint32_t slot = mine[i].slot;
			mine[i].cookie = cookie;
			mine[i].seq = ++fill_seq;
			mine[i].bytes = len;
			pthread_mutex_unlock(&slots_lock);
			return slot;
		}
		if (bound && !inflight)
			break;
		if (!may_wait)
			break;       /* at the bound a non-blocking writer goes inline (TCP's flow control) */
		if (w < 0) {
			/* Nothing of ours in flight here: wait a little for others, then inline. */
			uint64_t now = ff_now_ns();
			w = oldest_in_flight(0, NULL, NULL);
			if (!start)
				start = now;
			if (w < 0 || now - start > WAIT_OTHERS_NS)
				break;
		}
		uint32_t slot = mine[w].slot, seen = atomic_load(&meta(slot)->word);
		if (FF_SLOT_STATE(seen) != FF_SLOT_FILLED && FF_SLOT_STATE(seen) != FF_SLOT_READING)
			continue;       /* given back since the scan: look again, do not wait */
		pthread_mutex_unlock(&slots_lock);
		if (!deadline_known) {
			deadline = ff_send_deadline(fd);
			deadline_known = true;
		}
		if (!bound && !steady && !*deep) {
			/* under the bound, past the steady share: wait a little, then take */
			uint64_t now = ff_now_ns(), until;
			int r = 0;

			if (!steady_until)
				steady_until = now + STEADY_WAIT_NS;
			until = deadline && deadline < steady_until ? deadline : steady_until;
			if (now < steady_until)
				r = ff_slot_wait(slot, seen, fd, cookie, until);
			if (r < 0 && (errno != EAGAIN || until != steady_until))
				return -2;
			if (r < 0 || now >= steady_until)
				*deep = true;
			pthread_mutex_lock(&slots_lock);
			continue;
		}
		if (ff_slot_wait(slot, seen, fd, cookie, deadline) < 0)
			return -2;
		pthread_mutex_lock(&slots_lock);
	}
	pthread_mutex_unlock(&slots_lock);
	return -1;
}

void ff_slot_untake(uint32_t slot, uint32_t gen)
{
	cas_word(slot, FF_SLOT_WORD(gen, FF_SLOT_FILLED), FF_SLOT_WORD(gen, FF_SLOT_LEASED));
}

bool ff_slot_in_flight(uint64_t cookie)
{
	unsigned n = 0;

	if (!ff_mapped())
		return false;
	pthread_mutex_lock(&slots_lock);
	oldest_in_flight(cookie, &n, NULL);
	pthread_mutex_unlock(&slots_lock);
	return n > 0;
}

void ff_slot_reclaim_conn(uint64_t cookie)
{
	unsigned n = 0;

	if (!ff_mapped())
		return;
	pthread_mutex_lock(&slots_lock);
	for (uint32_t i = 0; i < nmine; i++) {
		struct ff_slot_meta *m = meta(mine[i].slot);
		uint32_t w = atomic_load(&m->word);
		/* Unread, or half read by a reader that closed the socket (see ff_conn_release_rx). */
		bool unread = FF_SLOT_STATE(w) == FF_SLOT_FILLED ||
			      (FF_SLOT_STATE(w) == FF_SLOT_READING &&
			       atomic_load(&m->reader) == FF_READER_HANDOVER);
		if (mine[i].cookie != cookie || !unread)
			continue;
		if (cas_word(mine[i].slot, w, FF_SLOT_WORD((FF_SLOT_GEN(w) + 1) & FF_SLOT_GEN_MASK,
							   FF_SLOT_LEASED))) {
			atomic_store(&m->reader, 0);
			n++;
		}
		mine[i].cookie = 0;
	}
	pthread_mutex_unlock(&slots_lock);
	if (n)
		ff_note_fallback(FF_FB_PEER_DIED, "a connection ended with payloads in flight");
}

bool ff_slot_check(const struct ff_doorbell *db, uint32_t key)
{
	const struct ff_region_header *h;
	uint32_t w, st;

	if (!ff_mapped())
		return false;
	h = ff_rg()->hdr;
	if (db->slot >= h->slot_count || db->offset > h->slot_size || db->len > h->slot_size - db->offset)
		return false;
	w = atomic_load_explicit(&meta(db->slot)->word, memory_order_acquire);
	st = FF_SLOT_STATE(w);
	return FF_SLOT_GEN(w) == (db->gen & FF_SLOT_GEN_MASK) &&
	       (st == FF_SLOT_FILLED || st == FF_SLOT_READING) &&
	       atomic_load(&meta(db->slot)->conn_key) == key &&
	       db->offset + db->len <= atomic_load(&meta(db->slot)->len);
}

int ff_slot_claim(const struct ff_doorbell *db, uint32_t key)
{
	struct ff_slot_meta *m;
	uint32_t w;

	if (!ff_slot_check(db, key))
		return -1;
	if (!ff_is_sandboxed()) {        /* a sandboxed process may not reach the coordinator */
		ff_ctl_fresh();
		if (!ff_ctl.client_id)
			ff_ctl_ensure();
	}
	m = meta(db->slot);
	atomic_store(&m->reader, ff_ctl.client_id);
	w = FF_SLOT_WORD(db->gen & FF_SLOT_GEN_MASK, FF_SLOT_FILLED);
	if (cas_word(db->slot, w, FF_SLOT_WORD(db->gen & FF_SLOT_GEN_MASK, FF_SLOT_READING)))
		return 0;
	/* Already READING: we inherited the claim (fork, exec) for the doorbell at our head. */
	return FF_SLOT_STATE(atomic_load(&m->word)) == FF_SLOT_READING &&
	       FF_SLOT_GEN(atomic_load(&m->word)) == (db->gen & FF_SLOT_GEN_MASK) ? 0 : -1;
}

void ff_slot_release(uint32_t slot, uint32_t gen)
{
	struct ff_slot_meta *m = meta(slot);
	uint64_t filled = atomic_load(&m->filled_ns), now = ff_now_ns();

	gen &= FF_SLOT_GEN_MASK;
	atomic_store(&m->reader, 0);
	if (!cas_word(slot, FF_SLOT_WORD(gen, FF_SLOT_READING),
		      FF_SLOT_WORD((gen + 1) & FF_SLOT_GEN_MASK, FF_SLOT_LEASED)))
		return;
	if (filled && now > filled) {
		ff_counter_add(&ff_rg()->hdr->c.region_ns, now - filled);
		ff_counter_add(&ff_rg()->hdr->c.region_lat_count, 1);
	}
	if (atomic_load(&m->waiters))
		futex_wake(&m->word);
}

/* A run's slot (tx_run.c) stays ours while its writer may append: its reader seals the run and
 * gives the slot back at any time, and a copy already under way must not land in a slot this
 * process has meanwhile filled for another connection. `to`: bytes to map in now. */
void ff_slot_run_reserve(uint32_t slot, bool on, uint64_t to)
{
	pthread_mutex_lock(&slots_lock);
	for (uint32_t i = 0; i < nmine; i++) {
		if (mine[i].slot != slot)
			continue;
		mine[i].run = on;
		if (on)
			populate(&mine[i], to);
		else
			mine[i].bytes = to;
		break;
	}
	pthread_mutex_unlock(&slots_lock);
}

/* A reader about to seal a run that is still growing lets it grow while its writer keeps
 * appending: until no byte came for SETTLE_IDLE_NS, or for SETTLE_MAX_NS in all, or the
 * writer ended it. The bytes are already there to read; the read only returns a little later
 * with more of them. When the reader keeps up, every write otherwise ends its own run, which
 * costs a doorbell and a seal where the run was meant to save them: a 2 MiB stream of 64-byte
 * writes ran at 0.12 to 0.74 GB/s (TCP 0.24), depending on which side led at its start, and
 * at 0.66 to 0.80 in every run with this wait. Five 64-byte writes and a reply (Python):
 * 19.4 us a round trip with it and without. */
#define SETTLE_IDLE_NS  (2u * 1000)
#define SETTLE_MAX_NS   (20u * 1000)

void ff_run_settle(const struct ff_doorbell *db)
{
	uint64_t max = (uint64_t)ff_proc.cfg.spin_wait_us * 1000, v, t0, seen;
	struct ff_slot_meta *m;

	/* (not on one CPU, where it would only hold the writer back; SPIN_WAIT_US caps it) */
	if (!ff_mapped() || db->slot >= ff_rg()->hdr->slot_count || !ff_may_spin())
		return;
	if (max > SETTLE_MAX_NS)
		max = SETTLE_MAX_NS;
	m = meta(db->slot);
	v = atomic_load_explicit(&m->run, memory_order_relaxed);
	t0 = seen = ff_now_ns();
	while ((v & FF_RUN_OPEN) && (v & ~FF_RUN_OPEN) < ff_rg()->hdr->slot_size) {
		uint64_t now, w;

		for (int k = 0; k < 16; k++)
			ff_cpu_relax();
		now = ff_now_ns();
		w = atomic_load_explicit(&m->run, memory_order_relaxed);
		if (w != v) {
			v = w;
			seen = now;
		} else if (now - seen >= SETTLE_IDLE_NS) {
			break;
		}
		if (now - t0 >= max)
			break;
	}
}

/* The reader's first look at a run's doorbell: no byte is appended from now on. Returns the
 * run's final length from db->offset, or 0 if db is not a run of this connection now. */
uint64_t ff_run_seal(const struct ff_doorbell *db, uint32_t key)
{
	const struct ff_region_header *h;
	struct ff_slot_meta *m;
	uint64_t v, cur;
	uint32_t w, st;

	if (!ff_mapped())
		return 0;
	h = ff_rg()->hdr;
	if (db->slot >= h->slot_count)
		return 0;
	m = meta(db->slot);
	w = atomic_load_explicit(&m->word, memory_order_acquire);
	st = FF_SLOT_STATE(w);
	if (FF_SLOT_GEN(w) != (db->gen & FF_SLOT_GEN_MASK) ||
	    (st != FF_SLOT_FILLED && st != FF_SLOT_READING) || atomic_load(&m->conn_key) != key)
		return 0;
	v = atomic_fetch_and_explicit(&m->run, ~FF_RUN_OPEN, memory_order_acq_rel) & ~FF_RUN_OPEN;
	if (v > h->slot_size || db->offset > v || v - db->offset < db->len)
		return 0;
	/* ff_slot_check measures doorbells against the slot's length: the run's, from now on */
	cur = atomic_load(&m->len);
	while (cur < v && !atomic_compare_exchange_weak(&m->len, &cur, v))
		;
	return v - db->offset;
}

void ff_slots_after_fork(void)
{
	pthread_mutex_init(&slots_lock, NULL);
	/* Those slots belong to the parent's lease; the child leases its own. */
	nmine = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Lock held: n consecutive idle slots of ours, marked for the application. */
static int64_t find_run(uint32_t n)
{
	uint32_t *idx = malloc((nmine ? nmine : 1) * sizeof(*idx)), k = 0, run = 0;
	int64_t first = -1;

	if (!idx)
		return -1;
	for (uint32_t i = 0; i < nmine; i++) {
		uint32_t w = atomic_load(&meta(mine[i].slot)->word);
		if (FF_SLOT_STATE(w) == FF_SLOT_LEASED && !mine[i].app && !mine[i].run &&
		    atomic_load(&meta(mine[i].slot)->owner) == ff_ctl.client_id)
			idx[k++] = mine[i].slot;
	}
	qsort(idx, k, sizeof(*idx), cmp_u32);
	for (uint32_t i = 0; i < k && first < 0; i++) {
		run = (i && idx[i] == idx[i - 1] + 1) ? run + 1 : 1;
		if (run == n)
			first = idx[i] - (n - 1);
	}
	free(idx);
	if (first < 0)
		return -1;
	for (uint32_t i = 0; i < nmine; i++)
		if (mine[i].slot >= first && mine[i].slot < first + n) {
			mine[i].app = true;
			populate(&mine[i], ff_rg()->hdr->slot_size);
		}
	return first;
}

int64_t ff_slots_alloc_run(uint32_t n)
{
	int64_t first = -1;

	if (!n || (!ff_ctl.client_id && !ff_ctl_ensure()) || n > ff_ctl.quota)
		return -1;
	pthread_mutex_lock(&slots_lock);
	for (int attempt = 0; attempt < 64 && first < 0; attempt++) {
		first = find_run(n);
		if (first < 0 && !lease_more())
			break;
	}
	pthread_mutex_unlock(&slots_lock);
	return first;
}

void ff_slots_free_run(uint32_t first, uint32_t n)
{
	pthread_mutex_lock(&slots_lock);
	for (uint32_t i = 0; i < nmine; i++)
		if (mine[i].slot >= first && mine[i].slot < first + n)
			mine[i].app = false;
	pthread_mutex_unlock(&slots_lock);
}

/* A payload the application wrote in place: the slot must be one of its faasflow_alloc()
 * slots. If an earlier send of it is still being read, a blocking sender waits for the reader
 * to give it back (backpressure, as TCP would block); otherwise -1 (the caller copies). */
int ff_slot_take_app(uint32_t slot, uint64_t cookie, uint32_t key, int fd, bool may_wait,
		     uint32_t *gen)
{
	for (;;) {
		int r = -1;
		bool busy = false;
		uint32_t w = 0;

		pthread_mutex_lock(&slots_lock);
		for (uint32_t i = 0; i < nmine; i++) {
			if (mine[i].slot != slot || !mine[i].app)
				continue;
			w = atomic_load(&meta(slot)->word);
			if (FF_SLOT_STATE(w) == FF_SLOT_LEASED)
				atomic_store(&meta(slot)->conn_key, key);   /* (see take_idle) */
			if (FF_SLOT_STATE(w) == FF_SLOT_LEASED &&
			    cas_word(slot, w, FF_SLOT_WORD(FF_SLOT_GEN(w), FF_SLOT_FILLED))) {
				*gen = FF_SLOT_GEN(w);
				mine[i].cookie = cookie;
				mine[i].seq = ++fill_seq;
				mine[i].bytes = 0;       /* the application's memory: not counted */
				r = 0;
			} else {
				busy = FF_SLOT_STATE(w) == FF_SLOT_FILLED ||
				       FF_SLOT_STATE(w) == FF_SLOT_READING;
			}
			break;
		}
		pthread_mutex_unlock(&slots_lock);
		if (r == 0 || !busy || !may_wait)
			return r;
		if (ff_slot_wait(slot, w, fd, cookie, 0) < 0)
			return -2;
	}
}
