/* Internal interfaces of the shim. Nothing here is exported from the shared object. */
#ifndef FAASFLOW_SHIM_H
#define FAASFLOW_SHIM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "config.h"
#include "frame.h"
#include "log.h"
#include "pairs.h"
#include "region.h"

/* The most pieces one system call takes (the kernel's UIO_MAXIOV; more: EMSGSIZE/EINVAL). */
#define FF_IOV_MAX 1024
#define FF_HIDDEN __attribute__((visibility("hidden")))
#define FF_EXPORT __attribute__((visibility("default")))

/* ---- real libc functions (init.c) -------------------------------------- */
/* Where glibc and musl declare an interposed function differently, its wrapper and its real
 * pointer take the C library's own types: glibc `int flags` and `unsigned long request`,
 * musl `unsigned int flags` and `int request`. */
#ifdef __GLIBC__
typedef int ff_mmsg_flags_t;
typedef unsigned long ff_ioctl_req_t;
#else
typedef unsigned int ff_mmsg_flags_t;
typedef int ff_ioctl_req_t;
#endif

struct ff_real {
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, ff_mmsg_flags_t, struct timespec *);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, ff_mmsg_flags_t);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*splice)(int, off_t *, int, off_t *, size_t, unsigned int);
	int (*ioctl)(int, ff_ioctl_req_t, ...);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*listen)(int, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	int (*shutdown)(int, int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	pid_t (*fork)(void);
	pid_t (*vfork)(void);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*posix_spawn)(pid_t *, const char *, const void *, const void *, char *const[], char *const[]);
	int (*posix_spawnp)(pid_t *, const char *, const void *, const void *, char *const[], char *const[]);
};
extern struct ff_real ff_real FF_HIDDEN;

/* ---- process state (init.c) ---------------------------------------------- */
struct ff_proc {
	struct ff_config cfg;
	bool cfg_ok;                 /* configuration valid: else everything passes through */
	char self_path[4096];        /* this shared object, for LD_PRELOAD across exec */
	pid_t pid;
};
extern struct ff_proc ff_proc FF_HIDDEN;
extern _Atomic int ff_ready FF_HIDDEN;     /* ff_real is filled in */
extern _Atomic int ff_started FF_HIDDEN;   /* configuration read (cfg_ok says if it is valid) */
extern __thread int ff_busy FF_HIDDEN;   /* recursion guard: inside the shim's own calls */

/* Inside the shim's own work: wrappers called meanwhile on this thread pass straight through
 * (and never wait for start-up). Held until the end of the enclosing block. */
static inline int ff_busy_enter(void)
{
	ff_busy++;
	return 0;
}
static inline void ff_busy_leave(int *scope)
{
	(void)scope;
	ff_busy--;
}
#define FF_BUSY_SCOPE \
	int ff_busy_scope_ __attribute__((cleanup(ff_busy_leave), unused)) = ff_busy_enter()

/* Stage 1 of start-up (init.c): libc's functions resolved; safe anywhere. */
FF_HIDDEN void ff_init_slow(void);
static inline void ff_init(void)
{
	if (__builtin_expect(!atomic_load_explicit(&ff_ready, memory_order_acquire), 0))
		ff_init_slow();
}
/* Stage 2: configuration, log, fd table; before it, every call passes through. */
FF_HIDDEN void ff_start_slow(void);
static inline void ff_start(void)
{
	ff_init();
	if (__builtin_expect(!atomic_load_explicit(&ff_started, memory_order_acquire), 0) && !ff_busy)
		ff_start_slow();
}
/* The coordinator answering on control socket fd runs as a trusted user (trust.c). */
FF_HIDDEN bool ff_coordinator_trusted(int fd, const char *path);
/* Log a fallback cause once per process (at INFO), count it in the region if mapped. */
FF_HIDDEN void ff_note_fallback(enum ff_fallback cause, const char *why);

/* ---- per-connection state (fdtable.c) ------------------------------------- */
enum ff_kind { FF_KIND_CONN = 1, FF_KIND_LISTENER = 2 };
enum ff_tx { FF_TX_UNDECIDED = 0, FF_TX_RAW, FF_TX_HELLO, FF_TX_FRAMED };
enum ff_rx { FF_RX_UNDECIDED = 0, FF_RX_RAW, FF_RX_FRAMED };

