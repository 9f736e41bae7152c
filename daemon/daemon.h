/* faasflowd internals: one server, one tenant per served region, clients, endpoints, leases.
 * Single-threaded: every function here runs on the event loop's thread. */
#ifndef FAASFLOW_DAEMON_H
#define FAASFLOW_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>

#include "config.h"
#include "proto.h"
#include "region.h"

/* A slot whose owner died while it was FILLED (a reader may still come for it) is an orphan.
 * If no reader has claimed it ORPHAN_TIMEOUT_NS after the owner's death, the daemon takes it
 * back anyway: a doorbell that old is never going to be read. Not a config key on purpose. */
#define FFD_ORPHAN_TIMEOUT_NS   (30ULL * 1000000000ULL)
/* Every reader of a connection gone (closed, exited): its slots in flight come back after
 * this (a connection passed to another process is named again by the receiver meanwhile). */
#define FFD_READER_GRACE_NS     (10ULL * 1000000000ULL)
#define FFD_MAX_READERS_PER_CLIENT 262144u
#define FFD_TICK_MS             200      /* orphan / dead-reader scan period */
#define FFD_SCAN_TICKS          10       /* full dead-reader scans after a client leaves */
#define FFD_LOOKUP_TTL_MS       1000
#define FFD_MAX_EP_PER_CLIENT   1024
#define FFD_MAX_TENANTS         16

/* --metrics-listen: a tiny HTTP server on the event loop. */
#define FFD_HTTP_MAX_CONN       16       /* concurrent scrapes; more are closed at once */
#define FFD_HTTP_REQ_MAX        2048     /* request line and headers */
#define FFD_HTTP_TIMEOUT_MS     5000     /* a client that has not finished by then is dropped */

/* epoll data: kind << 32 | value */
enum { FFD_EV_LISTEN = 1, FFD_EV_CLIENT, FFD_EV_SIGNAL, FFD_EV_TIMER, FFD_EV_HTTP_LISTEN,
       FFD_EV_HTTP };

/* Where a slot is, from the pool's point of view (daemon memory, not the region). */
enum ffd_slot_where {
	FFD_POOL = 0,       /* on the free list */
	FFD_OUT,            /* leased to a live client (owner) */
	FFD_ORPHAN,         /* owner gone while FILLED/READING: waits for the reader */
};

struct ffd_slot {
	uint32_t owner;         /* client id (FFD_OUT / FFD_ORPHAN: the dead owner) */
	uint8_t  where;         /* enum ffd_slot_where */
	bool     prior;         /* out of the pool before this start, owner (pid) maybe alive */
	pid_t    pid;           /* prior: the owner's pid, which adopts it back when it registers */
	uint64_t orphan_since;  /* CLOCK_MONOTONIC ns */
};

struct ffd_ep_key {
	uint64_t netns_dev, netns_ino;
	uint8_t  addr[16];
	uint16_t port;
	uint16_t pad;
	uint32_t client_id;
};

struct ffd_endpoint {
	struct ffd_ep_key key;  /* client_id 0: lingering, its process gone (endpoints.c) */
	struct ff_endpoint ep;
	int32_t pid;
	uint64_t linger_until;  /* lingering: forgotten then */
	UT_hash_handle hh;
};

/* A connection key some live process reads (readers.c): per tenant, and per client. */
struct ffd_rkey {
	uint32_t key;
	uint32_t refs;          /* readers naming it; 0: all gone since gone_ns */
	uint64_t gone_ns;
	UT_hash_handle hh;
};

struct ffd_ckey {
	uint32_t key;
	uint32_t n;             /* times this client named it */
	UT_hash_handle hh;
};

enum ffd_reader_state { FFD_RK_UNKNOWN, FFD_RK_LIVE, FFD_RK_GONE };

