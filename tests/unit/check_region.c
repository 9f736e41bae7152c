/* Region: layout math, create, re-attach, refusals, open verification, validity checks. */
#include "testutil.h"

#include <sys/mman.h>

#include "pairs.h"
#include "region.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static char err[1024];

START_TEST(test_layout)
{
	uint64_t n, meta, slots;

	/* 1 GiB of 1 MiB slots: header, one 64 KiB table, the 512 KiB pair table, then 1023
	 * slots fit */
	ck_assert_uint_eq(ff_region_pairs(GIB), 8192);
	ck_assert_uint_eq(ff_region_pairs(MIB), 64);
	ck_assert_uint_eq(ff_region_pairs(128 * MIB), 2048);
	ck_assert_int_eq(ff_region_layout(GIB, MIB, &n, &meta, &slots), 0);
	ck_assert_uint_eq(meta, 4096);
	ck_assert_uint_eq(n, 1023);
	ck_assert_uint_eq(slots, 4096 + 65536 + 524288);
	ck_assert(slots + n * MIB <= GIB - 4096);   /* the tail page is not a slot's */
	ck_assert(slots + (n + 1) * MIB > GIB - 4096);
	ck_assert_uint_eq(slots % 4096, 0);
	ck_assert(meta + n * FF_SLOT_META_SIZE <= slots);

	/* exactly header + one table page + one page of pairs + one slot + the tail page */
	ck_assert_int_eq(ff_region_layout(12288 + 4096 + 4096, 4096, &n, &meta, &slots), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(slots, 12288);
	ck_assert_int_eq(ff_region_layout(12288 + 4096 + 4095, 4096, &n, &meta, &slots), -1);
	ck_assert_int_eq(ff_region_layout(MIB, 2 * MIB, &n, &meta, &slots), -1);
	ck_assert_int_eq(ff_region_layout(MIB, 0, &n, &meta, &slots), -1);

	/* every size from small to large gives a fitting, maximal layout */
	for (uint64_t size = 12288; size < 3 * MIB; size += 4096 * 7 + 123) {
		if (ff_region_layout(size, 4096, &n, &meta, &slots))
			continue;
		ck_assert(slots + n * 4096 <= size - 4096);
		ck_assert(n * 64 <= slots - meta);
		uint64_t n2 = n + 1, t = 4096 + ((n2 * 64 + 4095) & ~4095ULL) + 4096;

		ck_assert(t + n2 * 4096 > size - 4096);
	}

	/* more than 4 GiB: 64-bit offsets */
	ck_assert_int_eq(ff_region_layout(5 * GIB, MIB, &n, &meta, &slots), 0);
	ck_assert_uint_eq(n, 5119);
	ck_assert(slots + (n - 1) * MIB > 4 * GIB);
	ck_assert_int_eq(ff_region_layout(1ULL << 50, 4096, &n, &meta, &slots), 0);
	ck_assert(slots + n * 4096 <= (1ULL << 50) - 4096);
}
END_TEST

static void create(struct ff_region *r, const char *path, uint64_t size, uint64_t slot,
		   bool *re)
{
	ck_assert_msg(ff_region_create_or_attach(r, path, size, slot, 0640, "default", re, err,
						 sizeof(err)) == 0, "create: %s", err);
}

START_TEST(test_create_and_reattach)
{
	const char *path = tu_path("a/b/shm");
	struct ff_region r, r2;
	uint8_t id[16], zero[16] = { 0 };
	struct stat st;
	bool re = true;

	umask(077);
	create(&r, path, 4 * MIB, 64 << 10, &re);
	ck_assert(!re);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);          /* mode applied despite umask */
	ck_assert_uint_eq((uint64_t)st.st_size, 4 * MIB);
	ck_assert_uint_eq(r.hdr->magic, FF_REGION_MAGIC);
	ck_assert_uint_eq(r.hdr->layout_version, FF_REGION_VERSION);
	ck_assert_uint_eq(r.hdr->header_size, FF_REGION_HDR_SIZE);
	ck_assert_uint_eq(r.hdr->slot_size, 64 << 10);
	ck_assert_uint_eq(atomic_load(&r.hdr->enabled), 1);
	ck_assert_str_eq(r.hdr->tenant, "default");
	ck_assert(memcmp(r.hdr->region_id, zero, 16) != 0);
	for (uint64_t i = 0; i < r.hdr->slot_count; i++) {
		ck_assert_uint_eq(atomic_load(&r.meta[i].word), FF_SLOT_WORD(0, FF_SLOT_FREE));
		ck_assert_uint_eq(atomic_load(&r.meta[i].owner), 0);
	}
	memcpy(id, r.hdr->region_id, 16);
	ff_counter_add(&r.hdr->c.region_bytes, 12345);
	atomic_store(&r.hdr->enabled, 0);
	memset(ff_slot_ptr(&r, r.hdr->slot_count - 1), 0x5a, 64 << 10);
	ff_region_close(&r);

	create(&r2, path, 4 * MIB, 64 << 10, &re);
	ck_assert(re);
	ck_assert(!memcmp(r2.hdr->region_id, id, 16));
	ck_assert_uint_eq(atomic_load(&r2.hdr->c.region_bytes), 12345);
	ck_assert_uint_eq(atomic_load(&r2.hdr->enabled), 0);
	ck_assert_uint_eq(ff_slot_ptr(&r2, r2.hdr->slot_count - 1)[100], 0x5a);
	ff_region_close(&r2);

	/* a second region gets another id */
	create(&r2, tu_path("other"), 4 * MIB, 64 << 10, &re);
	ck_assert(memcmp(r2.hdr->region_id, id, 16) != 0);
	ff_region_close(&r2);
}
END_TEST

