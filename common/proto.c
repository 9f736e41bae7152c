/* Control protocol: encode, bounds-checked decode, and the blocking client helpers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "sys.h"

#define HDR sizeof(struct ff_msg_hdr)

_Static_assert(sizeof(struct ff_msg_hdr) == 16, "header is 16 bytes");

static const char *const type_names[FF_MSG_TYPE_MAX] = {
	[FF_MSG_REGISTER] = "REGISTER",
	[FF_MSG_LISTEN_ADD] = "LISTEN_ADD",
	[FF_MSG_LISTEN_DEL] = "LISTEN_DEL",
	[FF_MSG_LOOKUP] = "LOOKUP",
	[FF_MSG_LEASE] = "LEASE",
	[FF_MSG_RETURN] = "RETURN",
	[FF_MSG_SET_ENABLED] = "SET_ENABLED",
	[FF_MSG_STATS] = "STATS",
	[FF_MSG_LIST_ENDPOINTS] = "LIST_ENDPOINTS",
	[FF_MSG_LIST_LEASES] = "LIST_LEASES",
	[FF_MSG_READERS] = "READERS",
};

const char *ff_msg_type_name(uint16_t type)
{
	if (type == 0 || type >= FF_MSG_TYPE_MAX)
		return "UNKNOWN";
	return type_names[type];
}

ssize_t ff_msg_encode(void *buf, size_t cap, uint16_t type, uint32_t seq, int32_t status,
		      const void *payload, size_t plen)
{
	struct ff_msg_hdr h;

	if (plen > FF_MSG_MAX - HDR || HDR + plen > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	h.type = type;
	h.version = FF_PROTO_VERSION;
	h.len = (uint32_t)plen;
	h.seq = seq;
	h.status = status;
	memcpy(buf, &h, HDR);
	if (plen)
		memcpy((uint8_t *)buf + HDR, payload, plen);
	return (ssize_t)(HDR + plen);
}

enum shape { EMPTY, FIXED, RECORDS, SLOTS };

struct rule {
	enum shape shape;
	size_t size;
};

/* [type][0 = request, 1 = reply] */
static const struct rule rules[FF_MSG_TYPE_MAX][2] = {
	[FF_MSG_REGISTER] = { { FIXED, sizeof(struct ff_register) },
			      { FIXED, sizeof(struct ff_register_reply) } },
	[FF_MSG_LISTEN_ADD] = { { FIXED, sizeof(struct ff_endpoint) }, { EMPTY, 0 } },
	[FF_MSG_LISTEN_DEL] = { { FIXED, sizeof(struct ff_endpoint) }, { EMPTY, 0 } },
	[FF_MSG_LOOKUP] = { { FIXED, sizeof(struct ff_lookup) },
			    { FIXED, sizeof(struct ff_lookup_reply) } },
	[FF_MSG_LEASE] = { { FIXED, sizeof(struct ff_lease) }, { SLOTS, 0 } },
	[FF_MSG_RETURN] = { { SLOTS, 0 }, { EMPTY, 0 } },
	[FF_MSG_SET_ENABLED] = { { FIXED, sizeof(struct ff_set_enabled) }, { EMPTY, 0 } },
	[FF_MSG_STATS] = { { EMPTY, 0 }, { FIXED, sizeof(struct ff_stats) } },
	[FF_MSG_LIST_ENDPOINTS] = { { EMPTY, 0 }, { RECORDS, sizeof(struct ff_endpoint_info) } },
	[FF_MSG_LIST_LEASES] = { { EMPTY, 0 }, { RECORDS, sizeof(struct ff_lease_info) } },
	[FF_MSG_READERS] = { { RECORDS, sizeof(struct ff_reader) }, { EMPTY, 0 } },
};

static int check_payload(const struct ff_msg_hdr *h, const uint8_t *p, size_t plen,
			 int is_reply, char *err, size_t errlen)
{
	const struct rule *r = &rules[h->type][is_reply ? 1 : 0];
	const char *name = ff_msg_type_name(h->type);
	const char *dir = is_reply ? "reply" : "request";
	uint32_t count;

	switch (r->shape) {
	case EMPTY:
	case FIXED:
		if (plen != r->size) {
			snprintf(err, errlen, "%s %s: payload of %zu bytes, expected %zu", name,
				 dir, plen, r->size);
			return EINVAL;
		}
		if (h->type == FF_MSG_LEASE && !is_reply) {
			memcpy(&count, p, sizeof(count));
			if (count == 0 || count > FF_LEASE_MAX) {
				snprintf(err, errlen, "LEASE request for %u slots, accepted 1 to %u",
					 count, FF_LEASE_MAX);
				return EINVAL;
			}
		}
		return 0;
	case RECORDS:
		if (plen % r->size == 0)
			return 0;
		snprintf(err, errlen, "%s %s: payload of %zu bytes is not a whole number of "
			 "%zu-byte records", name, dir, plen, r->size);
		return EINVAL;
	case SLOTS:
		if (plen < sizeof(uint32_t)) {
			snprintf(err, errlen, "%s %s: slot list of %zu bytes, needs at least 4",
				 name, dir, plen);
			return EINVAL;
		}
		memcpy(&count, p, sizeof(count));
		if (count > FF_LEASE_MAX) {
			snprintf(err, errlen, "%s %s: %u slots, at most %u", name, dir, count,
				 FF_LEASE_MAX);
			return EINVAL;
		}
		if (plen != sizeof(uint32_t) + (size_t)count * sizeof(uint32_t)) {
			snprintf(err, errlen, "%s %s: %u slots need %zu bytes, got %zu", name,
				 dir, count, sizeof(uint32_t) + (size_t)count * 4, plen);
			return EINVAL;
		}
		return 0;
	}
	return EINVAL;
}