struct ff_conn {
	_Atomic int fdrefs;          /* fds pointing at this open file */
	_Atomic int users;           /* calls in progress */
	struct ff_conn *next_free;
	int kind;
	bool is_client;
	uint64_t cookie;             /* per-process unique id, tags slots in flight */
	uint32_t tx_key;             /* our key for the outgoing direction (hello, slot meta) */
	uint32_t rx_key;             /* the peer's key for the incoming direction */
	_Atomic uint32_t rd_keys[2]; /* keys this process named as the connection's reader */
	uint64_t rd_named;           /* the registration they were last named to (control.c) */
	bool rd_clean;               /* closed with nothing unread: its unname may wait (readers.c) */
	bool rd_paired;              /* rd_keys[0] is named by our pair entry, not sent (readers.c) */
	_Atomic uint32_t blk_gen;    /* seen blocking at this ff_nb_gen (fdtable.c) */
	/* Our entry in the region's pair table (pairs.h, upgrade.c), and the connection's
	 * addresses that name it. */
	struct ff_tuple tup;
	bool tup_ok;
	int64_t pair_at;             /* -1: none */
	uint64_t pair_key;
	uint32_t pair_forks;         /* ff_forks when it was put */
	uint64_t pair_since;         /* when it was put (its word's tag, pairs.h) */
	pthread_mutex_t tx_lock;
	pthread_mutex_t rx_lock;
	/* tx */
	_Atomic int tx;              /* enum ff_tx */
	uint64_t tx_inline_owed;     /* payload bytes the open inline frame still expects */
	bool tx_inline_only;         /* the peer reads another region (after exec): no doorbells */
	int8_t nodelay;              /* the application's TCP_NODELAY: -1 not known yet */
	bool tx_flight_deep;         /* ff_slot_take's *deep */
	uint32_t tx_sndbuf;          /* SO_SNDBUF the application set, as the kernel applied it
	                              * (0: none): the bound of region bytes in flight */
	bool tx_db_unacked;          /* Nagle on, a doorbell pushed: push the next inline frame */
	const void *tx_ctl;          /* the application's control message, for the call's first
	                              * send (tx_lock held; NULL once it went out) */
	size_t tx_ctllen;
	/* A run (tx_run.c): small writes appended to one slot until its reader seals it. */
	bool tx_run;
	uint32_t tx_run_slot;
	uint64_t tx_run_len;
	_Atomic uint32_t tx_streak;  /* small writes in a row with no read between (a stream) */
	uint64_t tx_run_t0;          /* when the open run began */
	uint32_t tx_run_writes;      /* writes in it */
	uint32_t tx_run_backoff;     /* after short runs: how many small writes go inline next */
	uint32_t tx_run_skip;        /* of those, still to go */
	/* Another process may write on this socket too (it existed at a fork, was passed on or
	 * came from elsewhere): no runs, whose appends would overtake that process's frames. */
	uint32_t born_forks;         /* ff_forks when this struct was set up */
	bool tx_shared;
	uint8_t tx_pend[FF_HELLO_SIZE + FF_DOORBELL_SIZE];
	size_t tx_pend_len;          /* frame bytes accepted but not yet in the socket */
	/* rx */
	_Atomic int rx;              /* enum ff_rx */
	bool rx_region_ok;           /* the peer's hello named our region */
	bool rx_broken;              /* a bad doorbell: reads fail as a reset */
	uint64_t rx_inline_left;     /* payload bytes of the current inline frame in the socket */
	bool rx_db_active;           /* a doorbell at the head of the socket is being copied out */
	struct ff_doorbell rx_db;
	uint64_t rx_db_done;
	uint8_t rx_db_tail;          /* bytes of that doorbell still in the socket */
	/* The first bytes of a frame header that came without the rest. They are taken out of
	 * the socket while waiting: left there, a receive buffer whose memory is held by them
	 * can close the window on the rest (a deadlock TCP never has, since it reads them).
	 * Holding them does not change readiness: no application byte is among them. */
	uint8_t rx_stash[FF_FRAME_PEEK];
	uint8_t rx_stash_len;
	uint8_t rx_hello_left;       /* hello bytes still in front, within one read call only */
	uint8_t rx_first;            /* enum ff_rx_first: the hello taken unpeeked (rx.c) */
	bool rx_urg_pending;         /* an urgent marker read, its byte not yet come (rx.c) */
	bool rx_mark_stop;           /* a read stopped at an urgent mark (MSG_WAITALL too) */
	_Atomic bool rx_oobinline;   /* the application's SO_OOBINLINE (asked at the first urgent
	                              * marker, kept by setsockopt) */
	_Atomic bool rx_emptied;     /* the last read got less than it asked for (read unlocked) */
	/* The application's SO_RCVLOWAT (0: none). The kernel's would count frame bytes (a
	 * 128-byte doorbell for a MiB of payload never reaches 4096): while the direction may be
	 * framed the kernel's is 1 and blocking reads wait for this many payload bytes. */
	_Atomic int rx_lowat;
	uint32_t rx_db_done_count;    /* doorbells whose payload was read out */
	/* listener */
	struct sockaddr_storage laddr;
	uint32_t ep_flags;            /* FF_EP_V6ONLY: announced with the listener */
};

