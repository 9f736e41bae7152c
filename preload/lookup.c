/* Which destinations may be upgraded: PEERS, then the coordinator's registry of listeners,
 * asked once per destination and kept for the time its answer says. The registry is a hint:
 * the connection's two ends still prove themselves through the pair table (upgrade.c). */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "shim.h"
#include "sys.h"

#define LOOKUP_TIMEOUT_MS   10
#define LOOKUP_CACHE        64

struct lookup_entry {
	uint8_t addr[16];
	uint16_t port;
	bool found;
	uint64_t expires_ns;
};
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;   /* lcache, never held across a call */
static struct lookup_entry lcache[LOOKUP_CACHE];
static unsigned lcache_next;

void ff_lookup_after_fork(void)
{
	pthread_mutex_init(&cache_lock, NULL);
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

	/* Until this process has registered (and mapped the region), every look-up waits for the
	 * thread that registers: one on a private connection would find a live listener, and its
	 * connection would still be plain for want of a region. Later, a busy control connection
	 * (another thread's look-up) is not waited for. */
	if (ff_mapped() ? pthread_mutex_trylock(&ff_ctl.lock) == 0 :
	    pthread_mutex_lock(&ff_ctl.lock) == 0) {
		rc = ff_ctl_call_locked(FF_MSG_LOOKUP, req, sizeof(*req), reply, &rlen, &status,
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
		 * the other's entry in the pair table (upgrade.c), so the connection stays plain
		 * at once instead of waiting for a proof that cannot come. */
		ff_note_fallback(FF_FB_NOT_PEER, "a PEERS entry name@host:port is reached through "
				 "a port mapping, where the two ends cannot be paired: plain TCP");
		return false;
	}
	{
		uint64_t d, i;
		ff_netns_id(&d, &i);
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
