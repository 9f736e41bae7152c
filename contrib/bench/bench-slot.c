/* Slotted links: the payload waits in a slot, a 16-byte doorbell in a socketpair says which.
 *   ring:  a memfd of RING_SLOTS x 1 MiB mapped by both processes; two copies, no stack
 *          (the physical limit of a transparent path).
 *   redis: the slot is a key in a local redis-server; the producer SETs it, the consumer GETs
 *          it (FaaSFlow's local path).
 * Forward direction: DATA frames. Reverse: CREDIT frames (a slot is free again) and INLINE
 * frames (the consumer's small replies). Credits are held back a little and piggybacked on
 * replies, so a request/response costs one wake-up each way. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-link.h"

enum { FR_DATA = 1, FR_CREDIT = 2, FR_INLINE = 3 };

struct frame {
	uint32_t type;
	uint32_t slot;
	uint64_t len;
};

struct slot_shared {
	enum tr_kind tr;
	int sv[2];
	unsigned char *mem;
	char keyprefix[64];
};

struct slot_shared *slot_prepare(const struct opts *o)
{
	struct slot_shared *s = calloc(1, sizeof(*s));
	size_t sz = (size_t)RING_SLOTS * RING_SLOT_SIZE;
	int mfd = -1;

	if (!s)
		return NULL;
	s->tr = o->tr;
	s->sv[0] = s->sv[1] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sv) < 0)
		goto err;
	snprintf(s->keyprefix, sizeof(s->keyprefix), "faasflow-bench:%ld:", (long)getpid());
	if (o->tr != TR_RING)
		return s;
	mfd = memfd_create("faasflow-bench-ring", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, (off_t)sz) < 0)
		goto err;
	s->mem = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, mfd, 0);
	if (s->mem == MAP_FAILED)
		goto err;
	close(mfd);
	return s;
err:
	perror("faasflow-bench: ring setup");
	if (mfd >= 0)
		close(mfd);
	free(s);
	return NULL;
}

struct link *slot_link(const struct opts *o, struct slot_shared *s, bool producer)
{
	struct link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->kind = s->tr == TR_RING ? LINK_RING : LINK_REDIS;
	l->sh = s;
	l->producer = producer;
	l->fd = s->sv[producer ? 0 : 1];
	close(s->sv[producer ? 1 : 0]);
	l->rfd = -1;
	l->cur = -1;
	if (l->kind == LINK_REDIS) {
		l->rfd = redis_connect(o);
		if (l->rfd < 0) {
			fprintf(stderr, "faasflow-bench: cannot connect to redis-server at %s:%u: %s\n",
				o->redis_host, o->redis_port, strerror(errno));
			free(l);
			return NULL;
		}
	}
	for (unsigned i = 0; i < RING_SLOTS; i++)
		l->free_slots[l->nfree++] = RING_SLOTS - 1 - i;
	return l;
}

static void slot_key(const struct link *l, uint32_t slot, char *key, size_t len)
{
	snprintf(key, len, "%s%u", l->sh->keyprefix, slot);
}

void slot_free(struct link *l)
{
	char key[96];

	if (l->kind == LINK_REDIS && l->rfd >= 0) {
		if (l->producer) /* drop the keys, outside any timing */
			for (uint32_t i = 0; i < RING_SLOTS; i++) {
				slot_key(l, i, key, sizeof(key));
				(void)redis_del(l->rfd, key);
			}
		close(l->rfd);
	}
	if (l->sh->mem)
		munmap(l->sh->mem, (size_t)RING_SLOTS * RING_SLOT_SIZE);
	close(l->fd);
	free(l->sh);
}

/* ---- producer ------------------------------------------------------------------------- */

/* Read what the consumer sent back (blocking) and sort it: credits and inline bytes. */
static int rev_pump(struct link *l)
{
	ssize_t r;
	size_t off = 0;

	do
		r = read(l->fd, l->rev + l->nrev, sizeof(l->rev) - l->nrev);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r == 0)
			errno = EPIPE;
		return -1;
	}
	l->nrev += (size_t)r;
	while (l->nrev - off >= sizeof(struct frame)) {
		struct frame f;

		memcpy(&f, l->rev + off, sizeof(f));
		if (f.type == FR_CREDIT && f.slot < RING_SLOTS && l->nfree < RING_SLOTS) {
			l->free_slots[l->nfree++] = f.slot;
			off += sizeof(f);
		} else if (f.type == FR_INLINE && f.len <= sizeof(l->stash) - l->stash_len) {
			if (l->nrev - off < sizeof(f) + f.len)
				break;
			memcpy(l->stash + l->stash_len, l->rev + off + sizeof(f), f.len);
			l->stash_len += f.len;
			off += sizeof(f) + f.len;
		} else {
			fprintf(stderr, "faasflow-bench: bad reverse frame type %u slot %u len %llu\n",
				f.type, f.slot, (unsigned long long)f.len);
			errno = EPROTO;
			return -1;
		}
	}
	memmove(l->rev, l->rev + off, l->nrev - off);
	l->nrev -= off;
	return 0;
}

