/* Prometheus text exposition of the coordinator's statistics and the region's counters.
 * Families are listed once in a table; each is printed once with a sample per tenant. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "metrics.h"

const char *const ffm_fallback_names[FF_FB_MAX] = {
	[FF_FB_NO_SLOT] = "no_slot",
	[FF_FB_DISABLED] = "disabled",
	[FF_FB_NO_COORD] = "no_coordinator",
	[FF_FB_NO_REGION] = "no_region",
	[FF_FB_NOT_PEER] = "not_peer",
	[FF_FB_BAD_DOORBELL] = "bad_doorbell",
	[FF_FB_PEER_DIED] = "peer_died",
};

/* Where a value comes from. */
enum src {
	S_STAT,         /* uint64_t field of struct ff_stats at `off` */
	S_CNT,          /* counter of the region header at `off` in struct ff_counters */
	S_ENABLED,
	S_SLOT_SIZE,
	S_REGION_SIZE,
	S_USED,         /* bytes of the slots out of the pool */
	S_RESIDENT,
	S_SLOTS,        /* faasflow_slots{state} */
	S_UPGRADES,     /* faasflow_upgrades_total{result} */
	S_FALLBACKS,    /* faasflow_fallbacks_total{cause} */
	S_LATENCY,      /* summary: _sum (seconds) and _count */
};

struct family {
	const char *name, *type, *help;
	enum src src;
	size_t off;
};

#define STAT(f) S_STAT, offsetof(struct ff_stats, f)
#define CNT(f)  S_CNT, offsetof(struct ff_counters, f)

static const struct family families[] = {
	{ "enabled", "gauge", "1 if shared memory transfers are switched on", S_ENABLED, 0 },
	{ "slots", "gauge", "Slots of the region by state", S_SLOTS, 0 },
	{ "slots_high_water", "gauge", "Most slots out of the pool at once", STAT(slots_hwm) },
	{ "slot_size_bytes", "gauge", "Size of one slot", S_SLOT_SIZE, 0 },
	{ "region_used_bytes", "gauge", "Bytes of the slots out of the pool (leased, filled or "
	  "being read)", S_USED, 0 },
	{ "clients", "gauge", "Processes connected to the coordinator", STAT(clients) },
	{ "endpoints", "gauge", "Live listening endpoints", STAT(endpoints) },
	{ "uptime_seconds", "gauge", "Seconds since the coordinator started", STAT(uptime_s) },
	{ "lease_requests_total", "counter", "Lease requests answered", STAT(lease_requests) },
	{ "lease_returns_total", "counter", "Return requests answered", STAT(returns) },
	{ "reclaimed_slots_total", "counter", "Slots taken back from dead processes",
	  STAT(reclaimed) },
	{ "bad_messages_total", "counter", "Malformed control messages", STAT(bad_messages) },
	{ "refused_clients_total", "counter", "Control connections refused by uid/gid",
	  STAT(refused_clients) },
	{ "region_size_bytes", "gauge", "Size of the region file", S_REGION_SIZE, 0 },
	{ "region_memory_bytes", "gauge",
	  "Resident memory of the region file (mincore over its mapping)", S_RESIDENT, 0 },
	{ "region_bytes_total", "counter", "Payload bytes sent through region slots",
	  CNT(region_bytes) },
	{ "region_payloads_total", "counter", "Doorbells sent", CNT(region_payloads) },
	{ "rx_region_bytes_total", "counter", "Payload bytes copied out of region slots by readers",
	  CNT(rx_region_bytes) },
	{ "inline_bytes_total", "counter", "Payload bytes sent inline on upgraded connections",
	  CNT(inline_bytes) },
	{ "inline_frames_total", "counter", "Inline frames sent on upgraded connections",
	  CNT(inline_frames) },
	{ "upgrades_total", "counter", "Connection upgrades by result", S_UPGRADES, 0 },
	{ "fallbacks_total", "counter", "Payloads or connections that went by TCP, by cause",
	  S_FALLBACKS, 0 },
	{ "transfer_latency_seconds", "summary",
	  "Doorbell sent to slot freed, summed over payloads", S_LATENCY, 0 },
};

/* Values read from the region header: omitted for a tenant whose region is not mapped. */
static bool needs_region(enum src s)
{
	return s == S_CNT || s == S_REGION_SIZE || s == S_RESIDENT || s == S_UPGRADES ||
	       s == S_FALLBACKS || s == S_LATENCY;
}

static uint64_t stat_at(const struct ff_stats *st, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)st + off, sizeof(v));   /* packed struct */
	return v;
}

static uint64_t cnt_at(const struct ff_region_header *h, size_t off)
{
	return atomic_load((_Atomic uint64_t *)((uintptr_t)&h->c + off));
}

static uint64_t value(const struct family *fm, const struct ffm_tenant *t)
{
	const struct ff_stats *st = t->st;

	switch (fm->src) {
	case S_STAT: return stat_at(st, fm->off);
	case S_CNT: return cnt_at(t->hdr, fm->off);
	case S_ENABLED: return st->enabled ? 1 : 0;
	case S_SLOT_SIZE: return t->slot_size;
	case S_REGION_SIZE: return t->hdr->region_size;
	case S_RESIDENT: return t->resident_bytes;
	case S_USED:
		return (st->slot_count - st->slots_free) * t->slot_size;
	default: return 0;
	}
}

