/* The pair table (pairs.h). */
#include <string.h>

#include "pairs.h"

static uint64_t pair_key(const struct ff_tuple *t, int role)
{
	uint64_t h = 0x7061697273ull, w;

	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, t->srv + i, 8);
		h = ff_hash_mix(h, w);
		memcpy(&w, t->cli + i, 8);
		h = ff_hash_mix(h, w);
	}
	h = ff_hash_mix(h, (uint64_t)t->srv_port << 16 | t->cli_port);
	return (h & ~3ull) | (uint64_t)role;     /* never 0 nor FF_PAIR_BUSY: role is 1 or 2 */
}

uint32_t ff_dir_key(const uint8_t id[16], const uint8_t from[16], uint16_t fport,
		    const uint8_t to[16], uint16_t tport)
{
	uint64_t h = 0x66617361666c6f77ull, w;

	for (int i = 0; i < 16; i += 8) {
		memcpy(&w, from + i, 8);
		h = ff_hash_mix(h, w);
		memcpy(&w, to + i, 8);
		h = ff_hash_mix(h, w);
		memcpy(&w, id + i, 8);
		h = ff_hash_mix(h, w);
	}
	h = ff_hash_mix(h, (uint64_t)fport << 16 | tport);
	return (uint32_t)h ? (uint32_t)h : 1;
}

static struct ff_pair *table(const struct ff_region *r)
{
	return (struct ff_pair *)(void *)((uint8_t *)r->base + r->hdr->pairs_offset);
}

static uint64_t first(const struct ff_region *r, uint64_t key)
{
	return (key >> 2) & (r->hdr->pairs_count - 1);   /* a power of two */
}

int64_t ff_pair_put(struct ff_region *r, const struct ff_tuple *t, int role, uint32_t owner,
		    uint64_t now_ns, uint64_t *keyp)
{
	struct ff_pair *tab = table(r);
	uint64_t key = pair_key(t, role), n = r->hdr->pairs_count, at = first(r, key);

	for (unsigned k = 0; k < FF_PAIR_WINDOW && k < n; k++) {
		struct ff_pair *p = &tab[(at + k) & (n - 1)];
		uint64_t free_key = 0;

		if (!atomic_compare_exchange_strong(&p->key, &free_key, FF_PAIR_BUSY))
			continue;
		atomic_store_explicit(&p->owner, owner, memory_order_relaxed);
		p->role = (uint32_t)role;
		atomic_store_explicit(&p->since_ns, now_ns, memory_order_relaxed);
		p->t = *t;
		atomic_store_explicit(&p->tx, 0, memory_order_relaxed);
		atomic_store_explicit(&p->key, key, memory_order_release);
		*keyp = key;
		return (int64_t)((at + k) & (n - 1));
	}
	return -1;
}

/* The word's tag: this very entry (its key and the time it was put), so a word written late
 * for an entry that went never speaks for one put since at the same place, even for the same
 * addresses (an entry left after a fork, swept, the addresses used again). */
static uint32_t tx_tag(uint64_t key, uint64_t since_ns)
{
	return (uint32_t)ff_hash_mix(key, since_ns) & ~3u;
}

/* Is there an entry for t by role, and (tx) what does it say about its direction's start?
 * Said only by the one entry for t held by a live process: an entry left after a fork (owner
 * 0) may be an earlier connection's with the same addresses, and two held ones (the same
 * addresses in two network namespaces) cannot be told apart; then nothing is said (the
 * reader looks at the stream). */
