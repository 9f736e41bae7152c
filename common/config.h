/* Configuration: file "KEY = value", then environment FAASFLOW_<KEY>, then flags.
 * Every bad value is an error naming the key, the value and what is accepted. */
#ifndef FAASFLOW_CONFIG_H
#define FAASFLOW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "defaults.h"

enum ff_peer_kind {
	FF_PEER_ANY = 0,      /* "*": any endpoint the coordinator knows */
	FF_PEER_HOST,         /* "host:port"  (host: IPv4/IPv6 literal or "localhost") */
	FF_PEER_CIDR,         /* "10.0.0.0/8:port", "[fd00::/8]:port" */
	FF_PEER_NAMED,        /* "name@host:port": endpoint `name` reached through host:port */
};

struct ff_peer {
	enum ff_peer_kind kind;
	int family;                    /* AF_INET or AF_INET6 (0 for ANY) */
	struct in6_addr addr;          /* IPv4 stored as v4-mapped IPv6 */
	unsigned prefix;               /* CIDR prefix length in IPv6 terms (v4: 96 + n) */
	uint16_t port;                 /* host order; 0 = any port (only for "*") */
	char name[FF_NAME_MAX];        /* FF_PEER_NAMED */
};

/* Who reads a key: a process parses and validates only the keys of its own scope and accepts
 * the others unread (a coordinator-only OWNER naming a user that a container's image lacks
 * must not switch the shim off, and the shim never resolves users or groups). */
enum ff_config_scope {
	FF_SCOPE_ALL = 0,              /* the coordinator and faasflowctl: every key */
	FF_SCOPE_SHIM = 1,             /* the preloaded shim: only what it uses */
};

struct ff_config {
	enum ff_config_scope scope;    /* kept across ff_config_load(); defaults: FF_SCOPE_ALL */
	bool     enabled;              /* ENABLE_SHARED_MEMORY */
	uint64_t shm_size;             /* SHM_SIZE */
	char     shm_file_path[PATH_MAX];  /* SHM_FILE_PATH */
	char     socket_dir[PATH_MAX];     /* SOCKET_DIR */
	uint64_t slot_size;            /* SLOT_SIZE */
	uint64_t threshold;            /* THRESHOLD; 0: auto (the coordinator's, region.h) */
	char     peers_raw[4096];      /* PEERS, as written */
	struct ff_peer peers[FF_MAX_PEERS];
	unsigned npeers;
	uint32_t quota;                /* QUOTA: max slots one process may hold */
	uint32_t lease_batch;          /* LEASE_BATCH: slots per lease request */
	uint32_t spin_wait_us;         /* SPIN_WAIT_US: longest busy wait of the shim (0 = none) */
	bool     small_write_runs;     /* SMALL_WRITE_RUNS: streams of small writes share slots */
	int      log_level;            /* LOG_LEVEL */
	char     log_file[PATH_MAX];   /* LOG_FILE ("" = stderr) */
	bool     log_syslog;           /* LOG_SYSLOG */
	unsigned shm_file_mode;        /* SHM_FILE_MODE (octal) */
	unsigned socket_mode;          /* SOCKET_MODE (octal) */
	char     owner[64];            /* OWNER: "user[:group]" given to region and socket ("" = keep) */
	uid_t    allow_uids[FF_MAX_IDS];   /* ALLOW_UIDS: who may talk to the coordinator */
	unsigned nallow_uids;              /* 0 = only the daemon's own uid and root */
	gid_t    allow_gids[FF_MAX_IDS];   /* ALLOW_GIDS */
	unsigned nallow_gids;
	char     tenant[FF_NAME_MAX];      /* TENANT: which region a process uses */
	char     tenants_raw[1024];        /* TENANTS: regions the coordinator serves (daemon) */
	char     metrics_listen[128];      /* METRICS_LISTEN: "addr:port" ("" = off) */
	char     tenant_owners[1024];      /* TENANT_OWNERS: "tenant=user[:group],..." (daemon) */
};

void ff_config_defaults(struct ff_config *c);

/* Set one key (as in the file, case-insensitive) to a value.
 * Returns 0, or -1 with a message in err: "SHM_SIZE = '1X': expected a size like 512M, 1G". */
int ff_config_set(struct ff_config *c, const char *key, const char *value, char *err, size_t errlen);

/* Read a file of "KEY = value" lines (# comments, blank lines, optional quotes).
 * missing_ok: a file that does not exist is not an error. */
int ff_config_load_file(struct ff_config *c, const char *path, bool missing_ok, char *err, size_t errlen);

/* Apply every FAASFLOW_<KEY> variable of the environment (ignored in setuid programs). */
int ff_config_load_env(struct ff_config *c, char *err, size_t errlen);

/* defaults, then file (path, or $FAASFLOW_CONFIG, or the default file if it exists), then env. */
int ff_config_load(struct ff_config *c, const char *path, char *err, size_t errlen);

/* Parsers shared with the CLI and tests. */
int ff_parse_size(const char *s, uint64_t *out);    /* "4096", "64K", "1M", "2G" */
int ff_parse_bool(const char *s, bool *out);        /* true/false/yes/no/on/off/1/0 (any case) */
int ff_parse_peers(const char *s, struct ff_peer *peers, unsigned max, unsigned *n, char *err, size_t errlen);

/* "<socket_dir>/faasflow_container_<tenant>.sock" */
int ff_config_socket_path(const struct ff_config *c, char *buf, size_t len);
/* The region file of the configured tenant: SHM_FILE_PATH for "default",
 * "<SHM_FILE_PATH>.<tenant>" otherwise. */
int ff_config_region_path(const struct ff_config *c, const char *tenant, char *buf, size_t len);

#endif
