/* Control protocol: codec round trips, every kind of malformed packet, client helpers. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "proto.h"

#define HDRSZ sizeof(struct ff_msg_hdr)

static uint8_t pkt[FF_MSG_MAX + 64];
static char err[512];

struct shape {
	uint16_t type;
	size_t req, reply;      /* fixed sizes; (size_t)-1 = slot list, -2 = records */
	size_t rec;
};

static const struct shape shapes[] = {
	{ FF_MSG_REGISTER, sizeof(struct ff_register), sizeof(struct ff_register_reply), 0 },
	{ FF_MSG_LISTEN_ADD, sizeof(struct ff_endpoint), 0, 0 },
	{ FF_MSG_LISTEN_DEL, sizeof(struct ff_endpoint), 0, 0 },
	{ FF_MSG_LOOKUP, sizeof(struct ff_lookup), sizeof(struct ff_lookup_reply), 0 },
	{ FF_MSG_LEASE, sizeof(struct ff_lease), (size_t)-1, 0 },
	{ FF_MSG_RETURN, (size_t)-1, 0, 0 },
	{ FF_MSG_SET_ENABLED, sizeof(struct ff_set_enabled), 0, 0 },
	{ FF_MSG_STATS, 0, sizeof(struct ff_stats), 0 },
	{ FF_MSG_LIST_ENDPOINTS, 0, (size_t)-2, sizeof(struct ff_endpoint_info) },
	{ FF_MSG_LIST_LEASES, 0, (size_t)-2, sizeof(struct ff_lease_info) },
	{ FF_MSG_READERS, (size_t)-2, 0, sizeof(struct ff_reader) },
};

static int decode(size_t n, int is_reply)
{
	struct ff_msg_hdr h;
	const void *p;
	size_t plen;

	err[0] = '\0';
	return ff_msg_decode(pkt, n, is_reply, &h, &p, &plen, err, sizeof(err));
}

/* Encode a payload of `len` bytes (pattern-filled) and check that it decodes to itself. */
static void round_trip(uint16_t type, int is_reply, const uint8_t *payload, size_t len)
{
	struct ff_msg_hdr h;
	const void *p;
	size_t plen;
	ssize_t n;

	n = ff_msg_encode(pkt, sizeof(pkt), type, 4242, 0, payload, len);
	ck_assert_int_eq(n, (ssize_t)(HDRSZ + len));
	ck_assert_msg(ff_msg_decode(pkt, (size_t)n, is_reply, &h, &p, &plen, err,
				    sizeof(err)) == 0, "%s %s: %s", ff_msg_type_name(type),
		      is_reply ? "reply" : "request", err);
	ck_assert_uint_eq(h.type, type);
	ck_assert_uint_eq(h.version, FF_PROTO_VERSION);
	ck_assert_uint_eq(h.seq, 4242);
	ck_assert_uint_eq(plen, len);
	ck_assert_ptr_eq(p, pkt + HDRSZ);
	ck_assert(len == 0 || !memcmp(p, payload, len));
}

static size_t slot_list(uint8_t *buf, uint32_t count)
{
	memcpy(buf, &count, 4);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t s = i * 3 + 1;

		memcpy(buf + 4 + 4 * i, &s, 4);
	}
	return 4 + 4 * (size_t)count;
}

START_TEST(test_round_trip_all)
{
	static uint8_t payload[FF_MSG_MAX];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	memset(payload, 0, 4);
	payload[0] = 8;         /* a valid count where the payload starts with one (LEASE) */
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *s = &shapes[i];

		for (int rep = 0; rep < 2; rep++) {
			size_t sz = rep ? s->reply : s->req;

			if (sz == (size_t)-1) {
				uint8_t list[4 + 4 * FF_LEASE_MAX];

				round_trip(s->type, rep, list, slot_list(list, 0));
				round_trip(s->type, rep, list, slot_list(list, 5));
				round_trip(s->type, rep, list, slot_list(list, FF_LEASE_MAX));
			} else if (sz == (size_t)-2) {
				round_trip(s->type, rep, payload, 0);
				round_trip(s->type, rep, payload, s->rec);
				round_trip(s->type, rep, payload, s->rec * 100);
			} else {
				round_trip(s->type, rep, payload, sz);
				/* one byte more or less is refused */
				ff_msg_encode(pkt, sizeof(pkt), s->type, 1, 0, payload, sz + 1);
				ck_assert_int_eq(decode(HDRSZ + sz + 1, rep), EINVAL);
				ck_assert_ptr_nonnull(strstr(err, ff_msg_type_name(s->type)));
				if (sz) {
					ff_msg_encode(pkt, sizeof(pkt), s->type, 1, 0, payload,
						      sz - 1);
					ck_assert_int_eq(decode(HDRSZ + sz - 1, rep), EINVAL);
				}
			}
		}
	}
}
END_TEST