static bool find(const struct ff_region *r, const struct ff_tuple *t, int role, uint32_t *tx)
{
	struct ff_pair *tab = table(r);
	uint64_t key = pair_key(t, role), n = r->hdr->pairs_count, at = first(r, key);
	unsigned held = 0, found = 0;

	*tx = FF_PAIR_TX_UNKNOWN;
	for (unsigned k = 0; k < FF_PAIR_WINDOW && k < n; k++) {
		struct ff_pair *p = &tab[(at + k) & (n - 1)];
		struct ff_tuple seen;
		uint64_t since;
		uint32_t v, owner;

		if (atomic_load_explicit(&p->key, memory_order_acquire) != key)
			continue;
		seen = p->t;
		v = atomic_load_explicit(&p->tx, memory_order_acquire);
		since = atomic_load_explicit(&p->since_ns, memory_order_relaxed);
		owner = atomic_load_explicit(&p->owner, memory_order_relaxed);
		if (p->role != (uint32_t)role ||
		    atomic_load_explicit(&p->key, memory_order_acquire) != key ||
		    memcmp(&seen, t, sizeof(seen)) != 0)
			continue;
		found++;
		if (owner && ++held == 1)
			*tx = (v & ~3u) == tx_tag(key, since) ? v & 3u : FF_PAIR_TX_UNKNOWN;
	}
	if (held != 1)
		*tx = FF_PAIR_TX_UNKNOWN;
	return found > 0;
}

bool ff_pair_seen(const struct ff_region *r, const struct ff_tuple *t, int role)
{
	uint32_t tx;

	return find(r, t, role, &tx);
}

uint32_t ff_pair_tx_of(const struct ff_region *r, const struct ff_tuple *t, int role)
{
	uint32_t tx = FF_PAIR_TX_UNKNOWN;

	return find(r, t, role, &tx) ? tx : FF_PAIR_TX_UNKNOWN;
}

void ff_pair_set_tx(struct ff_region *r, int64_t i, uint64_t key, uint64_t since_ns, uint32_t tx)
{
	if (i >= 0 && (uint64_t)i < r->hdr->pairs_count)
		atomic_store_explicit(&table(r)[i].tx, tx_tag(key, since_ns) | (tx & 3u),
				      memory_order_release);
}

void ff_pair_drop(struct ff_region *r, int64_t i, uint64_t key)
{
	uint64_t want = key;

	if (i >= 0 && (uint64_t)i < r->hdr->pairs_count)
		atomic_compare_exchange_strong(&table(r)[i].key, &want, 0);
}

void ff_pair_leave(struct ff_region *r, int64_t i, uint64_t key, uint64_t now_ns)
{
	struct ff_pair *p;

	if (i < 0 || (uint64_t)i >= r->hdr->pairs_count)
		return;
	p = &table(r)[i];
	if (atomic_load(&p->key) != key)
		return;
	atomic_store(&p->since_ns, now_ns);
	atomic_store(&p->owner, 0);
}

uint64_t ff_pair_sweep(struct ff_region *r, bool (*gone)(uint32_t owner, void *arg),
		       bool (*known)(uint32_t owner, void *arg), void *arg, uint64_t now_ns,
		       uint64_t old_ns)
{
	struct ff_pair *tab = table(r);
	uint64_t n = r->hdr->pairs_count, dropped = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t key = atomic_load(&tab[i].key);
		uint32_t owner;

		if (key == 0 || key == FF_PAIR_BUSY)
			continue;
		owner = atomic_load(&tab[i].owner);
		if (gone(owner, arg) ||
		    (old_ns && !known(owner, arg) &&
		     now_ns - atomic_load(&tab[i].since_ns) > old_ns)) {
			if (atomic_compare_exchange_strong(&tab[i].key, &key, 0))
				dropped++;
		}
	}
	return dropped;
}

size_t ff_pair_reader_keys(const struct ff_region *r, bool (*live)(uint32_t owner, void *arg),
			   void *arg, uint32_t *out, size_t max)
{
	const struct ff_pair *tab = table(r);
	uint64_t n = r->hdr->pairs_count;
	size_t got = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t key = atomic_load_explicit(&tab[i].key, memory_order_acquire);
		struct ff_tuple t;

		if (key == 0 || key == FF_PAIR_BUSY || !live(atomic_load(&tab[i].owner), arg))
			continue;
		/* (an entry taken and put again meanwhile gives another live connection's key:
		 * a slot is then kept longer, never freed early) */
		memcpy(&t, &tab[i].t, sizeof(t));
		if (got < max)
			out[got] = (key & 3u) == FF_PAIR_SERVER
				? ff_dir_key(r->hdr->region_id, t.cli, t.cli_port, t.srv, t.srv_port)
				: ff_dir_key(r->hdr->region_id, t.srv, t.srv_port, t.cli, t.cli_port);
		got++;
	}
	return got;
}
