/* Threads on one upgraded fd.
 *   st_threads server PORTFILE     reads length-prefixed messages to EOF, checks each one whole
 *   st_threads client PORTFILE N   two threads send N messages each (1 B .. 4 MiB) on one fd,
 *                                  every message with one write call sequence, no app lock
 *   st_threads race ITER           one process: a thread blocked in or looping on recv() while
 *                                  another thread close()s the fd; no crash, every byte a recv
 *                                  returned is the right one
 *   st_threads side ITER           one process: a thread blocked in recv() on an upgraded fd
 *                                  while another asks FIONREAD, peeks with MSG_DONTWAIT and
 *                                  finally closes: each answers at once (as TCP's do), never
 *                                  behind the blocked reader; then the payload arrives whole
 * Message: {u32 'STMS', u32 thread, u32 seq, u32 len} + len pattern bytes (seed thread<<32|seq). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "st.h"

#define MSG_MAGIC 0x534d5453u
struct hdr {
	uint32_t magic, thread, seq, len;
};

static const uint32_t sizes[] = { 1, 100, 4096, 65535, 65536, 65537, 300000, MIB, MIB + 7,
				  2 * MIB + 1, 4 * MIB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int conn_fd;
static unsigned per_thread;

static void *sender(void *arg)
{
	uint32_t t = (uint32_t)(uintptr_t)arg;
	uint8_t *buf = malloc(sizeof(struct hdr) + 4 * MIB);

	if (!buf)
		st_die("out of memory");
	for (uint32_t seq = 0; seq < per_thread; seq++) {
		uint32_t len = sizes[(seq * 7 + t * 3) % NSIZES];
		struct hdr h = { MSG_MAGIC, t, seq, len };
		memcpy(buf, &h, sizeof(h));
		st_pattern(buf + sizeof(h), len, (uint64_t)t << 32 | seq, 0);
		if (st_write_all(conn_fd, buf, sizeof(h) + len) < 0)
			st_die_errno("thread %u: send of message %u", t, seq);
	}
	free(buf);
	return NULL;
}

static int client(const char *portfile, unsigned n)
{
	pthread_t th[2];
	char b[64];

	conn_fd = st_connect(st_read_port(portfile));
	per_thread = n;
	for (uintptr_t t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, sender, (void *)t);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	int status = st_fd_status(conn_fd);
	shutdown(conn_fd, SHUT_WR);
	while (read(conn_fd, b, sizeof(b)) > 0)
		;
	printf("messages=%u status=%d\n", 2 * n, status);
	return 0;
}

static int server(const char *portfile)
{
	int lfd = st_listen(portfile, NULL, 0), fd = accept(lfd, NULL, NULL), status = -2;
	uint8_t *buf = malloc(4 * MIB), *want = malloc(4 * MIB);
	uint32_t next[2] = { 0, 0 };
	unsigned long long msgs = 0, bytes = 0;
	const char *end = "eof";
	struct hdr h;

	if (fd < 0 || !buf || !want)
		st_die_errno("accept");
	for (;;) {
		ssize_t r = recv(fd, &h, sizeof(h), MSG_WAITALL);
		if (r == 0)
			break;
		if (r != (ssize_t)sizeof(h)) {
			end = r < 0 ? strerrorname_np(errno) : "short-header";
			break;
		}
		if (status == -2)
			status = st_fd_status(fd);
		if (h.magic != MSG_MAGIC || h.thread > 1 || h.len > 4 * MIB || h.seq != next[h.thread]) {
			printf("bad header after %llu messages: magic %08x thread %u seq %u (expected %u) len %u\n",
			       msgs, h.magic, h.thread, h.seq, h.thread <= 1 ? next[h.thread] : 0, h.len);
			end = "bad-header";
			break;
		}
		if (recv(fd, buf, h.len, MSG_WAITALL) != (ssize_t)h.len) {
			end = "short-payload";
			break;
		}
		st_pattern(want, h.len, (uint64_t)h.thread << 32 | h.seq, 0);
		if (memcmp(buf, want, h.len)) {
			printf("message thread %u seq %u len %u: payload differs\n", h.thread, h.seq, h.len);
			end = "bad-payload";
			break;
		}
		next[h.thread]++;
		msgs++;
		bytes += h.len;
	}
	printf("messages=%llu bytes=%llu status=%d end=%s\n", msgs, bytes, status, end);
	return 0;
}

/* ---- close() racing recv() ---- */
struct race {
	int s, c;
	bool feed;
	size_t rbuf;
	_Atomic int stop;
	uint64_t got, bad_at;
	bool bad;
	ssize_t last;
	int last_err;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint8_t *buf = malloc(r->rbuf), *want = malloc(r->rbuf);