FF_HIDDEN bool ff_fdtab_init(void);
FF_HIDDEN struct ff_conn *ff_conn_new(int kind);
FF_HIDDEN void ff_conn_discard(struct ff_conn *c);        /* never attached */
/* Look up fd and mark the conn in use; NULL for untouched fds (the fast path). */
FF_HIDDEN struct ff_conn *ff_conn_get(int fd);
FF_HIDDEN void ff_conn_put(struct ff_conn *c);
FF_HIDDEN void ff_fd_attach(int fd, struct ff_conn *c);  /* takes one fd reference */
FF_HIDDEN void ff_fd_detach(int fd);                       /* drops the fd's reference */
/* close(2) a tracked fd: `before` sees the state first; concurrent calls on the fd wait until
 * the close is done instead of treating the socket as untouched. */
FF_HIDDEN int ff_fd_close(int fd, void (*before)(int, struct ff_conn *));
FF_HIDDEN bool ff_fd_tracked(int fd);
/* Would a call on fd with these flags wait (no MSG_DONTWAIT, fd not O_NONBLOCK)? */
FF_HIDDEN bool ff_fd_blocking(int fd, int flags);
/* The same for a connection or listener before a wait that a real call with the fd's own mode
 * ends (a bounded poll, then the call): 1 blocking, 0 not, -1 fcntl failed. Blocking is
 * remembered until this process changes any fd's mode (ff_nb_changed): a change made by
 * another process sharing the file only costs such a wait its poll. */
FF_HIDDEN int ff_conn_blocking(struct ff_conn *c, int fd, int flags);
FF_HIDDEN void ff_nb_changed(void);
/* known to block: accepted without SOCK_NONBLOCK, or connect() returned 0 */
FF_HIDDEN void ff_conn_is_blocking(struct ff_conn *c);
FF_HIDDEN void ff_fdtab_after_fork(void);
FF_HIDDEN int ff_fdtab_max(void);
FF_HIDDEN struct ff_conn *ff_fd_peek(int fd);  /* no reference; for exec hand-over */
/* SO_SNDBUF values the application set on sockets (tracked or not yet), by fd. */
FF_HIDDEN void ff_fd_sndbuf_note(int fd, uint32_t v);
FF_HIDDEN uint32_t ff_fd_sndbuf(int fd);

/* ---- readers named to the coordinator (readers.c) ------------------------ */
/* The keys of a connection's two directions from its addresses: out = ours (we write),
 * in = the peer's; and c->tup (c->is_client says which end we are). peer NULL: getpeername;
 * local NULL: getsockname. False when the socket has no inet addresses. */
FF_HIDDEN bool ff_conn_tuple_keys(struct ff_conn *c, int fd, const struct sockaddr *peer,
				  const struct sockaddr *local, uint32_t *out_key, uint32_t *in_key);

/* ---- the upgrade decision: both ends proven before any framing byte (upgrade.c) ---- */
extern _Atomic uint32_t ff_forks FF_HIDDEN;   /* forks of this process (and its parents) */
FF_HIDDEN void ff_pair_mine(struct ff_conn *c);           /* put our end's entry */
FF_HIDDEN void ff_pair_gone(struct ff_conn *c);           /* last reference: take it out */
/* c crosses an exec: its entry goes; the new image puts its own if it runs the shim (a static
 * or Go program does not, and its peer must not take the old entry for proof). */
FF_HIDDEN void ff_pair_handed(struct ff_conn *c);
/* Has the other end of c put its entry? A client waits a bounded while for its server's
 * accept() (wait: true); the server only looks. */
FF_HIDDEN bool ff_pair_confirmed(struct ff_conn *c, int fd, bool wait);
/* Decide an undecided outgoing direction (at its first write): hello or plain for good. */
FF_HIDDEN void ff_tx_decide(struct ff_conn *c, int fd);
FF_HIDDEN void ff_reader_name(struct ff_conn *c, uint32_t key);   /* we may read key's slots */
FF_HIDDEN void ff_reader_unname(struct ff_conn *c);               /* our last fd closed */
/* At connect()/accept(): named by our pair entry when there is one, else as ff_reader_name. */
FF_HIDDEN void ff_reader_name_first(struct ff_conn *c, uint32_t key);
FF_HIDDEN void ff_reader_unpair(struct ff_conn *c);  /* our entry goes, the connection stays */

