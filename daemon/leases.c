/* Slot pool: leases, returns, reclamation of dead clients' slots, orphans.
 *
 * The region's slot meta is shared with the shims, which move slots LEASED -> FILLED (writer),
 * FILLED -> READING (reader claims), READING -> LEASED with gen+1 (reader done). The daemon
 * owns every move into and out of FREE, always by compare-and-swap on the meta word so a
 * concurrent claim by a reader is never lost. The pool bookkeeping (who owns which slot, the
 * LIFO free list) lives in daemon memory: a flat array indexed by slot, since slots are dense. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "pairs.h"
#include "sys.h"

static uint32_t gen_next(uint32_t gen)
{
	return (gen + 1) & FF_SLOT_GEN_MASK;
}

int ffd_leases_init(struct ffd_tenant *t)
{
	uint64_t n = t->r.hdr->slot_count;

	t->slots = calloc(n ? n : 1, sizeof(*t->slots));
	t->free_stack = calloc(n ? n : 1, sizeof(*t->free_stack));
	if (!t->slots || !t->free_stack) {
		free(t->slots);
		free(t->free_stack);
		t->slots = NULL;
		t->free_stack = NULL;
		errno = ENOMEM;
		return -1;
	}
	t->nfree = 0;
	t->norphans = 0;
	t->nprior = 0;
	/* After a restart anything not FREE is an orphan of a previous client (client ids of
	 * this run never collide with old ones, see server.c). Its owner process may well be
	 * alive, still counting the slot as its own (a restart must lose nothing): such a slot
	 * keeps its owner in the region and waits for that pid to register again, which adopts
	 * it (ffd_leases_adopt); only when that pid is gone do the orphan rules apply. Push high
	 * indices first so slot 0 is leased first. */
	for (uint64_t i = n; i-- > 0;) {
		struct ff_slot_meta *m = &t->r.meta[i];
		uint32_t w = atomic_load(&m->word);

		if (FF_SLOT_STATE(w) == FF_SLOT_FREE) {
			t->slots[i].where = FFD_POOL;
			t->free_stack[t->nfree++] = (uint32_t)i;
		} else {
			uint64_t filled = atomic_load(&m->filled_ns), now = ffd_now_ns();

			t->slots[i].where = FFD_ORPHAN;
			t->slots[i].owner = atomic_load(&m->owner);
			t->slots[i].pid = (pid_t)atomic_load(&m->owner_pid);
			t->slots[i].prior = t->slots[i].pid > 0;
			t->nprior += t->slots[i].prior;
			/* Age from when it was filled (CLOCK_MONOTONIC, shared by every process of
			 * the host), so restarts do not keep resetting the orphan timeout. */
			t->slots[i].orphan_since = filled && filled < now ? filled : now;
			t->norphans++;
		}
	}
	atomic_store(&t->r.hdr->c.slots_leased, n - t->nfree);
	if (t->norphans)
		log_info("tenant %s: %llu slots were in use before this start; reclaiming them",
		         t->name, (unsigned long long)t->norphans);
	return 0;
}

void ffd_leases_free(struct ffd_tenant *t)
{
	free(t->slots);
	free(t->free_stack);
	t->slots = NULL;
	t->free_stack = NULL;
}

static void update_leased(struct ffd_tenant *t)
{
	struct ff_counters *c = &t->r.hdr->c;
	uint64_t out = t->r.hdr->slot_count - t->nfree;

	atomic_store(&c->slots_leased, out);
	if (out > atomic_load(&c->slots_hwm))
		atomic_store(&c->slots_hwm, out);
}

/* Slot i (meta already set FREE) goes back on top of the free list. */
static void prior_clear(struct ffd_tenant *t, uint32_t i)
{
	if (t->slots[i].prior) {
		t->slots[i].prior = false;
		t->nprior--;
	}
}

static void pool_push(struct ffd_tenant *t, uint32_t i)
{
	prior_clear(t, i);
	if (t->slots[i].where == FFD_ORPHAN)
		t->norphans--;
	t->slots[i].where = FFD_POOL;
	t->slots[i].owner = 0;
	t->free_stack[t->nfree++] = i;
}

