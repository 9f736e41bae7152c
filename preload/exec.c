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
/* One fd's record at most: "fd:", fifteen numbers of up to 20 digits, a 257-character stash. */
#define STATE_RECORD_MAX 640

/* Describe every upgraded fd the new image inherits (not close-on-exec; for posix_spawn, after
 * the file actions fa). Returns the length written. */
static size_t encode_state(char *out, size_t cap, const void *fa)
{
	struct ff_child_fd *m;
	size_t n, first;
	int hi = ff_spawn_child_fds(fa, &m);
	char hex[33];

	if (hi < 0)
		return 0;
	/* The region the framed connections refer to: the new image must map the same one. */
	ff_region_hex(hex);
	n = (size_t)snprintf(out, cap, "R%s;", hex);
	first = n;
	for (int fd = 0; fd <= hi && n + STATE_RECORD_MAX < cap; fd++) {
		size_t k;
		if (!m[fd].c || m[fd].cloexec)
			continue;
		k = (size_t)snprintf(out + n, cap - n, "%d:", fd);
		size_t e = ff_state_encode(m[fd].c, out + n + k, cap - n - k);
		if (e)
			n += k + e;
		ff_pair_handed(m[fd].c);
	}
	free(m);
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
static char **build_env(char *const envp[], const void *fa, char **blob, char **ldp)
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
	len = encode_state(state + sizeof(pre) - 1, STATE_MAX - sizeof(pre), fa);
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
		/* Our own LD_PRELOAD when it names us (it may list a sanitizer runtime first),
		 * else just the shim. */
		const char *mine = getenv("LD_PRELOAD");
		const char *val = has_self(mine) ? mine : ff_proc.self_path;
		char *p = malloc(strlen(val) + 12);
		if (p) {
			sprintf(p, "LD_PRELOAD=%s", val);
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

#define WITH_ENV(envp, fa, call)                                          \
	do {                                                              \
		char *blob_, *ldp_;                                       \
		char **env_;                                              \
		int r_, e_;                                               \
		ff_init();                                                \
		env_ = ff_passthrough_exec() ? NULL : build_env(envp, fa, &blob_, &ldp_); \
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
	WITH_ENV(envp, NULL, CALL);
#undef CALL
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.execvpe(file, argv, e)
	WITH_ENV(envp, NULL, CALL);
#undef CALL
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.fexecve(fd, argv, e)
	WITH_ENV(envp, NULL, CALL);
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
	WITH_ENV(envp, fa, CALL);
#undef CALL
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
#define CALL(e) ff_real.posix_spawnp(pid, file, fa, at, argv, e)
	WITH_ENV(envp, fa, CALL);
#undef CALL
}

/* In the new image: re-learn the fds the old image handed over. */
void ff_exec_restore(void)
{
	const char *v = getenv(FF_ENV_FDSTATE);
	char *copy, *tok, *save = NULL;
	uint8_t region[16] = { 0 };

	if (!v || !*v)
		return;
	copy = strdup(v);
	unsetenv(FF_ENV_FDSTATE);
	if (!copy)
		return;
	for (tok = strtok_r(copy, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char *colon = strchr(tok, ':');
		if (tok[0] == 'R')
			ff_region_unhex(tok + 1, region);
		else if (colon)
			ff_state_restore(atoi(tok), colon + 1, region);
	}
	free(copy);
}
