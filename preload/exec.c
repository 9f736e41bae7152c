/* exec: an upgraded connection survives. Its framing state is handed to the new image in
 * FAASFLOW_FDSTATE, and the shim is kept in the new image's LD_PRELOAD (also when the caller
 * passes an environment without it). Connections not yet upgraded are left alone. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

#define STATE_MAX 65536

/* Describe every inherited (not close-on-exec) upgraded fd. Returns the length written. */
static size_t encode_state(char *out, size_t cap)
{
	size_t n = 0, first;
	int hi = ff_fdtab_max();

	/* The region the framed connections refer to: the new image must map the same one. */
	n += (size_t)snprintf(out, cap, "R");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(out + n, cap - n, "%02x", ff_ctl.mapped ? ff_ctl.region_id[i] : 0);
	n += (size_t)snprintf(out + n, cap - n, ";");
	first = n;

	for (int fd = 0; fd <= hi && n + 160 < cap; fd++) {
		struct ff_conn *c = ff_fd_peek(fd);
		int fl;
		if (!c || (fl = ff_real.fcntl(fd, F_GETFD)) < 0 || (fl & FD_CLOEXEC))
			continue;
		if (c->kind == FF_KIND_LISTENER) {
			n += (size_t)snprintf(out + n, cap - n, "%d:L;", fd);
			continue;
		}
		if (atomic_load(&c->tx) != FF_TX_FRAMED && atomic_load(&c->rx) != FF_RX_FRAMED &&
		    atomic_load(&c->tx) != FF_TX_HELLO)
			continue;
		n += (size_t)snprintf(out + n, cap - n,
			"%d:C:%d:%d:%d:%d:%" PRIu64 ":%" PRIu64 ":%d:%u:%u:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ";",
			fd, atomic_load(&c->tx), atomic_load(&c->rx), c->rx_region_ok, c->is_client,
			c->tx_inline_owed, c->rx_inline_left, c->rx_db_active, c->rx_db.slot,
			c->rx_db.gen, c->rx_db.offset, c->rx_db.len, c->rx_db_done);
	}
	return n == first ? 0 : n;
}

static bool env_has(char *const envp[], size_t n, const char *var)
{
	size_t l = strcspn(var, "=") + 1;

	for (size_t i = 0; i < n; i++)
		if (!strncmp(envp[i], var, l))
			return true;
	return false;
}

static bool has_self(const char *preload)
{
	const char *base = strrchr(ff_proc.self_path, '/');

	base = base ? base + 1 : ff_proc.self_path;
	return preload && *base && strstr(preload, base) != NULL;
}

/* A new environment: envp minus our old variables, plus the hand-over and LD_PRELOAD.
 * Returns NULL when nothing needs to change (the caller's envp is used as it is). */
static char **build_env(char *const envp[], char **blob, char **ldp)
{
	static const char pre[] = FF_ENV_FDSTATE "=";
	char *state = malloc(STATE_MAX);
	const char *preload = NULL;
	size_t n = 0, len;
	char **env;

	*blob = NULL;
	*ldp = NULL;
	if (!state)
		return NULL;
	memcpy(state, pre, sizeof(pre) - 1);
	len = encode_state(state + sizeof(pre) - 1, STATE_MAX - sizeof(pre));
	if (!len) {
		free(state);
		return NULL;
	}
	for (n = 0; envp && envp[n]; n++)
		if (!strncmp(envp[n], "LD_PRELOAD=", 11))
			preload = envp[n] + 11;
	size_t extra = 0;
	for (char **e = environ; e && *e; e++)
		extra += !strncmp(*e, FF_ENV_PREFIX, sizeof(FF_ENV_PREFIX) - 1);
	env = calloc(n + extra + 3, sizeof(*env));
	if (!env) {
		free(state);
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], pre, sizeof(pre) - 1) != 0)
			env[k++] = envp[i];
	/* The configuration follows too, for programs that pass a cleaned environment. */
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, FF_ENV_PREFIX, sizeof(FF_ENV_PREFIX) - 1) &&
		    strncmp(*e, pre, sizeof(pre) - 1) != 0 && !env_has(envp, n, *e))
			env[k++] = *e;
	env[k++] = state;
	if (!has_self(preload) && ff_proc.self_path[0]) {
		char *p = malloc(strlen(ff_proc.self_path) + 12);
		if (p) {
			sprintf(p, "LD_PRELOAD=%s", ff_proc.self_path);
			env[k++] = p;
			*ldp = p;
		}
	}
	*blob = state;
	return env;
}

static void free_env(char **env, char *blob, char *ldp)
{
	free(ldp);
	free(blob);
	free(env);
}

#define WITH_ENV(envp, call)                                              \
	do {                                                              \
		char *blob_, *ldp_;                                       \
		char **env_;                                              \
		int r_, e_;                                               \
		ff_init();                                                \
		env_ = ff_passthrough() ? NULL : build_env(envp, &blob_, &ldp_); \
		if (!env_)                                                \
			return call(envp);                                \
		r_ = call(env_);                                          \
		e_ = errno;                                               \
		free_env(env_, blob_, ldp_);                              \
		errno = e_;                                               \
		return r_;                                                \
	} while (0)