/* CAS meta word from `w` to FREE(gen+1). Returns true on success. */
static bool meta_free(struct ff_slot_meta *m, uint32_t w)
{
	uint32_t nw = FF_SLOT_WORD(gen_next(FF_SLOT_GEN(w)), FF_SLOT_FREE);

	if (!atomic_compare_exchange_strong(&m->word, &w, nw))
		return false;
	atomic_store(&m->owner, 0);
	atomic_store(&m->reader, 0);
	atomic_store(&m->owner_pid, 0);
	atomic_store(&m->len, 0);
	return true;
}

/* QUOTA is per process (its pid, as SO_PEERCRED gave it): a process holding several control
 * connections does not get a quota on each. A peer in a pid namespace the coordinator cannot
 * see (a coordinator in a container without the host's pids) has pid 0: every such process
 * would share one quota, so each of its connections counts alone. */
static uint64_t held_by_process(struct ffd_server *s, const struct ffd_client *c)
{
	struct ffd_client *x, *tmp;
	uint64_t h = 0;

	if (c->pid <= 0)
		return c->held;
	HASH_ITER(hh_fd, s->by_fd, x, tmp)
		if (x->t == c->t && x->pid == c->pid)
			h += x->held;
	return h;
}

int ffd_lease(struct ffd_server *s, struct ffd_client *c, uint32_t want, uint32_t *slots,
              uint32_t *n)
{
	struct ffd_tenant *t = c->t;
	uint32_t quota = s->cfg.quota;
	uint64_t held = held_by_process(s, c);
	uint64_t room = held < quota ? quota - held : 0;
	uint64_t give = want;

	*n = 0;
	ff_counter_add(&t->r.hdr->c.lease_requests, 1);
	if (want == 0)
		return EINVAL;
	if (give > FF_LEASE_MAX)
		give = FF_LEASE_MAX;
	if (give > room)
		give = room;
	if (give > t->nfree)
		give = t->nfree;
	if (give == 0)
		return room == 0 ? EDQUOT : ENOSPC;

	for (uint64_t k = 0; k < give; k++) {
		uint32_t i = t->free_stack[--t->nfree];
		struct ff_slot_meta *m = &t->r.meta[i];
		uint32_t w = atomic_load(&m->word);

		atomic_store(&m->owner, c->id);
		atomic_store(&m->owner_pid, (uint32_t)c->pid);
		atomic_store(&m->reader, 0);
		atomic_store(&m->len, 0);
		atomic_store(&m->word, FF_SLOT_WORD(FF_SLOT_GEN(w), FF_SLOT_LEASED));
		t->slots[i].where = FFD_OUT;
		t->slots[i].owner = c->id;
		slots[(*n)++] = i;
	}
	c->held += give;
	update_leased(t);
	return 0;
}

/* Returns how many of the listed slots were refused (not owned by c, or not LEASED). */
uint32_t ffd_return(struct ffd_client *c, const uint32_t *slots, uint32_t n)
{
	struct ffd_tenant *t = c->t;
	uint32_t bad = 0;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = slots[k];
		struct ff_slot_meta *m;
		uint32_t w;

		if (i >= t->r.hdr->slot_count || t->slots[i].where != FFD_OUT ||
		    t->slots[i].owner != c->id) {
			bad++;
			continue;
		}
		m = &t->r.meta[i];
		w = atomic_load(&m->word);
		if (FF_SLOT_STATE(w) != FF_SLOT_LEASED || !meta_free(m, w)) {
			bad++;
			continue;
		}
		pool_push(t, i);
		c->held--;
		t->returns++;
	}
	t->bad_returns += bad;
	if (bad)
		log_warnx("client %u (pid %d) returned %u slot(s) it does not hold idle; ignored",
		          c->id, (int)c->pid, bad);
	update_leased(t);
	return bad;
}

/* Was this id given out by this run of the coordinator? A reader id from before a restart
 * belongs to a process that may be alive and still copying (it re-stamps its claims when it
 * notices the restart), so only ids of this run are known to be dead. */
