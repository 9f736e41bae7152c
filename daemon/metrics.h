/* Prometheus text exposition (format 0.0.4), shared by `faasflowctl metrics` and the
 * coordinator's HTTP /metrics: one writer, so both print the same names and labels. */
#ifndef FAASFLOW_METRICS_H
#define FAASFLOW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"
#include "region.h"

#define FFM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* What one tenant (one region) exposes. */
struct ffm_tenant {
	const char *name;                      /* the "tenant" label */
	const struct ff_stats *st;             /* the coordinator's STATS answer */
	const struct ff_region_header *hdr;    /* NULL: region not mapped, its counters omitted */
	uint64_t slot_size;
	uint64_t resident_bytes;               /* region pages in memory (ffm_resident_bytes) */
};

/* Every family once (HELP, TYPE), then one sample per tenant. */
void ffm_print(FILE *f, const struct ffm_tenant *t, size_t n);

/* Bytes of a mapping that are resident (mincore); 0 when it cannot tell. */
uint64_t ffm_resident_bytes(const void *base, uint64_t size);

/* The THRESHOLD a region's coordinator published and where it came from, for the log and
 * `faasflowctl status`: "32 KiB (auto, measured in 98 ms; region/TCP 8K 0.80x, ...)". */
void ffm_threshold_text(const struct ff_threshold_pub *p, char *buf, size_t len);
/* "measured", "configured" or "default" */
const char *ffm_threshold_source(const struct ff_threshold_pub *p);

/* Label values of faasflow_fallbacks_total{cause=...}, indexed by enum ff_fallback. */
extern const char *const ffm_fallback_names[FF_FB_MAX];

#endif
