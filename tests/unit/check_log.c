/* Logging: to a file or stderr, never stdout; levels; line format; one write per line. */
#include "testutil.h"

#include <pthread.h>
#include <regex.h>

#include "log.h"

static char buf[1 << 20];

static void teardown_log(void)
{
	ff_log_close();
	ff_log_set_level(FF_LOG_WARN);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(test_file_and_format)
{
	const char *p = tu_path("ff.log");
	regex_t re;

	ck_assert_int_eq(ff_log_open("faasflowd", p, FF_LOG_WARN), 0);
	errno = ENOENT;
	log_warn("cannot open %s", "/x");
	ck_assert_int_eq(errno, ENOENT);             /* preserved */
	log_warnx("plain %d", 42);
	log_errx("bad\nthing");
	tu_read_file(p, buf, sizeof(buf));
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
				 "faasflowd\\[[0-9]+\\] WARN test_file_and_format_fn: cannot open "
				 "/x: No such file or directory\n"
				 "[^\n]+ faasflowd\\[[0-9]+\\] WARN test_file_and_format_fn: plain 42\n"
				 "[^\n]+ ERR test_file_and_format_fn: bad thing\n$",
				 REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, buf, 0, NULL, 0) == 0, "log was:\n%s", buf);
	regfree(&re);
}
END_TEST

START_TEST(test_levels)
{
	const char *p = tu_path("lv.log");

	ck_assert_int_eq(ff_log_get_level(), FF_LOG_WARN);   /* the default */
	ck_assert_int_eq(ff_log_open("faasflowctl", p, FF_LOG_WARN), 0);
	log_info("info-hidden");
	log_debug("debug-hidden");
	log_warnx("warn-shown");
	ff_log_set_level(FF_LOG_ERR);
	log_warnx("warn-hidden");
	log_errx("err-shown");
	ff_log_set_level(FF_LOG_DEBUG);
	log_info("info-shown");
	log_debug("debug-shown");
	tu_read_file(p, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "hidden"));
	ck_assert_ptr_nonnull(strstr(buf, "WARN test_levels_fn: warn-shown"));
	ck_assert_ptr_nonnull(strstr(buf, "ERR test_levels_fn: err-shown"));
	ck_assert_ptr_nonnull(strstr(buf, "INFO test_levels_fn: info-shown"));
	ck_assert_ptr_nonnull(strstr(buf, "DEBUG test_levels_fn: debug-shown"));
	ck_assert_uint_eq(count_lines(buf), 4);

	ck_assert_int_eq(ff_log_level_parse("ERROR"), FF_LOG_ERR);
	ck_assert_int_eq(ff_log_level_parse("warning"), FF_LOG_WARN);
	ck_assert_int_eq(ff_log_level_parse("Info"), FF_LOG_INFO);
	ck_assert_int_eq(ff_log_level_parse("debug"), FF_LOG_DEBUG);
	ck_assert_int_eq(ff_log_level_parse("trace"), -1);
	ck_assert_int_eq(ff_log_level_parse(NULL), -1);
	ck_assert_str_eq(ff_log_level_name(FF_LOG_INFO), "INFO");
}
END_TEST

/* Every line carries "faasflow"; nothing reaches stdout, even when logging to stderr. */
START_TEST(test_never_stdout)
{
	const char *out = tu_path("stdout"), *errp = tu_path("stderr"), *p = tu_path("x.log");
	int ofd = open(out, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	int efd = open(errp, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	int save1 = dup(1), save2 = dup(2);

	fflush(stdout);
	dup2(ofd, 1);
	dup2(efd, 2);
	ck_assert_int_eq(ff_log_open("shim", NULL, FF_LOG_DEBUG), 0);
	log_errx("to-stderr");
	ck_assert_int_eq(ff_log_open("faasflow-shim", p, FF_LOG_DEBUG), 0);
	log_info("to-file");
	ff_log_close();
	log_warnx("after-close");
	dup2(save1, 1);
	dup2(save2, 2);
	close(ofd);
	close(efd);
	ck_assert_uint_eq(tu_read_file(out, buf, sizeof(buf)), 0);
	tu_read_file(errp, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "faasflow-shim["));    /* ident made to carry it */
	ck_assert_ptr_nonnull(strstr(buf, "to-stderr"));
	ck_assert_ptr_nonnull(strstr(buf, "after-close"));
	ck_assert_ptr_null(strstr(buf, "to-file"));
	tu_read_file(p, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "faasflow-shim["));
	ck_assert_ptr_nonnull(strstr(buf, "to-file"));
}
END_TEST

START_TEST(test_open_failure)
{
	int efd = open(tu_path("stderr"), O_CREAT | O_WRONLY | O_TRUNC, 0600);
	int save2 = dup(2);

	dup2(efd, 2);
	ck_assert_int_eq(ff_log_open("faasflowd", tu_path("no/such/dir/x.log"), FF_LOG_WARN), -1);
	ck_assert_int_eq(errno, ENOENT);
	log_warnx("fallback");
	dup2(save2, 2);
	close(efd);
	tu_read_file(tu_path("stderr"), buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "fallback"));
}
END_TEST

START_TEST(test_long_line)
{
	static char big[8192];
	const char *p = tu_path("long.log");

	memset(big, 'z', sizeof(big) - 1);
	ck_assert_int_eq(ff_log_open("faasflowd", p, FF_LOG_WARN), 0);
	log_warnx("%s", big);
	log_warnx("next");
	tu_read_file(p, buf, sizeof(buf));
	ck_assert_uint_eq(count_lines(buf), 2);
	ck_assert(strlen(buf) < 4200);
	ck_assert_ptr_nonnull(strstr(buf, "zzz\n"));
}
END_TEST

static void *spam(void *arg)
{
	for (int i = 0; i < 500; i++)
		log_warnx("thread %ld line %d %s", (long)arg, i,
			  "padding-padding-padding-padding-padding-padding-padding");
	return NULL;
}

START_TEST(test_threads)
{
	const char *p = tu_path("mt.log");
	pthread_t t[4];
	regex_t re;
	char *line, *save = NULL;
	size_t n = 0;

	ck_assert_int_eq(ff_log_open("faasflowd", p, FF_LOG_WARN), 0);
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, spam, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	tu_read_file(p, buf, sizeof(buf));
	ck_assert_int_eq(regcomp(&re, "^[^ ]+Z faasflowd\\[[0-9]+\\] WARN spam: thread [0-3] "
				 "line [0-9]+ padding(-padding){6}$", REG_EXTENDED | REG_NOSUB), 0);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "torn line: %s", line);
		n++;
	}
	regfree(&re);
	ck_assert_uint_eq(n, 2000);
}
END_TEST

START_TEST(test_syslog_toggle)
{
	const char *p = tu_path("sl.log");

	/* syslog output cannot be read back here; the file copy must stay complete */
	ck_assert_int_eq(ff_log_open("faasflowd", p, FF_LOG_WARN), 0);
	ff_log_use_syslog(1);
	log_warnx("with-syslog");
	ff_log_use_syslog(0);
	log_warnx("without-syslog");
	tu_read_file(p, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "with-syslog"));
	ck_assert_ptr_nonnull(strstr(buf, "without-syslog"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tu_tcase("log");

	tcase_add_checked_fixture(tc, NULL, teardown_log);
	tcase_add_test(tc, test_file_and_format);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_never_stdout);
	tcase_add_test(tc, test_open_failure);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_syslog_toggle);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
