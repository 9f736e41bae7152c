/* A crash of the daemon (SIGSEGV, SIGBUS, SIGABRT, SIGFPE) logs a libunwind backtrace to
 * stderr (built without libunwind: the signal and address only), then re-raises the signal
 * with the default action (core dump as configured).
 * A SIGBUS on a region mapping that shrank under us is not a crash (busguard.h). */
#ifdef FF_HAVE_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "busguard.h"
#include "daemon.h"

static char altstack[64 * 1024];

static void put(const char *s)
{
	ssize_t r = write(STDERR_FILENO, s, strlen(s));

	(void)r;
}

#ifdef FF_HAVE_LIBUNWIND
static void put_backtrace(void)
{
	unw_cursor_t cur;
	unw_context_t ctx;
	char line[512], name[256];
	int depth = 0;

	if (unw_getcontext(&ctx) == 0 && unw_init_local(&cur, &ctx) == 0) {
		while (unw_step(&cur) > 0 && depth < 64) {
			unw_word_t ip = 0, off = 0;

			unw_get_reg(&cur, UNW_REG_IP, &ip);
			if (unw_get_proc_name(&cur, name, sizeof(name), &off) != 0)
				snprintf(name, sizeof(name), "??");
			/* the prefix keeps `journalctl | grep faasflow` showing every frame */
			snprintf(line, sizeof(line), "faasflowd[%d]:   #%-2d 0x%016lx %s+0x%lx\n",
			         (int)getpid(), depth, (unsigned long)ip, name, (unsigned long)off);
			put(line);
			depth++;
		}
	}
}
#else
static void put_backtrace(void)
{
	put("faasflowd: built without libunwind: no backtrace\n");
}
#endif

static void crash_handler(int sig, siginfo_t *si, void *uc)
{
	char line[512];

	if (sig == SIGBUS && ff_busguard_handle(si))
		return;          /* a region truncated under us: zero pages now (tenant.c) */
	snprintf(line, sizeof(line), "faasflowd[%d]: fatal signal %d (%s) at address %p; "
	         "backtrace:\n", (int)getpid(), sig, strsignal(sig), si ? si->si_addr : NULL);
	put(line);
	put_backtrace();
	(void)uc;
	signal(sig, SIG_DFL);
	raise(sig);
}

void ffd_crash_handlers_install(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE };
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	/* (no SA_RESETHAND: a SIGBUS on a truncated region is survived, and may come again; the
	 * handler restores the default action itself before raising a real crash) */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}