/* ---- the region and the control connection (control.c) ------------------ */
struct ff_ctl {
	pthread_mutex_t lock;
	int fd;                      /* -1 when not connected */
	int rfd;                     /* readers channel (FF_REGR_READERS), or -1 */
	uint32_t client_id;
	uint32_t quota, lease_batch;
	/* The region in use, published whole; NULL until mapped. A replaced mapping is never
	 * unmapped (another thread may be copying from it), see map_region(). */
	struct ff_map *_Atomic map;
	uint64_t last_fail_ns;       /* back-off after a failed connect */
	uint64_t epoch;              /* the coordinator run we registered with (header epoch) */
	uint64_t reg_serial;         /* bumped at every registration (readers named again) */
};
extern struct ff_ctl ff_ctl FF_HIDDEN;

struct ff_map {
	struct ff_region region;     /* first: ff_rg() of a NULL map is NULL */
	uint8_t id[16];
};
static inline struct ff_map *ff_map(void)
{
	return atomic_load_explicit(&ff_ctl.map, memory_order_acquire);
}
static inline bool ff_mapped(void)
{
	return ff_map() != NULL;
}
/* The id of the region in use; all zeros (matching no hello) before one is mapped. */
static inline const uint8_t *ff_region_id(void)
{
	static const uint8_t none[16];
	struct ff_map *m = ff_map();

	return m ? m->id : none;
}
static inline struct ff_region *ff_rg(void)
{
	return (struct ff_region *)(void *)ff_map();
}

FF_HIDDEN bool ff_ctl_ensure(void);               /* connected and region mapped */
FF_HIDDEN bool ff_ctl_ensure_locked(void);        /* the same, ff_ctl.lock held */
FF_HIDDEN void ff_ctl_drop_locked(void);          /* close the control connection */
/* readers.c, ff_ctl.lock held: a new registration names them all again; unnames waiting for
 * the next name are dropped with the registration. */
FF_HIDDEN void ff_readers_rename_locked(void);
FF_HIDDEN void ff_readers_later_drop(void);
FF_HIDDEN bool ff_region_usable(void);            /* mapped, enabled, file intact */
FF_HIDDEN bool ff_ctl_lookup(const struct sockaddr *sa, socklen_t len);   /* lookup.c */
FF_HIDDEN void ff_lookup_after_fork(void);
/* A reply buffer on the caller's stack: the header and the largest payload expected. */
#define REPLY_CAP(payload)  (sizeof(struct ff_msg_hdr) + (payload))
/* One request on the control connection (ff_ctl.lock held); on a broken connection
 * (coordinator restarted) reconnect once and retry. */
FF_HIDDEN int ff_ctl_call_locked(uint16_t type, const void *req, size_t len, void *reply,
				 size_t *rlen, int32_t *status, int timeout_ms);
FF_HIDDEN void ff_netns_id(uint64_t *dev, uint64_t *ino);   /* this process's network namespace */
FF_HIDDEN void ff_ctl_listen(const struct ff_conn *listener, bool add);
FF_HIDDEN uint32_t ff_listener_flags(int fd);
FF_HIDDEN void ff_listener_learn(struct ff_conn *c, int fd);  /* flags, SO_OOBINLINE */
FF_HIDDEN void ff_ctl_check(void);                /* at accept: coordinator restarted? */
/* A cheap test on the data path: has the coordinator restarted since we registered? Then
 * register again (new client id) and re-stamp the slots we are reading with it. */
static inline void ff_ctl_fresh(void)
{
	struct ff_region *rg = ff_rg();

	if (rg && ff_ctl.epoch &&
	    atomic_load_explicit(&rg->hdr->daemon_epoch, memory_order_relaxed) != ff_ctl.epoch)
		ff_ctl_check();
}
FF_HIDDEN int  ff_ctl_lease(uint32_t want, uint32_t *slots, uint32_t max);
FF_HIDDEN void ff_ctl_return(const uint32_t *slots, uint32_t n);
/* Name (add) or unname key as one that c's reader reads; an add connects if needed. */
FF_HIDDEN void ff_ctl_readers(struct ff_conn *c, uint32_t key, uint32_t op, bool lazy);
/* An inet address as IPv6 (IPv4 v4-mapped), port in host order. */
FF_HIDDEN void ff_to_v6(const struct sockaddr *sa, uint8_t out[16], uint16_t *port);
FF_HIDDEN void ff_ctl_after_fork(void);
FF_HIDDEN void ff_ctl_forget(int fd);             /* the application closed our socket */
FF_HIDDEN uint64_t ff_now_ns(void);

