/* The real faasflowd, spoken to over its control socket: register, leases, quota, exhaustion,
 * endpoint look-up, malformed messages, reload, restart, shutdown. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include "dtest.h"

static void setup(void)
{
	dt_setup("QUOTA = 4");
	ck_assert_int_eq(dt_start(), 0);
}

static void teardown(void)
{
	dt_cleanup();
}

START_TEST(test_register)
{
	struct ff_register_reply rp, rp2;
	struct ff_region r;
	int fd = dt_connect(), fd2 = dt_connect();

	ck_assert_int_eq(dt_register(fd, &rp), 0);
	ck_assert_int_eq(dt_register(fd2, &rp2), 0);
	ck_assert_uint_ne(rp.client_id, 0);
	ck_assert_uint_ne(rp.client_id, rp2.client_id);
	ck_assert_uint_eq(rp.enabled, 1);
	ck_assert_uint_eq(rp.slot_size, 1 << 20);
	ck_assert_uint_eq(rp.quota, 4);
	ck_assert_str_eq(rp.region_path, D.region);
	dt_map(&r);
	ck_assert_mem_eq(rp.region_id, r.hdr->region_id, 16);
	ck_assert_uint_eq(rp.slot_count, r.hdr->slot_count);
	ck_assert_uint_eq(atomic_load(&r.hdr->daemon_pid), (uint32_t)D.pid);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_lease_return)
{
	struct ff_register_reply rp;
	struct ff_region r;
	uint32_t s[8], s2[8], got, w0, w;
	int fd = dt_connect();

	ck_assert_int_eq(dt_register(fd, &rp), 0);
	dt_map(&r);
	ck_assert_int_eq(dt_lease(fd, 2, s, &got), 0);
	ck_assert_uint_eq(got, 2);
	ck_assert_uint_ne(s[0], s[1]);
	w0 = atomic_load(&r.meta[s[0]].word);
	ck_assert_uint_eq(FF_SLOT_STATE(w0), FF_SLOT_LEASED);
	ck_assert_uint_eq(atomic_load(&r.meta[s[0]].owner), rp.client_id);
	ck_assert_uint_eq(atomic_load(&r.meta[s[0]].owner_pid), (uint32_t)getpid());
	ck_assert_uint_eq(atomic_load(&r.hdr->c.slots_leased), 2);
	ck_assert_uint_eq(dt_wait_free(fd, rp.slot_count - 2, 0), rp.slot_count - 2);
	/* return one: FREE with gen+1; leasing again gives the same (cache-hot) slot */
	ck_assert_int_eq(dt_return(fd, &s[1], 1), 0);
	w = atomic_load(&r.meta[s[1]].word);
	ck_assert_uint_eq(FF_SLOT_STATE(w), FF_SLOT_FREE);
	ck_assert_uint_eq(FF_SLOT_GEN(w), FF_SLOT_GEN(w0) + 1);
	ck_assert_int_eq(dt_lease(fd, 1, s2, &got), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_uint_eq(s2[0], s[1]);
	/* a slot not held, and one out of range, are refused; the rest of the list is done */
	s2[0] = s[0];
	s2[1] = (uint32_t)rp.slot_count + 5;
	ck_assert_int_eq(dt_return(fd, s2, 2), EINVAL);
	ck_assert_uint_eq(FF_SLOT_STATE(atomic_load(&r.meta[s[0]].word)), FF_SLOT_FREE);
	ck_assert_int_eq(dt_return(fd, &s[0], 1), EINVAL);     /* already returned */
	ck_assert_int_eq(dt_lease(fd, 0, s2, &got), EINVAL);
	ck_assert_uint_eq(atomic_load(&r.hdr->c.slots_hwm), 2);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_quota)
{
	struct ff_register_reply rp;
	uint32_t s[FF_LEASE_MAX], got;
	int fd = dt_connect(), fd2 = dt_connect();

	ck_assert_int_eq(dt_register(fd, &rp), 0);
	ck_assert_int_eq(dt_lease(fd, 10, s, &got), 0);
	ck_assert_uint_eq(got, 4);                          /* QUOTA = 4 */
	ck_assert_int_eq(dt_lease(fd, 1, s, &got), EDQUOT);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(dt_return(fd, s, 1), 0);
	ck_assert_int_eq(dt_lease(fd, 3, s, &got), 0);
	ck_assert_uint_eq(got, 1);
	/* the quota is per process: a second control connection of ours gets nothing more */
	ck_assert_int_eq(dt_register(fd2, &rp), 0);
	ck_assert_int_eq(dt_lease(fd2, 2, s, &got), EDQUOT);
	ck_assert_uint_eq(got, 0);
	/* another process has a quota of its own */
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int cfd = dt_connect();
		uint32_t cs[FF_LEASE_MAX], cgot = 0;
		struct ff_register_reply crp;
		if (dt_register(cfd, &crp) == 0 && dt_lease(cfd, 2, cs, &cgot) != 0)
			cgot = 0;
		if (write(pfd[1], &cgot, sizeof(cgot)) != sizeof(cgot))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &got, sizeof(got)), (ssize_t)sizeof(got));
	ck_assert_uint_eq(got, 2);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
}
END_TEST

