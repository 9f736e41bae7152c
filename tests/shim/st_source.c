/* A client: connects, sends N pattern bytes, half-closes, then reads the reply until EOF.
 *   sent=N sha256=H status=S reply_bytes=M reply_sha256=H2 reply_magic=0|1
 * Options: -p PORTFILE | -P PORT; -n N bytes (1M); -c N bytes per call (1M); -s SEED (1);
 *   -m send|sendfile|splice; -f FILE (sendfile source, written with the pattern first);
 *   -d  send() with MSG_DONTWAIT (waiting in poll() on EAGAIN). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st.h"

struct gen {
	int fd;
	uint64_t n, seed;
	size_t chunk;
};

static void *fill_pipe(void *arg)
{
	struct gen *g = arg;
	char *buf = malloc(g->chunk);
	uint64_t off = 0;

	while (buf && off < g->n) {
		size_t k = g->n - off < g->chunk ? (size_t)(g->n - off) : g->chunk;
		st_pattern(buf, k, g->seed, off);
		if (st_write_all(g->fd, buf, k) < 0)
			break;
		off += k;
	}
	free(buf);
	close(g->fd);
	return NULL;
}

static void write_file(const char *path, uint64_t n, uint64_t seed)
{
	static char buf[1 << 20];
	uint64_t off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		st_die_errno("open %s", path);
	while (off < n) {
		size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
		st_pattern(buf, k, seed, off);
		if (st_write_all(fd, buf, k) < 0)
			st_die_errno("write %s", path);
		off += k;
	}
	close(fd);
}

static bool dontwait;

/* send() with MSG_DONTWAIT until all of buf is out */
static int send_nb(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t r = send(fd, buf, n, MSG_DONTWAIT);
		if (r > 0) {
			buf += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 1000);
			continue;
		}
		return -1;
	}
	return 0;
}

static void send_mode(int fd, const char *mode, const char *file, uint64_t n, size_t chunk,
		      uint64_t seed)
{
	uint64_t off = 0;

	if (!strcmp(mode, "send")) {
		char *buf = malloc(chunk);
		if (!buf)
			st_die("out of memory");
		while (off < n) {
			size_t k = n - off < chunk ? (size_t)(n - off) : chunk;
			st_pattern(buf, k, seed, off);
			if ((dontwait ? send_nb(fd, buf, k) : st_write_all(fd, buf, k)) < 0)
				st_die_errno("send at offset %llu", (unsigned long long)off);
			off += k;
		}
		free(buf);
	} else if (!strcmp(mode, "sendfile")) {
		int in;
		write_file(file, n, seed);
		if ((in = open(file, O_RDONLY)) < 0)
			st_die_errno("open %s", file);
		while (off < n) {
			off_t o = (off_t)off;
			ssize_t r = sendfile(fd, in, &o, n - off < chunk ? (size_t)(n - off) : chunk);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				st_die_errno("sendfile at offset %llu returned %zd", (unsigned long long)off, r);
			if ((uint64_t)o != off + (uint64_t)r)
				st_die("sendfile moved the offset to %lld, expected %llu", (long long)o,
				       (unsigned long long)(off + (uint64_t)r));
			off += (uint64_t)r;
		}
		close(in);
	} else if (!strcmp(mode, "splice")) {
		int p[2];
		pthread_t th;
		struct gen g = { .n = n, .seed = seed, .chunk = chunk };
		if (pipe(p) < 0)
			st_die_errno("pipe");
		g.fd = p[1];
		pthread_create(&th, NULL, fill_pipe, &g);
		while (off < n) {
			ssize_t r = splice(p[0], NULL, fd, NULL, chunk, SPLICE_F_MOVE);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				st_die_errno("splice pipe->socket at offset %llu returned %zd",
					     (unsigned long long)off, r);
			off += (uint64_t)r;
		}
		pthread_join(th, NULL);
		close(p[0]);
	} else {
		st_die("unknown mode '%s' (accepted: send, sendfile, splice)", mode);
	}
}

int main(int argc, char **argv)
{
	const char *portfile = NULL, *mode = "send", *file = NULL;
	uint64_t n = MIB, seed = 1, rbytes = 0;
	size_t chunk = MIB;
	int opt, port = 0, fd, status;
	struct sha256 sha;
	struct st_magic mg = { 0 };
	char hex[65], rhex[65];
	static char buf[1 << 16];
	ssize_t r;

	st_prog = "st_source";
	while ((opt = getopt(argc, argv, "p:P:n:c:s:m:f:d")) != -1) {
		switch (opt) {
		case 'p': portfile = optarg; break;
		case 'P': port = atoi(optarg); break;
		case 'n': n = st_parse_size(optarg); break;
		case 'c': chunk = (size_t)st_parse_size(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'm': mode = optarg; break;
		case 'f': file = optarg; break;
		case 'd': dontwait = true; break;
		default: st_die("usage: st_source -p PORTFILE|-P PORT [-n N] [-c N] [-s SEED] [-m MODE] [-f FILE]");
		}
	}
	if (portfile)
		port = st_read_port(portfile);
	if (!port || !chunk || (!strcmp(mode, "sendfile") && !file))
		st_die("need a port, a non-zero chunk, and -f FILE for sendfile");
	fd = st_connect(port);
	send_mode(fd, mode, file, n, chunk, seed);
	status = st_fd_status(fd);
	if (shutdown(fd, SHUT_WR) < 0)
		st_die_errno("shutdown");
	sha256_init(&sha);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			st_die_errno("reading the reply");
		sha256_update(&sha, buf, (size_t)r);
		st_magic_feed(&mg, buf, (size_t)r);
		rbytes += (uint64_t)r;
	}
	st_sha_final(&sha, rhex);
	st_pattern_sha(seed, n, hex);
	printf("sent=%llu sha256=%s status=%d reply_bytes=%llu reply_sha256=%s reply_magic=%d\n",
	       (unsigned long long)n, hex, status, (unsigned long long)rbytes, rhex, mg.seen);
	close(fd);
	return 0;
}
