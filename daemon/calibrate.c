/* THRESHOLD = auto: at start the coordinator measures, on this host, from which write size a
 * payload handed over through shared memory beats the kernel's loopback TCP, and publishes
 * that size in every region's header; a shim without its own THRESHOLD uses it.
 *
 * Each size is measured both ways between two threads over a fresh loopback TCP connection:
 *   tcp     the writer write()s the payload, the reader read()s it into its buffer;
 *   region  the writer copies the payload into one of 16 shared buffers (the slots),
 *           write()s a doorbell of FF_DOORBELL_SIZE bytes and pushes it past Nagle (two
 *           setsockopt() calls, as the shim does), the reader read()s the doorbell,
 *           copies the payload out and frees the buffer (the shim's path, without its leases,
 *           locks and counters).
 * Every buffer is touched before the clock starts; CAL_BYTES move per measurement, the two
 * ways alternated CAL_REPS times, medians compared. The emulated path costs less than the
 * shim's real one, so a size counts only when the region is at least CAL_MARGIN times as fast
 * there and at every larger size measured, and never below CAL_FLOOR: on the host of the
 * README's table the real crossover was 16 KiB (8 KiB 0.91x TCP, 16 KiB 1.8x) and this rule
 * picks 32 KiB there. None passing: CAL_MAX (larger writes gain more still). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "defaults.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"

#define CAL_BYTES  (8u << 20)
#define CAL_REPS   3
#define CAL_BUFS   16
#define CAL_MAX    (256u << 10)
#define CAL_MARGIN 1.5
#define CAL_FLOOR  (16u << 10)   /* 8 KiB is measured, never chosen */
#define CAL_DEADLINE_MS 3000u    /* the whole measurement; past it, the default */

struct cal_run {
	int fd;                       /* the reader's end */
	bool region;
	size_t size;
	uint8_t *slots;               /* CAL_BUFS x CAL_MAX, shared by both threads */
	_Atomic uint32_t *busy;       /* per buffer: filled, not yet copied out */
	uint8_t *dst;
	_Atomic int err;              /* the reader's failure: the writer stops too */
	uint64_t deadline_ns;         /* the whole measurement's */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n; ) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	for (size_t off = 0; off < n; ) {
		ssize_t r = send(fd, (const uint8_t *)buf + off, n - off, MSG_NOSIGNAL);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)r;
	}
	return 0;
}

static void *reader(void *arg)
{
	struct cal_run *c = arg;
	size_t msgs = CAL_BYTES / c->size;

	for (size_t i = 0; i < msgs; i++) {
		if (c->region) {
			uint8_t db[FF_DOORBELL_SIZE];
			uint32_t b;

			if (read_full(c->fd, db, sizeof(db)) < 0)
				goto fail;
			memcpy(&b, db, sizeof(b));
			/* (filled before the doorbell was written: the acquire pairs with the
			 * writer's release, an order a race detector cannot see in the socket) */
			if (b >= CAL_BUFS || atomic_load_explicit(&c->busy[b], memory_order_acquire) != 1)
				goto fail;
			memcpy(c->dst, c->slots + (size_t)b * CAL_MAX, c->size);
			atomic_store_explicit(&c->busy[b], 0, memory_order_release);
		} else if (read_full(c->fd, c->dst, c->size) < 0) {
			goto fail;
		}
	}
	return NULL;
fail:
	atomic_store(&c->err, errno ? errno : EPROTO);
	shutdown(c->fd, SHUT_RDWR);    /* (the writer's next send fails instead of blocking) */
	return NULL;
}

static const struct timeval cal_timeout = { .tv_sec = 2 };

