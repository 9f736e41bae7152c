/* A Fletcher-like hash on 64-bit words: a += w, b += a (mod 2^64), finished by a mixer.
 * It sees every byte, its order and the length, and runs near memory speed: four words are
 * folded per step so the dependency chain is one add per 32 bytes. Not cryptographic. */
#include <string.h>

#include "bench.h"

#define FH_K 0x9e3779b97f4a7c15ULL

void fh_init(struct fh *h)
{
	memset(h, 0, sizeof(*h));
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w ^ FH_K;
}

static void fh_words(struct fh *h, const unsigned char *p, size_t nwords)
{
	uint64_t a = h->a, b = h->b;
	size_t i = 0;

	for (; i + 4 <= nwords; i += 4) {
		uint64_t w0 = load64(p + 8 * i), w1 = load64(p + 8 * i + 8);
		uint64_t w2 = load64(p + 8 * i + 16), w3 = load64(p + 8 * i + 24);

		b += 4 * a + 4 * w0 + 3 * w1 + 2 * w2 + w3;
		a += (w0 + w1) + (w2 + w3);
	}
	for (; i < nwords; i++) {
		a += load64(p + 8 * i);
		b += a;
	}
	h->a = a;
	h->b = b;
}

void fh_update(struct fh *h, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	h->nbytes += n;
	while (h->ncarry && n) {
		h->carry |= (uint64_t)*p++ << (8 * h->ncarry);
		n--;
		if (++h->ncarry == 8) {
			uint64_t w = h->carry;

			h->ncarry = 0;
			h->carry = 0;
			fh_words(h, (const unsigned char *)&w, 1);
		}
	}
	fh_words(h, p, n / 8);
	p += n & ~(size_t)7;
	n &= 7;
	for (size_t i = 0; i < n; i++)
		h->carry |= (uint64_t)p[i] << (8 * i);
	h->ncarry = (unsigned)n;
}

uint64_t fh_final(const struct fh *h)
{
	struct fh t = *h;
	uint64_t x;

	if (t.ncarry) {
		uint64_t w = t.carry;

		fh_words(&t, (const unsigned char *)&w, 1);
	}
	x = t.b ^ ((t.a << 29) | (t.a >> 35)) ^ (t.nbytes * FH_K);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t fh_buf(const void *p, size_t n)
{
	struct fh h;

	fh_init(&h);
	fh_update(&h, p, n);
	return fh_final(&h);
}
