/* Leveled logging to stderr or a file (never stdout), optionally syslog.
 *
 * Safe inside the LD_PRELOAD shim: a line is formatted into a stack buffer and handed to the
 * kernel with one write(2) system call (made with syscall(2), so an interposed write() is never
 * re-entered); no stdio FILE* and no heap allocation on the logging path. errno is preserved. */
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
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static _Atomic int log_fd = STDERR_FILENO;   /* never STDOUT_FILENO */
static _Atomic int log_level = FF_LOG_WARN;
static _Atomic int log_syslog;
static char log_ident[32] = "faasflow";

static const char *const level_names[] = { "ERR", "WARN", "INFO", "DEBUG" };

static ssize_t raw_write(int fd, const void *buf, size_t len)
{
	return syscall(SYS_write, fd, buf, len);
}

static void raw_close(int fd)
{
	syscall(SYS_close, fd);
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
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
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
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

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

static size_t log_prefix(char *buf, size_t cap, int level, const char *func)
{
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ %s[%ld] %s %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, log_ident, (long)getpid(), ff_log_level_name(level),
		     func ? func : "-");
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
		w = raw_write(fd, line + off, len - off);
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
		char ebuf[128];
		const char *es = strerror_r(saved, ebuf, sizeof(ebuf));

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
