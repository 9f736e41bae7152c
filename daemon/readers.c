/* Who may still read which connection. A process that reads (or may read) a connection
 * names it by the key its writer puts in every slot it announces on it (struct ff_hello's
 * conn_key); the shim says so when it accepts or connects, when a hello shows a key it did
 * not predict, when it inherits a connection, and again after a coordinator restart; it
 * takes the name back when its last descriptor of the connection closes.
 *
 * A slot in flight on a key that a live process reads is never taken back by a timer (TCP
 * keeps unread bytes for as long as the connection exists). When every reader of a key is
 * gone, its slots come back after FFD_READER_GRACE_NS (a connection handed to another process
 * is named again by the receiver within that time). A key nobody ever named (a reader that
 * did not run the shim's registration, or a hello translated by NAT before its first read)
 * keeps the old rule: FFD_ORPHAN_TIMEOUT_NS after its writer died.
 *
 * Keys are 32 bits: two connections may share one. That only keeps slots longer, never
 * frees one early (a key is "gone" only when all of its readers are). */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static struct ffd_rkey *rkey_find(const struct ffd_tenant *t, uint32_t key)
{
	struct ffd_rkey *k;

	HASH_FIND(hh, t->rkeys, &key, sizeof(key), k);
	return k;
}

static void rkey_add(struct ffd_tenant *t, uint32_t key)
{
	struct ffd_rkey *k = rkey_find(t, key);

	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return;
		k->key = key;
		HASH_ADD(hh, t->rkeys, key, sizeof(k->key), k);
	} else if (k->refs == 0) {
		t->nrkeys_gone--;
	}
	k->refs++;
}

static void rkey_drop(struct ffd_tenant *t, uint32_t key, uint32_t n, uint64_t now)
{
	struct ffd_rkey *k = rkey_find(t, key);

	if (!k || !k->refs)
		return;
	k->refs = k->refs > n ? k->refs - n : 0;
	if (k->refs == 0) {
		k->gone_ns = now;
		t->nrkeys_gone++;
	}
}

static void add(struct ffd_client *c, uint32_t key)
{
	struct ffd_ckey *ck;

	HASH_FIND(hh, c->rkeys, &key, sizeof(key), ck);
	if (!ck) {
		if (c->nrkeys >= FFD_MAX_READERS_PER_CLIENT) {
			if (!c->rkeys_full)
				log_warnx("client %u (pid %d) reads more than %u connections: the "
				          "others keep the %llu s orphan timeout", c->id, (int)c->pid,
				          FFD_MAX_READERS_PER_CLIENT,
				          (unsigned long long)(FFD_ORPHAN_TIMEOUT_NS / 1000000000ULL));
			c->rkeys_full = true;
			return;
		}
		ck = calloc(1, sizeof(*ck));
		if (!ck)
			return;
		ck->key = key;
		HASH_ADD(hh, c->rkeys, key, sizeof(ck->key), ck);
		c->nrkeys++;
	}
	ck->n++;
	rkey_add(c->t, key);
}

static void del(struct ffd_client *c, uint32_t key, uint64_t now)
{
	struct ffd_ckey *ck;

	HASH_FIND(hh, c->rkeys, &key, sizeof(key), ck);
	if (!ck)
		return;          /* not named by this client (e.g. a forked child's first close) */
	rkey_drop(c->t, key, 1, now);
	if (--ck->n == 0) {
		HASH_DEL(c->rkeys, ck);
		c->nrkeys--;
		free(ck);
	}
}

void ffd_readers_msg(struct ffd_client *c, const struct ff_reader *recs, size_t n)
{
	uint64_t now = ffd_now_ns();

	for (size_t i = 0; i < n; i++) {
		struct ff_reader r;

		memcpy(&r, &recs[i], sizeof(r));
		if (r.key == 0)
			continue;
		if (r.op == FF_READER_ADD)
			add(c, r.key);
		else if (r.op == FF_READER_DEL)
			del(c, r.key, now);
	}
}

void ffd_readers_client_gone(struct ffd_client *c)
{
	struct ffd_ckey *ck, *tmp;
	uint64_t now = ffd_now_ns();

	HASH_ITER(hh, c->rkeys, ck, tmp) {
		rkey_drop(c->t, ck->key, ck->n, now);
		HASH_DEL(c->rkeys, ck);
		free(ck);
	}
	c->nrkeys = 0;
}

enum ffd_reader_state ffd_readers_state(const struct ffd_tenant *t, uint32_t key, uint64_t now)
{
	const struct ffd_rkey *k = key ? rkey_find(t, key) : NULL;

	if (!k)
		return FFD_RK_UNKNOWN;
	if (k->refs)
		return FFD_RK_LIVE;
	return now - k->gone_ns > FFD_READER_GRACE_NS ? FFD_RK_GONE : FFD_RK_LIVE;
}

/* Forget keys whose readers have been gone long enough for their slots to be back. */
void ffd_readers_tick(struct ffd_tenant *t, uint64_t now)
{
	struct ffd_rkey *k, *tmp;

	if (!t->nrkeys_gone)
		return;
	HASH_ITER(hh, t->rkeys, k, tmp) {
		if (k->refs || now - k->gone_ns <= 2 * FFD_READER_GRACE_NS)
			continue;
		HASH_DEL(t->rkeys, k);
		free(k);
		t->nrkeys_gone--;
	}
}

void ffd_readers_free(struct ffd_tenant *t)
{
	struct ffd_rkey *k, *tmp;

	HASH_ITER(hh, t->rkeys, k, tmp) {
		HASH_DEL(t->rkeys, k);
		free(k);
	}
	t->nrkeys_gone = 0;
}
