/* st_sigwatch MODE: a signal while a blocking recv() or accept() waits ends it (EINTR) or not,
 * exactly as over plain TCP, however the handler was installed and whenever.
 *
 * The shim's waits poll a while before they sleep (preload/spin.c) and hold the signals only
 * when one could end the call (preload/sigwatch.c). This program starts with no handler, so
 * its first waits hold nothing; a peer process (forked, same environment) answers quickly
 * until both ends' waits poll for some hundreds of microseconds. Then the handler comes,
 * installed by MODE:
 *   before          sigaction without SA_RESTART before the first connection
 *   sigaction       sigaction without SA_RESTART
 *   siginterrupt    signal(), then siginterrupt(sig, 1)
 *   sysv_signal     sysv_signal()
 *   sigset          sigset()
 *   raw             syscall(SYS_rt_sigaction) without SA_RESTART
 *   ssignal         ssignal()
 *   vfork           sigaction without SA_RESTART, then a vfork child resets it before exec
 *                   (its handlers are its own: the parent's stays)
 *   thread          another thread installs it (sigaction without SA_RESTART) some tens of
 *                   microseconds into each wait, then signals the waiting thread; it is
 *                   ignored again between waits
 *   restart         sigaction with SA_RESTART (calls go on)
 *   restart-timeout sigaction with SA_RESTART, sockets with SO_RCVTIMEO (the kernel does not
 *                   restart those)
 * and the peer sends SIGUSR1 some tens of microseconds into each of TRIALS blocking recv()
 * and accept() calls (where the shim polls), answering 100 ms later.
 * Prints "RESULT mode=M recv_eintr=N/T accept_eintr=N/T framed=F".
 *
 * st_sigwatch accept-addrlen: accept() with no address buffer and a bad length pointer (the
 * kernel ignores it: a connection), and with a buffer and a bad length pointer (EFAULT).
 * Prints "RESULT null_buffer=R errno=E with_buffer=R errno=E". */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "st.h"

/* siginterrupt() and sigset() are deprecated, and still what some programs call */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define TRIALS 10
#define WARM   150

static volatile sig_atomic_t handled;
static int sysv;
static pthread_t waiter;
static sem_t go, done, again;    /* mode thread: a wait begins; it ended; ignored again */

static void on_usr1(int sig)
{
	handled++;
	if (sysv)
		sysv_signal(sig, on_usr1);     /* (reset to the default at each delivery) */
}

