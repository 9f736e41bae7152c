/* The sending half of an upgraded direction: hello, inline frames, doorbells.
 * Frame bytes the kernel did not take are kept in tx_pend and always go out before anything
 * else; an inline frame's payload may arrive over several writes (tx_inline_owed), so a partial
 * write never leaves half a frame in the stream. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "busguard.h"
#include "shim.h"

/* Send exactly n frame bytes, waiting for room if the socket is full. The frame was already
 * accepted on behalf of the application, so it must reach the stream. */
static int send_all(int fd, const uint8_t *p, size_t n, int flags)
{
	while (n) {
		ssize_t r = ff_is_sandboxed() ? ff_real.write(fd, p, n) :
			    ff_real.send(fd, p, n, (flags & MSG_NOSIGNAL) | MSG_DONTWAIT);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, 100);
			continue;
		}
		return -1;
	}
	return 0;
}

static int flush_pending(struct ff_conn *c, int fd, int flags)
{
	if (!c->tx_pend_len)
		return 0;
	if (send_all(fd, c->tx_pend, c->tx_pend_len, flags) < 0)
		return -1;
	c->tx_pend_len = 0;
	return 0;
}

/* sent of the plen frame-prefix bytes went out: the rest is committed and must follow before
 * anything else. */
static int commit_prefix(struct ff_conn *c, int fd, const uint8_t *pre, size_t plen, size_t sent,
			 int flags)
{
	if (sent >= plen)
		return 0;
	memcpy(c->tx_pend, pre + sent, plen - sent);
	c->tx_pend_len = plen - sent;
	return flush_pending(c, fd, flags);
}

/* The hello goes before the first frame, in the same system call. */
static size_t put_hello(struct ff_conn *c, uint8_t *buf)
{
	if (atomic_load(&c->tx) != FF_TX_HELLO)
		return 0;
	ff_hello_encode((struct ff_hello *)buf, ff_region_id());
	((struct ff_hello *)buf)->conn_key = htole32(c->tx_key);
	atomic_store(&c->tx, FF_TX_FRAMED);
	ff_counter_add(&ff_rg()->hdr->c.upgrade_success, 1);
	return FF_HELLO_SIZE;
}

/* Pieces one sendmsg() of a frame carries, its prefix included. */
#define FRAME_PIECES 64

/* Write up to `len` raw bytes of iov (after skipping `skip`) with a frame prefix. Returns
 * payload bytes written (>= 0) or -1 if nothing at all went out. Keeps unsent prefix bytes. */
static ssize_t send_with_prefix(struct ff_conn *c, int fd, const uint8_t *pre, size_t plen,
				const struct iovec *iov, int iovcnt, size_t skip, size_t len, int flags)
{
	struct iovec v[FRAME_PIECES];
	struct msghdr mh = { .msg_iov = v };
	int n = 0;
	ssize_t r;

	if (plen)
		v[n++] = (struct iovec){ .iov_base = (void *)pre, .iov_len = plen };
	n += ff_iov_sub(v + n, FRAME_PIECES - n, iov, iovcnt, skip, len);
	mh.msg_iovlen = (size_t)n;
	mh.msg_control = (void *)c->tx_ctl;
	mh.msg_controllen = c->tx_ctllen;
	do
		r = ff_is_sandboxed() ? ff_real.writev(fd, v, n) : ff_real.sendmsg(fd, &mh, flags);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	c->tx_ctl = NULL;                /* it went with the first bytes */
	c->tx_ctllen = 0;
	if ((size_t)r < plen)
		return commit_prefix(c, fd, pre, plen, (size_t)r, flags) < 0 ? -1 : 0;
	return r - (ssize_t)plen;
}

/* Send what the socket holds back for Nagle now; the application's setting stays off. */
static void push_now(int fd)
{
	int on = 1, off = 0;

	ff_real.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	ff_real.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &off, sizeof(off));
}