START_TEST(test_records_partial)
{
	static uint8_t payload[sizeof(struct ff_endpoint_info) * 2 + 1];
	size_t len = sizeof(struct ff_endpoint_info) + 1;

	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LIST_ENDPOINTS, 1, 0, payload, len);
	ck_assert_int_eq(decode(HDRSZ + len, 1), EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "whole number"));
	len = sizeof(struct ff_lease_info) * 2 - 3;
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LIST_LEASES, 1, 0, payload, len);
	ck_assert_int_eq(decode(HDRSZ + len, 1), EINVAL);
}
END_TEST

START_TEST(test_truncated)
{
	struct ff_register reg = { .pid = 1 };
	ssize_t n = ff_msg_encode(pkt, sizeof(pkt), FF_MSG_REGISTER, 1, 0, &reg, sizeof(reg));

	for (size_t k = 0; k < HDRSZ; k++) {
		ck_assert_int_eq(decode(k, 0), EMSGSIZE);
		ck_assert_ptr_nonnull(strstr(err, "truncated"));
	}
	for (size_t k = HDRSZ; k < (size_t)n; k++)
		ck_assert_int_eq(decode(k, 0), EMSGSIZE);
	ck_assert_int_eq(decode((size_t)n, 0), 0);
}
END_TEST

START_TEST(test_bad_header)
{
	char want[64];
	struct ff_msg_hdr h;
	struct ff_lease l = { .count = 1 };
	ssize_t n = ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LEASE, 1, 0, &l, sizeof(l));

	/* wrong version: the one before, and one from the future */
	memcpy(&h, pkt, HDRSZ);
	h.version = FF_PROTO_VERSION - 1;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EPROTO);
	snprintf(want, sizeof(want), "version %u, expected %u", FF_PROTO_VERSION - 1,
		 FF_PROTO_VERSION);
	ck_assert_ptr_nonnull(strstr(err, want));
	h.version = FF_PROTO_VERSION + 1;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EPROTO);
	snprintf(want, sizeof(want), "version %u, expected %u", FF_PROTO_VERSION + 1,
		 FF_PROTO_VERSION);
	ck_assert_ptr_nonnull(strstr(err, want));
	h.version = FF_PROTO_VERSION;

	/* length field larger than what arrived, and huge */
	h.len = 5;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EMSGSIZE);
	h.len = 0xffffffffu;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EMSGSIZE);
	ck_assert_ptr_nonnull(strstr(err, "exceeds"));
	/* a packet larger than FF_MSG_MAX even if the length agrees */
	h.len = FF_MSG_MAX;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode(FF_MSG_MAX + HDRSZ, 0), EMSGSIZE);
	h.len = 4;

	/* bad types */
	h.type = 0;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EINVAL);
	h.type = FF_MSG_TYPE_MAX;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown message type"));
	h.type = 0xffff;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EINVAL);

	/* a status in a request, a negative status in a reply */
	h.type = FF_MSG_LEASE;
	h.status = EPERM;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode((size_t)n, 0), EINVAL);
	h.status = -1;
	h.type = FF_MSG_SET_ENABLED;
	h.len = 0;
	memcpy(pkt, &h, HDRSZ);
	ck_assert_int_eq(decode(HDRSZ, 1), EINVAL);

	ck_assert_int_eq(ff_msg_encode(pkt, sizeof(pkt), 1, 1, 0, pkt, FF_MSG_MAX), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(ff_msg_encode(pkt, 20, FF_MSG_LEASE, 1, 0, &l, sizeof(l)), 20);
	ck_assert_int_eq(ff_msg_encode(pkt, 19, FF_MSG_LEASE, 1, 0, &l, sizeof(l)), -1);
}
END_TEST

START_TEST(test_error_reply_empty)
{
	/* a failed LEASE may be answered by the status alone; a successful one may not */
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LEASE, 9, EDQUOT, NULL, 0);
	ck_assert_int_eq(decode(HDRSZ, 1), 0);
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_REGISTER, 9, EPERM, NULL, 0);
	ck_assert_int_eq(decode(HDRSZ, 1), 0);
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_REGISTER, 9, 0, NULL, 0);
	ck_assert_int_eq(decode(HDRSZ, 1), EINVAL);
}
END_TEST

START_TEST(test_slot_list_limits)
{
	uint8_t list[4 + 4 * (FF_LEASE_MAX + 1)];
	size_t len = slot_list(list, FF_LEASE_MAX + 1);
	uint32_t c = 3;

	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_RETURN, 1, 0, list, len);
	ck_assert_int_eq(decode(HDRSZ + len, 0), EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "at most 256"));
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LEASE, 1, 0, list, len);
	ck_assert_int_eq(decode(HDRSZ + len, 1), EINVAL);
	/* a LEASE request for 0 or too many slots */
	struct ff_lease l = { .count = 0 };

	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LEASE, 1, 0, &l, sizeof(l));
	ck_assert_int_eq(decode(HDRSZ + sizeof(l), 0), EINVAL);
	l.count = FF_LEASE_MAX + 1;
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LEASE, 1, 0, &l, sizeof(l));
	ck_assert_int_eq(decode(HDRSZ + sizeof(l), 0), EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "accepted 1 to 256"));
	l.count = FF_LEASE_MAX;
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_LEASE, 1, 0, &l, sizeof(l));
	ck_assert_int_eq(decode(HDRSZ + sizeof(l), 0), 0);
	/* count disagrees with the length */
	len = slot_list(list, 4);
	memcpy(list, &c, 4);
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_RETURN, 1, 0, list, len);
	ck_assert_int_eq(decode(HDRSZ + len, 0), EINVAL);
	ff_msg_encode(pkt, sizeof(pkt), FF_MSG_RETURN, 1, 0, list, 3);
	ck_assert_int_eq(decode(HDRSZ + 3, 0), EINVAL);
}
END_TEST

