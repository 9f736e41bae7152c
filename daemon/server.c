/* The event loop: one epoll set with every tenant's listening socket, the clients, a
 * signalfd (SIGTERM, SIGINT, SIGHUP) and a 200 ms timerfd for reclamation. Single-threaded. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "daemon.h"
#include "log.h"

uint64_t ffd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int watch(struct ffd_server *s, int fd, uint32_t kind, uint32_t val)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.u64 = ((uint64_t)kind << 32) | val;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* After --daemon's fork: a signalfd watches the signals of the process that registered it
 * with epoll (its wait queue belongs to that process's signal handlers), so the child's
 * SIGTERM/SIGHUP would never wake the loop. The child makes its own. */
int ffd_server_after_fork(struct ffd_server *s)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->sigfd, NULL);
	close(s->sigfd);
	s->sigfd = fd;
	return watch(s, s->sigfd, FFD_EV_SIGNAL, 0);
}

int ffd_server_init(struct ffd_server *s)
{
	struct itimerspec its = {
		.it_interval = { 0, FFD_TICK_MS * 1000000L },
		.it_value = { 0, FFD_TICK_MS * 1000000L },
	};
	sigset_t set;

	s->http_fd = -1;
	for (int i = 0; i < FFD_HTTP_MAX_CONN; i++)
		s->http[i].fd = -1;
	s->uid = getuid();
	s->start_mono_ns = ffd_now_ns();
	{
		/* Every process of a host may hold a control connection: as many descriptors as
		 * the hard limit allows (systemd's soft default is 1024). */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	/* Client ids start at a random point, so ids recorded in the region by a previous run
	 * of the coordinator are (almost surely) not mistaken for live clients of this one. */
	if (getrandom(&s->next_id, sizeof(s->next_id), GRND_NONBLOCK) != sizeof(s->next_id))
		s->next_id = (uint32_t)ffd_now_ns() ^ ((uint32_t)getpid() << 16);
	s->next_id |= 1;
	s->first_id = s->next_id;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->rdepfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->rdepfd < 0)
		goto err;
	if (s->epfd < 0)
		goto err;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		goto err;
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0 || watch(s, s->sigfd, FFD_EV_SIGNAL, 0) < 0)
		goto err;
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timerfd < 0 || timerfd_settime(s->timerfd, 0, &its, NULL) < 0 ||
	    watch(s, s->timerfd, FFD_EV_TIMER, 0) < 0)
		goto err;
	if (ffd_tenants_open(s) < 0)
		return -1;
	for (unsigned i = 0; i < s->ntenants; i++)
		if (watch(s, s->tenants[i].listen_fd, FFD_EV_LISTEN, i) < 0)
			goto err;
	if (ffd_http_open(s) < 0)
		return -1;
	return 0;
err:
	fprintf(stderr, "faasflowd: cannot set up the event loop: %s\n", strerror(errno));
	return -1;
}

void ffd_server_fini(struct ffd_server *s)
{
	ffd_http_close(s);
	ffd_clients_drop_all(s);
	ffd_tenants_close(s);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->rdepfd >= 0)
		close(s->rdepfd);
	s->timerfd = s->sigfd = s->epfd = s->rdepfd = -1;
}

/* One packet into s->buf; a descriptor passed with it (SCM_RIGHTS) into s->rx_fd. Room is
 * made for one: the kernel closes any more a client passes. */
static ssize_t recv_packet(struct ffd_server *s, int fd)
{
	struct iovec iov = { .iov_base = s->buf, .iov_len = FF_MSG_MAX };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	                     .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; CMSG_LEN(off + sizeof(int)) <= c->cmsg_len; off += sizeof(int)) {
			int pfd;

			memcpy(&pfd, CMSG_DATA(c) + off, sizeof(pfd));
			if (s->rx_fd < 0)
				s->rx_fd = pfd;
			else
				close(pfd);
		}
	}
	return n;
}