/* ---- brief busy waits (spin.c) --------------------------------------------------- */
/* A pause in a polling loop: the other hardware thread of the core gets it. */
static inline void ff_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* One place that waits, and how long spinning there is worth: ns is the current limit (0:
 * sleep at once), learnt between min_ns and max_ns; keep: never below min_ns. */
struct ff_spin {
	_Atomic uint64_t ns;
	uint64_t min_ns, max_ns;
	bool keep;
	_Atomic uint32_t skip, backoff;   /* waits left to sleep at once; the next such run */
	_Atomic uint32_t streak;          /* waits in a row whose spin was cut by a busy CPU */
	_Atomic uint32_t long_run;        /* waits in a row too long to spin through */
};
FF_HIDDEN bool ff_may_spin(void);                 /* more than one CPU to run on */
FF_HIDDEN uint64_t ff_spin_limit(struct ff_spin *s);
/* true: this wait sleeps at once, unmeasured (one CPU, or others want ours lately). */
FF_HIDDEN bool ff_spin_skip(struct ff_spin *s);
/* A wait of `waited` ns that had the limit `lim` is over: adjust s. */
FF_HIDDEN void ff_spin_learn(struct ff_spin *s, uint64_t waited, uint64_t lim);
/* Poll fd for input for up to s's limit. 1: it is readable (or failing) now; 0: the caller
 * sleeps as it would have, then reports with ff_spin_slept(s, *t0); -1 with errno EINTR: a
 * signal handler ran that interrupts calls (the caller fails as its blocking call would). */
FF_HIDDEN int ff_spin_readable(int fd, struct ff_spin *s, uint64_t *t0);
/* The same with the caller's own probe (nonzero: done; it never waits), such as the read
 * itself: one system call fewer than a poll that says "readable" and the read after it.
 * done_wins: a probe that did its work (took bytes) is not undone by a signal that came
 * meanwhile (the call returns its bytes, the handler runs). */
FF_HIDDEN int ff_spin_until(int (*probe)(void *), void *arg, bool done_wins, struct ff_spin *s,
			    uint64_t *t0, int timeo_fd);
/* sigwatch.c: could a signal end a blocking call of this process (a handler without
 * SA_RESTART, or any handler when fd has a receive timeout)? The installing calls report. */
FF_HIDDEN bool ff_sig_may_interrupt(int fd);
FF_HIDDEN bool ff_sock_has_rcvtimeo(int fd);   /* fd has a receive timeout */
FF_HIDDEN void ff_sig_learn_due(void);      /* with the signals held: look again when due */
/* Around a call that changes sig's handler (sigwatch.c's wrappers, syscall()). */
FF_HIDDEN void ff_sig_before(int sig);
FF_HIDDEN void ff_sig_after(int sig);
/* A poll that holds nothing (begin false: hold instead): it ends at the round when still
 * says a handler is about to change. */
FF_HIDDEN bool ff_sig_unheld_begin(int fd, uint32_t *gen);
FF_HIDDEN bool ff_sig_unheld_still(uint32_t gen);
FF_HIDDEN void ff_sig_unheld_end(void);
/* Busy waits run with the asynchronous signals held; release says whether one that came has
 * a handler without SA_RESTART (the waiting call then fails with EINTR, as a blocking one;
 * any handler when timeo_fd, the socket waited on, has a receive timeout). */
FF_HIDDEN void ff_signals_hold(sigset_t *old);
FF_HIDDEN bool ff_signals_release(const sigset_t *old, int timeo_fd);
/* Around a blocking send through the region: signals held from begin to end. Between wait
 * slices, poll: true when a pending signal's handler interrupts calls (it has run; the call
 * ends with EINTR); pending ones that restart run and stay held afterwards. */
FF_HIDDEN void ff_signals_call_begin(void);
FF_HIDDEN void ff_signals_call_end(void);
FF_HIDDEN bool ff_signals_held(void);
FF_HIDDEN bool ff_signals_poll(void);
FF_HIDDEN void ff_spin_slept(struct ff_spin *s, uint64_t t0);

