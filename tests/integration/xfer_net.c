/* xfer: sockets. The server (sequential or pre-fork: the parent accepts, a child serves each
 * connection, the parent closes its copy) and the client (blocking or non-blocking connect,
 * refused connects retried for --retry-ms). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "xfer.h"

static int write_port_file(const char *path, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char tmp[4096];
	unsigned port;
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return xerr("getsockname");
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					     : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return xerr("open %s", tmp);
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return xerr("writing the port file %s", path);
	return 0;
}

static int resolve(const char *host, const char *port, bool passive, struct addrinfo **res)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	int e;

	hints.ai_flags = passive ? AI_PASSIVE : 0;
	e = getaddrinfo(host, port, &hints, res);
	if (e)
		return xerrx("address '%s' port '%s': %s", host, port, gai_strerror(e));
	return 0;
}

static int listen_on(const struct opts *o)
{
	struct addrinfo *ai;
	int fd, one = 1;

	if (resolve(o->bind, o->port, true, &ai) < 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		xerr("listening on %s port %s", o->bind, o->port);
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	if (o->port_file && write_port_file(o->port_file, fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int check_expect(const struct opts *o, const struct result *r)
{
	if (o->have_expect && r->bytes != o->expect_bytes)
		return xerrx("received %llu bytes, expected %llu", (unsigned long long)r->bytes,
			     (unsigned long long)o->expect_bytes);
	return 0;
}

/* Receive (or, with --server-sends, send) on one accepted connection. */
static int serve(int fd, const struct opts *o)
{
	struct conn c;
	struct result r = { 0 };
	int rc;

	if (conn_init(&c, fd, o->mode, o->api) < 0) {
		close(fd);
		return -1;
	}
	if (o->server_sends) {
		rc = tx_stream(&c, o, &r);
		printf("SENT bytes=%llu sha256=%s\n", (unsigned long long)r.bytes, r.hex);
	} else {
		rc = o->msgs ? rx_messages(&c, o, &r) : rx_stream(&c, o, &r);
		printf("RECV bytes=%llu sha256=%s\n", (unsigned long long)r.bytes, r.hex);
		if (rc == 0)
			rc = check_expect(o, &r);
		if (rc == 0 && o->reply)
			rc = rx_send_reply(&c, &r);
	}
	fflush(stdout);
	conn_close(&c);
	return rc;
}

static int accept_one(int lfd, const struct opts *o)
{
	int fd;

	do
		fd = o->mode == M_BLOCK ? accept(lfd, NULL, NULL)
					: accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd < 0)
		xerr("accept");
	return fd;
}

int xfer_server(struct opts *o)
{
	pid_t *kids = calloc(o->accept_n + 1, sizeof(pid_t));
	unsigned i, nkids = 0;
	int lfd, fd, rc = 0, st;

	lfd = kids ? listen_on(o) : -1;
	if (lfd < 0) {
		free(kids);
		return -1;
	}
	for (i = 0; i < o->accept_n; i++) {
		fd = accept_one(lfd, o);
		if (fd < 0) {
			rc = -1;
			break;
		}
		if (!o->fork_server) {
			rc |= serve(fd, o);
			continue;
		}
		fflush(stdout);
		kids[nkids] = fork();
		if (kids[nkids] < 0) {
			rc = xerr("fork");
			close(fd);
			break;
		}
		if (kids[nkids] == 0) {
			alarm(o->timeout_s);  /* a child inherits no pending alarm */
			close(lfd);
			_exit(serve(fd, o) ? 1 : 0);
		}
		nkids++;
		close(fd);            /* the parent's copy: the child owns the connection now */
	}
	close(lfd);
	for (i = 0; i < nkids; i++) {
		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = xerrx("child %d serving connection %u failed (status %#x)", (int)kids[i], i, st);
	}
	free(kids);
	return rc;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One connect attempt. 0 connected, 1 refused (retry), -1 error. */
static int try_connect(struct conn *c, const struct opts *o, const struct addrinfo *ai)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		return xerr("socket");
	if (!o->nonblock_connect) {
		while (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			close(fd);
			errno = err;
			return err == ECONNREFUSED ? 1 : xerr("connect to %s port %s", o->host, o->port);
		}
		return conn_init(c, fd, o->mode, o->api);
	}
	/* Registered with epoll before connect(), then EINPROGRESS, writable, SO_ERROR. */
	if (conn_init(c, fd, o->mode, o->api) < 0 || set_nonblock(fd, true) < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto refused;
		}
		if (conn_wait(c, true) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			goto fail;
		if (err)
			goto refused;
	}
	if (o->mode == M_BLOCK && set_nonblock(fd, false) < 0)
		goto fail;
	return 0;
refused:
	conn_close(c);
	errno = err;
	return err == ECONNREFUSED ? 1 : xerr("non-blocking connect to %s port %s", o->host, o->port);
fail:
	conn_close(c);
	return -1;
}

static int connect_retry(struct conn *c, const struct opts *o)
{
	struct addrinfo *ai;
	uint64_t deadline = now_ms() + o->retry_ms;
	int rc;

	if (resolve(o->host, o->port, false, &ai) < 0)
		return -1;
	while ((rc = try_connect(c, o, ai)) == 1 && now_ms() < deadline)
		sleep_ms(20);
	freeaddrinfo(ai);
	if (rc == 1) {
		errno = ECONNREFUSED;
		return xerr("connect to %s port %s (retried for %u ms)", o->host, o->port, o->retry_ms);
	}
	return rc;
}

int xfer_client(struct opts *o)
{
	struct conn c;
	struct result r = { 0 };
	bool messages = o->threads > 1 || o->rr != RR_NONE;
	int rc;

	if (connect_retry(&c, o) < 0)
		return -1;
	if (o->dup2_fd && (o->server_sends || messages || o->nsizes <= 1)) {
		/* mid-stream dup2 is done by tx_stream before the second payload */
		if (conn_move_fd(&c, 300) < 0)
			goto fail;
	}
	if (o->server_sends) {
		rc = rx_stream(&c, o, &r);
		printf("RECV bytes=%llu sha256=%s\n", (unsigned long long)r.bytes, r.hex);
		if (rc == 0 && o->have_expect && r.bytes != o->expect_bytes)
			rc = xerrx("received %llu bytes, expected %llu", (unsigned long long)r.bytes,
				   (unsigned long long)o->expect_bytes);
	} else {
		rc = messages ? tx_messages(&c, o, &r) : tx_stream(&c, o, &r);
		if (rc == 0)
			rc = tx_finish(&c, o, &r);
	}
	conn_close(&c);
	return rc;
fail:
	conn_close(&c);
	return -1;
}
