/* Per-open-file state, indexed by fd. A flat array of pointers: an untouched fd costs one load.
 * dup()s share one struct ff_conn (fdrefs); the last close frees it. Structs are recycled
 * through a free list and never returned to malloc, so a racing call that loaded a pointer
 * just before a close can safely take and drop a `users` reference on it. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/random.h>
#include <unistd.h>

#include "shim.h"

static struct ff_conn *_Atomic *fdtab;
static int fdtab_size;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ff_conn *pool;
static _Atomic uint64_t next_cookie = 1;
static _Atomic int fd_hwm;          /* highest fd ever attached, bounds scans */
static _Atomic(uint32_t) *_Atomic sndbuf_req;  /* by fd; allocated at the first SO_SNDBUF */

bool ff_fdtab_init(void)
{
	struct rlimit rl;
	size_t n = 65536;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max > n)
		n = rl.rlim_max;
	if (n > (1u << 20))
		n = 1u << 20;
	/* calloc of this size is backed by lazily-zeroed pages; it is heap, so leak checkers
	 * see the connections it points to. */
	fdtab = calloc(n, sizeof(*fdtab));
	if (!fdtab)
		return false;
	fdtab_size = (int)n;
	return true;
}

/* The application's SO_SNDBUF, kept by fd number from its setsockopt() until the fd closes or
 * the number is reused, so a connection made or accepted later on it (or from a listener that
 * had it) bounds its region bytes the same way (TCP takes that much, not megabytes). */
void ff_fd_sndbuf_note(int fd, uint32_t v)
{
	_Atomic(uint32_t) *t = atomic_load(&sndbuf_req);

	if (fd < 0 || fd >= fdtab_size)
		return;
	if (!t) {
		_Atomic(uint32_t) *n = calloc((size_t)fdtab_size, sizeof(*n)), *none = NULL;
		if (!n)
			return;
		if (!atomic_compare_exchange_strong(&sndbuf_req, &none, n))
			free(n);
		t = atomic_load(&sndbuf_req);
	}
	atomic_store_explicit(&t[fd], v, memory_order_relaxed);
}

uint32_t ff_fd_sndbuf(int fd)
{
	_Atomic(uint32_t) *t = atomic_load_explicit(&sndbuf_req, memory_order_acquire);

	return t && fd >= 0 && fd < fdtab_size ? atomic_load_explicit(&t[fd], memory_order_relaxed) : 0;
}

int ff_fdtab_max(void)
{
	return atomic_load(&fd_hwm);
}

/* A per-connection key nobody can guess without reading the region: a random per-process
 * seed mixed with the connection's cookie (splitmix64), never 0. */
static uint32_t conn_key(uint64_t cookie)
{
	static _Atomic uint64_t seed;
	uint64_t s = atomic_load(&seed), z;

	if (!s) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
			s = ff_now_ns() ^ ((uint64_t)getpid() << 32);
		s |= 1;
		atomic_store(&seed, s);
	}
	z = s + cookie * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)z ? (uint32_t)z : 1;
}

static void conn_reset(struct ff_conn *c, int kind)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->tx_lock, NULL);
	pthread_mutex_init(&c->rx_lock, NULL);
	c->kind = kind;
	c->cookie = atomic_fetch_add(&next_cookie, 1);
	c->tx_key = conn_key(c->cookie);
	c->nodelay = -1;
	c->pair_at = -1;
	c->born_forks = atomic_load(&ff_forks);
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
	if (c->kind == FF_KIND_CONN) {
		ff_tx_run_end(c);
		ff_reader_unname(c);
		ff_pair_gone(c);
	}
	pthread_mutex_lock(&pool_lock);
	c->next_free = pool;
	pool = c;
	pthread_mutex_unlock(&pool_lock);
}

void ff_conn_discard(struct ff_conn *c)
{
	conn_free(c);
}

/* An fd being closed by another thread: wait the few instructions until its close is done,
 * then see what the number means now (nothing, or a new connection). A call racing a close
 * must never see the framed socket as a raw one. */
#define CLOSING ((struct ff_conn *)1)

static struct ff_conn *load_settled(int fd)
{
	struct ff_conn *c;

