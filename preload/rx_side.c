/* The receiving half's other entry points: FIONREAD (what a read would return now), lending
 * the head payload in place (faasflow_recv_borrow), and letting go of a half-read payload when
 * the last fd of a connection closes. The read path itself is in rx.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "shim.h"

/* FIONREAD: application bytes readable now (slot payloads count in full), never fewer than a
 * read would return: nginx takes FIONREAD after each full read and stops reading, waiting
 * for an edge, once it has read that many; a count short of the truth left the rest of a
 * request body in a socket whose window the unread bytes had closed (no edge ever came). So
 * the whole receive queue is parsed; only beyond FIONREAD_WINDOW (more than TCP's largest
 * default buffer) are the bytes counted as if all were payload, which overstates (a reader
 * then gets a short read and waits for an edge: safe), never understates, unless a doorbell
 * hides there. Cheap cases need no peek: the queue is all payload of the current frame. */
#define FIONREAD_WINDOW (16u << 20)

static int fionread_parse(struct ff_conn *c, int fd, size_t kernel, int *avail)
{
	size_t n = kernel < FIONREAD_WINDOW ? kernel : FIONREAD_WINDOW, pos = 0, total;
	uint64_t count = 0;
	uint8_t *buf = malloc(n + FF_FRAME_PEEK);
	ssize_t r;

	if (!buf)
		return -1;
	memcpy(buf, c->rx_stash, c->rx_stash_len);   /* the head starts with the stash */
	r = ff_rx_peek(fd, buf + c->rx_stash_len, n, MSG_DONTWAIT);
	if (r < 0) {
		free(buf);
		if (errno != EAGAIN)
			return -1;
		*avail = 0;
		return 0;
	}
	total = kernel + c->rx_stash_len;
	n = (size_t)r + c->rx_stash_len;
	if (c->rx_db_active) {
		count += c->rx_db.len - c->rx_db_done;
		pos = c->rx_db_tail;
	} else if (c->rx_inline_left) {
		pos = c->rx_inline_left < n ? (size_t)c->rx_inline_left : n;
		count += pos;
	}
	while (pos < n) {
		struct ff_doorbell db;
		size_t hlen;
		uint64_t plen;
		int t = ff_rx_decode(c, buf + pos, n - pos, UINT64_MAX, UINT32_MAX, &hlen, &plen, &db);
		if (t <= 0)
			break;
		if (t == FF_FRAME_URGENT) {
			/* the byte after it: data if the peek went past it (ordinary now), or at the
			 * mark with SO_OOBINLINE; else the kernel keeps it for MSG_OOB */
			if (pos + hlen < n && pos + hlen > c->rx_stash_len) {
				count++;
				pos += hlen + 1;
				continue;
			}
			count += atomic_load(&c->rx_oobinline);
			break;
		}
		if (t == FF_FRAME_DOORBELL) {
			count += plen;
			pos += hlen;
		} else {
			size_t have = n - pos - hlen;
			count += plen < have ? plen : have;
			pos += hlen + (size_t)plen;
		}
	}
	/* Only a window cut short by its own size counts the rest as payload: a peek that
	 * returned less than FIONREAD said (the queue changed between the two) is what is
	 * there, and over-counting it would promise a reader bytes it cannot read. */
	if (kernel > FIONREAD_WINDOW && n < total)
		count += total - (pos < n ? pos : n);
	free(buf);
	*avail = count > INT_MAX ? INT_MAX : (int)count;
	return 0;
}

/* arg: the application's int, perhaps not aligned (Python's fcntl.ioctl passes a bytes
 * buffer): written with memcpy, as the kernel's put_user would. */
