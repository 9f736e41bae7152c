/* Reclamation: clients killed with SIGKILL while holding, filling or reading slots; and who may
 * talk to the coordinator at all. Children play the shim on the shared slot meta. */
#include <check.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "dtest.h"

enum act { HOLD, FILL, READ, AS_NOBODY };

struct report {
	int32_t status;
	uint32_t id;
	uint32_t n;
	uint32_t slots[8];
};

static pid_t kids[4];
static int nkids;

static void setup(void)
{
	dt_setup("SOCKET_MODE = 0666\nALLOW_UIDS = 65534");
	ck_assert_int_eq(dt_start(), 0);
}

static void teardown(void)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL), waitpid(kids[i], NULL, 0);
	nkids = 0;
	dt_cleanup();
}

static void child(enum act a, uint32_t arg, int wfd)
{
	struct report rp = { 0 };
	struct ff_register_reply reg;
	struct ff_region r;
	int fd;

	if (a == AS_NOBODY && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	                       setresuid(65534, 65534, 65534) < 0))
		_exit(3);
	fd = ff_ctl_connect(D.sock, 2000);
	if (fd < 0)
		_exit(4);
	rp.status = dt_register(fd, &reg);
	rp.id = reg.client_id;
	if (rp.status == 0 && a == AS_NOBODY) {
		struct ff_set_enabled se = { .enabled = 0 };

		rp.status = dt_call(fd, FF_MSG_SET_ENABLED, &se, sizeof(se), NULL, NULL);
		if (dt_lease(fd, 1, rp.slots, &rp.n) != 0)
			rp.n = 99;
	} else if (rp.status == 0 && (a == HOLD || a == FILL)) {
		rp.status = dt_lease(fd, a == HOLD ? arg : 1, rp.slots, &rp.n);
		if (a == FILL) {
			char err[256];
			uint32_t w;

			if (ff_region_open(&r, D.region, true, err, sizeof(err)) < 0)
				_exit(5);
			w = atomic_load(&r.meta[rp.slots[0]].word);
			atomic_store(&r.meta[rp.slots[0]].len, 1000);
			if (!atomic_compare_exchange_strong(&r.meta[rp.slots[0]].word, &w,
			        FF_SLOT_WORD(FF_SLOT_GEN(w), FF_SLOT_FILLED)))
				_exit(6);
		}
	} else if (rp.status == 0 && a == READ) {
		char err[256];
		uint32_t w;

		if (ff_region_open(&r, D.region, true, err, sizeof(err)) < 0)
			_exit(5);
		w = atomic_load(&r.meta[arg].word);
		if (FF_SLOT_STATE(w) != FF_SLOT_FILLED ||
		    !atomic_compare_exchange_strong(&r.meta[arg].word, &w,
		        FF_SLOT_WORD(FF_SLOT_GEN(w), FF_SLOT_READING)))
			_exit(6);
		atomic_store(&r.meta[arg].reader, rp.id);
	}
	if (write(wfd, &rp, sizeof(rp)) != sizeof(rp))
		_exit(7);
	pause();
	_exit(0);
}

/* Fork a child that acts, reports, and waits to be killed. */
static pid_t spawn(enum act a, uint32_t arg, struct report *rp)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		child(a, arg, p[1]);
	}
	close(p[1]);
	kids[nkids++] = pid;
	ck_assert_int_eq(read(p[0], rp, sizeof(*rp)), sizeof(*rp));
	close(p[0]);
	return pid;
}

