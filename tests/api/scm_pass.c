/* An upgraded connection passed to an unrelated process with SCM_RIGHTS keeps working.
 *   scm_pass acceptor PORTFILE UNIXPATH HALF
 *       accept one TCP connection, read its first HALF bytes, then pass the socket and those
 *       bytes over the AF_UNIX socket UNIXPATH and exit
 *   scm_pass worker UNIXPATH
 *       receive the socket and the first part, read the rest to EOF, print
 *       "RECV bytes=N sha256=HEX status=S" over the whole stream
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "apiutil.h"
#include "faasflow.h"
#include "sha256.h"

static void die(const char *what)
{
	fprintf(stderr, "scm_pass: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int unix_sock(const char *path, int listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0)
		die("socket");
	if (listening) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
			die("bind unix");
		return fd;
	}
	for (int i = 0; i < 200; i++) {
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		usleep(20000);
	}
	die("connect unix");
	return -1;
}

/* The first part travels with the fd, so the worker can hash the whole stream. */
static int acceptor(const char *portfile, const char *upath, size_t half)
{
	uint8_t *part = malloc(half);
	const char *what;
	int lfd, fd, ufd;
	size_t got = 0;

	if (!part)
		die("malloc");
	lfd = api_listen_loopback(portfile, 1, &what);
	if (lfd < 0)
		die(what);
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		die("accept");
	while (got < half) {
		ssize_t r = read(fd, part + got, half - got > 4096 ? 4096 : half - got);
		if (r <= 0)
			die("read first part");
		got += (size_t)r;
	}
	printf("ACCEPTOR status=%d\n", faasflow_fd_status(fd));
	ufd = unix_sock(upath, 0);
	{
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		uint64_t n = half;
		struct iovec v = { .iov_base = &n, .iov_len = sizeof(n) };
		struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		if (sendmsg(ufd, &m, 0) != sizeof(n))
			die("sendmsg");
	}
	if (write(ufd, part, half) != (ssize_t)half)
		die("write part");
	close(ufd);
	close(fd);
	free(part);
	return 0;
}

static int worker(const char *upath)
{
	int lfd = unix_sock(upath, 1), ufd, fd = -1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	uint64_t half = 0, total = 0;
	struct iovec v = { .iov_base = &half, .iov_len = sizeof(half) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	static uint8_t buf[1 << 16];
	uint8_t d[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];
	struct sha256 h;

	printf("READY\n");
	fflush(stdout);
	if ((ufd = accept(lfd, NULL, NULL)) < 0 || recvmsg(ufd, &m, 0) != sizeof(half))
		die("recvmsg");
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd < 0)
		die("no fd received");
	sha256_init(&h);
	for (uint64_t got = 0; got < half;) {
		ssize_t r = read(ufd, buf, half - got < sizeof(buf) ? half - got : sizeof(buf));
		if (r <= 0)
			die("read part");
		sha256_update(&h, buf, (size_t)r);
		got += (uint64_t)r;
	}
	total = half;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0)
			die("read rest");
		if (r == 0)
			break;
		sha256_update(&h, buf, (size_t)r);
		total += (uint64_t)r;
	}
	sha256_final(&h, d);
	sha256_hex(d, hex);
	printf("RECV bytes=%llu sha256=%s status=%d\n", (unsigned long long)total, hex,
	       faasflow_fd_status(fd));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "acceptor"))
		return acceptor(argv[2], argv[3], strtoul(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "worker"))
		return worker(argv[2]);
	fprintf(stderr, "usage: scm_pass acceptor PORTFILE UNIXPATH HALF | scm_pass worker UNIXPATH\n");
	return 2;
}
