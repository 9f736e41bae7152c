/* MSG_PEEK on an upgraded connection: what a read would return now, taken from the frames
 * ahead of the reader without changing any state (rx.c reads). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* Peek one inline frame's payload (header still in the socket) into iov. */
ssize_t ff_rx_peek_inline(int fd, const struct iovec *iov, int iovcnt, size_t at, size_t len,
			  size_t hlen, int flags)
{
	uint8_t *tmp = malloc(hlen + len);
	ssize_t r;

	if (!tmp)
		return -1;
	r = ff_rx_peek(fd, tmp, hlen + len, flags & MSG_DONTWAIT);
	if (r > (ssize_t)hlen) {
		ff_scatter(iov, iovcnt, at, tmp + hlen, (size_t)r - hlen);
		r -= (ssize_t)hlen;
	} else if (r >= 0) {
		r = 0;
	}
	free(tmp);
	return r;
}

/* The frames a peek may look at: bytes of the stream ahead of the reader, up to the buffer. */
#define PEEK_WINDOW_MAX (16u << 20)

/* MSG_PEEK: what a read of this size would return now, over as many frames as it spans
 * (a reader peeking for a delimiter gets the same bytes as over TCP), without changing any
 * state. skip: bytes at the head of the socket already in iov (the urgent byte at the mark,
 * SO_OOBINLINE), counted in the result. Returns the bytes (0 at end of stream), -1 with errno
 * (EAGAIN: none yet), or -3 when an urgent marker is at the head. */
ssize_t ff_rx_peek_frames(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			  size_t space, int pflags, bool trunc, size_t skip)
{
	struct ff_region *rg = ff_rg();
	size_t got = skip, pos = skip, n, window;
	uint64_t left = c->rx_inline_left;
	uint8_t *buf;
	ssize_t r;

	if (c->rx_db_active && !skip) {
		size_t k = c->rx_db.len - c->rx_db_done < space ? (size_t)(c->rx_db.len - c->rx_db_done) : space;
		if (!trunc)
			ff_scatter(iov, iovcnt, 0, ff_slot_ptr(rg, c->rx_db.slot) + c->rx_db.offset + c->rx_db_done, k);
		got = k;
		pos = c->rx_db_tail;
		if (got == space)
			return (ssize_t)got;
	}
	window = space - got + FF_FRAME_PEEK * 64 + pos;
	if (window > PEEK_WINDOW_MAX)
		window = PEEK_WINDOW_MAX;
	buf = malloc(window + FF_FRAME_PEEK);
	if (!buf) {
		errno = ENOMEM;
		return got ? (ssize_t)got : -1;
	}
	/* (with skip, nothing of a frame is stashed: ff_rx_urgent_inline is at the mark only then) */
	memcpy(buf, c->rx_stash, c->rx_stash_len);
	r = ff_rx_peek(fd, buf + c->rx_stash_len, window, got ? MSG_DONTWAIT : pflags);
	if (r <= 0) {
		free(buf);
		return got ? (ssize_t)got : r;
	}
	n = (size_t)r + c->rx_stash_len;
	while (got < space && pos < n) {
		struct ff_doorbell db;
		size_t hlen = 0, take;
		uint64_t plen = left;
		int t = FF_FRAME_INLINE;

		if (!left) {
			t = ff_rx_decode(c, buf + pos, n - pos, rg ? rg->hdr->slot_size : UINT64_MAX,
					    rg ? rg->hdr->slot_count : UINT32_MAX, &hlen, &plen, &db);
			if (t < 0) {
				free(buf);
				return got ? (ssize_t)got : ff_rx_broken(c, fd, "invalid frame on an upgraded connection");
			}
			if (t == 0)
				break;       /* the rest of a header is on its way */
		}
		if (t == FF_FRAME_URGENT) {
			/* The byte after the marker shows in a peek that began before it only if it
			 * is ordinary data by now (a peek stops at an urgent mark): one data byte. */
			if (pos + hlen < n && pos + hlen > c->rx_stash_len) {
				if (!trunc)
					ff_scatter(iov, iovcnt, got, buf + pos + hlen, 1);
				got++;
				pos += hlen + 1;
				continue;
			}
			if (!got && !pos) {
				free(buf);
				return -3;   /* at the head: the caller takes the marker out first */
			}
			break;
		}
		left = 0;
		if (t == FF_FRAME_DOORBELL) {
			if (!c->rx_region_ok || !ff_slot_check(&db, c->rx_key))
				break;       /* a read will say what is wrong with it */
			take = db.len < space - got ? (size_t)db.len : space - got;
			if (!trunc)
				ff_scatter(iov, iovcnt, got, ff_slot_ptr(rg, db.slot) + db.offset, take);
		} else {
			size_t have = n - pos - hlen;
			take = plen < have ? (size_t)plen : have;
			if (take > space - got)
				take = space - got;
			if (!trunc)
				ff_scatter(iov, iovcnt, got, buf + pos + hlen, take);
			if (take < plen) {
				got += take;
				break;       /* the rest of this frame is not there yet (or not wanted) */
			}
		}
		got += take;
		pos += hlen + (t == FF_FRAME_DOORBELL ? 0 : (size_t)plen);
	}
	free(buf);
	if (!got) {
		errno = EAGAIN;      /* only frame bytes so far: a blocking peek waits for more */
		return -1;
	}
	return (ssize_t)got;
}