static bool issued_here(const struct ffd_server *s, uint32_t id)
{
	return id != 0 && id != FF_READER_HANDOVER && id - s->first_id < s->next_id - s->first_id;
}

/* A READING slot whose reader is gone for sure. */
static bool reader_dead(struct ffd_server *s, uint32_t id)
{
	return issued_here(s, id) && ffd_client_by_id(s, id) == NULL;
}

static bool client_alive(struct ffd_server *s, uint32_t id)
{
	return id == FF_READER_HANDOVER || (id != 0 && ffd_client_by_id(s, id) != NULL);
}

/* Reader `dead` is gone while slot i was READING: give the slot back to its owner if that one
 * lives (it still holds the lease), otherwise free it. Returns 1 if the slot went to the pool. */
static int reader_gone(struct ffd_server *s, struct ffd_tenant *t, uint32_t i, uint32_t w)
{
	struct ff_slot_meta *m = &t->r.meta[i];
	struct ffd_slot *sl = &t->slots[i];

	if (sl->where == FFD_OUT && client_alive(s, sl->owner)) {
		uint32_t nw = FF_SLOT_WORD(gen_next(FF_SLOT_GEN(w)), FF_SLOT_LEASED);

		if (atomic_compare_exchange_strong(&m->word, &w, nw)) {
			atomic_store(&m->reader, 0);
			log_debug("slot %u: reader died, back to owner %u", i, sl->owner);
		}
		return 0;
	}
	if (!meta_free(m, w))
		return 0;
	pool_push(t, i);
	return 1;
}

/* The pair table (common/pairs.h): a dead process's entries go with it; entries whose owner
 * this run does not know (put before a restart, or left by a process that forked) go once
 * they are older than PAIR_OLD_NS, looked at every PAIR_SWEEP_NS. An entry proves its end to the
 * other end's first write, within moments of connect(), and names its end as the reader of
 * the direction towards it for as long as its owner holds the connection. */
#define PAIR_OLD_NS   (60ull * 1000 * 1000 * 1000)
#define PAIR_SWEEP_NS (10ull * 1000 * 1000 * 1000)

struct pair_sweep {
	struct ffd_server *s;
	uint32_t dead;
};

static bool pair_owner_gone(uint32_t owner, void *arg)
{
	const struct pair_sweep *p = arg;

	return owner != 0 && (owner == p->dead || reader_dead(p->s, owner));
}

static bool pair_owner_known(uint32_t owner, void *arg)
{
	const struct pair_sweep *p = arg;

	return client_alive(p->s, owner);
}

static void pairs_sweep(struct ffd_server *s, struct ffd_tenant *t, uint32_t dead, uint64_t now)
{
	struct pair_sweep p = { s, dead };
	uint64_t old = 0;

	if (dead)
		ffd_readers_dead(t, dead, now);

	if (now - t->pairs_swept_ns >= PAIR_SWEEP_NS) {
		old = PAIR_OLD_NS;
		t->pairs_swept_ns = now;
	} else if (!dead) {
		return;
	}
	if (ff_pair_sweep(&t->r, pair_owner_gone, pair_owner_known, &p, now, old))
		log_debug("tenant %s: pair entries of gone processes removed", t->name);
}

void ffd_leases_client_gone(struct ffd_server *s, struct ffd_client *c)
{
	struct ffd_tenant *t = c->t;
	uint64_t n = t->r.hdr->slot_count, freed = 0, orphaned = 0;

	for (uint64_t i = 0; i < n; i++) {
		struct ffd_slot *sl = &t->slots[i];
		struct ff_slot_meta *m = &t->r.meta[i];
		uint32_t w = atomic_load(&m->word);
		uint32_t st = FF_SLOT_STATE(w);

		if (sl->where == FFD_POOL)
			continue;
		if (st == FF_SLOT_READING && atomic_load(&m->reader) == c->id) {
			if (sl->owner != c->id) {
				freed += reader_gone(s, t, (uint32_t)i, w);
				continue;
			}
		}
		if (sl->where != FFD_OUT || sl->owner != c->id)
			continue;
		if (st == FF_SLOT_LEASED && meta_free(m, w)) {
			pool_push(t, (uint32_t)i);
			freed++;
		} else {
			/* FILLED, READING (or changing under us): a reader may still copy it out. */
			sl->where = FFD_ORPHAN;
			sl->orphan_since = ffd_now_ns();
			atomic_store(&m->owner, 0);
			t->norphans++;
			orphaned++;
		}
	}
	c->held = 0;
	pairs_sweep(s, t, c->id, ffd_now_ns());
	if (freed)
		ff_counter_add(&t->r.hdr->c.reclaimed, freed);
	update_leased(t);
	if (freed || orphaned)
		log_info("client %u (pid %d) gone: %llu slot(s) back to the pool, %llu in flight "
		         "left to their readers", c->id, (int)c->pid, (unsigned long long)freed,
		         (unsigned long long)orphaned);
}

