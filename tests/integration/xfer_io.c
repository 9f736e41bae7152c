/* xfer: the five I/O disciplines (blocking, epoll level/edge, poll, select) and the read and
 * write entry points (read/write, send/recv, readv/writev, sendmsg/recvmsg, sendto/recvfrom),
 * with EINTR, EAGAIN and partial transfers handled everywhere. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "xfer.h"

static const char *role = "xfer";

const char *xfer_role(void)
{
	return role;
}

void xfer_set_role(const char *r)
{
	role = r;
}

int xerr(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "xfer %s[%d]: ", role, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (errno %d %s)\n", strerror(e), e,
		e == EPIPE ? "EPIPE" : e == ECONNRESET ? "ECONNRESET" : "");
	errno = e;
	return -1;
}

int xerrx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xfer %s[%d]: ", role, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static const char *const mode_names[] = {
	"block", "nonblock-epoll-lt", "nonblock-epoll-et", "poll", "select",
};

const char *mode_name(enum io_mode m)
{
	return mode_names[m];
}

int parse_mode(const char *s, enum io_mode *m)
{
	unsigned i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum io_mode)i;
			return 0;
		}
	return xerrx("--mode '%s': expected block, nonblock-epoll-lt, nonblock-epoll-et, poll or select", s);
}

int parse_api(const char *s, enum io_api *a)
{
	static const char *const names[] = { "rw", "sr", "vec", "msg", "to" };
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*a = (enum io_api)i;
			return 0;
		}
	return xerrx("--api '%s': expected rw (read/write), sr (send/recv), vec (readv/writev), "
		     "msg (sendmsg/recvmsg) or to (sendto/recvfrom)", s);
}

int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return xerr("fcntl(F_GETFL, fd %d)", fd);
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, fl) < 0)
		return xerr("fcntl(F_SETFL, fd %d)", fd);
	return 0;
}

static int ep_register(struct conn *c)
{
	struct epoll_event ev = { 0 };

	ev.data.fd = c->fd;
	ev.events = c->mode == M_EPOLL_ET ? EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET : 0;
	c->ep_events = ev.events;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		return xerr("epoll_ctl(ADD, fd %d)", c->fd);
	return 0;
}

int conn_init(struct conn *c, int fd, enum io_mode mode, enum io_api api)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->mode = mode;
	c->api = api;
	c->epfd = -1;
	if (mode == M_SELECT && fd >= FD_SETSIZE)
		return xerrx("fd %d too large for select()", fd);
	if (set_nonblock(fd, mode != M_BLOCK) < 0)
		return -1;
	if (mode == M_EPOLL_LT || mode == M_EPOLL_ET) {
		c->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (c->epfd < 0)
			return xerr("epoll_create1");
		if (ep_register(c) < 0)
			return -1;
	}
	return 0;
}

void conn_close(struct conn *c)
{
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->fd >= 0)
		close(c->fd);
	c->epfd = c->fd = -1;
}

/* dup2 the socket to newfd, close the original, keep going on newfd (epoll re-registered). */
int conn_move_fd(struct conn *c, int newfd)
{
	if (dup2(c->fd, newfd) < 0)
		return xerr("dup2(%d, %d)", c->fd, newfd);
	if (c->epfd >= 0 && epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		return xerr("epoll_ctl(DEL, fd %d)", c->fd);
	if (close(c->fd) < 0)
		return xerr("close(%d) after dup2", c->fd);
	c->fd = newfd;
	if (c->epfd >= 0)
		return ep_register(c);
	return 0;
}

static int wait_epoll(struct conn *c, bool out)
{
	struct epoll_event evs[4];
	uint32_t want = out ? EPOLLOUT : EPOLLIN;
	int n, i;

	if (c->mode == M_EPOLL_LT && c->ep_events != want) {
		struct epoll_event ev = { .events = want, .data.fd = c->fd };

		if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return xerr("epoll_ctl(MOD, fd %d)", c->fd);
		c->ep_events = want;
	}
	if (c->mode == M_EPOLL_ET) {
		/* Called after EAGAIN: any edge collected earlier is stale. */
		if (out)
			c->ready_out = false;
		else
			c->ready_in = false;
	}
	for (;;) {
		n = epoll_wait(c->epfd, evs, 4, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xerr("epoll_wait");
		for (i = 0; i < n; i++) {
			uint32_t e = evs[i].events;

			if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				c->ready_in = true;
			if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				c->ready_out = true;
		}
		if (out ? c->ready_out : c->ready_in) {
			if (c->mode == M_EPOLL_LT)
				c->ready_in = c->ready_out = false;
			return 0;
		}
	}
}

static int wait_poll(struct conn *c, bool out)
{
	struct pollfd p = { .fd = c->fd, .events = out ? POLLOUT : POLLIN };
	int n;

	do
		n = poll(&p, 1, -1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return xerr("poll(fd %d)", c->fd);
	if (p.revents & POLLNVAL)
		return xerrx("poll(fd %d): POLLNVAL", c->fd);
	return 0;
}

static int wait_select(struct conn *c, bool out)
{
	fd_set set;
	int n;

	do {
		FD_ZERO(&set);
		FD_SET(c->fd, &set);
		n = select(c->fd + 1, out ? NULL : &set, out ? &set : NULL, NULL, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return xerr("select(fd %d)", c->fd);
	if (n != 1 || !FD_ISSET(c->fd, &set))
		return xerrx("select(fd %d) returned %d without the fd set", c->fd, n);
	return 0;
}

/* Wait until the fd is readable (out=false) or writable. Called after EAGAIN. */
int conn_wait(struct conn *c, bool out)
{
	int rc;

	switch (c->mode) {
	case M_EPOLL_LT:
	case M_EPOLL_ET:
		rc = wait_epoll(c, out);
		break;
	case M_SELECT:
		rc = wait_select(c, out);
		break;
	default:          /* blocking sockets only wait here after a non-blocking connect */
		rc = wait_poll(c, out);
		break;
	}
	if (rc == 0 && !out)
		c->fresh_in = c->mode != M_EPOLL_ET;
	return rc;
}

static ssize_t raw_write(struct conn *c, const void *buf, size_t n)
{
	struct iovec iov[2];
	struct msghdr mh = { 0 };
	size_t half = n / 2;

	switch (c->api) {
	case API_SR:
		return send(c->fd, buf, n, 0);
	case API_TO:
		return sendto(c->fd, buf, n, 0, NULL, 0);
	case API_VEC:
		iov[0].iov_base = (void *)buf;
		iov[0].iov_len = half;
		iov[1].iov_base = (char *)buf + half;
		iov[1].iov_len = n - half;
		return writev(c->fd, iov, 2);
	case API_MSG:
		iov[0].iov_base = (void *)buf;
		iov[0].iov_len = n;
		mh.msg_iov = iov;
		mh.msg_iovlen = 1;
		return sendmsg(c->fd, &mh, 0);
	default:
		return write(c->fd, buf, n);
	}
}

static ssize_t raw_read(struct conn *c, void *buf, size_t n, int flags)
{
	struct iovec iov[2];
	struct msghdr mh = { 0 };
	size_t half = n / 2;

	if (flags)
		return recv(c->fd, buf, n, flags);
	switch (c->api) {
	case API_SR:
		return recv(c->fd, buf, n, 0);
	case API_TO:
		return recvfrom(c->fd, buf, n, 0, NULL, NULL);
	case API_VEC:
		iov[0].iov_base = buf;
		iov[0].iov_len = half;
		iov[1].iov_base = (char *)buf + half;
		iov[1].iov_len = n - half;
		return readv(c->fd, iov, 2);
	case API_MSG:
		iov[0].iov_base = buf;
		iov[0].iov_len = n;
		mh.msg_iov = iov;
		mh.msg_iovlen = 1;
		return recvmsg(c->fd, &mh, 0);
	default:
		return read(c->fd, buf, n);
	}
}

/* Write all n bytes: partial writes continued, EINTR retried, EAGAIN waited for. */
int conn_write_all(struct conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = raw_write(c, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->mode == M_BLOCK)
				return xerrx("write on a blocking socket returned EAGAIN");
			if (conn_wait(c, true) < 0)
				return -1;
			continue;
		}
		if (w < 0)
			return xerr("write of %zu bytes on fd %d", n, c->fd);
		if (w == 0 || (size_t)w > n)
			return xerrx("write of %zu bytes returned %zd", n, w);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One read of at most n bytes, waiting as needed. >0 bytes, 0 at EOF, -1 error (reported). */
ssize_t conn_read(struct conn *c, void *buf, size_t n, int flags)
{
	ssize_t r;

	for (;;) {
		r = raw_read(c, buf, n, flags);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->mode == M_BLOCK)
				return xerrx("read on a blocking socket returned EAGAIN");
			if (conn_wait(c, false) < 0)
				return -1;
			continue;
		}
		if (r < 0)
			return xerr("read of %zu bytes (flags %#x) on fd %d", n, (unsigned)flags, c->fd);
		if ((size_t)r > n && !(flags & MSG_TRUNC))
			return xerrx("read of %zu bytes returned %zd", n, r);
		return r;
	}
}

/* Read exactly n bytes in reads of at most `piece`.
 * 0 ok, 1 EOF before the first byte, 2 EOF after some bytes, -1 error. */
int conn_read_full(struct conn *c, void *buf, size_t n, size_t piece)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		r = conn_read(c, p, n < piece ? n : piece, 0);
		if (r < 0)
			return -1;
		if (r == 0)
			return p == (char *)buf ? 1 : 2;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}
