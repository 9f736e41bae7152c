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
#include <netinet/in.h>

#define CHUNK (1u << 20)

/* ---- SHA-256 (FIPS 180-4) ---------------------------------------------- */
struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t n;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(a, s->h, sizeof(a));
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) +
			      ((a[4] & a[5]) ^ (~a[4] & a[6])) + K[i] + w[i];
		uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) +
			      ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
		a[7] = a[6];
		a[6] = a[5];
		a[5] = a[4];
		a[4] = a[3] + t1;
		a[3] = a[2];
		a[2] = a[1];
		a[1] = a[0];
		a[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		s->h[i] += a[i];
}

static void sha_init(struct sha256 *s)
{
	static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, h0, sizeof(h0));
	s->len = 0;
	s->n = 0;
}

static void sha_update(struct sha256 *s, const uint8_t *p, size_t n)
{
	s->len += n;
	while (n) {
		size_t k = 64 - s->n < n ? 64 - s->n : n;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		n -= k;
		if (s->n == 64) {
			sha_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha_hex(struct sha256 *s, char out[65])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padn = (s->n < 56 ? 56 : 120) - s->n;

	for (int i = 0; i < 8; i++)
		pad[padn + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha_update(s, pad, padn + 8);
	for (int i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", s->h[i]);
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
		sha_init(&s);
		while ((r = read(c, buf, CHUNK)) > 0) {
			sha_update(&s, buf, (size_t)r);
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
	sha_init(&s);
	for (int i = 0; i < mib; i++) {
		for (size_t k = 0; k < CHUNK; k += 8) {       /* xorshift64: every chunk differs */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(block + k, &x, 8);
		}
		sha_update(&s, block, CHUNK);
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