/* A child process that registers, leases up to 4 slots, reports how many, and holds them
 * until `hold` is closed. */
static pid_t holder(int report, int hold, int hold_w)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ff_register_reply crp;
		uint32_t cs[FF_LEASE_MAX], cgot = 0;
		char b;
		int cfd = dt_connect();

		close(hold_w);           /* only the parent's end keeps us holding */
		if (dt_register(cfd, &crp) != 0 || dt_lease(cfd, 4, cs, &cgot) != 0)
			cgot = 0;
		if (write(report, &cgot, sizeof(cgot)) != sizeof(cgot))
			_exit(1);
		if (read(hold, &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	return pid;
}

START_TEST(test_exhaustion)
{
	struct ff_register_reply rp;
	uint32_t s[FF_LEASE_MAX], got, total = 0;
	int fd = dt_connect(), rep[2], hold[2];
	pid_t kids[8];
	int n = 0;

	ck_assert_int_eq(dt_register(fd, &rp), 0);
	ck_assert_uint_le(rp.slot_count, 8 * 4);
	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(hold), 0);
	/* the quota is per process: the pool is emptied by several processes */
	while (n < 8 && total < rp.slot_count) {
		kids[n++] = holder(rep[1], hold[0], hold[1]);
		ck_assert_int_eq(read(rep[0], &got, sizeof(got)), (ssize_t)sizeof(got));
		total += got;
	}
	ck_assert_uint_eq(total, rp.slot_count);
	ck_assert_uint_eq(dt_wait_free(fd, 0, 0), 0);
	ck_assert_int_eq(dt_lease(fd, 1, s, &got), ENOSPC);
	ck_assert_uint_eq(got, 0);
	close(hold[1]);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	close(hold[0]);
	close(rep[0]);
	close(rep[1]);
}
END_TEST

static void ep_init(struct ff_endpoint *e, const char *v4, uint16_t port, uint64_t ino)
{
	memset(e, 0, sizeof(*e));
	e->addr[10] = e->addr[11] = 0xff;
	if (v4 && strcmp(v4, "::") == 0)
		memset(e->addr, 0, 16);
	else if (v4)
		ck_assert_int_eq(inet_pton(AF_INET, v4, e->addr + 12), 1);
	e->port = port;
	e->netns_dev = 1;
	e->netns_ino = ino;
}

