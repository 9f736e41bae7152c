/* posix_spawn's file actions run in the child, inside libc, without one call the shim sees: a
 * connection made the child's stdin with posix_spawn_file_actions_adddup2() (Python's
 * os.posix_spawn, subprocess in some configurations, Node's child_process through libuv on
 * newer kernels) reached the new image without its framing state, and the child read frame
 * headers as data. The actions are recorded here as the program adds them, and the state
 * handed to the new image (exec.c) describes the child's descriptors after them.
 *
 * An action list this table cannot follow (more lists alive at once, or longer, than it
 * holds) is marked unknown, and the hand-over describes the parent's descriptors as before. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define LISTS   64
#define ACTIONS 64

enum { A_DUP2 = 1, A_CLOSE, A_OPEN, A_CLOSEFROM };

struct list {
	const void *fa;              /* NULL: free entry */
	bool unknown;
	int n;
	struct { int op, fd, newfd; } a[ACTIONS];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct list lists[LISTS];

static struct list *find(const void *fa, bool make)
{
	struct list *spare = NULL;

	for (int i = 0; i < LISTS; i++) {
		if (lists[i].fa == fa)
			return &lists[i];
		if (!lists[i].fa && !spare)
			spare = &lists[i];
	}
	if (make && spare) {
		memset(spare, 0, sizeof(*spare));
		spare->fa = fa;
	}
	return make ? spare : NULL;
}

static void note(const void *fa, int op, int fd, int newfd)
{
	struct list *l;

	pthread_mutex_lock(&lock);
	l = find(fa, true);
	if (l && !l->unknown) {
		if (l->n < ACTIONS)
			l->a[l->n++] = (__typeof__(l->a[0])){ op, fd, newfd };
		else
			l->unknown = true;
	}
	pthread_mutex_unlock(&lock);
}

static void forget(const void *fa)
{
	struct list *l;

	pthread_mutex_lock(&lock);
	l = find(fa, false);
	if (l)
		l->fa = NULL;
	pthread_mutex_unlock(&lock);
}

#define REAL(name) static __typeof__(name) *real_##name
REAL(posix_spawn_file_actions_init);
REAL(posix_spawn_file_actions_destroy);
REAL(posix_spawn_file_actions_adddup2);
REAL(posix_spawn_file_actions_addclose);
REAL(posix_spawn_file_actions_addopen);

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	real_posix_spawn_file_actions_init = ff_next_sym("posix_spawn_file_actions_init");
	real_posix_spawn_file_actions_destroy = ff_next_sym("posix_spawn_file_actions_destroy");
	real_posix_spawn_file_actions_adddup2 = ff_next_sym("posix_spawn_file_actions_adddup2");
	real_posix_spawn_file_actions_addclose = ff_next_sym("posix_spawn_file_actions_addclose");
	real_posix_spawn_file_actions_addopen = ff_next_sym("posix_spawn_file_actions_addopen");
}

#define CALL_REAL(name, ...)                                         \
	(pthread_once(&once, resolve),                               \
	 real_##name ? real_##name(__VA_ARGS__) : ENOSYS)

int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	int r = CALL_REAL(posix_spawn_file_actions_init, fa);

	if (r == 0)
		forget(fa);          /* a list at an address used before */
	return r;
}

int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	forget(fa);
	return CALL_REAL(posix_spawn_file_actions_destroy, fa);
}

int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	int r = CALL_REAL(posix_spawn_file_actions_adddup2, fa, fd, newfd);

	if (r == 0)
		note(fa, A_DUP2, fd, newfd);
	return r;
}

int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *fa, int fd)
{
	int r = CALL_REAL(posix_spawn_file_actions_addclose, fa, fd);

	if (r == 0)
		note(fa, A_CLOSE, fd, fd);
	return r;
}

int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path,
				     int flags, mode_t mode)
{
	int r = CALL_REAL(posix_spawn_file_actions_addopen, fa, fd, path, flags, mode);

	if (r == 0)
		note(fa, A_OPEN, fd, fd);
	return r;
}

#ifdef __GLIBC__
#if __GLIBC_PREREQ(2, 34)
#define FF_HAVE_CLOSEFROM_NP 1
#endif
#endif
#ifdef FF_HAVE_CLOSEFROM_NP
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *fa, int from)
{
	static __typeof__(posix_spawn_file_actions_addclosefrom_np) *real;
	int r;

	if (!real)
		real = ff_next_sym("posix_spawn_file_actions_addclosefrom_np");
	r = real ? real(fa, from) : ENOSYS;
	if (r == 0)
		note(fa, A_CLOSEFROM, from, from);
	return r;
}
#endif

/* The descriptors of a child after fa's actions: m[fd] for fd <= the returned maximum, or -1
 * (out of memory). Without fa, or with a list not followed, the parent's own. */
int ff_spawn_child_fds(const void *fa, struct ff_child_fd **out)
{
	int hi = ff_vfork_fd_max(), top = hi;
	struct list l = { .n = 0 };
	struct ff_child_fd *m;

	if (fa) {
		pthread_mutex_lock(&lock);
		struct list *p = find(fa, false);
		if (p && !p->unknown)
			l = *p;
		pthread_mutex_unlock(&lock);
	}
	for (int i = 0; i < l.n; i++)
		if (l.a[i].op == A_DUP2 && l.a[i].newfd > top)
			top = l.a[i].newfd;
	m = calloc((size_t)top + 1, sizeof(*m));
	if (!m)
		return -1;
	for (int fd = 0; fd <= hi; fd++) {
		int fl;
		m[fd].c = ff_vfork_peek(fd);
		if (m[fd].c && ((fl = ff_real.fcntl(fd, F_GETFD)) < 0 || (fl & FD_CLOEXEC)))
			m[fd].cloexec = true;
	}
	for (int i = 0; i < l.n; i++) {
		int fd = l.a[i].fd, nfd = l.a[i].newfd;

		if (fd < 0 || nfd < 0)
			continue;
		switch (l.a[i].op) {
		case A_DUP2:
			if (fd == nfd) {                 /* glibc: clears close-on-exec */
				if (fd <= top)
					m[fd].cloexec = false;
			} else {
				m[nfd].c = fd <= top ? m[fd].c : NULL;
				m[nfd].cloexec = false;
			}
			break;
		case A_CLOSE:
		case A_OPEN:
			if (fd <= top)
				m[fd] = (struct ff_child_fd){ NULL, false };
			break;
		case A_CLOSEFROM:
			for (int k = fd; k <= top; k++)
				m[k] = (struct ff_child_fd){ NULL, false };
			break;
		}
	}
	*out = m;
	return top;
}
