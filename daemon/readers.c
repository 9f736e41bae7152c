/* Who may still read which connection. A process that reads (or may read) a connection
 * names it by the key its writer puts in every slot it announces on it (struct ff_hello's
 * conn_key); the shim says so when a hello shows a key it did not predict, when it inherits a
 * connection, and again after a coordinator restart; it takes the name back when its last
 * descriptor of the connection closes. At accept() and connect() it says nothing: its entry in
 * the pair table (common/pairs.h), held for as long as it holds the connection, names it
 * (leases.c derives the keys from the entries of live processes); such an end that closes
 * with bytes unread says GONE.
 *
 * A slot in flight on a key that a live process reads is never taken back by a timer (TCP
 * keeps unread bytes for as long as the connection exists). When every reader of a key is
 * gone, its slots come back after FFD_READER_GRACE_NS (a connection handed to another process
 * is named again by the receiver within that time). A key nobody ever named (a reader that
 * did not run the shim's registration, or a hello translated by NAT before its first read)
 * keeps the old rule: FFD_ORPHAN_TIMEOUT_NS after its writer died.
 *
 * A shim names and unnames on its readers channel (FF_REGR_READERS), a socket pair whose other
 * end came with its REGISTER: nothing waits on it, so a connection opened and closed costs
 * the shim two sends and wakes nobody (through the control socket every accept, connect and
 * close woke the coordinator: a request on a new connection took twice TCP's time). The
 * channels are read at every tick, before anything is decided from the names, and a
 * client's own before a READERS message it sends on the control socket (which it does when
 * its channel is full). Names arrive up to a tick late; a slot is judged only at a tick.
 *
 * Keys are 32 bits: two connections may share one. That only keeps slots longer, never
 * frees one early (a key is "gone" only when all of its readers are). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "daemon.h"
#include "log.h"
#include "pairs.h"

static struct ffd_rkey *rkey_find(const struct ffd_tenant *t, uint32_t key)
{
	struct ffd_rkey *k;

	HASH_FIND(hh, t->rkeys, &key, sizeof(key), k);
	return k;
}

/* The key's record, made (refs 0, not counted as gone: *fresh) if there was none. */
static struct ffd_rkey *rkey_get(struct ffd_tenant *t, uint32_t key, bool *fresh)
{
	struct ffd_rkey *k = rkey_find(t, key);

	*fresh = !k;
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return NULL;
		k->key = key;
		HASH_ADD(hh, t->rkeys, key, sizeof(k->key), k);
	}
	return k;
}

