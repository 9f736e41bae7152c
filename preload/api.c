/* The public API (faasflow.h): zero-copy buffers and borrowed receives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "faasflow.h"
#include "shim.h"

/* Live handles: faasflow_alloc() buffers and borrowed receive buffers. */
struct handle {
	void *ptr;
	uint32_t first, n;     /* slots (region) */
	uint32_t gen;          /* borrowed slot's generation */
	enum { H_ALLOC_REGION = 1, H_ALLOC_HEAP, H_BORROW_SLOT, H_BORROW_HEAP } kind;
};

static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;
static struct handle *handles;
static size_t nhandles, caphandles;

static int handle_add(struct handle h)
{
	pthread_mutex_lock(&hlock);
	if (nhandles == caphandles) {
		size_t ncap = caphandles ? caphandles * 2 : 64;
		struct handle *t = realloc(handles, ncap * sizeof(*t));
		if (!t) {
			pthread_mutex_unlock(&hlock);
			return -1;
		}
		handles = t;
		caphandles = ncap;
	}
	handles[nhandles++] = h;
	pthread_mutex_unlock(&hlock);
	return 0;
}

/* Remove and return the handle of ptr whose kind is one of the two given. */
static bool handle_take(void *ptr, int k1, int k2, struct handle *out)
{
	bool found = false;

	pthread_mutex_lock(&hlock);
	for (size_t i = 0; i < nhandles; i++) {
		if (handles[i].ptr == ptr && ((int)handles[i].kind == k1 || (int)handles[i].kind == k2)) {
			*out = handles[i];
			handles[i] = handles[--nhandles];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&hlock);
	return found;
}

const char *faasflow_version(void)
{
	return FF_PACKAGE_VERSION;
}

int faasflow_fd_status(int fd)
{
	struct ff_conn *c;
	int st = 0;

	ff_start();
	if (!(c = ff_conn_get(fd)))
		return 0;
	if (c->kind == FF_KIND_CONN) {
		int tx = atomic_load(&c->tx);
		if (tx == FF_TX_HELLO || tx == FF_TX_FRAMED)
			st |= FAASFLOW_TX_REGION;
		if (atomic_load(&c->rx) == FF_RX_FRAMED)
			st |= FAASFLOW_RX_REGION;
	}
	ff_conn_put(c);
	return st;
}

void *faasflow_alloc(size_t n)
{
	struct handle h = { 0 };

	ff_start();
	if (!n)
		n = 1;
	if (!ff_passthrough() && (ff_mapped() || ff_ctl_ensure()) && ff_region_usable()) {
		uint64_t ssz = ff_rg()->hdr->slot_size;
		uint64_t want = (n + ssz - 1) / ssz;
		int64_t first = want <= UINT32_MAX ? ff_slots_alloc_run((uint32_t)want) : -1;
		if (first >= 0) {
			h = (struct handle){ .ptr = ff_slot_ptr(ff_rg(), (uint64_t)first),
					     .first = (uint32_t)first, .n = (uint32_t)want,
					     .kind = H_ALLOC_REGION };
			if (handle_add(h) == 0)
				return h.ptr;
			ff_slots_free_run((uint32_t)first, (uint32_t)want);
		}
	}
	h = (struct handle){ .ptr = malloc(n), .kind = H_ALLOC_HEAP };
	if (h.ptr && handle_add(h) < 0) {
		free(h.ptr);
		h.ptr = NULL;
	}
	if (!h.ptr)
		errno = ENOMEM;
	return h.ptr;
}

int faasflow_free(void *p)
{
	struct handle h;

	ff_start();
	if (!p)
		return 0;
	if (!handle_take(p, H_ALLOC_REGION, H_ALLOC_HEAP, &h)) {
		log_warnx("faasflow_free(%p): not a live buffer from faasflow_alloc() (double free?)", p);
		errno = EINVAL;
		return -1;
	}
	if (h.kind == H_ALLOC_REGION)
		ff_slots_free_run(h.first, h.n);
	else
		free(h.ptr);
	return 0;
}

int faasflow_in_region(const void *p)
{
	bool in = false;

	pthread_mutex_lock(&hlock);
	for (size_t i = 0; i < nhandles && !in; i++)
		in = handles[i].kind == H_ALLOC_REGION && (const uint8_t *)p >= (uint8_t *)handles[i].ptr &&
		     (const uint8_t *)p < (uint8_t *)handles[i].ptr +
					   (uint64_t)handles[i].n * ff_rg()->hdr->slot_size;
	pthread_mutex_unlock(&hlock);
	return in;
}

int faasflow_recv_borrow(int fd, void **ptr, size_t *len)
{
	struct ff_conn *c;
	struct handle h = { 0 };
	uint32_t slot, gen;
	ssize_t r;
	int b = 0;

	ff_start();
	if (!ptr || !len) {
		errno = EINVAL;
		return -1;
	}
	c = ff_passthrough() ? NULL : ff_conn_get(fd);
	if (c) {
		b = c->kind == FF_KIND_CONN ? ff_rx_borrow(c, fd, ptr, len, &slot, &gen) : 0;
		ff_conn_put(c);
		if (b < 0)
			return -1;
		if (b == 1) {
			h = (struct handle){ .ptr = *ptr, .first = slot, .gen = gen, .kind = H_BORROW_SLOT };
			if (handle_add(h) == 0)
				return 1;
			ff_slot_release(slot, gen);
			errno = ENOMEM;
			return -1;
		}
	}
	/* Not a region payload: a copy, read exactly as recv() would. */
	h = (struct handle){ .ptr = malloc(FAASFLOW_BORROW_COPY_MAX), .kind = H_BORROW_HEAP };
	if (!h.ptr) {
		errno = ENOMEM;
		return -1;
	}
	r = recv(fd, h.ptr, FAASFLOW_BORROW_COPY_MAX, 0);
	if (r <= 0 || handle_add(h) < 0) {
		int saved = errno;
		free(h.ptr);
		errno = saved;
		return r == 0 ? 0 : -1;
	}
	*ptr = h.ptr;
	*len = (size_t)r;
	return 1;
}

int faasflow_recv_release(void *ptr)
{
	struct handle h;

	ff_start();
	if (!handle_take(ptr, H_BORROW_SLOT, H_BORROW_HEAP, &h)) {
		log_warnx("faasflow_recv_release(%p): not a borrowed buffer (released twice?)", ptr);
		errno = EINVAL;
		return -1;
	}
	if (h.kind == H_BORROW_SLOT)
		ff_slot_release(h.first, h.gen);
	else
		free(h.ptr);
	return 0;
}
