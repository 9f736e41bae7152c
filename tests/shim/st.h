/* Helpers shared by the shim tests: SHA-256 state, a position-keyed byte pattern, sockets, I/O. */
#ifndef ST_H
#define ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sha256.h"

#define MIB (1024u * 1024u)

/* Stream hashes are struct sha256 (tests/integration/sha256.c); the digest as hex. */
void st_sha_final(struct sha256 *s, char hex[SHA256_HEX_LEN]);
/* The whole context as text (for handing a running hash across exec) and back. */
void st_sha_save(const struct sha256 *s, char *out, size_t cap);
int st_sha_load(struct sha256 *s, const char *in);

/* Byte `off` of stream `seed` is a fixed function of both: any slice can be regenerated. */
void st_pattern(void *buf, size_t n, uint64_t seed, uint64_t off);
/* sha256 of the first n bytes of stream seed */
void st_pattern_sha(uint64_t seed, uint64_t n, char hex[65]);

/* Print to stderr with the program name and exit 2 (errno text when err). */
void st_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void st_die_errno(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
extern const char *st_prog;

/* 127.0.0.1:0 listener; the port is written to portfile (atomically) when not NULL. */
int st_listen(const char *portfile, int *port, int flags);
int st_connect(int port);
int st_read_port(const char *portfile);   /* waits up to 20 s for the file */

int st_write_all(int fd, const void *buf, size_t n);
/* Read until n bytes or EOF; returns bytes read or -1. */
ssize_t st_read_full(int fd, void *buf, size_t n);

/* faasflow_fd_status() of the shim when it is loaded, -1 when it is not. */
int st_fd_status(int fd);
bool st_shim_loaded(void);

/* Scanner for the hello magic "FFFHELLO" across read boundaries. */
struct st_magic {
	uint8_t tail[8];
	size_t have;
	bool seen;
};
void st_magic_feed(struct st_magic *m, const void *buf, size_t n);

uint64_t st_now_ms(void);
uint64_t st_parse_size(const char *s);

#endif
