/* System calls without libc's interposable symbols: see sys.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "sys.h"

#if defined(__x86_64__)
static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}
#else
#error "faasflow-shm: add the system call instruction of this architecture to common/sys.c"
#endif

long ff_sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = raw6(nr, a, b, c, d, e, f);

	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define SYS3(nr, a, b, c) ff_sys6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)

ssize_t ff_sys_read(int fd, void *buf, size_t n)
{
	return SYS3(SYS_read, fd, buf, n);
}

ssize_t ff_sys_write(int fd, const void *buf, size_t n)
{
	return SYS3(SYS_write, fd, buf, n);
}

int ff_sys_close(int fd)
{
	return (int)SYS3(SYS_close, fd, 0, 0);
}

int ff_sys_open(const char *path, int flags, unsigned mode)
{
	return (int)ff_sys6(SYS_openat, AT_FDCWD, (long)path, flags, mode, 0, 0);
}

int ff_sys_fcntl(int fd, int cmd, long arg)
{
	return (int)SYS3(SYS_fcntl, fd, cmd, arg);
}

int ff_sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return (int)SYS3(SYS_connect, fd, sa, len);
}

ssize_t ff_sys_sendmsg(int fd, const struct msghdr *mh, int flags)
{
	return SYS3(SYS_sendmsg, fd, mh, flags);
}

ssize_t ff_sys_recv(int fd, void *buf, size_t n, int flags)
{
	return ff_sys6(SYS_recvfrom, fd, (long)buf, (long)n, flags, 0, 0);
}

int ff_sys_futex_wait(const void *word, unsigned val, const struct timespec *rel)
{
	return (int)ff_sys6(SYS_futex, (long)word, FUTEX_WAIT, val, (long)rel, 0, 0);
}

int ff_sys_futex_wake(const void *word)
{
	return (int)ff_sys6(SYS_futex, (long)word, FUTEX_WAKE, INT_MAX, 0, 0, 0);
}

const char *ff_strerror(int e)
{
#ifdef __GLIBC__
	const char *s = strerrordesc_np(e);

	return s ? s : "Unknown error";
#else
	return strerror(e);
#endif
}
