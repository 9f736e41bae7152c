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
#include "busguard.h"
#include "shim.h"
#include "sys.h"

struct ff_ctl ff_ctl = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .rfd = -1 };

#define CTL_TIMEOUT_MS      100
#define RETRY_NS            (1000ull * 1000 * 1000)
#define VALID_CHECK_NS      (100ull * 1000 * 1000)

static _Atomic uint64_t valid_checked_ns;
static _Atomic bool valid_last;
static void reannounce(void);
static void restamp(void);

uint64_t ff_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ff_ctl_drop_locked(void)
{
	if (ff_ctl.fd >= 0)
		ff_sys_close(ff_ctl.fd);
	if (ff_ctl.rfd >= 0)
		ff_sys_close(ff_ctl.rfd);
	ff_ctl.fd = ff_ctl.rfd = -1;
	ff_ctl.client_id = 0;
	ff_readers_later_drop();
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
	/* A region file shrunk under us (an operator's `truncate`) must not kill the application
	 * with SIGBUS: a fault on its pages makes the mapping zero pages, lost (busguard.h). The
	 * one signal handler the shim installs, for SIGBUS only; other faults go to the handler
	 * that was there before. */
	ff_busguard_add(m->region.base, m->region.size, true);
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
		ff_ctl_drop_locked();
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
		ff_ctl_drop_locked();
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
		ff_ctl_drop_locked();
		return false;
	}
	return true;
}

/* Caller holds ff_ctl.lock. */
bool ff_ctl_ensure_locked(void)
{
	uint64_t now;

	if (ff_ctl.fd >= 0 && !(ff_mapped() && ff_busguard_lost(ff_rg()->base)))
		return true;
	if (ff_ctl.fd >= 0)
		ff_ctl_drop_locked();     /* our region was lost: register again for the new one */
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
	ff_readers_later_drop();
	reannounce();
	restamp();
	ff_readers_rename_locked();
	return true;
}

bool ff_ctl_ensure(void)
{
	bool ok;

	pthread_mutex_lock(&ff_ctl.lock);
	ok = ff_ctl_ensure_locked();
	pthread_mutex_unlock(&ff_ctl.lock);
	return ok;
}

/* One request; on a broken connection (coordinator restarted) reconnect once and retry. */
int ff_ctl_call_locked(uint16_t type, const void *req, size_t len, void *reply,
			   size_t *rlen, int32_t *status, int timeout_ms)
{
	size_t cap = *rlen;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ff_ctl_ensure_locked())
			return -1;
		*rlen = cap;
		if (ff_ctl_call(ff_ctl.fd, type, req, len, reply, rlen, status, timeout_ms) == 0)
			return 0;
		ff_ctl_drop_locked();
	}
	return -1;
}

/* Any thread, any time: the region is mapped, switched on and its file intact (checked at
 * most every VALID_CHECK_NS; one thread does the check, the others use the last answer). */
bool ff_region_usable(void)
{
	struct ff_region *rg = ff_rg();
	uint64_t now, last;

	if (!rg)
		return false;
	if (ff_busguard_lost(rg->base)) {
		if (atomic_exchange(&valid_last, false))
			ff_note_fallback(FF_FB_NO_REGION, "the region file was truncated while in use: "
					 "its pages are gone (connections with payloads in it are reset)");
		return false;
	}
	if (!atomic_load_explicit(&rg->hdr->enabled, memory_order_relaxed))
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

void ff_netns_id(uint64_t *dev, uint64_t *ino)
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
static void make_endpoint(struct ff_endpoint *ep, const struct sockaddr_storage *ss, bool add)
{
	const char *name = getenv(FF_ENV_NAME);
	uint16_t port;
	uint64_t d, i;

	memset(ep, 0, sizeof(*ep));
	ff_to_v6((const struct sockaddr *)ss, ep->addr, &port);
	ep->port = port;
	ff_netns_id(&d, &i);
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
		ff_ctl_drop_locked();
}

void ff_ctl_listen(const struct ff_conn *listener, bool add)
{
	pthread_mutex_lock(&ff_ctl.lock);
	if (add ? ff_ctl_ensure_locked() : ff_ctl.fd >= 0)
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

/* What a listener's connections take from it: its flags for the coordinator, and SO_OOBINLINE
 * (accepted connections inherit it: an urgent first byte is then in the stream, where the
 * hello would be; set before listen(), the wrapper did not see it). */
void ff_listener_learn(struct ff_conn *c, int fd)
{
	int on = 0;
	socklen_t l = sizeof(on);

	c->ep_flags = ff_listener_flags(fd);
	atomic_store(&c->rx_oobinline, getsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &on, &l) == 0 && on);
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
			ff_ctl_drop_locked();      /* EOF, an unexpected message, or a new coordinator */
	}
	if (ff_ctl.fd < 0)
		ff_ctl_ensure_locked();
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
	if (ff_ctl_call_locked(FF_MSG_LEASE, &req, sizeof(req), reply, &rlen, &status, CTL_TIMEOUT_MS) == 0 &&
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
		ff_ctl_call_locked(FF_MSG_RETURN, req, sizeof(uint32_t) * (n + 1), reply, &rlen, &status,
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
	ff_lookup_after_fork();
	if (ff_ctl.fd >= 0)
		ff_sys_close(ff_ctl.fd);   /* the parent keeps its own connection open */
	if (ff_ctl.rfd >= 0)
		ff_sys_close(ff_ctl.rfd);
	ff_ctl.fd = ff_ctl.rfd = -1;
	ff_ctl.client_id = 0;
	ff_ctl.last_fail_ns = 0;
	ff_readers_later_drop();
}
