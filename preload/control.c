/* The process's control connection to the coordinator: lazy (opened at the first candidate
 * connection or listener), re-opened after a coordinator restart, dropped in a forked child.
 * The region is mapped once, at the first successful registration. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "shim.h"
#include "sys.h"

struct ff_ctl ff_ctl = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .rfd = -1 };

#define CTL_TIMEOUT_MS      100
#define LOOKUP_TIMEOUT_MS   10
#define RETRY_NS            (1000ull * 1000 * 1000)
#define VALID_CHECK_NS      (100ull * 1000 * 1000)
#define LOOKUP_CACHE        64
#define READERS_BATCH       64
/* A reply buffer on the caller's stack: the header and the largest payload expected. */
#define REPLY_CAP(payload)  (sizeof(struct ff_msg_hdr) + (payload))

struct lookup_entry {
	uint8_t addr[16];
	uint16_t port;
	bool found;
	uint64_t expires_ns;
};
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;   /* lcache, never held across a call */
static struct lookup_entry lcache[LOOKUP_CACHE];
static unsigned lcache_next;
static _Atomic uint64_t valid_checked_ns;
static _Atomic bool valid_last;
/* Unnames that may wait (readers.c), under ff_ctl.lock: they go first in the next packet of
 * names. Those of an earlier registration are dropped with it (the new coordinator never knew
 * those keys). One place is kept for the name that carries them. */
static struct ff_reader rd_later[READERS_BATCH - 1];
static unsigned rd_nlater;
static void reannounce(void);
static void restamp(void);
static void rename_readers(void);

uint64_t ff_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ctl_drop(void)
{
	if (ff_ctl.fd >= 0)
		ff_sys_close(ff_ctl.fd);
	if (ff_ctl.rfd >= 0)
		ff_sys_close(ff_ctl.rfd);
	ff_ctl.fd = ff_ctl.rfd = -1;
	ff_ctl.client_id = 0;
	rd_nlater = 0;
}

/* Map the region the coordinator names, unless it is the one already in use. A replaced
 * mapping is retired, never unmapped: another thread may be copying to or from it right now,
 * and its doorbells fail their generation checks against the new one. (Replacement happens
 * only when an operator recreates the region file under running processes.) */
