/* The receiving half: once a direction is decided (rx_start.c: a hello at offset 0, or raw),
 * parse its frames. A doorbell stays in the socket until its whole payload has been copied
 * out, so the fd stays readable (level and edge) while slot bytes remain; it is consumed and
 * the slot given back only then. No application byte is ever read ahead into the shim.
 * FIONREAD and borrowing in place are in rx_side.c, reads at a frame head in one call in
 * rx_head.c, MSG_PEEK in rx_peek.c, urgent data in rx_urgent.c. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "shim.h"

/* A blocking call interrupted by a signal fails with EINTR, as the application's own call
 * would (a handler with SA_RESTART has the kernel restart it instead); only calls that cannot
 * block are retried. */
ssize_t ff_rx_peek(int fd, void *buf, size_t n, int flags)
{
	ssize_t r;

	do
		r = ff_real.recv(fd, buf, n, MSG_PEEK | flags);
	while (r < 0 && errno == EINTR && (flags & MSG_DONTWAIT));
	return r;
}

/* Copy n bytes from src into iov starting at byte `at`. */
void ff_scatter(const struct iovec *iov, int iovcnt, size_t at, const uint8_t *src, size_t n)
{
	struct iovec v[64];

	while (n) {
		int k = ff_iov_sub(v, 64, iov, iovcnt, at, n);
		if (!k)
			break;
		for (int i = 0; i < k; i++) {
			memcpy(v[i].iov_base, src, v[i].iov_len);
			src += v[i].iov_len;
			at += v[i].iov_len;
			n -= v[i].iov_len;
		}
	}
}

/* A plain direction's read, with the system call the application's own would make when it
 * can tell (read or readv for no flags): a process sandboxed with seccomp allows only the calls
 * it makes itself (sshd's pre-authentication child was killed by the recvmsg this made of its
 * read(), when its client's direction stayed plain). */
ssize_t ff_rx_plain(int fd, const struct iovec *iov, int iovcnt, int flags)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	if (!flags)
		return iovcnt == 1 ? ff_real.read(fd, iov[0].iov_base, iov[0].iov_len)
				   : ff_real.readv(fd, iov, iovcnt);
	return ff_real.recvmsg(fd, &mh, flags);
}

ssize_t ff_rx_broken(struct ff_conn *c, int fd, const char *why)
{
	if (!c->rx_broken) {
		c->rx_broken = true;
		ff_note_fallback(FF_FB_BAD_DOORBELL, why);
		ff_real.shutdown(fd, SHUT_RDWR);
	}
	errno = ECONNRESET;
	return -1;
}

/* Copy from the active doorbell's slot. */
/* Copy from the active doorbell's slot. The slot word is read before and after the copy: our
 * claim (READING, this generation) must hold throughout, else the slot was taken back under
 * us (never by design; a coordinator restart that misjudged us) and the bytes cannot be
 * trusted: the connection fails as a reset instead. */
static ssize_t rx_from_slot(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			    size_t at, size_t space, int flags)
{
	const struct ff_doorbell *db = &c->rx_db;
	_Atomic uint32_t *word = &ff_rg()->meta[db->slot].word;
	uint32_t claim = FF_SLOT_WORD(db->gen & FF_SLOT_GEN_MASK, FF_SLOT_READING);
	size_t n = db->len - c->rx_db_done;
	uint8_t tmp[FF_DOORBELL_SIZE];

	if (n > space)
		n = space;
	if (atomic_load_explicit(word, memory_order_acquire) != claim)
		return ff_rx_broken(c, fd, "the slot being read was taken back");
	if (!(flags & MSG_TRUNC))
		ff_scatter(iov, iovcnt, at, ff_slot_ptr(ff_rg(), db->slot) + db->offset + c->rx_db_done, n);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(word, memory_order_relaxed) != claim)
		return ff_rx_broken(c, fd, "the slot being read was taken back");
	if (!ff_region_tail_ok(ff_rg()))
		return ff_rx_broken(c, fd, "the region file was shrunk under the transfer");
	if (flags & MSG_PEEK)
		return (ssize_t)n;
	c->rx_db_done += n;
	ff_counter_add(&ff_rg()->hdr->c.rx_region_bytes, n);
	if (c->rx_db_done == db->len) {
		/* The doorbell is at the head of the socket: consume it, give the slot back. */
		ssize_t r;
		do
			r = ff_real.recv(fd, tmp, c->rx_db_tail, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		c->rx_db_active = false;
		c->rx_db_done_count++;
		ff_slot_release(db->slot, db->gen);
	}
	return (ssize_t)n;
}