static void refused(const char *path, uint64_t size, uint64_t slot, const char *tenant,
		    const char *want)
{
	struct ff_region r;
	bool re;

	ck_assert_int_eq(ff_region_create_or_attach(&r, path, size, slot, 0600, tenant, &re, err,
						    sizeof(err)), -1);
	ck_assert_msg(strstr(err, want), "'%s' lacks '%s'", err, want);
	ck_assert_ptr_null(r.base);
}

START_TEST(test_refuse_incompatible)
{
	const char *path = tu_path("shm");
	char want[600];
	struct ff_region r;
	bool re;

	create(&r, path, 4 * MIB, MIB, &re);
	ff_region_close(&r);
	snprintf(want, sizeof(want), "region %s has slot size 1048576 but SLOT_SIZE is 65536: "
		 "remove the file or set SLOT_SIZE = 1M", path);
	refused(path, 4 * MIB, 64 << 10, "default", want);
	snprintf(want, sizeof(want), "region %s has size 4194304 (4M) but SHM_SIZE is 8M: "
		 "remove the file or set SHM_SIZE = 4M", path);
	refused(path, 8 * MIB, MIB, "default", want);
	refused(path, 4 * MIB, MIB, "blue", "belongs to tenant 'default' but TENANT is 'blue'");
	/* the refused attempts did not damage the region */
	create(&r, path, 4 * MIB, MIB, &re);
	ck_assert(re);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_refuse_garbage)
{
	const char *path = tu_path("garbage");
	char buf[8192];

	memset(buf, 'x', sizeof(buf));
	tu_write_file(path, "hello, this is not a region\n");
	refused(path, 4 * MIB, MIB, NULL, "is not a faasflow region");
	int fd = open(path, O_WRONLY | O_TRUNC);

	ck_assert_int_eq(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	refused(path, 4 * MIB, MIB, NULL, "bad magic");
	/* the garbage is left as it was */
	ck_assert_uint_eq(tu_read_file(path, buf, sizeof(buf)), sizeof(buf) - 1);
	mkdir(tu_path("dir"), 0700);
	refused(tu_path("dir"), 4 * MIB, MIB, NULL, "Is a directory");
	refused(path, 4 * MIB, 3000, NULL, "cannot hold one slot of SLOT_SIZE = 3000");
	refused(path, 8192, 4096, NULL, "raise SHM_SIZE or lower SLOT_SIZE");
	ck_assert_int_eq(symlink(tu_path("nothere"), tu_path("link")), 0);
	refused(tu_path("link"), 4 * MIB, MIB, NULL, "symbolic link");
}
END_TEST

START_TEST(test_init_empty_and_zeroed)
{
	const char *path = tu_path("zero");
	struct ff_region r;
	bool re = true;
	int fd;

	/* an empty file, as `touch` leaves it */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	create(&r, path, 2 * MIB, 64 << 10, &re);
	ck_assert(!re);
	ff_region_close(&r);
	/* an operator's `truncate -s 3M` of a fresh file */
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_eq(ftruncate(fd, 3 * MIB), 0);
	close(fd);
	create(&r, path, 2 * MIB, 64 << 10, &re);
	ck_assert(!re);
	ck_assert_uint_eq(r.hdr->region_size, 2 * MIB);
	ck_assert(ff_region_still_valid(&r, path));
	ff_region_close(&r);
}
END_TEST

START_TEST(test_not_enough_memory)
{
	uint64_t avail = ff_mem_available(), want;
	struct ff_region r;
	bool re;

	if (!avail) {
		printf("check_region: /proc/meminfo has no MemAvailable; skipped\n");
		return;
	}
	want = ((avail >> 30) + 4) << 30;
	ck_assert_int_eq(ff_region_create_or_attach(&r, tu_path("big"), want, MIB, 0600, NULL,
						    &re, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_msg(strstr(err, "not enough memory for SHM_SIZE = "), "%s", err);
	ck_assert_msg(strstr(err, "M available; lower SHM_SIZE (e.g. SHM_SIZE = "), "%s", err);
	/* nothing was allocated for the refused region */
	struct stat st;

	if (stat(tu_path("big"), &st) == 0)
		ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(test_big_region)
{
	const uint64_t size = 5 * GIB;
	const char *path = tu_path("big");
	struct ff_region r, r2;
	uint64_t last;
	bool re;

	if (ff_mem_available() < size) {
		printf("check_region: MemAvailable below 5 GiB; >4 GiB region case skipped\n");
		return;
	}
	create(&r, path, size, MIB, &re);
	last = r.hdr->slot_count - 1;
	ck_assert((uint64_t)(ff_slot_ptr(&r, last) - (uint8_t *)r.base) > 4 * GIB);
	memcpy(ff_slot_ptr(&r, last) + MIB - 8, "LASTSLOT", 8);
	memcpy(ff_slot_ptr(&r, 0), "FIRST", 5);
	ck_assert_msg(ff_region_open(&r2, path, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!memcmp(ff_slot_ptr(&r2, last) + MIB - 8, "LASTSLOT", 8));
	ck_assert(!memcmp(ff_slot_ptr(&r2, 0), "FIRST", 5));
	ck_assert_uint_eq(r2.size, size);
	ff_region_close(&r2);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_open_verifies)
{
	const char *path = tu_path("shm");
	struct ff_region r, o;
	struct ff_region_header h;
	bool re;
	int fd;

	create(&r, path, 4 * MIB, MIB, &re);
	ck_assert_msg(ff_region_open(&o, path, true, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!memcmp(o.hdr->region_id, r.hdr->region_id, 16));
	ck_assert_uint_eq(o.hdr->slot_count, r.hdr->slot_count);
	/* the two mappings share memory */
	ff_slot_ptr(&o, 1)[7] = 0x77;
	ck_assert_uint_eq(ff_slot_ptr(&r, 1)[7], 0x77);
	ff_region_close(&o);
	memcpy(&h, r.hdr, sizeof(h));
	ff_region_close(&r);

	ck_assert_int_eq(ff_region_open(&o, tu_path("none"), false, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "cannot open region"));

	/* truncated by someone: refused */
	fd = open(path, O_RDWR);
	ck_assert_int_eq(ftruncate(fd, 2 * MIB), 0);
	ck_assert_int_eq(ff_region_open(&o, path, false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "truncated or resized"), "%s", err);
	ck_assert_int_eq(ftruncate(fd, 100), 0);
	ck_assert_int_eq(ff_region_open(&o, path, false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "is truncated"), "%s", err);
	ck_assert_int_eq(ftruncate(fd, 4 * MIB), 0);

	/* forged headers that would point outside the file */
	struct ff_region_header bad;
	const char *msgs[] = { "inconsistent header", "inconsistent header",
			       "inconsistent header", "layout version", "bad magic" };
	for (int i = 0; i < 5; i++) {
		bad = h;
		switch (i) {
		case 0: bad.slot_count = h.slot_count + 1; break;
		case 1: bad.slots_offset = 4 * MIB; break;
		case 2: bad.slot_size = 3000; break;
		case 3: bad.layout_version = 99; break;
		case 4: bad.magic ^= 1; break;
		}
		ck_assert_int_eq(pwrite(fd, &bad, sizeof(bad), 0), sizeof(bad));
		ck_assert_int_eq(ff_region_open(&o, path, false, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, msgs[i]), "case %d: %s", i, err);
	}
	/* the header back, but the file was shrunk and grown again: its last page lost its mark
	 * (every page past the shrink is zeros: slots too), so it is refused */
	ck_assert_int_eq(pwrite(fd, &h, sizeof(h), 0), sizeof(h));
	ck_assert_int_eq(ff_region_open(&o, path, false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "lost the mark of its last page"), "%s", err);
	uint64_t tail = FF_REGION_TAIL_MAGIC;
	ck_assert_int_eq(pwrite(fd, &tail, sizeof(tail), 4 * MIB - 4096), sizeof(tail));
	ck_assert_msg(ff_region_open(&o, path, false, err, sizeof(err)) == 0, "%s", err);
	ff_region_close(&o);
	close(fd);
}
END_TEST

START_TEST(test_still_valid)
{
	const char *path = tu_path("shm");
	struct ff_region r, o;
	bool re;
	int fd;

	create(&r, path, 2 * MIB, 64 << 10, &re);
	ck_assert(ff_region_still_valid(&r, path));
	ck_assert(!ff_region_still_valid(&r, tu_path("elsewhere")));

	/* deleted */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert(!ff_region_still_valid(&r, path));
	ff_region_close(&r);
	ck_assert(!ff_region_still_valid(&r, path));

	/* replaced by a new region of the same size at the same path */
	create(&r, path, 2 * MIB, 64 << 10, &re);
	ck_assert_msg(ff_region_open(&o, path, true, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(rename(path, tu_path("old")), 0);
	ff_region_close(&r);
	create(&r, path, 2 * MIB, 64 << 10, &re);
	ck_assert(!ff_region_still_valid(&o, path));
	ck_assert(ff_region_still_valid(&r, path));
	ff_region_close(&o);

	/* truncated in place */
	ck_assert_msg(ff_region_open(&o, path, true, err, sizeof(err)) == 0, "%s", err);
	fd = open(path, O_RDWR);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	ck_assert(!ff_region_still_valid(&o, path));
	ck_assert(!ff_region_still_valid(&r, path));
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(ftruncate(fd, 2 * MIB), 0);
	close(fd);
	/* same size again but the magic is gone (zeroed by the truncate) */
	ck_assert(!ff_region_still_valid(&o, path));
	ff_region_close(&o);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_mem_available)
{
	uint64_t a = ff_mem_available();

	ck_assert(a > 0);
	ck_assert(a < (1ULL << 50));
}
END_TEST

/* An end says how its direction begins; a late word for an entry that went (and whose place
 * another connection took) never speaks for the new one. */
START_TEST(test_pair_tx)
{
	struct ff_region r;
	struct ff_tuple a = { .srv_port = 80, .cli_port = 40000 }, b = a;
	uint64_t ka, kb;
	int64_t ia, ib;
	bool re;

	a.srv[15] = 1;
	a.cli[15] = 2;
	b = a;
	b.cli_port = 40001;
	create(&r, tu_path("pairs"), 4 * MIB, 64 << 10, &re);
	ia = ff_pair_put(&r, &a, FF_PAIR_CLIENT, 7, 1, &ka);
	ck_assert_int_ge(ia, 0);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &a, FF_PAIR_CLIENT), FF_PAIR_TX_UNKNOWN);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &a, FF_PAIR_SERVER), FF_PAIR_TX_UNKNOWN);
	ff_pair_set_tx(&r, ia, ka, 1, FF_PAIR_TX_HELLO);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &a, FF_PAIR_CLIENT), FF_PAIR_TX_HELLO);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &b, FF_PAIR_CLIENT), FF_PAIR_TX_UNKNOWN);
	ff_pair_drop(&r, ia, ka);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &a, FF_PAIR_CLIENT), FF_PAIR_TX_UNKNOWN);

	/* the place is taken again (another connection, or the same one put anew): it says
	 * nothing until its own end does, whatever the gone entry's end writes late */
	ia = ff_pair_put(&r, &a, FF_PAIR_CLIENT, 7, 2, &ka);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &a, FF_PAIR_CLIENT), FF_PAIR_TX_UNKNOWN);
	ib = ff_pair_put(&r, &b, FF_PAIR_CLIENT, 8, 2, &kb);
	ff_pair_set_tx(&r, ib, kb, 1, FF_PAIR_TX_RAW);     /* an earlier entry's word */
	ck_assert_uint_eq(ff_pair_tx_of(&r, &b, FF_PAIR_CLIENT), FF_PAIR_TX_UNKNOWN);
	ff_pair_set_tx(&r, ib, kb, 2, FF_PAIR_TX_RAW);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &b, FF_PAIR_CLIENT), FF_PAIR_TX_RAW);
	ck_assert_uint_eq(ff_pair_tx_of(&r, &a, FF_PAIR_CLIENT), FF_PAIR_TX_UNKNOWN);

	/* an earlier connection's entry for the same addresses, left after a fork, says nothing
	 * for a new one; nor do two held entries (the same addresses in two namespaces) */
	{
		struct ff_tuple c3 = a;
		uint64_t kc, kd, ke;
		int64_t ic, id;

		c3.srv_port = 8080;
		ic = ff_pair_put(&r, &c3, FF_PAIR_SERVER, 9, 3, &kc);
		ff_pair_set_tx(&r, ic, kc, 3, FF_PAIR_TX_RAW);
		ck_assert_uint_eq(ff_pair_tx_of(&r, &c3, FF_PAIR_SERVER), FF_PAIR_TX_RAW);
		ff_pair_leave(&r, ic, kc, 4);
		ck_assert(ff_pair_seen(&r, &c3, FF_PAIR_SERVER));
		ck_assert_uint_eq(ff_pair_tx_of(&r, &c3, FF_PAIR_SERVER), FF_PAIR_TX_UNKNOWN);
		id = ff_pair_put(&r, &c3, FF_PAIR_SERVER, 10, 5, &kd);
		ck_assert_uint_eq(ff_pair_tx_of(&r, &c3, FF_PAIR_SERVER), FF_PAIR_TX_UNKNOWN);
		ff_pair_set_tx(&r, id, kd, 5, FF_PAIR_TX_HELLO);
		ck_assert_uint_eq(ff_pair_tx_of(&r, &c3, FF_PAIR_SERVER), FF_PAIR_TX_HELLO);
		ck_assert_int_ge(ff_pair_put(&r, &c3, FF_PAIR_SERVER, 11, 6, &ke), 0);
		ck_assert_uint_eq(ff_pair_tx_of(&r, &c3, FF_PAIR_SERVER), FF_PAIR_TX_UNKNOWN);
	}
	ff_region_close(&r);
}
END_TEST