int ff_rx_fionread(struct ff_conn *c, int fd, void *arg)
{
	int kernel = 0, rc = 0, n = 0;
	int *avail = &n;

	pthread_mutex_lock(&c->rx_lock);
	if (atomic_load(&c->rx) == FF_RX_UNDECIDED)
		ff_rx_decide(c, fd, MSG_DONTWAIT);
	if (ff_real.ioctl(fd, FIONREAD, &kernel) < 0) {
		rc = -1;
	} else if (atomic_load(&c->rx) != FF_RX_FRAMED) {
		*avail = kernel;
	} else if (kernel <= 0) {
		*avail = c->rx_db_active ? (int)(c->rx_db.len - c->rx_db_done) : 0;
	} else if (!c->rx_db_active && !c->rx_stash_len && c->rx_inline_left >= (uint64_t)kernel) {
		*avail = kernel;             /* all of it is the current inline frame's payload */
	} else {
		rc = fionread_parse(c, fd, (size_t)kernel, avail);
	}
	pthread_mutex_unlock(&c->rx_lock);
	if (rc == 0)
		memcpy(arg, &n, sizeof(n));
	return rc;
}

void ff_conn_release_rx(struct ff_conn *c)
{
	/* Our last fd of the socket is closed with a payload half read. Another process may hold
	 * the socket too (fork, SCM_RIGHTS) and finish it, so the slot is not freed here: it is
	 * marked as handed over. If nobody else holds the socket, the kernel resets the
	 * connection and the writer takes the slot back when it sees the reset. */
	if (pthread_mutex_trylock(&c->rx_lock) != 0)
		return;
	if (c->rx_db_active && ff_mapped())
		atomic_store(&ff_rg()->meta[c->rx_db.slot].reader, FF_READER_HANDOVER);
	c->rx_db_active = false;
	pthread_mutex_unlock(&c->rx_lock);
}

/* faasflow_recv_borrow(): hand the head doorbell's slot to the application instead of copying
 * it out. Returns 1 (slot lent: *slot, *gen set), 0 (nothing lendable at the head: the caller
 * copies), or -1 with errno. The doorbell is consumed now: the slot is the application's until
 * it releases it. */
int ff_rx_borrow(struct ff_conn *c, int fd, void **ptr, size_t *len, uint32_t *slot, uint32_t *gen)
{
	uint8_t hb[FF_FRAME_PEEK];
	struct ff_doorbell db;
	size_t hlen;
	uint64_t plen;
	int r = 0, t;
	size_t tail;
	ssize_t n;

	pthread_mutex_lock(&c->rx_lock);
	if (atomic_load(&c->rx) == FF_RX_UNDECIDED && ff_rx_decide(c, fd, 0) < 0) {
		r = -1;
		goto out;
	}
	if (atomic_load(&c->rx) != FF_RX_FRAMED || c->rx_inline_left || !ff_mapped())
		goto out;
	tail = FF_DOORBELL_SIZE - c->rx_stash_len;
	if (c->rx_db_active) {
		db = c->rx_db;
		db.offset += c->rx_db_done;
		db.len -= c->rx_db_done;
		tail = c->rx_db_tail;
	} else {
		n = ff_rx_head_peek(c, fd, hb, 0);
		if (n <= 0) {
			r = n < 0 ? -1 : 0;
			goto out;
		}
		t = ff_rx_decode(c, hb, (size_t)n, ff_rg()->hdr->slot_size,
				    ff_rg()->hdr->slot_count, &hlen, &plen, &db);
		if (t != FF_FRAME_DOORBELL)
			goto out;
		if (!c->rx_region_ok || ff_slot_claim(&db, c->rx_key) < 0) {
			r = (int)ff_rx_broken(c, fd, "stale or forged doorbell");
			goto out;
		}
	}
	do
		n = ff_real.recv(fd, hb, tail, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	c->rx_db_active = false;
	c->rx_stash_len = 0;
	ff_counter_add(&ff_rg()->hdr->c.rx_region_bytes, db.len);
	*ptr = ff_slot_ptr(ff_rg(), db.slot) + db.offset;
	*len = (size_t)db.len;
	*slot = db.slot;
	*gen = db.gen;
	r = 1;
out:
	{
		int saved = errno;
		pthread_mutex_unlock(&c->rx_lock);
		errno = saved;
	}
	return r;
}