/* ---- slots (slots.c) ---------------------------------------------------------- */
/* Take a slot for a payload on conn `cookie` (its key goes in the slot at once); wait for one of this connection's slots in flight
 * when may_wait (blocking socket), checking fd health. bound: the most payload bytes the
 * connection may have in flight (0: the default bound). *deep: the connection's reader let a
 * wait at the steady share pass (slots.c), kept by the caller. Returns slot index, or -1 (go
 * inline), or -2 with errno when the connection died while waiting. */
FF_HIDDEN int64_t ff_slot_take(uint64_t cookie, uint32_t key, int fd, bool may_wait, size_t len,
			       uint64_t bound, bool *deep, uint32_t *gen);
FF_HIDDEN void ff_slot_untake(uint32_t slot, uint32_t gen);   /* doorbell not sent */
/* slot_wait.c: sleep until slot's word leaves `seen` (its reader gave it back): 0, or -1 with
 * errno as the blocking send would end (EPIPE, EINTR, EAGAIN at deadline_ns) */
FF_HIDDEN int ff_slot_wait(uint32_t slot, uint32_t seen, int fd, uint64_t cookie,
			   uint64_t deadline_ns);
FF_HIDDEN uint64_t ff_send_deadline(int fd);   /* SO_SNDTIMEO from now (0: none) */
FF_HIDDEN void ff_slot_reclaim_conn(uint64_t cookie);         /* peer gone: slots back */
FF_HIDDEN bool ff_slot_in_flight(uint64_t cookie);            /* payloads of it unread */
/* Reader side: is the doorbell valid now for a connection whose peer key is `key` (slot in
 * range, generation, state, length, and the slot announced on this very connection)? */
FF_HIDDEN int  ff_slot_claim(const struct ff_doorbell *db, uint32_t key);  /* 0 or -1 */
FF_HIDDEN bool ff_slot_check(const struct ff_doorbell *db, uint32_t key);
FF_HIDDEN void ff_slot_release(uint32_t slot, uint32_t gen);  /* reader done */
FF_HIDDEN void ff_slots_after_fork(void);
/* Runs of small writes (tx_run.c): the writer's hold on the slot; the reader's seal. */
FF_HIDDEN void ff_slot_run_reserve(uint32_t slot, bool on, uint64_t to);
/* Before sealing it, let a run whose writer is still appending grow a little (slots.c). */
FF_HIDDEN void ff_run_settle(const struct ff_doorbell *db);
FF_HIDDEN uint64_t ff_run_seal(const struct ff_doorbell *db, uint32_t key);
/* The zero-copy API (api.c): runs of consecutive slots handed to the application. */
FF_HIDDEN int64_t ff_slots_alloc_run(uint32_t n);
FF_HIDDEN void ff_slots_free_run(uint32_t first, uint32_t n);
FF_HIDDEN int ff_slot_take_app(uint32_t slot, uint64_t cookie, uint32_t key, int fd,
				bool may_wait, uint32_t *gen);
FF_HIDDEN int ff_rx_borrow(struct ff_conn *c, int fd, void **ptr, size_t *len, uint32_t *slot,
			   uint32_t *gen);

/* ---- data path (tx.c, rx.c) ------------------------------------------------ */
/* ff_frame_decode on connection c's incoming direction; a run's doorbell is sealed at this
 * first look and db->len, *plen are its final length (rx.c). */
FF_HIDDEN int ff_rx_decode(struct ff_conn *c, const void *buf, size_t n, uint64_t slot_size,
			   uint64_t slot_count, size_t *hdr_len, uint64_t *payload_len,
			   struct ff_doorbell *db);
FF_HIDDEN void ff_tx_run_end(struct ff_conn *c);   /* tx_lock held, or the only user */
/* Between tx.c and tx_run.c: a copy into a slot (false: the region was shrunk under it, go
 * inline); a doorbell for len bytes at off of a filled slot (len, 0: nothing sent, the slot
 * went back, or -1); runs of small writes (the third in a row with no read between, and on). */
FF_HIDDEN bool ff_tx_copy_in(struct ff_region *rg, uint8_t *dst, const struct iovec *iov,
			     int iovcnt, size_t skip, size_t len);
FF_HIDDEN ssize_t ff_tx_doorbell(struct ff_conn *c, int fd, uint32_t slot, uint32_t gen,
				 uint64_t off, uint64_t len, int flags, uint8_t dbflags);
#define FF_RUN_AFTER_WRITES 2u
FF_HIDDEN bool ff_tx_run_allowed(const struct ff_conn *c, size_t len, int flags,
				 uint64_t threshold);
FF_HIDDEN ssize_t ff_tx_run_append(struct ff_conn *c, const struct iovec *iov, int iovcnt,
				   size_t skip, size_t len);