/* The process's address space in use (bytes), from /proc/self/statm; 0 if unknown. */
static uint64_t vm_used(void)
{
	char buf[64];
	ssize_t n;
	int fd = ff_sys_open("/proc/self/statm", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	n = ff_sys_read(fd, buf, sizeof(buf) - 1);
	ff_sys_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A process whose address space is limited (RLIMIT_AS, `ulimit -v`) maps the region only if
 * the limit leaves at least as much room again beside it and what the process uses already:
 * the application's own allocations must not fail for the region's sake (plain TCP then). */
static bool room_for_region(const char *path)
{
	struct rlimit rl;
	struct stat st;
	uint64_t used;
	char why[256];

	if (getrlimit(RLIMIT_AS, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    stat(path, &st) < 0 || st.st_size <= 0)
		return true;
	used = vm_used();
	if (used + 2 * (uint64_t)st.st_size <= (uint64_t)rl.rlim_cur)
		return true;
	snprintf(why, sizeof(why), "the address space limit (RLIMIT_AS, %llu MiB) leaves too "
		 "little room for the %llu MiB region beside the %llu MiB in use",
		 (unsigned long long)(rl.rlim_cur >> 20), (unsigned long long)(st.st_size >> 20),
		 (unsigned long long)(used >> 20));
	ff_note_fallback(FF_FB_NO_REGION, why);
	return false;
}

static bool map_region(const struct ff_register_reply *rep)
{
	struct ff_map *cur = ff_map(), *m;
	char err[512];

	if (cur && memcmp(cur->region.hdr->region_id, rep->region_id, 16) == 0)
		return true;
	if (!room_for_region(rep->region_path))
		return false;
	if (cur)
		log_info("region %s was replaced, mapping the new one", rep->region_path);
	m = calloc(1, sizeof(*m));
	if (!m) {
		ff_note_fallback(FF_FB_NO_REGION, "out of memory for the region's mapping");
		return false;
	}
	if (ff_region_open(&m->region, rep->region_path, true, err, sizeof(err)) < 0) {
		ff_note_fallback(FF_FB_NO_REGION, err);
		free(m);
		return false;
	}
	if (memcmp(m->region.hdr->region_id, rep->region_id, 16) != 0) {
		ff_note_fallback(FF_FB_NO_REGION, "region id differs from the coordinator's");
		ff_region_close(&m->region);
		free(m);
		return false;
	}
	memcpy(m->id, rep->region_id, 16);
	atomic_store_explicit(&valid_checked_ns, ff_now_ns(), memory_order_relaxed);
	atomic_store_explicit(&valid_last, true, memory_order_relaxed);
	atomic_store_explicit(&ff_ctl.map, m, memory_order_release);
	return true;
}

/* Our end of a readers channel (FF_REGR_READERS); *peer: the end REGISTER passes. None in a
 * sandboxed process (it names nothing). The send buffer bounds how many names wait for the
 * coordinator's next tick; when it is full, names go through the control socket. */
static int readers_channel(int *peer)
{
	int sv[2], big = 1 << 20;

	*peer = -1;
	if (ff_is_sandboxed() ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));   /* capped by wmem_max */
	*peer = sv[1];
	return sv[0];
}

static bool ctl_register(void)
{
	char path[PATH_MAX + 64];
	struct ff_register req;
	_Alignas(8) uint8_t reply[REPLY_CAP(sizeof(struct ff_register_reply))];
	size_t rlen = sizeof(reply);
	int32_t status;
	const char *name = getenv(FF_ENV_NAME);
	const struct ff_register_reply *rep;
	int peer, rc;

	if (ff_config_socket_path(&ff_proc.cfg, path, sizeof(path)) < 0)
		return false;
	ff_ctl.fd = ff_ctl_connect(path, CTL_TIMEOUT_MS);
	if (ff_ctl.fd < 0) {
		char why[PATH_MAX + 256];
		bool denied = errno == EACCES || errno == EPERM;
		snprintf(why, sizeof(why), "cannot connect to %s: %s%s", path, ff_strerror(errno),
			 denied ? " (give this process's user or group access: SOCKET_MODE, OWNER, "
				  "ALLOW_UIDS / ALLOW_GIDS in faasflow.conf)" : "");
		ff_note_fallback(FF_FB_NO_COORD, why);
		return false;
	}
	if (!ff_coordinator_trusted(ff_ctl.fd, path)) {
		ctl_drop();
		return false;
	}
	memset(&req, 0, sizeof(req));
	req.pid = ff_proc.pid;
	if (name)
		snprintf(req.name, sizeof(req.name), "%s", name);
	snprintf(req.tenant, sizeof(req.tenant), "%s", ff_proc.cfg.tenant);
	if (ff_ctl.rfd >= 0)
		ff_sys_close(ff_ctl.rfd);     /* left by a control socket the program closed */
	ff_ctl.rfd = readers_channel(&peer);
	rc = ff_ctl_call_fd(ff_ctl.fd, FF_MSG_REGISTER, &req, sizeof(req), peer, reply, &rlen,
			    &status, CTL_TIMEOUT_MS);
	if (peer >= 0)
		ff_sys_close(peer);
	if (rc < 0 || status != 0 || rlen != sizeof(*rep)) {
		ff_note_fallback(FF_FB_NO_COORD, "the coordinator refused or did not answer REGISTER");
		ctl_drop();
		return false;
	}
	rep = (const void *)(reply);
	if (!(rep->flags & FF_REGR_READERS) && ff_ctl.rfd >= 0) {
		ff_sys_close(ff_ctl.rfd);
		ff_ctl.rfd = -1;
	}
	ff_ctl.client_id = rep->client_id;
	ff_ctl.quota = rep->quota;
	ff_ctl.lease_batch = rep->lease_batch ? rep->lease_batch : 1;
	if (!map_region(rep)) {
		ctl_drop();
		return false;
	}
	return true;
}

/* Caller holds ff_ctl.lock. */
static bool ctl_ensure_locked(void)
{
	uint64_t now;

	if (ff_ctl.fd >= 0)
		return true;
	now = ff_now_ns();
	if (ff_ctl.last_fail_ns && now - ff_ctl.last_fail_ns < RETRY_NS)
		return false;
	if (!ctl_register()) {
		ff_ctl.last_fail_ns = now ? now : 1;
		return false;
	}
	ff_ctl.last_fail_ns = 0;
	ff_ctl.epoch = atomic_load(&ff_rg()->hdr->daemon_epoch);
	ff_ctl.reg_serial++;
	rd_nlater = 0;
	reannounce();
	restamp();
	rename_readers();
	return true;
}

bool ff_ctl_ensure(void)
{
	bool ok;

	pthread_mutex_lock(&ff_ctl.lock);
	ok = ctl_ensure_locked();
	pthread_mutex_unlock(&ff_ctl.lock);
	return ok;
}

/* One request; on a broken connection (coordinator restarted) reconnect once and retry. */
static int ctl_call_locked(uint16_t type, const void *req, size_t len, void *reply,
			   size_t *rlen, int32_t *status, int timeout_ms)
{
	size_t cap = *rlen;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ctl_ensure_locked())
			return -1;
		*rlen = cap;
		if (ff_ctl_call(ff_ctl.fd, type, req, len, reply, rlen, status, timeout_ms) == 0)
			return 0;
		ctl_drop();
	}
	return -1;
}

