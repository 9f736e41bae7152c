/* The region file: create, re-attach, open and verify.
 *
 * Layout (64-bit offsets throughout):
 *   [0, 4096)                       header page (struct ff_region_header)
 *   [4096, pairs_offset)            slot table: slot_count * 64 bytes, rounded up to a page
 *   [pairs_offset, slots_offset)    pair table (pairs.h): pairs_count * 64 bytes, whole pages
 *   [slots_offset, + count * size)  the slots, page aligned
 *   [size - 4096, size)             the tail page: FF_REGION_TAIL_MAGIC (ff_region_tail_ok)
 *
 * The coordinator sizes the file and reserves all of it with fallocate(2) when it creates or
 * re-attaches it (reserve()): a sparse region on a tmpfs smaller than SHM_SIZE, or on a full
 * disk, let the write that first touched a missing page die of SIGBUS, in whichever
 * application that was. Reserved, no later write into the region can fault for want of
 * space; on tmpfs its pages are charged to the coordinator's memory cgroup, not to the first
 * function container that touches a slot, and a slot handed out is already allocated (its
 * first payload takes a minor fault, not a fresh page). A region that does not fit its
 * filesystem is refused at start with SHM_SIZE and the free space named. A filesystem that
 * cannot reserve (EOPNOTSUPP) keeps the region sparse, as before. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "region.h"
#include "sys.h"

#define PAGE 4096ULL

static uint64_t round_page(uint64_t v)
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

/* "1G", "512M", "64K" or "12345" */
static const char *fmt_size(uint64_t v, char *buf, size_t len)
{
	if (v && !(v & ((1ULL << 30) - 1)))
		snprintf(buf, len, "%lluG", (unsigned long long)(v >> 30));
	else if (v && !(v & ((1ULL << 20) - 1)))
		snprintf(buf, len, "%lluM", (unsigned long long)(v >> 20));
	else if (v && !(v & ((1ULL << 10) - 1)))
		snprintf(buf, len, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

uint64_t ff_region_pairs(uint64_t size)
{
	uint64_t n = 64;

	while (n < 8192 && n * 2 <= size / (64 * 1024))
		n *= 2;
	return n;
}

int ff_region_layout(uint64_t size, uint64_t slot_size, uint64_t *slot_count,
		     uint64_t *meta_offset, uint64_t *slots_offset)
{
	uint64_t n, off, pairs;

	pairs = ff_region_pairs(size) * FF_PAIR_SIZE;
	if (!slot_size || size < 3 * PAGE + pairs)
		return -1;
	size -= PAGE;          /* the tail page */
	n = (size - PAGE - pairs) / (slot_size + FF_SLOT_META_SIZE);
	if (n > UINT32_MAX)
		n = UINT32_MAX;    /* slot numbers travel as 32-bit */
	for (; n > 0; n--) {
		off = PAGE + round_page(n * FF_SLOT_META_SIZE) + pairs;
		if (off <= size && n <= (size - off) / slot_size)
			break;
	}
	if (!n)
		return -1;
	*slot_count = n;
	*meta_offset = PAGE;
	*slots_offset = PAGE + round_page(n * FF_SLOT_META_SIZE) + pairs;
	return 0;
}

uint64_t ff_mem_available(void)
{
	char buf[4096], *p;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (got < sizeof(buf) - 1) {
		n = ff_sys_read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ff_sys_close(fd);
	buf[got] = '\0';
	p = strstr(buf, "MemAvailable:");
	if (!p)
		return 0;
	return strtoull(p + strlen("MemAvailable:"), NULL, 10) * 1024ULL;
}

/* Never trust a header: every field is checked against the file and against each other. */
static int check_header(const struct ff_region_header *h, uint64_t file_size, const char *path,
			char *err, size_t errlen)
{
	uint64_t table_end, slots_bytes;

	if (h->magic != FF_REGION_MAGIC) {
		snprintf(err, errlen, "%s is not a faasflow region (bad magic): remove the file "
			 "or choose another SHM_FILE_PATH", path);
		return -1;
	}
	if (h->layout_version != FF_REGION_VERSION || h->header_size != FF_REGION_HDR_SIZE) {
		snprintf(err, errlen, "region %s has layout version %u (header %u bytes); this "
			 "build uses version %u: stop its users and remove the file", path,
			 h->layout_version, h->header_size, FF_REGION_VERSION);
		errno = EPROTO;      /* (the coordinator replaces such a file) */
		return -1;
	}
	if (h->region_size != file_size) {
		snprintf(err, errlen, "region %s is %llu bytes but its header says %llu "
			 "(truncated or resized): remove the file and restart faasflowd", path,
			 (unsigned long long)file_size, (unsigned long long)h->region_size);
		return -1;
	}
	if (!h->slot_size || (h->slot_size & (h->slot_size - 1)) || !h->slot_count ||
	    h->slot_count > UINT32_MAX || h->meta_offset < FF_REGION_HDR_SIZE ||
	    h->slots_offset % PAGE || h->slot_count > (UINT64_MAX - h->meta_offset) /
	    FF_SLOT_META_SIZE)
		goto bad;
	table_end = h->meta_offset + h->slot_count * FF_SLOT_META_SIZE;
	if (h->pairs_count < 64 || h->pairs_count > 8192 ||
	    (h->pairs_count & (h->pairs_count - 1)) || h->pairs_offset < table_end ||
	    h->pairs_offset % PAGE || h->pairs_offset > h->slots_offset ||
	    h->pairs_count * FF_PAIR_SIZE > h->slots_offset - h->pairs_offset)
		goto bad;
	if (table_end > h->slots_offset || h->slots_offset > file_size ||
	    h->slot_count > (file_size - h->slots_offset) / h->slot_size)
		goto bad;
	slots_bytes = h->slot_count * h->slot_size;
	if (file_size < PAGE || h->slots_offset + slots_bytes > file_size - PAGE)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "region %s has an inconsistent header (slot size %llu, %llu slots "
		 "at offset %llu, table at %llu, size %llu): remove the file and restart faasflowd",
		 path, (unsigned long long)h->slot_size, (unsigned long long)h->slot_count,
		 (unsigned long long)h->slots_offset, (unsigned long long)h->meta_offset,
		 (unsigned long long)file_size);
	return -1;
}

static int map_region(struct ff_region *r, int fd, uint64_t size, bool writable, const char *path,
		      char *err, size_t errlen)
{
	void *base;

	base = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "cannot map region %s (%llu bytes): %s", path,
			 (unsigned long long)size, ff_strerror(errno));
		return -1;
	}
	r->fd = fd;
	r->base = base;
	r->size = size;
	r->hdr = base;
	r->meta = (struct ff_slot_meta *)((uint8_t *)base + r->hdr->meta_offset);
	r->slots = (uint8_t *)base + r->hdr->slots_offset;
	return 0;
}