/* settle: a read about to take the run lets it grow first while its writer appends. */
static int rx_decode(struct ff_conn *c, const void *buf, size_t n, uint64_t slot_size,
		     uint64_t slot_count, size_t *hdr_len, uint64_t *payload_len,
		     struct ff_doorbell *db, bool settle)
{
	struct ff_doorbell own;
	int t;

	if (!db)
		db = &own;
	t = ff_frame_decode(buf, n, slot_size, slot_count, hdr_len, payload_len, db);
	if (t == FF_FRAME_DOORBELL && (db->flags & FF_DB_RUN) && c->rx_region_ok) {
		uint64_t len;

		if (settle)
			ff_run_settle(db);
		len = ff_run_seal(db, c->rx_key);
		if (len) {
			db->len = len;
			*payload_len = len;
		}
	}
	return t;
}

int ff_rx_decode(struct ff_conn *c, const void *buf, size_t n, uint64_t slot_size,
		 uint64_t slot_count, size_t *hdr_len, uint64_t *payload_len, struct ff_doorbell *db)
{
	return rx_decode(c, buf, n, slot_size, slot_count, hdr_len, payload_len, db, false);
}

static ssize_t rx_inline(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			 size_t at, size_t len, size_t hlen, int flags)
{
	struct iovec v[65];
	uint8_t hdr[FF_INLINE_HDR];
	struct msghdr mh = { .msg_iov = v };
	int n = 0;
	ssize_t r;

	if (hlen)
		v[n++] = (struct iovec){ .iov_base = hdr, .iov_len = hlen };
	if (flags & MSG_TRUNC) {
		/* Discard: read into nothing by letting the kernel drop the bytes. */
		mh.msg_iovlen = (size_t)n;
		if (hlen) {
			do
				r = ff_real.recvmsg(fd, &mh, flags & ~(MSG_TRUNC | MSG_WAITALL));
			while (r < 0 && errno == EINTR && (flags & MSG_DONTWAIT));
			if (r < 0)
				return -1;
		}
		do
			r = ff_real.recv(fd, NULL, len, MSG_TRUNC | (flags & MSG_DONTWAIT));
		while (r < 0 && errno == EINTR);
		if (r >= 0)
			c->rx_inline_left -= (size_t)r;
		return r;
	}
	n += ff_iov_sub(v + n, 64, iov, iovcnt, at, len);
	mh.msg_iovlen = (size_t)n;
	do
		r = ff_real.recvmsg(fd, &mh, flags & ~MSG_WAITALL);
	while (r < 0 && errno == EINTR && (flags & MSG_DONTWAIT));
	if (r < 0)
		return -1;
	if ((size_t)r < hlen)
		return -1;   /* cannot happen with one reader: the header was peeked whole */
	r -= (ssize_t)hlen;
	c->rx_inline_left -= (size_t)r;
	return r;
}

/* The head of the stream: the stashed header bytes, then what the socket has. Returns the
 * bytes in buf (0: end of stream), or -1 with errno. */
ssize_t ff_rx_head_peek(struct ff_conn *c, int fd, uint8_t buf[FF_FRAME_PEEK], int pflags)
{
	size_t k = c->rx_stash_len;
	ssize_t r;

	memcpy(buf, c->rx_stash, k);
	r = ff_rx_peek(fd, buf + k, FF_FRAME_PEEK - k, pflags);
	if (r < 0)
		return -1;
	return r == 0 ? 0 : (ssize_t)k + r;
}

