/* Test harness: a real faasflowd in a fresh temp directory, and a protocol client. */
#ifndef FAASFLOW_DTEST_H
#define FAASFLOW_DTEST_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "region.h"

struct dt {
	char dir[512];
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	char region[PATH_MAX];
	char log[PATH_MAX];
	char notify[PATH_MAX];     /* NOTIFY_SOCKET given to the daemon, "" = none */
	pid_t pid;
};

extern struct dt D;

/* Make the temp dir and write the config: the base keys, then `extra` lines. */
void dt_setup(const char *extra);
void dt_write_conf(const char *extra);
/* Start faasflowd; returns 0 when its socket answers, or its exit status + 1000 if it died. */
int dt_start(void);
/* Run faasflowd expecting it to refuse to start: returns its exit status. */
int dt_run_once(void);
/* SIGTERM and wait: returns the exit status (or 128 + signal). */
int dt_stop(void);
void dt_cleanup(void);
/* Does the daemon's log contain s? */
int dt_log_has(const char *s);

int dt_connect(void);
/* Returns the reply status, or -1 on a transport error. Reply payload in reply/rlen. */
int dt_call(int fd, uint16_t type, const void *req, size_t len, void *reply, size_t *rlen);
int dt_register(int fd, struct ff_register_reply *rp);
int dt_lease(int fd, uint32_t n, uint32_t *slots, uint32_t *got);
int dt_return(int fd, const uint32_t *slots, uint32_t n);
int dt_stats(int fd, struct ff_stats *st);
/* Poll STATS until slots_free == want or timeout_ms passes; returns the last slots_free. */
uint64_t dt_wait_free(int fd, uint64_t want, int timeout_ms);
void dt_map(struct ff_region *r);
uint64_t dt_now_ms(void);
void dt_sleep_ms(int ms);

#endif
