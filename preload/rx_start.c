/* How a direction starts: offset 0 of a connection's incoming stream is a hello (the
 * direction is upgraded) or anything else (plain for good). The writer may have said which in
 * its pair entry (rx_said): then no look at the stream is needed; otherwise the reader peeks
 * at the first bytes (rx_decide). */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "shim.h"

#define HELLO_WAIT_MS 20

static void hello_consume(int fd, size_t n)
{
	uint8_t b[FF_HELLO_SIZE];
	ssize_t r;

	do
		r = ff_real.recv(fd, b, n, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
}

void ff_rx_hello_take(struct ff_conn *c, int fd)
{
	hello_consume(fd, c->rx_hello_left);
	c->rx_hello_left = 0;
}

/* The direction stays plain: the kernel counts the application's bytes, so its low-water
 * mark is the application's again. */
void ff_rx_set_raw(struct ff_conn *c, int fd)
{
	int lowat = atomic_load(&c->rx_lowat);

	atomic_store(&c->rx, FF_RX_RAW);
	if (lowat > 1)
		ff_real.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat));
}

/* The application set SO_RCVLOWAT (the kernel took it): while this direction is or may become
 * framed, remember it and give the kernel 1. */
void ff_rx_lowat_set(struct ff_conn *c, int fd)
{
	int v = 0, one = 1;
	socklen_t l = sizeof(v);

	if (c->kind != FF_KIND_CONN || atomic_load(&c->rx) == FF_RX_RAW ||
	    getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &l) < 0)
		return;
	atomic_store(&c->rx_lowat, v);
	ff_real.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
	if (atomic_load(&c->rx) == FF_RX_RAW)
		ff_rx_set_raw(c, fd);          /* decided meanwhile */
}

/* Offset 0 of this direction: a valid hello switches it to frames, anything else keeps it raw.
 * defer: leave the hello in the socket for the caller's next read to take with the first
 * frame (c->rx_hello_left; one system call fewer a connection). Returns 0 when decided, -1
 * with errno (EAGAIN: nothing there yet). */
static int rx_decide(struct ff_conn *c, int fd, int flags, bool defer)
{
	uint8_t b[FF_HELLO_SIZE];
	uint64_t deadline = 0;
	int match = 0;

	for (;;) {
		ssize_t r = ff_rx_peek(fd, b, sizeof(b), flags & MSG_DONTWAIT);
		int res;

		if (r < 0)
			return -1;
		res = r == 0 ? FF_HELLO_NO : ff_hello_check(b, (size_t)r, ff_region_id(), &match);
		if (res == FF_HELLO_NO) {
			ff_rx_set_raw(c, fd);
			return 0;
		}
		if (res == FF_HELLO_YES) {
			c->rx_key = ff_hello_conn_key(b);
			ff_reader_name(c, c->rx_key);     /* (named already unless translated) */
			if (defer)
				c->rx_hello_left = FF_HELLO_SIZE;
			else
				hello_consume(fd, FF_HELLO_SIZE);
			c->rx_region_ok = match && ff_mapped();
			atomic_store(&c->rx, FF_RX_FRAMED);
			if (ff_mapped())
				ff_counter_add(&ff_rg()->hdr->c.upgrade_success, 1);
			return 0;
		}
		/* A prefix of the magic: wait a few milliseconds for the rest, never longer. Once
		 * the whole magic is there it is a hello: wait as a read would. */
		uint64_t now = ff_now_ns();
		bool whole_magic = r >= (ssize_t)sizeof(uint64_t);
		if (!deadline)
			deadline = now + HELLO_WAIT_MS * 1000000ull;
		if (!whole_magic && now >= deadline) {
			ff_rx_set_raw(c, fd);
			return 0;
		}
		if (whole_magic && !ff_fd_blocking(fd, flags)) {
			errno = EAGAIN;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, whole_magic ? -1 : 1);
	}
}