static void samples(FILE *f, const struct family *fm, const struct ffm_tenant *t)
{
	static const char *const states[] = { "free", "leased", "filled", "reading" };
	const struct ff_stats *st = t->st;
	const uint64_t slots[] = { st->slots_free, st->slots_leased, st->slots_filled,
	                           st->slots_reading };
	const char *n = fm->name, *tn = t->name;

	switch (fm->src) {
	case S_SLOTS:
		for (int i = 0; i < 4; i++)
			fprintf(f, "faasflow_%s{tenant=\"%s\",state=\"%s\"} %" PRIu64 "\n", n, tn,
			        states[i], slots[i]);
		break;
	case S_UPGRADES:
		fprintf(f, "faasflow_%s{tenant=\"%s\",result=\"attempt\"} %" PRIu64 "\n", n, tn,
		        cnt_at(t->hdr, offsetof(struct ff_counters, upgrade_attempts)));
		fprintf(f, "faasflow_%s{tenant=\"%s\",result=\"success\"} %" PRIu64 "\n", n, tn,
		        cnt_at(t->hdr, offsetof(struct ff_counters, upgrade_success)));
		break;
	case S_FALLBACKS:
		for (int i = 0; i < FF_FB_MAX; i++)
			fprintf(f, "faasflow_%s{tenant=\"%s\",cause=\"%s\"} %" PRIu64 "\n", n, tn,
			        ffm_fallback_names[i], atomic_load(&((struct ff_counters *)
			        (uintptr_t)&t->hdr->c)->fallback[i]));
		break;
	case S_LATENCY:
		fprintf(f, "faasflow_%s_sum{tenant=\"%s\"} %.9f\n", n, tn,
		        (double)cnt_at(t->hdr, offsetof(struct ff_counters, region_ns)) / 1e9);
		fprintf(f, "faasflow_%s_count{tenant=\"%s\"} %" PRIu64 "\n", n, tn,
		        cnt_at(t->hdr, offsetof(struct ff_counters, region_lat_count)));
		break;
	default:
		fprintf(f, "faasflow_%s{tenant=\"%s\"} %" PRIu64 "\n", n, tn, value(fm, t));
		break;
	}
}

void ffm_print(FILE *f, const struct ffm_tenant *t, size_t n)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		const struct family *fm = &families[i];
		bool region = needs_region(fm->src), header = false;

		for (size_t k = 0; k < n; k++) {
			if (region && !t[k].hdr)
				continue;
			if (!header) {
				fprintf(f, "# HELP faasflow_%s %s\n# TYPE faasflow_%s %s\n", fm->name,
				        fm->help, fm->name, fm->type);
				header = true;
			}
			samples(f, fm, &t[k]);
		}
	}
}

uint64_t ffm_resident_bytes(const void *base, uint64_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t pages = (size + (uint64_t)pg - 1) / (uint64_t)pg, n = 0;
	unsigned char *vec;

	if (!base || !size || pg <= 0)
		return 0;
	vec = malloc(pages);
	if (!vec)
		return 0;
	if (mincore((void *)(uintptr_t)base, size, vec) == 0)
		for (uint64_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	free(vec);
	return n * (uint64_t)pg;
}

const char *ffm_threshold_source(const struct ff_threshold_pub *p)
{
	if (atomic_load(&p->value) && p->src == FF_THR_MEASURED)
		return "measured";
	if (atomic_load(&p->value) && p->src == FF_THR_CONFIG)
		return "configured";
	return "default";
}

static int size_text(char *buf, size_t len, uint64_t v)
{
	if (v >= 1024 && !(v % 1024))
		return snprintf(buf, len, "%llu KiB", (unsigned long long)(v >> 10));
	return snprintf(buf, len, "%llu B", (unsigned long long)v);
}

void ffm_threshold_text(const struct ff_threshold_pub *p, char *buf, size_t len)
{
	uint64_t v = atomic_load(&p->value);
	size_t at = 0;
	int k = size_text(buf, len, ff_thr_value(p));

	if (k < 0 || (size_t)k >= len)
		return;
	at = (size_t)k;
	if (!v || p->src == FF_THR_NONE) {
		snprintf(buf + at, len - at, " (default: %s)",
			 v ? "the measurement could not run" : "none published");
		return;
	}
	if (p->src == FF_THR_CONFIG) {
		snprintf(buf + at, len - at, " (THRESHOLD configured)");
		return;
	}
	k = snprintf(buf + at, len - at, " (auto, measured in %u ms; region/TCP", p->took_ms);
	for (uint32_t i = 0; k > 0 && i < p->n && i < FF_THR_SIZES; i++) {
		at += (size_t)k;
		if (at >= len)
			return;
		k = snprintf(buf + at, len - at, "%s %uK %u.%02ux", i ? "," : "", p->size[i] >> 10,
			     p->ratio_x100[i] / 100, p->ratio_x100[i] % 100);
	}
	if (k > 0 && (at += (size_t)k) < len)
		snprintf(buf + at, len - at, ")");
}
