/* Configuration files: "KEY = value" lines, # comments, optional quotes; the load order
 * defaults -> file -> environment; and the paths derived from the configuration. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/un.h>

#include "config.h"
#include "sys.h"

/* Split a line into key and value (quotes kept, trailing comment removed).
 * Returns 1 for a setting, 0 for a blank/comment line, -1 with a message. */
static int split_line(char *line, char **key, char **val, char *err, size_t errlen)
{
	char *p = line, *eq, *end, q;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p || *p == '#' || *p == ';')
		return 0;
	if (!strncmp(p, "export ", 7))
		p += 7;
	eq = strchr(p, '=');
	if (!eq) {
		snprintf(err, errlen, "expected KEY = value, got '%.200s'", p);
		return -1;
	}
	end = eq;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (!*p) {
		snprintf(err, errlen, "missing key before '='");
		return -1;
	}
	*key = p;
	p = eq + 1;
	while (isspace((unsigned char)*p))
		p++;
	*val = p;
	if (*p == '\'' || *p == '"') {
		q = *p;
		end = strchr(p + 1, q);
		if (!end) {
			snprintf(err, errlen, "%.100s: missing closing %c quote", *key, q);
			return -1;
		}
		end++;
		for (char *t = end; *t && *t != '#'; t++)
			if (!isspace((unsigned char)*t)) {
				snprintf(err, errlen, "%.100s: unexpected text after the quoted value", *key);
				return -1;
			}
		*end = '\0';
		return 1;
	}
	/* unquoted: a '#' at the start or after a blank starts a comment */
	for (end = p; *end; end++)
		if (*end == '#' && (end == p || isspace((unsigned char)end[-1]))) {
			*end = '\0';
			break;
		}
	return 1;
}

/* One line of the file: 1 with it in line (newline removed), 0 at the end, -1 with errno.
 * Reads through sys.h into fixed buffers: no stdio, no allocation (start-up of the shim may
 * run inside another library's constructor or allocator). */
struct line_reader {
	int fd;
	char buf[4096];
	size_t pos, len;
	bool eof;
};

static int next_line(struct line_reader *r, char *line, size_t cap, bool *too_long)
{
	size_t n = 0;
	bool any = false;

	*too_long = false;
	for (;;) {
		if (r->pos == r->len) {
			ssize_t got;

			if (r->eof)
				break;
			got = ff_sys_read(r->fd, r->buf, sizeof(r->buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return -1;
			if (got == 0) {
				r->eof = true;
				break;
			}
			r->pos = 0;
			r->len = (size_t)got;
		}
		any = true;
		char ch = r->buf[r->pos++];
		if (ch == '\n')
			break;
		if (n + 1 < cap)
			line[n++] = ch;
		else
			*too_long = true;
	}
	line[n] = '\0';
	return any ? 1 : 0;
}

int ff_config_load_file(struct ff_config *c, const char *path, bool missing_ok, char *err,
			size_t errlen)
{
	char line[8192], msg[1536], *key, *val;
	struct line_reader r = { .fd = -1 };
	unsigned lineno = 0;
	int rc = -1, saved, got;
	bool too_long;

	r.fd = ff_sys_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (r.fd < 0) {
		saved = errno;
		if (saved == ENOENT && missing_ok)
			return 0;
		snprintf(err, errlen, "cannot open config file %s: %s", path, ff_strerror(saved));
		errno = saved;
		return -1;
	}
	while ((got = next_line(&r, line, sizeof(line), &too_long)) > 0) {
		lineno++;
		if (too_long) {
			snprintf(err, errlen, "%s:%u: line longer than %zu characters", path, lineno,
				 sizeof(line) - 2);
			goto out;
		}
		line[strcspn(line, "\r")] = '\0';
		switch (split_line(line, &key, &val, msg, sizeof(msg))) {
		case 0:
			continue;
		case 1:
			if (!ff_config_set(c, key, val, msg, sizeof(msg)))
				continue;
			/* fall through */
		default:
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			goto out;
		}
	}
	if (got < 0) {
		snprintf(err, errlen, "%s: read error: %s", path, ff_strerror(errno));
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	ff_sys_close(r.fd);
	if (rc)
		errno = saved ? saved : EINVAL;
	return rc;
}

int ff_config_load(struct ff_config *c, const char *path, char *err, size_t errlen)
{
	/* setuid/setgid programs ignore the environment, $FAASFLOW_CONFIG included */
	const char *envpath = getauxval(AT_SECURE) ? NULL : getenv(FF_ENV_CONFIG);
	unsigned scope = c->scope;

	ff_config_defaults(c);
	c->scope = scope;
	if (path && *path) {
		if (ff_config_load_file(c, path, false, err, errlen))
			return -1;
	} else if (envpath && *envpath) {
		if (ff_config_load_file(c, envpath, false, err, errlen))
			return -1;
	} else if (ff_config_load_file(c, FF_DEFAULT_CONFIG_FILE, true, err, errlen)) {
		return -1;
	}
	return ff_config_load_env(c, err, errlen);
}

int ff_config_socket_path(const struct ff_config *c, char *buf, size_t len)
{
	struct sockaddr_un sun;
	size_t dl = strlen(c->socket_dir);
	int n;

	while (dl > 1 && c->socket_dir[dl - 1] == '/')
		dl--;
	n = snprintf(buf, len, "%.*s%s%s%s%s", (int)dl, c->socket_dir,
		     dl == 1 && c->socket_dir[0] == '/' ? "" : "/", FF_SOCKET_PREFIX, c->tenant,
		     FF_SOCKET_SUFFIX);
	if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int ff_config_region_path(const struct ff_config *c, const char *tenant, char *buf, size_t len)
{
	int n;

	if (!tenant || !*tenant)
		tenant = c->tenant;
	if (!strcmp(tenant, FF_DEFAULT_TENANT))
		n = snprintf(buf, len, "%s", c->shm_file_path);
	else
		n = snprintf(buf, len, "%s.%s", c->shm_file_path, tenant);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
