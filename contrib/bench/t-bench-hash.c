/* The benchmark's integrity hash must not depend on how the stream was cut into reads, and
 * must change when a byte is flipped, two words swap or the length changes. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

int main(void)
{
	size_t n = 100003;
	unsigned char *p = malloc(n), t;
	uint64_t ref;
	int fails = 0;

	if (!p)
		return 99;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
	ref = fh_buf(p, n);
	srand(1);
	for (int k = 0; k < 500; k++) {
		struct fh h;
		size_t off = 0;

		fh_init(&h);
		while (off < n) {
			size_t c = (size_t)rand() % (k % 2 ? 40 : 5000);

			c = c > n - off ? n - off : c;
			fh_update(&h, p + off, c);
			off += c;
		}
		if (fh_final(&h) != ref) {
			fprintf(stderr, "FAIL: split %d changed the hash\n", k);
			fails++;
			break;
		}
	}
	p[500] ^= 1;
	if (fh_buf(p, n) == ref) {
		fprintf(stderr, "FAIL: a flipped bit kept the hash\n");
		fails++;
	}
	p[500] ^= 1;
	t = p[8];
	p[8] = p[40];
	p[40] = t;
	if (fh_buf(p, n) == ref) {
		fprintf(stderr, "FAIL: swapped bytes kept the hash\n");
		fails++;
	}
	if (fh_buf(p, n - 1) == fh_buf(p, n) || fh_fold(fh_fold(0, 1), 2) == fh_fold(fh_fold(0, 2), 1)) {
		fprintf(stderr, "FAIL: length or order of messages not seen\n");
		fails++;
	}
	free(p);
	printf("%s\n", fails ? "FAIL" : "ok: hash is split-invariant and sees flips, swaps, length");
	return fails ? 1 : 0;
}
