/* Helpers shared by the unit tests: a fresh temp directory per test, file helpers. */
#ifndef FAASFLOW_TESTUTIL_H
#define FAASFLOW_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The current test's own directory (made by tu_setup, removed by tu_teardown). */
static char tu_dir[256];

static inline void tu_setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tu_dir, sizeof(tu_dir), "%s/ffunit.XXXXXX", base && *base ? base : "/tmp");
	ck_assert_msg(mkdtemp(tu_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static inline int tu_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void tu_teardown(void)
{
	if (tu_dir[0])
		nftw(tu_dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tu_dir[0] = '\0';
}

/* tu_path("x") -> "<tu_dir>/x" (static buffers, four in rotation) */
static inline const char *tu_path(const char *name)
{
	static char bufs[4][512];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tu_dir, name);
	return b;
}

static inline void tu_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Whole file into buf (NUL-terminated); returns its length. */
static inline size_t tu_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	size_t got = 0;
	ssize_t n;

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	while (got < cap - 1 && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static inline TCase *tu_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_set_timeout(tc, 60);
	return tc;
}

static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
