/* The region: a header page, a slot table, the pair table, then fixed-size slots. 64-bit offsets throughout.
 * Shared by the coordinator (creates, leases) and the shim (fills, reads, frees). */
#ifndef FAASFLOW_REGION_H
#define FAASFLOW_REGION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defaults.h"

#define FF_REGION_MAGIC    0x31474552574f4c46ULL   /* "FLOWREG1" little-endian */
#define FF_REGION_VERSION  4u
#define FF_REGION_TAIL_MAGIC 0x4c494154574f4c46ULL  /* "FLOWTAIL": the region's last page */
#define FF_REGION_HDR_SIZE 4096u
#define FF_SLOT_META_SIZE  64u
#define FF_PAIR_SIZE       64u

/* Fallback causes counted in the header. */
enum ff_fallback {
	FF_FB_NO_SLOT = 0,     /* region full or quota reached: bytes went inline */
	FF_FB_DISABLED,        /* switch off */
	FF_FB_NO_COORD,        /* coordinator unreachable */
	FF_FB_NO_REGION,       /* region missing, truncated or replaced */
	FF_FB_NOT_PEER,        /* endpoint not a live shim listener */
	FF_FB_BAD_DOORBELL,    /* forged/stale doorbell: connection reset */
	FF_FB_PEER_DIED,       /* connection ended with slots in flight */
	FF_FB_MAX
};

struct ff_counters {
	_Atomic uint64_t region_bytes;       /* payload bytes written through slots */
	_Atomic uint64_t region_payloads;    /* doorbells sent */
	_Atomic uint64_t inline_bytes;       /* payload bytes in inline frames on upgraded connections */
	_Atomic uint64_t inline_frames;
	_Atomic uint64_t rx_region_bytes;    /* payload bytes copied out of slots by readers */
	_Atomic uint64_t upgrade_attempts;   /* connections that asked the coordinator */
	_Atomic uint64_t upgrade_success;    /* directions switched to framed mode */
	_Atomic uint64_t fallback[FF_FB_MAX];
	_Atomic uint64_t slots_leased;       /* slots currently out of the pool (coordinator) */
	_Atomic uint64_t slots_hwm;          /* high-water mark of slots_leased */
	_Atomic uint64_t region_ns;          /* summed doorbell send->free latency, ns */
	_Atomic uint64_t region_lat_count;
	_Atomic uint64_t lease_requests;
	_Atomic uint64_t reclaimed;          /* slots taken back from dead processes */
};

/* The THRESHOLD the coordinator publishes (THRESHOLD = auto: measured on this host at its
 * start, daemon/calibrate.c; or its configured value). A shim whose own configuration sets no
 * THRESHOLD uses `value`; 0 (nothing published, a region of an older coordinator): the default. */
enum ff_threshold_src { FF_THR_NONE = 0, FF_THR_CONFIG = 1, FF_THR_MEASURED = 2 };
#define FF_THR_SIZES 8
struct ff_threshold_pub {
	_Atomic uint64_t value;          /* bytes; stored last, after the rest */
	uint32_t src;                    /* enum ff_threshold_src */
	uint32_t n;                      /* sizes measured */
	uint32_t size[FF_THR_SIZES];     /* bytes */
	uint32_t ratio_x100[FF_THR_SIZES];  /* TCP's time / the region's, x100 */
	uint32_t took_ms;
};
/* The THRESHOLD a published entry stands for (nothing published: the default). */
static inline uint64_t ff_thr_value(const struct ff_threshold_pub *p)
{
	uint64_t v = atomic_load_explicit(&p->value, memory_order_relaxed);

	return v ? v : FF_DEFAULT_THRESHOLD;
}

struct ff_region_header {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t header_size;
	uint8_t  region_id[16];          /* random, proves a peer maps the same region */
	uint64_t region_size;            /* whole file */
	uint64_t slot_size;
	uint64_t slot_count;
	uint64_t meta_offset;            /* slot table: slot_count * FF_SLOT_META_SIZE */
	uint64_t slots_offset;           /* first slot, page aligned */
	uint64_t created_unix;
	_Atomic uint32_t enabled;        /* the on/off switch (ENABLE_SHARED_MEMORY) */
	_Atomic uint32_t daemon_pid;     /* 0 while no coordinator runs */
	_Atomic uint64_t daemon_epoch;   /* bumped at every coordinator start */
	char     tenant[64];
	struct ff_counters c;
	uint64_t pairs_offset;           /* pair table (pairs.h): pairs_count * FF_PAIR_SIZE */
	uint64_t pairs_count;            /* a power of two */
	struct ff_threshold_pub thr;     /* THRESHOLD for shims without their own */
};

