/* The four measurement modes, producer (client) and consumer (server) side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Payload bytes that are neither zero pages nor trivially compressible. */
static unsigned char *payload_alloc(size_t n, int fill)
{
	unsigned char *p = malloc(n ? n : 1);
	uint64_t x = 0x243f6a8885a308d3ULL ^ n;

	if (!p)
		return NULL;
	if (!fill) {
		memset(p, 0, n); /* fault the pages in before timing */
		return p;
	}
	for (size_t i = 0; i + 8 <= n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	for (size_t i = n & ~(size_t)7; i < n; i++)
		p[i] = (unsigned char)(i * 131);
	return p;
}

uint64_t rss_of_path_kb(const char *path)
{
	FILE *f;
	char line[4096 + 128];
	int in = 0;
	uint64_t kb = 0;

	if (!path || !*path || !(f = fopen("/proc/self/smaps", "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		unsigned long long v;

		if (sp && sp > line && sp[-1] != ':') { /* a mapping header */
			line[strcspn(line, "\n")] = 0;
			in = strstr(line, path) != NULL;
		} else if (in && sscanf(line, "Rss: %llu kB", &v) == 1) {
			kb += v;
		}
	}
	fclose(f);
	return kb;
}

static size_t n_workflows(const struct opts *o, const char **names, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < o->nedges; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (strcmp(names[j], o->edges[i].workflow) == 0)
				break;
		if (j == n && n < max)
			names[n++] = o->edges[i].workflow;
	}
	return n;
}

/* ---- producer ------------------------------------------------------------------------- */

/* One request: (connect), send n bytes, read the 1-byte ack (+ trailer on the last one). */
static int request(const struct opts *o, struct link *pl, const void *buf, size_t n, bool last,
		   struct trailer *t)
{
	unsigned char rep[1 + sizeof(*t)];
	struct link *l = pl ? pl : net_connect(o);
	int rc = -1;

	if (!l) {
		perror("faasflow-bench: connect");
		return -1;
	}
	if (link_send_msg(l, buf, n) < 0 || link_recv_reply(l, rep, last ? sizeof(rep) : 1) < 0) {
		perror("faasflow-bench: request");
		goto out;
	}
	if (last)
		memcpy(t, rep + 1, sizeof(*t));
	rc = 0;
out:
	if (!pl)
		link_free(l);
	return rc;
}

static int produce_replay(const struct opts *o, struct link *pl, const unsigned char *buf,
			  struct result *r, struct trailer *t)
{
	const char *names[64];
	size_t nwf = n_workflows(o, names, 64), k = 0;

	r->lat = calloc(nwf * o->iters, sizeof(double));
	if (!r->lat)
		return -1;
	for (uint64_t rep = 0; rep < o->iters; rep++) {
		for (size_t w = 0; w < nwf; w++) {
			double t0 = now_s();

			for (size_t i = 0; i < o->nedges; i++) {
				const struct edge *e = &o->edges[i];
				bool last = rep + 1 == o->iters && w + 1 == nwf;

				if (strcmp(e->workflow, names[w]) != 0)
					continue;
				/* the very last edge of the run carries the trailer */
				for (size_t j = i + 1; last && j < o->nedges; j++)
					if (strcmp(o->edges[j].workflow, names[w]) == 0)
						last = false;
				if (request(o, o->persist ? pl : NULL, buf, e->bytes, last, t) < 0)
					return -1;
				r->hash_tx = fh_fold(r->hash_tx, e->hash);
			}
			r->lat[k++] = now_s() - t0;
		}
	}
	r->nlat = k;
	return 0;
}

int run_producer(const struct opts *o, struct link *pl, struct result *r)
{
	size_t n = o->mode == MODE_REPLAY ? o->max_edge : o->size;
	unsigned char *buf = payload_alloc(n, 1);
	uint64_t hmsg;
	struct trailer t = { 0, 0 };
	double t0;
	int rc = -1;

	if (!buf) {
		perror("faasflow-bench: payload");
		return -1;
	}
	memset(r, 0, sizeof(*r));
	hmsg = o->mode == MODE_REPLAY ? 0 : fh_buf(buf, o->size);
	for (uint64_t i = 0; o->mode == MODE_REPLAY && i < o->nedges; i++)
		o->edges[i].hash = fh_buf(buf, o->edges[i].bytes);
	if (o->mode == MODE_RR || o->mode == MODE_CONN) {
		r->lat = calloc(o->iters, sizeof(double));
		if (!r->lat)
			goto out;
	}
	t0 = now_s();
	switch (o->mode) {
	case MODE_STREAM:
		if (o->api) {
			if (api_stream_produce(o, pl, buf, hmsg, &r->hash_tx) < 0) {
				perror("faasflow-bench: api stream");
				goto out;
			}
		}
		for (uint64_t i = 0; !o->api && i < o->iters; i++) {
			if (link_send_msg(pl, buf, o->size) < 0) {
				perror("faasflow-bench: stream write");
				goto out;
			}
			r->hash_tx = fh_fold(r->hash_tx, hmsg);
		}
		if (link_recv_reply(pl, &t, sizeof(t)) < 0) {
			perror("faasflow-bench: stream trailer");
			goto out;
		}
		break;
	case MODE_RR:
	case MODE_CONN:
		for (uint64_t i = 0; i < o->iters; i++) {
			double t1 = now_s();

			if (request(o, o->mode == MODE_RR ? pl : NULL, buf, o->size,
				    i + 1 == o->iters, &t) < 0)
				goto out;
			r->hash_tx = fh_fold(r->hash_tx, hmsg);
			r->lat[r->nlat++] = now_s() - t1;
		}
		break;
	case MODE_REPLAY:
		if (produce_replay(o, pl, buf, r, &t) < 0)
			goto out;
		break;
	}
	r->seconds = now_s() - t0;
	r->hash_rx = t.hash;
	r->rss_kb = t.rss_kb;
	rc = 0;
out:
	free(buf);
	return rc;
}

/* ---- consumer ------------------------------------------------------------------------- */

static int serve_one(const struct opts *o, int lfd, struct link *pl, unsigned char *buf,
		     size_t n, int ack, bool last, uint64_t *run)
{
	unsigned char rep[1 + sizeof(struct trailer)] = { 'k' };
	struct link *l = pl ? pl : net_accept(o, lfd);
	struct trailer t;
	struct fh h;
	size_t off = ack ? 1 : 0;
	int rc = -1;

	if (!l) {
		perror("faasflow-bench: accept");
		return -1;
	}
	fh_init(&h);
	if (o->api == 2 ? api_recv_msg(l, n, &h) < 0 : link_recv_msg(l, buf, n, &h) < 0) {
		perror("faasflow-bench: receive");
		goto out;
	}
	*run = fh_fold(*run, fh_final(&h));
	if (last) {
		t.hash = *run;
		t.rss_kb = rss_of_path_kb(o->rss_path);
		memcpy(rep + off, &t, sizeof(t));
	}
	if ((ack || last) && link_send_reply(l, rep, off + (last ? sizeof(t) : 0)) < 0) {
		perror("faasflow-bench: reply");
		goto out;
	}
	rc = 0;
out:
	if (!pl)
		link_free(l);
	return rc;
}

int run_consumer(const struct opts *o, int lfd, struct link *pl)
{
	size_t n = o->mode == MODE_REPLAY ? o->max_edge : o->size;
	unsigned char *buf = payload_alloc(n, 0);
	uint64_t run = 0;
	int rc = -1;

	if (!buf) {
		perror("faasflow-bench: buffer");
		return -1;
	}
	if (o->mode == MODE_STREAM || o->mode == MODE_RR || o->mode == MODE_CONN) {
		for (uint64_t i = 0; i < o->iters; i++)
			if (serve_one(o, lfd, o->mode == MODE_CONN ? NULL : pl, buf, o->size,
				      o->mode != MODE_STREAM, i + 1 == o->iters, &run) < 0)
				goto out;
	} else {
		const char *names[64];
		size_t nwf = n_workflows(o, names, 64);

		for (uint64_t rep = 0; rep < o->iters; rep++)
			for (size_t w = 0; w < nwf; w++)
				for (size_t i = 0; i < o->nedges; i++) {
					bool last = rep + 1 == o->iters && w + 1 == nwf;

					if (strcmp(o->edges[i].workflow, names[w]) != 0)
						continue;
					for (size_t j = i + 1; last && j < o->nedges; j++)
						if (strcmp(o->edges[j].workflow, names[w]) == 0)
							last = false;
					if (serve_one(o, lfd, o->persist ? pl : NULL, buf,
						      o->edges[i].bytes, 1, last, &run) < 0)
						goto out;
				}
	}
	rc = 0;
out:
	free(buf);
	return rc;
}