int ff_rx_decide(struct ff_conn *c, int fd, int flags)
{
	return rx_decide(c, fd, flags, false);
}

/* The writer said (in its pair entry) how its direction begins. Raw: it is plain for good, no
 * look needed. A hello: a plain read takes it with the first frame (ff_rx_spec checks it), one
 * system call where a peek and a read were two. 1: decided so; 0: look as before. */
static int rx_said(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	size_t space = ff_iov_len(iov, iovcnt);
	uint32_t said;

	if (!c->tup_ok || !ff_mapped() || (flags & (MSG_PEEK | MSG_TRUNC | MSG_OOB)))
		return 0;
	said = ff_pair_tx_of(ff_rg(), &c->tup, c->is_client ? FF_PAIR_SERVER : FF_PAIR_CLIENT);
	if (said == FF_PAIR_TX_RAW) {
		ff_rx_set_raw(c, fd);
		return 1;
	}
	if (said != FF_PAIR_TX_HELLO || !space || c->rx_stash_len)
		return 0;
	/* (a first read, of any size, starts as one after an emptied socket: one call at the
	 * frame head, which takes the hello too; rx_framed reads on from there) */
	atomic_store(&c->rx_emptied, true);
	c->rx_hello_left = FF_HELLO_SIZE;
	c->rx_first = FF_RX_FIRST_TRUSTED;
	atomic_store(&c->rx, FF_RX_FRAMED);
	return 1;
}

/* After the read that was to take a said hello: none of it came (undecided again, as before
 * the read), part of it (the rest is on its way: wait for it), or all of it (upgraded). */
static ssize_t rx_said_end(struct ff_conn *c, int fd, ssize_t r)
{
	int saved = errno;

	if (c->rx_first == FF_RX_FIRST_TRUSTED && c->rx_hello_left == FF_HELLO_SIZE) {
		c->rx_hello_left = 0;
		c->rx_first = FF_RX_FIRST_NONE;
		atomic_store(&c->rx, FF_RX_UNDECIDED);
		errno = saved;
		return r;
	}
	if (c->rx_first == FF_RX_FIRST_TRUSTED && c->rx_hello_left) {
		uint8_t b[FF_HELLO_SIZE];
		uint64_t until = ff_now_ns() + HELLO_WAIT_MS * 1000000ull;

		while (c->rx_hello_left && ff_now_ns() < until) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t k = ff_real.recv(fd, b, c->rx_hello_left, MSG_DONTWAIT);

			if (k > 0)
				c->rx_hello_left = (uint8_t)(c->rx_hello_left - k);
			else if (k == 0 || (errno != EAGAIN && errno != EINTR))
				break;
			else
				poll(&p, 1, 1);
		}
		if (c->rx_hello_left)
			return ff_rx_broken(c, fd, "the peer's hello stopped half-way");
		c->rx_key = atomic_load(&c->rd_keys[0]);
		c->rx_region_ok = ff_mapped();
		c->rx_first = FF_RX_FIRST_TAKEN;
	}
	if (c->rx_first == FF_RX_FIRST_TAKEN) {
		c->rx_first = FF_RX_FIRST_NONE;
		ff_reader_name(c, c->rx_key);
		if (ff_mapped())
			ff_counter_add(&ff_rg()->hdr->c.upgrade_success, 1);
	}
	errno = saved;
	return r;
}

int ff_rx_start(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	if (rx_said(c, fd, iov, iovcnt, flags))
		return 0;
	return rx_decide(c, fd, flags, !(flags & (MSG_PEEK | MSG_TRUNC)));
}

ssize_t ff_rx_start_end(struct ff_conn *c, int fd, ssize_t r)
{
	if (c->rx_first)
		r = rx_said_end(c, fd, r);
	/* the hello is never left behind a call: only this one read may take it with it */
	if (c->rx_hello_left)
		ff_rx_hello_take(c, fd);
	return r;
}
