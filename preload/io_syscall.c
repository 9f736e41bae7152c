/* Programs that reach the kernel through libc's syscall() for socket I/O: the calls on fds the
 * shim tracks are routed to the wrappers, so a framed stream never sees raw bytes. Everything
 * else goes straight to the kernel. (Code that issues the syscall instruction itself, such as
 * Go's runtime, static binaries and io_uring, never passes through libc: connections it
 * creates are never upgraded; see the README's limits.) */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

typedef long (*syscall_fn)(long, ...);

static syscall_fn real_syscall_fn(void)
{
	static _Atomic(syscall_fn) fn;
	syscall_fn f = atomic_load(&fn);

	if (!f) {
		f = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		atomic_store(&fn, f);
	}
	return f;
}
#define real_syscall (real_syscall_fn())

long syscall(long nr, ...);
long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	ff_init();
	if (!ff_passthrough() && ff_fd_tracked((int)a[0])) {
		int fd = (int)a[0];
		switch (nr) {
		case SYS_read:
			return read(fd, (void *)a[1], (size_t)a[2]);
		case SYS_write:
			return write(fd, (const void *)a[1], (size_t)a[2]);
		case SYS_readv:
			return readv(fd, (const struct iovec *)a[1], (int)a[2]);
		case SYS_writev:
			return writev(fd, (const struct iovec *)a[1], (int)a[2]);
		case SYS_sendto:
			return sendto(fd, (const void *)a[1], (size_t)a[2], (int)a[3],
				      (const struct sockaddr *)a[4], (socklen_t)a[5]);
		case SYS_recvfrom:
			return recvfrom(fd, (void *)a[1], (size_t)a[2], (int)a[3],
					(struct sockaddr *)a[4], (socklen_t *)a[5]);
		case SYS_sendmsg:
			return sendmsg(fd, (const struct msghdr *)a[1], (int)a[2]);
		case SYS_recvmsg:
			return recvmsg(fd, (struct msghdr *)a[1], (int)a[2]);
		case SYS_close:
			return close(fd);
		case SYS_shutdown:
			return shutdown(fd, (int)a[1]);
		case SYS_dup:
			return dup(fd);
		case SYS_dup2:
			return dup2(fd, (int)a[1]);
		case SYS_dup3:
			return dup3(fd, (int)a[1], (int)a[2]);
		default:
			break;
		}
	}
	/* Not a call we route: libc's own syscall(). */
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
