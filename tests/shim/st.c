/* Helpers shared by the shim tests. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "st.h"

const char *st_prog = "shimtest";

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

static void sha_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void st_sha_init(struct st_sha *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->fill = 0;
}

void st_sha_update(struct st_sha *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	s->len += n;
	if (s->fill) {
		size_t take = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->buf + s->fill, p, take);
		s->fill += take;
		p += take;
		n -= take;
		if (s->fill < 64)
			return;
		sha_block(s->h, s->buf);
		s->fill = 0;
	}
	for (; n >= 64; n -= 64, p += 64)
		sha_block(s->h, p);
	memcpy(s->buf, p, n);
	s->fill = n;
}

void st_sha_final(struct st_sha *s, char hex[65])
{
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padn = (s->fill < 56 ? 56 : 120) - s->fill;

	for (int i = 0; i < 8; i++)
		pad[padn + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
	st_sha_update(s, pad, padn + 8);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
}

void st_sha_save(const struct st_sha *s, char *out, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(out + n, cap - n, "%08x", s->h[i]);
	n += (size_t)snprintf(out + n, cap - n, ":%" PRIu64 ":", s->len);
	for (size_t i = 0; i < s->fill; i++)
		n += (size_t)snprintf(out + n, cap - n, "%02x", s->buf[i]);
}

int st_sha_load(struct st_sha *s, const char *in)
{
	char tmp[9] = { 0 };
	const char *p;
	unsigned v;

	if (strlen(in) < 66 || in[64] != ':')
		return -1;
	for (int i = 0; i < 8; i++) {
		memcpy(tmp, in + 8 * i, 8);
		s->h[i] = (uint32_t)strtoul(tmp, NULL, 16);
	}
	s->len = strtoull(in + 65, (char **)&p, 10);
	if (*p++ != ':')
		return -1;
	s->fill = strlen(p) / 2;
	if (s->fill >= 64 || s->fill != s->len % 64)
		return -1;
	for (size_t i = 0; i < s->fill; i++) {
		if (sscanf(p + 2 * i, "%2x", &v) != 1)
			return -1;
		s->buf[i] = (uint8_t)v;
	}
	return 0;
}

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void st_pattern(void *buf, size_t n, uint64_t seed, uint64_t off)
{
	uint8_t *p = buf;
	uint64_t blk = off / 8, v = mix(seed * 0x100000001b3ULL ^ blk);
	unsigned i = (unsigned)(off % 8);

	seed *= 0x100000001b3ULL;
	while (n) {
		if (i == 0 && n >= 8) {
			memcpy(p, &v, 8);
			p += 8;
			n -= 8;
			v = mix(seed ^ ++blk);
			continue;
		}
		*p++ = (uint8_t)(v >> (8 * i));
		n--;
		if (++i == 8) {
			i = 0;
			v = mix(seed ^ ++blk);
		}
	}
}

void st_pattern_sha(uint64_t seed, uint64_t n, char hex[65])
{
	static uint8_t buf[1 << 16];
	struct st_sha s;
	uint64_t off = 0;

	st_sha_init(&s);
	while (off < n) {
		size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
		st_pattern(buf, k, seed, off);
		st_sha_update(&s, buf, k);
		off += k;
	}
	st_sha_final(&s, hex);
}

void st_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s[%d]: ", st_prog, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void st_die_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "%s[%d]: ", st_prog, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (errno %d)\n", strerror(e), e);
	exit(2);
}

int st_listen(const char *portfile, int *port, int flags)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | flags, 0), one = 1;

	if (fd < 0)
		st_die_errno("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) < 0)
		st_die_errno("bind/listen on 127.0.0.1");
	if (port)
		*port = ntohs(a.sin_port);
	if (portfile) {
		char tmp[4200];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0 ||
		    rename(tmp, portfile) < 0)
			st_die_errno("writing port file %s", portfile);
	}
	return fd;
}

int st_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		st_die_errno("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		st_die_errno("connect to 127.0.0.1:%d", port);
	return fd;
}

int st_read_port(const char *portfile)
{
	uint64_t end = st_now_ms() + 20000;
	int port = 0;

	while (st_now_ms() < end) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &port) == 1;
			fclose(f);
			if (ok)
				return port;
		}
		usleep(2000);
	}
	st_die("no port in %s after 20 s", portfile);
}

int st_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

ssize_t st_read_full(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int st_fd_status(int fd)
{
	int (*fn)(int) = (int (*)(int))(uintptr_t)dlsym(RTLD_DEFAULT, "faasflow_fd_status");

	return fn ? fn(fd) : -1;
}

bool st_shim_loaded(void)
{
	return dlsym(RTLD_DEFAULT, "faasflow_fd_status") != NULL;
}

void st_magic_feed(struct st_magic *m, const void *buf, size_t n)
{
	static const char magic[8] = { 'F', 'F', 'F', 'H', 'E', 'L', 'L', 'O' };
	uint8_t win[16];
	size_t k;

	if (m->seen || !n)
		return;
	/* the boundary: up to 7 old bytes then up to 8 new ones */
	k = m->have;
	memcpy(win, m->tail, k);
	memcpy(win + k, buf, n < 8 ? n : 8);
	if (memmem(win, k + (n < 8 ? n : 8), magic, 8) || memmem(buf, n, magic, 8)) {
		m->seen = true;
		return;
	}
	if (n >= 7) {
		memcpy(m->tail, (const uint8_t *)buf + n - 7, 7);
		m->have = 7;
	} else {
		size_t keep = m->have + n > 7 ? 7 - n : m->have;
		memmove(m->tail, m->tail + m->have - keep, keep);
		memcpy(m->tail + keep, buf, n);
		m->have = keep + n;
	}
}

uint64_t st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t st_parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'K': case 'k': return v << 10;
	case 'M': case 'm': return v << 20;
	case 'G': case 'g': return v << 30;
	case '\0': return v;
	}
	st_die("bad size '%s' (accepted: a number with an optional K, M or G suffix)", s);
}