static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (uint8_t *)buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int ff_region_open(struct ff_region *r, const char *path, bool writable, char *err, size_t errlen)
{
	struct ff_region_header h;
	struct stat st;
	int fd, saved;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		if (saved == EACCES || saved == EPERM)
			snprintf(err, errlen, "cannot open region %s: %s (this process runs as uid %u, "
				 "gid %u): give it access with `sudo chown :%u %s && sudo chmod 0660 %s`, "
				 "or set OWNER / SHM_FILE_MODE (or TENANT_OWNERS) in faasflow.conf and "
				 "restart faasflowd", path, ff_strerror(saved), (unsigned)geteuid(),
				 (unsigned)getegid(), (unsigned)getegid(), path, path);
		else
			snprintf(err, errlen, "cannot open region %s: %s", path, ff_strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "region %s is not a regular file", path);
		goto bad;
	}
	if ((uint64_t)st.st_size < FF_REGION_HDR_SIZE ||
	    pread_full(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "region %s is truncated (%lld bytes): remove the file and "
			 "restart faasflowd", path, (long long)st.st_size);
		goto bad;
	}
	if (check_header(&h, (uint64_t)st.st_size, path, err, errlen))
		goto bad;
	if (map_region(r, fd, (uint64_t)st.st_size, writable, path, err, errlen))
		goto bad;
	/* the mapping, not the earlier read, is what we use: check it again */
	if (check_header(r->hdr, (uint64_t)st.st_size, path, err, errlen) ||
	    (!ff_region_tail_ok(r) &&
	     snprintf(err, errlen, "region %s lost the mark of its last page (shrunk and grown "
		      "again while in use): faasflowd replaces it within a tick", path))) {
		munmap(r->base, r->size);
		memset(r, 0, sizeof(*r));
		r->fd = -1;
		goto bad;
	}
	return 0;
