/* Waiting busily, briefly, where a sleep would cost more than the wait.
 *
 * Between two processes on different CPUs, waking a sleeper costs a futex or socket wake-up,
 * an interrupt across CPUs and the sleeper's way back out of idle: 15-20 us on this kind of
 * virtual machine, where a whole 64-byte request/response over AF_UNIX takes 38 us. A peer
 * that answers within a few tens of microseconds is cheaper to wait for awake. So, before a
 * blocking wait the shim would otherwise sleep in, it spins for a while, and learns how long
 * from how long the waits at that place took:
 *   - a wait that ended within half the maximum: spin at least twice as long as it took next
 *     time (a limit above that decays by 1/32 a wait, so a mix of short and longer waits
 *     keeps the longer covered: a function's many 8-byte edges between two of 1.3 MB
 *     decayed a faster-shrinking limit below what the big ones need);
 *   - longer waits, four in a row: spin half as long as before each, and not at all once
 *     that falls below the minimum (an idle server or a slow peer is never waited for busily
 *     for long); a single one among short ones leaves the limit (a function's 50 MB edges
 *     between small ones had shrunk it below what its next 1.3 MB edge needed);
 *   - never on a machine with one CPU (the peer needs it); every round of polling yields the
 *     CPU, and a yield that let something else run (the peer may share our CPU) ends the
 *     spin; four such waits in a row skip spinning for the next 8, 16, ... 1024 waits,
 *     until a spin succeeds without such a yield.
 * Each place keeps its own estimate (struct ff_spin), capped by SPIN_WAIT_US (0: the operator
 * turned busy waiting off; every wait sleeps at once). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "shim.h"

/* Online CPUs, not this process's affinity: a function pinned to one CPU still has its peer
 * on another (the usual container layout); where both share one, the yield in the polling
 * loop lets the peer run, and the long waits that follow turn spinning off. */
bool ff_may_spin(void)
{
	static _Atomic long cpus;      /* CPUs online; 0: not asked yet */
	long n = atomic_load_explicit(&cpus, memory_order_relaxed);

	if (ff_is_sandboxed())         /* (its filter may not allow sched_yield, nor sysconf's look) */
		return false;
	if (!n) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		atomic_store_explicit(&cpus, n > 0 ? n : 1, memory_order_relaxed);
	}
	return n > 1 && ff_proc.cfg.spin_wait_us > 0;
}

/* SPIN_WAIT_US caps every place's own maximum. */
static uint64_t cap_ns(const struct ff_spin *s)
{
	uint64_t cap = (uint64_t)ff_proc.cfg.spin_wait_us * 1000;

	return s->max_ns < cap ? s->max_ns : cap;
}

uint64_t ff_spin_limit(struct ff_spin *s)
{
	uint64_t n;

	if (!ff_may_spin())
		return 0;
	n = atomic_load_explicit(&s->ns, memory_order_relaxed);
	return n < cap_ns(s) ? n : cap_ns(s);
}

/* Waits too long to spin through, in a row, before the limit shrinks. */
#define LONG_RUN 4u

void ff_spin_learn(struct ff_spin *s, uint64_t waited, uint64_t lim)
{
	uint64_t n, max = cap_ns(s);

	if (waited <= max / 2) {
		n = 2 * waited > lim - lim / 32 ? 2 * waited : lim - lim / 32;
		atomic_store_explicit(&s->long_run, 0, memory_order_relaxed);
	} else if (atomic_fetch_add_explicit(&s->long_run, 1, memory_order_relaxed) + 1 < LONG_RUN) {
		n = lim;       /* one long wait among short ones: keep covering the short ones */
	} else {
		n = lim / 2;
	}

	if (n < s->min_ns)
		n = waited <= max / 2 || s->keep ? s->min_ns : 0;
	if (n > max)
		n = max;
	atomic_store_explicit(&s->ns, n, memory_order_relaxed);
}

/* A yield that came back later than this ran something else on our CPU: perhaps the very
 * peer we wait for, which then only got to run because we yielded. */
#define YIELD_SWITCHED_NS (4u * 1000)
#define SKIP_MAX          1024u
#define CONTENDED_RUN     4u

/* A spin ended by a yield that let something else run: sleep this time (it serves whoever
 * wanted our CPU, the peer perhaps). A run of such waits (not one stolen moment) says the
 * CPU is shared with the peer or busy: then sleep at once for the next 8, 16, ... waits. */
static void contended(struct ff_spin *s)
{
	uint32_t k = atomic_load_explicit(&s->streak, memory_order_relaxed) + 1, b;

	atomic_store_explicit(&s->streak, k, memory_order_relaxed);
	if (k < CONTENDED_RUN)
		return;
	b = atomic_load_explicit(&s->backoff, memory_order_relaxed);
	b = b ? (b < SKIP_MAX ? 2 * b : SKIP_MAX) : 8;
	atomic_store_explicit(&s->backoff, b, memory_order_relaxed);
	atomic_store_explicit(&s->skip, b, memory_order_relaxed);
	atomic_store_explicit(&s->streak, 0, memory_order_relaxed);
}

bool ff_spin_skip(struct ff_spin *s)
{
	uint32_t skip;

	if (!ff_may_spin())
		return true;
	skip = atomic_load_explicit(&s->skip, memory_order_relaxed);
	if (!skip)
		return false;
	atomic_store_explicit(&s->skip, skip - 1, memory_order_relaxed);
	return true;
}

