/* Per-open-file state, indexed by fd. A flat array of pointers: an untouched fd costs one load.
 * dup()s share one struct ff_conn (fdrefs); the last close frees it. Structs are recycled
 * through a free list and never returned to malloc, so a racing call that loaded a pointer
 * just before a close can safely take and drop a `users` reference on it. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sched.h>

#include "shim.h"

static struct ff_conn *_Atomic *fdtab;
static int fdtab_size;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ff_conn *pool;
static _Atomic uint64_t next_cookie = 1;
static _Atomic int fd_hwm;          /* highest fd ever attached, bounds scans */

bool ff_fdtab_init(void)
{
	struct rlimit rl;
	size_t n = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max > n)
		n = rl.rlim_max;
	if (n > (1u << 20))
		n = 1u << 20;
	fdtab = mmap(NULL, n * sizeof(*fdtab), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fdtab == MAP_FAILED) {
		fdtab = NULL;
		return false;
	}
	fdtab_size = (int)n;
	return true;
}

int ff_fdtab_max(void)
{
	return atomic_load(&fd_hwm);
}

static void conn_reset(struct ff_conn *c, int kind)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->tx_lock, NULL);
	pthread_mutex_init(&c->rx_lock, NULL);
	c->kind = kind;
	c->cookie = atomic_fetch_add(&next_cookie, 1);
	atomic_store(&c->fdrefs, 0);
}

struct ff_conn *ff_conn_new(int kind)
{
	struct ff_conn *c;

	pthread_mutex_lock(&pool_lock);
	c = pool;
	if (c)
		pool = c->next_free;
	pthread_mutex_unlock(&pool_lock);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
	} else {
		/* A straggler may still hold `users`; wait for it to leave. */
		while (atomic_load(&c->users) > 0)
			sched_yield();
	}
	conn_reset(c, kind);
	return c;
}

static void conn_free(struct ff_conn *c)
{
	ff_conn_release_rx(c);
	pthread_mutex_lock(&pool_lock);
	c->next_free = pool;
	pool = c;
	pthread_mutex_unlock(&pool_lock);
}

void ff_conn_discard(struct ff_conn *c)
{
	conn_free(c);
}

struct ff_conn *ff_conn_get(int fd)
{
	struct ff_conn *c;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return NULL;
	c = atomic_load_explicit(&fdtab[fd], memory_order_acquire);
	if (__builtin_expect(c == NULL, 1))
		return NULL;
	atomic_fetch_add(&c->users, 1);
	if (atomic_load_explicit(&fdtab[fd], memory_order_acquire) != c) {
		atomic_fetch_sub(&c->users, 1);
		return NULL;
	}
	return c;
}

void ff_conn_put(struct ff_conn *c)
{
	atomic_fetch_sub(&c->users, 1);
}

bool ff_fd_tracked(int fd)
{
	return fd >= 0 && fd < fdtab_size && fdtab &&
	       atomic_load_explicit(&fdtab[fd], memory_order_relaxed) != NULL;
}

struct ff_conn *ff_fd_peek(int fd)
{
	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return NULL;
	return atomic_load(&fdtab[fd]);
}

void ff_fd_attach(int fd, struct ff_conn *c)
{
	struct ff_conn *old;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return;
	atomic_fetch_add(&c->fdrefs, 1);
	for (int h = atomic_load(&fd_hwm); fd > h && !atomic_compare_exchange_weak(&fd_hwm, &h, fd);)
		;
	old = atomic_exchange(&fdtab[fd], c);
	if (old && atomic_fetch_sub(&old->fdrefs, 1) == 1)
		conn_free(old);
}

void ff_fd_detach(int fd)
{
	struct ff_conn *old;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return;
	old = atomic_exchange(&fdtab[fd], NULL);
	if (!old)
		return;
	if (atomic_fetch_sub(&old->fdrefs, 1) == 1) {
		if (old->kind == FF_KIND_LISTENER)
			ff_ctl_listen(&old->laddr, false);
		conn_free(old);
	}
}

/* The child's copies of the locks may be held by threads that do not exist in it. */
void ff_fdtab_after_fork(void)
{
	if (!fdtab)
		return;
	pthread_mutex_init(&pool_lock, NULL);
	for (int fd = 0; fd <= atomic_load(&fd_hwm); fd++) {
		struct ff_conn *c = atomic_load(&fdtab[fd]);
		if (c) {
			pthread_mutex_init(&c->tx_lock, NULL);
			pthread_mutex_init(&c->rx_lock, NULL);
			atomic_store(&c->users, 0);
		}
	}
}
