/* Programs that reach the kernel through libc's syscall() for socket I/O: the calls on fds the
 * shim tracks are routed to the wrappers, so a framed stream never sees raw bytes. Everything
 * else goes straight to the kernel. (Code that issues the syscall instruction itself, such as
 * Go's runtime, static binaries and io_uring, never passes through libc: connections it
 * creates are never upgraded; see the README's limits.) */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

/* The numbers routed to the wrappers; every other call never waits for start-up and never
 * touches the shim's state (jemalloc calls syscall(SYS_open) while holding its own lock). */
static bool routed(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev: case SYS_sendto:
	case SYS_recvfrom: case SYS_sendmsg: case SYS_recvmsg: case SYS_close: case SYS_shutdown:
	case SYS_dup: case SYS_dup3:
#ifdef SYS_dup2
	case SYS_dup2:
#endif
		return true;
	default:
		return false;
	}
}

long syscall(long nr, ...);
long syscall(long nr, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
#ifdef SYS_seccomp
	if (nr == SYS_seccomp && (a[0] == SECCOMP_SET_MODE_STRICT || a[0] == SECCOMP_SET_MODE_FILTER))
		ff_sandbox_enter();
#endif
	if (nr == SYS_rt_sigaction && a[1]) {
		long r;
		ff_sig_before((int)a[0]);
		r = ff_sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		ff_sig_after((int)a[0]);
		return r;
	}
	if ((nr == SYS_fcntl && a[1] == F_SETFL) || (nr == SYS_ioctl && a[1] == FIONBIO))
		ff_nb_changed();
	if (!routed(nr))
		return ff_sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
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
#ifdef SYS_dup2
		case SYS_dup2:
			return dup2(fd, (int)a[1]);
#endif
		case SYS_dup3:
			return dup3(fd, (int)a[1], (int)a[2]);
		default:
			break;
		}
	}
	/* Not a connection we track: the kernel, as libc's syscall() would. */
	return ff_sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