static ssize_t tx_inline(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			 size_t skip, size_t len, int flags)
{
	uint8_t pre[FF_HELLO_SIZE + FF_INLINE_HDR];
	size_t plen;
	ssize_t r;

	if (len > FF_INLINE_MAX)
		len = FF_INLINE_MAX;
	if (iovcnt > FRAME_PIECES - 1) {
		/* no more than one sendmsg() carries (the pieces after the prefix): a frame of
		 * more was sent in part and the call returned short, where a blocking writev()
		 * of TCP's sends it all (1024 one-byte pieces: 63); now it goes whole, in frames */
		struct iovec v[FRAME_PIECES - 1];
		size_t fit = 0;

		for (int i = 0, k = ff_iov_sub(v, FRAME_PIECES - 1, iov, iovcnt, skip, len); i < k; i++)
			fit += v[i].iov_len;
		if (fit < len)
			len = fit;
	}
	plen = put_hello(c, pre);
	ff_inline_encode((struct ff_inline_hdr *)(pre + plen), (uint32_t)len);
	plen += FF_INLINE_HDR;
	r = send_with_prefix(c, fd, pre, plen, iov, iovcnt, skip, len, flags);
	if (r < 0) {
		if (plen > FF_INLINE_HDR && !c->tx_pend_len)
			atomic_store(&c->tx, FF_TX_HELLO);   /* the hello did not go out: next time */
		return -1;
	}
	c->tx_inline_owed = len - (size_t)r;
	/* Nagle would hold this small frame until the doorbell before it is acknowledged, and a
	 * reader that took only the doorbell's 128 bytes acknowledges late (a delayed ACK, 40 ms
	 * here): a message of 1 MiB and a few bytes took 40 ms. Plain TCP never waits there: its
	 * reader, taking the payload itself, acknowledges at once. So this frame is pushed too. */
	if (c->tx_db_unacked && r > 0 && c->nodelay == 0) {
		c->tx_db_unacked = false;
		push_now(fd);
	}
	ff_counter_add(&ff_rg()->hdr->c.inline_bytes, (uint64_t)r);
	ff_counter_add(&ff_rg()->hdr->c.inline_frames, 1);
	return r;
}

/* Copy len bytes of iov, from byte skip on, to dst. */
static void gather(uint8_t *dst, const struct iovec *iov, int iovcnt, size_t skip, size_t len)
{
	struct iovec v[64];

	while (len) {
		int k = ff_iov_sub(v, 64, iov, iovcnt, skip, len);
		if (!k)
			break;
		for (int i = 0; i < k; i++) {
			memcpy(dst, v[i].iov_base, v[i].iov_len);
			dst += v[i].iov_len;
			skip += v[i].iov_len;
			len -= v[i].iov_len;
		}
	}
}

/* Copy len bytes of iov (from byte skip on) to dst in a slot. False when the region was
 * truncated under the copy, or shrunk and grown again (its tail mark gone): the bytes go
 * inline then. */
bool ff_tx_copy_in(struct ff_region *rg, uint8_t *dst, const struct iovec *iov, int iovcnt,
		    size_t skip, size_t len)
{
	gather(dst, iov, iovcnt, skip, len);
	return !ff_busguard_lost(rg->base) && ff_region_tail_ok(rg);
}

/* A doorbell is a 128-byte segment: with Nagle on (the application's choice, for its own
 * bytes) it would wait for the ACK of the previous one, and the reader for it, up to the
 * delayed-ACK timeout. Push it out now and leave the application's setting as it was. */
static void push_doorbell(struct ff_conn *c, int fd)
{
	if (c->nodelay < 0) {
		int v = 0;
		socklen_t l = sizeof(v);
		c->nodelay = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l) == 0 && v;
	}
	if (c->nodelay)
		return;
	push_now(fd);
	c->tx_db_unacked = true;
}

/* Announce len bytes at offset off of a filled slot. Returns len, 0 if the socket took nothing
 * (the slot goes back), or -1. */
