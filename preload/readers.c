/* Naming the connections this process reads to the coordinator (see daemon/readers.c): slots
 * in flight on a connection whose reader lives are kept for as long as it lives, whatever
 * became of their writer; when no process reads a connection any more, its slots come back.
 *
 * Both ends derive a direction's key from the connection's addresses (writer's end first) and
 * the region's id, so a reader names the key before the first byte arrives (a reader that
 * comes a minute late to a writer that has exited still gets every byte). A hello that brings
 * another key (address translation, a hand-over) is named too. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "shim.h"
#include "sys.h"

#define READERS_BATCH 64

/* Unnames that may wait, under ff_ctl.lock: they go first in the next packet of names. Those
 * of an earlier registration are dropped with it (the new coordinator never knew those keys).
 * One place is kept for the name that carries them. */
static struct ff_reader rd_later[READERS_BATCH - 1];
static unsigned rd_nlater;

void ff_readers_later_drop(void)
{
	rd_nlater = 0;
}

bool ff_conn_tuple_keys(struct ff_conn *c, int fd, const struct sockaddr *peer,
			const struct sockaddr *local, uint32_t *out_key, uint32_t *in_key)
{
	struct sockaddr_storage l, p;
	socklen_t ll = sizeof(l), pl = sizeof(p);
	uint8_t la[16], pa[16];
	uint16_t lport, pport;

	if (local)
		memcpy(&l, local, local->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							       : sizeof(struct sockaddr_in));
	else if (getsockname(fd, (struct sockaddr *)&l, &ll) < 0)
		return false;
	if (!peer) {
		if (getpeername(fd, (struct sockaddr *)&p, &pl) < 0)
			return false;
		peer = (const struct sockaddr *)&p;
	}
	if ((l.ss_family != AF_INET && l.ss_family != AF_INET6) ||
	    (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
		return false;
	ff_to_v6((const struct sockaddr *)&l, la, &lport);
	ff_to_v6(peer, pa, &pport);
	*out_key = ff_dir_key(ff_region_id(), la, lport, pa, pport);
	*in_key = ff_dir_key(ff_region_id(), pa, pport, la, lport);
	memcpy(c->tup.srv, c->is_client ? pa : la, 16);
	memcpy(c->tup.cli, c->is_client ? la : pa, 16);
	c->tup.srv_port = c->is_client ? pport : lport;
	c->tup.cli_port = c->is_client ? lport : pport;
	c->tup_ok = true;
	return true;
}

void ff_reader_name(struct ff_conn *c, uint32_t key)
{
	uint32_t k0, k1;

	if (!key || ff_is_sandboxed())
		return;
	k0 = atomic_load(&c->rd_keys[0]);
	k1 = atomic_load(&c->rd_keys[1]);
	if (k0 == key || k1 == key)
		return;
	if (!k0) {
		atomic_store(&c->rd_keys[0], key);
	} else {
		atomic_store(&c->rd_keys[1], key);     /* the newest replaces the second */
		if (k1)
			ff_ctl_readers(c, k1, FF_READER_DEL, false);
	}
	ff_ctl_readers(c, key, FF_READER_ADD, false);
}

/* A connection with our own entry in the pair table needs no message: the coordinator takes
 * the entries that live processes hold as their ends' reader names (it derives the keys as
 * ff_conn_tuple_keys does), so accept() and connect() send nothing (a request on a new
 * connection paid a send on each end). The entry stays as long as this process holds the
 * connection (upgrade.c); a registration (a restart of the coordinator, a forked child's)
 * names it like any other, and a hand-over before our close names it (ff_reader_unpair). */
void ff_reader_name_first(struct ff_conn *c, uint32_t key)
{
	if (key && c->pair_at >= 0 && !atomic_load(&c->rd_keys[0])) {
		atomic_store(&c->rd_keys[0], key);
		c->rd_paired = true;
		return;
	}
	ff_reader_name(c, key);
}

void ff_reader_unpair(struct ff_conn *c)
{
	uint32_t k = atomic_load(&c->rd_keys[0]);

	if (!c->rd_paired)
		return;
	c->rd_paired = false;
	if (k && !ff_is_sandboxed())
		ff_ctl_readers(c, k, FF_READER_ADD, false);
}

/* A connection closed with nothing unread (rd_clean, seen by close()) holds no slot of ours:
 * its unname only lets the coordinator forget the key, so it waits for the next name this
 * process sends and goes in the same packet (a request per connection sent four names, each a
 * system call on both ends' paths); one named by our pair entry needs none. Any other is
 * unnamed at once: its writer's slots come back after the grace period. */
void ff_reader_unname(struct ff_conn *c)
{
	for (int i = 0; i < 2; i++) {
		uint32_t k = atomic_exchange(&c->rd_keys[i], 0);
		if (!k || ff_is_sandboxed())
			continue;
		if (i == 0 && c->rd_paired) {
			c->rd_paired = false;
			if (!c->rd_clean)
				ff_ctl_readers(c, k, FF_READER_GONE, false);
		} else {
			ff_ctl_readers(c, k, FF_READER_DEL, c->rd_clean);
		}
	}
}

/* Names go on the readers channel (read by the coordinator at its next tick), else, when it
 * is full or missing, in a READERS message on the control socket. Caller holds ff_ctl.lock. */
static void readers_send_locked(const struct ff_reader *r, size_t n)
{
	_Alignas(8) uint8_t pkt[sizeof(struct ff_msg_hdr) + READERS_BATCH * sizeof(struct ff_reader)];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t len;

	if (ff_ctl.fd < 0 || !n)
		return;
	if (ff_ctl.rfd >= 0) {
		iov.iov_base = (void *)r;
		iov.iov_len = n * sizeof(*r);
		if (ff_sys_sendmsg(ff_ctl.rfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			ff_sys_close(ff_ctl.rfd);     /* the coordinator is gone or let it go */
			ff_ctl.rfd = -1;
		}
		/* Full until the coordinator's next tick: this message wakes it, and it reads
		 * the channel before the message. */
	}
	len = ff_msg_encode(pkt, sizeof(pkt), FF_MSG_READERS, 0, 0, r, n * sizeof(*r));
	if (len < 0)
		return;
	iov.iov_base = pkt;
	iov.iov_len = (size_t)len;
	if (ff_sys_sendmsg(ff_ctl.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
	    errno != EINTR)
		ff_ctl_drop_locked();
}

/* A new registration: name every connection we read, once each (dup'ed fds share one). */
void ff_readers_rename_locked(void)
{
	struct ff_reader r[READERS_BATCH];
	size_t n = 0;
	int hi = ff_fdtab_max();

	for (int fd = 0; fd <= hi; fd++) {
		struct ff_conn *c = ff_fd_peek(fd);
		if (!c || c->kind != FF_KIND_CONN || c->rd_named == ff_ctl.reg_serial)
			continue;
		c->rd_named = ff_ctl.reg_serial;
		c->rd_paired = false;     /* named now: its close unnames it */
		for (int i = 0; i < 2; i++) {
			uint32_t k = atomic_load(&c->rd_keys[i]);
			if (!k)
				continue;
			r[n].key = k;
			r[n++].op = FF_READER_ADD;
			if (n == READERS_BATCH) {
				readers_send_locked(r, n);
				n = 0;
			}
		}
	}
	readers_send_locked(r, n);
}

void ff_ctl_readers(struct ff_conn *c, uint32_t key, uint32_t op, bool lazy)
{
	bool add = op == FF_READER_ADD;
	struct ff_reader r[READERS_BATCH];
	unsigned n;

	pthread_mutex_lock(&ff_ctl.lock);
	if (add && ff_ctl.fd < 0 && ff_ctl_ensure_locked() && c->rd_named == ff_ctl.reg_serial) {
		pthread_mutex_unlock(&ff_ctl.lock);   /* the registration named it with the others */
		return;
	}
	if (ff_ctl.fd >= 0) {
		if (lazy && op == FF_READER_DEL && rd_nlater < READERS_BATCH - 1) {
			rd_later[rd_nlater++] = (struct ff_reader){ .key = key, .op = FF_READER_DEL };
			pthread_mutex_unlock(&ff_ctl.lock);
			return;
		}
		n = rd_nlater;
		memcpy(r, rd_later, n * sizeof(r[0]));
		rd_nlater = 0;
		r[n++] = (struct ff_reader){ .key = key, .op = op };
		readers_send_locked(r, n);
		c->rd_named = ff_ctl.reg_serial;
	}
	pthread_mutex_unlock(&ff_ctl.lock);
}
