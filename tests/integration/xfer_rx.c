/* xfer: the receiving side. A byte stream read with the chosen reader discipline (buffer size,
 * MSG_PEEK then read, MSG_WAITALL, FIONREAD before each read), checked against the expected
 * pseudo-random stream, or length-prefixed messages each checked intact. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "xfer.h"

struct rxbufs {
	uint8_t *buf, *peek, *exp;
};

static int fionread(struct conn *c, int *avail)
{
	if (ioctl(c->fd, FIONREAD, avail) < 0)
		return xerr("ioctl(FIONREAD, fd %d)", c->fd);
	if (*avail < 0)
		return xerrx("ioctl(FIONREAD) reported %d bytes", *avail);
	return 0;
}

/* How many bytes the next read must ask for, and whether it must return exactly that.
 * FIONREAD: once the socket is readable it must report > 0 (or the read must see EOF), and a
 * read of up to that many bytes must return them all. MSG_PEEK: the read after a peek of k
 * bytes returns exactly the k peeked bytes. Returns 0, 1 at EOF, -1 on error. */
static int plan_read(struct conn *c, const struct opts *o, struct rxbufs *b, size_t *want,
		     bool *exact, bool *expect_eof)
{
	int avail = 0;
	ssize_t k;

	*want = o->rbuf;
	*exact = false;
	*expect_eof = false;
	if (o->fionread) {
		if (fionread(c, &avail) < 0)
			return -1;
		/* Level-triggered waits return at once on pending data or EOF, so nothing to read
		 * after one means EOF. An edge-triggered wait would sleep forever if the last edge
		 * (data and FIN together) was already collected: read instead (EOF or EAGAIN). */
		if (avail == 0 && c->mode != M_EPOLL_ET) {
			if (conn_wait(c, false) < 0 || fionread(c, &avail) < 0)
				return -1;
			*expect_eof = avail == 0;
		}
		if (avail > 0) {
			*want = (size_t)avail < o->rbuf ? (size_t)avail : o->rbuf;
			*exact = true;
		}
	}
	if (o->peek) {
		k = conn_read(c, b->peek, *want, MSG_PEEK);
		if (k < 0)
			return -1;
		if (k == 0) {
			*expect_eof = true;
			return 0;
		}
		if (*exact && (size_t)k != *want)
			return xerrx("MSG_PEEK of %zu bytes returned %zd though FIONREAD said %d",
				     *want, k, avail);
		*want = (size_t)k;
		*exact = true;
	}
	return 0;
}

static int check_chunk(const struct opts *o, struct rxbufs *b, uint64_t off, size_t n)
{
	size_t i;

	if (o->peek && memcmp(b->peek, b->buf, n) != 0) {
		for (i = 0; i < n && b->peek[i] == b->buf[i]; i++)
			;
		return xerrx("bytes read after MSG_PEEK differ from the peeked ones at stream offset %llu",
			     (unsigned long long)(off + i));
	}
	if (!o->verify)
		return 0;
	gen_fill(o->seed, off, b->exp, n);
	if (memcmp(b->exp, b->buf, n) == 0)
		return 0;
	for (i = 0; i < n && b->exp[i] == b->buf[i]; i++)
		;
	return xerrx("corrupt data at stream offset %llu (read of %zu bytes at %llu): got 0x%02x, "
		     "expected 0x%02x (seed %llu)", (unsigned long long)(off + i), n,
		     (unsigned long long)off, b->buf[i], b->exp[i], (unsigned long long)o->seed);
}

int rx_stream(struct conn *c, const struct opts *o, struct result *r)
{
	struct rxbufs b = { malloc(o->rbuf), malloc(o->rbuf), malloc(o->rbuf) };
	uint8_t d[SHA256_DIGEST_LEN];
	struct sha256 sh;
	uint64_t total = 0;
	bool exact, expect_eof, short_seen = false, stalled = false;
	size_t want;
	ssize_t n;
	int rc = -1;

	sha256_init(&sh);
	if (!b.buf || !b.peek || !b.exp) {
		xerr("malloc(%zu)", o->rbuf);
		goto out;
	}
	for (;;) {
		if (plan_read(c, o, &b, &want, &exact, &expect_eof) < 0)
			goto out;
		n = conn_read(c, b.buf, want, o->waitall ? MSG_WAITALL : 0);
		if (n < 0) {
			xerrx("after %llu bytes received", (unsigned long long)total);
			goto out;
		}
		if (expect_eof && n != 0) {
			xerrx("FIONREAD/MSG_PEEK said nothing to read on a readable socket, but read "
			      "returned %zd bytes (at offset %llu)", n, (unsigned long long)total);
			goto out;
		}
		if (n == 0)
			break;
		if (exact && (size_t)n != want) {
			xerrx("read of %zu announced bytes returned %zd (at offset %llu)", want, n,
			      (unsigned long long)total);
			goto out;
		}
		if (o->waitall && short_seen) {
			xerrx("MSG_WAITALL returned fewer than %zu bytes before the end of the stream "
			      "(at offset %llu)", o->rbuf, (unsigned long long)total);
			goto out;
		}
		short_seen = o->waitall && (size_t)n < want;
		if (check_chunk(o, &b, total, (size_t)n) < 0)
			goto out;
		sha256_update(&sh, b.buf, (size_t)n);
		total += (uint64_t)n;
		if (o->stall_ms && !stalled && total >= o->stall_after) {
			stalled = true;
			sleep_ms(o->stall_ms);
		}
	}
	rc = 0;
out:
	sha256_final(&sh, d);
	sha256_hex(d, r->hex);
	r->bytes = total;
	free(b.buf);
	free(b.peek);
	free(b.exp);
	return rc;
}

