/* libFuzzer target: hello classification and frame decoding of untrusted stream bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t rid[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
				 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t slot_sizes[] = { 4096, 1 << 20, 256 << 20, 1ULL << 33 };
	struct ff_doorbell db;
	uint8_t again[FF_DOORBELL_SIZE];
	uint64_t slot_size, slot_count, plen;
	size_t hlen;
	int match, rc;

	rc = ff_hello_check(data, size, rid, &match);
	if (rc == FF_HELLO_YES && (size < FF_HELLO_SIZE || memcmp(data, "FFFHELLO", 8)))
		abort();
	if (rc == FF_HELLO_PARTIAL && size >= FF_HELLO_SIZE)
		abort();

	slot_size = slot_sizes[size % 4];
	slot_count = 1 + size % 1000;
	rc = ff_frame_decode(data, size, slot_size, slot_count, &hlen, &plen, &db);
	switch (rc) {
	case FF_FRAME_INLINE:
		if (hlen != FF_INLINE_HDR || plen == 0 || plen > FF_INLINE_MAX || size < hlen)
			abort();
		break;
	case FF_FRAME_DOORBELL:
		if (hlen != FF_DOORBELL_SIZE || size < hlen || db.slot >= slot_count ||
		    db.len == 0 || db.offset > slot_size || db.len > slot_size - db.offset ||
		    plen != db.len)
			abort();
		/* a valid doorbell re-encodes to the very same bytes */
		ff_doorbell_encode_flags(again, db.slot, db.gen, db.offset, db.len, db.flags);
		if (memcmp(again, data, sizeof(again)))
			abort();
		break;
	case FF_FRAME_URGENT: {
		/* a valid urgent marker is exactly the encoded one, and carries nothing itself */
		struct ff_inline_hdr u;
		ff_urgent_encode(&u);
		if (hlen != FF_INLINE_HDR || plen != 0 || size < hlen || memcmp(&u, data, sizeof(u)))
			abort();
		break;
	}
	case 0:
		if (size >= FF_FRAME_PEEK)
			abort();
		break;
	case -1:
		break;
	default:
		abort();
	}
	return 0;
}
