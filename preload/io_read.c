/* Exported input wrappers, FORTIFY variants and FIONREAD. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim.h"

#ifdef __GLIBC__
extern void __chk_fail(void) __attribute__((noreturn));
#else
/* musl has no fortify run-time (only a glibc-built program calls the _chk wrappers); end
 * the process as glibc's __chk_fail does. */
#define __chk_fail() abort()
#endif

static ssize_t conn_recv(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	ssize_t r;
	int saved;

	if (c->kind != FF_KIND_CONN || atomic_load(&c->rx) == FF_RX_RAW)
		return ff_rx_plain(fd, iov, iovcnt, flags);
	r = ff_rx(c, fd, iov, iovcnt, flags);
	if (ff_conn_all_raw(c)) {
		saved = errno;
		ff_fd_detach(fd);     /* a plain peer: nothing more to do on this fd */
		errno = saved;
	}
	return r;
}

ssize_t read(int fd, void *buf, size_t n)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.read(fd, buf, n);
	struct iovec v = { .iov_base = buf, .iov_len = n };
	r = conn_recv(c, fd, &v, 1, 0);
	ff_conn_put(c);
	return r;
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.readv(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > FF_IOV_MAX) {
		ff_conn_put(c);
		errno = EINVAL;
		return -1;
	}
	r = conn_recv(c, fd, iov, iovcnt, 0);
	ff_conn_put(c);
	return r;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.recv(fd, buf, n, flags);
	if (flags & MSG_OOB) {
		ff_conn_put(c);
		return ff_real.recv(fd, buf, n, flags);
	}
	struct iovec v = { .iov_base = buf, .iov_len = n };
	r = conn_recv(c, fd, &v, 1, flags);
	ff_conn_put(c);
	return r;
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fl)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.recvfrom(fd, buf, n, flags, from, fl);
	if ((flags & MSG_OOB) || c->kind != FF_KIND_CONN || atomic_load(&c->rx) == FF_RX_RAW) {
		ff_conn_put(c);
		return ff_real.recvfrom(fd, buf, n, flags, from, fl);
	}
	struct iovec v = { .iov_base = buf, .iov_len = n };
	r = conn_recv(c, fd, &v, 1, flags);
	if (r >= 0 && from && fl)
		*fl = 0;          /* a connected TCP socket reports no source address */
	ff_conn_put(c);
	return r;
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fl);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fl)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, from, fl);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd))) {
		r = ff_real.recvmsg(fd, msg, flags);
		if (r >= 0 && msg->msg_controllen && !(flags & MSG_PEEK) && ff_handoff_carried(msg)) {
			ff_start();
			if (!ff_passthrough())
				ff_handoff_recv(msg);
		}   /* upgraded fds received with SCM_RIGHTS */
		return r;
	}
	if ((flags & MSG_OOB) || msg->msg_iovlen > FF_IOV_MAX || c->kind != FF_KIND_CONN ||
	    atomic_load(&c->rx) == FF_RX_RAW) {
		ff_conn_put(c);
		return ff_real.recvmsg(fd, msg, flags);
	}
	r = conn_recv(c, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (r >= 0) {
		msg->msg_namelen = 0;
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
	}
	ff_conn_put(c);
	return r;
}

int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, ff_mmsg_flags_t flags,
	     struct timespec *tmo)
{
	struct ff_conn *c;
	unsigned int i;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.recvmmsg(fd, vec, vlen, flags, tmo);
	for (i = 0; i < vlen; i++) {
		ssize_t r = conn_recv(c, fd, vec[i].msg_hdr.msg_iov, (int)vec[i].msg_hdr.msg_iovlen,
				      i ? (flags | MSG_DONTWAIT) : flags);
		if (r < 0) {
			ff_conn_put(c);
			return i ? (int)i : -1;
		}
		vec[i].msg_len = (unsigned int)r;
		vec[i].msg_hdr.msg_namelen = 0;
		vec[i].msg_hdr.msg_controllen = 0;
		if (r == 0) {
			i++;
			break;
		}
	}
	ff_conn_put(c);
	return (int)i;
}

int ioctl(int fd, ff_ioctl_req_t req, ...)
{
	struct ff_conn *c;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	ff_init();
	if (req == FIONBIO)
		ff_nb_changed();
	if ((req != FIONREAD && req != SIOCATMARK) || ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.ioctl(fd, req, arg);
	if (c->kind != FF_KIND_CONN || atomic_load(&c->rx) == FF_RX_RAW || !arg)
		r = ff_real.ioctl(fd, req, arg);
	else if (req == SIOCATMARK)
		r = ff_rx_atmark(c, fd, arg);
	else
		r = ff_rx_fionread(c, fd, arg);
	ff_conn_put(c);
	return r;
}

ssize_t ff_recv_buf(struct ff_conn *c, int fd, void *buf, size_t n, int flags)
{
	struct iovec v = { .iov_base = buf, .iov_len = n };

	return conn_recv(c, fd, &v, 1, flags);
}