bad:
	ff_sys_close(fd);
	errno = EINVAL;
	return -1;
}

bool ff_region_still_valid(const struct ff_region *r, const char *path)
{
	struct stat fst, pst;

	if (!r || !r->base || r->fd < 0)
		return false;
	if (fstat(r->fd, &fst) || stat(path, &pst))
		return false;
	if (fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino || fst.st_nlink == 0)
		return false;
	/* size first: touching a truncated mapping would raise SIGBUS */
	if ((uint64_t)fst.st_size != r->size)
		return false;
	return __atomic_load_n(&r->hdr->magic, __ATOMIC_ACQUIRE) == FF_REGION_MAGIC &&
	       ff_region_tail_ok(r);
}

void ff_region_close(struct ff_region *r)
{
	int saved = errno;

	if (r->base)
		munmap(r->base, r->size);
	if (r->fd >= 0)
		ff_sys_close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	errno = saved;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int mkdir_parents(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	char *p;

	if (strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "region path %s is too long", path);
		return -1;
	}
	strcpy(dir, path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create directory %s for the region: %s", dir,
				 ff_strerror(errno));
			return -1;
		}
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

static void fill_random(uint8_t *id, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = getrandom(id + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len) {
		/* no getrandom: still unique enough to tell regions apart */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		for (size_t i = got; i < len; i++)
			id[i] = (uint8_t)((uint64_t)ts.tv_nsec >> (i % 4 * 8)) ^
				(uint8_t)(getpid() >> (i % 2 * 8)) ^ (uint8_t)i;
	}
}

/* Compare an existing header with what the configuration asks for. */
static int check_compatible(const struct ff_region_header *h, uint64_t file_size,
			    const char *path, uint64_t size, uint64_t slot_size, const char *tenant,
			    char *err, size_t errlen)
{
	char a[32], b[32];

	if (check_header(h, file_size, path, err, errlen))
		return -1;
	if (h->region_size != size) {
		snprintf(err, errlen, "region %s has size %llu (%s) but SHM_SIZE is %s: remove "
			 "the file or set SHM_SIZE = %s", path, (unsigned long long)h->region_size,
			 fmt_size(h->region_size, a, sizeof(a)), fmt_size(size, b, sizeof(b)), a);
		return -1;
	}
	if (h->slot_size != slot_size) {
		snprintf(err, errlen, "region %s has slot size %llu but SLOT_SIZE is %llu: remove "
			 "the file or set SLOT_SIZE = %s", path, (unsigned long long)h->slot_size,
			 (unsigned long long)slot_size, fmt_size(h->slot_size, a, sizeof(a)));
		return -1;
	}
	if (tenant && *tenant && h->tenant[0] &&
	    strncmp(h->tenant, tenant, sizeof(h->tenant))) {
		snprintf(err, errlen, "region %s belongs to tenant '%.63s' but TENANT is '%s': "
			 "remove the file or use another SHM_FILE_PATH", path, h->tenant, tenant);
		return -1;
	}
	return 0;
}