/* Signals during the spin. A blocking call a signal interrupts fails with EINTR unless the
 * handler asked for restarts (SA_RESTART), and a polling loop would run the handler between
 * two polls and go on waiting. So the spin runs with the asynchronous signals blocked (faults
 * cannot be blocked and cannot interrupt a call anyway); afterwards the ones that came are
 * let in, and the call fails with EINTR when one of them has a handler that does not restart,
 * as the blocking call would have; otherwise it goes on to wait as a restarted call would.
 * Returns true when the call is to fail with EINTR. */
void ff_signals_hold(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

bool ff_signals_release(const sigset_t *old, int timeo_fd)
{
	sigset_t pend;
	bool intr = false;
	int timeo = -1;     /* does timeo_fd have a receive timeout (-1: not asked yet)? */

	if (sigpending(&pend) == 0) {
		for (int sig = 1; sig < NSIG; sig++) {
			struct sigaction sa;

			if (sigismember(&pend, sig) != 1 || sigismember(old, sig) == 1)
				continue;      /* not pending, or blocked by the program itself */
			if (sigaction(sig, NULL, &sa) < 0 || sa.sa_handler == SIG_DFL ||
			    sa.sa_handler == SIG_IGN)
				continue;
			/* the kernel restarts no wait of a socket with a receive timeout */
			if (timeo < 0 && (sa.sa_flags & SA_RESTART))
				timeo = ff_sock_has_rcvtimeo(timeo_fd);
			if (!(sa.sa_flags & SA_RESTART) || timeo > 0)
				intr = true;
		}
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);   /* the handlers of what came run now */
	return intr;
}

/* A blocking send through the region holds signals from its first slot to its return, waits
 * included, as the kernel's send leaves them pending while it works: a handler that ran
 * between two checks (in our copy, or just before a futex wait began) would leave the wait
 * uninterrupted (the call hung where TCP's returns a partial count). The waits sleep in short
 * slices and look at what is pending between them (ff_signals_poll): a handler without
 * SA_RESTART ends the call with EINTR or a partial count; others run and the call goes on. */
static __thread bool call_held __attribute__((tls_model("initial-exec")));
static __thread sigset_t call_old __attribute__((tls_model("initial-exec")));

void ff_signals_call_begin(void)
{
	if (!call_held) {
		ff_signals_hold(&call_old);
		call_held = true;
	}
}

void ff_signals_call_end(void)
{
	if (call_held) {
		call_held = false;
		pthread_sigmask(SIG_SETMASK, &call_old, NULL);
	}
}

bool ff_signals_held(void)
{
	return call_held;
}

bool ff_signals_poll(void)
{
	sigset_t pend;
	bool any = false, intr;

	if (!call_held || sigpending(&pend) != 0)
		return false;
	for (int sig = 1; sig < NSIG && !any; sig++)
		any = sigismember(&pend, sig) == 1 && sigismember(&call_old, sig) != 1;
	if (!any)
		return false;
	call_held = false;
	intr = ff_signals_release(&call_old, -1);       /* their handlers run now */
	if (!intr)
		ff_signals_call_begin();             /* all restart: the call goes on */
	return intr;
}

/* 1: the probe says done; 0: not within the limit, or the CPU is wanted elsewhere. */
static int spin_loop(int (*probe)(void *), void *arg, struct ff_spin *s, uint64_t t0, uint64_t lim,
		     const uint32_t *unheld)
{
	uint64_t now = t0;

	do {
		uint64_t y0;

		if (unheld && !ff_sig_unheld_still(*unheld))
			return 0;     /* a handler is about to change: wait in the kernel instead */
		if (probe(arg)) {
			ff_spin_learn(s, ff_now_ns() - t0, lim);
			atomic_store_explicit(&s->backoff, 0, memory_order_relaxed);
			atomic_store_explicit(&s->streak, 0, memory_order_relaxed);
			return 1;
		}
		y0 = ff_now_ns();
		sched_yield();
		now = ff_now_ns();
		if (now - y0 > YIELD_SWITCHED_NS) {
			contended(s);
			return 0;
		}
	} while (now - t0 < lim);
	return 0;
}

int ff_spin_until(int (*probe)(void *), void *arg, bool done_wins, struct ff_spin *s,
		  uint64_t *t0, int timeo_fd)
{
	uint64_t lim = ff_spin_limit(s);
	uint32_t gen;
	sigset_t old;
	int r;

	*t0 = ff_now_ns();
	if (!lim)
		return 0;
	if (ff_sig_unheld_begin(timeo_fd, &gen)) {
		r = spin_loop(probe, arg, s, *t0, lim, &gen);   /* no signal can end the call */
		ff_sig_unheld_end();
		return r;
	}
	ff_signals_hold(&old);
	ff_sig_learn_due();
	r = spin_loop(probe, arg, s, *t0, lim, NULL);
	if (ff_signals_release(&old, timeo_fd) && !(r > 0 && done_wins)) {
		errno = EINTR;
		return -1;
	}
	return r;
}

/* readable, an error, or poll failing */
static int poll_probe(void *arg)
{
	struct pollfd p = { .fd = *(int *)arg, .events = POLLIN };
	int r = poll(&p, 1, 0);

	return r > 0 || (r < 0 && errno != EINTR);
}

int ff_spin_readable(int fd, struct ff_spin *s, uint64_t *t0)
{
	return ff_spin_until(poll_probe, &fd, false, s, t0, fd);
}

void ff_spin_slept(struct ff_spin *s, uint64_t t0)
{
	if (ff_may_spin())
		ff_spin_learn(s, ff_now_ns() - t0, atomic_load_explicit(&s->ns, memory_order_relaxed));
}
