/* The zero-copy API rows (issue: "beyond transparent"): the same stream, with the producer's
 * payloads in faasflow_alloc() buffers (sent without a copy) and, for the 0-copy row, the
 * consumer borrowing each payload in place with faasflow_recv_borrow(). The API is looked up
 * at run time, so this binary needs no link dependency: the rows need the shim preloaded. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench-link.h"

struct api {
	void *(*alloc)(size_t);
	int (*free)(void *);
	int (*borrow)(int, void **, size_t *);
	int (*release)(void *);
};

static int api_get(struct api *a)
{
	a->alloc = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "faasflow_alloc");
	a->free = (int (*)(void *))dlsym(RTLD_DEFAULT, "faasflow_free");
	a->borrow = (int (*)(int, void **, size_t *))dlsym(RTLD_DEFAULT, "faasflow_recv_borrow");
	a->release = (int (*)(void *))dlsym(RTLD_DEFAULT, "faasflow_recv_release");
	if (a->alloc && a->free && a->borrow && a->release)
		return 0;
	fprintf(stderr, "faasflow-bench: --api needs libfaasflow_intercept.so preloaded\n");
	errno = ENOSYS;
	return -1;
}

/* Region buffers holding the payload, sent round robin. A blocking send of a buffer whose
 * earlier send is still being read waits, slot by slot, for the reader to release it, so a
 * payload of several slots needs only one buffer: the same working set as the transparent
 * rows' one payload buffer (two would not fit the shared cache at 16 MiB, and the reader
 * would be measuring memory). Smaller payloads go round four buffers. */
#define API_BUFS 4

int api_stream_produce(const struct opts *o, struct link *l, const unsigned char *payload,
		       uint64_t hmsg, uint64_t *run)
{
	struct api a;
	void *bufs[API_BUFS] = { 0 };
	int nbufs = o->size > (4u << 20) ? 1 : API_BUFS, rc = -1;

	if (l->kind != LINK_FD || api_get(&a) < 0)
		return -1;
	for (int i = 0; i < nbufs; i++) {
		if (!(bufs[i] = a.alloc(o->size)))
			goto out;
		memcpy(bufs[i], payload, o->size);   /* produced once, before timing starts */
	}
	for (uint64_t i = 0; i < o->iters; i++) {
		if (write_all(l->fd, bufs[i % (uint64_t)nbufs], o->size) < 0)
			goto out;
		*run = fh_fold(*run, hmsg);
	}
	rc = 0;
out:
	for (int i = 0; i < API_BUFS; i++)
		if (bufs[i])
			a.free(bufs[i]);
	return rc;
}

/* One message of n bytes, borrowed payload by payload and hashed in place. A borrowed
 * payload is one write of the producer or, for bytes that came inline, what recv() returned:
 * that may run into the next message, so the rest is kept for it. */
int api_recv_msg(struct link *l, size_t n, struct fh *h)
{
	static struct api a;
	static unsigned char *held;     /* borrowed, not fully used */
	static size_t held_off, held_len;

	if (!a.borrow && api_get(&a) < 0)
		return -1;
	if (l->kind != LINK_FD)
		return -1;
	while (n) {
		if (!held) {
			void *p;
			size_t len;
			int r = a.borrow(l->fd, &p, &len);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0)
					errno = EPIPE;
				return -1;
			}
			held = p;
			held_off = 0;
			held_len = len;
		}
		size_t take = held_len - held_off < n ? held_len - held_off : n;
		fh_update(h, held + held_off, take);
		held_off += take;
		n -= take;
		if (held_off == held_len) {
			a.release(held);
			held = NULL;
		}
	}
	return 0;
}
