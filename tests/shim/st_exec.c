/* exec with an upgraded (or plain) connection open.
 *   st_exec client PORTFILE keep|clear   connect, send 3 MiB (1 MiB writes), exec itself
 *                                        (execv, or execve with an empty environment); the new
 *                                        image sends 3 MiB more on the same fd and half-closes
 *   st_exec server PORTFILE              accept, read 1.5 MiB, exec itself; the new image reads
 *                                        the rest to EOF and reports bytes and sha256
 * Images print one line each: "image=N status=S shim=0|1 ..." (status: faasflow_fd_status). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st.h"

#define HALF (3u * MIB)
#define SEED 1

static void send_range(int fd, uint64_t off, uint64_t n)
{
	static char buf[MIB];
	uint64_t end = off + n;

	while (off < end) {
		size_t k = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		st_pattern(buf, k, SEED, off);
		if (st_write_all(fd, buf, k) < 0)
			st_die_errno("send at offset %llu", (unsigned long long)off);
		off += k;
	}
}

static void __attribute__((noreturn)) do_exec(const char *self, char **argv, bool clear)
{
	char *const empty[] = { NULL };

	fflush(stdout);
	if (clear)
		execve(self, argv, empty);
	else
		execv(self, argv);
	st_die_errno("exec %s", self);
}

static int client(const char *self, const char *portfile, const char *envmode)
{
	int fd = st_connect(st_read_port(portfile));
	char fds[16];
	char *argv[] = { (char *)"st_exec", (char *)"client2", fds, NULL };

	send_range(fd, 0, HALF);
	printf("image=1 status=%d shim=%d\n", st_fd_status(fd), st_shim_loaded());
	snprintf(fds, sizeof(fds), "%d", fd);
	do_exec(self, argv, !strcmp(envmode, "clear"));
}

static int client2(const char *fdstr)
{
	int fd = atoi(fdstr), status = st_fd_status(fd);
	char buf[256];
	ssize_t r;

	send_range(fd, HALF, HALF);
	if (shutdown(fd, SHUT_WR) < 0)
		st_die_errno("shutdown after exec");
	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		;
	printf("image=2 status=%d shim=%d env_config=%d\n", status, st_shim_loaded(),
	       getenv("FAASFLOW_CONFIG") != NULL);
	return 0;
}

/* Read to EOF (or `limit` bytes) into the running hash; returns bytes. */
static uint64_t read_into(int fd, struct sha256 *sha, uint64_t limit, int *err)
{
	static char buf[64 << 10];
	uint64_t got = 0;

	*err = 0;
	while (got < limit) {
		size_t want = limit - got < sizeof(buf) ? (size_t)(limit - got) : sizeof(buf);
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*err = r < 0 ? errno : 0;
			break;
		}
		sha256_update(sha, buf, (size_t)r);
		got += (uint64_t)r;
	}
	return got;
}

static int server(const char *self, const char *portfile)
{
	int lfd = st_listen(portfile, NULL, 0), fd, err;
	struct sha256 sha;
	char fds[16], ctx[256];
	char *argv[] = { (char *)"st_exec", (char *)"server2", fds, ctx, NULL };
	uint64_t got;

	if ((fd = accept(lfd, NULL, NULL)) < 0)
		st_die_errno("accept");
	close(lfd);
	sha256_init(&sha);
	got = read_into(fd, &sha, HALF / 2, &err);
	if (got != HALF / 2)
		st_die("image 1 read %llu bytes, expected %u (%s)", (unsigned long long)got, HALF / 2,
		       err ? strerror(err) : "EOF");
	printf("image=1 status=%d shim=%d\n", st_fd_status(fd), st_shim_loaded());
	snprintf(fds, sizeof(fds), "%d", fd);
	st_sha_save(&sha, ctx, sizeof(ctx));
	do_exec(self, argv, false);
}

static int server2(const char *fdstr, const char *ctx)
{
	int fd = atoi(fdstr), status = st_fd_status(fd), err;
	struct sha256 sha;
	char hex[65];
	uint64_t got;

	if (st_sha_load(&sha, ctx) < 0)
		st_die("bad hash context '%s'", ctx);
	read_into(fd, &sha, UINT64_MAX, &err);
	got = sha.total;
	st_sha_final(&sha, hex);
	printf("image=2 status=%d shim=%d bytes=%llu sha256=%s end=%s\n", status, st_shim_loaded(),
	       (unsigned long long)got, hex, err ? strerrorname_np(err) : "eof");
	return 0;
}

int main(int argc, char **argv)
{
	st_prog = "st_exec";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client("/proc/self/exe", argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "client2"))
		return client2(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server("/proc/self/exe", argv[2]);
	if (argc == 4 && !strcmp(argv[1], "server2"))
		return server2(argv[2], argv[3]);
	st_die("usage: st_exec client PORTFILE keep|clear | server PORTFILE");
}
