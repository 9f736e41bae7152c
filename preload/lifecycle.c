/* Connections come and go: connect (client upgrade decision), listen (registration), accept,
 * close, shutdown, the dup family and fork. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)      /* linux/close_range.h (musl does not include it) */
#endif
#ifndef __GLIBC__
int close_range(unsigned int first, unsigned int last, int flags);   /* not declared by musl */
#endif

static bool is_inet_stream(int fd, const struct sockaddr *sa)
{
	int type = 0;
	socklen_t l = sizeof(type);

	if (sa && sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
		return false;
	if (!sa) {
		int dom = 0;
		l = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 ||
		    (dom != AF_INET && dom != AF_INET6))
			return false;
	}
	return true;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct ff_conn *c = NULL;
	int r, saved;

	ff_init();
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		ff_start();
	if (ff_passthrough() || !ff_proc.cfg.enabled || !sa || ff_fd_tracked(fd) ||
	    !is_inet_stream(fd, sa))
		return ff_real.connect(fd, sa, len);
	if (ff_ctl_lookup(sa, len)) {
		/* (another thread's first registration may not have mapped the region yet: the
		 * look-up answered on a private control connection) */
		if (ff_mapped())
			ff_counter_add(&ff_rg()->hdr->c.upgrade_attempts, 1);
		if (ff_region_usable()) {
			c = ff_conn_new(FF_KIND_CONN);
		} else {
			ff_note_fallback(FF_FB_DISABLED, "the region is switched off or unusable");
		}
	}
	r = ff_real.connect(fd, sa, len);
	saved = errno;
	if (c) {
		if (r == 0 || errno == EINPROGRESS || errno == EINTR) {
			uint32_t in_key = 0;
			c->is_client = true;
			if (ff_conn_tuple_keys(c, fd, sa, NULL, &c->tx_key, &in_key)) {
				ff_pair_mine(c);   /* first: a server that speaks first looks */
				ff_reader_name_first(c, in_key);
			}
			c->tx_sndbuf = ff_fd_sndbuf(fd);
			/* (a non-blocking TCP connect never returns 0: it says EINPROGRESS) */
			if (r == 0)
				ff_conn_is_blocking(c);
			/* the first write waits for the server's entry (upgrade.c) */
			atomic_store(&c->tx, FF_TX_UNDECIDED);
			atomic_store(&c->rx, FF_RX_UNDECIDED);
			ff_fd_attach(fd, c);
		} else {
			ff_conn_discard(c);
		}
	}
	errno = saved;
	return r;
}

int listen(int fd, int backlog)
{
	struct ff_conn *c;
	socklen_t l;
	int r;

	ff_init();
	r = ff_real.listen(fd, backlog);
	if (r < 0 || !is_inet_stream(fd, NULL))
		return r;
	ff_start();
	if (ff_passthrough() || !ff_proc.cfg.enabled || ff_fd_tracked(fd))
		return r;
	int saved = errno;
	/* Tracked even when the coordinator is down: it is announced when one appears. */
	c = ff_conn_new(FF_KIND_LISTENER);
	if (!c)
		goto out;
	l = sizeof(c->laddr);
	if (getsockname(fd, (struct sockaddr *)&c->laddr, &l) < 0) {
		ff_conn_discard(c);
		goto out;
	}
	ff_listener_learn(c, fd);
	ff_fd_attach(fd, c);
	ff_ctl_listen(c, true);
out:
	errno = saved;
	return r;
}

/* The local address every connection a listener accepts has: its own, unless it listens on
 * the wildcard address (NULL: ask the connection). */
static const struct sockaddr *accepted_local(const struct ff_conn *l)
{
	static const uint8_t any6[16];
	const struct sockaddr *sa = (const struct sockaddr *)&l->laddr;

	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY) ? NULL : sa;
	if (sa->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, any6, 16) ? sa : NULL;
	return NULL;
}

/* peer: the address accept() returned (NULL: not known, ask the connection); nonblock: it was
 * asked for (SOCK_NONBLOCK; else the new socket blocks, whatever the listener's mode). */
static int track_accepted(int lfd, int r, const struct sockaddr *peer, bool nonblock)
{
	struct ff_conn *l, *c;

	if (r < 0 || ff_passthrough())
		return r;
	l = ff_conn_get(lfd);
	if (!l)
		return r;
	if (l->kind == FF_KIND_LISTENER)
		ff_ctl_check();
	if (l->kind == FF_KIND_LISTENER && (c = ff_conn_new(FF_KIND_CONN)) != NULL) {
		atomic_store(&c->tx, FF_TX_UNDECIDED);
		atomic_store(&c->rx, FF_RX_UNDECIDED);
		atomic_store(&c->rx_oobinline, atomic_load(&l->rx_oobinline));   /* inherited */
		if (!nonblock)
			ff_conn_is_blocking(c);
		uint32_t in_key = 0;
		c->tx_sndbuf = ff_fd_sndbuf(lfd);     /* accepted sockets inherit the listener's */
		ff_fd_sndbuf_note(r, c->tx_sndbuf);
		ff_fd_attach(r, c);
		if (ff_conn_tuple_keys(c, r, peer, accepted_local(l), &c->tx_key, &in_key)) {
			ff_pair_mine(c);     /* first: the client's first write waits for it */
			ff_reader_name_first(c, in_key);
		}
	}
	ff_conn_put(l);
	return r;
}