START_TEST(test_type_names)
{
	ck_assert_str_eq(ff_msg_type_name(FF_MSG_REGISTER), "REGISTER");
	ck_assert_str_eq(ff_msg_type_name(FF_MSG_LIST_LEASES), "LIST_LEASES");
	ck_assert_str_eq(ff_msg_type_name(0), "UNKNOWN");
	ck_assert_str_eq(ff_msg_type_name(999), "UNKNOWN");
	for (uint16_t t = 1; t < FF_MSG_TYPE_MAX; t++)
		ck_assert_str_ne(ff_msg_type_name(t), "UNKNOWN");
}
END_TEST

/* A tiny server: answers LEASE with `count` slots, first a stale reply with a wrong seq. */
struct server {
	int lfd;
	int mode;               /* 0 normal, 1 never answer, 2 close, 3 garbage */
};

static void *serve(void *arg)
{
	struct server *sv = arg;
	uint8_t in[FF_MSG_MAX], out[FF_MSG_MAX];
	uint8_t list[4 + 4 * FF_LEASE_MAX];
	struct ff_msg_hdr h;
	const void *p;
	size_t plen;
	char e[256];
	int fd = accept(sv->lfd, NULL, NULL);
	ssize_t n;

	while (fd >= 0 && (n = recv(fd, in, sizeof(in), 0)) > 0) {
		if (ff_msg_decode(in, (size_t)n, 0, &h, &p, &plen, e, sizeof(e)))
			break;
		if (sv->mode == 1)
			continue;
		if (sv->mode == 2)
			break;
		if (sv->mode == 3) {
			send(fd, "junk", 4, MSG_NOSIGNAL);
			continue;
		}
		uint32_t want;

		memcpy(&want, p, 4);
		n = ff_msg_encode(out, sizeof(out), h.type, h.seq - 1, 0, list, slot_list(list, 1));
		send(fd, out, (size_t)n, MSG_NOSIGNAL);
		n = ff_msg_encode(out, sizeof(out), h.type, h.seq, 0, list, slot_list(list, want));
		send(fd, out, (size_t)n, MSG_NOSIGNAL);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static void call_with(int mode, int want_errno)
{
	static uint8_t reply[FF_MSG_MAX];
	struct ff_lease l = { .count = 6 };
	struct server sv = { .mode = mode };
	const char *path = tu_path("ctl.sock");
	size_t rlen = sizeof(reply);
	int32_t status = -1;
	pthread_t t;
	int fd, rc;

	unlink(path);
	sv.lfd = listen_at(path);
	pthread_create(&t, NULL, serve, &sv);
	fd = ff_ctl_connect(path, 1000);
	ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	rc = ff_ctl_call(fd, FF_MSG_LEASE, &l, sizeof(l), reply, &rlen, &status, 300);
	if (!want_errno) {
		uint32_t count, slot5;

		ck_assert_msg(rc == 0, "call: %s", strerror(errno));
		ck_assert_int_eq(status, 0);
		ck_assert_uint_eq(rlen, 4 + 4 * 6);
		memcpy(&count, reply, 4);
		memcpy(&slot5, reply + 4 + 4 * 5, 4);
		ck_assert_uint_eq(count, 6);
		ck_assert_uint_eq(slot5, 16);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(errno, want_errno);
	}
	shutdown(fd, SHUT_RDWR);
	close(fd);
	pthread_join(t, NULL);
	close(sv.lfd);
}

START_TEST(test_ctl_call)
{
	call_with(0, 0);
	call_with(1, ETIMEDOUT);
	call_with(2, EPIPE);
	call_with(3, EPROTO);
}
END_TEST

START_TEST(test_ctl_connect_errors)
{
	char longp[200];
	int fd;

	ck_assert_int_eq(ff_ctl_connect(tu_path("nobody.sock"), 100), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* a socket file nobody listens on any more */
	fd = listen_at(tu_path("dead.sock"));
	close(fd);
	ck_assert_int_eq(ff_ctl_connect(tu_path("dead.sock"), 100), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	ck_assert_int_eq(ff_ctl_connect(longp, 100), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tu_tcase("proto");

	tcase_add_test(tc, test_round_trip_all);
	tcase_add_test(tc, test_records_partial);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_bad_header);
	tcase_add_test(tc, test_error_reply_empty);
	tcase_add_test(tc, test_slot_list_limits);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_ctl_call);
	tcase_add_test(tc, test_ctl_connect_errors);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