static int lookup(int fd, const char *v4, uint16_t port, uint64_t ino, const char *name)
{
	struct ff_lookup lk;
	struct ff_lookup_reply lr;
	struct ff_endpoint e;
	size_t n = sizeof(lr);

	ep_init(&e, v4, port, ino);
	memset(&lk, 0, sizeof(lk));
	memcpy(lk.addr, e.addr, 16);
	lk.port = port;
	lk.netns_dev = 1;
	lk.netns_ino = ino;
	if (name)
		strcpy(lk.name, name);
	ck_assert_int_eq(dt_call(fd, FF_MSG_LOOKUP, &lk, sizeof(lk), &lr, &n), 0);
	ck_assert_uint_eq(n, sizeof(lr));
	ck_assert_uint_eq(lr.ttl_ms, 1000);
	return (int)lr.found;
}

START_TEST(test_lookup)
{
	struct ff_register_reply rp;
	struct ff_endpoint e;
	struct ff_stats st;
	int l = dt_connect(), q = dt_connect();

	ck_assert_int_eq(dt_register(l, &rp), 0);
	ep_init(&e, "10.1.2.3", 8080, 100);
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_ADD, &e, sizeof(e), NULL, NULL), 0);
	ep_init(&e, "0.0.0.0", 9090, 100);
	e.naddrs = 2;
	e.ns_addrs[0][10] = e.ns_addrs[0][11] = 0xff;
	inet_pton(AF_INET, "10.1.2.4", e.ns_addrs[0] + 12);
	e.ns_addrs[1][10] = e.ns_addrs[1][11] = 0xff;
	inet_pton(AF_INET, "10.9.9.9", e.ns_addrs[1] + 12);
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_ADD, &e, sizeof(e), NULL, NULL), 0);
	ep_init(&e, "127.0.0.1", 7070, 100);
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_ADD, &e, sizeof(e), NULL, NULL), 0);
	ep_init(&e, "::", 5000, 200);
	strcpy(e.name, "fn-b");
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_ADD, &e, sizeof(e), NULL, NULL), 0);
	ep_init(&e, "10.1.2.3", 0, 100);                   /* port 0: refused */
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_ADD, &e, sizeof(e), NULL, NULL), EINVAL);
	ck_assert_int_eq(dt_stats(q, &st), 0);
	ck_assert_uint_eq(st.endpoints, 4);

	ck_assert_int_eq(lookup(q, "10.1.2.3", 8080, 300, NULL), 1);   /* exact address */
	ck_assert_int_eq(lookup(q, "10.1.2.3", 8081, 300, NULL), 0);   /* other port */
	ck_assert_int_eq(lookup(q, "10.1.2.4", 9090, 300, NULL), 1);   /* any + ns address */
	ck_assert_int_eq(lookup(q, "10.9.9.9", 9090, 300, NULL), 1);
	ck_assert_int_eq(lookup(q, "10.1.2.5", 9090, 300, NULL), 0);   /* not its namespace's */
	ck_assert_int_eq(lookup(q, "10.1.2.4", 8080, 300, NULL), 0);
	ck_assert_int_eq(lookup(q, "127.0.0.1", 7070, 100, NULL), 1);  /* loopback, same ns */
	ck_assert_int_eq(lookup(q, "127.0.0.1", 7070, 300, NULL), 0);  /* loopback, other ns */
	ck_assert_int_eq(lookup(q, "127.0.0.1", 9090, 100, NULL), 1);  /* any, same ns */
	ck_assert_int_eq(lookup(q, "127.0.0.1", 9090, 101, NULL), 0);
	ck_assert_int_eq(lookup(q, "10.7.7.7", 1, 300, "fn-b"), 1);    /* by name */
	ck_assert_int_eq(lookup(q, "10.7.7.7", 5000, 300, "fn-c"), 0);
	ck_assert_int_eq(lookup(q, "10.7.7.7", 5000, 300, NULL), 0);

	ep_init(&e, "10.1.2.3", 8080, 100);
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_DEL, &e, sizeof(e), NULL, NULL), 0);
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_DEL, &e, sizeof(e), NULL, NULL), ENOENT);
	ck_assert_int_eq(lookup(q, "10.1.2.3", 8080, 300, NULL), 0);

	/* the listener's client goes away: its endpoints linger as hints (a daemonizing server's
	 * child accepts on them; a connection is upgraded only with both ends' proof) */
	ck_assert_int_eq(dt_stats(q, &st), 0);
	uint64_t clients = st.clients;
	close(l);
	for (uint64_t end = dt_now_ms() + 1000; dt_now_ms() < end;) {
		if (dt_stats(q, &st) == 0 && st.clients < clients)
			break;
		dt_sleep_ms(5);
	}
	ck_assert_int_eq(dt_stats(q, &st), 0);
	ck_assert_uint_eq(st.clients, clients - 1);
	ck_assert_int_eq(lookup(q, "10.1.2.4", 9090, 300, NULL), 1);
	ck_assert_int_eq(lookup(q, "10.7.7.7", 1, 300, "fn-b"), 1);
	ck_assert_uint_eq(st.endpoints, 3);
	/* announced again by a live process: one entry, not two */
	l = dt_connect();
	ck_assert_int_eq(dt_register(l, &rp), 0);
	ep_init(&e, "::", 5000, 200);
	strcpy(e.name, "fn-b");
	ck_assert_int_eq(dt_call(l, FF_MSG_LISTEN_ADD, &e, sizeof(e), NULL, NULL), 0);
	ck_assert_int_eq(dt_stats(q, &st), 0);
	ck_assert_uint_eq(st.endpoints, 3);
	close(l);
}
END_TEST

