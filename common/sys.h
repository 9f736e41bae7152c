/* The kernel, reached without any libc symbol that a preloaded library may interpose.
 *
 * Code shared by the shim and the coordinator calls these instead of read(), write(),
 * close(), fcntl(), connect(), sendmsg(), recv() and syscall(): in the shim those names are
 * its own wrappers, and an internal call that re-entered them would need start-up, locks or
 * per-fd state of the very call it serves. Each function is one system call (the syscall
 * instruction itself on x86-64 and AArch64), sets errno and returns -1 on failure like libc,
 * allocates nothing and needs no initialisation, so it is safe inside another library's
 * constructor or allocator. They are not cancellation points. */
#ifndef FAASFLOW_SYS_H
#define FAASFLOW_SYS_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

long ff_sys6(long nr, long a, long b, long c, long d, long e, long f);

ssize_t ff_sys_read(int fd, void *buf, size_t n);
ssize_t ff_sys_write(int fd, const void *buf, size_t n);
int ff_sys_close(int fd);
int ff_sys_open(const char *path, int flags, unsigned mode);
int ff_sys_fcntl(int fd, int cmd, long arg);
int ff_sys_connect(int fd, const struct sockaddr *sa, socklen_t len);
ssize_t ff_sys_sendmsg(int fd, const struct msghdr *mh, int flags);
ssize_t ff_sys_recv(int fd, void *buf, size_t n, int flags);
/* FUTEX_WAIT with a relative timeout (NULL: none) and FUTEX_WAKE of every waiter. */
int ff_sys_futex_wait(const void *word, unsigned val, const struct timespec *rel);
int ff_sys_futex_wake(const void *word);

/* A description of errno value e that never allocates, translates or fails. */
const char *ff_strerror(int e);

#endif
