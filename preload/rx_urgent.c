/* TCP's urgent data on an upgraded connection, read side: the urgent marker frame, the fate of
 * the byte after it, SO_OOBINLINE at the mark, SIOCATMARK (rx.c reads the frames around it). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "shim.h"

static void rx_oob_note(struct ff_conn *c, int fd)
{
	int on = 0;
	socklen_t l = sizeof(on);

	atomic_store(&c->rx_oobinline, getsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &on, &l) == 0 && on);
}

/* SO_OOBINLINE: TCP's urgent byte stays in the stream. The sender puts it between frames
 * (ff_tx_urgent), and a read never goes past it unless it starts there, so at a frame head
 * the byte at the urgent mark is one byte of data, not the start of a header. Returns 1 (or 0
 * and *eof, -1), or -2 when the head is not at the mark. */
ssize_t ff_rx_urgent_inline(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			    size_t at, int flags, int pflags, bool *eof)
{
	int mark = 0;
	uint8_t b;
	ssize_t r;

	if (!atomic_load_explicit(&c->rx_oobinline, memory_order_relaxed) || c->rx_stash_len ||
	    c->rx_hello_left || ff_real.ioctl(fd, SIOCATMARK, &mark) < 0 || !mark)
		return -2;
	if (at)
		return FF_AT_MARK;
	do
		r = ff_real.recv(fd, &b, 1, (flags & MSG_PEEK) | pflags);
	while (r < 0 && errno == EINTR && (pflags & MSG_DONTWAIT));
	if (r <= 0) {
		*eof = r == 0;
		return r;
	}
	if (!(flags & MSG_TRUNC))
		ff_scatter(iov, iovcnt, at, &b, 1);
	return 1;
}

/* After an urgent marker, at its byte: on the urgent mark it is TCP's urgent byte (the kernel
 * keeps it for recv(MSG_OOB); with SO_OOBINLINE rx_urgent_inline reads it at the mark); off the
 * mark and queued it is ordinary data by now (a later urgent byte superseded it: TCP leaves it
 * in the stream), one byte; neither, it has not come yet (rx_urg_pending: asked again at the
 * next read). Returns 1 at the mark, 0, or -1 with errno (EAGAIN: not yet). */
int ff_rx_urgent_fate(struct ff_conn *c, int fd)
{
	int mark = 0, avail = 0;
	uint8_t b;

	if (ff_real.ioctl(fd, SIOCATMARK, &mark) < 0 || (!mark && ff_real.ioctl(fd, FIONREAD, &avail) < 0))
		return -1;
	c->rx_urg_pending = false;
	if (mark)
		return 1;
	if (avail > 0) {
		c->rx_inline_left = 1;
		return 0;
	}
	if (ff_real.recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		return 0;                /* end of stream: the writer died before its byte */
	c->rx_urg_pending = true;
	errno = EAGAIN;
	return -1;
}

/* An urgent marker at the head (FF_FRAME_URGENT, the stash holding some of it) leaves the
 * socket. A read takes the byte after it in the same call when it can be data: a read stops at
 * an urgent mark, so the byte comes along only if it is ordinary by now. A peek leaves the
 * byte. Returns 1 (the byte, as data), 0, FF_AT_MARK (its byte is at the urgent mark), or -1 with
 * errno (EAGAIN: the byte has not come). */
ssize_t ff_rx_urgent_marker(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			    size_t at, int flags)
{
	size_t rest = c->rx_stash_len < FF_INLINE_HDR ? FF_INLINE_HDR - c->rx_stash_len : 0;
	size_t with;
	uint8_t b[FF_INLINE_HDR + 1];
	ssize_t r = 0;

	/* Asked here, where urgent data first matters, not of every connection (a system call
	 * per direction); setsockopt keeps it from then on. */
	rx_oob_note(c, fd);
	with = !(flags & MSG_PEEK) && !atomic_load(&c->rx_oobinline) && rest ? 1 : 0;

	if (rest) {
		do
			r = ff_real.recv(fd, b, rest + with, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r < (ssize_t)rest)
			return ff_rx_broken(c, fd, "an urgent marker cut short");
	}
	c->rx_stash_len = 0;
	if (with && r == (ssize_t)(rest + 1)) {
		if (!(flags & MSG_TRUNC))
			ff_scatter(iov, iovcnt, at, b + rest, 1);
		return 1;
	}
	r = ff_rx_urgent_fate(c, fd);
	return r == 1 ? FF_AT_MARK : r;
}

/* SIOCATMARK on an upgraded connection: a reader right before an urgent marker is at the mark
 * as far as the application can tell (the marker is not its bytes): the marker goes first. */
int ff_rx_atmark(struct ff_conn *c, int fd, void *arg)
{
	uint8_t hb[FF_FRAME_PEEK];
	size_t hlen;
	uint64_t plen;
	ssize_t n;
	int r;

	pthread_mutex_lock(&c->rx_lock);
	/* (a direction not decided yet: its hello, not the application's, goes first) */
	if (atomic_load(&c->rx) == FF_RX_UNDECIDED) {
		int saved = errno;
		ff_rx_decide(c, fd, MSG_DONTWAIT);
		errno = saved;
	}
	if (atomic_load(&c->rx) == FF_RX_FRAMED && !c->rx_db_active && !c->rx_inline_left &&
	    !c->rx_hello_left && !c->rx_urg_pending &&
	    (n = ff_rx_head_peek(c, fd, hb, MSG_DONTWAIT)) > 0 &&
	    ff_frame_decode(hb, (size_t)n, UINT64_MAX, UINT32_MAX, &hlen, &plen, NULL) == FF_FRAME_URGENT) {
		int saved = errno;
		ff_rx_urgent_marker(c, fd, NULL, 0, 0, MSG_PEEK);
		errno = saved;
	}
	r = ff_real.ioctl(fd, SIOCATMARK, arg);
	if (r == 0 && c->rx_db_active && c->rx_db_done) {
		/* the doorbell after the mark stays in the socket while its payload is read out
		 * of the slot: the kernel's read position has not moved, the application's has */
		int none = 0;
		memcpy(arg, &none, sizeof(none));
	}
	pthread_mutex_unlock(&c->rx_lock);
	return r;
}
