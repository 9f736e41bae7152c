/* A writer waiting for one of its slots to come back from the reader: the oldest in flight
 * on its connection (slots.c decides which), until the reader releases it, the connection
 * dies, a signal's handler runs or the socket's SO_SNDTIMEO passes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "shim.h"
#include "sys.h"

#define WAIT_SLICE_NS   (10ull * 1000 * 1000)
#define HELD_SLICE_NS   (5ull * 1000 * 1000)   /* signals held: how late a handler may run */
/* A writer waiting for its reader spins a while before it sleeps. In a steady stream the
 * reader gives a slot back every few tens of microseconds, and a sleeping writer turns every
 * release into a futex wake: a system call and an interrupt across CPUs on the reader's side,
 * the side that sets the pace (zero-copy sends of 16 MiB: 30 GB/s and 225 wakes with a 30 us
 * spin, 37 GB/s and 7 wakes with 150 us). How long is learnt from the waits (spin.c), between
 * the bounds below: a slow reader is waited for busily SPIN_MIN_NS at most; none on a machine
 * with one CPU (spinning there only delays the reader) or with SPIN_WAIT_US = 0. */
#define SPIN_MIN_NS     (10ull * 1000)
#define SPIN_MAX_NS     (200ull * 1000)

/* The peer is gone when the socket reports an error or a hang-up. */
static bool conn_dead(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

static struct ff_spin writer_spin = {
	.ns = SPIN_MAX_NS / 4, .min_ns = SPIN_MIN_NS, .max_ns = SPIN_MAX_NS, .keep = true,
};

/* Spin up to lim ns for slot's word to leave `seen`: 1 when it did, 0 when not. */
static int spin_slot(struct ff_slot_meta *m, uint32_t *seen, uint64_t t0, uint64_t lim)
{
	do {
		for (int k = 0; k < 64; k++) {
			uint32_t w = atomic_load_explicit(&m->word, memory_order_acquire);
			if (w == *seen) {
				ff_cpu_relax();
			} else if (w == FF_SLOT_WORD(FF_SLOT_GEN(*seen), FF_SLOT_READING)) {
				*seen = w;       /* only claimed by its reader: not back yet */
			} else {
				ff_spin_learn(&writer_spin, ff_now_ns() - t0, lim);
				return 1;
			}
		}
	} while (ff_now_ns() - t0 < lim);
	return 0;
}

/* ff_slot_wait's sleep: spin a while, then the futex. held: the call holds the signals (they
 * cannot interrupt the futex, so it sleeps a short slice and the caller polls them). */
static int sleep_on_slot(struct ff_slot_meta *m, uint32_t seen, uint64_t deadline_ns, bool held)
{
	uint64_t t0 = 0, lim, slice = held ? HELD_SLICE_NS : WAIT_SLICE_NS, now = ff_now_ns();
	struct timespec ts;

	if (deadline_ns && now >= deadline_ns) {
		errno = EAGAIN;
		return -1;
	}
	if (deadline_ns && deadline_ns - now < slice)
		slice = deadline_ns - now;
	lim = ff_spin_limit(&writer_spin);
	if (lim) {
		sigset_t old;
		int done;

		t0 = now;
		if (!held)
			ff_signals_hold(&old);
		done = spin_slot(m, &seen, t0, lim < slice ? lim : slice);
		if (!held && ff_signals_release(&old, -1)) {
			errno = EINTR;
			return -1;
		}
		if (done)
			return 0;
	}
	ts.tv_sec = (time_t)(slice / 1000000000ull);
	ts.tv_nsec = (long)(slice % 1000000000ull);
	atomic_fetch_add(&m->waiters, 1);
	/* A handler with SA_RESTART has the kernel restart the wait; EINTR means one without. */
	int r = atomic_load(&m->word) == seen ? ff_sys_futex_wait((const void *)&m->word, seen, &ts) : 0;
	int err = errno;
	atomic_fetch_sub(&m->waiters, 1);
	if (r < 0 && err == EINTR) {
		errno = EINTR;
		return -1;
	}
	if (t0 && atomic_load(&m->word) != seen)
		ff_spin_learn(&writer_spin, ff_now_ns() - t0, lim);
	return 0;
}

/* Sleep (a slice at most, never past deadline_ns if set) while slot's word is still `seen`
 * (the in-flight value the caller saw under the lock): its reader gives it back by changing
 * it. A word that already moved on returns at once. Lock not held. Returns -1 with errno as
 * the application's blocking send would end: EPIPE when the connection died meanwhile (its
 * slots come back), EINTR when a signal handler without SA_RESTART ran (while the call
 * copied, with signals held, or during the sleep), EAGAIN at the socket's SO_SNDTIMEO. */
int ff_slot_wait(uint32_t slot, uint32_t seen, int fd, uint64_t cookie, uint64_t deadline_ns)
{
	if (conn_dead(fd)) {
		ff_slot_reclaim_conn(cookie);
		errno = EPIPE;
		return -1;
	}
	if (ff_signals_poll()) {
		errno = EINTR;
		return -1;
	}
	return sleep_on_slot(&ff_rg()->meta[slot], seen, deadline_ns, ff_signals_held());
}

/* The socket's SO_SNDTIMEO as an absolute deadline (0: none). */
uint64_t ff_send_deadline(int fd)
{
	struct timeval tv = { 0 };
	socklen_t l = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) < 0 || (!tv.tv_sec && !tv.tv_usec))
		return 0;
	return ff_now_ns() + (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}