	for (;;) {
		ssize_t n = recv(r->s, buf, r->rbuf, 0);
		if (n <= 0) {
			r->last = n;
			r->last_err = n < 0 ? errno : 0;
			break;
		}
		st_pattern(want, (size_t)n, 5, r->got);
		if (!r->bad && memcmp(buf, want, (size_t)n)) {
			r->bad = true;
			r->bad_at = r->got;
		}
		r->got += (uint64_t)n;
	}
	free(buf);
	free(want);
	return NULL;
}

static void *race_sender(void *arg)
{
	struct race *r = arg;
	uint8_t *buf = malloc(MIB);
	uint64_t off = MIB;   /* after the first payload */

	while (!atomic_load(&r->stop)) {
		st_pattern(buf, MIB, 5, off);
		ssize_t n = send(r->c, buf, MIB, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		/* keep the stream position exact after a short send */
		off += (uint64_t)n;
		if ((size_t)n < MIB) {
			size_t rest = MIB - (size_t)n;
			if (send(r->c, buf + n, rest, MSG_NOSIGNAL) != (ssize_t)rest)
				break;
			off += rest;
		}
	}
	free(buf);
	return NULL;
}

static int race(unsigned iters)
{
	int port, lfd = st_listen(NULL, &port, 0);
	unsigned bad_bytes = 0, bad_end = 0, framed = 0;

	srand(12345);
	for (unsigned i = 0; i < iters; i++) {
		struct race r = { .feed = i % 3 != 2, .rbuf = (i % 2) ? 4096 : 128 << 10 };
		pthread_t rt, stt;
		uint8_t first[MIB];
		r.c = st_connect(port);
		if ((r.s = accept(lfd, NULL, NULL)) < 0)
			st_die_errno("accept");
		/* one region payload first, so the direction is framed */
		st_pattern(first, MIB, 5, 0);
		if (send(r.c, first, MIB, 0) != MIB || recv(r.s, first, MIB, MSG_WAITALL) != MIB)
			st_die("iteration %u: first payload failed", i);
		r.got = MIB;
		if (st_fd_status(r.s) > 0 && (st_fd_status(r.s) & 2))
			framed++;
		pthread_create(&rt, NULL, race_reader, &r);
		if (r.feed)
			pthread_create(&stt, NULL, race_sender, &r);
		struct timespec d = { 0, (long)(rand() % 3000) * 1000 + (r.feed ? 0 : 20000000) };
		nanosleep(&d, NULL);
		close(r.s);
		/* the reader ends: EBADF on its next call, or 0 once the peer is gone */
		atomic_store(&r.stop, 1);
		shutdown(r.c, SHUT_RDWR);
		pthread_join(rt, NULL);
		if (r.feed)
			pthread_join(stt, NULL);
		close(r.c);
		if (r.bad) {
			printf("iteration %u: recv returned wrong bytes at stream offset %llu\n", i,
			       (unsigned long long)r.bad_at);
			bad_bytes++;
		}
		if (r.last > 0 || (r.last < 0 && r.last_err != EBADF && r.last_err != ECONNRESET &&
				   r.last_err != ENOTCONN && r.last_err != EPIPE)) {
			printf("iteration %u: recv ended with %zd (%s)\n", i, r.last, strerror(r.last_err));
			bad_end++;
		}
	}
	printf("iterations=%u bad_bytes=%u bad_end=%u framed=%u\n", iters, bad_bytes, bad_end, framed);
	return 0;
}

struct side {
	int fd, peer, go[2];
	uint8_t *buf, *out;
	size_t want;
	ssize_t got, sent;
};

/* Sends the payload the reader waits for once the side calls are done, or after 2 s if one
 * of them is stuck behind the reader (which the test then reports instead of hanging). */
static void *side_sender(void *arg)
{
	struct side *sd = arg;
	struct pollfd p = { .fd = sd->go[0], .events = POLLIN };

	poll(&p, 1, 2000);
	sd->sent = send(sd->peer, sd->out, sd->want, 0);
	return NULL;
}

static void *side_reader(void *arg)
{
	struct side *sd = arg;

	sd->got = recv(sd->fd, sd->buf, sd->want, MSG_WAITALL);
	return NULL;
}

/* Microseconds from a to b. */
static uint64_t side_us(struct timespec a, struct timespec b)
{
	int64_t ns = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);

	return ns > 0 ? (uint64_t)ns / 1000u : 0;
}

