/* The edge list of a replay, and the CSV lines of the results. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* "workflow,producer,consumer,output,bytes" (a header line is skipped). */
int edges_load(struct opts *o, char *err, size_t errlen)
{
	FILE *f = fopen(o->edges_path, "re");
	char line[1024];
	size_t cap = 0, lineno = 0;

	if (!f) {
		snprintf(err, errlen, "edges '%s': %s", o->edges_path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *comma = strchr(line, ','), *last = strrchr(line, ','), *end;
		unsigned long long v;

		lineno++;
		if (lineno == 1 && strncmp(line, "workflow,", 9) == 0)
			continue;
		if (!comma || comma == line || (size_t)(comma - line) >= sizeof(o->edges[0].workflow))
			goto bad;
		errno = 0;
		v = strtoull(last + 1, &end, 10);
		if (errno || end == last + 1 || (*end && *end != '\n' && *end != '\r') ||
		    v > (1ULL << 32))
			goto bad;
		*comma = 0;
		if (o->workflow[0] && strcmp(line, o->workflow) != 0)
			continue;
		if (o->nedges == cap) {
			struct edge *ne;

			cap = cap ? cap * 2 : 256;
			ne = realloc(o->edges, cap * sizeof(*ne));
			if (!ne) {
				snprintf(err, errlen, "edges: out of memory");
				fclose(f);
				return -1;
			}
			o->edges = ne;
		}
		memset(&o->edges[o->nedges], 0, sizeof(o->edges[0]));
		memcpy(o->edges[o->nedges].workflow, line, (size_t)(comma - line) + 1);
		o->edges[o->nedges].bytes = v;
		if (v > o->max_edge)
			o->max_edge = v;
		o->nedges++;
	}
	fclose(f);
	if (!o->nedges) {
		snprintf(err, errlen, "edges '%s': no edge%s%s", o->edges_path,
			 o->workflow[0] ? " of workflow " : "", o->workflow);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "edges '%s' line %zu: expected workflow,producer,consumer,output,bytes",
		 o->edges_path, lineno);
	fclose(f);
	return -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* nearest-rank percentile of v[0..n) (sorts v) */
static double pct(double *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)(p * (double)n + 0.999999);
	return v[k ? k - 1 : 0];
}

static void line(const struct opts *o, const struct result *r, uint64_t size, uint64_t iters,
		 double secs, double med, double p90, double ops, const char *wf)
{
	printf("%s,%s,%llu,%llu,%.6f,%.4f,%.2f,%.2f,%.1f,%s,%016llx,%016llx,%llu,%s,%s\n",
	       o->label, bench_mode_name(o->mode), (unsigned long long)size,
	       (unsigned long long)iters, secs, secs > 0 ? (double)size * (double)iters / secs / 1e9 : 0,
	       med * 1e6, p90 * 1e6, ops, r->hash_tx == r->hash_rx ? "yes" : "NO",
	       (unsigned long long)r->hash_tx, (unsigned long long)r->hash_rx,
	       (unsigned long long)r->rss_kb, bench_tr_name(o->tr), wf);
}

static void report_replay(const struct opts *o, const struct result *r)
{
	const char *names[64];
	size_t nwf = 0;

	for (size_t i = 0; i < o->nedges; i++) {
		size_t j;

		for (j = 0; j < nwf && strcmp(names[j], o->edges[i].workflow) != 0; j++)
			;
		if (j == nwf && nwf < 64)
			names[nwf++] = o->edges[i].workflow;
	}
	for (size_t w = 0; w < nwf; w++) {
		double v[1024], med, p90;
		uint64_t bytes = 0, nedge = 0;
		size_t n = 0;

		for (size_t i = 0; i < o->nedges; i++)
			if (strcmp(o->edges[i].workflow, names[w]) == 0) {
				bytes += o->edges[i].bytes;
				nedge++;
			}
		for (size_t k = w; k < r->nlat && n < 1024; k += nwf)
			v[n++] = r->lat[k];
		med = pct(v, n, 0.5);
		p90 = pct(v, n, 0.9);
		/* one line per workflow: size = its bytes, seconds = median time of one run */
		line(o, r, bytes, 1, med, med, p90, med > 0 ? (double)nedge / med : 0, names[w]);
	}
}

void report(const struct opts *o, const struct result *r)
{
	double med, p90;

	if (o->mode == MODE_REPLAY) {
		report_replay(o, r);
		fflush(stdout);
		return;
	}
	if (o->mode == MODE_STREAM) {
		med = p90 = r->seconds / (double)o->iters;
	} else {
		med = pct(r->lat, r->nlat, 0.5);
		p90 = pct(r->lat, r->nlat, 0.9);
	}
	line(o, r, o->size, o->iters, r->seconds, med, p90,
	     r->seconds > 0 ? (double)o->iters / r->seconds : 0, "");
	fflush(stdout);
}