static int check_memory(uint64_t size, char *err, size_t errlen)
{
	uint64_t avail = ff_mem_available(), hint = FF_REGION_HDR_SIZE;
	char a[32], b[32];

	if (!avail || size <= avail)
		return 0;      /* 0: /proc/meminfo unreadable, nothing to compare */
	while (hint * 2 <= avail)
		hint *= 2;
	if (hint >= (1ULL << 20))
		snprintf(err, errlen, "not enough memory for SHM_SIZE = %s: %lluM available; lower "
			 "SHM_SIZE (e.g. SHM_SIZE = %s)", fmt_size(size, a, sizeof(a)),
			 (unsigned long long)(avail >> 20), fmt_size(hint, b, sizeof(b)));
	else
		snprintf(err, errlen, "not enough memory for SHM_SIZE = %s: %lluK available; "
			 "free memory first", fmt_size(size, a, sizeof(a)),
			 (unsigned long long)(avail >> 10));
	errno = ENOMEM;
	return -1;
}

static int reserve(int fd, const char *path, uint64_t size, char *err, size_t errlen)
{
	struct statvfs fs;
	char a[32], b[32], c[32];
	int rc, e;

	do
		rc = fallocate(fd, 0, 0, (off_t)size);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return 0;
	e = errno;
	if (e == EOPNOTSUPP || e == ENOSYS)
		return 0;
	if (e == ENOSPC && fstatvfs(fd, &fs) == 0)
		snprintf(err, errlen, "region %s: SHM_SIZE = %s does not fit its filesystem (%s "
			 "free of %s): lower SHM_SIZE, or give the filesystem room (a tmpfs: "
			 "mount -o remount,size=...)", path, fmt_size(size, a, sizeof(a)),
			 fmt_size((uint64_t)fs.f_bavail * fs.f_frsize, b, sizeof(b)),
			 fmt_size((uint64_t)fs.f_blocks * fs.f_frsize, c, sizeof(c)));
	else
		snprintf(err, errlen, "cannot reserve the %s of region %s (SHM_SIZE): %s",
			 fmt_size(size, a, sizeof(a)), path, ff_strerror(e));
	errno = e;
	return -1;
}

static int init_region(struct ff_region *r, int fd, const char *path, uint64_t size,
		       uint64_t slot_size, unsigned mode, const char *tenant, char *err,
		       size_t errlen)
{
	uint64_t count, meta, slots;
	struct ff_region_header *h;

	if (check_memory(size, err, errlen))
		return -1;
	ff_region_layout(size, slot_size, &count, &meta, &slots);
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)size)) {
		snprintf(err, errlen, "cannot size region %s to %llu bytes: %s", path,
			 (unsigned long long)size, ff_strerror(errno));
		return -1;
	}
	if (reserve(fd, path, size, err, errlen)) {
		int e = errno;
		if (ftruncate(fd, 0) < 0) { /* give back what the attempt took */
			/* (the reservation's error is the one to report) */
		}
		errno = e;
		return -1;
	}
	if (fchmod(fd, mode & 0777)) {
		snprintf(err, errlen, "cannot set mode %04o on region %s: %s", mode & 0777, path,
			 ff_strerror(errno));
		return -1;
	}
	r->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		snprintf(err, errlen, "cannot map region %s (%llu bytes): %s", path,
			 (unsigned long long)size, ff_strerror(errno));
		return -1;
	}
	/* ftruncate(0) above zeroed every slot meta: all FREE, generation 0 */
	h = r->base;
	h->layout_version = FF_REGION_VERSION;
	h->header_size = FF_REGION_HDR_SIZE;
	fill_random(h->region_id, sizeof(h->region_id));
	h->region_size = size;
	h->slot_size = slot_size;
	h->slot_count = count;
	h->meta_offset = meta;
	h->slots_offset = slots;
	h->pairs_count = ff_region_pairs(size);
	h->pairs_offset = slots - h->pairs_count * FF_PAIR_SIZE;
	h->created_unix = (uint64_t)time(NULL);
	atomic_store(&h->enabled, 1);
	__atomic_store_n((uint64_t *)((uint8_t *)r->base + size - PAGE), FF_REGION_TAIL_MAGIC,
			 __ATOMIC_RELAXED);
	snprintf(h->tenant, sizeof(h->tenant), "%s", tenant ? tenant : "");
	/* magic last: an opener that sees it sees a whole header */
	__atomic_store_n(&h->magic, FF_REGION_MAGIC, __ATOMIC_RELEASE);
	r->fd = fd;
	r->size = size;
	r->hdr = h;
	r->meta = (struct ff_slot_meta *)((uint8_t *)r->base + meta);
	r->slots = (uint8_t *)r->base + slots;
	return 0;
}

