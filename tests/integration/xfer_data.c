/* xfer: the data (a counter-based pseudo-random stream, addressable at any offset), size lists
 * and the per-message digest records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xfer.h"

static inline uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t word_at(uint64_t seed, uint64_t i)
{
	return splitmix(seed * 0xd1342543de82ef95ULL + i);
}

/* Bytes [off, off+n) of the stream of `seed`: the same bytes whatever the split of calls. */
void gen_fill(uint64_t seed, uint64_t off, void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t i = off / 8, w;
	unsigned j = (unsigned)(off % 8);

	if (j) {
		w = word_at(seed, i++);
		for (; j < 8 && n > 0; j++, n--)
			*p++ = (uint8_t)(w >> (8 * j));
	}
	for (; n >= 8; n -= 8, p += 8) {
		w = word_at(seed, i++);
		memcpy(p, &w, 8);          /* little-endian host: byte j is w >> 8j */
	}
	if (n) {
		w = word_at(seed, i);
		for (j = 0; j < n; j++)
			p[j] = (uint8_t)(w >> (8 * j));
	}
}

uint64_t msg_seed(uint64_t seed, uint32_t tid, uint32_t idx)
{
	return splitmix(seed ^ ((uint64_t)tid << 40) ^ ((uint64_t)idx << 8) ^ 0x5a5a);
}

/* "4096", "64K", "1M", "2G" (binary multiples). */
int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || v > (UINT64_MAX >> shift))
		goto bad;
	*out = (uint64_t)v << shift;
	return 0;
bad:
	return xerrx("size '%s': expected a number of bytes with an optional K, M or G suffix", s);
}

static int push(uint64_t **v, size_t *n, uint64_t x)
{
	uint64_t *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return xerr("realloc");
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

/* "1,1000,64K,1M" or "1M*10" (ten payloads of 1 MiB); a zero size is refused. */
int parse_sizes(const char *s, uint64_t **sizes, size_t *n)
{
	char *copy = strdup(s), *tok, *save = NULL, *star;
	uint64_t v, rep;
	int rc = -1;

	if (!copy)
		return xerr("strdup");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		rep = 1;
		star = strchr(tok, '*');
		if (star) {
			*star = '\0';
			if (parse_size(star + 1, &rep) < 0 || rep == 0)
				goto out;
		}
		if (parse_size(tok, &v) < 0)
			goto out;
		if (v == 0) {
			xerrx("--sizes: a payload of 0 bytes is not a payload (in '%s')", s);
			goto out;
		}
		while (rep--)
			if (push(sizes, n, v) < 0)
				goto out;
	}
	rc = *n ? 0 : xerrx("--sizes '%s': no sizes", s);
out:
	free(copy);
	return rc;
}

/* SEED:COUNT:MAX - COUNT sizes in [1, MAX], log-uniform so small and large both appear. */
int parse_random_mix(const char *s, uint64_t **sizes, size_t *n)
{
	unsigned long long seed, count;
	char maxs[64];
	uint64_t max, x, bits, top;
	unsigned maxbits = 0;
	unsigned long long i;

	if (sscanf(s, "%llu:%llu:%63s", &seed, &count, maxs) != 3 || count == 0 ||
	    parse_size(maxs, &max) < 0 || max == 0)
		return xerrx("--random-mix '%s': expected SEED:COUNT:MAX, e.g. 7:50:4M", s);
	while (maxbits < 63 && (1ULL << (maxbits + 1)) <= max)
		maxbits++;
	for (i = 0; i < count; i++) {
		x = splitmix(seed * 31 + i);
		bits = x % (maxbits + 1);
		top = 1ULL << bits;
		x = 1 + splitmix(x) % (top * 2 > max ? max : top * 2);
		if (push(sizes, n, x) < 0)
			return -1;
	}
	return 0;
}

/* Message modes hash one record per message, in (tid, idx) order, on both ends. */
void msg_record(struct sha256 *acc, uint32_t tid, uint32_t idx, uint64_t len,
		const uint8_t digest[SHA256_DIGEST_LEN])
{
	uint8_t rec[16 + SHA256_DIGEST_LEN];

	memcpy(rec, &tid, 4);
	memcpy(rec + 4, &idx, 4);
	memcpy(rec + 8, &len, 8);
	memcpy(rec + 16, digest, SHA256_DIGEST_LEN);
	sha256_update(acc, rec, sizeof(rec));
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