	while ((c = atomic_load_explicit(&fdtab[fd], memory_order_acquire)) == CLOSING)
		sched_yield();
	return c;
}

struct ff_conn *ff_conn_get(int fd)
{
	struct ff_conn *c;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return NULL;
	c = atomic_load_explicit(&fdtab[fd], memory_order_acquire);
	if (__builtin_expect(c == NULL, 1))
		return NULL;
	if (c == CLOSING && !(c = load_settled(fd)))
		return NULL;
	atomic_fetch_add(&c->users, 1);
	if (atomic_load_explicit(&fdtab[fd], memory_order_acquire) != c) {
		atomic_fetch_sub(&c->users, 1);
		return ff_conn_get(fd);
	}
	return c;
}

static void drop_ref(struct ff_conn *old)
{
	if (atomic_fetch_sub(&old->fdrefs, 1) == 1) {
		if (old->kind == FF_KIND_LISTENER)
			ff_ctl_listen(old, false);
		conn_free(old);
	}
}

int ff_fd_close(int fd, void (*before)(int, struct ff_conn *))
{
	struct ff_conn *old, *closing = CLOSING;
	int r, saved;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return ff_real.close(fd);
	old = atomic_exchange(&fdtab[fd], CLOSING);
	if (old == CLOSING)
		old = NULL;     /* two threads closing one fd: the other one owns the state */
	if (old && before)
		before(fd, old);
	r = ff_real.close(fd);
	saved = errno;
	atomic_compare_exchange_strong(&fdtab[fd], &closing, NULL);
	if (old)
		drop_ref(old);
	errno = saved;
	return r;
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
	struct ff_conn *c;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return NULL;
	c = atomic_load(&fdtab[fd]);
	return c == CLOSING ? NULL : c;
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
	if (old && old != CLOSING && atomic_fetch_sub(&old->fdrefs, 1) == 1)
		conn_free(old);
}

void ff_fd_detach(int fd)
{
	struct ff_conn *old;

	if (fd < 0 || fd >= fdtab_size || !fdtab)
		return;
	old = atomic_exchange(&fdtab[fd], NULL);
	if (old && old != CLOSING)
		drop_ref(old);
}

/* The child's copies of the locks may be held by threads that do not exist in it. */
void ff_fdtab_after_fork(void)
{
	if (!fdtab)
		return;
	pthread_mutex_init(&pool_lock, NULL);
	for (int fd = 0; fd <= atomic_load(&fd_hwm); fd++) {
		struct ff_conn *c = atomic_load(&fdtab[fd]);
		if (c == CLOSING) {
			atomic_store(&fdtab[fd], NULL);   /* the closing thread is not in the child */
		} else if (c) {
			pthread_mutex_init(&c->tx_lock, NULL);
			pthread_mutex_init(&c->rx_lock, NULL);
			atomic_store(&c->users, 0);
			if (c->kind == FF_KIND_CONN)
				ff_tx_run_end(c);    /* two writers now: neither appends to it */
		}
	}
}

static _Atomic uint32_t nb_gen = 1;

void ff_nb_changed(void)
{
	uint32_t g = atomic_fetch_add(&nb_gen, 1) + 1;

	if (!g)
		atomic_store(&nb_gen, 1);     /* (0 means "never seen blocking") */
}

void ff_conn_is_blocking(struct ff_conn *c)
{
	atomic_store_explicit(&c->blk_gen, atomic_load(&nb_gen), memory_order_relaxed);
}

int ff_conn_blocking(struct ff_conn *c, int fd, int flags)
{
	uint32_t g = atomic_load(&nb_gen);
	int fl;

	if (flags & MSG_DONTWAIT)
		return 0;
	if (atomic_load_explicit(&c->blk_gen, memory_order_relaxed) == g)
		return 1;
	fl = ff_real.fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	atomic_store_explicit(&c->blk_gen, g, memory_order_relaxed);
	return 1;
}

bool ff_fd_blocking(int fd, int flags)
{
	int fl;

	if (flags & MSG_DONTWAIT)
		return false;
	fl = ff_real.fcntl(fd, F_GETFL);
	return fl >= 0 && !(fl & O_NONBLOCK);
}