/* Send raw bytes; return the status of the reply, or -1 if none came within 300 ms. */
static int raw(int fd, const void *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t r[FF_MSG_MAX];
	struct ff_msg_hdr h;

	ck_assert_int_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
	if (poll(&p, 1, 300) != 1)
		return -1;
	ck_assert_int_ge(recv(fd, r, sizeof(r), 0), (ssize_t)sizeof(h));
	memcpy(&h, r, sizeof(h));
	return h.status;
}

START_TEST(test_malformed)
{
	static uint8_t big[70000];
	struct ff_msg_hdr h = { .type = FF_MSG_STATS, .version = FF_PROTO_VERSION, .seq = 7 };
	uint8_t pkt[64];
	struct ff_stats st;
	int fd = dt_connect(), ok = dt_connect();

	ck_assert_int_eq(raw(fd, "abc", 3), -1);                        /* not even a header */
	h.version = 9;
	ck_assert_int_eq(raw(fd, &h, sizeof(h)), EPROTO);               /* wrong version */
	h.version = FF_PROTO_VERSION;
	h.len = 1u << 30;
	ck_assert_int_eq(raw(fd, &h, sizeof(h)), EMSGSIZE);             /* huge length */
	h.len = sizeof(big) - sizeof(h);
	memcpy(big, &h, sizeof(h));
	ck_assert_int_gt(raw(fd, big, sizeof(big)), 0);                 /* huge packet */
	h.len = 0;
	h.type = 99;
	ck_assert_int_eq(raw(fd, &h, sizeof(h)), EINVAL);               /* bad type */
	h.type = FF_MSG_LEASE;
	h.len = 8;
	memcpy(pkt, &h, sizeof(h));
	memset(pkt + sizeof(h), 0, 8);
	ck_assert_int_eq(raw(fd, pkt, sizeof(h) + 8), EINVAL);          /* wrong payload size */
	h.type = FF_MSG_RETURN;
	h.len = 4;
	memcpy(pkt, &h, sizeof(h));
	memset(pkt + sizeof(h), 0xff, 4);                               /* 4 billion slots */
	ck_assert_int_eq(raw(fd, pkt, sizeof(h) + 4), EINVAL);
	/* the same connection, then another one, still get answers */
	ck_assert_int_eq(dt_stats(fd, &st), 0);
	ck_assert_uint_ge(st.bad_messages, 7);
	ck_assert_int_eq(dt_stats(ok, &st), 0);
	ck_assert(dt_log_has("bad message"));
}
END_TEST