/* A connected loopback pair: *w the writer's end, *r the reader's. */
static int loop_pair(int *w, int *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*w = *r = -1;
	if (l < 0)
		return -1;
	/* every call bounded (a firewall dropping loopback traffic, a stalled peer): connect
	 * honours SO_SNDTIMEO, accept the listener's SO_RCVTIMEO, accepted sockets inherit */
	if (setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &cal_timeout, sizeof(cal_timeout)) < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_SNDTIMEO, &cal_timeout, sizeof(cal_timeout)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0 ||
	    (*w = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(*w, SOL_SOCKET, SO_SNDTIMEO, &cal_timeout, sizeof(cal_timeout)) < 0 ||
	    setsockopt(*w, SOL_SOCKET, SO_RCVTIMEO, &cal_timeout, sizeof(cal_timeout)) < 0 ||
	    connect(*w, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (*r = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		int e = errno;
		if (*w >= 0)
			close(*w);
		close(l);
		*w = *r = -1;
		errno = e;
		return -1;
	}
	close(l);
	return 0;
}

/* One measurement: ns to move CAL_BYTES in writes of `size` into *ns. Returns 0, or an errno
 * value when it could not run or took past the deadline. */
static int measure(struct cal_run *c, const uint8_t *src, bool region, size_t size, uint64_t *ns)
{
	size_t msgs = CAL_BYTES / size;
	uint64_t t0;
	pthread_t th;
	int w, e, on = 1, off = 0;

	c->region = region;
	c->size = size;
	atomic_store(&c->err, 0);
	for (int i = 0; i < CAL_BUFS; i++)
		atomic_store(&c->busy[i], 0);
	if (loop_pair(&w, &c->fd) < 0)
		return errno ? errno : EIO;
	if ((e = pthread_create(&th, NULL, reader, c))) {
		close(w);
		close(c->fd);
		return e;
	}
	t0 = now_ns();
	for (size_t i = 0; i < msgs; i++) {
		if (region) {
			uint8_t db[FF_DOORBELL_SIZE] = { 0 };
			uint32_t b = (uint32_t)(i % CAL_BUFS);

			while (atomic_load_explicit(&c->busy[b], memory_order_acquire) &&
			       !atomic_load(&c->err) && now_ns() < c->deadline_ns)
				sched_yield();
			if (atomic_load_explicit(&c->busy[b], memory_order_acquire))
				break;      /* the reader failed, or the time ran out */
			memcpy(c->slots + (size_t)b * CAL_MAX, src, size);
			atomic_store_explicit(&c->busy[b], 1, memory_order_release);
			memcpy(db, &b, sizeof(b));
			if (write_full(w, db, sizeof(db)) < 0)
				break;
			/* pushed past Nagle, as the shim pushes its doorbells (tx.c) */
			setsockopt(w, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
			setsockopt(w, IPPROTO_TCP, TCP_NODELAY, &off, sizeof(off));
		} else if (write_full(w, src, size) < 0) {
			break;
		}
	}
	shutdown(w, SHUT_WR);          /* (a reader left waiting by a failed write ends) */
	pthread_join(th, NULL);
	*ns = now_ns() - t0;
	/* (past the deadline the writer stopped, and the reader's error is only its end) */
	e = now_ns() > c->deadline_ns ? ETIMEDOUT : atomic_load(&c->err);
	close(w);
	close(c->fd);
	return e;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Fills *out (src FF_THR_MEASURED, value the threshold). Returns 0, or -1 with errno. */
static int calibrate(struct ff_threshold_pub *out)
{
	size_t bufs = (size_t)CAL_BUFS * CAL_MAX;
	uint8_t *mem = mmap(NULL, bufs + 2 * CAL_MAX, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	_Atomic uint32_t busy[CAL_BUFS];
	struct cal_run c = { .slots = mem, .busy = busy };
	uint64_t t0 = now_ns();
	int n = 0, e;

	memset(out, 0, sizeof(*out));
	if (mem == MAP_FAILED)
		return -1;
	c.deadline_ns = t0 + CAL_DEADLINE_MS * 1000000ull;
	memset(mem, 0x5a, bufs + 2 * CAL_MAX);        /* every page touched before timing */
	c.dst = mem + bufs + CAL_MAX;
	for (size_t size = 8u << 10; size <= CAL_MAX; size *= 2, n++) {
		uint64_t tcp[CAL_REPS], reg[CAL_REPS];

		for (int rep = 0; rep < CAL_REPS; rep++) {
			if ((e = measure(&c, mem + bufs, false, size, &tcp[rep])) ||
			    (e = measure(&c, mem + bufs, true, size, &reg[rep]))) {
				munmap(mem, bufs + 2 * CAL_MAX);
				errno = e;
				return -1;
			}
		}
		qsort(tcp, CAL_REPS, sizeof(tcp[0]), cmp_u64);
		qsort(reg, CAL_REPS, sizeof(reg[0]), cmp_u64);
		out->size[n] = size;
		out->ratio_x100[n] = (uint32_t)(100 * tcp[CAL_REPS / 2] / reg[CAL_REPS / 2]);
	}
	munmap(mem, bufs + 2 * CAL_MAX);
	out->n = (uint32_t)n;
	/* the smallest size from which every size measured below the largest passes the
	 * margin (the largest alone is the fallback: one noisy reading there must not undo
	 * the rest); none: the largest (larger writes gain more still) */
	out->value = CAL_MAX;
	for (int i = n - 2; i >= 0 && out->ratio_x100[i] >= (uint32_t)(100 * CAL_MARGIN); i--)
		out->value = out->size[i] < CAL_FLOOR ? CAL_FLOOR : out->size[i];
	out->took_ms = (uint32_t)((now_ns() - t0) / 1000000);
	out->src = FF_THR_MEASURED;
	return 0;
}

/* Every field, the value last: a shim reads only the value, and finds the rest with it. */
static void thr_copy(struct ff_threshold_pub *dst, const struct ff_threshold_pub *src)
{
	dst->src = src->src;
	dst->n = src->n;
	memcpy(dst->size, src->size, sizeof(dst->size));
	memcpy(dst->ratio_x100, src->ratio_x100, sizeof(dst->ratio_x100));
	dst->took_ms = src->took_ms;
	atomic_store(&dst->value, atomic_load(&src->value));
}

/* Into the tenant's region header: the configured THRESHOLD, or (auto) the one measured by
 * this run, or by an earlier run of this host whose region we re-attached with a measured
 * value (no second measurement under the load of live connections). Measured once per run,
 * when the first region needs it: at start, before the coordinator serves, or at a reload
 * from a size to auto (the event loop waits for it, about 0.1 s); a measurement that cannot
 * run (or takes over CAL_DEADLINE_MS) publishes the default. */
void ffd_threshold_publish(struct ffd_server *s, struct ffd_tenant *t, bool reattached)
{
	struct ff_threshold_pub *p = &t->r.hdr->thr;
	char text[320];

	if (s->cfg.threshold) {
		p->src = FF_THR_CONFIG;
		p->n = 0;
		atomic_store(&p->value, s->cfg.threshold);
		return;
	}
	if (!s->cal_done) {
		s->cal_done = true;
		if (reattached && p->src == FF_THR_MEASURED && atomic_load(&p->value) && p->n &&
		    p->n <= FF_THR_SIZES) {
			thr_copy(&s->cal, p);      /* (this run's from now on: a reload to auto) */
			return;
		}
		if (calibrate(&s->cal) < 0) {
			log_warnx("THRESHOLD = auto: the measurement could not run (%s); using %llu "
				  "bytes", strerror(errno), (unsigned long long)FF_DEFAULT_THRESHOLD);
			s->cal.src = FF_THR_NONE;
			s->cal.n = 0;
			atomic_store(&s->cal.value, FF_DEFAULT_THRESHOLD);
			thr_copy(p, &s->cal);
			return;
		}
		thr_copy(p, &s->cal);
		ffm_threshold_text(p, text, sizeof(text));
		log_info("THRESHOLD %s; a size counts when the emulated region is at least %.1fx "
			 "TCP there and at every larger size", text, CAL_MARGIN);
		return;
	}
	thr_copy(p, &s->cal);
}
