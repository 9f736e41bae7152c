/* st_sandbox MODE: a process that sandboxes itself with seccomp (as sshd's pre-authentication
 * child and vsftpd do) keeps working on its connections, whatever state they are in when the
 * filter comes. The filter kills the process on the system calls a read()/write() program
 * never makes (recvfrom, recvmsg, sendto, sendmsg, fcntl, ioctl, getsockopt, setsockopt,
 * sched_yield). MODE:
 *   late             the client writes at once; the server accepts only 300 ms later, so the
 *                    client's wait for the server's pair entry runs out and its direction
 *                    stays plain; the server speaks (its direction upgrades), then installs
 *                    the filter, reads with read() and answers with write() (under the shim
 *                    its read() of the plain direction was a recvmsg(): SIGSYS)
 *   speaks-first     the server installs the filter right after accept(), then speaks, waits
 *                    for the client's first bytes, reads nothing (read() of 0 bytes: 0, the
 *                    hello left alone), reads and answers: both directions decided inside
 *                    the sandbox
 *   reads-first      the same, but the server reads first (a read of 0 bytes, then reads),
 *                    before the client has written (the client waits 100 ms): the direction
 *                    is decided by its first bytes
 *   reads-first-plain  the same with a client without the shim (exec'd without LD_PRELOAD)
 *   peek-first       reads-first, the server's first call recv(MSG_PEEK) (its filter then
 *                    allows recvfrom, which it calls itself): the shim's wait polled with
 *                    sched_yield
 *   urgent-first     reads-first, the client's first byte an urgent one (MSG_OOB): the
 *                    sandboxed read() skips it, as TCP's does (the urgent marker frame had
 *                    the connection reset)
 * (the undecided cases: the shim's look at the first bytes was a recv(): SIGSYS)
 *
 * Prints "RESULT got=SHA sent=SHA tx=T rx=R" (tx/rx: the server's directions, upgraded 1 or
 * not 0 under the shim; -1 without it); the client checks what it reads back. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faasflow.h"
#include "st.h"

#define REQ      (96 * 1024)
#define GREETING "220 hello from the server\r\n"
#define REPLY    (64 * 1024)

static bool allow_recv;    /* peek-first: the program calls recv() itself */

/* perror() inside the filter is a fcntl() (stdio's fdopen): SIGSYS would hide the error */
static void fail(const char *what)
{
	char b[160];
	int e = errno, n = snprintf(b, sizeof(b), "server: %s: errno %d\n", what, e);

	if (n > 0 && write(2, b, (size_t)n) < 0)
		_exit(2);
	_exit(1);
}

static void sandbox(void)
{
	static const int deny[] = {
		SYS_recvfrom, SYS_recvmsg, SYS_sendto, SYS_sendmsg, SYS_fcntl, SYS_ioctl,
		SYS_getsockopt, SYS_setsockopt, SYS_sched_yield,
	};
	struct sock_filter f[2 + 2 * (sizeof(deny) / sizeof(deny[0])) + 1];
	struct sock_fprog prog = { .filter = f };
	size_t n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++) {
		if (allow_recv && deny[i] == SYS_recvfrom)
			continue;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)deny[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		st_die_errno("installing the seccomp filter");
}

static void client(const char *mode, int port)
{
	static unsigned char req[REQ], reply[REPLY], want[REPLY];
	char greet[sizeof(GREETING) - 1];
	struct timespec later = { 0, 100 * 1000 * 1000 };
	int fd = st_connect(port);

	st_pattern(req, sizeof(req), 7, 0);
	st_pattern(want, sizeof(want), 9, 0);
	if (!strcmp(mode, "speaks-first") &&
	    (st_read_full(fd, greet, sizeof(greet)) != (ssize_t)sizeof(greet) ||
	     memcmp(greet, GREETING, sizeof(greet))))
		st_die("client: the greeting did not come whole");
	if (!strncmp(mode, "reads-first", 11) || !strcmp(mode, "urgent-first") ||
	    !strcmp(mode, "peek-first"))
		nanosleep(&later, NULL);
	if (!strcmp(mode, "urgent-first") && send(fd, "!", 1, MSG_OOB) != 1)
		st_die_errno("client send(MSG_OOB)");
	if (st_write_all(fd, req, sizeof(req)) < 0)
		st_die_errno("client write");
	if (!strcmp(mode, "late") &&
	    (st_read_full(fd, greet, sizeof(greet)) != (ssize_t)sizeof(greet) ||
	     memcmp(greet, GREETING, sizeof(greet))))
		st_die("client: the greeting did not come whole");
	if (st_read_full(fd, reply, sizeof(reply)) != (ssize_t)sizeof(reply) ||
	    memcmp(reply, want, sizeof(reply)))
		st_die("client: the reply did not come whole");
	close(fd);
	_exit(0);
}

