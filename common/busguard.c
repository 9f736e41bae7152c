/* SIGBUS in a region mapping: zero pages instead of a dead process (busguard.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "busguard.h"

#define GUARD_MAX 64

static struct guard {
	_Atomic uintptr_t base;      /* 0: free */
	_Atomic size_t len;
	_Atomic bool lost;
} guards[GUARD_MAX];

static _Atomic int installed;    /* 0 no, 1 being installed, 2 yes */
static struct sigaction prev;    /* what was there before ours */

bool ff_busguard_handle(const siginfo_t *si)
{
	uintptr_t a;

	if (!si || si->si_code <= 0)
		return false;            /* sent (kill, sigqueue), not a fault */
	a = (uintptr_t)si->si_addr;
	for (int i = 0; i < GUARD_MAX; i++) {
		uintptr_t b = atomic_load_explicit(&guards[i].base, memory_order_acquire);
		size_t l = atomic_load_explicit(&guards[i].len, memory_order_acquire);
		int saved;
		void *p;

		if (!b || a < b || a - b >= l)
			continue;
		saved = errno;
		p = mmap((void *)b, l, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		errno = saved;
		if (p == MAP_FAILED)
			return false;
		atomic_store_explicit(&guards[i].lost, true, memory_order_release);
		return true;
	}
	return false;
}

/* The handler that was there before, called as the kernel would have: its mask and
 * SA_NODEFER applied, and SA_RESETHAND honoured (it runs once, then the default action: a
 * crash reporter that logs and returns dies at the repeated fault, as without us). */
static void call_prev(int sig, siginfo_t *si, void *uc)
{
	struct sigaction h = prev;
	sigset_t mask, old;

	if (h.sa_flags & SA_RESETHAND) {
		memset(&prev, 0, sizeof(prev));
		prev.sa_handler = SIG_DFL;
	}
	mask = h.sa_mask;
	if (!(h.sa_flags & SA_NODEFER))
		sigaddset(&mask, sig);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (h.sa_flags & SA_NODEFER) {
		sigset_t me;
		sigemptyset(&me);
		sigaddset(&me, sig);
		pthread_sigmask(SIG_UNBLOCK, &me, NULL);
	}
	if (h.sa_flags & SA_SIGINFO)
		h.sa_sigaction(sig, si, uc);
	else
		h.sa_handler(sig);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl;

	if (ff_busguard_handle(si))
		return;
	if ((prev.sa_flags & SA_SIGINFO) ? prev.sa_sigaction != NULL :
	    (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN)) {
		call_prev(sig, si, uc);
		return;
	}
	/* The default action: a fault repeats when we return, a sent signal is raised again. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	if (!si || si->si_code <= 0)
		raise(SIGBUS);
}

static int install(void)
{
	struct sigaction sa;
	int want = 0;

	if (atomic_load(&installed) == 2)
		return 0;
	if (!atomic_compare_exchange_strong(&installed, &want, 1))
		return atomic_load(&installed) == 2 ? 0 : -1;   /* another thread is at it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev) < 0) {
		atomic_store(&installed, 0);
		return -1;
	}
	atomic_store(&installed, 2);
	return 0;
}

int ff_busguard_add(void *base, size_t len, bool inst)
{
	if (!base || !len || (inst && install() < 0))
		return -1;
	for (int pass = 0; pass < 2; pass++)
	for (int i = 0; i < GUARD_MAX; i++) {
		uintptr_t cur = atomic_load(&guards[i].base);

		/* A free entry; else (second pass) one whose mapping is lost: zero pages of our
		 * own now, which cannot fault again. */
		if ((pass == 0 && cur == 0) ||
		    (pass == 1 && cur > 1 && atomic_load(&guards[i].lost))) {
			if (!atomic_compare_exchange_strong(&guards[i].base, &cur, (uintptr_t)1))
				continue;
			atomic_store(&guards[i].lost, false);
			atomic_store(&guards[i].len, len);
			atomic_store_explicit(&guards[i].base, (uintptr_t)base, memory_order_release);
			return 0;
		}
	}
	return -1;
}

void ff_busguard_remove(const void *base)
{
	for (int i = 0; i < GUARD_MAX; i++)
		if (base && atomic_load(&guards[i].base) == (uintptr_t)base) {
			atomic_store(&guards[i].len, 0);
			atomic_store(&guards[i].base, 0);
		}
}

bool ff_busguard_lost(const void *base)
{
	for (int i = 0; i < GUARD_MAX; i++)
		if (base && atomic_load_explicit(&guards[i].base, memory_order_acquire) == (uintptr_t)base)
			return atomic_load_explicit(&guards[i].lost, memory_order_acquire);
	return false;
}
