/* Exported output wrappers: make sure the shim is initialised, then the real logic. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* msg: the application's sendmsg() header (its control message goes along), or NULL. */
static ssize_t conn_send_msg(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			     int flags, const struct msghdr *msg)
{
	ssize_t r;

	if (c->kind != FF_KIND_CONN)
		goto raw;
	if (atomic_load(&c->tx) == FF_TX_UNDECIDED)
		ff_tx_decide(c, fd);
	if (atomic_load(&c->tx) == FF_TX_RAW)
		goto raw;
	if (ff_iov_len(iov, iovcnt) == 0)
		goto raw;
	return ff_tx_ctl(c, fd, iov, iovcnt, flags, msg ? msg->msg_control : NULL,
			 msg ? msg->msg_controllen : 0);
raw:
	if (msg) {
		r = ff_real.sendmsg(fd, msg, flags);
	} else if (!flags) {
		/* the system call the application's own would be: a process sandboxed with
		 * seccomp allows only those (as ff_rx_plain) */
		r = iovcnt == 1 ? ff_real.write(fd, iov[0].iov_base, iov[0].iov_len)
				: ff_real.writev(fd, iov, iovcnt);
	} else {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
		r = ff_real.sendmsg(fd, &mh, flags);
	}
	if (ff_conn_all_raw(c)) {
		int saved = errno;
		ff_fd_detach(fd);     /* both directions plain for good: forget the fd */
		errno = saved;
	}
	return r;
}

static ssize_t conn_send(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	return conn_send_msg(c, fd, iov, iovcnt, flags, NULL);
}

/* send(MSG_OOB): on a framed direction, every byte but the last goes out as ordinary data (in
 * frames), the last one raw as TCP's urgent byte (ff_tx_urgent). Elsewhere it goes as is. */
static ssize_t conn_send_oob(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			     int flags, const struct msghdr *msg)
{
	size_t n = ff_iov_len(iov, iovcnt), k = 0;
	struct iovec head[FF_IOV_MAX];
	ssize_t r = 0;
	uint8_t last = 0;
	int nh;

	if (c->kind == FF_KIND_CONN && atomic_load(&c->tx) == FF_TX_UNDECIDED)
		ff_tx_decide(c, fd);
	/* (more pieces than the kernel takes: its EMSGSIZE, nothing sent; up to that many, the
	 * bytes go framed: with more than 64 they went raw into the framed stream) */
	if (c->kind != FF_KIND_CONN || atomic_load(&c->tx) == FF_TX_RAW || n == 0 ||
	    iovcnt > FF_IOV_MAX) {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
		return ff_real.sendmsg(fd, msg ? msg : &mh, flags);
	}
	for (int i = 0; i < iovcnt; i++) {
		if (k + iov[i].iov_len == n && iov[i].iov_len) {
			last = ((const uint8_t *)iov[i].iov_base)[iov[i].iov_len - 1];
			break;
		}
		k += iov[i].iov_len;
	}
	nh = ff_iov_sub(head, FF_IOV_MAX, iov, iovcnt, 0, n - 1);
	if (n > 1) {
		r = ff_tx_ctl(c, fd, head, nh, flags & ~MSG_OOB, msg ? msg->msg_control : NULL,
			      msg ? msg->msg_controllen : 0);
		if (r < (ssize_t)(n - 1))
			return r;
	}
	ssize_t u = ff_tx_urgent(c, fd, last, flags & ~MSG_OOB);
	if (u < 0)
		return r > 0 ? r : -1;
	return r + 1;
}

/* write()/writev() on a socket behave as send() with no flags (SIGPIPE included). */
ssize_t write(int fd, const void *buf, size_t n)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.write(fd, buf, n);
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };
	r = conn_send(c, fd, &v, 1, 0);
	ff_conn_put(c);
	return r;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.writev(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > FF_IOV_MAX) {
		ff_conn_put(c);
		errno = EINVAL;
		return -1;
	}
	r = conn_send(c, fd, iov, iovcnt, 0);
	ff_conn_put(c);
	return r;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.send(fd, buf, n, flags);
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };
	r = flags & MSG_OOB ? conn_send_oob(c, fd, &v, 1, flags, NULL) : conn_send(c, fd, &v, 1, flags);
	ff_conn_put(c);
	return r;
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tl)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.sendto(fd, buf, n, flags, to, tl);
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };
	/* a connected stream ignores the address */
	r = flags & MSG_OOB ? conn_send_oob(c, fd, &v, 1, flags, NULL) : conn_send(c, fd, &v, 1, flags);
	ff_conn_put(c);
	return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (!ff_passthrough() && msg->msg_controllen)
		ff_handoff_send(msg);      /* upgraded fds passed with SCM_RIGHTS */
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.sendmsg(fd, msg, flags);
	if (msg->msg_iovlen > FF_IOV_MAX) {
		ff_conn_put(c);
		return ff_real.sendmsg(fd, msg, flags);
	}
	if (flags & MSG_OOB)
		r = conn_send_oob(c, fd, msg->msg_iov, (int)msg->msg_iovlen, flags, msg);
	else
		r = conn_send_msg(c, fd, msg->msg_iov, (int)msg->msg_iovlen, flags,
				  msg->msg_controllen ? msg : NULL);
	ff_conn_put(c);
	return r;
}

int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, ff_mmsg_flags_t flags)
{
	struct ff_conn *c;
	unsigned int i;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(fd)))
		return ff_real.sendmmsg(fd, vec, vlen, flags);
	for (i = 0; i < vlen; i++) {
		ssize_t r = conn_send(c, fd, vec[i].msg_hdr.msg_iov, (int)vec[i].msg_hdr.msg_iovlen, flags);
		if (r < 0) {
			ff_conn_put(c);
			return i ? (int)i : -1;
		}
		vec[i].msg_len = (unsigned int)r;
		if ((size_t)r < ff_iov_len(vec[i].msg_hdr.msg_iov, (int)vec[i].msg_hdr.msg_iovlen)) {
			i++;
			break;
		}
	}
	ff_conn_put(c);
	return (int)i;
}

ssize_t ff_send_buf(struct ff_conn *c, int fd, const void *buf, size_t n, int flags)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };

	return conn_send(c, fd, &v, 1, flags);
}

bool ff_conn_framed_tx(struct ff_conn *c, int fd)
{
	if (c->kind != FF_KIND_CONN)
		return false;
	if (atomic_load(&c->tx) == FF_TX_UNDECIDED)
		ff_tx_decide(c, fd);
	return atomic_load(&c->tx) != FF_TX_RAW;
}