static void on_client(struct ffd_server *s, int fd, uint32_t events)
{
	struct ffd_client *c = ffd_client_by_fd(s, fd);
	ssize_t n;

	if (!c)
		return;
	for (int burst = 0; burst < 16; burst++) {
		n = recv_packet(s, fd);
		if (n > 0) {
			ffd_handle_packet(s, c, (size_t)n);
			if (s->rx_fd >= 0)
				close(s->rx_fd);        /* a descriptor nobody asked for */
			s->rx_fd = -1;
			continue;
		}
		if (s->rx_fd >= 0)
			close(s->rx_fd);
		s->rx_fd = -1;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* 0: orderly close (or an empty packet: a header it is not, and we cannot tell
		 * them apart on SOCK_SEQPACKET); < 0: reset. Either way the client is gone. */
		ffd_client_drop(s, c);
		return;
	}
	(void)events;
}

static void on_signal(struct ffd_server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			ffd_notify("RELOADING=1");
			ffd_reload(s);
			ffd_notify("READY=1");
		} else {
			log_info("signal %u from pid %u: shutting down", si.ssi_signo, si.ssi_pid);
			s->stop = true;
		}
	}
}

/* New clients on a tenant's socket. Out of descriptors (EMFILE, ENFILE) or memory, the
 * socket stays readable with the client still queued: it is taken off the loop until the
 * next tick instead of being retried at once, for ever (a coordinator at RLIMIT_NOFILE spun
 * at full CPU and logged every attempt). */
static void on_listen(struct ffd_server *s, struct ffd_tenant *t, uint32_t idx)
{
	for (int k = 0; k < 16; k++) {
		errno = 0;
		if (ffd_client_accept(s, t)) {
			t->accept_paused_log = false;
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			struct epoll_event ev = { .events = 0 };
			ev.data.u64 = ((uint64_t)FFD_EV_LISTEN << 32) | idx;
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, t->listen_fd, &ev);
			t->accept_paused = true;
			return;
		}
		if (errno == EAGAIN || errno == EINTR)
			return;
	}
}

static void resume_accepts(struct ffd_server *s)
{
	for (unsigned i = 0; i < s->ntenants; i++) {
		struct ffd_tenant *t = &s->tenants[i];
		struct epoll_event ev = { .events = EPOLLIN };

		if (!t->accept_paused)
			continue;
		ev.data.u64 = ((uint64_t)FFD_EV_LISTEN << 32) | i;
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, t->listen_fd, &ev) == 0)
			t->accept_paused = false;
	}
}

uint64_t ffd_nofile_limit(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0;
}

static void on_timer(struct ffd_server *s)
{
	uint64_t ticks;

	if (read(s->timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	resume_accepts(s);
	ffd_readers_drain_all(s);       /* before any decision that depends on readers */
	for (unsigned i = 0; i < s->ntenants; i++) {
		ffd_tenant_region_check(s, &s->tenants[i]);
		ffd_leases_tick(s, &s->tenants[i]);
		ffd_ep_tick(&s->tenants[i], ffd_now_ns());
	}
	if (s->scan_ticks)
		s->scan_ticks--;
	ffd_http_tick(s);
}

int ffd_server_run(struct ffd_server *s)
{
	struct epoll_event evs[64];

	while (!s->stop) {
		int n = epoll_wait(s->epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			uint32_t kind = (uint32_t)(evs[i].data.u64 >> 32);
			uint32_t val = (uint32_t)evs[i].data.u64;

			switch (kind) {
			case FFD_EV_LISTEN:
				on_listen(s, &s->tenants[val], val);
				break;
			case FFD_EV_CLIENT:
				on_client(s, (int)val, evs[i].events);
				break;
			case FFD_EV_SIGNAL:
				on_signal(s);
				break;
			case FFD_EV_TIMER:
				on_timer(s);
				break;
			case FFD_EV_HTTP_LISTEN:
				ffd_http_accept(s);
				break;
			case FFD_EV_HTTP:
				ffd_http_event(s, val, evs[i].events);
				break;
			}
		}
	}
	return 0;
}
