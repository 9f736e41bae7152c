/* A server: accepts one connection, reads until EOF or an error, and reports what it got:
 *   bytes=N sha256=H magic=0|1 status=S end=eof|<errno name>
 * status is faasflow_fd_status() after the first byte (-1 without the shim). Options:
 *   -p FILE  port file (written when listening)     -b N   read buffer size (64K)
 *   -m read|splice  how to read                     -R N   reply with N pattern bytes after EOF
 *   -S SEED  reply seed (2)                         -g FILE wait for FILE before reading */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "st.h"

struct pipe_reader {
	int fd;
	struct sha256 *sha;
	struct st_magic *mg;
	uint64_t bytes;
};

static void *drain_pipe(void *arg)
{
	struct pipe_reader *pr = arg;
	static char buf[1 << 16];
	ssize_t r;

	while ((r = read(pr->fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR)) {
		if (r <= 0)
			continue;
		sha256_update(pr->sha, buf, (size_t)r);
		st_magic_feed(pr->mg, buf, (size_t)r);
		pr->bytes += (uint64_t)r;
	}
	return NULL;
}

static void wait_file(const char *path)
{
	struct stat st;
	uint64_t end = st_now_ms() + 60000;

	while (stat(path, &st) < 0) {
		if (st_now_ms() > end)
			st_die("%s did not appear in 60 s", path);
		usleep(2000);
	}
}

static void reply(int fd, uint64_t n, uint64_t seed)
{
	static char buf[1 << 16];
	uint64_t off = 0;

	while (off < n) {
		size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
		st_pattern(buf, k, seed, off);
		if (st_write_all(fd, buf, k) < 0)
			st_die_errno("reply write");
		off += k;
	}
	shutdown(fd, SHUT_WR);
}

int main(int argc, char **argv)
{
	const char *portfile = NULL, *mode = "read", *gofile = NULL;
	size_t bufsz = 64 << 10;
	uint64_t reply_n = 0, reply_seed = 2, bytes = 0;
	struct sha256 sha;
	struct st_magic mg = { 0 };
	int opt, lfd, fd, status = -2, err = 0;
	char hex[65];
	char *buf;

	st_prog = "st_sink";
	while ((opt = getopt(argc, argv, "p:b:m:R:S:g:")) != -1) {
		switch (opt) {
		case 'p': portfile = optarg; break;
		case 'b': bufsz = (size_t)st_parse_size(optarg); break;
		case 'm': mode = optarg; break;
		case 'R': reply_n = st_parse_size(optarg); break;
		case 'S': reply_seed = strtoull(optarg, NULL, 0); break;
		case 'g': gofile = optarg; break;
		default: st_die("usage: st_sink -p PORTFILE [-b N] [-m read|splice] [-R N] [-g FILE]");
		}
	}
	if (!portfile)
		st_die("-p PORTFILE is required");
	lfd = st_listen(portfile, NULL, 0);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		st_die_errno("accept");
	if (gofile)
		wait_file(gofile);
	sha256_init(&sha);
	if (!strcmp(mode, "splice")) {
		struct pipe_reader pr = { .sha = &sha, .mg = &mg };
		int p[2];
		pthread_t th;
		if (pipe(p) < 0)
			st_die_errno("pipe");
		pr.fd = p[0];
		pthread_create(&th, NULL, drain_pipe, &pr);
		for (;;) {
			ssize_t r = splice(fd, NULL, p[1], NULL, bufsz, SPLICE_F_MOVE);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				err = r < 0 ? errno : 0;
				break;
			}
			if (status == -2)
				status = st_fd_status(fd);
		}
		close(p[1]);
		pthread_join(th, NULL);
		close(p[0]);
		bytes = pr.bytes;
	} else {
		if (!(buf = malloc(bufsz)))
			st_die("out of memory");
		for (;;) {
			ssize_t r = read(fd, buf, bufsz);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				err = r < 0 ? errno : 0;
				break;
			}
			if (status == -2)
				status = st_fd_status(fd);
			sha256_update(&sha, buf, (size_t)r);
			st_magic_feed(&mg, buf, (size_t)r);
			bytes += (uint64_t)r;
		}
		free(buf);
	}
	if (status == -2)
		status = st_fd_status(fd);
	if (reply_n && !err)
		reply(fd, reply_n, reply_seed);
	st_sha_final(&sha, hex);
	printf("bytes=%llu sha256=%s magic=%d status=%d end=%s\n", (unsigned long long)bytes, hex,
	       mg.seen, status, err ? strerrorname_np(err) : "eof");
	fflush(stdout);
	close(fd);
	close(lfd);
	return 0;
}
