/* The control protocol between the shim / faasflowctl and the coordinator.
 * Transport: AF_UNIX SOCK_SEQPACKET (one message per packet). Every message starts with
 * struct ff_msg_hdr; `len` is the number of payload bytes after it. Decoding is bounds-checked:
 * ff_msg_decode() accepts a packet only if the header is whole, the version matches, `len`
 * equals the bytes received and is within FF_MSG_MAX, and the payload has the size its type
 * demands (fixed-size types) or is a whole number of records (list types). */
#ifndef FAASFLOW_PROTO_H
#define FAASFLOW_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FF_PROTO_VERSION 4u   /* 3: REGISTER may pass a readers channel (ff_register_reply.flags);
                               * 4: doorbells may open runs (frame.h): a shim of version 3
                               * would read a run's first write only, so it is not registered */
#define FF_MSG_MAX       65536u      /* whole packet, header included */
#define FF_LEASE_MAX     256u        /* slots in one lease / return message */

enum ff_msg_type {
	FF_MSG_REGISTER = 1,    /* shim/ctl -> d: ff_register;      reply ff_register_reply */
	FF_MSG_LISTEN_ADD,      /* shim -> d:     ff_endpoint;      reply status only */
	FF_MSG_LISTEN_DEL,      /* shim -> d:     ff_endpoint;      reply status only */
	FF_MSG_LOOKUP,          /* shim -> d:     ff_lookup;        reply ff_lookup_reply */
	FF_MSG_LEASE,           /* shim -> d:     ff_lease;         reply ff_slot_list */
	FF_MSG_RETURN,          /* shim -> d:     ff_slot_list;     reply status only */
	FF_MSG_SET_ENABLED,     /* ctl -> d:      ff_set_enabled;   reply status only */
	FF_MSG_STATS,           /* ctl -> d:      empty;            reply ff_stats */
	FF_MSG_LIST_ENDPOINTS,  /* ctl -> d:      empty;            reply n * ff_endpoint_info */
	FF_MSG_LIST_LEASES,     /* ctl -> d:      empty;            reply n * ff_lease_info */
	FF_MSG_READERS,         /* shim -> d:     n * ff_reader;    never answered */
	FF_MSG_TYPE_MAX
};

/* status (replies): 0 or a positive errno value (EINVAL, EPERM, EDQUOT, ENOSPC, EPROTO ...) */
struct ff_msg_hdr {
	uint16_t type;
	uint16_t version;
	uint32_t len;         /* payload bytes after this header */
	uint32_t seq;         /* echoed in the reply */
	int32_t  status;
} __attribute__((packed));

struct ff_register {
	int32_t  pid;
	uint32_t flags;       /* FF_REG_CTL: a faasflowctl, not a shim process */
	char     name[64];    /* FAASFLOW_NAME or "" */
	char     tenant[64];
} __attribute__((packed));
#define FF_REG_CTL 1u

struct ff_register_reply {
	uint32_t client_id;   /* nonzero; recorded as slot owner/reader */
	uint32_t enabled;
	uint8_t  region_id[16];
	uint64_t slot_size;
	uint64_t slot_count;
	uint32_t quota;
	uint32_t lease_batch;
	uint32_t flags;       /* FF_REGR_READERS: the coordinator keeps the channel passed */
	char     region_path[4096];
} __attribute__((packed));
/* A shim's REGISTER may carry one end of a socket pair (SCM_RIGHTS, AF_UNIX SOCK_SEQPACKET):
 * its readers channel. The shim sends bare arrays of struct ff_reader on it; the coordinator
 * does not watch it and reads it at every tick and before any READERS message of the same
 * client, so naming a connection costs the shim one send and wakes nobody. */
#define FF_REGR_READERS 1u

/* Addresses are IPv6 (IPv4 as v4-mapped), ports in host order. */
/* ff_endpoint.flags: an IPv6 wildcard listener with IPV6_V6ONLY set takes no IPv4 */
#define FF_EP_V6ONLY 1u

struct ff_endpoint {
	uint8_t  addr[16];    /* bound address (:: = any) */
	uint16_t port;
	uint16_t naddrs;      /* how many entries of ns_addrs are used */
	uint32_t flags;       /* FF_EP_V6ONLY */
	uint64_t netns_dev;   /* identity of the listener's network namespace (st_dev, st_ino) */
	uint64_t netns_ino;
	char     name[64];
	uint8_t  ns_addrs[16][16];  /* addresses of the listener's namespace */
} __attribute__((packed));