static void kill9(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	for (int i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

static void wait_clients(int fd, uint64_t n)
{
	struct ff_stats st;
	uint64_t end = dt_now_ms() + 1000;

	do {
		ck_assert_int_eq(dt_stats(fd, &st), 0);
		if (st.clients == n)
			return;
		dt_sleep_ms(5);
	} while (dt_now_ms() < end);
	ck_abort_msg("%llu clients, expected %llu", (unsigned long long)st.clients,
	             (unsigned long long)n);
}

START_TEST(test_kill_holder)
{
	struct ff_register_reply reg;
	struct ff_region r;
	struct report rp;
	uint32_t gens[8];
	uint64_t t0, total;
	pid_t pid;
	int fd = dt_connect();

	ck_assert_int_eq(dt_register(fd, &reg), 0);
	total = reg.slot_count;
	dt_map(&r);
	pid = spawn(HOLD, 3, &rp);
	ck_assert_int_eq(rp.status, 0);
	ck_assert_uint_eq(rp.n, 3);
	ck_assert_uint_eq(dt_wait_free(fd, total - 3, 0), total - 3);
	ck_assert_uint_eq(atomic_load(&r.hdr->c.slots_leased), 3);
	for (int i = 0; i < 3; i++)
		gens[i] = FF_SLOT_GEN(atomic_load(&r.meta[rp.slots[i]].word));
	t0 = dt_now_ms();
	kill9(pid);
	ck_assert_uint_eq(dt_wait_free(fd, total, 1000), total);
	ck_assert_uint_lt(dt_now_ms() - t0, 1000);
	for (int i = 0; i < 3; i++) {
		uint32_t w = atomic_load(&r.meta[rp.slots[i]].word);

		ck_assert_uint_eq(FF_SLOT_STATE(w), FF_SLOT_FREE);
		ck_assert_uint_eq(FF_SLOT_GEN(w), gens[i] + 1);
		ck_assert_uint_eq(atomic_load(&r.meta[rp.slots[i]].owner), 0);
	}
	ck_assert_uint_eq(atomic_load(&r.hdr->c.slots_leased), 0);
	ck_assert_uint_eq(atomic_load(&r.hdr->c.reclaimed), 3);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_orphan_read_after_death)
{
	struct ff_register_reply reg;
	struct ff_region r;
	struct report rp;
	uint32_t s, w, gen;
	uint64_t total;
	int fd = dt_connect();

	ck_assert_int_eq(dt_register(fd, &reg), 0);
	total = reg.slot_count;
	dt_map(&r);
	kill9(spawn(FILL, 0, &rp));
	s = rp.slots[0];
	gen = FF_SLOT_GEN(atomic_load(&r.meta[s].word));
	wait_clients(fd, 1);
	/* the writer is dead but a reader may still come: the slot stays out of the pool */
	dt_sleep_ms(450);
	ck_assert_uint_eq(dt_wait_free(fd, total - 1, 0), total - 1);
	ck_assert_uint_eq(atomic_load(&r.meta[s].owner), 0);
	w = atomic_load(&r.meta[s].word);
	ck_assert_uint_eq(w, FF_SLOT_WORD(gen, FF_SLOT_FILLED));
	/* we read it: READING (still out), then done: LEASED gen+1 -> back to the pool */
	ck_assert(atomic_compare_exchange_strong(&r.meta[s].word, &w,
	          FF_SLOT_WORD(gen, FF_SLOT_READING)));
	atomic_store(&r.meta[s].reader, reg.client_id);
	dt_sleep_ms(450);
	ck_assert_uint_eq(dt_wait_free(fd, total - 1, 0), total - 1);
	atomic_store(&r.meta[s].reader, 0);
	atomic_store(&r.meta[s].word, FF_SLOT_WORD(gen + 1, FF_SLOT_LEASED));
	ck_assert_uint_eq(dt_wait_free(fd, total, 1000), total);
	ck_assert_uint_eq(atomic_load(&r.meta[s].word), FF_SLOT_WORD(gen + 2, FF_SLOT_FREE));
	ff_region_close(&r);
}
END_TEST

START_TEST(test_reader_dies_owner_alive)
{
	struct ff_register_reply reg;
	struct ff_region r;
	struct report rp;
	uint32_t s, got, w, gen;
	uint64_t total, end;
	int fd = dt_connect();

	ck_assert_int_eq(dt_register(fd, &reg), 0);
	total = reg.slot_count;
	dt_map(&r);
	ck_assert_int_eq(dt_lease(fd, 1, &s, &got), 0);
	w = atomic_load(&r.meta[s].word);
	gen = FF_SLOT_GEN(w);
	ck_assert(atomic_compare_exchange_strong(&r.meta[s].word, &w,
	          FF_SLOT_WORD(gen, FF_SLOT_FILLED)));
	kill9(spawn(READ, s, &rp));
	ck_assert_int_eq(rp.status, 0);
	/* back to us, the owner, as LEASED with the next generation */
	for (end = dt_now_ms() + 1000; dt_now_ms() < end;) {
		if (atomic_load(&r.meta[s].word) == FF_SLOT_WORD(gen + 1, FF_SLOT_LEASED))
			break;
		dt_sleep_ms(5);
	}
	ck_assert_uint_eq(atomic_load(&r.meta[s].word), FF_SLOT_WORD(gen + 1, FF_SLOT_LEASED));
	ck_assert_uint_eq(atomic_load(&r.meta[s].reader), 0);
	ck_assert_uint_eq(atomic_load(&r.meta[s].owner), reg.client_id);
	ck_assert_uint_eq(dt_wait_free(fd, total - 1, 0), total - 1);
	ck_assert_int_eq(dt_return(fd, &s, 1), 0);
	ck_assert_uint_eq(dt_wait_free(fd, total, 0), total);
	ff_region_close(&r);
}
END_TEST

START_TEST(test_reader_dies_owner_dead)
{
	struct ff_register_reply reg;
	struct report wr, rd;
	uint64_t total;
	pid_t writer;
	int fd = dt_connect();

	ck_assert_int_eq(dt_register(fd, &reg), 0);
	total = reg.slot_count;
	writer = spawn(FILL, 0, &wr);
	spawn(READ, wr.slots[0], &rd);
	ck_assert_int_eq(rd.status, 0);
	kill9(writer);
	wait_clients(fd, 2);
	dt_sleep_ms(450);
	ck_assert_uint_eq(dt_wait_free(fd, total - 1, 0), total - 1);   /* reader still alive */
	kill9(kids[1]);
	ck_assert_uint_eq(dt_wait_free(fd, total, 1000), total);
}
END_TEST

START_TEST(test_refused_uid)
{
	struct ff_stats st;
	struct report rp;
	int fd = dt_connect();
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "test_refused_uid: needs root to run a client as uid 65534; "
		        "skipped\n");
		return;
	}
	/* ALLOW_UIDS = 65534 lets "nobody" in, but only root / the daemon's uid may switch */
	spawn(AS_NOBODY, 0, &rp);
	ck_assert_int_eq(rp.status, EPERM);
	ck_assert_uint_eq(rp.n, 1);
	/* without ALLOW_UIDS, nobody is refused (the socket mode is wide open) and logged */
	ck_assert_int_eq(dt_stop(), 0);
	dt_write_conf("SOCKET_MODE = 0666");
	ck_assert_int_eq(dt_start(), 0);
	close(fd);
	fd = dt_connect();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ff_register_reply reg;
		int c;

		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		c = ff_ctl_connect(D.sock, 2000);
		if (c < 0)
			_exit(errno == EACCES ? 4 : 5);
		_exit(dt_register(c, &reg) == -1 ? 0 : 1);
	}
	{
		int status;

		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert(dt_log_has("refused client uid=65534 gid=65534"));
	ck_assert_int_eq(dt_stats(fd, &st), 0);
	ck_assert_uint_eq(st.refused_clients, 1);
}
END_TEST

static Suite *reclaim_suite(void)
{
	Suite *s = suite_create("reclaim");
	TCase *tc = tcase_create("reclaim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kill_holder);
	tcase_add_test(tc, test_orphan_read_after_death);
	tcase_add_test(tc, test_reader_dies_owner_alive);
	tcase_add_test(tc, test_reader_dies_owner_dead);
	tcase_add_test(tc, test_refused_uid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reclaim_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