static int side(unsigned iters)
{
	int port, lfd = st_listen(NULL, &port, 0);
	uint64_t worst = 0;
	unsigned framed = 0, bad = 0;
	uint8_t *out = malloc(MIB), *in = malloc(MIB);

	if (!out || !in)
		st_die("out of memory");
	for (unsigned i = 0; i < iters; i++) {
		struct side sd = { .buf = in, .out = out, .want = MIB };
		struct timespec t0, t1, d = { 0, 20 * 1000 * 1000 };
		pthread_t rt, wt;
		int c = st_connect(port), s, avail = -1;
		uint8_t b[16];

		if ((s = accept(lfd, NULL, NULL)) < 0)
			st_die_errno("accept");
		st_pattern(out, MIB, i, 0);
		if (send(c, out, MIB, 0) != MIB || recv(s, in, MIB, MSG_WAITALL) != MIB ||
		    memcmp(in, out, MIB))
			st_die("iteration %u: first payload failed", i);
		if (st_fd_status(s) > 0 && (st_fd_status(s) & 2))
			framed++;
		sd.fd = s;
		sd.peer = c;
		if (pipe(sd.go) < 0)
			st_die_errno("pipe");
		st_pattern(out, MIB, i + 1000, 0);
		pthread_create(&rt, NULL, side_reader, &sd);
		pthread_create(&wt, NULL, side_sender, &sd);
		nanosleep(&d, NULL);                     /* the reader is asleep in recv() now */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (ioctl(s, FIONREAD, &avail) < 0 || avail != 0) {
			printf("iteration %u: FIONREAD on an empty socket: %d\n", i, avail);
			bad++;
		}
		if (recv(s, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN) {
			printf("iteration %u: MSG_PEEK|MSG_DONTWAIT on an empty socket: not EAGAIN\n", i);
			bad++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (side_us(t0, t1) > worst)
			worst = side_us(t0, t1);
		if (write(sd.go[1], "g", 1) != 1)
			st_die_errno("pipe write");
		pthread_join(wt, NULL);
		pthread_join(rt, NULL);
		close(sd.go[0]);
		close(sd.go[1]);
		if (sd.sent != MIB || sd.got != MIB || memcmp(in, out, MIB))
			bad++;
		close(s);
		close(c);
	}
	printf("iterations=%u framed=%u bad=%u worst_side_us=%llu\n", iters, framed, bad,
	       (unsigned long long)worst);
	free(out);
	free(in);
	return 0;
}

int main(int argc, char **argv)
{
	st_prog = "st_threads";
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "race"))
		return race((unsigned)atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "side"))
		return side((unsigned)atoi(argv[2]));
	st_die("usage: st_threads server PORTFILE | client PORTFILE N | race ITER | side ITER");
}