/* Decide between initialise (1), re-attach (0) and refuse (-1). */
static int classify(int fd, const struct stat *st, const char *path, uint64_t size,
		    uint64_t slot_size, const char *tenant, char *err, size_t errlen)
{
	struct ff_region_header h;
	size_t want = sizeof(h);
	ssize_t n;

	if (st->st_size == 0)
		return 1;
	if ((uint64_t)st->st_size < want)
		want = (size_t)st->st_size;
	n = pread_full(fd, &h, want, 0);
	if (n != (ssize_t)want) {
		snprintf(err, errlen, "cannot read region %s: %s", path, ff_strerror(errno));
		return -1;
	}
	if (all_zero(&h, want))
		return 1;      /* empty, or made by `truncate -s`: ours to initialise */
	if (want < sizeof(h)) {
		snprintf(err, errlen, "%s is not a faasflow region (%lld bytes of other data): "
			 "remove the file or choose another SHM_FILE_PATH", path,
			 (long long)st->st_size);
		return -1;
	}
	return check_compatible(&h, (uint64_t)st->st_size, path, size, slot_size, tenant, err,
				errlen);
}

int ff_region_create_or_attach(struct ff_region *r, const char *path, uint64_t size,
			       uint64_t slot_size, unsigned mode, const char *tenant,
			       bool *reattached, char *err, size_t errlen)
{
	uint64_t count, meta, slots;
	struct stat st;
	int fd = -1, rc = -1, kind, saved = EINVAL;
	char a[32], b[32];

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	*reattached = false;
	if (!slot_size || (slot_size & (slot_size - 1)) ||
	    ff_region_layout(size, slot_size, &count, &meta, &slots)) {
		snprintf(err, errlen, "SHM_SIZE = %s cannot hold one slot of SLOT_SIZE = %s (a "
			 "power of two, plus one header and one table page): raise SHM_SIZE or "
			 "lower SLOT_SIZE", fmt_size(size, a, sizeof(a)),
			 fmt_size(slot_size, b, sizeof(b)));
		goto out;
	}
	if (mkdir_parents(path, err, errlen))
		goto out_errno;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode & 0777);
	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "cannot open region %s: %s%s", path, ff_strerror(saved),
			 saved == ELOOP ? " (a symbolic link is not accepted: point "
			 "SHM_FILE_PATH at the file itself)" : "");
		goto out;
	}
	/* two coordinators starting at once must not both initialise */
	if (flock(fd, LOCK_EX) || fstat(fd, &st))
		goto out_errno_msg;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "region %s is not a regular file", path);
		goto out;
	}
	errno = 0;
	kind = classify(fd, &st, path, size, slot_size, tenant, err, errlen);
	if (kind < 0) {
		if (errno == EPROTO)
			saved = EPROTO;
		goto out;
	}
	if (kind == 1) {
		if (init_region(r, fd, path, size, slot_size, mode, tenant, err, errlen))
			goto out_errno;
	} else {
		if (reserve(fd, path, size, err, errlen) ||
		    map_region(r, fd, size, true, path, err, errlen))
			goto out_errno;
		if (!ff_region_tail_ok(r)) {
			snprintf(err, errlen, "region %s lost the mark of its last page (it was "
				 "shrunk, and grown again, while in use): what its slots hold cannot "
				 "be trusted", path);
			saved = EPROTO;      /* (the coordinator replaces such a file) */
			goto out;
		}
		(void)fchmod(fd, mode & 0777);   /* best effort: the owner may differ */
		*reattached = true;
	}
	flock(fd, LOCK_UN);
	return 0;
out_errno_msg:
	snprintf(err, errlen, "cannot lock or stat region %s: %s", path, ff_strerror(errno));
out_errno:
	saved = errno ? errno : EINVAL;
out:
	if (r->base)
		munmap(r->base, size);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (fd >= 0)
		ff_sys_close(fd);
	errno = saved;
	return rc;
}
