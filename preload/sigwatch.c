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
 * What is installed is learnt once, at the first wait (the handlers installed before: the
 * caught signals in /proc/self/status, each asked), and then followed through the calls that
 * install handlers (sigaction, signal and its variants, siginterrupt, syscall). The first
 * look only adds to what is known, so a handler installed meanwhile is never forgotten; a
 * stale mark only costs the hold. Setting a socket timeout (SO_RCVTIMEO, SO_SNDTIMEO) marks
 * the process for good. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

static _Atomic uint64_t sig_intr;       /* a handler without SA_RESTART */
static _Atomic uint64_t sig_caught;     /* any handler */
static _Atomic bool sock_timeouts;      /* a socket got a send or receive timeout */
static _Atomic int learnt;              /* 0: not yet; 1: learning; 2: done */

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction(void)
{
	static _Atomic(sigaction_fn) fn;
	sigaction_fn f = atomic_load_explicit(&fn, memory_order_acquire);

	if (!f) {
		f = (sigaction_fn)ff_next_sym("sigaction");
		atomic_store_explicit(&fn, f, memory_order_release);
	}
	return f;
}

static void mark(int sig, const struct sigaction *sa, bool only_add)
{
	uint64_t bit;
	bool handler;

	/* (faults are never held and cannot end a call; the shim's own SIGBUS guard is one) */
	if (sig < 1 || sig > 64 || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE ||
	    sig == SIGILL || sig == SIGTRAP || sig == SIGSYS)
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
static void ask(int sig, bool only_add)
{
	struct sigaction sa;
	sigaction_fn f = real_sigaction();

	if (f && f(sig, NULL, &sa) == 0)
		mark(sig, &sa, only_add);
	else if (sig >= 1 && sig <= 64)
		atomic_fetch_or(&sig_intr, 1ull << (sig - 1));     /* not known: assume the worst */
}

void ff_sig_changed(int sig)
{
	if (sig >= 1 && sig <= 64)
		ask(sig, false);
}

void ff_sig_timeouts(void)
{
	atomic_store(&sock_timeouts, true);
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

static void learn(void)
{
	int expect = 0;
	uint64_t caught;

	if (!atomic_compare_exchange_strong(&learnt, &expect, 1))
		return;        /* another thread learns: until it is done, hold */
	caught = caught_now();
	for (int sig = 1; sig <= 64; sig++)
		if (caught & (1ull << (sig - 1)))
			ask(sig, true);
	atomic_store(&learnt, 2);
}

bool ff_sig_may_interrupt(void)
{
	if (atomic_load_explicit(&learnt, memory_order_acquire) != 2) {
		if (ff_is_sandboxed())
			return true;     /* (the look at /proc may not be allowed) */
		learn();
		if (atomic_load_explicit(&learnt, memory_order_acquire) != 2)
			return true;
	}
	return atomic_load(&sig_intr) != 0 ||
	       (atomic_load(&sig_caught) != 0 && atomic_load(&sock_timeouts));
}

/* ---- the calls that install handlers ---------------------------------------------------- */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn f = real_sigaction();
	int r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	r = f(sig, act, old);
	if (r == 0 && act)
		ff_sig_changed(sig);
	return r;
}

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

typedef void (*handler_t)(int);

/* signal(), bsd_signal(), sysv_signal(), sigset(): the C library's own, then a look. */
#define HANDLER_SETTER(name)                                                          \
	handler_t name(int sig, handler_t h);                                          \
	handler_t name(int sig, handler_t h)                                           \
	{                                                                              \
		static _Atomic(handler_t (*)(int, handler_t)) fn;                      \
		handler_t (*f)(int, handler_t) = atomic_load(&fn);                     \
		handler_t r;                                                           \
		if (!f) {                                                              \
			f = (handler_t (*)(int, handler_t))ff_next_sym(#name);         \
			atomic_store(&fn, f);                                          \
		}                                                                      \
		if (!f) {                                                              \
			errno = EINVAL;                                                \
			return SIG_ERR;                                                \
		}                                                                      \
		r = f(sig, h);                                                         \
		if (r != SIG_ERR)                                                      \
			ff_sig_changed(sig);                                           \
		return r;                                                              \
	}

HANDLER_SETTER(signal)
HANDLER_SETTER(bsd_signal)
HANDLER_SETTER(sysv_signal)
HANDLER_SETTER(__sysv_signal)
HANDLER_SETTER(sigset)

int siginterrupt(int sig, int flag)
{
	static _Atomic(int (*)(int, int)) fn;
	int (*f)(int, int) = atomic_load(&fn);
	int r;

	if (!f) {
		f = (int (*)(int, int))ff_next_sym("siginterrupt");
		atomic_store(&fn, f);
	}
	if (!f) {
		errno = EINVAL;
		return -1;
	}
	r = f(sig, flag);
	if (r == 0)
		ff_sig_changed(sig);
	return r;
}