/* Slot states, in the low 2 bits of `word`; the generation is word >> 2. */
enum ff_slot_state {
	FF_SLOT_FREE = 0,     /* in the coordinator's pool */
	FF_SLOT_LEASED = 1,   /* held by `owner`, idle, ready to fill */
	FF_SLOT_FILLED = 2,   /* payload written, doorbell sent, waiting for a reader */
	FF_SLOT_READING = 3,  /* a reader (`reader`) claimed it and is copying out */
};
#define FF_SLOT_WORD(gen, st)  ((uint32_t)(((gen) << 2) | (uint32_t)(st)))
#define FF_SLOT_GEN(w)         ((uint32_t)(w) >> 2)
#define FF_SLOT_STATE(w)       ((uint32_t)(w) & 3u)
#define FF_SLOT_GEN_MASK       0x3fffffffu
/* A run's writer appends while this bit is set; the reader's first look clears it (seals). */
#define FF_RUN_OPEN            (1ull << 63)
/* `reader` of a slot whose reading process is handing its connection to another image (exec,
 * SCM_RIGHTS): the coordinator leaves it alone; the new image claims it with its own id. */
#define FF_READER_HANDOVER     0xffffffffu

struct ff_slot_meta {
	_Atomic uint32_t word;     /* gen << 2 | state; futex word for waiters */
	_Atomic uint32_t owner;    /* client id of the lease holder (0 = coordinator) */
	_Atomic uint32_t reader;   /* client id of the process copying it out (0 = none) */
	_Atomic uint32_t owner_pid;
	_Atomic uint64_t len;      /* bytes of payload in the slot */
	_Atomic uint64_t filled_ns;/* CLOCK_MONOTONIC when filled (latency, orphan age) */
	_Atomic uint32_t waiters;  /* writers sleeping on `word` (futex); the freer wakes them */
	_Atomic uint32_t conn_key; /* key of the connection it was announced on (see ff_hello) */
	_Atomic uint64_t run;      /* a run (FF_DB_RUN): bytes appended, | FF_RUN_OPEN until sealed */
	uint8_t  pad[FF_SLOT_META_SIZE - 48];
};

_Static_assert(sizeof(struct ff_region_header) <= FF_REGION_HDR_SIZE, "header fits a page");
_Static_assert(sizeof(struct ff_slot_meta) == FF_SLOT_META_SIZE, "slot meta is a cache line");

struct ff_region {
	int fd;
	void *base;
	uint64_t size;
	struct ff_region_header *hdr;
	struct ff_slot_meta *meta;
	uint8_t *slots;
};

/* Entries of the pair table for a region of this size: a power of two, 64 to 8192. */
uint64_t ff_region_pairs(uint64_t size);
/* Layout for a given size: how many slots fit (the pair table ends at slots_offset). Returns
 * 0, or -1 if the size is too small. */
int ff_region_layout(uint64_t size, uint64_t slot_size, uint64_t *slot_count,
                     uint64_t *meta_offset, uint64_t *slots_offset);

/* Coordinator: create a new region file (parent directories made, mode applied), or re-attach
 * to a compatible existing one (same size, slot size, layout version). An incompatible file is
 * refused with a message in err naming what differs and how to fix it. *reattached tells which. */
int ff_region_create_or_attach(struct ff_region *r, const char *path, uint64_t size,
                               uint64_t slot_size, unsigned mode, const char *tenant,
                               bool *reattached, char *err, size_t errlen);

/* Anyone: map an existing region read-write (or read-only) and verify its header. */
int ff_region_open(struct ff_region *r, const char *path, bool writable, char *err, size_t errlen);
/* The region's last page still holds its mark. A file shrunk under a running system (and
 * perhaps grown back, its lost pages now zeros) always lost its last page: a reader checks this
 * after copying a payload out (the bytes it copied are then untrustworthy), a writer before it
 * announces one, the coordinator at every tick. On a shrunk file the load itself faults, and
 * the SIGBUS guard (busguard.h) makes the page zero. */
static inline bool ff_region_tail_ok(const struct ff_region *r)
{
	return __atomic_load_n((const uint64_t *)((const uint8_t *)r->base + r->size - 4096u),
			       __ATOMIC_ACQUIRE) == FF_REGION_TAIL_MAGIC;
}
/* Is the mapping still the file at path (not deleted, truncated or replaced)? */
bool ff_region_still_valid(const struct ff_region *r, const char *path);
void ff_region_close(struct ff_region *r);

static inline uint8_t *ff_slot_ptr(const struct ff_region *r, uint64_t slot)
{
	return r->slots + slot * r->hdr->slot_size;
}

static inline void ff_counter_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* Memory that can back `size` bytes (MemAvailable), for the "not enough memory" check. */
uint64_t ff_mem_available(void);

#endif
