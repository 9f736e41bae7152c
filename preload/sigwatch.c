/* Which signals could interrupt a blocking call: what the shim's busy waits must respect.
 *
 * A busy wait (spin.c) runs in user space between polls, so a signal that comes meanwhile has
 * its handler run there, and the shim could not tell that the application's blocking call
 * would have failed with EINTR. The waits therefore hold the asynchronous signals and look at
 * what came afterwards: three system calls a wait (two masks and sigpending), which on this
 * kind of virtual machine cost 3 us, a tenth of a request on a new connection.
 *
 * They are needed only when a signal could end a blocking call: one whose handler does not
 * ask for restarts (no SA_RESTART), or, on a socket with a receive timeout, any handler (the
 * kernel does not restart such a call). A process without either has nothing to hold: a
 * signal with its default action either kills it, is ignored, or stops and continues it, as
 * during the kernel's own wait.
 *
 * What is installed is learnt at the first wait (the caught signals in /proc/self/status, each
 * asked), again every LEARN_NS (a handler installed where no wrapper sees it: a library loaded
 * with RTLD_DEEPBIND, a raw system call instruction), and followed through the calls that
 * install handlers (sigaction, signal and its variants, siginterrupt, syscall). A look only
 * adds to what is known; a wrapper sets the signal's state exactly. A stale mark only costs a
 * wait its hold.
 *
 * A handler installed by another thread while a thread polls without holding: the installing
 * call first marks the signal (a wait that starts now holds), then waits until no thread polls
 * without holding (such a poll ends at its next round once it sees the change), and only then
 * installs; so no handler that could end a call ever runs in the middle of an unheld poll. A
 * vfork child's handlers are its own: its calls change nothing here. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

/* The calls that install handlers run inside a sanitizer's own start-up too (ThreadSanitizer
 * installs its handlers before it can record anything): that path is not instrumented. */
#if defined(__clang__)
#if __has_attribute(disable_sanitizer_instrumentation)
#define UNINSTRUMENTED __attribute__((disable_sanitizer_instrumentation))
#else
#define UNINSTRUMENTED __attribute__((no_sanitize("thread")))
#endif
#else
#define UNINSTRUMENTED __attribute__((no_sanitize("thread")))
#endif

#define LEARN_NS       (10ull * 1000 * 1000)
#define UNHELD_WAIT_NS (20ull * 1000 * 1000)     /* above the longest poll (SPIN_WAIT_US) */

static _Atomic uint64_t sig_intr;       /* a handler without SA_RESTART */
static _Atomic uint64_t sig_caught;     /* any handler */
static _Atomic int learning;            /* a thread is looking */
static _Atomic uint64_t learnt_at;      /* CLOCK_MONOTONIC of the last look; 0: never */
static _Atomic uint32_t change_gen;     /* bumped by each installing call, before it installs */
static _Atomic int unheld;              /* threads in a poll that holds nothing */
static __thread bool in_unheld __attribute__((tls_model("initial-exec")));

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

UNINSTRUMENTED static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

UNINSTRUMENTED static bool in_vfork_child(void)
{
	return ff_vfork_state && ff_vfork_child_slow();
}

UNINSTRUMENTED static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

UNINSTRUMENTED static sigaction_fn real_sigaction(void)
{
	static _Atomic(sigaction_fn) fn;
	sigaction_fn f = atomic_load_explicit(&fn, memory_order_acquire);

	if (!f) {
		f = (sigaction_fn)next_sym("sigaction");
		atomic_store_explicit(&fn, f, memory_order_release);
	}
	return f;
}

/* faults are never held and cannot end a call (the shim's own SIGBUS guard is one) */
UNINSTRUMENTED static bool watched(int sig)
{
	return sig >= 1 && sig <= 64 && sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE &&
	       sig != SIGILL && sig != SIGTRAP && sig != SIGSYS;
}

UNINSTRUMENTED static void mark(int sig, const struct sigaction *sa, bool only_add)
{
	uint64_t bit;
	bool handler;

	if (!watched(sig))
		return;
	bit = 1ull << (sig - 1);
	handler = sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
	if (handler) {
		atomic_fetch_or(&sig_caught, bit);
		if (!(sa->sa_flags & SA_RESTART))
			atomic_fetch_or(&sig_intr, bit);
		else if (!only_add)
			atomic_fetch_and(&sig_intr, ~bit);
	} else if (!only_add) {
		atomic_fetch_and(&sig_caught, ~bit);
		atomic_fetch_and(&sig_intr, ~bit);
	}
}

/* Ask what sig's disposition is now. */
UNINSTRUMENTED static void ask(int sig, bool only_add)
{
	struct sigaction sa;
	sigaction_fn f = real_sigaction();

	if (!watched(sig))
		return;
	if (f && f(sig, NULL, &sa) == 0) {
		mark(sig, &sa, only_add);
	} else {
		atomic_fetch_or(&sig_caught, 1ull << (sig - 1));     /* not known: the worst */
		atomic_fetch_or(&sig_intr, 1ull << (sig - 1));
	}
}

/* An installing call, before it installs: sig counts as interrupting from now on, and no
 * thread polls unheld when the handler comes (see above). */
UNINSTRUMENTED static void before_change(int sig)
{
	if (watched(sig)) {
		atomic_fetch_or(&sig_caught, 1ull << (sig - 1));
		atomic_fetch_or(&sig_intr, 1ull << (sig - 1));
	}
	atomic_fetch_add(&change_gen, 1);
	/* (a handler running in this thread's own unheld poll: the others still end theirs; the
	 * bound: a poll stuck behind a lock this thread's interrupted code holds) */
	for (uint64_t t0 = now_ns(); atomic_load(&unheld) > (in_unheld ? 1 : 0) &&
					now_ns() - t0 < UNHELD_WAIT_NS;)
		sched_yield();
}

