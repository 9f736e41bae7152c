/* Live listening endpoints of shim processes, keyed by (netns, addr, port, owner client).
 * An endpoint lives as long as the control connection of the client that added it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"

static const uint8_t any6[16];
static const uint8_t any4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0 };

static bool is_v4mapped(const uint8_t *a)
{
	return memcmp(a, any4, 12) == 0;
}

static bool is_loopback(const uint8_t *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (is_v4mapped(a))
		return a[12] == 127;
	return memcmp(a, lo6, 16) == 0;
}

static void make_key(struct ffd_ep_key *k, const struct ff_endpoint *ep, uint32_t client_id)
{
	memset(k, 0, sizeof(*k));
	k->netns_dev = ep->netns_dev;
	k->netns_ino = ep->netns_ino;
	memcpy(k->addr, ep->addr, 16);
	k->port = ep->port;
	k->client_id = client_id;
}

int ffd_ep_add(struct ffd_tenant *t, struct ffd_client *c, const struct ff_endpoint *ep)
{
	struct ffd_ep_key k;
	struct ffd_endpoint *e;

	if (ep->naddrs > 16 || ep->port == 0 || memchr(ep->name, 0, sizeof(ep->name)) == NULL)
		return EINVAL;
	make_key(&k, ep, c->id);
	HASH_FIND(hh, t->endpoints, &k, sizeof(k), e);
	if (!e) {
		if (c->nendpoints >= FFD_MAX_EP_PER_CLIENT)
			return ENOSPC;
		e = calloc(1, sizeof(*e));
		if (!e)
			return ENOMEM;
		e->key = k;
		HASH_ADD(hh, t->endpoints, key, sizeof(e->key), e);
		c->nendpoints++;
		t->nendpoints++;
	}
	e->ep = *ep;
	e->pid = (int32_t)c->pid;
	log_debug("client %u: listening on port %u%s%s", c->id, ep->port,
	          ep->name[0] ? " as " : "", ep->name);
	return 0;
}

int ffd_ep_del(struct ffd_tenant *t, struct ffd_client *c, const struct ff_endpoint *ep)
{
	struct ffd_ep_key k;
	struct ffd_endpoint *e;

	make_key(&k, ep, c->id);
	HASH_FIND(hh, t->endpoints, &k, sizeof(k), e);
	if (!e)
		return ENOENT;
	HASH_DELETE(hh, t->endpoints, e);
	free(e);
	c->nendpoints--;
	t->nendpoints--;
	return 0;
}

void ffd_ep_drop_client(struct ffd_tenant *t, struct ffd_client *c)
{
	struct ffd_endpoint *e, *tmp;

	if (!c->nendpoints)
		return;
	HASH_ITER(hh, t->endpoints, e, tmp) {
		if (e->key.client_id != c->id)
			continue;
		HASH_DELETE(hh, t->endpoints, e);
		free(e);
		t->nendpoints--;
	}
	c->nendpoints = 0;
}

void ffd_ep_free_all(struct ffd_tenant *t)
{
	struct ffd_endpoint *e, *tmp;

	HASH_ITER(hh, t->endpoints, e, tmp) {
		HASH_DELETE(hh, t->endpoints, e);
		free(e);
	}
	t->nendpoints = 0;
}

/* Does endpoint e accept connections to destination dst?
 * Bound address equal to dst, or a wildcard whose namespace owns dst. A loopback destination
 * reaches only listeners of the caller's own namespace. :: accepts IPv4 too (dual stack),
 * unless its listener set IPV6_V6ONLY (nginx's default): then an IPv4 destination on the
 * same port is somebody else's. */
static bool ep_matches(const struct ff_endpoint *e, const struct ff_lookup *lk)
{
	bool v4_any = memcmp(e->addr, any4, 16) == 0;
	bool v6_any = memcmp(e->addr, any6, 16) == 0;
	bool same_ns = e->netns_dev == lk->netns_dev && e->netns_ino == lk->netns_ino;

	if (e->port != lk->port)
		return false;
	if ((e->flags & FF_EP_V6ONLY) && is_v4mapped(lk->addr))
		return false;
	if (is_loopback(lk->addr)) {
		if (!same_ns)
			return false;
		if (memcmp(e->addr, lk->addr, 16) == 0 || v6_any)
			return true;
		return v4_any && is_v4mapped(lk->addr);
	}
	if (memcmp(e->addr, lk->addr, 16) == 0)
		return true;
	if (!v4_any && !v6_any)
		return false;
	if (v4_any && !is_v4mapped(lk->addr))
		return false;
	for (unsigned i = 0; i < e->naddrs && i < 16; i++)
		if (memcmp(e->ns_addrs[i], lk->addr, 16) == 0)
			return true;
	return false;
}

bool ffd_ep_lookup(const struct ffd_tenant *t, const struct ff_lookup *lk)
{
	const struct ffd_endpoint *e, *tmp;
	bool by_name = lk->name[0] != '\0';

	HASH_ITER(hh, t->endpoints, e, tmp) {
		if (by_name) {
			if (strncmp(e->ep.name, lk->name, sizeof(lk->name)) == 0)
				return true;
		} else if (ep_matches(&e->ep, lk)) {
			return true;
		}
	}
	return false;
}

size_t ffd_ep_list(const struct ffd_tenant *t, struct ff_endpoint_info *out, size_t max)
{
	const struct ffd_endpoint *e, *tmp;
	size_t n = 0;

	HASH_ITER(hh, t->endpoints, e, tmp) {
		if (n >= max)
			break;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].ep = e->ep;
		out[n].pid = e->pid;
		out[n].client_id = e->key.client_id;
		n++;
	}
	return n;
}