/* A process registers: the slots it held under a previous coordinator are its own again
 * (same pid; the region still names it as their owner). */
void ffd_leases_adopt(struct ffd_client *c)
{
	struct ffd_tenant *t = c->t;
	uint64_t n = t->r.hdr->slot_count, got = 0;

	if (!t->nprior || c->pid <= 0)
		return;
	for (uint64_t i = 0; i < n; i++) {
		struct ffd_slot *sl = &t->slots[i];

		if (!sl->prior || sl->pid != c->pid || sl->where != FFD_ORPHAN)
			continue;
		prior_clear(t, (uint32_t)i);
		sl->where = FFD_OUT;
		sl->owner = c->id;
		atomic_store(&t->r.meta[i].owner, c->id);
		t->norphans--;
		c->held++;
		got++;
	}
	if (got)
		log_info("client %u (pid %d): %llu slot(s) it held before this start are its own again",
		         c->id, (int)c->pid, (unsigned long long)got);
}

/* One orphan: back to the pool once its reader is done or dead, or after the timeout. */
static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static int tick_orphan(struct ffd_server *s, struct ffd_tenant *t, uint32_t i, uint64_t now)
{
	struct ff_slot_meta *m = &t->r.meta[i];
	uint32_t w = atomic_load(&m->word);
	bool take;

	if (t->slots[i].prior) {
		if (pid_alive(t->slots[i].pid))
			return 0;          /* its owner lives on: it adopts the slot when it registers */
		prior_clear(t, i);
		atomic_store(&m->owner, 0);
	}

	switch (FF_SLOT_STATE(w)) {
	case FF_SLOT_LEASED:
	case FF_SLOT_FREE:
		take = true;
		break;
	case FF_SLOT_READING:
		/* Back when its reader is dead for sure; a hand-over nobody completed, or a
		 * reader from before a restart that never showed up again, after the timeout. */
		take = reader_dead(s, atomic_load(&m->reader)) ||
		       ((!client_alive(s, atomic_load(&m->reader)) ||
			 atomic_load(&m->reader) == FF_READER_HANDOVER) &&
			now - t->slots[i].orphan_since > FFD_ORPHAN_TIMEOUT_NS);
		break;
	default: /* FILLED */
		switch (ffd_readers_state(s, t, atomic_load(&m->conn_key), now)) {
		case FFD_RK_LIVE:     /* its reader lives: it stays as long as the connection */
			take = false;
			break;
		case FFD_RK_GONE:     /* every reader closed or exited */
			take = true;
			break;
		default:
			take = now - t->slots[i].orphan_since > FFD_ORPHAN_TIMEOUT_NS;
			if (take)
				log_warnx("slot %u: filled by a dead process, no reader known, unread "
				          "for %llu s; reclaimed", i,
				          (unsigned long long)(FFD_ORPHAN_TIMEOUT_NS / 1000000000ULL));
			break;
		}
		break;
	}
	if (!take || !meta_free(m, w))
		return 0;
	pool_push(t, i);
	return 1;
}

/* Owner alive, slot FILLED, every reader of its connection gone: nobody will read it, so it
 * goes back to its owner (the owner's next fill finds it idle), as a reset connection's
 * unread bytes leave TCP's send buffer. */
