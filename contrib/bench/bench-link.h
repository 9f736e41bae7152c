/* Internal: the link object and the slotted-link operations behind link_*(). */
#ifndef FAASFLOW_BENCH_LINK_H
#define FAASFLOW_BENCH_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define RING_SLOTS     4
#define RING_SLOT_SIZE (1U << 20)
#define REV_BUF        8192

enum link_kind { LINK_FD = 0, LINK_RING, LINK_REDIS };

struct link {
	enum link_kind kind;
	int fd;                         /* the stream socket, or the doorbell socketpair end */
	int rfd;                        /* redis connection (LINK_REDIS) */
	struct slot_shared *sh;
	bool producer;
	/* producer: free slots (a stack: the most recently freed is reused first, cache-hot) */
	uint32_t free_slots[RING_SLOTS];
	unsigned nfree;
	unsigned char rev[REV_BUF];     /* reverse-direction bytes not parsed yet */
	size_t nrev;
	unsigned char stash[REV_BUF];   /* inline reply bytes not read yet */
	size_t stash_off, stash_len;
	/* consumer: the slot being read, and credits not yet returned */
	int cur;
	uint64_t cur_off, cur_len;
	uint32_t pending[RING_SLOTS];
	unsigned npending;
};

int slot_send_msg(struct link *l, const void *buf, size_t n);
int slot_recv_reply(struct link *l, void *buf, size_t n);
int slot_recv_msg(struct link *l, void *buf, size_t n, struct fh *h);
int slot_send_reply(struct link *l, const void *buf, size_t n);
void slot_free(struct link *l);

/* RESP over a plain socket (bench-redis.c) */
int redis_set(int fd, const char *key, const void *val, size_t n);
int redis_get(int fd, const char *key, void *dst, size_t cap, size_t *len);
int redis_del(int fd, const char *key);

#endif
