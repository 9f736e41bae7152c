/* Once-only start-up, in two stages.
 *
 * 1. ff_init(), from every wrapper: resolve libc's functions (dlsym(RTLD_NEXT) only: no
 *    allocation, no stdio, no locks but the loader's). A wrapper may run inside another
 *    library's constructor or allocator (jemalloc calls syscall() and read() while holding its
 *    init lock), so nothing more may happen here.
 * 2. ff_start(), from the calls that can make a connection the shim tracks (connect to and
 *    listen on an IPv4/IPv6 address, SO_SNDBUF, descriptors received with SCM_RIGHTS, the
 *    public API), and from our constructor only when exec handed connections over: read the
 *    configuration (open/read into fixed buffers, only the keys the shim uses, no user or group
 *    look-ups), open the log, allocate the fd table. Until it has run every call passes
 *    straight to libc: no fd can belong to a connection the shim decided on before the first
 *    such call. A program that never makes one (most of what a shell or a build spawns) pays
 *    for loading the library and nothing else. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

struct ff_real ff_real;
struct ff_proc ff_proc;
_Atomic int ff_ready;
_Atomic int ff_started;
__thread int ff_busy __attribute__((tls_model("initial-exec")));

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned logged_causes;

static void *resolve(const char *name, void *ours)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == ours) {
		static const char msg[] = "faasflow-shim: dlsym(RTLD_NEXT) returned the shim itself\n";
		ssize_t r = ff_sys_write(2, msg, sizeof(msg) - 1);
		(void)r;
		abort();
	}
	return p;
}

#define RESOLVE(f) ff_real.f = (__typeof__(ff_real.f))resolve(#f, (void *)(uintptr_t)f)

/* Our own exported symbols, for the "resolved to ourselves" check. */
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <fcntl.h>
#include <spawn.h>

static void resolve_all(void)
{
	ff_real.write = (__typeof__(ff_real.write))dlsym(RTLD_NEXT, "write");
	RESOLVE(read); RESOLVE(readv); RESOLVE(recv); RESOLVE(recvfrom); RESOLVE(recvmsg);
	RESOLVE(recvmmsg); RESOLVE(writev); RESOLVE(send); RESOLVE(sendto);
	RESOLVE(sendmsg); RESOLVE(sendmmsg); RESOLVE(sendfile); RESOLVE(splice); RESOLVE(ioctl);
	RESOLVE(connect); RESOLVE(accept); RESOLVE(accept4); RESOLVE(listen); RESOLVE(close);
	RESOLVE(shutdown); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3); RESOLVE(fcntl);
	RESOLVE(setsockopt);
	RESOLVE(fork); RESOLVE(vfork); RESOLVE(execve); RESOLVE(execvpe); RESOLVE(fexecve);
	ff_real.close_range = (__typeof__(ff_real.close_range))dlsym(RTLD_NEXT, "close_range");
	ff_real.posix_spawn = (__typeof__(ff_real.posix_spawn))dlsym(RTLD_NEXT, "posix_spawn");
	ff_real.posix_spawnp = (__typeof__(ff_real.posix_spawnp))dlsym(RTLD_NEXT, "posix_spawnp");
}

void *ff_next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static void self_path(void)
{
	Dl_info info;

	if (dladdr((void *)(uintptr_t)resolve_all, &info) && info.dli_fname)
		snprintf(ff_proc.self_path, sizeof(ff_proc.self_path), "%s", info.dli_fname);
}

/* Connections are shared from now on: their pair entries outlive our close (upgrade.c). */
static void atfork_prepare(void)
{
	atomic_fetch_add(&ff_forks, 1);
}

static void atfork_child(void)
{
	ff_proc.pid = getpid();
	ff_ctl_after_fork();
	ff_slots_after_fork();
	ff_fdtab_after_fork();
}

static void do_resolve(void)
{
	resolve_all();
	ff_proc.pid = getpid();
	atomic_store_explicit(&ff_ready, 1, memory_order_release);
}

void ff_init_slow(void)
{
	pthread_once(&resolve_once, do_resolve);
}

static void do_start(void)
{
	FF_BUSY_SCOPE;
	char err[512];

	ff_init();
	self_path();
	ff_proc.cfg.scope = FF_SCOPE_SHIM;
	if (ff_config_load(&ff_proc.cfg, NULL, err, sizeof(err)) < 0) {
		ff_log_open("faasflow-shim", getenv(FF_ENV_LOG), FF_LOG_WARN);
		log_warnx("configuration rejected, passing every connection through to TCP: %s", err);
		goto out;
	}
	{
		const char *lf = getenv(FF_ENV_LOG);
		if (!lf && ff_proc.cfg.log_file[0])
			lf = ff_proc.cfg.log_file;
		ff_log_open("faasflow-shim", lf, ff_proc.cfg.log_level);
	}
	if (!ff_fdtab_init()) {
		log_warnx("cannot allocate the descriptor table, passing through to TCP");
		goto out;
	}
	pthread_atfork(atfork_prepare, NULL, atfork_child);
	ff_proc.cfg_ok = true;
	ff_exec_restore();
out:
	atomic_store_explicit(&ff_started, 1, memory_order_release);
}

void ff_start_slow(void)
{
	/* A vfork child shares its parent's memory: it never starts the shim for the parent. */
	if (!ff_in_vfork_child())
		pthread_once(&start_once, do_start);
}

__attribute__((constructor)) static void ff_constructor(void)
{
	const char *handed = getenv(FF_ENV_FDSTATE);

	if (handed && *handed)
		ff_start();
}

void ff_note_fallback(enum ff_fallback cause, const char *why)
{
	static const char *const names[FF_FB_MAX] = {
		"no free slot", "disabled", "coordinator unreachable", "region unusable",
		"not a shim endpoint", "bad doorbell", "peer died",
	};
	unsigned bit = 1u << cause;

	if (ff_mapped())
		ff_counter_add(&ff_rg()->hdr->c.fallback[cause], 1);
	if (atomic_fetch_or(&logged_causes, bit) & bit)
		return;
	/* Normal operation (not a peer, no slot, switched off) is information; a broken
	 * installation or a forged doorbell deserves a warning. */
	if (cause == FF_FB_NO_COORD || cause == FF_FB_NO_REGION || cause == FF_FB_BAD_DOORBELL)
		log_warnx("plain TCP (%s): %s", names[cause], why);
	else
		log_info("plain TCP (%s): %s", names[cause], why);
}

int ff_iov_sub(struct iovec *out, int max, const struct iovec *iov, int iovcnt, size_t at,
	       size_t len)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len && n < max; i++) {
		size_t l = iov[i].iov_len;
		if (at >= l) {
			at -= l;
			continue;
		}
		l -= at;
		if (l > len)
			l = len;
		out[n++] = (struct iovec){ .iov_base = (uint8_t *)iov[i].iov_base + at, .iov_len = l };
		len -= l;
		at = 0;
	}
	return n;
}

size_t ff_iov_len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}