/* Random packets with a valid header: every one is answered, none crashes the daemon. */
START_TEST(test_random_packets)
{
	static uint8_t pkt[1024];
	struct ff_stats st;
	unsigned seed = 12345;
	int fd = dt_connect(), quiet = dt_connect();

	for (int i = 0; i < 500; i++) {
		struct ff_msg_hdr h = { .version = FF_PROTO_VERSION, .seq = (uint32_t)i };
		size_t plen = (size_t)rand_r(&seed) % (sizeof(pkt) - sizeof(h));

		if (i % 3 == 0)   /* often the exact size of the type's payload */
			plen = (size_t)(rand_r(&seed) % 2 ? 4 : 8 + rand_r(&seed) % 400);
		h.type = (uint16_t)(rand_r(&seed) % (FF_MSG_TYPE_MAX + 2));
		h.len = (uint32_t)plen;
		memcpy(pkt, &h, sizeof(h));
		for (size_t k = 0; k < plen; k++)
			pkt[sizeof(h) + k] = (uint8_t)rand_r(&seed);
		if (h.type == FF_MSG_READERS) {   /* answered only when malformed */
			ck_assert_int_eq(send(quiet, pkt, sizeof(h) + plen, MSG_NOSIGNAL),
					 (ssize_t)(sizeof(h) + plen));
			continue;
		}
		ck_assert_int_ge(raw(fd, pkt, sizeof(h) + plen), 0);
	}
	ck_assert_int_eq(dt_stats(quiet, &st), 0);
	ck_assert_int_eq(dt_stats(fd, &st), 0);
	ck_assert_int_eq(kill(D.pid, 0), 0);
}
END_TEST

