/* sendfile() and splice() to and from upgraded sockets: the kernel cannot move file pages
 * into our frames, so the bytes are staged through a buffer and sent (or received) by the
 * framed path. Untouched sockets keep the kernel's zero-copy path. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "shim.h"

#define STAGE_MAX (4u << 20)

static ssize_t file_to_conn(struct ff_conn *c, int out_fd, int in_fd, off_t *offset, size_t count)
{
	off_t pos = offset ? *offset : lseek(in_fd, 0, SEEK_CUR);
	size_t n = count < STAGE_MAX ? count : STAGE_MAX;
	void *buf;
	ssize_t got, sent;

	if (offset && *offset < 0) {
		errno = EINVAL;        /* as the kernel's sendfile() */
		return -1;
	}
	if (pos < 0)
		return -1;
	buf = malloc(n ? n : 1);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	got = pread(in_fd, buf, n, pos);
	if (got <= 0) {
		free(buf);
		return got;
	}
	sent = ff_send_buf(c, out_fd, buf, (size_t)got, 0);
	free(buf);
	if (sent > 0) {
		if (offset)
			*offset = pos + sent;
		else
			lseek(in_fd, pos + sent, SEEK_SET);
	}
	return sent;
}

ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct ff_conn *c;
	ssize_t r;

	ff_init();
	if (ff_passthrough() || !(c = ff_conn_get(out_fd)))
		return ff_real.sendfile(out_fd, in_fd, offset, count);
	if (!ff_conn_framed_tx(c, out_fd))
		r = ff_real.sendfile(out_fd, in_fd, offset, count);
	else
		r = file_to_conn(c, out_fd, in_fd, offset, count);
	ff_conn_put(c);
	return r;
}

/* glibc exports sendfile64 besides sendfile; musl defines the *64 names to the plain ones. */
#ifdef __GLIBC__
ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count);
ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
	return sendfile(out_fd, in_fd, offset, count);
}
#endif

/* Write all of buf to a pipe or file, waiting if it is full: the bytes were already taken. */
/* A non-blocking fd that is full: wait for room instead of spinning. */
static void wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	poll(&p, 1, 100);
}

static int put_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = ff_real.write(fd, buf, n);
		if (w < 0 && errno == EAGAIN)
			wait_writable(fd);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Room in the pipe fd_out now: splice() from a socket moves at most that much, and with
 * SPLICE_F_NONBLOCK (or an O_NONBLOCK pipe) fails with EAGAIN when there is none. A blocking
 * one waits for room as the kernel's would, before any byte leaves the socket: the bytes
 * taken must fit, since only the same thread might drain the pipe. Returns the room, or -1
 * with errno (EINVAL: not a pipe, as the kernel says for splice without one). */
static ssize_t pipe_room(int fd, unsigned int flags)
{
	for (;;) {
		int size = ff_real.fcntl(fd, F_GETPIPE_SZ), queued = 0;

		if (size < 0) {
			errno = EINVAL;
			return -1;
		}
		if (ff_real.ioctl(fd, FIONREAD, &queued) < 0)
			return -1;
		if (queued < size)
			return size - queued;
		int fl = ff_real.fcntl(fd, F_GETFL);
		if ((flags & SPLICE_F_NONBLOCK) || (fl >= 0 && (fl & O_NONBLOCK))) {
			errno = EAGAIN;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, -1) < 0 && errno == EINTR)
			return -1;
	}
}

ssize_t splice(int fd_in, off_t *off_in, int fd_out, off_t *off_out, size_t len, unsigned int flags)
{
	struct ff_conn *cin = NULL, *cout = NULL;
	size_t n = len < STAGE_MAX ? len : STAGE_MAX;
	ssize_t r;
	char *buf = NULL;

	ff_init();
	if (ff_passthrough())
		return ff_real.splice(fd_in, off_in, fd_out, off_out, len, flags);
	cout = ff_conn_get(fd_out);
	if (cout && !ff_conn_framed_tx(cout, fd_out)) {
		ff_conn_put(cout);
		cout = NULL;
	}
	cin = ff_conn_get(fd_in);
	if (cin && (cin->kind != FF_KIND_CONN || atomic_load(&cin->rx) == FF_RX_RAW)) {
		ff_conn_put(cin);
		cin = NULL;
	}
	if (!cin && !cout)
		return ff_real.splice(fd_in, off_in, fd_out, off_out, len, flags);
	if (cin && !off_out) {
		ssize_t room = pipe_room(fd_out, flags);
		if (room < 0) {
			r = -1;
			goto out;
		}
		if ((size_t)room < n)
			n = (size_t)room;
	}
	buf = malloc(n ? n : 1);
	if (!buf) {
		errno = ENOMEM;
		r = -1;
		goto out;
	}
	if (cin)
		r = ff_recv_buf(cin, fd_in, buf, n, (flags & SPLICE_F_NONBLOCK) ? MSG_DONTWAIT : 0);
	else if (off_in)
		r = pread(fd_in, buf, n, *off_in);
	else
		r = ff_real.read(fd_in, buf, n);
	if (r <= 0)
		goto out;
	if (off_in && !cin)
		*off_in += r;
	if (cout) {
		size_t done = 0;
		while (done < (size_t)r) {
			ssize_t w = ff_send_buf(cout, fd_out, buf + done, (size_t)r - done, 0);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (w < 0 && errno == EAGAIN)
				wait_writable(fd_out);
			if (w > 0)
				done += (size_t)w;
		}
		r = done ? (ssize_t)done : -1;
	} else if (off_out) {
		ssize_t w = pwrite(fd_out, buf, (size_t)r, *off_out);
		if (w > 0)
			*off_out += w;
		r = w;
	} else if (put_all(fd_out, buf, (size_t)r) < 0) {
		r = -1;
	}
out:
	free(buf);
	if (cin)
		ff_conn_put(cin);
	if (cout)
		ff_conn_put(cout);
	return r;
}