int slot_send_msg(struct link *l, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	char key[96];

	do {
		size_t chunk = n;
		struct frame f = { .type = FR_DATA };

		if (l->kind == LINK_RING && chunk > RING_SLOT_SIZE)
			chunk = RING_SLOT_SIZE;
		while (l->nfree == 0)
			if (rev_pump(l) < 0)
				return -1;
		f.slot = l->free_slots[--l->nfree];
		f.len = chunk;
		if (l->kind == LINK_RING) {
			memcpy(l->sh->mem + (size_t)f.slot * RING_SLOT_SIZE, p, chunk);
		} else {
			slot_key(l, f.slot, key, sizeof(key));
			if (redis_set(l->rfd, key, p, chunk) < 0)
				return -1;
		}
		if (write_all(l->fd, &f, sizeof(f)) < 0)
			return -1;
		p += chunk;
		n -= chunk;
	} while (n);
	return 0;
}

int slot_recv_reply(struct link *l, void *buf, size_t n)
{
	while (l->stash_len - l->stash_off < n)
		if (rev_pump(l) < 0)
			return -1;
	memcpy(buf, l->stash + l->stash_off, n);
	l->stash_off += n;
	if (l->stash_off == l->stash_len)
		l->stash_off = l->stash_len = 0;
	return 0;
}

/* ---- consumer ------------------------------------------------------------------------- */

static int flush_credits(struct link *l)
{
	struct frame f[RING_SLOTS];

	for (unsigned i = 0; i < l->npending; i++)
		f[i] = (struct frame){ .type = FR_CREDIT, .slot = l->pending[i] };
	if (l->npending && write_all(l->fd, f, l->npending * sizeof(f[0])) < 0)
		return -1;
	l->npending = 0;
	return 0;
}

static int next_doorbell(struct link *l)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	struct frame f;

	/* return credits before sleeping, so the producer never waits on a sleeping reader */
	if (l->npending && poll(&pfd, 1, 0) == 0 && flush_credits(l) < 0)
		return -1;
	if (read_full(l->fd, &f, sizeof(f)) < 0)
		return -1;
	if (f.type != FR_DATA || f.slot >= RING_SLOTS ||
	    (l->kind == LINK_RING && f.len > RING_SLOT_SIZE)) {
		fprintf(stderr, "faasflow-bench: bad doorbell type %u slot %u len %llu\n",
			f.type, f.slot, (unsigned long long)f.len);
		errno = EPROTO;
		return -1;
	}
	l->cur = (int)f.slot;
	l->cur_off = 0;
	l->cur_len = f.len;
	return 0;
}

static int slot_done(struct link *l)
{
	l->pending[l->npending++] = (uint32_t)l->cur;
	l->cur = -1;
	return l->npending >= 2 ? flush_credits(l) : 0;
}

int slot_recv_msg(struct link *l, void *buf, size_t n, struct fh *h)
{
	unsigned char *p = buf;
	char key[96];

	while (n) {
		size_t take, got;

		if (l->cur < 0 && next_doorbell(l) < 0)
			return -1;
		take = l->cur_len - l->cur_off < n ? l->cur_len - l->cur_off : n;
		if (l->kind == LINK_RING) {
			memcpy(p, l->sh->mem + (size_t)l->cur * RING_SLOT_SIZE + l->cur_off, take);
		} else {
			if (take != l->cur_len) {
				errno = EMSGSIZE;
				return -1;
			}
			slot_key(l, (uint32_t)l->cur, key, sizeof(key));
			if (redis_get(l->rfd, key, p, take, &got) < 0)
				return -1;
			if (got != take) {
				fprintf(stderr, "faasflow-bench: redis GET %s: %zu bytes, expected %zu\n",
					key, got, take);
				errno = EPROTO;
				return -1;
			}
		}
		fh_update(h, p, take);
		l->cur_off += take;
		p += take;
		n -= take;
		if (l->cur_off == l->cur_len && slot_done(l) < 0)
			return -1;
	}
	return 0;
}

int slot_send_reply(struct link *l, const void *buf, size_t n)
{
	unsigned char out[RING_SLOTS * sizeof(struct frame) + sizeof(struct frame) + 256];
	struct frame f = { .type = FR_INLINE, .len = n };
	size_t off = 0;

	if (n > 256) {
		errno = EMSGSIZE;
		return -1;
	}
	for (unsigned i = 0; i < l->npending; i++) {
		struct frame c = { .type = FR_CREDIT, .slot = l->pending[i] };

		memcpy(out + off, &c, sizeof(c));
		off += sizeof(c);
	}
	l->npending = 0;
	memcpy(out + off, &f, sizeof(f));
	off += sizeof(f);
	memcpy(out + off, buf, n);
	return write_all(l->fd, out, off + n);
}