START_TEST(test_silent_client)
{
	struct ff_register_reply rp;
	uint64_t t0;
	int quiet = socket(AF_UNIX, SOCK_SEQPACKET, 0), fd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sa.sun_path, D.sock);
	ck_assert_int_eq(connect(quiet, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fd = dt_connect();
	t0 = dt_now_ms();
	ck_assert_int_eq(dt_register(fd, &rp), 0);
	ck_assert_uint_lt(dt_now_ms() - t0, 500);
	close(quiet);
}
END_TEST

START_TEST(test_set_enabled_and_sighup)
{
	struct ff_set_enabled se = { .enabled = 0 };
	struct ff_region r;
	int fd = dt_connect();
	uint64_t end;

	dt_map(&r);
	ck_assert_uint_eq(atomic_load(&r.hdr->enabled), 1);
	ck_assert_int_eq(dt_call(fd, FF_MSG_SET_ENABLED, &se, sizeof(se), NULL, NULL), 0);
	ck_assert_uint_eq(atomic_load(&r.hdr->enabled), 0);
	se.enabled = 1;
	ck_assert_int_eq(dt_call(fd, FF_MSG_SET_ENABLED, &se, sizeof(se), NULL, NULL), 0);
	ck_assert_uint_eq(atomic_load(&r.hdr->enabled), 1);
	/* SIGHUP with ENABLE_SHARED_MEMORY = false in the file */
	dt_write_conf("QUOTA = 2\nENABLE_SHARED_MEMORY = false\nSLOT_SIZE = 2M");
	ck_assert_int_eq(kill(D.pid, SIGHUP), 0);
	for (end = dt_now_ms() + 2000; dt_now_ms() < end && atomic_load(&r.hdr->enabled);)
		dt_sleep_ms(10);
	ck_assert_uint_eq(atomic_load(&r.hdr->enabled), 0);
	{
		struct ff_register_reply rp;

		ck_assert_int_eq(dt_register(fd, &rp), 0);
		ck_assert_uint_eq(rp.quota, 2);
		ck_assert_uint_eq(rp.enabled, 0);
		ck_assert_uint_eq(rp.slot_size, 1 << 20);               /* needs a restart */
	}
	ck_assert(dt_log_has("SLOT_SIZE changed; ignored until restart"));
	ff_region_close(&r);
}
END_TEST

START_TEST(test_restart)
{
	struct ff_register_reply rp, rp2;
	struct ff_region r;
	struct stat sb;
	uint64_t epoch;
	int fd = dt_connect();

	ck_assert_int_eq(dt_register(fd, &rp), 0);
	close(fd);
	dt_map(&r);
	epoch = atomic_load(&r.hdr->daemon_epoch);
	/* SIGTERM: exit 0, socket removed, region kept, daemon_pid cleared */
	ck_assert_int_eq(dt_stop(), 0);
	ck_assert_int_ne(stat(D.sock, &sb), 0);
	ck_assert_int_eq(stat(D.region, &sb), 0);
	ck_assert_uint_eq(atomic_load(&r.hdr->daemon_pid), 0);
	/* a restart re-attaches: same region id, next epoch */
	ck_assert_int_eq(dt_start(), 0);
	fd = dt_connect();
	ck_assert_int_eq(dt_register(fd, &rp2), 0);
	ck_assert_mem_eq(rp.region_id, rp2.region_id, 16);
	ck_assert_uint_eq(atomic_load(&r.hdr->daemon_epoch), epoch + 1);
	ck_assert(dt_log_has("re-attached"));
	close(fd);
	/* a second daemon on the same socket is refused */
	{
		ck_assert_int_eq(dt_run_once(), 1);
		ck_assert(dt_log_has("another faasflowd is already running"));
		ck_assert_int_eq(access(D.sock, F_OK), 0);
	}
	/* an incompatible region (other SLOT_SIZE) is refused with a clear message */
	ck_assert_int_eq(dt_stop(), 0);
	dt_write_conf("SLOT_SIZE = 2M");
	ck_assert_int_eq(dt_run_once(), 1);
	ck_assert(dt_log_has("SLOT_SIZE is"));
	ff_region_close(&r);
}
END_TEST

START_TEST(test_stale_socket)
{
	struct ff_register_reply rp;
	int fd;

	/* a coordinator killed with SIGKILL leaves its socket file: the next start removes it */
	kill(D.pid, SIGKILL);
	waitpid(D.pid, NULL, 0);
	D.pid = 0;
	ck_assert_int_eq(access(D.sock, F_OK), 0);
	ck_assert_int_eq(dt_start(), 0);
	fd = dt_connect();
	ck_assert_int_eq(dt_register(fd, &rp), 0);
}
END_TEST

START_TEST(test_crash_backtrace)
{
	pid_t pid = D.pid;
	int st;

	/* a crash of the daemon logs a backtrace, then dies of the same signal */
	ck_assert_int_eq(kill(pid, SIGSEGV), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	D.pid = 0;
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGSEGV);
	ck_assert(dt_log_has("fatal signal 11"));
	ck_assert(dt_log_has("backtrace:\nfaasflowd["));
	ck_assert(dt_log_has("]:   #0 "));
}
END_TEST

static int recv_notify(int fd, const char *want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	ssize_t n;

	if (poll(&p, 1, 3000) != 1)
		return 0;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

START_TEST(test_sd_notify)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	ck_assert_int_eq(dt_stop(), 0);
	snprintf(D.notify, sizeof(D.notify), "%s/notify", D.dir);
	strcpy(sa.sun_path, D.notify);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(dt_start(), 0);
	ck_assert(recv_notify(fd, "READY=1"));
	ck_assert_int_eq(kill(D.pid, SIGHUP), 0);
	ck_assert(recv_notify(fd, "RELOADING=1"));
	ck_assert(recv_notify(fd, "READY=1"));
	ck_assert_int_eq(dt_stop(), 0);
	ck_assert(recv_notify(fd, "STOPPING=1"));
	close(fd);
}
END_TEST

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_lease_return);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_exhaustion);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_random_packets);
	tcase_add_test(tc, test_silent_client);
	tcase_add_test(tc, test_set_enabled_and_sighup);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_stale_socket);
	tcase_add_test(tc, test_crash_backtrace);
	tcase_add_test(tc, test_sd_notify);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(daemon_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