static void greet(int fd)
{
	for (size_t off = 0; off < sizeof(GREETING) - 1; ) {
		ssize_t k = write(fd, GREETING + off, sizeof(GREETING) - 1 - off);
		if (k <= 0)
			fail("greeting");
		off += (size_t)k;
	}
}

int main(int argc, char **argv)
{
	static unsigned char buf[REQ], reply[REPLY];
	struct timespec late = { 0, 300 * 1000 * 1000 };
	const char *mode = argc > 1 ? argv[1] : "";
	int port, lfd, fd, st, status;
	char got[SHA256_HEX_LEN], sent[65];
	struct sha256 h;
	ssize_t k, have = 0;
	pid_t pid;

	if (argc == 4 && !strcmp(argv[1], "client"))
		client(argv[2], atoi(argv[3]));
	if (strcmp(mode, "late") && strcmp(mode, "speaks-first") && strcmp(mode, "reads-first") &&
	    strcmp(mode, "reads-first-plain") && strcmp(mode, "urgent-first") &&
	    strcmp(mode, "peek-first"))
		st_die("usage: st_sandbox late|speaks-first|reads-first|reads-first-plain|"
		       "peek-first|urgent-first");
	allow_recv = !strcmp(mode, "peek-first");
	lfd = st_listen(NULL, &port, 0);
	pid = fork();
	if (pid < 0)
		st_die_errno("fork");
	if (pid == 0) {
		close(lfd);
		if (!strcmp(mode, "reads-first-plain")) {
			char p[16];
			snprintf(p, sizeof(p), "%d", port);
			unsetenv("LD_PRELOAD");
			execl("/proc/self/exe", argv[0], "client", mode, p, (char *)NULL);
			st_die_errno("exec");
		}
		client(mode, port);
	}
	if (!strcmp(mode, "late"))
		nanosleep(&late, NULL);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		st_die_errno("accept");
	if (!strcmp(mode, "late"))
		greet(fd);
	else
		sandbox();
	if (!strcmp(mode, "speaks-first"))
		greet(fd);
	st = st_fd_status(fd);
	if (!strcmp(mode, "late"))
		sandbox();
	if (allow_recv && recv(fd, buf, 16, MSG_PEEK) <= 0)
		fail("recv(MSG_PEEK)");
	if (!strcmp(mode, "speaks-first")) {
		/* the client's first bytes are here, its entry has said how its direction
		 * begins: a read of nothing still returns 0 and takes nothing (it returned
		 * the size of the hello it took) */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10000) != 1)
			fail("poll for the client's first bytes");
	}
	if ((k = read(fd, buf, 0)) != 0) {    /* a read of nothing, the direction undecided */
		if (k > 0)
			errno = 0;
		fail(k > 0 ? "a read of 0 bytes returned more" : "a read of 0 bytes");
	}
	while (have < REQ && (k = read(fd, buf + have, sizeof(buf) - (size_t)have)) > 0)
		have += k;
	if (have < REQ) {
		char what[64];
		snprintf(what, sizeof(what), "%zd of %d bytes, then", have, REQ);
		fail(what);
	}
	st_pattern(reply, sizeof(reply), 9, 0);
	for (size_t off = 0; off < sizeof(reply); ) {
		k = write(fd, reply + off, sizeof(reply) - off);
		if (k <= 0)
			fail("write");
		off += (size_t)k;
	}
	sha256_init(&h);
	sha256_update(&h, buf, (size_t)have);
	st_sha_final(&h, got);
	if (strcmp(mode, "late"))
		st = st_fd_status(fd);      /* (both directions decided by now) */
	st_pattern_sha(7, REQ, sent);
	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "the client failed (status %d)\n", status);
		return 1;
	}
	printf("RESULT got=%.16s sent=%.16s tx=%d rx=%d\n", got, sent,
	       st < 0 ? -1 : !!(st & FAASFLOW_TX_REGION), st < 0 ? -1 : !!(st & FAASFLOW_RX_REGION));
	return 0;
}
