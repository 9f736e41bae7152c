/* One request in, one reply out. Every packet is validated by ff_msg_decode() first; a bad one
 * is counted, logged and answered with its errno status when its header was readable. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon.h"
#include "log.h"

static void reply(struct ffd_server *s, struct ffd_client *c, uint16_t type, uint32_t seq,
                  int32_t status, const void *payload, size_t plen)
{
	ssize_t n = ff_msg_encode(s->out, sizeof(s->out), type, seq, status, payload, plen);

	if (n < 0) {
		log_warnx("reply of %zu bytes to client %u does not fit a packet", plen, c->id);
		return;
	}
	if (send(c->fd, s->out, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EPIPE &&
	    errno != ECONNRESET)
		log_warn("reply to client %u (pid %d) dropped", c->id, (int)c->pid);
}

static void on_register(struct ffd_server *s, struct ffd_client *c, const struct ff_msg_hdr *h,
                        const struct ff_register *rq)
{
	static struct ff_register_reply rp;
	struct ffd_tenant *t = c->t;

	if (rq->tenant[0] && strncmp(rq->tenant, t->name, sizeof(rq->tenant)) != 0) {
		log_warnx("client pid %d asked for tenant '%.64s' on the socket of tenant '%s'",
		          (int)c->pid, rq->tenant, t->name);
		reply(s, c, h->type, h->seq, EINVAL, NULL, 0);
		return;
	}
	if (!c->registered && (rq->flags & FF_REG_CTL))
		s->nctl++;
	c->registered = true;
	c->flags = rq->flags;
	memcpy(c->name, rq->name, sizeof(c->name));
	c->name[sizeof(c->name) - 1] = '\0';
	memset(&rp, 0, sizeof(rp));
	if (!(rq->flags & FF_REG_CTL))
		ffd_leases_adopt(c);     /* before the reply: the shim takes its new id from it */
	if (!(rq->flags & FF_REG_CTL) && s->rx_fd >= 0 && ffd_readers_channel_take(s, c, s->rx_fd)) {
		s->rx_fd = -1;
		rp.flags |= FF_REGR_READERS;
	}
	rp.client_id = c->id;
	rp.enabled = atomic_load(&t->r.hdr->enabled);
	memcpy(rp.region_id, t->r.hdr->region_id, sizeof(rp.region_id));
	rp.slot_size = t->r.hdr->slot_size;
	rp.slot_count = t->r.hdr->slot_count;
	rp.quota = s->cfg.quota;
	rp.lease_batch = s->cfg.lease_batch;
	snprintf(rp.region_path, sizeof(rp.region_path), "%s", t->region_path);
	log_debug("client %u registered: pid %d%s name '%s'", c->id, (int)c->pid,
	          (c->flags & FF_REG_CTL) ? " (faasflowctl)" : "", c->name);
	reply(s, c, h->type, h->seq, 0, &rp, sizeof(rp));
}

static void on_lease(struct ffd_server *s, struct ffd_client *c, const struct ff_msg_hdr *h,
                     const struct ff_lease *rq)
{
	struct {
		uint32_t count;
		uint32_t slots[FF_LEASE_MAX];
	} rp;   /* same layout as struct ff_slot_list: no padding between uint32_t */
	int st = ffd_lease(s, c, rq->count, rp.slots, &rp.count);

	if (st) {
		reply(s, c, h->type, h->seq, st, NULL, 0);
		return;
	}
	reply(s, c, h->type, h->seq, 0, &rp, sizeof(uint32_t) * (1 + rp.count));
}

static void on_return(struct ffd_server *s, struct ffd_client *c, const struct ff_msg_hdr *h,
                      const void *p, size_t plen)
{
	const struct ff_slot_list *l = p;
	uint32_t count, slots[FF_LEASE_MAX];

	memcpy(&count, &l->count, sizeof(count));
	if (plen != sizeof(uint32_t) * ((size_t)count + 1) || count > FF_LEASE_MAX) {
		reply(s, c, h->type, h->seq, EINVAL, NULL, 0);
		return;
	}
	memcpy(slots, (const uint8_t *)p + sizeof(uint32_t), sizeof(uint32_t) * count);
	reply(s, c, h->type, h->seq, ffd_return(c, slots, count) ? EINVAL : 0, NULL, 0);
}

static void on_set_enabled(struct ffd_server *s, struct ffd_client *c,
                           const struct ff_msg_hdr *h, const struct ff_set_enabled *rq)
{
	uint32_t on = rq->enabled ? 1 : 0;

	if (!ffd_client_is_admin(s, c)) {
		log_warnx("client uid %u pid %d may not switch shared memory %s (root or uid %u only)",
		          (unsigned)c->uid, (int)c->pid, on ? "on" : "off", (unsigned)s->uid);
		reply(s, c, h->type, h->seq, EPERM, NULL, 0);
		return;
	}
	if (atomic_exchange(&c->t->r.hdr->enabled, on) != on)
		log_info("tenant %s: shared memory switched %s by pid %d", c->t->name,
		         on ? "on" : "off", (int)c->pid);
	reply(s, c, h->type, h->seq, 0, NULL, 0);
}