static void on_other(int sig)
{
	(void)sig;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct cmd {
	char op;             /* E: echo; K: signal, then echo; A: connect; S: signal, then connect */
	char pad[3];
	int32_t delay_us;
};

static void pin(bool waiter_cpu);

static void peer(int port)
{
	int c = st_connect(port);
	struct cmd m;
	pid_t parent = getppid();

	while (st_read_full(c, &m, sizeof(m)) == (ssize_t)sizeof(m)) {
		char b = 'x';
		if (m.op == 'Q')
			break;
		sleep_us(m.delay_us);
		if (m.op == 'K' || m.op == 'S') {
			kill(parent, SIGUSR1);
			sleep_us(100 * 1000);
		}
		if (m.op == 'E' || m.op == 'K') {
			if (st_write_all(c, &b, 1) < 0)
				st_die_errno("peer write");
		} else {
			int n = st_connect(port);
			close(n);
		}
	}
	_exit(0);
}

/* mode thread: install the handler while the waiter waits, then signal it */
/* The waiter alone on the first CPU, the others on the second (with two or more): the
 * waiter's polls then never yield its CPU to the thread that installs the handler. */
static void pin(bool waiter_cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(waiter_cpu ? 0 : 1, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *installer(void *arg)
{
	sigset_t s;

	(void)arg;
	pin(false);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);       /* (only the waiter takes it) */
	for (;;) {
		struct sigaction sa;

		/* (awake, so the handler comes some microseconds into the wait, not after the
		 * wake-up of a sleeping thread) */
		while (sem_trywait(&go) < 0)
			;
		for (struct timespec a, b = { 0, 0 }, *t = (clock_gettime(CLOCK_MONOTONIC, &a), &b);
		     clock_gettime(CLOCK_MONOTONIC, t), (b.tv_sec - a.tv_sec) * 1000000000L +
							(b.tv_nsec - a.tv_nsec) < 60000;)
			;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			st_die_errno("sigaction");
		pthread_kill(waiter, SIGUSR1);
		while (sem_wait(&done) < 0)
			;
		sa.sa_handler = SIG_IGN;
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			st_die_errno("sigaction");
		sem_post(&again);
	}
	return NULL;
}

static void install(const char *mode)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	if (!strcmp(mode, "before") || !strcmp(mode, "sigaction")) {
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			st_die_errno("sigaction");
	} else if (!strncmp(mode, "restart", 7)) {
		sa.sa_flags = SA_RESTART;
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			st_die_errno("sigaction");
	} else if (!strcmp(mode, "siginterrupt")) {
		if (signal(SIGUSR1, on_usr1) == SIG_ERR || siginterrupt(SIGUSR1, 1) < 0)
			st_die_errno("signal");
	} else if (!strcmp(mode, "sysv_signal")) {
		sysv = 1;
		if (sysv_signal(SIGUSR1, on_usr1) == SIG_ERR)
			st_die_errno("sysv_signal");
	} else if (!strcmp(mode, "sigset")) {
		if (sigset(SIGUSR1, on_usr1) == SIG_ERR)
			st_die_errno("sigset");
	} else if (!strcmp(mode, "ssignal")) {
		if (ssignal(SIGUSR1, on_usr1) == SIG_ERR)
			st_die_errno("ssignal");
	} else if (!strcmp(mode, "vfork")) {
		pid_t ch;
		int st;
		if (sigaction(SIGUSR1, &sa, NULL) < 0)
			st_die_errno("sigaction");
		ch = vfork();
		if (ch == 0) {
			signal(SIGUSR1, SIG_DFL);     /* the usual reset before exec */
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (ch < 0 || waitpid(ch, &st, 0) < 0)
			st_die_errno("vfork");
	} else if (!strcmp(mode, "thread")) {
		pthread_t t;
		pin(true);
		waiter = pthread_self();
		sem_init(&go, 0, 0);
		sem_init(&done, 0, 0);
		sem_init(&again, 0, 0);
		if (pthread_create(&t, NULL, installer, NULL))
			st_die("pthread_create failed");
	} else if (!strcmp(mode, "raw")) {
		/* The kernel's own structure, restorer included, copied from a handler the C
		 * library installed (with SA_RESTART) for another signal. */
		struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k;
		sa.sa_handler = on_other;
		sa.sa_flags = SA_RESTART;
		if (sigaction(SIGUSR2, &sa, NULL) < 0 ||
		    syscall(SYS_rt_sigaction, SIGUSR2, NULL, &k, sizeof(k.mask)) < 0)
			st_die_errno("rt_sigaction (read)");
		k.handler = (void *)on_usr1;
		k.flags &= ~(unsigned long)SA_RESTART;
		if (syscall(SYS_rt_sigaction, SIGUSR1, &k, NULL, sizeof(k.mask)) < 0)
			st_die_errno("rt_sigaction");
	} else {
		st_die("unknown mode '%s' (before, sigaction, siginterrupt, sysv_signal, sigset, "
		       "ssignal, vfork, thread, raw, restart, restart-timeout, accept-addrlen)", mode);
	}
}

static void send_cmd(int c, char op, int delay_us)
{
	struct cmd m = { .op = op, .delay_us = delay_us };

	if (st_write_all(c, &m, sizeof(m)) < 0)
		st_die_errno("write command");
}

/* A blocking recv of one byte: 1 when a signal ended it (the byte is then read after). */
static int recv_trial(int c)
{
	char b;
	ssize_t r = recv(c, &b, 1, 0);

	if (r == 1)
		return 0;
	if (r < 0 && errno == EINTR) {
		do
			r = recv(c, &b, 1, 0);
		while (r < 0 && errno == EINTR);
		if (r == 1)
			return 1;
	}
	st_die_errno("recv returned %zd", r);
}

static int accept_trial(int ls)
{
	int n = accept(ls, NULL, NULL);

	if (n >= 0) {
		close(n);
		return 0;
	}
	if (errno != EINTR)
		st_die_errno("accept");
	do
		n = accept(ls, NULL, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		st_die_errno("accept");
	close(n);
	return 1;
}

/* One wait of recv() (or accept()) with a signal in its middle: from the peer, or (thread)
 * from the thread that installs the handler then. 1: the signal ended it (EINTR); -1
 * (thread): the handler ran before the wait began (the command to the peer took longer than
 * the installer's delay, seen on a loaded machine, plain TCP too), so the trial says nothing. */
static int trial_once(int c, int ls, bool thread, bool acc)
{
	int r, h0 = handled, h;

	if (!thread) {
		send_cmd(c, acc ? 'S' : 'K', 40);
		return acc ? accept_trial(ls) : recv_trial(c);
	}
	sem_post(&go);
	send_cmd(c, acc ? 'A' : 'E', 100 * 1000);
	h = handled;
	r = acc ? accept_trial(ls) : recv_trial(c);
	sem_post(&done);
	while (sem_wait(&again) < 0)
		;
	return h != h0 ? -1 : r;
}

static int trial(int c, int ls, bool thread, bool acc)
{
	int r, k = 0;

	while ((r = trial_once(c, ls, thread, acc)) < 0 && ++k < 20)
		;
	return r < 0 ? 0 : r;
}

typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);

/* The shim's accept() when it is preloaded, else the C library's: called through a pointer, so
 * that a sanitizer's own accept() (which reads the length itself) is not in the way. */
static accept_fn first_accept(void)
{
	char pre[4096], *save = NULL;
	void *h = NULL;

	snprintf(pre, sizeof(pre), "%s", getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
	for (char *t = strtok_r(pre, ": ", &save); t && !h; t = strtok_r(NULL, ": ", &save))
		if (strstr(t, "faasflow_intercept"))
			h = dlopen(t, RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		st_die("no accept() found");
	return (accept_fn)dlsym(h, "accept");
}

static int accept_addrlen(void)
{
	struct sockaddr_storage sa;
	int port, ls = st_listen(NULL, &port, 0), a, b, ea, eb;
	accept_fn acc = first_accept();

	if (fork() == 0) {
		close(st_connect(port));
		close(st_connect(port));
		_exit(0);
	}
	a = acc(ls, NULL, (socklen_t *)16);
	ea = a < 0 ? errno : 0;
	b = acc(ls, (struct sockaddr *)&sa, (socklen_t *)16);
	eb = b < 0 ? errno : 0;
	wait(NULL);
	printf("RESULT null_buffer=%s errno=%d with_buffer=%s errno=%d\n", a >= 0 ? "fd" : "-1", ea,
	       b >= 0 ? "fd" : "-1", eb);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int port, ls, c, st, rin = 0, ain = 0;
	bool thread = !strcmp(mode, "thread");
	pid_t pid;

	st_prog = "st_sigwatch";
	if (argc != 2)
		st_die("usage: st_sigwatch MODE");
	if (!strcmp(mode, "accept-addrlen"))
		return accept_addrlen();
	if (!strcmp(mode, "before"))
		install(mode);
	ls = st_listen(NULL, &port, 0);
	pid = fork();
	if (pid < 0)
		st_die_errno("fork");
	if (pid == 0) {
		close(ls);
		if (thread)
			pin(false);
		peer(port);
	}
	c = accept(ls, NULL, NULL);
	if (c < 0)
		st_die_errno("accept");
	/* quick answers: both ends' waits learn to poll */
	for (int i = 0; i < WARM; i++) {
		send_cmd(c, 'E', 100);
		if (recv_trial(c))
			st_die("warm-up recv interrupted");
	}
	for (int i = 0; i < WARM / 3; i++) {
		send_cmd(c, 'A', 100);
		if (accept_trial(ls))
			st_die("warm-up accept interrupted");
	}
	if (strcmp(mode, "before"))
		install(mode);
	if (!strcmp(mode, "restart-timeout")) {
		struct timeval tv = { 5, 0 };
		if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
		    setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			st_die_errno("SO_RCVTIMEO");
	}
	for (int i = 0; i < TRIALS; i++) {
		send_cmd(c, 'E', 100);        /* (keeps the wait's estimate where it was) */
		recv_trial(c);
		rin += trial(c, ls, thread, false);
	}
	for (int i = 0; i < TRIALS; i++)
		ain += trial(c, ls, thread, true);
	printf("RESULT mode=%s recv_eintr=%d/%d accept_eintr=%d/%d framed=%d\n", mode, rin, TRIALS,
	       ain, TRIALS, st_fd_status(c) >= 0 && (st_fd_status(c) & 2) ? 1 : 0);
	send_cmd(c, 'Q', 0);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		st_die("the peer failed");
	return 0;
}
