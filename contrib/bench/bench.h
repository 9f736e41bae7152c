/* faasflow-bench: one unmodified client/server pair, measured over several transports.
 * Nothing here knows about the shim: the same binary runs with or without LD_PRELOAD. */
#ifndef FAASFLOW_BENCH_H
#define FAASFLOW_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum tr_kind { TR_TCP = 0, TR_UNIX, TR_RING, TR_REDIS };
enum mode_kind { MODE_STREAM = 0, MODE_RR, MODE_CONN, MODE_REPLAY };
enum role_kind { ROLE_BOTH = 0, ROLE_SERVER, ROLE_CLIENT };

/* ---- hash: cheap, order-sensitive 64-bit hash of every byte --------------------------- */
struct fh {
	uint64_t a[4], b[4];    /* per lane: running sum, and sum of the running sums */
	uint64_t nwords;
	uint64_t nbytes;
	uint64_t carry;         /* bytes of an unfinished 8-byte word */
	unsigned ncarry;
};
void fh_init(struct fh *h);
void fh_update(struct fh *h, const void *p, size_t n);
uint64_t fh_final(const struct fh *h);
uint64_t fh_buf(const void *p, size_t n);
/* The hash of a run folds every message's hash, in order. */
static inline uint64_t fh_fold(uint64_t run, uint64_t msg)
{
	return (run ^ msg) * 0x100000001b3ULL + 1;
}

/* ---- options --------------------------------------------------------------------------- */
struct edge {
	char workflow[48];
	uint64_t bytes;
	uint64_t hash;          /* hash of the first `bytes` of the payload buffer */
};

struct opts {
	enum tr_kind tr;
	enum mode_kind mode;
	enum role_kind role;
	uint64_t size;
	uint64_t iters;
	uint64_t volume;
	char host[64];
	unsigned port;
	char unix_path[108];
	char redis_host[64];
	unsigned redis_port;
	char edges_path[4096];
	char workflow[48];
	char ready_file[4096];
	char label[32];
	char rss_path[4096];
	bool persist;
	int nodelay;            /* -1: mode default */
	bool header;
	int api;                /* 0: plain buffers; 1: faasflow_alloc() sends; 2: and borrowed reads */
	int cpu_server, cpu_client;   /* --cpus; -1: anywhere */
	/* replay */
	struct edge *edges;
	size_t nedges;
	uint64_t max_edge;
};

/* ---- links: one connected data channel (producer or consumer end) -------------------- */
struct link;
/* producer */
int link_send_msg(struct link *l, const void *buf, size_t n);
int link_recv_reply(struct link *l, void *buf, size_t n);
/* consumer: read exactly n bytes of message, hashing them as they arrive */
int link_recv_msg(struct link *l, void *buf, size_t n, struct fh *h);
int link_send_reply(struct link *l, const void *buf, size_t n);
void link_free(struct link *l);
/* the zero-copy API rows (bench-api.c) */
int api_stream_produce(const struct opts *o, struct link *l, const unsigned char *payload,
		       uint64_t hmsg, uint64_t *run);
int api_recv_msg(struct link *l, size_t n, struct fh *h);

/* stream sockets (tcp, unix) */
int net_listen(const struct opts *o, unsigned *port_out);
struct link *net_accept(const struct opts *o, int lfd);
struct link *net_connect(const struct opts *o);

/* slotted links over a socketpair doorbell: ring (memfd) or redis (SET/GET) */
struct slot_shared;
struct slot_shared *slot_prepare(const struct opts *o);      /* before fork */
struct link *slot_link(const struct opts *o, struct slot_shared *s, bool producer);

/* io helpers */
int write_all(int fd, const void *buf, size_t n);
int read_full(int fd, void *buf, size_t n);
int redis_connect(const struct opts *o);

/* ---- modes ----------------------------------------------------------------------------- */
struct result {
	uint64_t hash_tx, hash_rx, rss_kb;
	double seconds;
	double *lat;            /* per-iteration seconds (rr, conn); per-workflow-run (replay) */
	size_t nlat;
};
/* the peer's trailer after the last message: its hash and resident KiB of --rss-path */
struct trailer {
	uint64_t hash;
	uint64_t rss_kb;
};

int run_producer(const struct opts *o, struct link *persistent, struct result *r);
int run_consumer(const struct opts *o, int lfd, struct link *persistent);
uint64_t rss_of_path_kb(const char *path);
double now_s(void);

int edges_load(struct opts *o, char *err, size_t errlen);
void report(const struct opts *o, const struct result *r);
const char *bench_tr_name(enum tr_kind t);
const char *bench_mode_name(enum mode_kind m);

#endif