/* And after it: the signal's state as it is now. */
UNINSTRUMENTED static void after_change(int sig)
{
	ask(sig, false);
}

/* The caught signals, from the SigCgt line of /proc/self/status; all of them when it cannot
 * be read. */
static uint64_t caught_now(void)
{
	char buf[4096];
	ssize_t n, got = 0;
	int fd = ff_sys_open("/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	const char *p;
	uint64_t v = 0;

	if (fd < 0)
		return ~0ull;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = ff_sys_read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	ff_sys_close(fd);
	buf[got > 0 ? got : 0] = 0;
	p = strstr(buf, "\nSigCgt:");
	if (!p)
		return ~0ull;
	for (p += 8; *p == ' ' || *p == '\t'; p++)
		;
	for (int i = 0; i < 16; i++, p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return ~0ull;
		v = v << 4 | (unsigned)d;
	}
	return v;
}

/* false: another thread is looking right now (hold meanwhile) */
static bool learn(uint64_t now)
{
	int expect = 0;
	uint64_t caught;

	if (!atomic_compare_exchange_strong(&learning, &expect, 1))
		return false;
	caught = caught_now();
	for (int sig = 1; sig <= 64; sig++)
		if (caught & (1ull << (sig - 1)))
			ask(sig, true);
	atomic_store(&learnt_at, now ? now : 1);
	atomic_store(&learning, 0);
	return true;
}

bool ff_sock_has_rcvtimeo(int fd)
{
	struct timeval tv = { 0, 0 };
	socklen_t l = sizeof(tv);

	return fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0 &&
	       (tv.tv_sec || tv.tv_usec);
}

static bool learn_due(void)
{
	uint64_t at = atomic_load(&learnt_at);

	return !at || now_ns() - at > LEARN_NS;
}

/* Called with the signals held (the look takes some microseconds: a signal meanwhile would
 * have its handler run before the wait has begun to hold). */
void ff_sig_learn_due(void)
{
	if (!ff_is_sandboxed() && learn_due())   /* (a sandbox may not allow the look at /proc) */
		learn(now_ns());
}

bool ff_sig_may_interrupt(int fd)
{
	if (learn_due())
		return true;     /* this wait holds, and looks (ff_sig_learn_due) */
	if (atomic_load(&sig_intr))
		return true;
	return atomic_load(&sig_caught) && ff_sock_has_rcvtimeo(fd);
}

bool ff_sig_unheld_begin(int fd, uint32_t *gen)
{
	atomic_fetch_add(&unheld, 1);
	*gen = atomic_load(&change_gen);
	if (ff_sig_may_interrupt(fd)) {
		atomic_fetch_sub(&unheld, 1);
		return false;
	}
	in_unheld = true;
	return true;
}

bool ff_sig_unheld_still(uint32_t gen)
{
	return atomic_load(&change_gen) == gen;
}

void ff_sig_unheld_end(void)
{
	in_unheld = false;
	atomic_fetch_sub(&unheld, 1);
}

/* ---- the calls that install handlers ---------------------------------------------------- */
UNINSTRUMENTED void ff_sig_before(int sig)
{
	if (watched(sig) && !in_vfork_child())
		before_change(sig);
}

UNINSTRUMENTED void ff_sig_after(int sig)
{
	if (watched(sig) && !in_vfork_child())
		after_change(sig);
}

UNINSTRUMENTED int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn f = real_sigaction();
	int r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	if (act)
		ff_sig_before(sig);
	r = f(sig, act, old);
	if (act)
		ff_sig_after(sig);
	return r;
}

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
UNINSTRUMENTED int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

typedef void (*handler_t)(int);

/* signal(), bsd_signal(), sysv_signal(), sigset(), ssignal(): the C library's own. */
#define HANDLER_SETTER(name)                                                          \
	handler_t name(int sig, handler_t h);                                          \
	UNINSTRUMENTED handler_t name(int sig, handler_t h)                            \
	{                                                                              \
		static _Atomic(handler_t (*)(int, handler_t)) fn;                      \
		handler_t (*f)(int, handler_t) = atomic_load(&fn);                     \
		handler_t r;                                                           \
		if (!f) {                                                              \
			f = (handler_t (*)(int, handler_t))next_sym(#name);         \
			atomic_store(&fn, f);                                          \
		}                                                                      \
		if (!f) {                                                              \
			errno = EINVAL;                                                \
			return SIG_ERR;                                                \
		}                                                                      \
		ff_sig_before(sig);                                                    \
		r = f(sig, h);                                                         \
		ff_sig_after(sig);                                                     \
		return r;                                                              \
	}

HANDLER_SETTER(signal)
HANDLER_SETTER(bsd_signal)
HANDLER_SETTER(sysv_signal)
HANDLER_SETTER(__sysv_signal)
HANDLER_SETTER(sigset)
HANDLER_SETTER(ssignal)

UNINSTRUMENTED int siginterrupt(int sig, int flag)
{
	static _Atomic(int (*)(int, int)) fn;
	int (*f)(int, int) = atomic_load(&fn);
	int r;

	if (!f) {
		f = (int (*)(int, int))next_sym("siginterrupt");
		atomic_store(&fn, f);
	}
	if (!f) {
		errno = EINVAL;
		return -1;
	}
	ff_sig_before(sig);
	r = f(sig, flag);
	ff_sig_after(sig);
	return r;
}