struct ffd_tenant {
	char name[FF_NAME_MAX];
	char region_path[PATH_MAX];
	char sock_path[PATH_MAX];
	struct ff_region r;
	bool have_region;
	int listen_fd;
	bool accept_paused;     /* out of descriptors: not watched until the next tick */
	bool accept_paused_log; /* said so (once until accepts work again) */
	/* owner of the region file and socket: the tenant's TENANT_OWNERS entry, else OWNER;
	 * its uid (and its group, when one is named) may connect besides the global list */
	char owner[64];         /* "" = none */
	uid_t owner_uid;        /* (uid_t)-1 = keep */
	gid_t owner_gid;        /* given to the files: the named group, else the user's */
	gid_t admit_gid;        /* the named group, or (gid_t)-1 */
	/* leases */
	struct ffd_slot *slots;
	uint32_t *free_stack;   /* LIFO: the most recently freed slot is leased first */
	uint64_t nfree;
	uint64_t norphans;
	uint64_t nprior;        /* slots with prior set */
	uint64_t returns, bad_returns;
	/* readers (readers.c) */
	struct ffd_rkey *rkeys;
	uint64_t nrkeys_gone;   /* keys with refs 0, not yet forgotten */
	uint64_t pairs_swept_ns;/* the last sweep of the pair table by age (leases.c) */
	uint32_t *pkeys;        /* keys read by the ends of live entries, sorted (leases.c) */
	size_t npkeys, pkeys_cap;
	uint64_t pkeys_ns;      /* the tick they were taken at (0: not yet) */
	uint64_t renew_at_ns;   /* a lost region's replacement failed: try again then (tenant.c) */
	/* endpoints */
	struct ffd_endpoint *endpoints;
	uint64_t nendpoints;
	uint64_t nlinger;       /* of them lingering */
	bool ep_dirty;          /* changed since last saved */
};

struct ffd_client {
	int fd;
	uint32_t id;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t flags;         /* FF_REG_* from REGISTER */
	bool registered;
	char name[FF_NAME_MAX];
	struct ffd_tenant *t;
	uint64_t held;          /* slots this client owns (FFD_OUT) */
	uint32_t nendpoints;
	struct ffd_ckey *rkeys; /* connections it reads (readers.c) */
	int rfd;                /* its readers channel (FF_REGR_READERS), or -1 */
	uint32_t nrkeys;
	bool rkeys_full;
	UT_hash_handle hh_fd, hh_id;
};

struct ffd_http_conn {
	int fd;                 /* -1: unused */
	uint32_t gen;           /* bumped at every use: stale epoll events are ignored */
	uint64_t deadline_ns;
	size_t rlen;
	char req[FFD_HTTP_REQ_MAX];
	char *out;              /* the whole response, once the request is read */
	size_t outlen, outoff;
};

struct ffd_server {
	struct ff_config cfg;
	struct ff_threshold_pub cal;  /* THRESHOLD = auto: this run's, once cal_done
	                               * (src FF_THR_NONE: the measurement could not run) */
	bool cal_done;
	const char *config_path;      /* --config, or NULL */
	char **sets;                  /* --set KEY=VALUE, reapplied on reload */
	int nsets;
	struct ffd_tenant tenants[FFD_MAX_TENANTS];
	unsigned ntenants;
	int epfd, sigfd, timerfd;
	int rdepfd;             /* readers channels: never waited on, polled at each tick */
	int rx_fd;              /* descriptor that came with the packet being handled, or -1 */
	struct ffd_client *by_fd, *by_id;
	uint32_t next_id;
	uint32_t first_id;      /* ids in [first_id, next_id) were issued by this run */
	uint64_t nclients, nctl;
	uint64_t bad_messages, refused_clients;
	uint64_t start_mono_ns;
	unsigned scan_ticks;
	bool stop;
	uid_t uid;
	int http_fd;
	struct ffd_http_conn http[FFD_HTTP_MAX_CONN];
	uint64_t http_requests, http_refused;
	uint8_t buf[FF_MSG_MAX + 64];
	uint8_t out[FF_MSG_MAX];
};

/* util */
uint64_t ffd_now_ns(void);
uint64_t ffd_nofile_limit(void);   /* the soft RLIMIT_NOFILE */

/* calibrate.c: THRESHOLD = auto */
void ffd_threshold_publish(struct ffd_server *s, struct ffd_tenant *t, bool reattached);

/* tenant.c: region and control socket of each tenant */
int ffd_tenants_open(struct ffd_server *s);
void ffd_tenants_close(struct ffd_server *s);
int ffd_parse_owner(const char *owner, uid_t *uid, gid_t *gid);

/* clients.c */
struct ffd_client *ffd_client_accept(struct ffd_server *s, struct ffd_tenant *t);
struct ffd_client *ffd_client_by_fd(struct ffd_server *s, int fd);
struct ffd_client *ffd_client_by_id(struct ffd_server *s, uint32_t id);
void ffd_client_drop(struct ffd_server *s, struct ffd_client *c);
void ffd_clients_drop_all(struct ffd_server *s);
bool ffd_client_is_admin(const struct ffd_server *s, const struct ffd_client *c);