int ff_msg_decode(const void *buf, size_t n, int is_reply, struct ff_msg_hdr *hdr,
		  const void **payload, size_t *plen, char *err, size_t errlen)
{
	struct ff_msg_hdr h;
	int rc;

	if (n < HDR) {
		snprintf(err, errlen, "truncated message: %zu bytes, the header alone is %zu", n,
			 HDR);
		return EMSGSIZE;
	}
	memcpy(&h, buf, HDR);
	if (h.version != FF_PROTO_VERSION) {
		snprintf(err, errlen, "protocol version %u, expected %u", h.version,
			 FF_PROTO_VERSION);
		return EPROTO;
	}
	if (n > FF_MSG_MAX || h.len > FF_MSG_MAX - HDR) {
		snprintf(err, errlen, "message of %zu bytes (length field %u) exceeds %u", n,
			 h.len, FF_MSG_MAX);
		return EMSGSIZE;
	}
	if ((size_t)h.len != n - HDR) {
		snprintf(err, errlen, "length field says %u payload bytes, %zu received", h.len,
			 n - HDR);
		return EMSGSIZE;
	}
	if (h.type == 0 || h.type >= FF_MSG_TYPE_MAX) {
		snprintf(err, errlen, "unknown message type %u", h.type);
		return EINVAL;
	}
	if (h.status < 0 || (!is_reply && h.status != 0)) {
		snprintf(err, errlen, "%s: bad status %d in a %s", ff_msg_type_name(h.type),
			 h.status, is_reply ? "reply" : "request");
		return EINVAL;
	}
	/* a failed request may be answered by the status alone */
	if (!(is_reply && h.status != 0 && h.len == 0)) {
		rc = check_payload(&h, (const uint8_t *)buf + HDR, h.len, is_reply, err, errlen);
		if (rc)
			return rc;
	}
	if (hdr)
		*hdr = h;
	if (payload)
		*payload = (const uint8_t *)buf + HDR;
	if (plen)
		*plen = h.len;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left > 0 ? (int)left : 0;
}

/* Wait for events; 0 when ready, -1 with ETIMEDOUT or the poll error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&pfd, 1, remaining(deadline));
		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int set_nonblock(int fd, bool on)
{
	int fl = ff_sys_fcntl(fd, F_GETFL, 0);

	if (fl < 0)
		return -1;
	return ff_sys_fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

int ff_ctl_connect(const char *socket_path, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int fd, saved, soerr;
	socklen_t sl = sizeof(soerr);

	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	for (;;) {
		if (!ff_sys_connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* backlog full: the listener is busy, retry until the deadline */
			struct timespec ts = { 0, 1000000 };

			if (!remaining(deadline)) {
				errno = ETIMEDOUT;
				goto err;
			}
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno != EINPROGRESS)
			goto err;
		if (wait_fd(fd, POLLOUT, deadline))
			goto err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
			goto err;
		if (soerr) {
			errno = soerr;
			goto err;
		}
		break;
	}
	if (set_nonblock(fd, false))
		goto err;
	return fd;
err:
	saved = errno;
	ff_sys_close(fd);
	errno = saved;
	return -1;
}

static _Atomic uint32_t next_seq = 1;

static int send_request(int fd, const struct ff_msg_hdr *h, const void *req, size_t reqlen,
			int pass_fd, int64_t deadline)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)h, .iov_len = HDR },
		{ .iov_base = (void *)req, .iov_len = reqlen },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = reqlen ? 2 : 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}

	for (;;) {
		n = ff_sys_sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline))
			return -1;
	}
}

int ff_ctl_call(int fd, uint16_t type, const void *req, size_t reqlen, void *reply,
		size_t *replylen, int32_t *status, int timeout_ms)
{
	return ff_ctl_call_fd(fd, type, req, reqlen, -1, reply, replylen, status, timeout_ms);
}

int ff_ctl_call_fd(int fd, uint16_t type, const void *req, size_t reqlen, int pass_fd,
		   void *reply, size_t *replylen, int32_t *status, int timeout_ms)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct ff_msg_hdr h = { .type = type, .version = FF_PROTO_VERSION };
	size_t cap = replylen ? *replylen : 0;
	const void *payload;
	char err[256];
	size_t plen;
	ssize_t n;

	if (reqlen > FF_MSG_MAX - HDR || !reply || cap < HDR) {
		errno = reqlen > FF_MSG_MAX - HDR ? EMSGSIZE : EINVAL;
		return -1;
	}
	if (cap > FF_MSG_MAX)
		cap = FF_MSG_MAX;
	h.len = (uint32_t)reqlen;
	h.seq = atomic_fetch_add(&next_seq, 1);
	if (send_request(fd, &h, req, reqlen, pass_fd, deadline))
		return -1;
	for (;;) {
		struct ff_msg_hdr rh;

		if (wait_fd(fd, POLLIN, deadline))
			return -1;
		n = ff_sys_recv(fd, reply, cap, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPIPE;         /* the coordinator closed the connection */
			return -1;
		}
		if ((size_t)n > cap) {
			/* More than the caller can take: ours is an error, another is stale. */
			memcpy(&rh, reply, HDR);
			if (rh.seq != h.seq)
				continue;
			errno = EMSGSIZE;
			return -1;
		}
		if (ff_msg_decode(reply, (size_t)n, 1, &rh, &payload, &plen, err, sizeof(err))) {
			errno = EPROTO;
			return -1;
		}
		if (rh.seq != h.seq || rh.type != type)
			continue;          /* a late answer to an earlier, timed-out call */
		memmove(reply, payload, plen);
		*replylen = plen;
		if (status)
			*status = rh.status;
		return 0;
	}
}
