/* Test harness: start the real faasflowd (path in $FFD, default ../../daemon/faasflowd) with
 * its own temp directory, speak the protocol to it, and clean everything up at exit. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "dtest.h"

struct dt D;

uint64_t dt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void dt_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void dt_write_conf(const char *extra)
{
	FILE *f = fopen(D.conf, "w");

	ck_assert_ptr_nonnull(f);
	fprintf(f, "# written by the daemon tests\nSHM_SIZE = 16M\nSLOT_SIZE = 1M\n"
	        "SOCKET_DIR = %s/sock\nSHM_FILE_PATH = %s/shm/region\nLOG_LEVEL = info\n%s\n",
	        D.dir, D.dir, extra ? extra : "");
	ck_assert_int_eq(fclose(f), 0);
}

void dt_cleanup(void)
{
	char cmd[PATH_MAX + 16];

	if (D.pid > 0) {
		kill(D.pid, SIGKILL);
		waitpid(D.pid, NULL, 0);
		D.pid = 0;
	}
	if (D.dir[0] && !getenv("DT_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", D.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", D.dir);
		D.dir[0] = '\0';
	}
}

void dt_setup(const char *extra)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	memset(&D, 0, sizeof(D));
	snprintf(D.dir, sizeof(D.dir), "%s/ffd-test.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(D.dir));
	chmod(D.dir, 0755);
	snprintf(D.conf, sizeof(D.conf), "%s/faasflow.conf", D.dir);
	snprintf(D.sock, sizeof(D.sock), "%s/sock/faasflow_container_default.sock", D.dir);
	snprintf(D.region, sizeof(D.region), "%s/shm/region", D.dir);
	snprintf(D.log, sizeof(D.log), "%s/faasflowd.log", D.dir);
	dt_write_conf(extra);
	atexit(dt_cleanup);
}

static pid_t spawn(void)
{
	const char *ffd = getenv("FFD") ? getenv("FFD") : "../../daemon/faasflowd";
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(D.log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		struct rlimit nocore = { 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setrlimit(RLIMIT_CORE, &nocore);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		if (D.notify[0])
			setenv("NOTIFY_SOCKET", D.notify, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		execl(ffd, ffd, "--config", D.conf, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", ffd, strerror(errno));
		_exit(127);
	}
	return pid;
}

int dt_run_once(void)
{
	pid_t pid = spawn();
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int dt_start(void)
{
	uint64_t deadline = dt_now_ms() + 15000;
	int st;

	D.pid = spawn();
	while (dt_now_ms() < deadline) {
		int fd;

		if (waitpid(D.pid, &st, WNOHANG) == D.pid) {
			D.pid = 0;
			return 1000 + (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		}
		fd = ff_ctl_connect(D.sock, 200);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		dt_sleep_ms(10);
	}
	return -1;
}

int dt_stop(void)
{
	int st;

	if (D.pid <= 0)
		return -1;
	kill(D.pid, SIGTERM);
	if (waitpid(D.pid, &st, 0) != D.pid)
		return -1;
	D.pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int dt_log_has(const char *s)
{
	static char buf[1 << 16];
	FILE *f = fopen(D.log, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

int dt_connect(void)
{
	int fd = ff_ctl_connect(D.sock, 2000);

	ck_assert_msg(fd >= 0, "connect %s: %s", D.sock, strerror(errno));
	return fd;
}

int dt_call(int fd, uint16_t type, const void *req, size_t len, void *reply, size_t *rlen)
{
	static uint8_t buf[FF_MSG_MAX];
	size_t n = sizeof(buf);
	int32_t status;

	if (ff_ctl_call(fd, type, req, len, buf, &n, &status, 3000) < 0)
		return -1;
	if (reply) {
		memcpy(reply, buf, n < *rlen ? n : *rlen);
		*rlen = n;
	}
	return status;
}

int dt_register(int fd, struct ff_register_reply *rp)
{
	struct ff_register rq = { .pid = getpid() };
	size_t n = sizeof(*rp);
	int st = dt_call(fd, FF_MSG_REGISTER, &rq, sizeof(rq), rp, &n);

	if (st == 0)
		ck_assert_uint_eq(n, sizeof(*rp));
	return st;
}

int dt_lease(int fd, uint32_t n, uint32_t *slots, uint32_t *got)
{
	struct ff_lease rq = { .count = n };
	uint32_t buf[FF_LEASE_MAX + 1];
	size_t len = sizeof(buf);
	int st = dt_call(fd, FF_MSG_LEASE, &rq, sizeof(rq), buf, &len);

	*got = 0;
	if (st != 0)
		return st;
	ck_assert_uint_eq(len, sizeof(uint32_t) * (1 + buf[0]));
	*got = buf[0];
	memcpy(slots, buf + 1, sizeof(uint32_t) * buf[0]);
	return 0;
}

int dt_return(int fd, const uint32_t *slots, uint32_t n)
{
	uint32_t buf[FF_LEASE_MAX + 1];

	buf[0] = n;
	memcpy(buf + 1, slots, sizeof(uint32_t) * n);
	return dt_call(fd, FF_MSG_RETURN, buf, sizeof(uint32_t) * (n + 1), NULL, NULL);
}

int dt_stats(int fd, struct ff_stats *st)
{
	size_t n = sizeof(*st);
	int rc = dt_call(fd, FF_MSG_STATS, NULL, 0, st, &n);

	if (rc == 0)
		ck_assert_uint_eq(n, sizeof(*st));
	return rc;
}

uint64_t dt_wait_free(int fd, uint64_t want, int timeout_ms)
{
	uint64_t deadline = dt_now_ms() + (uint64_t)timeout_ms;
	struct ff_stats st;

	for (;;) {
		ck_assert_int_eq(dt_stats(fd, &st), 0);
		if (st.slots_free == want || dt_now_ms() >= deadline)
			return st.slots_free;
		dt_sleep_ms(10);
	}
}

void dt_map(struct ff_region *r)
{
	char err[512];

	ck_assert_msg(ff_region_open(r, D.region, true, err, sizeof(err)) == 0, "%s", err);
}