/* Any thread, any time: the region is mapped, switched on and its file intact (checked at
 * most every VALID_CHECK_NS; one thread does the check, the others use the last answer). */
bool ff_region_usable(void)
{
	struct ff_region *rg = ff_rg();
	uint64_t now, last;

	if (!rg || !atomic_load_explicit(&rg->hdr->enabled, memory_order_relaxed))
		return false;
	now = ff_now_ns();
	last = atomic_load_explicit(&valid_checked_ns, memory_order_relaxed);
	if (now - last > VALID_CHECK_NS &&
	    atomic_compare_exchange_strong(&valid_checked_ns, &last, now)) {
		char path[PATH_MAX];
		bool ok = ff_config_region_path(&ff_proc.cfg, ff_proc.cfg.tenant, path, sizeof(path)) == 0 &&
			  ff_region_still_valid(rg, path);
		if (!ok && atomic_load(&valid_last))
			ff_note_fallback(FF_FB_NO_REGION, "the region file was deleted, truncated or replaced");
		atomic_store(&valid_last, ok);
	}
	return atomic_load_explicit(&valid_last, memory_order_relaxed);
}

void ff_to_v6(const struct sockaddr *sa, uint8_t out[16], uint16_t *port)
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
}

static void netns_id(uint64_t *dev, uint64_t *ino)
{
	static _Atomic uint64_t d, i;
	struct stat st;

	if (!atomic_load(&i) && stat("/proc/self/ns/net", &st) == 0) {
		atomic_store(&d, st.st_dev);
		atomic_store(&i, st.st_ino);
	}
	*dev = atomic_load(&d);
	*ino = atomic_load(&i);
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rem = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rem && ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - rem))))
		return false;
	return true;
}

/* Which PEERS entry covers the destination; NULL when none does. */
static const struct ff_peer *match_peer(const uint8_t addr[16], uint16_t port)
{
	for (unsigned i = 0; i < ff_proc.cfg.npeers; i++) {
		const struct ff_peer *p = &ff_proc.cfg.peers[i];
		const uint8_t *pa = (const uint8_t *)&p->addr;
		switch (p->kind) {
		case FF_PEER_ANY:
			if (!p->port || p->port == port)
				return p;
			break;
		case FF_PEER_HOST:
		case FF_PEER_NAMED:
			if (p->port == port && memcmp(pa, addr, 16) == 0)
				return p;
			break;
		case FF_PEER_CIDR:
			if (p->port == port && prefix_match(pa, addr, p->prefix))
				return p;
			break;
		}
	}
	return NULL;
}

static struct lookup_entry *cache_find(const uint8_t addr[16], uint16_t port, uint64_t now)
{
	for (unsigned i = 0; i < LOOKUP_CACHE; i++)
		if (lcache[i].expires_ns > now && lcache[i].port == port &&
		    memcmp(lcache[i].addr, addr, 16) == 0)
			return &lcache[i];
	return NULL;
}

/* One LOOKUP round trip. The process's control connection serves it when no other thread
 * is using it; otherwise a connection of its own does (a connect() never waits behind
 * another thread's coordinator call: one slow look-up does not stall the others). */
