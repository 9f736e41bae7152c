/* Data frames on an upgraded direction: hello, inline, doorbell. Little-endian on the wire. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <endian.h>
#include <string.h>

#include "frame.h"
#include "region.h"

/* bytes of a hello that every sender writes identically: magic and version */
#define HELLO_FIXED 10u

void ff_hello_encode(struct ff_hello *h, const uint8_t region_id[16])
{
	memset(h, 0, sizeof(*h));
	h->magic = htole64(FF_HELLO_MAGIC);
	h->version = htole16(FF_HELLO_VERSION);
	memcpy(h->region_id, region_id, sizeof(h->region_id));
}

int ff_hello_check(const void *buf, size_t n, const uint8_t region_id[16], int *region_match)
{
	static const uint8_t zero[16];
	struct ff_hello want, got;
	size_t k = n < HELLO_FIXED ? n : HELLO_FIXED;

	if (region_match)
		*region_match = 0;
	ff_hello_encode(&want, region_id ? region_id : zero);
	if (memcmp(buf, &want, k))
		return FF_HELLO_NO;
	if (n < FF_HELLO_SIZE)
		return FF_HELLO_PARTIAL;
	memcpy(&got, buf, sizeof(got));
	if (got.flags != 0)
		return FF_HELLO_NO;
	if (region_match)
		*region_match = region_id && !memcmp(got.region_id, region_id, 16);
	return FF_HELLO_YES;
}

uint32_t ff_hello_conn_key(const void *buf)
{
	struct ff_hello h;

	memcpy(&h, buf, sizeof(h));
	return le32toh(h.conn_key);
}

void ff_inline_encode(struct ff_inline_hdr *h, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->type = FF_FRAME_INLINE;
	h->len = htole32(len);
}

void ff_urgent_encode(struct ff_inline_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->type = FF_FRAME_URGENT;
}

static int decode_urgent(const uint8_t *b, size_t n, size_t *hdr_len, uint64_t *payload_len)
{
	struct ff_inline_hdr h;

	if (n < FF_INLINE_HDR)
		return 0;
	memcpy(&h, b, sizeof(h));
	if (h.flags || h.reserved || h.len)
		return -1;
	*hdr_len = FF_INLINE_HDR;
	*payload_len = 0;
	return FF_FRAME_URGENT;
}

/* Fletcher-16 (sums modulo 255) over the 32 body bytes, the check field taken as zero. */
uint16_t ff_doorbell_checksum(const struct ff_doorbell *d)
{
	uint8_t b[FF_DOORBELL_BODY];
	uint32_t s1 = 0, s2 = 0;

	memcpy(b, d, sizeof(b));
	b[2] = b[3] = 0;
	for (size_t i = 0; i < sizeof(b); i++) {
		s1 = (s1 + b[i]) % 255;
		s2 = (s2 + s1) % 255;
	}
	return (uint16_t)(s2 << 8 | s1);
}

void ff_doorbell_encode(void *out, uint32_t slot, uint32_t gen, uint64_t off, uint64_t len)
{
	ff_doorbell_encode_flags(out, slot, gen, off, len, 0);
}

void ff_doorbell_encode_flags(void *out, uint32_t slot, uint32_t gen, uint64_t off, uint64_t len,
			      uint8_t flags)
{
	struct ff_doorbell d;

	memset(&d, 0, sizeof(d));
	d.type = FF_FRAME_DOORBELL;
	d.flags = flags;
	d.slot = htole32(slot);
	d.gen = htole32(gen);
	d.offset = htole64(off);
	d.len = htole64(len);
	d.check = htole16(ff_doorbell_checksum(&d));
	memset(out, 0, FF_DOORBELL_SIZE);
	memcpy(out, &d, sizeof(d));
}

static int decode_inline(const uint8_t *b, size_t n, size_t *hdr_len, uint64_t *payload_len)
{
	struct ff_inline_hdr h;
	uint32_t len;

	if (n < FF_INLINE_HDR)
		return 0;
	memcpy(&h, b, sizeof(h));
	len = le32toh(h.len);
	if (h.flags || h.reserved || len == 0 || len > FF_INLINE_MAX)
		return -1;
	*hdr_len = FF_INLINE_HDR;
	*payload_len = len;
	return FF_FRAME_INLINE;
}

static int decode_doorbell(const uint8_t *b, size_t n, uint64_t slot_size, uint64_t slot_count,
			   size_t *hdr_len, uint64_t *payload_len, struct ff_doorbell *db)
{
	struct ff_doorbell d;
	uint64_t off, len;

	if (n < FF_DOORBELL_SIZE)
		return 0;
	for (size_t i = FF_DOORBELL_BODY; i < FF_DOORBELL_SIZE; i++)
		if (b[i])
			return -1;
	memcpy(&d, b, sizeof(d));
	if (le16toh(d.check) != ff_doorbell_checksum(&d))
		return -1;
	d.check = le16toh(d.check);
	d.slot = le32toh(d.slot);
	d.gen = le32toh(d.gen);
	d.reserved = le32toh(d.reserved);
	d.offset = le64toh(d.offset);
	d.len = le64toh(d.len);
	off = d.offset;
	len = d.len;
	if ((d.flags & ~FF_DB_RUN) || d.reserved || d.gen > FF_SLOT_GEN_MASK)
		return -1;
	if ((uint64_t)d.slot >= slot_count)
		return -1;
	if (len == 0 || off + len < off || off + len > slot_size)
		return -1;
	*hdr_len = FF_DOORBELL_SIZE;
	*payload_len = len;
	if (db)
		*db = d;
	return FF_FRAME_DOORBELL;
}

int ff_frame_decode(const void *buf, size_t n, uint64_t slot_size, uint64_t slot_count,
		    size_t *hdr_len, uint64_t *payload_len, struct ff_doorbell *db)
{
	const uint8_t *b = buf;

	if (n == 0)
		return 0;
	switch (b[0]) {
	case FF_FRAME_INLINE:
		return decode_inline(b, n, hdr_len, payload_len);
	case FF_FRAME_DOORBELL:
		return decode_doorbell(b, n, slot_size, slot_count, hdr_len, payload_len, db);
	case FF_FRAME_URGENT:
		return decode_urgent(b, n, hdr_len, payload_len);
	default:
		return -1;
	}
}