FF_HIDDEN ssize_t ff_tx_run_start(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
				  size_t skip, size_t len, int flags);
FF_HIDDEN ssize_t ff_tx(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags);
FF_HIDDEN void ff_rx_lowat_set(struct ff_conn *c, int fd);   /* after the app's SO_RCVLOWAT */
FF_HIDDEN ssize_t ff_tx_urgent(struct ff_conn *c, int fd, uint8_t byte, int flags);
FF_HIDDEN ssize_t ff_tx_ctl(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			    int flags, const void *control, size_t controllen);
FF_HIDDEN ssize_t ff_rx(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, int flags);
FF_HIDDEN int ff_rx_fionread(struct ff_conn *c, int fd, void *arg);
/* rx.c's pieces that rx_side.c uses too */
FF_HIDDEN ssize_t ff_rx_peek(int fd, void *buf, size_t n, int flags);
FF_HIDDEN int ff_rx_decide(struct ff_conn *c, int fd, int flags);
/* rx_start.c: an undecided direction's start, before a read (0 decided, -1 errno), and after
 * it (the read's result, as the start leaves it); the hello left in front taken out */
FF_HIDDEN int ff_rx_start(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			  int flags);
FF_HIDDEN ssize_t ff_rx_start_end(struct ff_conn *c, int fd, ssize_t r);
FF_HIDDEN void ff_rx_hello_take(struct ff_conn *c, int fd);
FF_HIDDEN ssize_t ff_rx_head_peek(struct ff_conn *c, int fd, uint8_t buf[FF_FRAME_PEEK], int pflags);
FF_HIDDEN ssize_t ff_rx_broken(struct ff_conn *c, int fd, const char *why);
FF_HIDDEN ssize_t ff_rx_plain(int fd, const struct iovec *iov, int iovcnt, int flags);
FF_HIDDEN void ff_rx_set_raw(struct ff_conn *c, int fd);      /* plain for good (rx_start.c) */
/* A direction whose writer said in its pair entry that it begins with a hello: the first small
 * read takes the hello with the first frame without a peek (TRUSTED until ff_rx_spec has the
 * whole hello and found it valid: TAKEN). */
enum ff_rx_first { FF_RX_FIRST_NONE = 0, FF_RX_FIRST_TRUSTED, FF_RX_FIRST_TAKEN };
/* Copy n bytes of src into iov from byte at on (rx.c). */
FF_HIDDEN void ff_scatter(const struct iovec *iov, int iovcnt, size_t at, const uint8_t *src, size_t n);
/* At a frame head, in one call (rx_head.c): header and up to FF_SPEC_MAX payload bytes; or
 * many small inline frames at once (-2: the head is not an inline frame; *peeked bytes of it
 * are in b, for the caller to decode without peeking again). */
FF_HIDDEN ssize_t ff_rx_spec(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
			     size_t at, size_t space, int pflags, bool *eof, bool *drained);
FF_HIDDEN ssize_t ff_rx_inline_batch(struct ff_conn *c, int fd, uint8_t *b, size_t space,
				     int pflags, bool *eof, bool *drained, size_t *peeked);
/* MSG_PEEK (rx_peek.c): an inline frame's payload behind hlen header bytes still in the
 * socket; and what a read of space bytes would return now, over as many frames as it spans. */
FF_HIDDEN ssize_t ff_rx_peek_inline(int fd, const struct iovec *iov, int iovcnt, size_t at,
				    size_t len, size_t hlen, int flags);
FF_HIDDEN ssize_t ff_rx_peek_frames(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
				     size_t space, int pflags, bool trunc, size_t skip);
FF_HIDDEN void ff_conn_release_rx(struct ff_conn *c);         /* last close */

/* ---- programs that sandbox themselves (sandbox.c) ------------------------------ */
extern _Atomic bool ff_sandboxed FF_HIDDEN;   /* the process installed a seccomp filter */
FF_HIDDEN void ff_sandbox_enter(void);
FF_HIDDEN ssize_t ff_sandbox_rx(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt);
FF_HIDDEN bool ff_sandbox_start(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
				ssize_t *res);
static inline bool ff_is_sandboxed(void)
{
	return atomic_load_explicit(&ff_sandboxed, memory_order_relaxed);
}

/* true when the call must go straight to libc */
/* vfork.c: a vfork child may be running on this thread (set by vfork, cleared by the parent
 * thread's next call); in the child every wrapper passes through. */