static int lookup_call(const struct ff_lookup *req, bool *found, uint32_t *ttl)
{
	_Alignas(8) uint8_t reply[REPLY_CAP(sizeof(struct ff_lookup_reply))];
	size_t rlen = sizeof(reply);
	int32_t status;
	int rc;

	if (pthread_mutex_trylock(&ff_ctl.lock) == 0) {
		rc = ctl_call_locked(FF_MSG_LOOKUP, req, sizeof(*req), reply, &rlen, &status,
				     LOOKUP_TIMEOUT_MS);
		pthread_mutex_unlock(&ff_ctl.lock);
	} else {
		char path[PATH_MAX + 64];
		int fd;

		if (ff_config_socket_path(&ff_proc.cfg, path, sizeof(path)) < 0 ||
		    (fd = ff_ctl_connect(path, LOOKUP_TIMEOUT_MS)) < 0)
			return -1;
		rc = ff_ctl_call(fd, FF_MSG_LOOKUP, req, sizeof(*req), reply, &rlen, &status,
				 LOOKUP_TIMEOUT_MS);
		ff_sys_close(fd);
	}
	if (rc < 0)
		return -1;
	if (status == 0 && rlen == sizeof(struct ff_lookup_reply)) {
		const struct ff_lookup_reply *r = (const void *)reply;
		*found = r->found != 0;
		*ttl = r->ttl_ms;
	}
	return 0;
}

bool ff_ctl_lookup(const struct sockaddr *sa, socklen_t len)
{
	struct ff_lookup req;
	const struct ff_peer *peer;
	struct lookup_entry *e;
	bool found = false;
	uint32_t ttl = 1000;
	uint64_t now;

	if (len < sizeof(struct sockaddr_in) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return false;
	memset(&req, 0, sizeof(req));
	uint16_t port;
	ff_to_v6(sa, req.addr, &port);
	req.port = port;
	peer = match_peer(req.addr, req.port);
	if (!peer)
		return false;
	if (peer->kind == FF_PEER_NAMED) {
		/* Through a port mapping the two ends see different addresses: neither can find
		 * the other's entry in the pair table (confirm.c), so the connection stays plain
		 * at once instead of waiting for a proof that cannot come. */
		ff_note_fallback(FF_FB_NOT_PEER, "a PEERS entry name@host:port is reached through "
				 "a port mapping, where the two ends cannot be paired: plain TCP");
		return false;
	}
	{
		uint64_t d, i;
		netns_id(&d, &i);
		req.netns_dev = d;
		req.netns_ino = i;
	}

	now = ff_now_ns();
	pthread_mutex_lock(&cache_lock);
	e = cache_find(req.addr, req.port, now);
	if (e)
		found = e->found;
	pthread_mutex_unlock(&cache_lock);
	if (e)
		goto out;
	if (lookup_call(&req, &found, &ttl) < 0)
		goto out;
	pthread_mutex_lock(&cache_lock);
	e = &lcache[lcache_next++ % LOOKUP_CACHE];
	memcpy(e->addr, req.addr, 16);
	e->port = req.port;
	e->found = found;
	e->expires_ns = now + (uint64_t)ttl * 1000000ull;
	pthread_mutex_unlock(&cache_lock);
out:
	if (!found)
		ff_note_fallback(FF_FB_NOT_PEER, "the destination is not a live shim listener on this host");
	return found;
}

static void fill_ns_addrs(struct ff_endpoint *ep)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i && ep->naddrs < 16; i = i->ifa_next) {
		uint16_t port;
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		ff_to_v6(i->ifa_addr, ep->ns_addrs[ep->naddrs++], &port);
	}
	freeifaddrs(ifa);
}

static void listen_locked(const struct ff_conn *listener, bool add);

/* Every listener this process has, announced again to a (re)started coordinator. */
static void reannounce(void)
{
	int hi = ff_fdtab_max();

	for (int fd = 0; fd <= hi; fd++) {
		struct ff_conn *c = ff_fd_peek(fd);
		if (c && c->kind == FF_KIND_LISTENER)
			listen_locked(c, true);
	}
}

/* Payloads we are in the middle of reading carry our new id, so a restarted coordinator
 * knows their reader is alive. */
static void restamp(void)
{
	int hi = ff_fdtab_max();

	for (int fd = 0; fd <= hi; fd++) {
		struct ff_conn *c = ff_fd_peek(fd);
		if (!c || c->kind != FF_KIND_CONN || !c->rx_db_active)
			continue;
		struct ff_slot_meta *m = &ff_rg()->meta[c->rx_db.slot];
		if (atomic_load(&m->word) == FF_SLOT_WORD(c->rx_db.gen & FF_SLOT_GEN_MASK, FF_SLOT_READING) &&
		    atomic_load(&m->reader) != FF_READER_HANDOVER)
			atomic_store(&m->reader, ff_ctl.client_id);
	}
}