struct rec {
	uint32_t tid, idx;
	uint64_t len;
	uint8_t d[SHA256_DIGEST_LEN];
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Read one message payload in pieces of rbuf, check it against what (tid, idx) must carry. */
static int rx_payload(struct conn *c, const struct opts *o, const struct msg_hdr *h, uint8_t *buf,
		      uint8_t *exp, struct rec *rec)
{
	uint64_t seed = msg_seed(o->seed, h->tid, h->idx);
	struct sha256 sh;
	int rc;

	rc = conn_read_full(c, buf, h->len, o->rbuf);
	if (rc != 0)
		return xerrx("message (thread %u, #%u, %llu bytes): %s", h->tid, h->idx,
			     (unsigned long long)h->len, rc > 0 ? "EOF inside the payload" : "read error");
	gen_fill(seed, 0, exp, h->len);
	if (memcmp(buf, exp, h->len) != 0)
		return xerrx("message (thread %u, #%u, %llu bytes) corrupt or interleaved", h->tid,
			     h->idx, (unsigned long long)h->len);
	sha256_init(&sh);
	sha256_update(&sh, buf, h->len);
	sha256_final(&sh, rec->d);
	rec->tid = h->tid;
	rec->idx = h->idx;
	rec->len = h->len;
	if (o->rr == RR_ACK) {
		uint8_t ack = XFER_ACK_BYTE;

		return conn_write_all(c, &ack, 1);
	}
	if (o->rr == RR_ECHO)
		return conn_write_all(c, buf, h->len);
	return 0;
}

static int grow(uint8_t **p, uint64_t *cap, uint64_t need)
{
	uint8_t *np;

	if (need <= *cap)
		return 0;
	np = realloc(*p, need);
	if (!np)
		return xerr("realloc(%llu)", (unsigned long long)need);
	*p = np;
	*cap = need;
	return 0;
}

static void combine(struct rec *recs, size_t n, struct result *r)
{
	uint8_t d[SHA256_DIGEST_LEN];
	struct sha256 acc;
	size_t i;

	sha256_init(&acc);
	r->bytes = 0;
	for (i = 0; i < n; i++) {
		msg_record(&acc, recs[i].tid, recs[i].idx, recs[i].len, recs[i].d);
		r->bytes += recs[i].len;
	}
	sha256_final(&acc, d);
	sha256_hex(d, r->hex);
}

int rx_messages(struct conn *c, const struct opts *o, struct result *r)
{
	struct rec *recs = NULL, *nr;
	size_t n = 0, i;
	uint8_t *buf = NULL, *exp = NULL;
	uint64_t cap = 0, cap2 = 0;
	struct msg_hdr h;
	int rc = -1, e;

	for (;;) {
		e = conn_read_full(c, &h, sizeof(h), o->rbuf);
		if (e == 1)
			break;
		if (e != 0) {
			xerrx("message header after %zu messages: %s", n, e > 0 ? "truncated" : "read error");
			goto out;
		}
		if (h.magic != XFER_MSG_MAGIC || h.tid >= XFER_MAX_THREADS || h.len > XFER_MAX_MSG) {
			xerrx("bad message header after %zu messages (magic %#x, thread %u, len %llu): "
			      "the stream is corrupt or interleaved", n, h.magic, h.tid,
			      (unsigned long long)h.len);
			goto out;
		}
		nr = realloc(recs, (n + 1) * sizeof(*recs));
		if (!nr || grow(&buf, &cap, h.len + 1) < 0 || grow(&exp, &cap2, h.len + 1) < 0) {
			xerr("out of memory");
			goto out;
		}
		recs = nr;
		if (rx_payload(c, o, &h, buf, exp, &recs[n]) < 0)
			goto out;
		n++;
	}
	qsort(recs, n, sizeof(*recs), rec_cmp);
	for (i = 1; i < n; i++)
		if (recs[i].tid == recs[i - 1].tid && recs[i].idx == recs[i - 1].idx) {
			xerrx("message (thread %u, #%u) received twice", recs[i].tid, recs[i].idx);
			goto out;
		}
	rc = 0;
out:
	combine(recs, n, r);
	free(recs);
	free(buf);
	free(exp);
	return rc;
}

int rx_send_reply(struct conn *c, const struct result *r)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "OK bytes=%llu sha256=%s\n",
			 (unsigned long long)r->bytes, r->hex);

	return conn_write_all(c, line, (size_t)n);
}