extern __thread int ff_vfork_state FF_HIDDEN;
FF_HIDDEN bool ff_vfork_child_slow(void);
static inline bool ff_in_vfork_child(void)
{
	return __builtin_expect(ff_vfork_state, 0) && ff_vfork_child_slow();
}
/* In a vfork child: fds lo..hi now refer to c (NULL: closed or plain); the exec hand-over's
 * view of the fd table through those notes. */
FF_HIDDEN void ff_vfork_note(int lo, int hi, struct ff_conn *c);
FF_HIDDEN struct ff_conn *ff_vfork_peek(int fd);
/* posix_spawn's file actions, followed (spawn_actions.c): what the child's fds will be. */
struct ff_child_fd {
	struct ff_conn *c;           /* the connection, or NULL */
	bool cloexec;                /* closed by the exec */
};
FF_HIDDEN int ff_spawn_child_fds(const void *fa, struct ff_child_fd **out);
/* dlsym(RTLD_NEXT, name) (init.c) */
FF_HIDDEN void *ff_next_sym(const char *name);
FF_HIDDEN int ff_vfork_fd_max(void);

/* Passing through, except for exec's hand-over (which a vfork child needs too). */
static inline bool ff_passthrough_exec(void)
{
	return ff_busy || !atomic_load_explicit(&ff_started, memory_order_acquire) || !ff_proc.cfg_ok;
}

static inline bool ff_passthrough(void)
{
	return ff_passthrough_exec() || ff_in_vfork_child();
}

/* Whole-buffer helpers for sendfile/splice (io_write.c, io_read.c). */
FF_HIDDEN ssize_t ff_send_buf(struct ff_conn *c, int fd, const void *buf, size_t n, int flags);
FF_HIDDEN ssize_t ff_recv_buf(struct ff_conn *c, int fd, void *buf, size_t n, int flags);
FF_HIDDEN bool ff_conn_framed_tx(struct ff_conn *c, int fd);
/* A connection both of whose directions stay plain TCP for good is forgotten: from then on
 * its fd costs exactly what an untouched one does. */
static inline bool ff_conn_all_raw(struct ff_conn *c)
{
	int tx = atomic_load(&c->tx);
	return c->kind == FF_KIND_CONN && atomic_load(&c->rx) == FF_RX_RAW &&
	       (tx == FF_TX_RAW || (tx == FF_TX_UNDECIDED && !c->is_client));
}
FF_HIDDEN size_t ff_iov_len(const struct iovec *iov, int iovcnt);
/* The pieces of iov covering bytes [at, at+len), at most max of them; returns how many. */
FF_HIDDEN int ff_iov_sub(struct iovec *out, int max, const struct iovec *iov, int iovcnt,
			 size_t at, size_t len);
FF_HIDDEN void ff_exec_restore(void);

/* Framing state handed to another image of the shim (handoff.c). */
FF_HIDDEN void ff_region_hex(char out[33]);
FF_HIDDEN void ff_region_unhex(const char *hex, uint8_t out[16]);
FF_HIDDEN size_t ff_state_encode(struct ff_conn *c, char *out, size_t cap);
FF_HIDDEN void ff_state_restore(int fd, const char *s, const uint8_t region[16]);
FF_HIDDEN void ff_handoff_send(const struct msghdr *msg);   /* SCM_RIGHTS out */
FF_HIDDEN void ff_handoff_recv(const struct msghdr *msg);   /* SCM_RIGHTS in */
FF_HIDDEN bool ff_handoff_carried(const struct msghdr *msg); /* any SCM_RIGHTS in msg */
FF_HIDDEN int ff_rx_atmark(struct ff_conn *c, int fd, void *arg);  /* SIOCATMARK (rx_urgent.c) */
/* Urgent data (rx_urgent.c). FF_AT_MARK: a read that has bytes stops here, as TCP's stops at an
 * urgent mark. At a frame head with SO_OOBINLINE: the byte at the mark (1), FF_AT_MARK, or -2
 * (not at the mark); the fate of the byte after a marker already read (1 at the mark, 0, -1);
 * a marker at the head (1 the byte as data, 0, FF_AT_MARK, -1). */
#define FF_AT_MARK (-3)
FF_HIDDEN ssize_t ff_rx_urgent_inline(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt,
				      size_t at, int flags, int pflags, bool *eof);
FF_HIDDEN int ff_rx_urgent_fate(struct ff_conn *c, int fd);
FF_HIDDEN ssize_t ff_rx_urgent_marker(struct ff_conn *c, int fd, const struct iovec *iov,
				      int iovcnt, size_t at, int flags);

#endif
