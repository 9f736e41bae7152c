/* The transfer of tests/container/xfer.py as a C program, built with musl-gcc by
 * t-docker-musl.sh and run in a musl image (no shell, no Python). Same protocol:
 *
 *   musl_xfer server PORT            serve connections for ever: read each to EOF, answer
 *                                    "<bytes> <sha256>\n", close; prints "RECV <bytes> <sha256>"
 *   musl_xfer client HOST PORT MIB   send MIB MiB of pseudo-random data in 1 MiB writes, shut
 *                                    down the write side, read the answer; prints
 *                                    "SENT <bytes> <sha256>", exit 1 unless the server agrees
 *
 * Plain read()/write()/connect()/accept(), the calls the shim interposes. */
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sha256.h"
#include <netinet/in.h>

#define CHUNK (1u << 20)

/* SHA-256: the integration tests' implementation (tests/integration/sha256.c), built with it. */
static void sha_hex(struct sha256 *s, char out[SHA256_HEX_LEN])
{
	uint8_t d[SHA256_DIGEST_LEN];

	sha256_final(s, d);
	sha256_hex(d, out);
}

/* ---- the transfer ------------------------------------------------------- */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int serve(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	uint8_t *buf = malloc(CHUNK);

	if (ls < 0 || !buf || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
		perror("musl_xfer server");
		return 1;
	}
	printf("LISTEN %d\n", port);
	fflush(stdout);
	for (;;) {
		struct sha256 s;
		unsigned long long n = 0;
		char hex[65], line[128];
		ssize_t r;
		int c = accept(ls, NULL, NULL);

		if (c < 0)
			continue;
		sha256_init(&s);
		while ((r = read(c, buf, CHUNK)) > 0) {
			sha256_update(&s, buf, (size_t)r);
			n += (unsigned long long)r;
		}
		sha_hex(&s, hex);
		snprintf(line, sizeof(line), "%llu %s\n", n, hex);
		if (write_all(c, (const uint8_t *)line, strlen(line)) < 0)
			perror("musl_xfer server: answer");
		close(c);
		printf("RECV %s", line);
		fflush(stdout);
	}
}

static int client(const char *host, const char *port, int mib)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
	uint8_t *block = malloc(CHUNK);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct sha256 s;
	char hex[65], mine[128], answer[256];
	size_t got = 0;
	ssize_t r;
	int fd, e;

	if (!block)
		return 1;
	if ((e = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "musl_xfer: %s: %s\n", host, gai_strerror(e));
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("musl_xfer client: connect");
		return 1;
	}
	freeaddrinfo(ai);
	sha256_init(&s);
	for (int i = 0; i < mib; i++) {
		for (size_t k = 0; k < CHUNK; k += 8) {       /* xorshift64: every chunk differs */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(block + k, &x, 8);
		}
		sha256_update(&s, block, CHUNK);
		if (write_all(fd, block, CHUNK) < 0) {
			perror("musl_xfer client: write");
			return 1;
		}
	}
	shutdown(fd, SHUT_WR);
	while (got < sizeof(answer) - 1 && (r = read(fd, answer + got, sizeof(answer) - 1 - got)) > 0)
		got += (size_t)r;
	answer[got] = 0;
	close(fd);
	answer[strcspn(answer, "\n")] = 0;
	sha_hex(&s, hex);
	snprintf(mine, sizeof(mine), "%llu %s", (unsigned long long)mib * CHUNK, hex);
	if (strcmp(answer, mine) != 0) {
		printf("MISMATCH: sent %s, the server saw '%s'\n", mine, answer);
		return 1;
	}
	printf("SENT %s\n", mine);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return serve(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: musl_xfer server PORT | musl_xfer client HOST PORT MIB\n");
	return 2;
}
