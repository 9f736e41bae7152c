/* Test utility: pattern hashes and a read-only look at a region.
 *   st_util patsha SEED N      sha256 of the first N bytes of pattern stream SEED
 *   st_util region PATH        header: region_id slot_size slot_count slots_offset
 *   st_util high PATH          first slot starting at or above 4 GiB, and how many of those
 *                              slots were ever filled (generation > 0 or not FREE) */
#include <inttypes.h>
#include <stdio.h>
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
		uint64_t first = UINT64_MAX, used = 0, maxgen = 0;
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
				if (FF_SLOT_GEN(w) > maxgen)
					maxgen = FF_SLOT_GEN(w);
			}
		}
		printf("first_high=%" PRId64 " used_high=%" PRIu64 " max_gen_high=%" PRIu64
		       " slot_count=%" PRIu64 "\n", first == UINT64_MAX ? (int64_t)-1 : (int64_t)first,
		       used, maxgen, r.hdr->slot_count);
		return 0;
	}
	st_die("usage: st_util patsha SEED N | region PATH | high PATH");
}