static void unread_back(struct ffd_server *s, struct ffd_tenant *t, uint32_t i, uint64_t now)
{
	struct ff_slot_meta *m = &t->r.meta[i];
	uint32_t w = atomic_load(&m->word);

	if (FF_SLOT_STATE(w) != FF_SLOT_FILLED ||
	    ffd_readers_state(s, t, atomic_load(&m->conn_key), now) != FFD_RK_GONE)
		return;
	if (atomic_compare_exchange_strong(&m->word, &w,
	                                   FF_SLOT_WORD(gen_next(FF_SLOT_GEN(w)), FF_SLOT_LEASED))) {
		atomic_store(&m->reader, 0);
		if (atomic_load(&m->waiters))
			ff_sys_futex_wake(&m->word);
		log_debug("slot %u: its readers are gone, back to owner %u", i, t->slots[i].owner);
	}
}

void ffd_leases_tick(struct ffd_server *s, struct ffd_tenant *t)
{
	uint64_t n = t->r.hdr->slot_count, freed = 0, now = ffd_now_ns();
	bool unread = t->nrkeys_gone != 0;

	pairs_sweep(s, t, 0, now);
	if (!t->norphans && !s->scan_ticks && !unread)
		return;
	for (uint64_t i = 0; i < n; i++) {
		struct ffd_slot *sl = &t->slots[i];
		uint32_t w;

		if (sl->where == FFD_ORPHAN) {
			freed += tick_orphan(s, t, (uint32_t)i, now);
			continue;
		}
		if (sl->where != FFD_OUT)
			continue;
		if (unread)
			unread_back(s, t, (uint32_t)i, now);
		if (!s->scan_ticks)
			continue;
		/* Owner alive, but a reader died in the middle of copying out. */
		w = atomic_load(&t->r.meta[i].word);
		if (FF_SLOT_STATE(w) == FF_SLOT_READING &&
		    reader_dead(s, atomic_load(&t->r.meta[i].reader)))
			freed += reader_gone(s, t, (uint32_t)i, w);
	}
	ffd_readers_tick(t, now);
	if (freed) {
		ff_counter_add(&t->r.hdr->c.reclaimed, freed);
		update_leased(t);
		log_info("tenant %s: %llu orphaned slot(s) back to the pool", t->name,
		         (unsigned long long)freed);
	}
}

void ffd_leases_count(const struct ffd_tenant *t, struct ff_stats *st)
{
	uint64_t n = t->r.hdr->slot_count;

	st->slot_count = n;
	st->slots_free = t->nfree;
	st->slots_leased = st->slots_filled = st->slots_reading = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (t->slots[i].where == FFD_POOL)
			continue;
		switch (FF_SLOT_STATE(atomic_load(&t->r.meta[i].word))) {
		case FF_SLOT_FILLED:
			st->slots_filled++;
			break;
		case FF_SLOT_READING:
			st->slots_reading++;
			break;
		default:
			st->slots_leased++;
			break;
		}
	}
	st->slots_hwm = atomic_load(&t->r.hdr->c.slots_hwm);
}

size_t ffd_leases_list(const struct ffd_server *s, const struct ffd_tenant *t,
                       struct ff_lease_info *out, size_t max)
{
	uint64_t n = t->r.hdr->slot_count;
	size_t k = 0;

	for (uint64_t i = 0; i < n && k < max; i++) {
		const struct ffd_slot *sl = &t->slots[i];
		const struct ff_slot_meta *m = &t->r.meta[i];
		struct ffd_client *c;
		uint32_t w;

		if (sl->where == FFD_POOL)
			continue;
		w = atomic_load(&((struct ff_slot_meta *)m)->word);
		c = ffd_client_by_id((struct ffd_server *)s, sl->owner);
		out[k].slot = (uint32_t)i;
		out[k].state = FF_SLOT_STATE(w);
		out[k].owner_id = sl->owner;
		out[k].owner_pid = sl->where == FFD_OUT && c ? (int32_t)c->pid : 0;
		out[k].reader_id = atomic_load(&((struct ff_slot_meta *)m)->reader);
		out[k].gen = FF_SLOT_GEN(w);
		k++;
	}
	return k;
}
