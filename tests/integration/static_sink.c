/* A program without the shim (linked statically, so no LD_PRELOAD reaches it) that a shim
 * server hands an accepted connection to across exec, as inetd or a CGI server does: it reads
 * its standard input (the connection) to EOF and answers "<bytes> <sha256>\n" on it, like
 * pair_case.py's server. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"

int main(void)
{
	static char buf[1 << 16];
	struct sha256 s;
	uint8_t d[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN], line[128];
	unsigned long long n = 0;
	ssize_t r;
	int len;

	sha256_init(&s);
	while ((r = read(0, buf, sizeof(buf))) > 0) {
		sha256_update(&s, buf, (size_t)r);
		n += (unsigned long long)r;
	}
	sha256_final(&s, d);
	sha256_hex(d, hex);
	len = snprintf(line, sizeof(line), "%llu %s\n", n, hex);
	return write(0, line, (size_t)len) == len ? 0 : 1;
}
