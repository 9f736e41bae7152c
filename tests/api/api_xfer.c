/* Test program for the zero-copy API (faasflow.h), run with the shim preloaded.
 *   api_xfer server PORTFILE borrow|read [--die-holding]
 *       accept one connection, read it to EOF with faasflow_recv_borrow() (or plain read()),
 *       print "RECV bytes=N sha256=HEX borrowed=K" (K: payloads lent in place)
 *   api_xfer client PORT api|mixed|plain SIZE COUNT
 *       send COUNT payloads of SIZE bytes: api = faasflow_alloc() buffers, mixed = API and
 *       malloc buffers alternating, plain = malloc only; print "SENT bytes=N sha256=HEX inregion=K"
 *   api_xfer misuse
 *       double free, foreign free, double release, foreign release: each must fail with EINVAL
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apiutil.h"
#include "faasflow.h"
#include "sha256.h"

static void die(const char *what)
{
	fprintf(stderr, "api_xfer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

static void print_hash(const char *tag, struct sha256 *h, uint64_t bytes, unsigned k, const char *kname)
{
	uint8_t d[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN];

	sha256_final(h, d);
	sha256_hex(d, hex);
	printf("%s bytes=%llu sha256=%s %s=%u\n", tag, (unsigned long long)bytes, hex, kname, k);
	fflush(stdout);
}

static int server(const char *portfile, const char *mode, int die_holding)
{
	const char *what;
	int lfd, fd;
	struct sha256 h;
	uint64_t bytes = 0;
	unsigned lent = 0;

	lfd = api_listen_loopback(portfile, 4, &what);
	if (lfd < 0)
		die(what);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	sha256_init(&h);
	for (;;) {
		if (!strcmp(mode, "borrow")) {
			void *p;
			size_t n;
			int r = faasflow_recv_borrow(fd, &p, &n);
			if (r < 0)
				die("faasflow_recv_borrow");
			if (r == 0)
				break;
			sha256_update(&h, p, n);
			bytes += n;
			if (die_holding && bytes > (1u << 20))
				_exit(3);          /* a borrower that dies holding a slot */
			if (faasflow_recv_release(p) < 0)
				die("faasflow_recv_release");
			lent++;
		} else {
			static uint8_t buf[1 << 16];
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r < 0)
				die("read");
			if (r == 0)
				break;
			sha256_update(&h, buf, (size_t)r);
			bytes += (uint64_t)r;
		}
	}
	print_hash("RECV", &h, bytes, lent, "borrowed");
	close(fd);
	close(lfd);
	return 0;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("send");
		p += w;
		n -= (size_t)w;
	}
}

static int client(int port, const char *mode, size_t size, unsigned count)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sha256 h;
	unsigned inregion = 0;

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	sha256_init(&h);
	for (unsigned i = 0; i < count; i++) {
		int api = !strcmp(mode, "api") || (!strcmp(mode, "mixed") && i % 2 == 0);
		uint8_t *p = api ? faasflow_alloc(size) : malloc(size);
		if (!p)
			die("alloc");
		inregion += api && faasflow_in_region(p);
		fill(p, size, i + 1);
		sha256_update(&h, p, size);
		send_all(fd, p, size);
		if (api ? faasflow_free(p) < 0 : (free(p), 0))
			die("faasflow_free");
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	print_hash("SENT", &h, (uint64_t)size * count, inregion, "inregion");
	return 0;
}

static int expect_einval(int r, const char *what)
{
	if (r == -1 && errno == EINVAL)
		return 0;
	fprintf(stderr, "api_xfer misuse: %s returned %d errno %d, expected -1/EINVAL\n", what, r, errno);
	return 1;
}

static int misuse(void)
{
	int bad = 0, local = 0;
	void *p = faasflow_alloc(4096);

	if (!p)
		die("faasflow_alloc");
	if (faasflow_free(p) != 0) {
		fprintf(stderr, "api_xfer misuse: first free failed\n");
		bad++;
	}
	bad += expect_einval(faasflow_free(p), "double faasflow_free");
	bad += expect_einval(faasflow_free(&local), "faasflow_free of a stack pointer");
	bad += expect_einval(faasflow_recv_release(&local), "faasflow_recv_release of a stack pointer");
	bad += expect_einval(faasflow_recv_release(NULL), "faasflow_recv_release(NULL)");
	printf("MISUSE %s\n", bad ? "FAILED" : "OK");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "server"))
		return server(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "--die-holding"));
	if (argc == 6 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), argv[3], strtoul(argv[4], NULL, 0), (unsigned)atoi(argv[5]));
	if (argc == 2 && !strcmp(argv[1], "misuse"))
		return misuse();
	fprintf(stderr, "usage: api_xfer server PORTFILE borrow|read [--die-holding]\n"
			"       api_xfer client PORT api|mixed|plain SIZE COUNT\n"
			"       api_xfer misuse\n");
	return 2;
}