/* Part of a header is all there is: move the socket's share of it into the stash. */
static void stash_partial(struct ff_conn *c, int fd, size_t have)
{
	ssize_t r;

	if (have <= c->rx_stash_len)
		return;
	do
		r = ff_real.recv(fd, c->rx_stash + c->rx_stash_len, have - c->rx_stash_len, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		c->rx_stash_len = (uint8_t)(c->rx_stash_len + r);
}

/* Next frame at the head: start it. head: headn bytes of the socket's head a peek of this
 * call already has (none stashed), decoded without a second peek (a 256 KiB stream: three
 * system calls a doorbell were two). Returns payload bytes delivered (maybe 0), or -1. */
static ssize_t rx_frame(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			size_t at, size_t space, int flags, int pflags, bool *eof,
			const uint8_t *head, size_t headn)
{
	uint8_t hb[FF_FRAME_PEEK];
	struct ff_doorbell db;
	size_t hlen;
	uint64_t plen;
	uint64_t ssz = ff_mapped() ? ff_rg()->hdr->slot_size : 0;
	uint64_t scnt = ff_mapped() ? ff_rg()->hdr->slot_count : 0;
	ssize_t r;
	int t;

	size_t k;

	for (;;) {
		if (headn && !c->rx_stash_len) {
			r = (ssize_t)(headn < sizeof(hb) ? headn : sizeof(hb));
			memcpy(hb, head, (size_t)r);
			headn = 0;
		} else {
			r = ff_rx_head_peek(c, fd, hb, pflags);
		}
		if (r <= 0) {
			*eof = r == 0;
			return r == 0 ? 0 : -1;
		}
		t = rx_decode(c, hb, (size_t)r, ssz ? ssz : UINT64_MAX, scnt ? scnt : UINT32_MAX,
			      &hlen, &plen, &db, !(flags & MSG_PEEK));
		if (t < 0)
			return ff_rx_broken(c, fd, "invalid frame on an upgraded connection");
		if (t > 0)
			break;
		/* Part of a header: the rest is on its way. Its bytes leave the socket (peeking
		 * too: none of them is the application's), so a wait for more sleeps. */
		stash_partial(c, fd, (size_t)r);
		if (!ff_fd_blocking(fd, pflags)) {
			errno = EAGAIN;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, -1);
	}
	k = c->rx_stash_len;      /* header bytes already out of the socket */
	if (t == FF_FRAME_URGENT)
		return ff_rx_urgent_marker(c, fd, iov, iovcnt, at, flags);
	if (t == FF_FRAME_INLINE) {
		size_t n = plen < space ? (size_t)plen : space;
		if (flags & MSG_PEEK)
			return ff_rx_peek_inline(fd, iov, iovcnt, at, n, hlen - k, pflags);
		c->rx_inline_left = plen;
		c->rx_stash_len = 0;
		return rx_inline(c, fd, iov, iovcnt, at, n, hlen - k, (flags & MSG_TRUNC) | pflags);
	}
	if (!c->rx_region_ok)
		return ff_rx_broken(c, fd, "doorbell for a region this process does not share");
	if (flags & MSG_PEEK) {
		if (!ff_slot_check(&db, c->rx_key))
			return ff_rx_broken(c, fd, "stale or forged doorbell");
		c->rx_db = db;
		c->rx_db_done = 0;
		size_t n = db.len < space ? (size_t)db.len : space;
		if (!(flags & MSG_TRUNC))
			ff_scatter(iov, iovcnt, at, ff_slot_ptr(ff_rg(), db.slot) + db.offset, n);
		return (ssize_t)n;
	}
	if (ff_slot_claim(&db, c->rx_key) < 0)
		return ff_rx_broken(c, fd, "stale or forged doorbell");
	c->rx_db = db;
	c->rx_db_done = 0;
	c->rx_db_tail = (uint8_t)(FF_DOORBELL_SIZE - k);
	c->rx_stash_len = 0;
	c->rx_db_active = true;
	return rx_from_slot(c, fd, iov, iovcnt, at, space, flags);
}

static ssize_t rx_framed(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	size_t space = ff_iov_len(iov, iovcnt), got = 0;
	bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
	bool plain = !(flags & (MSG_PEEK | MSG_TRUNC));
	bool eof = false, drained = false;

	if (c->rx_broken) {
		errno = ECONNRESET;
		return -1;
	}
	while (flags & MSG_PEEK) {
		ssize_t r;

		if (c->rx_urg_pending && ff_rx_urgent_fate(c, fd) < 0)
			return -1;
		if (!c->rx_db_active && !c->rx_inline_left) {
			r = ff_rx_urgent_inline(c, fd, iov, iovcnt, 0, flags, flags & MSG_DONTWAIT, &eof);
			if (r == 1 && space > 1) {
				/* a peek at the urgent mark goes on past the urgent byte, as TCP's
				 * does with SO_OOBINLINE (it stops at the next mark) */
				ssize_t more = ff_rx_peek_frames(c, fd, iov, iovcnt, space, MSG_DONTWAIT,
								 (flags & MSG_TRUNC) != 0, 1);
				return more > 1 ? more : 1;
			}
			if (r != -2)
				return r;
		}
		r = ff_rx_peek_frames(c, fd, iov, iovcnt, space, flags & MSG_DONTWAIT,
				      (flags & MSG_TRUNC) != 0, 0);
		if (r != -3)
			return r;
		/* an urgent marker at the head: it leaves the socket, then the peek again */
		r = ff_rx_urgent_marker(c, fd, NULL, 0, 0, flags);
		if (r < 0 && r != FF_AT_MARK)
			return -1;
	}
	while (got < space) {
		/* The first bytes wait as the socket would; later ones only if MSG_WAITALL. */
		int pflags = (got && !waitall) ? MSG_DONTWAIT : (flags & MSG_DONTWAIT);
		ssize_t r;

		if (c->rx_db_active)
			r = rx_from_slot(c, fd, iov, iovcnt, got, space - got, flags);
		else if (c->rx_inline_left) {
			size_t n = space - got < c->rx_inline_left ? space - got : (size_t)c->rx_inline_left;
			if (flags & MSG_PEEK) {
				struct iovec v[64];
				int k = ff_iov_sub(v, 64, iov, iovcnt, got, n);
				struct msghdr mh = { .msg_iov = v, .msg_iovlen = (size_t)k };
				do
					r = ff_real.recvmsg(fd, &mh, MSG_PEEK | pflags);
				while (r < 0 && errno == EINTR && (pflags & MSG_DONTWAIT));
			} else {
				r = rx_inline(c, fd, iov, iovcnt, got, n, 0, (flags & MSG_TRUNC) | pflags);
			}
			eof = r == 0;
		} else {
			/* At a frame head. A small read, or one after the reader emptied the socket
			 * (request/response), takes header and payload in one call; a big read in a
			 * stream of small frames peeks many at once. */
			r = c->rx_urg_pending ? ff_rx_urgent_fate(c, fd) : -2;
			if (r == 1)
				r = FF_AT_MARK;
			if (r == -2)
				r = ff_rx_urgent_inline(c, fd, iov, iovcnt, got, flags, pflags, &eof);
			if (r == -2 && plain && !c->rx_stash_len &&
			    (space - got <= FF_SPEC_MAX || (!got && c->rx_emptied)))
				r = ff_rx_spec(c, fd, iov, iovcnt, got, space - got, pflags, &eof, &drained);
			else if (r == -2 && c->rx_hello_left) {
				ff_rx_hello_take(c, fd);
				r = ff_rx_urgent_inline(c, fd, iov, iovcnt, got, flags, pflags, &eof);
			}
			size_t peeked = 0;
			if (r == -2 && plain && iovcnt == 1 && !c->rx_stash_len && space - got > 2 * FF_INLINE_HDR)
				r = ff_rx_inline_batch(c, fd, (uint8_t *)iov[0].iov_base + got, space - got,
						    pflags, &eof, &drained, &peeked);
			if (r == -2)
				r = rx_frame(c, fd, iov, iovcnt, got, space - got, flags, pflags, &eof,
					     peeked ? (uint8_t *)iov[0].iov_base + got : NULL, peeked);
		}
		if (r == FF_AT_MARK) {
			if (got) {
				c->rx_mark_stop = true;    /* (MSG_WAITALL too: ff_rx returns) */
				break;
			}
			r = 0;
		}
		if (r < 0)
			return got ? (ssize_t)got : -1;
		got += (size_t)r;
		/* The socket had no more just now: return what there is, as its own read would. */
		if (eof || (flags & MSG_PEEK) || (drained && got && !waitall))
			break;
		drained = false;
	}
	if (plain)
		c->rx_emptied = got < space;
	return (ssize_t)got;
}

static ssize_t rx_once(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	ssize_t r;

	/* a read between writes: request/response, whose small writes stay inline (tx.c) */
	if (atomic_load_explicit(&c->tx_streak, memory_order_relaxed))
		atomic_store_explicit(&c->tx_streak, 0, memory_order_relaxed);
	if (atomic_load(&c->rx) == FF_RX_UNDECIDED && ff_rx_start(c, fd, iov, iovcnt, flags) < 0)
		return -1;
	if (atomic_load(&c->rx) == FF_RX_RAW)
		return ff_rx_plain(fd, iov, iovcnt, flags);
	if (c->rx_db_active)
		ff_ctl_fresh();
	if (ff_iov_len(iov, iovcnt) == 0)
		r = 0;
	else
		r = rx_framed(c, fd, iov, iovcnt, flags);
	return ff_rx_start_end(c, fd, r);
}

/* A blocking read that finds nothing on a connection to a shim peer (or, on the accepting
 * side, from a client that may be one) most likely waits for a request/response partner on
 * another CPU, which answers within tens of microseconds: it is waited for awake (spin.c).
 * Such a read is first tried without waiting, so a read that finds bytes costs nothing more;
 * only one that would sleep polls, then sleeps as it would have. Server and client on two
 * CPUs: a 64-byte request/response 55 -> 9 us a round trip, 1 MiB 125 -> 81 us; the limit
 * goes up to 400 us since a 1 MiB payload's doorbell comes after its copy (~100 us). */
static struct ff_spin reader_spin = {
	.ns = 50 * 1000, .min_ns = 5 * 1000, .max_ns = 400 * 1000,
};

static bool rx_spin_ok(struct ff_conn *c, int flags)
{
	int rx = atomic_load(&c->rx);

	if (flags & (MSG_DONTWAIT | MSG_WAITALL))
		return false;
	if (rx == FF_RX_FRAMED)
		return true;
	return rx == FF_RX_UNDECIDED && (!c->is_client || atomic_load(&c->tx) != FF_TX_RAW);
}

/* One pass under rx_lock that never waits in the kernel (MSG_DONTWAIT throughout). */
static ssize_t rx_locked_once(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			      int flags)
{
	ssize_t r;
	int saved;

	pthread_mutex_lock(&c->rx_lock);
	r = rx_once(c, fd, iov, iovcnt, flags | MSG_DONTWAIT);
	saved = errno;
	pthread_mutex_unlock(&c->rx_lock);
	errno = saved;
	return r;
}

/* Wait, without rx_lock, until the socket has bytes, EOF or an error, exactly as the
 * application's own call would: a one-byte MSG_PEEK with the call's own blocking mode sleeps
 * with the socket's SO_RCVTIMEO (EAGAIN), fails with EINTR for a handler without SA_RESTART
 * and is restarted by the kernel otherwise; on a non-blocking socket it says EAGAIN at once.
 * Other threads meanwhile peek, ask FIONREAD, borrow and close at once, as with TCP. Bytes
 * the shim still owes the application always leave the socket readable (a doorbell stays in
 * it until its payload is read), so this never sleeps past them. 0: something to look at. */
static int peek_wait(int fd, int flags)
{
	uint8_t b;

	return ff_real.recv(fd, &b, 1, MSG_PEEK | (flags & MSG_DONTWAIT)) < 0 ? -1 : 0;
}

/* While the wait polls, the poll is the read itself (no poll that says "readable" before it). */
struct rx_try {
	struct ff_conn *c;
	int fd, iovcnt, flags, err;
	const struct iovec *iov;
	ssize_t r;
};

static int rx_try(void *arg)
{
	struct rx_try *t = arg;

	t->r = rx_locked_once(t->c, t->fd, t->iov, t->iovcnt, t->flags);
	t->err = errno;
	return t->r >= 0 || t->err != EAGAIN;
}

/* -1: fail (errno); 0: go and read; 1: the wait read already, *out (errno set as it left it). */
static int rx_wait(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags,
		   ssize_t *out)
{
	uint64_t t0 = 0;
	int ready, r;

	if (rx_spin_ok(c, flags & ~MSG_WAITALL) && !ff_spin_skip(&reader_spin)) {
		struct rx_try t = { .c = c, .fd = fd, .iovcnt = iovcnt, .flags = flags, .iov = iov };
		ready = ff_spin_until(rx_try, &t, true, &reader_spin, &t0, fd);
		if (ready > 0) {
			*out = t.r;
			errno = t.err;
			return 1;
		}
		if (ready < 0)
			return -1;
	}
	r = peek_wait(fd, flags);
	if (t0) {
		int saved = errno;
		ff_spin_slept(&reader_spin, t0);
		errno = saved;
	}
	return r;
}

ssize_t ff_rx(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	bool waitall = (flags & MSG_WAITALL) && !(flags & (MSG_PEEK | MSG_DONTWAIT));
	size_t space = ff_iov_len(iov, iovcnt), got = 0, want = 1;
	int lowat = atomic_load_explicit(&c->rx_lowat, memory_order_relaxed);
	struct iovec rest[64];
	const struct iovec *v = iov;
	int vcnt = iovcnt;
	bool blocking = false, checked = false;
	unsigned idle = 0;
	ssize_t r;

	if (ff_is_sandboxed() && !(flags & (MSG_PEEK | MSG_TRUNC | MSG_WAITALL | MSG_DONTWAIT | MSG_OOB))) {
		/* A read of nothing returns 0 at once, as the socket's own does, deciding
		 * nothing and taking nothing (when the peer's entry had said "a hello", such a
		 * read waited for the hello, took it and returned its size, 16) */
		if (!space)
			return ff_rx_plain(fd, iov, iovcnt, flags);
		if (atomic_load(&c->rx) == FF_RX_UNDECIDED) {
			pthread_mutex_lock(&c->rx_lock);
			bool done = atomic_load(&c->rx) == FF_RX_UNDECIDED &&
				    ff_sandbox_start(c, fd, iov, iovcnt, &r);
			int saved = errno;
			pthread_mutex_unlock(&c->rx_lock);
			errno = saved;
			if (done)
				return r;
		}
		if (atomic_load(&c->rx) == FF_RX_RAW)
			return ff_rx_plain(fd, iov, iovcnt, flags);
		if (atomic_load(&c->rx) == FF_RX_FRAMED)
			return ff_sandbox_rx(c, fd, iov, iovcnt);
	}

	/* The reader emptied the socket last time (request/response) and will not spin: the
	 * answer is most likely not there yet, so sleep first, as the application's own call
	 * would at once, instead of trying a read that finds nothing. */
	if (!waitall && !(flags & MSG_PEEK) && atomic_load_explicit(&c->rx_emptied, memory_order_relaxed) &&
	    atomic_load(&c->rx) == FF_RX_FRAMED &&
	    !(rx_spin_ok(c, flags) && ff_spin_limit(&reader_spin)) && peek_wait(fd, flags) < 0)
		return -1;
	/* What a blocking read waits for: all of it (MSG_WAITALL), or SO_RCVLOWAT bytes. */
	if (waitall)
		want = space;
	else if (lowat > 1 && !(flags & MSG_PEEK))
		want = (size_t)lowat < space ? (size_t)lowat : space;
	for (bool have = false;; ) {
		if (!have)
			r = rx_locked_once(c, fd, v, vcnt, flags);
		have = false;
		if (r > 0) {
			got += (size_t)r;
			if (got >= want || c->rx_mark_stop) {
				c->rx_mark_stop = false;
				return (ssize_t)got;
			}
			vcnt = ff_iov_sub(rest, 64, iov, iovcnt, got, space - got);
			v = rest;
			idle = 0;
		} else if (r == 0 || errno != EAGAIN) {
			return got ? (ssize_t)got : r;
		}
		if (!checked) {
			/* (a failing fcntl: the fd was closed by another thread meanwhile; say
			 * so, as the next call on it would, not EAGAIN) */
			int b = ff_conn_blocking(c, fd, flags);
			if (b < 0)
				return got ? (ssize_t)got : -1;
			blocking = b > 0;
			checked = true;
		}
		if (!blocking) {
			if (got)
				return (ssize_t)got;
			errno = EAGAIN;
			return -1;
		}
		/* Bytes that are not yet a whole hello: the socket stays readable until the rest
		 * comes, so pace the retries instead of spinning on them. */
		if (idle++) {
			struct timespec ts = { 0, 50 * 1000 };
			nanosleep(&ts, NULL);
		}
		switch (rx_wait(c, fd, v, vcnt, flags, &r)) {
		case -1:
			return got ? (ssize_t)got : -1;
		case 1:
			have = true;
			break;
		default:
			break;
		}
	}
}
