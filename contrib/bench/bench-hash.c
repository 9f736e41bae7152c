/* A Fletcher-like hash on 64-bit words in four lanes: a += w, b += a (mod 2^64), finished by
 * a mixer. It sees every byte, its order and the length, and runs near memory speed (the
 * chains are one vector add per 32 bytes). Not cryptographic: it catches lost, duplicated,
 * reordered or altered bytes, not an adversary. */
#include <string.h>

#include "bench.h"

#define FH_K 0x9e3779b97f4a7c15ULL

void fh_init(struct fh *h)
{
	memset(h, 0, sizeof(*h));
}

typedef uint64_t v2u64 __attribute__((vector_size(16)));

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w ^ FH_K;
}

static inline v2u64 load128(const unsigned char *p)
{
	v2u64 w;

	memcpy(&w, p, 16);
	return w ^ (v2u64){ FH_K, FH_K };
}

/* Word j of the message goes to lane j % 4 (a[l] += w; b[l] += a[l]); two 128-bit vectors
 * hold the four lanes, so the chains are one vector add per 32 bytes. */
static void fh_words(struct fh *h, const unsigned char *p, size_t nwords)
{
	v2u64 a0, a1, b0, b1;

	for (; nwords && (h->nwords & 3); nwords--, p += 8) {
		unsigned l = h->nwords++ & 3;

		h->a[l] += load64(p);
		h->b[l] += h->a[l];
	}
	memcpy(&a0, h->a, 16);
	memcpy(&a1, h->a + 2, 16);
	memcpy(&b0, h->b, 16);
	memcpy(&b1, h->b + 2, 16);
	h->nwords += nwords & ~(size_t)3;
	for (; nwords >= 4; nwords -= 4, p += 32) {
		a0 += load128(p);
		a1 += load128(p + 16);
		b0 += a0;
		b1 += a1;
	}
	memcpy(h->a, &a0, 16);
	memcpy(h->a + 2, &a1, 16);
	memcpy(h->b, &b0, 16);
	memcpy(h->b + 2, &b1, 16);
	for (; nwords; nwords--, p += 8) {
		unsigned l = h->nwords++ & 3;

		h->a[l] += load64(p);
		h->b[l] += h->a[l];
	}
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
	if (h->ncarry) /* n is 0: the word is still unfinished */
		return;
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
	x = t.nbytes * FH_K;
	for (unsigned l = 0; l < 4; l++) {
		x ^= t.b[l] + ((t.a[l] << 29) | (t.a[l] >> 35));
		x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ULL;
	}
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
