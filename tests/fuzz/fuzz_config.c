/* libFuzzer target: configuration files, single values, sizes and peer lists. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ff_config c;
	struct ff_peer peers[FF_MAX_PEERS];
	char err[2048], *s, *eq;
	unsigned n;
	uint64_t v;
	bool b;

	if (size > 16384)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	}
	/* as a whole file */
	if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	ff_config_defaults(&c);
	if (ff_config_load_file(&c, memfd_path, false, err, sizeof(err)) && !err[0])
		abort();
	if (c.npeers > FF_MAX_PEERS || c.nallow_uids > FF_MAX_IDS || c.nallow_gids > FF_MAX_IDS)
		abort();
	if (c.slot_size & (c.slot_size - 1))
		abort();

	/* as one value of each parser */
	s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (ff_parse_size(s, &v) == 0 && strlen(s) == 0)
		abort();
	ff_parse_bool(s, &b);
	if (ff_parse_peers(s, peers, FF_MAX_PEERS, &n, err, sizeof(err)) == 0 && n > FF_MAX_PEERS)
		abort();
	/* as "KEY=value" given to ff_config_set */
	eq = strchr(s, '=');
	if (eq) {
		*eq = '\0';
		ff_config_defaults(&c);
		if (ff_config_set(&c, s, eq + 1, err, sizeof(err)) && !err[0])
			abort();
	}
	free(s);
	return 0;
}
