/* xfer: the sending side. A stream of payloads (one write per payload, up to --wbuf), or
 * length-prefixed messages from one or more threads sharing one fd, optionally with a
 * request/response exchange per message. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "xfer.h"

/* A free fd number well above the usual ones, for --dup2. */
static int pick_free_fd(void)
{
	int fd;

	for (fd = 200; fd < 1000; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			return fd;
	return 999;
}

static uint64_t max_size(const struct opts *o)
{
	uint64_t m = 1;
	size_t i;

	for (i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > m)
			m = o->sizes[i];
	return m;
}

int tx_stream(struct conn *c, const struct opts *o, struct result *r)
{
	size_t cap = (size_t)(max_size(o) < o->wbuf ? max_size(o) : o->wbuf);
	uint8_t *buf = malloc(cap), d[SHA256_DIGEST_LEN];
	struct sha256 sh;
	uint64_t off = 0, rem;
	size_t i, n;
	int rc = -1;

	if (!buf)
		return xerr("malloc(%zu)", cap);
	sha256_init(&sh);
	for (i = 0; i < o->nsizes; i++) {
		if (o->dup2_fd && !o->server && i == 1 && conn_move_fd(c, pick_free_fd()) < 0)
			goto out;
		for (rem = o->sizes[i]; rem > 0; rem -= n) {
			n = (size_t)(rem < cap ? rem : cap);
			gen_fill(o->seed, off, buf, n);
			sha256_update(&sh, buf, n);
			if (conn_write_all(c, buf, n) < 0) {
				xerrx("sending payload %zu of %zu (%llu bytes) failed at stream offset %llu",
				      i + 1, o->nsizes, (unsigned long long)o->sizes[i],
				      (unsigned long long)off);
				goto out;
			}
			off += n;
		}
		if (o->gap_ms && i + 1 < o->nsizes)
			sleep_ms(o->gap_ms);
	}
	rc = 0;
out:
	sha256_final(&sh, d);
	sha256_hex(d, r->hex);
	r->bytes = off;
	free(buf);
	return rc;
}

struct txthr {
	pthread_t th;
	unsigned tid;
	struct conn *c;
	const struct opts *o;
	pthread_mutex_t *lock;
	uint8_t (*digests)[SHA256_DIGEST_LEN];
	int rc;
};

static int await_reply(struct conn *c, const struct opts *o, const uint8_t *payload, uint64_t len,
		       uint8_t *scratch)
{
	uint8_t ack;
	int rc;

	if (o->rr == RR_ACK) {
		rc = conn_read_full(c, &ack, 1, 1);
		if (rc != 0 || ack != XFER_ACK_BYTE)
			return xerrx("expected a 1-byte ack (0x06), got %s",
				     rc ? "EOF or an error" : "another byte");
		return 0;
	}
	rc = conn_read_full(c, scratch, len, o->rbuf);
	if (rc != 0)
		return xerrx("echo of a %llu-byte message: %s", (unsigned long long)len,
			     rc > 0 ? "EOF before all bytes came back" : "read error");
	if (memcmp(scratch, payload, len) != 0)
		return xerrx("echo of a %llu-byte message differs from what was sent",
			     (unsigned long long)len);
	return 0;
}

static void *tx_thread(void *arg)
{
	struct txthr *t = arg;
	const struct opts *o = t->o;
	uint8_t *buf = malloc(sizeof(struct msg_hdr) + max_size(o));
	uint8_t *scratch = o->rr == RR_ECHO ? malloc(max_size(o)) : NULL;
	struct msg_hdr h = { .magic = XFER_MSG_MAGIC, .tid = t->tid };
	struct sha256 sh;
	size_t i;

	t->rc = -1;
	if (!buf || (o->rr == RR_ECHO && !scratch)) {
		xerr("malloc for messages");
		goto out;
	}
	for (i = 0; i < o->nsizes; i++) {
		h.idx = (uint32_t)i;
		h.len = o->sizes[i];
		memcpy(buf, &h, sizeof(h));
		gen_fill(msg_seed(o->seed, t->tid, h.idx), 0, buf + sizeof(h), h.len);
		sha256_init(&sh);
		sha256_update(&sh, buf + sizeof(h), h.len);
		sha256_final(&sh, t->digests[i]);
		pthread_mutex_lock(t->lock);
		if (conn_write_all(t->c, buf, sizeof(h) + h.len) < 0 ||
		    (o->rr != RR_NONE && await_reply(t->c, o, buf + sizeof(h), h.len, scratch) < 0)) {
			pthread_mutex_unlock(t->lock);
			xerrx("thread %u, message %zu (%llu bytes) failed", t->tid, i,
			      (unsigned long long)h.len);
			goto out;
		}
		pthread_mutex_unlock(t->lock);
		if (o->gap_ms)
			sleep_ms(o->gap_ms);
	}
	t->rc = 0;
out:
	free(buf);
	free(scratch);
	return NULL;
}

int tx_messages(struct conn *c, const struct opts *o, struct result *r)
{
	unsigned n = o->threads ? o->threads : 1, i;
	struct txthr t[XFER_MAX_THREADS];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uint8_t d[SHA256_DIGEST_LEN];
	struct sha256 acc;
	size_t k;
	int rc = 0, e;

	memset(t, 0, sizeof(t));
	for (i = 0; i < n; i++) {
		t[i] = (struct txthr){ .tid = i, .c = c, .o = o, .lock = &lock };
		t[i].digests = calloc(o->nsizes, SHA256_DIGEST_LEN);
		if (!t[i].digests)
			return xerr("calloc");
	}
	for (i = 0; i < n; i++) {
		e = n == 1 ? (tx_thread(&t[i]), 0) : pthread_create(&t[i].th, NULL, tx_thread, &t[i]);
		if (e) {
			errno = e;
			return xerr("pthread_create");
		}
	}
	sha256_init(&acc);
	r->bytes = 0;
	for (i = 0; i < n; i++) {
		if (n > 1)
			pthread_join(t[i].th, NULL);
		rc |= t[i].rc;
		for (k = 0; k < o->nsizes; k++) {
			msg_record(&acc, i, (uint32_t)k, o->sizes[k], t[i].digests[k]);
			r->bytes += o->sizes[k];
		}
		free(t[i].digests);
	}
	sha256_final(&acc, d);
	sha256_hex(d, r->hex);
	return rc;
}

/* After the last payload: print SENT, then exit at once, or half-close and check the reply. */
int tx_finish(struct conn *c, const struct opts *o, const struct result *r)
{
	char reply[512], want[512];
	size_t got = 0;
	ssize_t n;

	printf("SENT bytes=%llu sha256=%s\n", (unsigned long long)r->bytes, r->hex);
	fflush(stdout);
	if (o->exit_after_send)
		_exit(0);
	if (!o->half_close)
		return 0;
	if (shutdown(c->fd, SHUT_WR) < 0)
		return xerr("shutdown(SHUT_WR)");
	for (;;) {
		n = conn_read(c, reply + got, sizeof(reply) - 1 - got, 0);
		if (n < 0)
			return xerrx("reading the reply after shutdown(SHUT_WR) failed");
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == sizeof(reply) - 1)
			return xerrx("reply longer than %zu bytes", got);
	}
	reply[got] = '\0';
	if (got == 0) {
		printf("REPLY none\n");
		return 0;
	}
	snprintf(want, sizeof(want), "OK bytes=%llu sha256=%s\n", (unsigned long long)r->bytes, r->hex);
	if (strcmp(reply, want) != 0)
		return xerrx("reply after half-close is '%s', expected '%s'", reply, want);
	printf("REPLY ok\n");
	return 0;
}
