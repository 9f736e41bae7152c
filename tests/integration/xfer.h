/* xfer: a test client/server that moves pseudo-random data over TCP and hashes every byte on
 * both ends. Shared declarations of its parts (io, data, rx, tx, main). */
#ifndef FAASFLOW_TEST_XFER_H
#define FAASFLOW_TEST_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sha256.h"

enum io_mode { M_BLOCK = 0, M_EPOLL_LT, M_EPOLL_ET, M_POLL, M_SELECT };
enum io_api { API_RW = 0, API_SR, API_VEC, API_MSG, API_TO };
enum rr_kind { RR_NONE = 0, RR_ACK, RR_ECHO };

#define XFER_MSG_MAGIC  0x314d4658u     /* "XFM1" */
#define XFER_MAX_THREADS 16
#define XFER_MAX_MSG    (1ULL << 30)
#define XFER_ACK_BYTE   0x06

/* Length prefix of one message (message modes: --threads, --rr, --msgs). Host byte order:
 * both ends run on one host. */
struct msg_hdr {
	uint32_t magic;
	uint32_t tid;
	uint32_t idx;
	uint32_t pad;
	uint64_t len;
};

struct opts {
	bool server;
	const char *host;
	const char *bind;
	const char *port;
	const char *port_file;
	enum io_mode mode;
	enum io_api api;
	uint64_t *sizes;            /* payload sizes (sender) */
	size_t nsizes;
	uint64_t seed;              /* data seed */
	size_t rbuf;                /* reader buffer */
	size_t wbuf;                /* largest single write */
	bool peek, waitall, fionread, verify;
	bool fork_server;
	unsigned accept_n;
	bool reply;                 /* server: send "OK bytes= sha256=" after EOF */
	bool msgs;                  /* server: expect length-prefixed messages */
	enum rr_kind rr;
	unsigned threads;
	bool half_close, dup2_fd, nonblock_connect;
	bool server_sends;          /* server speaks first: it sends, the client receives */
	bool exit_after_send;       /* _exit right after the last write returned */
	bool eintr;                 /* signal storm: every blocking call sees EINTR */
	unsigned gap_ms;            /* pause between payloads */
	uint64_t stall_after;       /* reader: after this many bytes ... */
	unsigned stall_ms;          /* ... stop reading for this long */
	uint64_t expect_bytes;      /* receiver: fail unless exactly this many (0: any) */
	bool have_expect;
	unsigned retry_ms;          /* client: retry refused connects this long */
	unsigned timeout_s;
};

struct conn {
	int fd;
	enum io_mode mode;
	enum io_api api;
	int epfd;
	uint32_t ep_events;         /* LT: current registration */
	bool ready_in, ready_out;   /* ET: edges collected, not yet used */
	bool fresh_in;              /* readiness was just reported (LT/poll/select) */
};

struct result {
	uint64_t bytes;
	char hex[SHA256_HEX_LEN];
};

/* xfer_io.c */
const char *xfer_role(void);
void xfer_set_role(const char *role);
int xerr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* with strerror(errno) */
int xerrx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* without */
int conn_init(struct conn *c, int fd, enum io_mode mode, enum io_api api);
void conn_close(struct conn *c);
int conn_move_fd(struct conn *c, int newfd);
int conn_wait(struct conn *c, bool out);
int conn_write_all(struct conn *c, const void *buf, size_t n);
ssize_t conn_read(struct conn *c, void *buf, size_t n, int flags);
int conn_read_full(struct conn *c, void *buf, size_t n, size_t piece);
int set_nonblock(int fd, bool on);
const char *mode_name(enum io_mode m);
int parse_mode(const char *s, enum io_mode *m);
int parse_api(const char *s, enum io_api *a);

/* xfer_data.c */
void gen_fill(uint64_t seed, uint64_t off, void *buf, size_t n);
uint64_t msg_seed(uint64_t seed, uint32_t tid, uint32_t idx);
int parse_size(const char *s, uint64_t *out);
int parse_sizes(const char *s, uint64_t **sizes, size_t *n);
int parse_random_mix(const char *s, uint64_t **sizes, size_t *n);
void msg_record(struct sha256 *acc, uint32_t tid, uint32_t idx, uint64_t len,
		const uint8_t digest[SHA256_DIGEST_LEN]);
void sleep_ms(unsigned ms);

/* xfer_tx.c */
int tx_stream(struct conn *c, const struct opts *o, struct result *r);
int tx_messages(struct conn *c, const struct opts *o, struct result *r);
int tx_finish(struct conn *c, const struct opts *o, const struct result *r);

/* xfer_rx.c */
int rx_stream(struct conn *c, const struct opts *o, struct result *r);
int rx_messages(struct conn *c, const struct opts *o, struct result *r);
int rx_send_reply(struct conn *c, const struct result *r);

/* xfer_net.c */
int xfer_server(struct opts *o);
int xfer_client(struct opts *o);

#endif
