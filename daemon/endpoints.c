/* Listening endpoints of shim processes, keyed by (netns, addr, port, owner client).
 *
 * An endpoint is a hint, never proof: a connection is upgraded only once both of its ends
 * put their entries in the region's pair table (common/pairs.h). So an endpoint whose
 * process's control connection closed lingers for EP_LINGER_NS instead of going at once:
 * a server that daemonizes (the parent registered the listener and exited, the child accepts)
 * or a worker that inherited the listener still has its first connections upgraded; the
 * child announces it again at its first accept(). The endpoints are saved next to the
 * control socket (<socket>.endpoints) at every tick that changed them and at exit, and a
 * coordinator that starts again takes them back as lingering: listeners are known again at
 * once after a restart, without waiting for their next accept(). A stale hint costs only the
 * client's bounded wait for a proof that does not come (preload/confirm.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "sys.h"

#define EP_LINGER_NS   (600ull * 1000 * 1000 * 1000)
#define EP_LINGER_MAX  4096u
#define EP_FILE_MAGIC  "FFEP1\n"

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

static void ep_free(struct ffd_tenant *t, struct ffd_endpoint *e)
{
	HASH_DELETE(hh, t->endpoints, e);
	if (e->key.client_id == 0)
		t->nlinger--;
	free(e);
	t->nendpoints--;
	t->ep_dirty = true;
}

/* Keep e (of a process gone) as a lingering hint, or free it. */
static void ep_linger(struct ffd_tenant *t, struct ffd_endpoint *e, uint64_t until)
{
	struct ffd_ep_key k = e->key;
	struct ffd_endpoint *old;

	HASH_DELETE(hh, t->endpoints, e);
	t->nendpoints--;
	t->ep_dirty = true;
	k.client_id = 0;
	HASH_FIND(hh, t->endpoints, &k, sizeof(k), old);
	if (old || t->nlinger >= EP_LINGER_MAX) {
		if (old && old->linger_until < until)
			old->linger_until = until;
		free(e);
		return;
	}
	e->key = k;
	e->pid = 0;
	e->linger_until = until;
	HASH_ADD(hh, t->endpoints, key, sizeof(e->key), e);
	t->nendpoints++;
	t->nlinger++;
}

int ffd_ep_add(struct ffd_tenant *t, struct ffd_client *c, const struct ff_endpoint *ep)
{
	struct ffd_ep_key k;
	struct ffd_endpoint *e;

	if (ep->naddrs > 16 || ep->port == 0 || memchr(ep->name, 0, sizeof(ep->name)) == NULL)
		return EINVAL;
	make_key(&k, ep, 0);
	HASH_FIND(hh, t->endpoints, &k, sizeof(k), e);
	if (e)
		ep_free(t, e);      /* announced again by a live process */
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
	t->ep_dirty = true;
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
	ep_free(t, e);          /* closed by its process: nothing lingers */
	c->nendpoints--;
	return 0;
}

void ffd_ep_drop_client(struct ffd_tenant *t, struct ffd_client *c)
{
	struct ffd_endpoint *e, *tmp;
	uint64_t until = ffd_now_ns() + EP_LINGER_NS;

	if (!c->nendpoints)
		return;
	HASH_ITER(hh, t->endpoints, e, tmp) {
		if (e->key.client_id == c->id)
			ep_linger(t, e, until);
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
	t->nlinger = 0;
}

void ffd_ep_tick(struct ffd_tenant *t, uint64_t now)
{
	struct ffd_endpoint *e, *tmp;

	if (t->nlinger) {
		HASH_ITER(hh, t->endpoints, e, tmp) {
			if (e->key.client_id == 0 && now >= e->linger_until)
				ep_free(t, e);
		}
	}
	if (t->ep_dirty)
		ffd_ep_save(t);
}

static int ep_path(const struct ffd_tenant *t, char *buf, size_t len, const char *suffix)
{
	int n = snprintf(buf, len, "%s.endpoints%s", t->sock_path, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Written whole to a new file, then renamed over the old one: a reader never sees half. */
void ffd_ep_save(struct ffd_tenant *t)
{
	static bool warned;
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	const struct ffd_endpoint *e, *n;
	uint32_t count = (uint32_t)t->nendpoints;
	FILE *f;
	int fd;

	t->ep_dirty = false;
	if (ep_path(t, path, sizeof(path), "") || ep_path(t, tmp, sizeof(tmp), ".new"))
		return;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		if (!warned)
			log_warnx("cannot save the endpoints to %s: %s (a restart forgets them until "
			          "their next accept)", tmp, strerror(errno));
		warned = true;
		return;
	}
	fwrite(EP_FILE_MAGIC, 1, sizeof(EP_FILE_MAGIC) - 1, f);
	fwrite(&count, sizeof(count), 1, f);
	HASH_ITER(hh, t->endpoints, e, n)
		fwrite(&e->ep, sizeof(e->ep), 1, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		if (!warned)
			log_warnx("cannot save the endpoints to %s: %s", path, strerror(errno));
		warned = true;
		(void)unlink(tmp);
	}
}

/* Only a file of our own user, never through a link: anybody could have put one there. */
void ffd_ep_restore(struct ffd_tenant *t)
{
	char path[PATH_MAX + 32], magic[sizeof(EP_FILE_MAGIC) - 1];
	uint64_t until = ffd_now_ns() + EP_LINGER_NS, got = 0;
	struct stat st;
	uint32_t count;
	FILE *f;
	int fd;

	if (ep_path(t, path, sizeof(path), ""))
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    !(f = fdopen(fd, "r"))) {
		log_warnx("%s is not this coordinator's file: its endpoints are not taken back",
		          path);
		close(fd);
		return;
	}
	if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) ||
	    memcmp(magic, EP_FILE_MAGIC, sizeof(magic)) != 0 ||
	    fread(&count, sizeof(count), 1, f) != 1 || count > EP_LINGER_MAX) {
		log_warnx("%s: not a list of endpoints; ignored", path);
		fclose(f);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct ffd_endpoint *e = calloc(1, sizeof(*e)), *old;

		if (!e)
			break;
		if (fread(&e->ep, sizeof(e->ep), 1, f) != 1 || e->ep.naddrs > 16 ||
		    e->ep.port == 0 || memchr(e->ep.name, 0, sizeof(e->ep.name)) == NULL) {
			free(e);
			break;
		}
		make_key(&e->key, &e->ep, 0);
		HASH_FIND(hh, t->endpoints, &e->key, sizeof(e->key), old);
		if (old) {
			free(e);
			continue;
		}
		e->linger_until = until;
		HASH_ADD(hh, t->endpoints, key, sizeof(e->key), e);
		t->nendpoints++;
		t->nlinger++;
		got++;
	}
	fclose(f);
	if (got)
		log_info("tenant %s: %llu endpoint(s) of the previous run taken back until their "
		         "processes announce them again", t->name, (unsigned long long)got);
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