struct ff_lookup {
	uint8_t  addr[16];    /* destination */
	uint16_t port;
	uint16_t reserved;
	uint32_t reserved2;
	uint64_t netns_dev;   /* caller's namespace */
	uint64_t netns_ino;
	char     name[64];    /* for name@host:port peers, "" otherwise */
} __attribute__((packed));

struct ff_lookup_reply {
	uint32_t found;       /* 1: a live shim listener on this host serves it */
	uint32_t ttl_ms;      /* how long the answer may be cached */
} __attribute__((packed));

/* A process that may read a connection's payloads says so, by the key its writer puts in the
 * slots it announces on it (struct ff_hello's conn_key): slots in flight on a key that a live
 * process reads are never taken back by a timer. Sent without waiting: nothing answers. */
/* GONE: the end that an entry of the pair table named (no ADD was sent) closed with bytes
 * unread: its writer's slots on the key come back as after a DEL. */
enum { FF_READER_DEL = 0, FF_READER_ADD = 1, FF_READER_GONE = 2 };
struct ff_reader {
	uint32_t key;
	uint32_t op;          /* FF_READER_ADD / FF_READER_DEL / FF_READER_GONE */
} __attribute__((packed));

struct ff_lease {
	uint32_t count;
} __attribute__((packed));

struct ff_slot_list {
	uint32_t count;
	uint32_t slots[];     /* count entries, count <= FF_LEASE_MAX */
} __attribute__((packed));

struct ff_set_enabled {
	uint32_t enabled;
} __attribute__((packed));

struct ff_stats {
	uint64_t slot_count, slots_free, slots_leased, slots_filled, slots_reading;
	uint64_t slots_hwm;
	uint64_t clients, endpoints;
	uint64_t lease_requests, returns, reclaimed;
	uint64_t bad_messages, refused_clients;
	uint32_t enabled;
	uint32_t daemon_pid;
	uint64_t uptime_s;
} __attribute__((packed));

struct ff_endpoint_info {
	struct ff_endpoint ep;
	int32_t  pid;
	uint32_t client_id;
} __attribute__((packed));

struct ff_lease_info {
	uint32_t slot;
	uint32_t state;       /* enum ff_slot_state */
	uint32_t owner_id;
	int32_t  owner_pid;
	uint32_t reader_id;
	uint32_t gen;
} __attribute__((packed));

/* Encode header + payload into buf (cap bytes). Returns the packet length or -1 (too big). */
ssize_t ff_msg_encode(void *buf, size_t cap, uint16_t type, uint32_t seq, int32_t status,
                      const void *payload, size_t plen);

/* Validate a received packet of n bytes. is_reply selects the payload rules of replies.
 * On success returns 0 and sets *hdr and *payload (inside buf) and *plen.
 * Otherwise returns a positive errno (EPROTO bad version, EMSGSIZE bad length, EINVAL bad type
 * or payload size) and fills err with what was wrong. */
int ff_msg_decode(const void *buf, size_t n, int is_reply, struct ff_msg_hdr *hdr,
                  const void **payload, size_t *plen, char *err, size_t errlen);

const char *ff_msg_type_name(uint16_t type);

/* Client side helpers (blocking, with a timeout in ms; used by shim, ctl, tests). */
int ff_ctl_connect(const char *socket_path, int timeout_ms);  /* fd (SOCK_CLOEXEC) or -1/errno */
/* Send a request and wait for its reply into reply, which holds *replylen bytes (at least the
 * header; a reply longer than that fails with EMSGSIZE). On success the reply's payload (header stripped) is at the start of reply, *replylen bytes.
 * Returns 0 and the reply's status in *status, or -1 with errno (ETIMEDOUT, EPIPE ...). */
int ff_ctl_call(int fd, uint16_t type, const void *req, size_t reqlen, void *reply,
                size_t *replylen, int32_t *status, int timeout_ms);
/* The same, the request carrying descriptor pass_fd (SCM_RIGHTS); -1: none. */
int ff_ctl_call_fd(int fd, uint16_t type, const void *req, size_t reqlen, int pass_fd,
                   void *reply, size_t *replylen, int32_t *status, int timeout_ms);

#endif
