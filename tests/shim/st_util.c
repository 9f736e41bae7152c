/* Test utility: pattern hashes and a read-only look at a region.
 *   st_util patsha SEED N      sha256 of the first N bytes of pattern stream SEED
 *   st_util region PATH        header: region_id slot_size slot_count slots_offset
 *   st_util high PATH          first slot starting at or above 4 GiB, and how many of those
 *                              slots were ever filled (generation > 0 or not FREE)
 *   st_util slotdata PATH SLOT SEED COUNT
 *                              read the slot's first MiB from the file at its 64-bit offset
 *                              (pread, not the mapping) and say which MiB k < COUNT of pattern
 *                              stream SEED it holds: match=k, or match=-1 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "region.h"
#include "st.h"

static void open_region(struct ff_region *r, const char *path)
{
	char err[512];

	if (ff_region_open(r, path, false, err, sizeof(err)) < 0)
		st_die("cannot open region %s: %s", path, err);
}

static int slotdata(const char *path, uint64_t slot, uint64_t seed, uint64_t count)
{
	static uint8_t got[MIB], want[MIB];
	struct ff_region r;
	uint64_t at;
	int fd;

	open_region(&r, path);
	if (slot >= r.hdr->slot_count)
		st_die("slot %llu is beyond the %llu slots", (unsigned long long)slot,
		       (unsigned long long)r.hdr->slot_count);
	at = r.hdr->slots_offset + slot * r.hdr->slot_size;
	if ((fd = open(path, O_RDONLY)) < 0 || pread(fd, got, MIB, (off_t)at) != MIB)
		st_die_errno("pread %s at %llu", path, (unsigned long long)at);
	close(fd);
	for (uint64_t k = 0; k < count; k++) {
		st_pattern(want, MIB, seed, k * MIB);
		if (!memcmp(got, want, MIB)) {
			printf("match=%llu offset=%llu\n", (unsigned long long)k, (unsigned long long)at);
			return 0;
		}
	}
	printf("match=-1 offset=%llu\n", (unsigned long long)at);
	return 0;
}

int main(int argc, char **argv)
{
	struct ff_region r;
	char hex[65];

	st_prog = "st_util";
	if (argc == 4 && !strcmp(argv[1], "patsha")) {
		st_pattern_sha(strtoull(argv[2], NULL, 0), st_parse_size(argv[3]), hex);
		printf("%s\n", hex);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "region")) {
		open_region(&r, argv[2]);
		printf("region_id=");
		for (int i = 0; i < 16; i++)
			printf("%02x", r.hdr->region_id[i]);
		printf(" slot_size=%" PRIu64 " slot_count=%" PRIu64 " slots_offset=%" PRIu64 "\n",
		       r.hdr->slot_size, r.hdr->slot_count, r.hdr->slots_offset);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "high")) {
		uint64_t first = UINT64_MAX, used = 0, maxgen = 0, some = UINT64_MAX;
		open_region(&r, argv[2]);
		for (uint64_t s = 0; s < r.hdr->slot_count; s++) {
			uint64_t start = r.hdr->slots_offset + s * r.hdr->slot_size;
			uint32_t w = atomic_load(&r.meta[s].word);
			if (start < (4ull << 30))
				continue;
			if (first == UINT64_MAX)
				first = s;
			if (FF_SLOT_GEN(w) > 0 || FF_SLOT_STATE(w) == FF_SLOT_FILLED ||
			    FF_SLOT_STATE(w) == FF_SLOT_READING) {
				used++;
				if (some == UINT64_MAX)
					some = s;
				if (FF_SLOT_GEN(w) > maxgen)
					maxgen = FF_SLOT_GEN(w);
			}
		}
		printf("first_high=%" PRId64 " used_high=%" PRIu64 " max_gen_high=%" PRIu64
		       " slot_count=%" PRIu64 " a_used_high=%" PRId64 "\n",
		       first == UINT64_MAX ? (int64_t)-1 : (int64_t)first, used, maxgen,
		       r.hdr->slot_count, some == UINT64_MAX ? (int64_t)-1 : (int64_t)some);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "slotdata"))
		return slotdata(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0),
				strtoull(argv[5], NULL, 0));
	st_die("usage: st_util patsha SEED N | region PATH | high PATH | slotdata PATH SLOT SEED COUNT");
}