int execve(const char *path, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.execve(path, argv, e)
	WITH_ENV(envp, CALL);
#undef CALL
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.execvpe(file, argv, e)
	WITH_ENV(envp, CALL);
#undef CALL
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.fexecve(fd, argv, e)
	WITH_ENV(envp, CALL);
#undef CALL
}

int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

static char **collect(const char *arg0, va_list ap, char ***envp)
{
	size_t n = 1, cap = 16;
	char **argv = malloc(cap * sizeof(*argv));
	const char *a;

	if (!argv)
		return NULL;
	argv[0] = (char *)arg0;
	while ((a = va_arg(ap, const char *)) != NULL) {
		if (n + 1 >= cap) {
			char **t = realloc(argv, (cap *= 2) * sizeof(*argv));
			if (!t) {
				free(argv);
				return NULL;
			}
			argv = t;
		}
		argv[n++] = (char *)a;
	}
	argv[n] = NULL;
	if (envp)
		*envp = va_arg(ap, char **);
	return argv;
}

#define EXECL_BODY(fn, first, with_env)                          \
	va_list ap;                                              \
	char **argv, **envp = environ;                           \
	int r;                                                   \
	va_start(ap, arg);                                       \
	argv = collect(arg, ap, (with_env) ? &envp : NULL);      \
	va_end(ap);                                              \
	if (!argv) {                                             \
		errno = ENOMEM;                                  \
		return -1;                                       \
	}                                                        \
	r = fn(first, argv, envp);                               \
	free(argv);                                              \
	return r

int execl(const char *path, const char *arg, ...)
{
	EXECL_BODY(execve, path, 0);
}

int execle(const char *path, const char *arg, ...)
{
	EXECL_BODY(execve, path, 1);
}

int execlp(const char *file, const char *arg, ...)
{
	EXECL_BODY(execvpe, file, 0);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.posix_spawn(pid, path, fa, at, argv, e)
	WITH_ENV(envp, CALL);
#undef CALL
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.posix_spawnp(pid, file, fa, at, argv, e)
	WITH_ENV(envp, CALL);
#undef CALL
}

/* In the new image: re-learn the fds the old image handed over. */
static uint8_t handed_region[16];

static void restore_one(const char *s)
{
	int fd, kind_c = 0, tx, rx, rok, client, dba;
	uint64_t owed, inl, off, len, done;
	unsigned slot, gen;
	struct stat st;
	struct ff_conn *c;

	if (sscanf(s, "%d:%c", &fd, (char *)&kind_c) != 2 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	if (kind_c == 'L') {
		socklen_t l;
		if (!ff_ctl_ensure() || !(c = ff_conn_new(FF_KIND_LISTENER)))
			return;
		l = sizeof(c->laddr);
		if (getsockname(fd, (struct sockaddr *)&c->laddr, &l) < 0) {
			ff_conn_discard(c);
			return;
		}
		ff_ctl_listen(&c->laddr, true);
		ff_fd_attach(fd, c);
		return;
	}
	if (sscanf(s, "%d:C:%d:%d:%d:%d:%" SCNu64 ":%" SCNu64 ":%d:%u:%u:%" SCNu64 ":%" SCNu64 ":%" SCNu64,
		   &fd, &tx, &rx, &rok, &client, &owed, &inl, &dba, &slot, &gen, &off, &len, &done) != 13)
		return;
	if (!(c = ff_conn_new(FF_KIND_CONN)))
		return;
	if ((rok || tx != FF_TX_RAW) && !ff_ctl_ensure())
		log_warnx("fd %d was upgraded before exec but the coordinator is unreachable", fd);
	if (!ff_ctl.mapped || memcmp(handed_region, ff_ctl.region_id, 16) != 0) {
		/* Not the region the peer uses: frames stay, payloads go inline. */
		rok = 0;
		dba = 0;
		c->tx_inline_only = true;
	}
	atomic_store(&c->tx, tx);
	atomic_store(&c->rx, rx);
	c->rx_region_ok = rok && ff_ctl.mapped;
	c->is_client = client;
	c->tx_inline_owed = owed;
	c->rx_inline_left = inl;
	c->rx_db_active = dba && ff_ctl.mapped;
	c->rx_db.slot = slot;
	c->rx_db.gen = gen;
	c->rx_db.offset = off;
	c->rx_db.len = len;
	c->rx_db_done = done;
	ff_fd_attach(fd, c);
}

void ff_exec_restore(void)
{
	const char *v = getenv(FF_ENV_FDSTATE);
	char *copy, *tok, *save = NULL;

	if (!v || !*v)
		return;
	copy = strdup(v);
	unsetenv(FF_ENV_FDSTATE);
	if (!copy)
		return;
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		if (tok[0] == 'R') {
			for (int i = 0; i < 16 && tok[1 + 2 * i] && tok[2 + 2 * i]; i++) {
				unsigned b;
				if (sscanf(tok + 1 + 2 * i, "%2x", &b) == 1)
					handed_region[i] = (uint8_t)b;
			}
			continue;
		}
		restore_one(tok);
	}
	free(copy);
}
