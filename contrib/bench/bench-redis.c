/* Just enough RESP to SET, GET and DEL one binary value, over a plain TCP socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench-link.h"

static int writev_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Read one reply line (up to CRLF) into line; extra bytes past it go to *extra. */
static int read_line(int fd, char *line, size_t cap, size_t *linelen, size_t *extra)
{
	size_t have = 0;

	for (;;) {
		char *nl = have ? memchr(line, '\n', have) : NULL;
		ssize_t r;

		if (nl) {
			*linelen = (size_t)(nl - line) + 1;
			*extra = have - *linelen;
			return 0;
		}
		if (have == cap) {
			errno = EPROTO;
			return -1;
		}
		r = read(fd, line + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			return -1;
		}
		have += (size_t)r;
	}
}

static int bad_reply(const char *cmd, const char *line, size_t len)
{
	fprintf(stderr, "faasflow-bench: redis %s: unexpected reply '%.*s'\n", cmd,
		(int)(len > 80 ? 80 : len), line);
	errno = EPROTO;
	return -1;
}

int redis_set(int fd, const char *key, const void *val, size_t n)
{
	char hdr[160], line[128];
	struct iovec iov[3];
	size_t ll, extra;
	int hl = snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n",
			  strlen(key), key, n);

	iov[0] = (struct iovec){ hdr, (size_t)hl };
	iov[1] = (struct iovec){ (void *)val, n };
	iov[2] = (struct iovec){ "\r\n", 2 };
	if (writev_all(fd, iov, 3) < 0 || read_line(fd, line, sizeof(line), &ll, &extra) < 0)
		return -1;
	if (ll != 5 || memcmp(line, "+OK\r\n", 5) != 0 || extra)
		return bad_reply("SET", line, ll);
	return 0;
}

int redis_del(int fd, const char *key)
{
	char hdr[160], line[128];
	size_t ll, extra;
	int hl = snprintf(hdr, sizeof(hdr), "*2\r\n$3\r\nDEL\r\n$%zu\r\n%s\r\n", strlen(key), key);

	if (write_all(fd, hdr, (size_t)hl) < 0 || read_line(fd, line, sizeof(line), &ll, &extra) < 0)
		return -1;
	return line[0] == ':' ? 0 : bad_reply("DEL", line, ll);
}

/* GET key into dst (cap bytes): the value is read straight into dst, no staging copy. */
int redis_get(int fd, const char *key, void *dst, size_t cap, size_t *len)
{
	char hdr[160], line[256], crlf[2];
	size_t ll, extra, vlen, first, tail;
	char *end;
	int hl = snprintf(hdr, sizeof(hdr), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(key), key);

	if (write_all(fd, hdr, (size_t)hl) < 0 || read_line(fd, line, sizeof(line), &ll, &extra) < 0)
		return -1;
	if (line[0] != '$')
		return bad_reply("GET", line, ll);
	errno = 0;
	vlen = strtoull(line + 1, &end, 10);
	if (errno || *end != '\r' || vlen > cap)
		return bad_reply("GET", line, ll);
	/* bytes already read past the header line: value first, then (part of) its CRLF */
	first = extra < vlen ? extra : vlen;
	memcpy(dst, line + ll, first);
	tail = extra - first;
	if (tail > 2)
		return bad_reply("GET", line, ll);
	if (read_full(fd, (char *)dst + first, vlen - first) < 0)
		return -1;
	if (tail < 2 && read_full(fd, crlf, 2 - tail) < 0)
		return -1;
	*len = vlen;
	return 0;
}
