/* SHA-256 (FIPS 180-4), small and dependency-free, for the integration test programs. */
#ifndef FAASFLOW_TEST_SHA256_H
#define FAASFLOW_TEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN    65     /* 64 hex digits and a NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t total;              /* bytes hashed so far */
	uint8_t  buf[64];
	size_t   used;               /* bytes waiting in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_DIGEST_LEN]);
void sha256_hex(const uint8_t d[SHA256_DIGEST_LEN], char out[SHA256_HEX_LEN]);

/* Known-answer tests from FIPS 180-4 examples. Returns 0, or -1 naming the failed vector on stderr. */
int sha256_selftest(void);

#endif
