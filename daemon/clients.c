/* Connected processes: accepted on a tenant's control socket, identified by SO_PEERCRED,
 * given a nonzero 32-bit client id that the region records as slot owner / reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "daemon.h"
#include "log.h"

struct ffd_client *ffd_client_by_fd(struct ffd_server *s, int fd)
{
	struct ffd_client *c;

	HASH_FIND(hh_fd, s->by_fd, &fd, sizeof(fd), c);
	return c;
}

struct ffd_client *ffd_client_by_id(struct ffd_server *s, uint32_t id)
{
	struct ffd_client *c;

	if (id == 0)
		return NULL;
	HASH_FIND(hh_id, s->by_id, &id, sizeof(id), c);
	return c;
}

/* Monotonic, never 0; after a wrap, ids still in use are skipped. */
static uint32_t next_client_id(struct ffd_server *s)
{
	for (;;) {
		uint32_t id = s->next_id++;

		if (id != 0 && !ffd_client_by_id(s, id))
			return id;
	}
}

static bool gid_admitted(const struct ffd_server *s, const struct ffd_tenant *t, gid_t gid)
{
	const struct ff_config *cfg = &s->cfg;

	if (t->owner[0] && t->admit_gid != (gid_t)-1 && gid == t->admit_gid)
		return true;
	for (unsigned i = 0; i < cfg->nallow_gids; i++)
		if (cfg->allow_gids[i] == gid)
			return true;
	return false;
}

/* Root, the daemon's own uid, ALLOW_UIDS / ALLOW_GIDS, and the tenant's owner (its uid, or
 * its group when TENANT_OWNERS / OWNER names one). Groups are the peer's primary group and
 * its supplementary groups (SO_PEERGROUPS): a member of the group through a supplementary
 * group can read a 0660 region file, so it is admitted like one through its primary group. */
static bool uid_allowed(const struct ffd_server *s, const struct ffd_tenant *t, int fd,
                        uid_t uid, gid_t gid)
{
	const struct ff_config *cfg = &s->cfg;
	gid_t groups[256];
	socklen_t glen = sizeof(groups);

	if (uid == 0 || uid == s->uid)
		return true;
	if (t->owner[0] && uid == t->owner_uid)
		return true;
	for (unsigned i = 0; i < cfg->nallow_uids; i++)
		if (cfg->allow_uids[i] == uid)
			return true;
	if (gid_admitted(s, t, gid))
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0)
		return false;    /* (more than 256 groups: ERANGE; only the primary one counts) */
	for (size_t i = 0; i < glen / sizeof(gid_t); i++)
		if (gid_admitted(s, t, groups[i]))
			return true;
	return false;
}

bool ffd_client_is_admin(const struct ffd_server *s, const struct ffd_client *c)
{
	return c->uid == 0 || c->uid == s->uid;
}

struct ffd_client *ffd_client_accept(struct ffd_server *s, struct ffd_tenant *t)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct epoll_event ev = { .events = EPOLLIN };
	struct ffd_client *c;
	int fd;

	fd = accept4(t->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
			/* Out of descriptors or memory: the caller pauses this socket's accepts
			 * for a tick (no busy loop); said once per episode. */
			if (!t->accept_paused_log)
				log_warnx("accept on %s: %s with %llu clients connected (RLIMIT_NOFILE "
				          "%llu): new clients wait, accepts paused for %d ms at a time",
				          t->sock_path, strerror(e), (unsigned long long)s->nclients,
				          (unsigned long long)ffd_nofile_limit(), FFD_TICK_MS);
			t->accept_paused_log = true;
		} else if (e != EAGAIN && e != EINTR && e != ECONNABORTED) {
			log_warn("accept on %s", t->sock_path);
		}
		errno = e;
		return NULL;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		log_warn("SO_PEERCRED on a new connection to %s", t->sock_path);
		close(fd);
		return NULL;
	}
	if (!uid_allowed(s, t, fd, cr.uid, cr.gid)) {
		log_warnx("refused client uid=%u gid=%u pid=%d on %s (tenant %s): not root, not the "
		          "daemon's uid %u, not the tenant's owner '%s', not in ALLOW_UIDS / "
		          "ALLOW_GIDS", (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid, t->sock_path,
		          t->name, (unsigned)s->uid, t->owner[0] ? t->owner : "-");
		s->refused_clients++;
		close(fd);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_warnx("out of memory accepting pid %d", (int)cr.pid);
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->rfd = -1;
	c->pid = cr.pid;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->t = t;
	c->id = next_client_id(s);
	ev.data.u64 = ((uint64_t)FFD_EV_CLIENT << 32) | (uint32_t)fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("epoll_ctl for client pid %d", (int)cr.pid);
		close(fd);
		free(c);
		return NULL;
	}
	HASH_ADD(hh_fd, s->by_fd, fd, sizeof(c->fd), c);
	HASH_ADD(hh_id, s->by_id, id, sizeof(c->id), c);
	s->nclients++;
	log_debug("client %u connected: pid %d uid %u gid %u, tenant %s", c->id, (int)c->pid,
	          (unsigned)c->uid, (unsigned)c->gid, t->name);
	return c;
}

/* The control socket closed: the client is gone. Its endpoints vanish, its slots return
 * (or wait for their readers), and the next ticks look for slots it was reading. */
void ffd_client_drop(struct ffd_server *s, struct ffd_client *c)
{
	HASH_DELETE(hh_fd, s->by_fd, c);
	HASH_DELETE(hh_id, s->by_id, c);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	s->nclients--;
	if (c->flags & FF_REG_CTL)
		s->nctl--;
	ffd_ep_drop_client(c->t, c);
	ffd_readers_channel_close(s, c);
	ffd_readers_client_gone(c);
	ffd_leases_client_gone(s, c);
	s->scan_ticks = FFD_SCAN_TICKS;
	log_debug("client %u (pid %d) disconnected", c->id, (int)c->pid);
	free(c);
}

/* Shutdown: close every connection but leave the region as it is; live processes keep
 * their slots and the next coordinator start takes over whatever is not FREE. */
void ffd_clients_drop_all(struct ffd_server *s)
{
	struct ffd_client *c, *tmp;

	HASH_ITER(hh_fd, s->by_fd, c, tmp) {
		HASH_DELETE(hh_fd, s->by_fd, c);
		HASH_DELETE(hh_id, s->by_id, c);
		close(c->fd);
		ffd_ep_drop_client(c->t, c);
		ffd_readers_client_gone(c);
		free(c);
	}
	s->nclients = 0;
	s->nctl = 0;
}
