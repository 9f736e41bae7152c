/* Leveled logging to stderr or a file (never stdout), optionally syslog.
 *
 * Safe inside the LD_PRELOAD shim: a line is formatted into a stack buffer and handed to the
 * kernel with one write(2) system call made through sys.h (no libc symbol the shim interposes is
 * ever called); no stdio FILE* and no heap allocation on the logging path. errno is preserved. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sys.h"

#define LOG_LINE_MAX 2048

static _Atomic int log_fd = STDERR_FILENO;   /* never STDOUT_FILENO */
static _Atomic int log_level = FF_LOG_WARN;
static _Atomic int log_syslog;
static char log_ident[32] = "faasflow";

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DEBUG" };

static void raw_close(int fd)
{
	ff_sys_close(fd);
}

int ff_log_open(const char *ident, const char *path, int level)
{
	int fd, old, saved;

	/* every line must carry "faasflow", whatever ident the caller chose */
	if (ident && *ident)
		snprintf(log_ident, sizeof(log_ident), "%s%s",
			 strstr(ident, "faasflow") ? "" : "faasflow-", ident);
	ff_log_set_level(level);
	if (!path || !*path) {
		old = atomic_exchange(&log_fd, STDERR_FILENO);
		if (old > STDERR_FILENO)
			raw_close(old);
		return 0;
	}
	fd = ff_sys_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		saved = errno;
		old = atomic_exchange(&log_fd, STDERR_FILENO);
		if (old > STDERR_FILENO)
			raw_close(old);
		errno = saved;
		return -1;
	}
	if (fd <= STDERR_FILENO) {
		/* stdin/stdout/stderr were closed: never log through fd 1 by accident. */
		int nfd = ff_sys_fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

		saved = errno;
		raw_close(fd);
		if (nfd < 0) {
			errno = saved;
			return -1;
		}
		fd = nfd;
	}
	old = atomic_exchange(&log_fd, fd);
	if (old > STDERR_FILENO)
		raw_close(old);
	return 0;
}

void ff_log_set_level(int level)
{
	if (level < FF_LOG_ERR)
		level = FF_LOG_ERR;
	if (level > FF_LOG_DEBUG)
		level = FF_LOG_DEBUG;
	atomic_store(&log_level, level);
}

void ff_log_mute(void)
{
	atomic_store(&log_level, FF_LOG_ERR - 1);
}

int ff_log_get_level(void)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}

void ff_log_use_syslog(int on)
{
	int was = atomic_exchange(&log_syslog, on ? 1 : 0);

	if (on && !was)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && was)
		closelog();
}

void ff_log_close(void)
{
	int old = atomic_exchange(&log_fd, STDERR_FILENO);

	if (old > STDERR_FILENO)
		raw_close(old);
	ff_log_use_syslog(0);
}

int ff_log_level_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "err") || !strcasecmp(s, "error"))
		return FF_LOG_ERR;
	if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning"))
		return FF_LOG_WARN;
	if (!strcasecmp(s, "info"))
		return FF_LOG_INFO;
	if (!strcasecmp(s, "debug"))
		return FF_LOG_DEBUG;
	return -1;
}

const char *ff_log_level_name(int level)
{
	if (level < FF_LOG_ERR || level > FF_LOG_DEBUG)
		return "?";
	return level_names[level];
}

/* UTC date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days): gmtime_r()
 * may read the time zone database, with stdio and malloc, the first time it runs. */
static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d)
{
	long long era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static size_t log_prefix(char *buf, size_t cap, int level, const char *func)
{
	struct timespec ts;
	long long days, secs;
	unsigned mon, mday;
	int year, n;

	clock_gettime(CLOCK_REALTIME, &ts);
	days = (long long)ts.tv_sec / 86400;
	secs = (long long)ts.tv_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &year, &mon, &mday);
	n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02dZ %s[%ld] %s %s: ", year, mon, mday,
		     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), log_ident,
		     (long)getpid(), ff_log_level_name(level), func ? func : "-");
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

static void log_emit(int level, const char *line, size_t len, size_t body)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	int fd = atomic_load(&log_fd);
	size_t off = 0;
	ssize_t w;

	while (off < len) {
		w = ff_sys_write(fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (atomic_load(&log_syslog))
		syslog(prio[level], "%.*s", (int)(len - body - 1), line + body);
}

void ff_log_msg(int level, const char *func, int with_errno, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	size_t len, body;
	va_list ap;
	int n;

	if (level < FF_LOG_ERR)
		level = FF_LOG_ERR;
	if (level > FF_LOG_DEBUG)
		level = FF_LOG_DEBUG;
	if (level > ff_log_get_level())
		goto out;
	len = log_prefix(line, sizeof(line) - 1, level, func);
	body = len;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - 1 - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n < sizeof(line) - 1 - len ? (size_t)n : sizeof(line) - 2 - len;
	if (with_errno) {
		const char *es = ff_strerror(saved);

		n = snprintf(line + len, sizeof(line) - 1 - len, ": %s", es);
		if (n > 0)
			len += (size_t)n < sizeof(line) - 1 - len ? (size_t)n : sizeof(line) - 2 - len;
	}
	/* one line per event: fold embedded newlines */
	for (size_t i = body; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	log_emit(level, line, len, body);
out:
	errno = saved;
}
