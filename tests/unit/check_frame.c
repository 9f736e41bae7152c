/* Frames: hello classification, inline and doorbell round trips, every invalid frame. */
#include "testutil.h"

#include "frame.h"

static const uint8_t rid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

START_TEST(test_hello)
{
	struct ff_hello h;
	uint8_t other[16], b[FF_HELLO_SIZE + 8];
	int match = -1;

	ff_hello_encode(&h, rid);
	memcpy(b, &h, sizeof(h));
	/* the wire bytes are fixed little-endian: "FFFHELLO" then the version (2: 128-byte doorbells) */
	ck_assert(!memcmp(b, "FFFHELLO", 8));
	ck_assert_uint_eq(b[8], 2);
	ck_assert_uint_eq(b[9], 0);
	ck_assert_int_eq(ff_hello_check(b, sizeof(h), rid, &match), FF_HELLO_YES);
	ck_assert_int_eq(match, 1);
	/* more bytes behind the hello do not matter */
	ck_assert_int_eq(ff_hello_check(b, sizeof(b), rid, &match), FF_HELLO_YES);
	/* every proper prefix is partial */
	for (size_t n = 0; n < FF_HELLO_SIZE; n++) {
		match = -1;
		ck_assert_int_eq(ff_hello_check(b, n, rid, &match), FF_HELLO_PARTIAL);
		ck_assert_int_eq(match, 0);
	}
	/* another region: a valid hello, but no match */
	memcpy(other, rid, 16);
	other[15] ^= 0x80;
	ck_assert_int_eq(ff_hello_check(b, sizeof(h), other, &match), FF_HELLO_YES);
	ck_assert_int_eq(match, 0);
	/* a change in any magic/version byte is NO, even in a short prefix */
	for (size_t i = 0; i < 10; i++) {
		uint8_t c[FF_HELLO_SIZE];

		memcpy(c, b, sizeof(c));
		c[i] ^= 0x20;
		ck_assert_int_eq(ff_hello_check(c, sizeof(c), rid, &match), FF_HELLO_NO);
		ck_assert_int_eq(ff_hello_check(c, i + 1, rid, &match), FF_HELLO_NO);
	}
	/* ordinary application bytes */
	ck_assert_int_eq(ff_hello_check("GET / HTTP/1.1\r\n", 16, rid, &match), FF_HELLO_NO);
	ck_assert_int_eq(ff_hello_check("F", 1, rid, &match), FF_HELLO_PARTIAL);
	/* flags must be zero; the connection key is carried as it is */
	b[12] = 0x2a;
	ck_assert_int_eq(ff_hello_check(b, FF_HELLO_SIZE, rid, &match), FF_HELLO_YES);
	ck_assert_uint_eq(ff_hello_conn_key(b), 0x2a);
	b[10] = 1;
	ck_assert_int_eq(ff_hello_check(b, FF_HELLO_SIZE, rid, &match), FF_HELLO_NO);
	ck_assert_int_eq(ff_hello_check(b, FF_HELLO_SIZE, rid, NULL), FF_HELLO_NO);
}
END_TEST

START_TEST(test_inline)
{
	struct ff_inline_hdr h;
	uint8_t b[16];
	size_t hl = 0;
	uint64_t pl = 0;

	ff_inline_encode(&h, 12345);
	memcpy(b, &h, sizeof(h));
	ck_assert_uint_eq(b[0], FF_FRAME_INLINE);
	ck_assert_uint_eq(b[4] | b[5] << 8, 12345);
	ck_assert_int_eq(ff_frame_decode(b, 8, 0, 0, &hl, &pl, NULL), FF_FRAME_INLINE);
	ck_assert_uint_eq(hl, FF_INLINE_HDR);
	ck_assert_uint_eq(pl, 12345);
	for (size_t n = 0; n < FF_INLINE_HDR; n++)
		ck_assert_int_eq(ff_frame_decode(b, n, 0, 0, &hl, &pl, NULL), 0);
	ff_inline_encode(&h, FF_INLINE_MAX);
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), FF_FRAME_INLINE);
	ff_inline_encode(&h, FF_INLINE_MAX + 1);
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), -1);
	ff_inline_encode(&h, 0);
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), -1);
	ff_inline_encode(&h, 1);
	h.flags = 1;
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), -1);
}
END_TEST

START_TEST(test_urgent)
{
	struct ff_inline_hdr h;
	size_t hl = 0;
	uint64_t pl = 1;

	ff_urgent_encode(&h);
	ck_assert_uint_eq(((uint8_t *)&h)[0], FF_FRAME_URGENT);
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), FF_FRAME_URGENT);
	ck_assert_uint_eq(hl, FF_INLINE_HDR);
	ck_assert_uint_eq(pl, 0);
	for (size_t n = 1; n < FF_INLINE_HDR; n++)
		ck_assert_int_eq(ff_frame_decode(&h, n, 0, 0, &hl, &pl, NULL), 0);
	h.len = 1;                   /* carries nothing itself */
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), -1);
	ff_urgent_encode(&h);
	h.flags = 2;
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), -1);
	ff_urgent_encode(&h);
	h.reserved = 1;
	ck_assert_int_eq(ff_frame_decode(&h, 8, 0, 0, &hl, &pl, NULL), -1);
}
END_TEST

