/* Stream-socket links (TCP, AF_UNIX): plain read()/write() on one fd, exactly what an
 * unmodified program does, so that the shim (when preloaded) sees ordinary calls. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "bench-link.h"

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void set_nodelay(int fd, const struct opts *o)
{
	int on = o->nodelay > 0 || (o->nodelay < 0 && o->mode != MODE_STREAM);

	if (o->tr == TR_TCP && on)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static int fill_inet(const char *host, unsigned port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		fprintf(stderr, "faasflow-bench: host '%s': expected an IPv4 address\n", host);
		return -1;
	}
	return 0;
}

static void fill_unix(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
}

int net_listen(const struct opts *o, unsigned *port_out)
{
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	socklen_t len = sizeof(sin);
	int one = 1, fd;

	if (o->tr == TR_UNIX) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		fill_unix(o->unix_path, &sun);
		unlink(o->unix_path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 128) < 0)
			goto err;
		*port_out = 0;
		return fd;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fill_inet(o->host, o->port, &sin) < 0)
		goto err;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0)
		goto err;
	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		goto err;
	*port_out = ntohs(sin.sin_port);
	return fd;
err:
	{
		int e = errno;

		close(fd);
		errno = e;
	}
	return -1;
}

static struct link *fd_link(int fd)
{
	struct link *l = calloc(1, sizeof(*l));

	if (!l) {
		close(fd);
		return NULL;
	}
	l->kind = LINK_FD;
	l->fd = fd;
	return l;
}

struct link *net_accept(const struct opts *o, int lfd)
{
	int fd;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return NULL;
	set_nodelay(fd, o);
	return fd_link(fd);
}

struct link *net_connect(const struct opts *o)
{
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	int fd, rc;

	if (o->tr == TR_UNIX) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return NULL;
		fill_unix(o->unix_path, &sun);
		rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		if (fill_inet(o->host, o->port, &sin) < 0)
			return NULL;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return NULL;
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (rc < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return NULL;
	}
	set_nodelay(fd, o);
	return fd_link(fd);
}

int redis_connect(const struct opts *o)
{
	struct sockaddr_in sin;
	int one = 1, fd;

	if (fill_inet(o->redis_host, o->redis_port, &sin) < 0)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ---- the link operations, dispatched by kind ------------------------------------------ */

int link_send_msg(struct link *l, const void *buf, size_t n)
{
	if (l->kind == LINK_FD)
		return write_all(l->fd, buf, n);
	return slot_send_msg(l, buf, n);
}

int link_recv_reply(struct link *l, void *buf, size_t n)
{
	if (l->kind == LINK_FD)
		return read_full(l->fd, buf, n);
	return slot_recv_reply(l, buf, n);
}

int link_recv_msg(struct link *l, void *buf, size_t n, struct fh *h)
{
	char *p = buf;

	if (l->kind != LINK_FD)
		return slot_recv_msg(l, buf, n, h);
	while (n) {
		ssize_t r = read(l->fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		fh_update(h, p, (size_t)r);
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int link_send_reply(struct link *l, const void *buf, size_t n)
{
	if (l->kind == LINK_FD)
		return write_all(l->fd, buf, n);
	return slot_send_reply(l, buf, n);
}

void link_free(struct link *l)
{
	if (!l)
		return;
	if (l->kind != LINK_FD)
		slot_free(l);
	else
		close(l->fd);
	free(l);
}