/* A blocking accept on a shim listener spins a while first (spin.c): a client that opens a
 * connection per request comes back within tens of microseconds, and waking the server from
 * its sleep was a good part of such a request's time (8-byte request on a new connection:
 * 75 us plain, 38 us with this and the reader's spin). Learnt per process: a server whose
 * clients come seldom sleeps at once. */
static struct ff_spin accept_spin = {
	.ns = 50 * 1000, .min_ns = 5 * 1000, .max_ns = 200 * 1000,
};

static int do_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags, bool four)
{
	struct ff_conn *l;
	uint64_t t0 = 0;
	int ready = 1, r, saved;

	ff_init();     /* a listener the shim tracks was seen after start-up */
	if (!ff_passthrough() && (l = ff_conn_get(fd)) != NULL) {
		if (l->kind == FF_KIND_LISTENER && ff_may_spin() && ff_conn_blocking(l, fd, 0) > 0 &&
		    !ff_spin_skip(&accept_spin))
			ready = ff_spin_readable(fd, &accept_spin, &t0);
		ff_conn_put(l);
	}
	if (ready < 0)
		return -1;
	/* The peer's address comes with the connection when the caller does not want it (the
	 * kernel then ignores addrlen): asked for here, no getpeername. (A caller's own buffer is
	 * not read: its size is known only through a pointer the kernel may find bad.) */
	struct sockaddr_storage own;
	socklen_t ownl = sizeof(own);
	struct sockaddr *asa = sa ? sa : (struct sockaddr *)&own;
	socklen_t *alen = sa ? len : &ownl;
	r = four ? ff_real.accept4(fd, asa, alen, flags) : ff_real.accept(fd, asa, alen);
	saved = errno;
	if (!ready)
		ff_spin_slept(&accept_spin, t0);
	const struct sockaddr *peer = r >= 0 && !sa ? (const struct sockaddr *)&own : NULL;
	r = track_accepted(fd, r, peer, four && (flags & SOCK_NONBLOCK));
	errno = saved;
	return r;
}

int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return do_accept(fd, sa, len, 0, false);
}

int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	return do_accept(fd, sa, len, flags, true);
}

/* Our own descriptors (the control socket) may be closed by a program that closes "all fds". */
static void guard_own(int fd)
{
	if (fd >= 0 && (fd == ff_ctl.fd || fd == ff_ctl.rfd))
		ff_ctl_forget(fd);     /* the caller closes it; we connect again when needed */
}

/* The last reference of a connection that was reset: nobody will read its payloads in flight,
 * so they come back now. (A connection closed normally keeps them: the peer may still be
 * reading after our close, exactly as it still reads TCP bytes we sent before closing.) */
static void before_close(int fd, struct ff_conn *c)
{
	int err = 0, unread = 1;
	socklen_t l = sizeof(err);

	/* Asked only of a connection named as ours to read: the others send no unname. A
	 * sandboxed process (sandbox.c) asks nothing: its filter may not allow the calls, and it
	 * sends no unname either. */
	if (ff_is_sandboxed())
		return;
	if (c && c->kind == FF_KIND_CONN && atomic_load(&c->fdrefs) == 1 &&
	    (atomic_load(&c->rd_keys[0]) || atomic_load(&c->rd_keys[1])))
		c->rd_clean = !c->rx_db_active && !c->rx_stash_len && !c->rx_inline_left &&
			      ff_real.ioctl(fd, FIONREAD, &unread) == 0 && unread == 0;

	if (!c || c->kind != FF_KIND_CONN || atomic_load(&c->fdrefs) != 1 ||
	    atomic_load(&c->tx) != FF_TX_FRAMED || !ff_slot_in_flight(c->cookie))
		return;      /* (nothing in flight: no need to ask the socket) */
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && (err == ECONNRESET || err == EPIPE))
		ff_slot_reclaim_conn(c->cookie);
}

int close(int fd)
{
	ff_init();
	if (ff_in_vfork_child())
		ff_vfork_note(fd, fd, NULL);
	else if (!ff_passthrough()) {
		if (ff_fd_sndbuf(fd))
			ff_fd_sndbuf_note(fd, 0);
		guard_own(fd);
		if (ff_fd_tracked(fd))
			return ff_fd_close(fd, before_close);
	}
	return ff_real.close(fd);
}