static int decode_db(const uint8_t d[FF_DOORBELL_SIZE], struct ff_doorbell *out)
{
	size_t hl = 0;
	uint64_t pl = 0;
	int rc = ff_frame_decode(d, FF_DOORBELL_SIZE, 1 << 20, 100, &hl, &pl, out);

	if (rc == FF_FRAME_DOORBELL) {
		ck_assert_uint_eq(hl, FF_DOORBELL_SIZE);
		ck_assert_uint_eq(pl, out->len);
	}
	return rc;
}

START_TEST(test_doorbell)
{
	struct ff_doorbell o;
	uint8_t d[FF_DOORBELL_SIZE], b[FF_DOORBELL_SIZE];
	size_t hl;
	uint64_t pl;

	ff_doorbell_encode(d, 99, 0x3fffffff, 4096, (1 << 20) - 4096);
	memcpy(b, d, sizeof(d));
	ck_assert_uint_eq(b[0], FF_FRAME_DOORBELL);
	ck_assert_uint_eq(b[4], 99);
	ck_assert_int_eq(decode_db(d, &o), FF_FRAME_DOORBELL);
	ck_assert_uint_eq(o.slot, 99);
	ck_assert_uint_eq(o.gen, 0x3fffffff);
	ck_assert_uint_eq(o.offset, 4096);
	ck_assert_uint_eq(o.len, (1 << 20) - 4096);
	ck_assert_uint_eq(ff_doorbell_checksum((const struct ff_doorbell *)d), b[2] | b[3] << 8);
	for (size_t i = FF_DOORBELL_BODY; i < FF_DOORBELL_SIZE; i++)
		ck_assert_uint_eq(b[i], 0);        /* the padding is zeros */
	for (size_t n = 0; n < FF_DOORBELL_SIZE; n++)
		ck_assert_int_eq(ff_frame_decode(b, n, 1 << 20, 100, &hl, &pl, NULL), 0);

	/* whole slot, first slot */
	ff_doorbell_encode(d, 0, 0, 0, 1 << 20);
	ck_assert_int_eq(decode_db(d, &o), FF_FRAME_DOORBELL);
	ck_assert_uint_eq(o.flags, 0);

	/* a run's doorbell carries its flag; any other flag is refused */
	ff_doorbell_encode_flags(d, 3, 5, 0, 64, FF_DB_RUN);
	ck_assert_int_eq(decode_db(d, &o), FF_FRAME_DOORBELL);
	ck_assert_uint_eq(o.flags, FF_DB_RUN);
	ck_assert_uint_eq(o.len, 64);
	for (unsigned f = 2; f < 256; f++) {
		ff_doorbell_encode_flags(d, 3, 5, 0, 64, (uint8_t)f);
		ck_assert_msg(decode_db(d, &o) == -1, "flags %u", f);
	}

	/* any single flipped bit is caught (by the checksum or by a field check) */
	ff_doorbell_encode(d, 7, 3, 100, 200);
	for (unsigned bit = 0; bit < 8 * FF_DOORBELL_SIZE; bit++) {   /* padding bits too */
		memcpy(b, d, sizeof(d));
		b[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		ck_assert_msg(ff_frame_decode(b, sizeof(b), 1 << 20, 100, &hl, &pl, NULL) == -1,
			      "bit %u", bit);
	}
}
END_TEST

START_TEST(test_doorbell_ranges)
{
	struct ff_doorbell o;
	uint8_t d[FF_DOORBELL_SIZE];

	ff_doorbell_encode(d, 100, 1, 0, 10);          /* slot == slot_count */
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 0xffffffff, 1, 0, 10);
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 1, 1 << 20, 1);       /* offset at the end */
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 1, 1, 1 << 20);       /* one byte beyond the slot */
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 1, 0, (1 << 20) + 1);
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 1, 10, 0);            /* empty */
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 1, UINT64_MAX - 5, 10);   /* offset + len wraps */
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 1, 16, UINT64_MAX);
	ck_assert_int_eq(decode_db(d, &o), -1);
	ff_doorbell_encode(d, 1, 0x40000000, 0, 10);   /* generation beyond 30 bits */
	ck_assert_int_eq(decode_db(d, &o), -1);
	/* a region larger than 4 GiB: 64-bit offsets in a huge slot */
	ff_doorbell_encode(d, 1, 1, 5ULL << 30, 1ULL << 30);
	size_t hl;
	uint64_t pl;

	ck_assert_int_eq(ff_frame_decode(d, sizeof(d), 8ULL << 30, 2, &hl, &pl, &o),
			 FF_FRAME_DOORBELL);
	ck_assert_uint_eq(o.offset, 5ULL << 30);
	ck_assert_uint_eq(pl, 1ULL << 30);
}
END_TEST

START_TEST(test_bad_types)
{
	uint8_t b[FF_FRAME_PEEK] = { 0 };
	size_t hl;
	uint64_t pl;

	for (int t = 0; t < 256; t++) {
		if (t == FF_FRAME_INLINE || t == FF_FRAME_DOORBELL || t == FF_FRAME_URGENT)
			continue;
		b[0] = (uint8_t)t;
		ck_assert_int_eq(ff_frame_decode(b, 1, 1 << 20, 10, &hl, &pl, NULL), -1);
		ck_assert_int_eq(ff_frame_decode(b, sizeof(b), 1 << 20, 10, &hl, &pl, NULL), -1);
	}
	ck_assert_int_eq(ff_frame_decode(b, 0, 1 << 20, 10, &hl, &pl, NULL), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tu_tcase("frame");

	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_inline);
	tcase_add_test(tc, test_urgent);
	tcase_add_test(tc, test_doorbell);
	tcase_add_test(tc, test_doorbell_ranges);
	tcase_add_test(tc, test_bad_types);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