static bool owner_live(uint32_t owner, void *arg)
{
	return owner == *(const uint32_t *)arg;
}

/* The entries that live processes hold name their ends as readers of the direction towards
 * them, by the key the writer at the other end puts in its slots. */
START_TEST(test_pair_reader_keys)
{
	struct ff_region r;
	struct ff_tuple a = { .srv_port = 80, .cli_port = 40000 };
	uint32_t keys[4], live = 7, to_srv, to_cli;
	uint64_t ka, kb;
	int64_t ia, ib;
	bool re;

	a.srv[15] = 1;
	a.cli[15] = 2;
	create(&r, tu_path("pairkeys"), 4 * MIB, 64 << 10, &re);
	to_srv = ff_dir_key(r.hdr->region_id, a.cli, a.cli_port, a.srv, a.srv_port);
	to_cli = ff_dir_key(r.hdr->region_id, a.srv, a.srv_port, a.cli, a.cli_port);
	ck_assert_uint_ne(to_srv, to_cli);
	ck_assert_uint_ne(to_srv, 0);
	ck_assert_uint_eq(ff_pair_reader_keys(&r, owner_live, &live, keys, 4), 0);
	ia = ff_pair_put(&r, &a, FF_PAIR_SERVER, 7, 1, &ka);
	ib = ff_pair_put(&r, &a, FF_PAIR_CLIENT, 8, 1, &kb);
	ck_assert_int_ge(ia, 0);
	ck_assert_int_ge(ib, 0);
	/* owner 8 is not live: only the server's end reads */
	ck_assert_uint_eq(ff_pair_reader_keys(&r, owner_live, &live, keys, 4), 1);
	ck_assert_uint_eq(keys[0], to_srv);
	live = 8;
	ck_assert_uint_eq(ff_pair_reader_keys(&r, owner_live, &live, keys, 4), 1);
	ck_assert_uint_eq(keys[0], to_cli);
	/* left after a fork (owner 0): names nobody; dropped: gone */
	ff_pair_leave(&r, ib, kb, 2);
	ck_assert_uint_eq(ff_pair_reader_keys(&r, owner_live, &live, keys, 4), 0);
	live = 7;
	ff_pair_drop(&r, ia, ka);
	ck_assert_uint_eq(ff_pair_reader_keys(&r, owner_live, &live, keys, 4), 0);
	/* more than fit: the count says so */
	for (uint16_t p = 1; p <= 6; p++) {
		struct ff_tuple t = a;
		uint64_t k;
		t.cli_port = p;
		ck_assert_int_ge(ff_pair_put(&r, &t, FF_PAIR_SERVER, 7, 3, &k), 0);
	}
	ck_assert_uint_eq(ff_pair_reader_keys(&r, owner_live, &live, keys, 4), 6);
	ff_region_close(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("region");
	TCase *tc = tu_tcase("region");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_create_and_reattach);
	tcase_add_test(tc, test_refuse_incompatible);
	tcase_add_test(tc, test_refuse_garbage);
	tcase_add_test(tc, test_init_empty_and_zeroed);
	tcase_add_test(tc, test_not_enough_memory);
	tcase_add_test(tc, test_big_region);
	tcase_add_test(tc, test_open_verifies);
	tcase_add_test(tc, test_still_valid);
	tcase_add_test(tc, test_mem_available);
	tcase_add_test(tc, test_pair_tx);
	tcase_add_test(tc, test_pair_reader_keys);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