int close_range(unsigned int first, unsigned int last, int flags)
{
	int r;

	ff_init();
	if (!ff_real.close_range) {
		errno = ENOSYS;
		return -1;
	}
	r = ff_real.close_range(first, last, flags);
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && ff_in_vfork_child())
		ff_vfork_note((int)(first > INT_MAX ? INT_MAX : first),
			      (int)(last > INT_MAX ? INT_MAX : last), NULL);
	else if (r == 0 && !ff_passthrough() && !(flags & CLOSE_RANGE_CLOEXEC)) {
		unsigned int hi = (unsigned int)ff_fdtab_max();
		if (last > hi)
			last = hi;
		if (ff_ctl.fd >= 0 && (unsigned int)ff_ctl.fd >= first && (unsigned int)ff_ctl.fd <= last)
			guard_own(ff_ctl.fd);
		if (ff_ctl.rfd >= 0 && (unsigned int)ff_ctl.rfd >= first && (unsigned int)ff_ctl.rfd <= last)
			guard_own(ff_ctl.rfd);
		for (unsigned int fd = first; fd <= last && fd <= hi; fd++)
			if (ff_fd_tracked((int)fd))
				ff_fd_detach((int)fd);
	}
	return r;
}

int shutdown(int fd, int how)
{
	struct ff_conn *c;

	ff_init();
	if (!ff_passthrough() && (how == SHUT_WR || how == SHUT_RDWR) && (c = ff_conn_get(fd))) {
		/* Frame bytes already accepted go out before the FIN; a run takes no more. */
		if (c->kind == FF_KIND_CONN && c->tx_pend_len) {
			struct iovec none = { 0 };
			ff_tx(c, fd, &none, 0, 0);
		}
		if (c->kind == FF_KIND_CONN) {
			pthread_mutex_lock(&c->tx_lock);
			ff_tx_run_end(c);
			pthread_mutex_unlock(&c->tx_lock);
		}
		ff_conn_put(c);
	}
	return ff_real.shutdown(fd, how);
}

static int share(int oldfd, int newfd)
{
	struct ff_conn *c;

	if (newfd < 0 || ff_passthrough())
		return newfd;
	c = ff_conn_get(oldfd);
	if (c) {
		ff_fd_attach(newfd, c);
		ff_conn_put(c);
	}
	return newfd;
}

int dup(int fd)
{
	int r;

	ff_init();
	r = ff_real.dup(fd);
	if (r >= 0 && ff_in_vfork_child()) {
		ff_vfork_note(r, r, ff_vfork_peek(fd));
		return r;
	}
	return share(fd, r);
}

static int dup_to(int oldfd, int newfd, int r)
{
	if (r >= 0 && oldfd != newfd && ff_in_vfork_child()) {
		ff_vfork_note(newfd, newfd, ff_vfork_peek(oldfd));
		return r;
	}
	if (r < 0 || ff_passthrough() || oldfd == newfd)
		return r;
	guard_own(newfd);
	if (ff_fd_tracked(oldfd))
		return share(oldfd, r);
	if (ff_fd_tracked(newfd))
		ff_fd_detach(newfd);
	return r;
}

int dup2(int oldfd, int newfd)
{
	ff_init();
	return dup_to(oldfd, newfd, ff_real.dup2(oldfd, newfd));
}

int dup3(int oldfd, int newfd, int flags)
{
	ff_init();
	return dup_to(oldfd, newfd, ff_real.dup3(oldfd, newfd, flags));
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;
	int r;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	ff_init();
	if (cmd == F_SETFL)
		ff_nb_changed();
	r = ff_real.fcntl(fd, cmd, arg);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0 && ff_in_vfork_child())
		ff_vfork_note(r, r, ff_vfork_peek(fd));
	else if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
		share(fd, r);
	return r;
}

int fcntl64(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

/* TCP_NODELAY is the application's: the shim remembers it to push doorbells itself. */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct ff_conn *c;
	int r;

	ff_init();
	if (level == SOL_SOCKET && name == SO_SNDBUF)
		ff_start();     /* noted for the connection this fd may become */
	r = ff_real.setsockopt(fd, level, name, val, len);
	if (r == 0 && level == SOL_SOCKET && name == SO_SNDBUF && val && len >= sizeof(int) &&
	    !ff_passthrough()) {
		/* what the kernel made of it (doubled, capped by net.core.wmem_max) */
		int eff = 0;
		socklen_t el = sizeof(eff);
		uint32_t v = getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &eff, &el) == 0 && eff > 0 ?
			     (uint32_t)eff : 1;
		ff_fd_sndbuf_note(fd, v);
		if ((c = ff_conn_get(fd))) {
			c->tx_sndbuf = v;
			ff_conn_put(c);
		}
	}
	if (r == 0 && level == SOL_SOCKET && name == SO_RCVLOWAT && !ff_passthrough() &&
	    (c = ff_conn_get(fd))) {
		ff_rx_lowat_set(c, fd);
		ff_conn_put(c);
	}
	if (r == 0 && level == SOL_SOCKET && name == SO_OOBINLINE && val && len >= sizeof(int) &&
	    !ff_passthrough() && (c = ff_conn_get(fd))) {
		atomic_store(&c->rx_oobinline, *(const int *)val != 0);
		ff_conn_put(c);
	}
	if (r == 0 && level == IPPROTO_TCP && name == TCP_NODELAY && val && len >= sizeof(int) &&
	    !ff_passthrough() && (c = ff_conn_get(fd))) {
		c->nodelay = *(const int *)val != 0;
		ff_conn_put(c);
	}
	return r;
}

pid_t fork(void)
{
	ff_init();
	return ff_real.fork();   /* the atfork child handler resets per-process state */
}

