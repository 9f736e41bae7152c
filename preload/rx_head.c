/* Reading at a frame head in one system call: a small read takes the header and its payload
 * together, a big one in a stream of small frames peeks many and drops exactly what it
 * parsed (rx.c decides which; frames it cannot finish here go back to it). */
#include <errno.h>
#include <string.h>

#include "shim.h"

/* The head of the stream, frame unknown, taken in one call: the header and up to FF_SPEC_MAX
 * bytes after it. Whatever comes is sorted out here: inline payload goes to the application,
 * the start of a header to the stash. A doorbell is longer than this call takes, so one is
 * never out of the socket whole before its payload is read (readiness stays exact). One
 * system call for a small message where a peek and a read were two. Returns payload bytes
 * (maybe 0: only a header, or the start of a doorbell, came), -1 with errno, 0 and *eof at
 * end of stream. *drained: the socket had no more than this. */
ssize_t ff_rx_spec(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, size_t at,
		   size_t space, int pflags, bool *eof, bool *drained)
{
	uint8_t b[FF_HELLO_SIZE + FF_INLINE_HDR + FF_SPEC_MAX];
	size_t skip = c->rx_hello_left;   /* a hello still in front: taken in the same call */
	size_t want = skip + FF_INLINE_HDR + (space < FF_SPEC_MAX ? space : FF_SPEC_MAX);
	size_t n, pos = skip, out = 0;
	uint64_t ssz = ff_mapped() ? ff_rg()->hdr->slot_size : UINT64_MAX;
	uint64_t scnt = ff_mapped() ? ff_rg()->hdr->slot_count : UINT32_MAX;
	ssize_t r;

	do
		r = ff_real.recv(fd, b, want, pflags);
	while (r < 0 && errno == EINTR && (pflags & MSG_DONTWAIT));
	if (r <= 0) {
		*eof = r == 0;
		return r;
	}
	n = (size_t)r;
	if (c->rx_first == FF_RX_FIRST_TRUSTED && skip == FF_HELLO_SIZE) {
		int match = 0, h = ff_hello_check(b, n < skip ? n : skip, ff_region_id(), &match);

		if (h != (n >= skip ? FF_HELLO_YES : FF_HELLO_PARTIAL)) {
			c->rx_hello_left = 0;
			c->rx_first = FF_RX_FIRST_NONE;
			ff_rx_broken(c, fd, "the peer said its first bytes were a hello; they are not");
			return -1;
		}
		if (n >= skip) {
			c->rx_key = ff_hello_conn_key(b);
			c->rx_region_ok = match && ff_mapped();
			c->rx_first = FF_RX_FIRST_TAKEN;
		}
	}
	*drained = n < want;
	c->rx_hello_left = n < skip ? (uint8_t)(skip - n) : 0;
	if (n <= skip)
		return 0;
	while (pos < n) {
		struct ff_doorbell db;
		size_t hlen, take;
		uint64_t plen;
		int t = ff_frame_decode(b + pos, n - pos, ssz, scnt, &hlen, &plen, &db);

		if (t < 0) {
			ff_rx_broken(c, fd, "invalid frame on an upgraded connection");
			return out ? (ssize_t)out : -1;
		}
		if (t == FF_FRAME_URGENT) {
			pos += hlen;
			if (pos < n) {
				/* the read went on past the marker's byte: not at an urgent mark
				 * (a read stops there), ordinary data by now */
				ff_scatter(iov, iovcnt, at + out, b + pos, 1);
				out++;
				pos++;
				continue;
			}
			c->rx_urg_pending = true;    /* stopped at its byte: its fate next */
			break;
		}
		if (t != FF_FRAME_INLINE)
			break;   /* the start of a header (a doorbell never comes whole here) */
		take = n - pos - hlen < plen ? n - pos - hlen : (size_t)plen;
		ff_scatter(iov, iovcnt, at + out, b + pos + hlen, take);
		out += take;
		pos += hlen + take;
		if (take < plen)
			c->rx_inline_left = plen - take;
	}
	memcpy(c->rx_stash, b + pos, n - pos);
	c->rx_stash_len = (uint8_t)(n - pos);
	return (ssize_t)out;
}

#define BATCH_WINDOW (64u << 10)

/* Many small inline frames at the head (a stream of small writes): peek them into the
 * application's buffer in one call, squeeze out the headers, then drop exactly the parsed
 * bytes from the socket. Two system calls per read instead of two per frame. Returns payload
 * bytes (0 only at end of stream, *eof set), -1 with errno, or -2 when the head is not an
 * inline frame (the caller takes the general path). */
ssize_t ff_rx_inline_batch(struct ff_conn *c, int fd, uint8_t *b, size_t space, int pflags,
			   bool *eof, bool *drained, size_t *peeked)
{
	size_t pos = 0, out = 0, n;
	ssize_t r;

	if (space > BATCH_WINDOW)
		space = BATCH_WINDOW;
	r = ff_rx_peek(fd, b, space, pflags);
	if (r <= 0) {
		*eof = r == 0;
		return r;
	}
	n = (size_t)r;
	while (pos + FF_INLINE_HDR <= n) {
		struct ff_doorbell db;
		size_t hlen, take;
		uint64_t plen;
		int t = ff_frame_decode(b + pos, n - pos, UINT64_MAX, UINT32_MAX, &hlen, &plen, &db);

		if (t < 0 && pos == 0)
			return ff_rx_broken(c, fd, "invalid frame on an upgraded connection");
		if (t != FF_FRAME_INLINE)
			break;
		take = n - pos - hlen < plen ? n - pos - hlen : (size_t)plen;
		if (!take)
			break;
		memmove(b + out, b + pos + hlen, take);
		out += take;
		pos += hlen + take;
		if (take < plen) {
			c->rx_inline_left = plen - take;
			break;
		}
	}
	if (!pos) {
		*peeked = n;
		return -2;
	}
	do
		r = ff_real.recv(fd, NULL, pos, MSG_TRUNC | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)pos)
		return ff_rx_broken(c, fd, "the socket lost bytes it had shown");
	*drained = pos == n && n < space;
	return (ssize_t)out;
}