ssize_t ff_tx_doorbell(struct ff_conn *c, int fd, uint32_t slot, uint32_t gen, uint64_t off,
			     uint64_t len, int flags, uint8_t dbflags)
{
	struct ff_region *rg = ff_rg();
	uint8_t pre[FF_HELLO_SIZE + FF_DOORBELL_SIZE];
	size_t plen;
	ssize_t r;

	atomic_store(&rg->meta[slot].conn_key, c->tx_key);
	atomic_store(&rg->meta[slot].len, off + len);
	atomic_store(&rg->meta[slot].filled_ns, ff_now_ns());
	atomic_store(&rg->meta[slot].owner_pid, (uint32_t)ff_proc.pid);
	plen = put_hello(c, pre);
	ff_doorbell_encode_flags(pre + plen, slot, gen, off, len, dbflags);
	plen += FF_DOORBELL_SIZE;
	do {
		struct iovec v = { .iov_base = pre, .iov_len = plen };
		struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = (void *)c->tx_ctl,
				     .msg_controllen = c->tx_ctllen };
		r = ff_real.sendmsg(fd, &mh, flags | MSG_EOR);
	} while (r < 0 && errno == EINTR);
	if (r > 0) {
		c->tx_ctl = NULL;
		c->tx_ctllen = 0;
	}
	if (r <= 0) {
		ff_slot_untake(slot, gen);
		if (plen > FF_DOORBELL_SIZE)
			atomic_store(&c->tx, FF_TX_HELLO);
		return r == 0 ? 0 : -1;
	}
	if (commit_prefix(c, fd, pre, plen, (size_t)r, flags) < 0)
		return -1;
	push_doorbell(c, fd);
	ff_counter_add(&rg->hdr->c.region_bytes, len);
	ff_counter_add(&rg->hdr->c.region_payloads, 1);
	return (ssize_t)len;
}

/* One slot-sized chunk through the region. Returns bytes, 0 if no slot (go inline), -1 error. */
static ssize_t tx_slot(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
		       size_t skip, size_t len, int flags, bool may_wait)
{
	struct ff_region *rg = ff_rg();
	uint32_t gen;
	int64_t slot;

	if (len > rg->hdr->slot_size)
		len = rg->hdr->slot_size;
	slot = ff_slot_take(c->cookie, c->tx_key, fd, may_wait, len, c->tx_sndbuf, &c->tx_flight_deep,
			    &gen);
	if (slot == -2) {
		/* the peer is gone: the kernel's send would have raised SIGPIPE too */
		if (errno == EPIPE && !(flags & MSG_NOSIGNAL)) {
			int saved = errno;
			pthread_kill(pthread_self(), SIGPIPE);
			errno = saved;
		}
		return -1;
	}
	if (slot < 0) {
		ff_note_fallback(FF_FB_NO_SLOT, "no free slot: payload sent inline");
		return 0;
	}
	if (!ff_tx_copy_in(rg, ff_slot_ptr(rg, (uint64_t)slot), iov, iovcnt, skip, len))
		return 0;
	return ff_tx_doorbell(c, fd, (uint32_t)slot, gen, 0, len, flags, 0);
}

/* Does [p, p+len) lie in this process's mapping of the slots? */
static bool in_slots(const uint8_t *p, size_t len)
{
	const struct ff_region *rg = ff_rg();
	const uint8_t *lo, *hi;

	if (!ff_mapped())
		return false;
	lo = rg->slots;
	hi = lo + rg->hdr->slot_count * rg->hdr->slot_size;
	return p >= lo && p < hi && len <= (size_t)(hi - p);
}

/* Zero copy: the payload already is in a slot the application got from faasflow_alloc().
 * Returns bytes announced (one slot's worth at most), 0 when not possible, -1 on error. */
static ssize_t tx_inplace(struct ff_conn *c, int fd, const uint8_t *p, size_t len, int flags,
			  bool may_wait)
{
	struct ff_region *rg = ff_rg();
	uint64_t ssz = rg->hdr->slot_size, at = (uint64_t)(p - rg->slots);
	uint32_t slot = (uint32_t)(at / ssz), gen;
	uint64_t off = at % ssz;

	if (len > ssz - off)
		len = ssz - off;
	switch (ff_slot_take_app(slot, c->cookie, c->tx_key, fd, may_wait, &gen)) {
	case -2:
		return -1;
	case -1:
		return 0;
	}
	return ff_tx_doorbell(c, fd, slot, gen, off, len, flags, 0);
}

