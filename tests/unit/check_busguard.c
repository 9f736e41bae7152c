/* busguard: a fault on a guarded mapping whose file shrank becomes zero pages and a lost
 * mapping; faults elsewhere and SIGBUS sent by kill() reach the handler that was there first.
 * Real files, real truncation, real signals (each test runs in its own process). */
#include "testutil.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "busguard.h"

#define LEN (1u << 20)

static volatile sig_atomic_t theirs;
static sigjmp_buf back;

static void their_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	theirs = si && si->si_code <= 0 ? 1 : 2;     /* 1: sent, 2: a fault */
	if (sig == SIGBUS && theirs == 2)
		siglongjmp(back, 1);                 /* a real fault would repeat on return */
}

static void install_theirs(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = their_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
}

static uint8_t *map_file(const char *name, int *fdp)
{
	int fd = open(tu_path(name), O_RDWR | O_CREAT | O_EXCL, 0600);
	uint8_t *p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, LEN), 0);
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert(p != MAP_FAILED);
	memset(p, 0xab, LEN);
	*fdp = fd;
	return p;
}

START_TEST(test_truncated_mapping_is_lost_not_fatal)
{
	int fd;
	volatile uint8_t *p = map_file("region", &fd);

	install_theirs();
	ck_assert_int_eq(ff_busguard_add((void *)p, LEN, true), 0);
	ck_assert(!ff_busguard_lost((void *)p));
	ck_assert_uint_eq(p[LEN / 2], 0xab);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	p[LEN / 2] = 7;                              /* SIGBUS without the guard */
	ck_assert(ff_busguard_lost((void *)p));
	ck_assert_uint_eq(p[LEN / 2], 7);            /* the store was retried on a zero page */
	ck_assert_uint_eq(p[0], 0);                  /* the whole mapping is zero pages now */
	ck_assert_uint_eq(p[LEN - 1], 0);
	ck_assert_int_eq(theirs, 0);                 /* not passed on */
	/* the file is not touched: growing it again gives the file's zeros, not our pages */
	ck_assert_int_eq(ftruncate(fd, LEN), 0);
	close(fd);
}
END_TEST

START_TEST(test_other_faults_reach_their_handler)
{
	int fd1, fd2;
	volatile uint8_t *guarded = map_file("a", &fd1), *other = map_file("b", &fd2);

	install_theirs();
	ck_assert_int_eq(ff_busguard_add((void *)guarded, LEN, true), 0);
	ck_assert_int_eq(ftruncate(fd2, 0), 0);
	if (sigsetjmp(back, 1) == 0) {
		other[10] = 1;                       /* not a region: their handler's */
		ck_abort_msg("the fault on an unguarded mapping did not raise SIGBUS");
	}
	ck_assert_int_eq(theirs, 2);
	ck_assert(!ff_busguard_lost((void *)guarded));
	ck_assert_uint_eq(guarded[10], 0xab);
	/* a SIGBUS sent with kill() is theirs too, even with an address in a region */
	theirs = 0;
	ck_assert_int_eq(kill(getpid(), SIGBUS), 0);
	ck_assert_int_eq(theirs, 1);
	ck_assert(!ff_busguard_lost((void *)guarded));
	close(fd1);
	close(fd2);
}
END_TEST

START_TEST(test_default_action_kept)
{
	int fd;
	volatile uint8_t *p = map_file("c", &fd);
	int ignored;

	signal(SIGBUS, SIG_DFL);     /* (a sanitizer's own handler would report and exit instead) */
	ck_assert_int_eq(ff_busguard_add((void *)p, LEN / 2, true), 0);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	p[0] = 1;                                    /* guarded half: survives */
	ck_assert(ff_busguard_lost((void *)p));
	ignored = p[LEN - 1];                        /* unguarded half: the default action */
	(void)ignored;
	ck_abort_msg("a fault outside every guarded mapping did not kill the process");
}
END_TEST

START_TEST(test_table_full_reuses_lost)
{
	static uint8_t mem[70][4096];
	int fd;
	volatile uint8_t *p = map_file("d", &fd);

	ck_assert_int_eq(ff_busguard_add((void *)p, LEN, true), 0);
	for (int i = 0; i < 63; i++)
		ck_assert_int_eq(ff_busguard_add(mem[i], 4096, false), 0);
	ck_assert_int_eq(ff_busguard_add(mem[63], 4096, false), -1);   /* full */
	ff_busguard_remove(mem[3]);
	ck_assert_int_eq(ff_busguard_add(mem[64], 4096, false), 0);
	ck_assert_int_eq(ff_busguard_add(mem[65], 4096, false), -1);
	/* a lost mapping (zero pages of ours, it cannot fault again) gives its entry up */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	p[1] = 1;
	ck_assert(ff_busguard_lost((void *)p));
	ck_assert_int_eq(ff_busguard_add(mem[66], 4096, false), 0);
	ck_assert(!ff_busguard_lost(mem[66]));
	ck_assert_int_eq(ff_busguard_add(NULL, 4096, false), -1);
	close(fd);
}
END_TEST

static void reporter(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "reporter ran\n";

	(void)sig;
	(void)si;
	(void)uc;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	/* returns: the fault repeats, and SA_RESETHAND made the default action kill us */
}

START_TEST(test_resethand_reporter_dies_not_loops)
{
	struct sigaction sa;
	int fd1, fd2;
	volatile uint8_t *guarded = map_file("e", &fd1), *other = map_file("f", &fd2);
	int ignored;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = reporter;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
	ck_assert_int_eq(ff_busguard_add((void *)guarded, LEN, true), 0);
	ck_assert_int_eq(ftruncate(fd2, 0), 0);
	ignored = other[5];
	(void)ignored;
	ck_abort_msg("the repeated fault did not kill the process");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("busguard");
	TCase *tc = tu_tcase("busguard");

	tcase_add_test(tc, test_truncated_mapping_is_lost_not_fatal);
	tcase_add_test(tc, test_other_faults_reach_their_handler);
	tcase_add_test_raise_signal(tc, test_default_action_kept, SIGBUS);
	tcase_add_test(tc, test_table_full_reuses_lost);
	tcase_add_test_raise_signal(tc, test_resethand_reporter_dies_not_loops, SIGBUS);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