/* What STATS answers and /metrics exposes for one tenant. */
void ffd_tenant_stats(const struct ffd_server *s, const struct ffd_tenant *t, struct ff_stats *st)
{
	struct ffd_client *x, *tmp;

	memset(st, 0, sizeof(*st));
	ffd_leases_count(t, st);
	HASH_ITER(hh_fd, s->by_fd, x, tmp)
		if (x->t == t && !(x->flags & FF_REG_CTL))
			st->clients++;
	st->endpoints = t->nendpoints;
	st->lease_requests = atomic_load(&t->r.hdr->c.lease_requests);
	st->returns = t->returns;
	st->reclaimed = atomic_load(&t->r.hdr->c.reclaimed);
	st->bad_messages = s->bad_messages;
	st->refused_clients = s->refused_clients;
	st->enabled = atomic_load(&t->r.hdr->enabled);
	st->daemon_pid = atomic_load(&t->r.hdr->daemon_pid);
	st->uptime_s = (ffd_now_ns() - s->start_mono_ns) / 1000000000ULL;
}

static void on_stats(struct ffd_server *s, struct ffd_client *c, const struct ff_msg_hdr *h)
{
	struct ff_stats st;

	ffd_tenant_stats(s, c->t, &st);
	reply(s, c, h->type, h->seq, 0, &st, sizeof(st));
}

static void on_list(struct ffd_server *s, struct ffd_client *c, const struct ff_msg_hdr *h)
{
	static uint8_t buf[FF_MSG_MAX];
	size_t room = FF_MSG_MAX - sizeof(struct ff_msg_hdr), n;

	if (h->type == FF_MSG_LIST_ENDPOINTS) {
		n = ffd_ep_list(c->t, (struct ff_endpoint_info *)buf,
		                room / sizeof(struct ff_endpoint_info));
		n *= sizeof(struct ff_endpoint_info);
	} else {
		n = ffd_leases_list(s, c->t, (struct ff_lease_info *)buf,
		                    room / sizeof(struct ff_lease_info));
		n *= sizeof(struct ff_lease_info);
	}
	reply(s, c, h->type, h->seq, 0, buf, n);
}

static void dispatch(struct ffd_server *s, struct ffd_client *c, const struct ff_msg_hdr *h,
                     const void *p, size_t plen)
{
	struct ff_lookup_reply lr;
	int st;

	switch (h->type) {
	case FF_MSG_REGISTER:
		on_register(s, c, h, p);
		break;
	case FF_MSG_LISTEN_ADD:
	case FF_MSG_LISTEN_DEL:
		st = h->type == FF_MSG_LISTEN_ADD ? ffd_ep_add(c->t, c, p) : ffd_ep_del(c->t, c, p);
		reply(s, c, h->type, h->seq, st, NULL, 0);
		break;
	case FF_MSG_LOOKUP:
		lr.found = ffd_ep_lookup(c->t, p) ? 1 : 0;
		lr.ttl_ms = FFD_LOOKUP_TTL_MS;
		reply(s, c, h->type, h->seq, 0, &lr, sizeof(lr));
		break;
	case FF_MSG_LEASE:
		on_lease(s, c, h, p);
		break;
	case FF_MSG_RETURN:
		on_return(s, c, h, p, plen);
		break;
	case FF_MSG_SET_ENABLED:
		on_set_enabled(s, c, h, p);
		break;
	case FF_MSG_STATS:
		on_stats(s, c, h);
		break;
	case FF_MSG_LIST_ENDPOINTS:
	case FF_MSG_LIST_LEASES:
		on_list(s, c, h);
		break;
	case FF_MSG_READERS:          /* never answered: the shim does not wait */
		ffd_readers_drain(s, c);  /* what it sent on its channel came first */
		ffd_readers_msg(c, p, plen / sizeof(struct ff_reader));
		break;
	default:
		reply(s, c, h->type, h->seq, EINVAL, NULL, 0);
		break;
	}
}

/* s->buf holds a packet of n bytes (n may exceed FF_MSG_MAX: the real size of a truncated
 * oversized packet). */
void ffd_handle_packet(struct ffd_server *s, struct ffd_client *c, size_t n)
{
	struct ff_msg_hdr h;
	const void *payload;
	size_t plen;
	char err[256];
	int st;

	st = ff_msg_decode(s->buf, n > FF_MSG_MAX ? FF_MSG_MAX : n, 0, &h, &payload, &plen,
	                   err, sizeof(err));
	if (st == 0 && n > FF_MSG_MAX) {
		st = EMSGSIZE;
		snprintf(err, sizeof(err), "packet of %zu bytes, more than %u", n, FF_MSG_MAX);
	}
	if (st == 0) {
		dispatch(s, c, &h, payload, plen);
		return;
	}
	s->bad_messages++;
	log_warnx("bad message from client %u (pid %d, %zu bytes): %s", c->id, (int)c->pid, n,
	          err);
	if (n < sizeof(h))
		return;
	memcpy(&h, s->buf, sizeof(h));
	reply(s, c, h.type, h.seq, st, NULL, 0);
}