ssize_t ff_tx(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	return ff_tx_ctl(c, fd, iov, iovcnt, flags, NULL, 0);
}

/* Does a send on fd block? Asked once per call, and only by the paths through the region (a
 * small inline write, the common case of a stream of small writes, needs no fcntl). A
 * process in a seccomp sandbox sends with write/writev only: no fcntl asked. */
static bool is_blocking(int *cache, int fd, int flags)
{
	if (*cache < 0)
		*cache = ff_is_sandboxed() || ff_fd_blocking(fd, flags);
	return *cache;
}

/* THRESHOLD: this process's own (configuration, FAASFLOW_THRESHOLD), or the one the
 * coordinator published in the region (THRESHOLD = auto: measured on this host), or the
 * default before a region is mapped. (A mapping stays until exit, a replaced region's too:
 * control.c; a truncated file's header reads as zeros: busguard.h.) */
static uint64_t tx_threshold(void)
{
	struct ff_region *rg = ff_rg();

	if (ff_proc.cfg.threshold)
		return ff_proc.cfg.threshold;
	return rg ? ff_thr_value(&rg->hdr->thr) : FF_DEFAULT_THRESHOLD;
}

/* control: the application's ancillary data (sendmsg), sent with the call's first bytes. */
ssize_t ff_tx_ctl(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags,
		  const void *control, size_t controllen)
{
	size_t total = ff_iov_len(iov, iovcnt), done = 0;
	uint64_t thr = tx_threshold();
	int blk = -1;           /* the descriptor's blocking mode, asked once a slot path needs it */
	ssize_t r = 0;
	int saved;

	/* Doorbells close their buffer in the socket (MSG_EOR), so the header after one starts
	 * a fresh buffer. (Inline frames of non-blocking writers did too, and a non-blocking
	 * sendall interrupted by a signal never returned: CPython's testInterruptedSendTimeout;
	 * left out until understood.) */
	pthread_mutex_lock(&c->tx_lock);
	c->tx_ctl = controllen ? control : NULL;
	c->tx_ctllen = controllen;
	if (flush_pending(c, fd, flags) < 0) {
		r = -1;
		goto out;
	}
	if (c->tx_inline_owed) {
		size_t n = total < c->tx_inline_owed ? total : c->tx_inline_owed;
		r = send_with_prefix(c, fd, NULL, 0, iov, iovcnt, 0, n, flags);
		if (r > 0)
			c->tx_inline_owed -= (size_t)r;
		goto out;
	}
	while (done < total) {
		size_t left = total - done;
		ssize_t n = 0;

		bool slots = !c->tx_inline_only && !ff_is_sandboxed();
		bool run = slots && ff_tx_run_allowed(c, left, flags, thr);

		if (c->tx_run && (!run || (n = ff_tx_run_append(c, iov, iovcnt, done, left)) == 0))
			ff_tx_run_end(c);     /* another frame follows: the run's bytes go first */
		if (n == 0 && run && atomic_load_explicit(&c->tx_streak, memory_order_relaxed) >=
				      FF_RUN_AFTER_WRITES && ff_region_usable()) {
			if (c->tx_run_skip)
				c->tx_run_skip--;
			else
				n = ff_tx_run_start(c, fd, iov, iovcnt, done, left, flags);
		}
		if (n != 0) {
			if (n < 0)
				break;
			done += (size_t)n;
			continue;
		}

		if (iovcnt == 1 && slots &&
		    in_slots((const uint8_t *)iov[0].iov_base + done, left) && ff_region_usable())
		{
			if (is_blocking(&blk, fd, flags))
				ff_signals_call_begin();
			n = tx_inplace(c, fd, (const uint8_t *)iov[0].iov_base + done, left, flags,
				       blk);
		}
		if (n == 0 && left >= thr && slots && ff_region_usable())
		{
			if (is_blocking(&blk, fd, flags))
				ff_signals_call_begin();
			n = tx_slot(c, fd, iov, iovcnt, done, left, flags, blk);
		}
		if (n == 0)
			n = tx_inline(c, fd, iov, iovcnt, done, left, flags);
		if (n < 0)
			break;
		done += (size_t)n;
		if (n == 0) {
			/* Only a frame header went out: the payload is owed. The kernel stops a
			 * blocking send after part of it when a reset (or a signal) comes mid-call;
			 * the payload goes on now, so the call returns bytes or the error, as TCP's
			 * would (EAGAIN from a blocking send: a reader that reset the connection under
			 * load, seen once). A non-blocking send says EAGAIN; the next sends it first. */
			if (c->tx_inline_owed && is_blocking(&blk, fd, flags)) {
				size_t k = left < c->tx_inline_owed ? left : (size_t)c->tx_inline_owed;

				n = send_with_prefix(c, fd, NULL, 0, iov, iovcnt, done, k, flags);
				if (n > 0) {
					c->tx_inline_owed -= (size_t)n;
					done += (size_t)n;
				}
				break;
			}
			errno = EAGAIN;
			break;
		}
		if (c->tx_inline_owed)
			break;
	}
	r = done ? (ssize_t)done : -1;
	{
		/* a stream of small writes: the next ones may go as a run */
		uint32_t k = atomic_load_explicit(&c->tx_streak, memory_order_relaxed);
		atomic_store_explicit(&c->tx_streak, total < thr && r > 0 ? (k < 255 ? k + 1 : k) : 0,
				      memory_order_relaxed);
	}
	if (r < 0 && (errno == EPIPE || errno == ECONNRESET))
		ff_slot_reclaim_conn(c->cookie);   /* nobody will read what is in flight */
out:
	saved = errno;
	c->tx_ctl = NULL;
	c->tx_ctllen = 0;
	ff_signals_call_end();          /* held signals act now, as on return from the kernel */
	pthread_mutex_unlock(&c->tx_lock);
	errno = saved;
	return r;
}