/* READERS records, sent without waiting (nothing answers them): on the readers channel, or
 * as a message when there is none or it is full. A full control socket too (a coordinator far
 * behind) drops them: those connections keep the orphan timeout. */
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
		ctl_drop();
}

/* A new registration: name every connection we read, once each (dup'ed fds share one). */
static void rename_readers(void)
{
	struct ff_reader r[READERS_BATCH];
	size_t n = 0;
	int hi = ff_fdtab_max();

	for (int fd = 0; fd <= hi; fd++) {
		struct ff_conn *c = ff_fd_peek(fd);
		if (!c || c->kind != FF_KIND_CONN || c->rd_named == ff_ctl.reg_serial)
			continue;
		c->rd_named = ff_ctl.reg_serial;
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

void ff_ctl_readers(struct ff_conn *c, uint32_t key, bool add, bool lazy)
{
	struct ff_reader r[READERS_BATCH];
	unsigned n;

	pthread_mutex_lock(&ff_ctl.lock);
	if (add && ff_ctl.fd < 0 && ctl_ensure_locked() && c->rd_named == ff_ctl.reg_serial) {
		pthread_mutex_unlock(&ff_ctl.lock);   /* the registration named it with the others */
		return;
	}
	if (ff_ctl.fd >= 0) {
		if (lazy && !add && rd_nlater < READERS_BATCH - 1) {
			rd_later[rd_nlater++] = (struct ff_reader){ .key = key, .op = FF_READER_DEL };
			pthread_mutex_unlock(&ff_ctl.lock);
			return;
		}
		n = rd_nlater;
		memcpy(r, rd_later, n * sizeof(r[0]));
		rd_nlater = 0;
		r[n++] = (struct ff_reader){ .key = key, .op = add ? FF_READER_ADD : FF_READER_DEL };
		readers_send_locked(r, n);
		c->rd_named = ff_ctl.reg_serial;
	}
	pthread_mutex_unlock(&ff_ctl.lock);
}

static void make_endpoint(struct ff_endpoint *ep, const struct sockaddr_storage *ss, bool add)
{
	const char *name = getenv(FF_ENV_NAME);
	uint16_t port;
	uint64_t d, i;

	memset(ep, 0, sizeof(*ep));
	ff_to_v6((const struct sockaddr *)ss, ep->addr, &port);
	ep->port = port;
	netns_id(&d, &i);
	ep->netns_dev = d;
	ep->netns_ino = i;
	if (name)
		snprintf(ep->name, sizeof(ep->name), "%s", name);
	if (add)
		fill_ns_addrs(ep);
}

/* Caller holds ff_ctl.lock and has a connection. */
static void listen_locked(const struct ff_conn *listener, bool add)
{
	struct ff_endpoint ep;
	_Alignas(8) uint8_t reply[REPLY_CAP(64)];
	size_t rlen = sizeof(reply);
	int32_t status;

	make_endpoint(&ep, &listener->laddr, add);
	ep.flags = listener->ep_flags;
	if (ff_ctl.fd >= 0 && ff_ctl_call(ff_ctl.fd, add ? FF_MSG_LISTEN_ADD : FF_MSG_LISTEN_DEL, &ep,
					  sizeof(ep), reply, &rlen, &status, CTL_TIMEOUT_MS) < 0)
		ctl_drop();
}

void ff_ctl_listen(const struct ff_conn *listener, bool add)
{
	pthread_mutex_lock(&ff_ctl.lock);
	if (add ? ctl_ensure_locked() : ff_ctl.fd >= 0)
		listen_locked(listener, add);
	pthread_mutex_unlock(&ff_ctl.lock);
}

/* What the coordinator must know of a listener beyond its address: an IPv6 wildcard with
 * IPV6_V6ONLY (nginx's default for [::]) does not take IPv4 connections to its port. */
uint32_t ff_listener_flags(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int on = 0;
	socklen_t ol = sizeof(on);

	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0 || ss.ss_family != AF_INET6)
		return 0;
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &ol) < 0 || !on)
		return 0;
	return FF_EP_V6ONLY;
}

/* At accept(): is the coordinator we registered with still there? After a restart, connect
 * to the new one and announce our listeners again, so new clients upgrade. A new coordinator
 * shows in the region header at once; one gone without a successor only on its socket, which
 * is polled at most every CHECK_POLL_NS (a server with a connection per request accepts
 * 20,000 a second; the poll was a system call on each). */