/* endpoints.c */
int ffd_ep_add(struct ffd_tenant *t, struct ffd_client *c, const struct ff_endpoint *ep);
int ffd_ep_del(struct ffd_tenant *t, struct ffd_client *c, const struct ff_endpoint *ep);
void ffd_ep_drop_client(struct ffd_tenant *t, struct ffd_client *c);
bool ffd_ep_lookup(const struct ffd_tenant *t, const struct ff_lookup *lk);
size_t ffd_ep_list(const struct ffd_tenant *t, struct ff_endpoint_info *out, size_t max);
void ffd_ep_free_all(struct ffd_tenant *t);
void ffd_ep_tick(struct ffd_tenant *t, uint64_t now);     /* lingering ones expire; save */
void ffd_ep_save(struct ffd_tenant *t);
void ffd_ep_restore(struct ffd_tenant *t);

/* leases.c */
int ffd_leases_init(struct ffd_tenant *t);
/* A region truncated under us is replaced (tenant.c) */
void ffd_tenant_region_check(struct ffd_server *s, struct ffd_tenant *t);
void ffd_leases_free(struct ffd_tenant *t);
int ffd_lease(struct ffd_server *s, struct ffd_client *c, uint32_t want, uint32_t *slots,
              uint32_t *n);
uint32_t ffd_return(struct ffd_client *c, const uint32_t *slots, uint32_t n);
void ffd_leases_client_gone(struct ffd_server *s, struct ffd_client *c);
void ffd_leases_adopt(struct ffd_client *c);
void ffd_leases_tick(struct ffd_server *s, struct ffd_tenant *t);
void ffd_leases_count(const struct ffd_tenant *t, struct ff_stats *st);
size_t ffd_leases_list(const struct ffd_server *s, const struct ffd_tenant *t,
                       struct ff_lease_info *out, size_t max);

/* readers.c */
bool ffd_readers_channel_take(struct ffd_server *s, struct ffd_client *c, int fd);
void ffd_readers_channel_close(struct ffd_server *s, struct ffd_client *c);
void ffd_readers_drain(struct ffd_server *s, struct ffd_client *c);
void ffd_readers_drain_all(struct ffd_server *s);
void ffd_readers_msg(struct ffd_client *c, const struct ff_reader *recs, size_t n);
void ffd_readers_client_gone(struct ffd_client *c);
/* Whether the reader of a slot's connection (its key) lives: named by a live process, or by
 * a live entry of the pair table (which wins over a GONE). */
enum ffd_reader_state ffd_readers_state(struct ffd_server *s, struct ffd_tenant *t, uint32_t key,
					uint64_t now);
void ffd_readers_dead(struct ffd_tenant *t, uint32_t dead, uint64_t now);  /* its entries' keys gone */
void ffd_readers_tick(struct ffd_tenant *t, uint64_t now);
void ffd_readers_free(struct ffd_tenant *t);

/* dispatch.c */
void ffd_handle_packet(struct ffd_server *s, struct ffd_client *c, size_t n);
void ffd_tenant_stats(const struct ffd_server *s, const struct ffd_tenant *t,
                      struct ff_stats *st);

/* http.c: GET /metrics */
int ffd_http_open(struct ffd_server *s);
void ffd_http_accept(struct ffd_server *s);
void ffd_http_event(struct ffd_server *s, uint32_t val, uint32_t events);
void ffd_http_tick(struct ffd_server *s);
void ffd_http_close(struct ffd_server *s);
/* The Prometheus text of every tenant, malloc'ed; NULL when out of memory. */
char *ffd_metrics_text(const struct ffd_server *s, size_t *len);

/* server.c */
int ffd_server_init(struct ffd_server *s);
int ffd_server_after_fork(struct ffd_server *s);   /* --daemon's child: its own signalfd */
int ffd_server_run(struct ffd_server *s);
void ffd_server_fini(struct ffd_server *s);
int ffd_reload(struct ffd_server *s);

/* notify.c: systemd Type=notify without libsystemd */
int ffd_notify(const char *state);

/* crash.c */
void ffd_crash_handlers_install(void);

#endif