/* The urgent byte of send(MSG_OOB), after the bytes before it went out framed: an urgent
 * marker frame, then the byte raw with MSG_OOB, so the peer's kernel takes it out of the
 * stream (recv(MSG_OOB) gets it, SIOCATMARK marks its place) or leaves it in (SO_OOBINLINE, a
 * later urgent byte), and the reader knows which byte it is. Returns 1, or -1 with errno. */
ssize_t ff_tx_urgent(struct ff_conn *c, int fd, uint8_t byte, int flags)
{
	ssize_t r;
	int saved;

	pthread_mutex_lock(&c->tx_lock);
	ff_tx_run_end(c);
	{
		/* The hello first, if nothing went yet: the urgent byte must not be the first byte
		 * of the direction (a reader with SO_OOBINLINE finds it there instead of a hello). */
		uint8_t pre[FF_HELLO_SIZE];
		size_t pl = put_hello(c, pre);
		r = pl ? commit_prefix(c, fd, pre, pl, 0, flags) : 0;
	}
	if (r == 0)
		r = flush_pending(c, fd, flags);
	if (r == 0 && c->tx_inline_owed) {
		errno = EAGAIN;           /* an inline frame still waits for payload bytes */
		r = -1;
	}
	if (r == 0) {
		/* The marker says the next byte is TCP's urgent byte (the reader cannot know where
		 * the kernel took one out of the stream, or left one in). Once it is out, the byte
		 * must follow: a marker alone would stall the reader. */
		struct ff_inline_hdr m;
		ff_urgent_encode(&m);
		r = commit_prefix(c, fd, (const uint8_t *)&m, sizeof(m), 0, flags);
	}
	if (r == 0) {
		for (;;) {
			r = ff_real.send(fd, &byte, 1, flags | MSG_OOB);
			if (r >= 0 || (errno != EINTR && errno != EAGAIN))
				break;
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (errno == EAGAIN)
				poll(&p, 1, -1);
		}
	}
	saved = errno;
	pthread_mutex_unlock(&c->tx_lock);
	errno = saved;
	return r;
}
