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

void st_sha_final(struct sha256 *s, char hex[SHA256_HEX_LEN])
{
	uint8_t d[SHA256_DIGEST_LEN];

	sha256_final(s, d);
	sha256_hex(d, hex);
}

void st_sha_save(const struct sha256 *s, char *out, size_t cap)
{
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(out + n, cap - n, "%08x", s->h[i]);
	n += (size_t)snprintf(out + n, cap - n, ":%" PRIu64 ":", s->total);
	for (size_t i = 0; i < s->used; i++)
		n += (size_t)snprintf(out + n, cap - n, "%02x", s->buf[i]);
}

int st_sha_load(struct sha256 *s, const char *in)
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
	s->total = strtoull(in + 65, (char **)&p, 10);
	if (*p++ != ':')
		return -1;
	s->used = strlen(p) / 2;
	if (s->used >= 64 || s->used != s->total % 64)
		return -1;
	for (size_t i = 0; i < s->used; i++) {
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
	struct sha256 s;
	uint64_t off = 0;

	sha256_init(&s);
	while (off < n) {
		size_t k = n - off < sizeof(buf) ? (size_t)(n - off) : sizeof(buf);
		st_pattern(buf, k, seed, off);
		sha256_update(&s, buf, k);
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