#define CHECK_POLL_NS (10ull * 1000 * 1000)

void ff_ctl_check(void)
{
	static _Atomic uint64_t polled_ns;
	uint64_t now = ff_now_ns();

	if (ff_mapped() && ff_ctl.epoch &&
	    atomic_load_explicit(&ff_rg()->hdr->daemon_epoch, memory_order_relaxed) == ff_ctl.epoch &&
	    now - atomic_load_explicit(&polled_ns, memory_order_relaxed) < CHECK_POLL_NS)
		return;
	atomic_store_explicit(&polled_ns, now, memory_order_relaxed);
	pthread_mutex_lock(&ff_ctl.lock);
	if (ff_ctl.fd >= 0) {
		struct pollfd p = { .fd = ff_ctl.fd, .events = POLLIN };
		if (poll(&p, 1, 0) != 0 ||
		    atomic_load(&ff_rg()->hdr->daemon_epoch) != ff_ctl.epoch)
			ctl_drop();      /* EOF, an unexpected message, or a new coordinator */
	}
	if (ff_ctl.fd < 0)
		ctl_ensure_locked();
	pthread_mutex_unlock(&ff_ctl.lock);
}

int ff_ctl_lease(uint32_t want, uint32_t *slots, uint32_t max)
{
	struct ff_lease req = { .count = want };
	_Alignas(8) uint8_t reply[REPLY_CAP(sizeof(uint32_t) * (FF_LEASE_MAX + 1))];
	size_t rlen = sizeof(reply);
	int32_t status;
	int got = 0;

	pthread_mutex_lock(&ff_ctl.lock);
	if (ctl_call_locked(FF_MSG_LEASE, &req, sizeof(req), reply, &rlen, &status, CTL_TIMEOUT_MS) == 0 &&
	    status == 0 && rlen >= sizeof(uint32_t)) {
		const struct ff_slot_list *l = (const void *)(reply);
		for (uint32_t i = 0; i < l->count && (uint32_t)got < max; i++)
			if (l->slots[i] < ff_rg()->hdr->slot_count)
				slots[got++] = l->slots[i];
	}
	pthread_mutex_unlock(&ff_ctl.lock);
	return got;
}

void ff_ctl_return(const uint32_t *slots, uint32_t n)
{
	_Alignas(8) uint8_t req[sizeof(uint32_t) * (FF_LEASE_MAX + 1)];
	_Alignas(8) uint8_t reply[REPLY_CAP(64)];
	struct ff_slot_list *l = (void *)req;
	size_t rlen = sizeof(reply);
	int32_t status;

	if (n > FF_LEASE_MAX)
		n = FF_LEASE_MAX;
	pthread_mutex_lock(&ff_ctl.lock);
	if (ff_ctl.fd >= 0) {
		l->count = n;
		memcpy(l->slots, slots, n * sizeof(uint32_t));
		ctl_call_locked(FF_MSG_RETURN, req, sizeof(uint32_t) * (n + 1), reply, &rlen, &status,
				CTL_TIMEOUT_MS);
	}
	pthread_mutex_unlock(&ff_ctl.lock);
}

/* The application closes (or dup2()s over) our control socket: stop using that number.
 * Unlike after fork, other threads may be in a control call, so the lock is taken, not
 * re-initialised. */
void ff_ctl_forget(int fd)
{
	pthread_mutex_lock(&ff_ctl.lock);
	if (ff_ctl.fd == fd) {
		ff_ctl.fd = -1;
		ff_ctl.client_id = 0;
	}
	if (ff_ctl.rfd == fd)
		ff_ctl.rfd = -1;      /* names go through the control socket from now on */
	pthread_mutex_unlock(&ff_ctl.lock);
}

void ff_ctl_after_fork(void)
{
	pthread_mutex_init(&ff_ctl.lock, NULL);
	pthread_mutex_init(&cache_lock, NULL);
	if (ff_ctl.fd >= 0)
		ff_sys_close(ff_ctl.fd);   /* the parent keeps its own connection open */
	if (ff_ctl.rfd >= 0)
		ff_sys_close(ff_ctl.rfd);
	ff_ctl.fd = ff_ctl.rfd = -1;
	ff_ctl.client_id = 0;
	ff_ctl.last_fail_ns = 0;
	rd_nlater = 0;
}