static void rkey_add(struct ffd_tenant *t, uint32_t key)
{
	bool fresh;
	struct ffd_rkey *k = rkey_get(t, key, &fresh);

	if (!k)
		return;
	if (!fresh && k->refs == 0)
		t->nrkeys_gone--;
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

/* The end an entry of the pair table named closed with bytes unread (no ADD came), or its
 * process died holding it: the key is gone unless a process reads it by name. */
static void readers_gone(struct ffd_tenant *t, uint32_t key, uint64_t now)
{
	bool fresh;
	struct ffd_rkey *k = rkey_get(t, key, &fresh);

	if (!k || k->refs)
		return;
	if (!fresh)
		t->nrkeys_gone--;
	k->gone_ns = now;
	t->nrkeys_gone++;
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
		else if (r.op == FF_READER_GONE)
			readers_gone(c->t, r.key, now);
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

/* The pair table's entries name their ends as readers (preload/readers.c): the keys of the
 * directions read by the ends of entries whose owner live() says yes, into t->pkeys (grown as
 * needed). Returns how many are there. */
static size_t pair_keys(struct ffd_tenant *t, bool (*live)(uint32_t owner, void *arg), void *arg)
{
	size_t n = ff_pair_reader_keys(&t->r, live, arg, t->pkeys, t->pkeys_cap);

	if (n > t->pkeys_cap) {
		uint32_t *p = realloc(t->pkeys, n * 2 * sizeof(*p));
		if (p) {
			t->pkeys = p;
			t->pkeys_cap = n * 2;
			n = ff_pair_reader_keys(&t->r, live, arg, p, t->pkeys_cap);
		}
	}
	return n < t->pkeys_cap ? n : t->pkeys_cap;
}

static bool pair_owner_is(uint32_t owner, void *arg)
{
	return owner == *(const uint32_t *)arg;
}

/* A process died holding entries: the ends they named read no more (as if each had closed its
 * connection unread), so a writer still alive gets its unread slots back after the grace. */
void ffd_readers_dead(struct ffd_tenant *t, uint32_t dead, uint64_t now)
{
	size_t n = pair_keys(t, pair_owner_is, &dead);

	for (size_t i = 0; i < n; i++)
		readers_gone(t, t->pkeys[i], now);
	t->pkeys_ns = 0;          /* (the list of live ones is taken again) */
}

/* An entry left by a process that forked (owner 0: its child may hold the connection and read
 * it late, before it ever talks to us) counts until the sweep by age takes it (leases.c). */
static bool pair_owner_live(uint32_t owner, void *arg)
{
	return owner != FF_READER_HANDOVER && (owner == 0 || ffd_client_by_id(arg, owner) != NULL);
}

static int key_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Is key read by the end of a live entry? The keys are taken once per tick (now), when a
 * slot's reader is first asked for. */
static bool pair_reads(struct ffd_server *s, struct ffd_tenant *t, uint32_t key, uint64_t now)
{
	if (t->pkeys_ns != now) {
		t->npkeys = pair_keys(t, pair_owner_live, s);
		if (t->npkeys)
			qsort(t->pkeys, t->npkeys, sizeof(*t->pkeys), key_cmp);
		t->pkeys_ns = now;
	}
	return key && t->npkeys &&
	       bsearch(&key, t->pkeys, t->npkeys, sizeof(*t->pkeys), key_cmp) != NULL;
}

enum ffd_reader_state ffd_readers_state(struct ffd_server *s, struct ffd_tenant *t, uint32_t key,
					uint64_t now)
{
	const struct ffd_rkey *k = key ? rkey_find(t, key) : NULL;

	if (k && k->refs)
		return FFD_RK_LIVE;
	if (pair_reads(s, t, key, now))
		return FFD_RK_LIVE;
	if (!k)
		return FFD_RK_UNKNOWN;
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
	free(t->pkeys);
	t->pkeys = NULL;
	t->npkeys = t->pkeys_cap = 0;
	t->pkeys_ns = 0;
}

/* A descriptor passed with REGISTER becomes the client's readers channel if it is what the
 * shim makes (one end of an AF_UNIX SOCK_SEQPACKET pair). */
bool ffd_readers_channel_take(struct ffd_server *s, struct ffd_client *c, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int type = 0, dom = 0;
	socklen_t l = sizeof(type), dl = sizeof(dom);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_SEQPACKET ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0 || dom != AF_UNIX) {
		log_warnx("client %u (pid %d) passed a descriptor that is not an AF_UNIX "
		          "SOCK_SEQPACKET socket as its readers channel; its names go through "
		          "the control socket", c->id, (int)c->pid);
		return false;
	}
	ev.data.fd = c->fd;
	if (epoll_ctl(s->rdepfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("epoll_ctl for the readers channel of client %u", c->id);
		return false;
	}
	ffd_readers_channel_close(s, c);     /* a second REGISTER on one connection */
	c->rfd = fd;
	return true;
}

void ffd_readers_channel_close(struct ffd_server *s, struct ffd_client *c)
{
	if (c->rfd < 0)
		return;
	epoll_ctl(s->rdepfd, EPOLL_CTL_DEL, c->rfd, NULL);
	close(c->rfd);
	c->rfd = -1;
}

#define DRAIN_MAX 4096       /* packets per call: a client writing as fast as we read waits */

/* Everything the client has sent on its channel so far. */
void ffd_readers_drain(struct ffd_server *s, struct ffd_client *c)
{
	_Alignas(8) uint8_t buf[4096];

	for (int k = 0; c->rfd >= 0 && k < DRAIN_MAX; k++) {
		ssize_t n = recv(c->rfd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {            /* its end closed (the shim forgot it), or broken */
			ffd_readers_channel_close(s, c);
			return;
		}
		if ((size_t)n > sizeof(buf) || n % (ssize_t)sizeof(struct ff_reader)) {
			s->bad_messages++;
			log_warnx("client %u (pid %d): a readers channel packet of %zd bytes; "
			          "accepted: whole struct ff_reader records (%zu bytes each), up to "
			          "%zu bytes", c->id, (int)c->pid, n, sizeof(struct ff_reader),
			          sizeof(buf));
			continue;
		}
		ffd_readers_msg(c, (const struct ff_reader *)buf, (size_t)n / sizeof(struct ff_reader));
	}
}

/* Every channel with something to read (the tick: before any slot is judged). */
void ffd_readers_drain_all(struct ffd_server *s)
{
	struct epoll_event evs[64];
	int n;

	for (int round = 0; round < 64; round++) {
		n = epoll_wait(s->rdepfd, evs, 64, 0);
		for (int i = 0; i < n; i++) {
			struct ffd_client *c = ffd_client_by_fd(s, evs[i].data.fd);
			if (c)
				ffd_readers_drain(s, c);
		}
		if (n < 64)
			return;
	}
}
