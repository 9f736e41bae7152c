/* FIONREAD, MSG_PEEK and MSG_TRUNC on one connection inside one process (listener, client and
 * accepted end), so every payload is fully queued before the receiver looks at it. The same
 * checks hold for plain TCP; run with and without the shim. Prints one line per case:
 *   case=NAME result=ok|fail [detail]      and at the end: status=S (the receiver's fd). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st.h"

#define SEED 3
#define BIG (8 * MIB)

static int cfd, sfd, fails;
static uint64_t soff, roff;
static uint8_t *buf, *want;

static void result(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("case=%s result=%s", name, ok ? "ok" : "fail");
	if (!ok) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		fails++;
	}
	putchar('\n');
}

static void put(size_t n)
{
	st_pattern(buf, n, SEED, soff);
	if (st_write_all(cfd, buf, n) < 0)
		st_die_errno("send %zu", n);
	soff += n;
}

static int avail(void)
{
	struct pollfd p = { .fd = sfd, .events = POLLIN };
	int n = -1;

	poll(&p, 1, 5000);
	if (ioctl(sfd, FIONREAD, &n) < 0)
		st_die_errno("FIONREAD");
	return n;
}

/* Non-blocking read of up to cap bytes, checked against the stream; -1: wrong bytes. */
static ssize_t take(size_t cap, int flags)
{
	ssize_t r = recv(sfd, buf, cap, MSG_DONTWAIT | flags);

	if (r <= 0)
		return r;
	st_pattern(want, (size_t)r, SEED, roff);
	if (memcmp(buf, want, (size_t)r))
		return -2;
	if (!(flags & MSG_PEEK))
		roff += (uint64_t)r;
	return r;
}

/* Exactly n bytes (waiting), checked. */
static bool take_exact(size_t n)
{
	ssize_t r = recv(sfd, buf, n, MSG_WAITALL);

	if (r != (ssize_t)n)
		return false;
	st_pattern(want, n, SEED, roff);
	roff += n;
	return memcmp(buf, want, n) == 0;
}

static void fionread_cases(void)
{
	int f;
	ssize_t r;

	put(MIB);
	f = avail();
	r = take(BIG, 0);
	result("fionread-region", f == (int)MIB && r == f, "FIONREAD %d, read %zd, expected %u", f, r, MIB);
	put(100);
	f = avail();
	r = take(BIG, 0);
	result("fionread-inline", f == 100 && r == f, "FIONREAD %d, read %zd, expected 100", f, r);
	put(MIB);
	put(100);
	put(3 * MIB);
	f = avail();
	r = take(BIG, 0);
	result("fionread-mixed", f == (int)(4 * MIB + 100) && r == f,
	       "FIONREAD %d, read %zd, expected %u", f, r, 4 * MIB + 100);
	put(MIB);
	bool ok = take_exact(300000);
	f = avail();
	r = take(BIG, 0);
	result("fionread-partial", ok && f == (int)MIB - 300000 && r == f,
	       "first read ok=%d, FIONREAD %d, read %zd, expected %u", ok, f, r, MIB - 300000);
}

static void peek_cases(void)
{
	ssize_t p, r;

	put(MIB);
	avail();
	p = take(MIB, MSG_PEEK);
	r = take(MIB, 0);
	result("peek-region", p == (ssize_t)MIB && r == p, "peek %zd, read %zd (-2: wrong bytes)", p, r);
	put(MIB);
	avail();
	bool ok = take_exact(300000);
	p = take(1000, MSG_PEEK);
	r = take(1000, 0);
	ssize_t rest = take(MIB, 0);
	result("peek-partial", ok && p == 1000 && r == 1000 && rest == (ssize_t)MIB - 301000,
	       "read ok=%d peek %zd read %zd rest %zd", ok, p, r, rest);
	put(100);
	avail();
	p = take(100, MSG_PEEK);
	r = take(100, 0);
	result("peek-inline", p == 100 && r == 100, "peek %zd read %zd", p, r);
}

static void trunc_cases(void)
{
	ssize_t t, r;

	put(MIB);
	put(MIB);
	avail();
	t = recv(sfd, NULL, MIB, MSG_TRUNC | MSG_DONTWAIT);
	if (t > 0)
		roff += (uint64_t)t;
	r = take(BIG, 0);
	result("trunc-region", t == (ssize_t)MIB && r == (ssize_t)MIB,
	       "discarded %zd, then read %zd (-2: wrong bytes)", t, r);
	put(MIB);
	avail();
	t = recv(sfd, NULL, 300000, MSG_TRUNC | MSG_DONTWAIT);
	if (t > 0)
		roff += (uint64_t)t;
	r = take(BIG, 0);
	result("trunc-partial", t == 300000 && r == (ssize_t)MIB - 300000, "discarded %zd, then read %zd", t, r);
	put(100);
	put(50);
	avail();
	t = recv(sfd, NULL, 100, MSG_TRUNC | MSG_DONTWAIT);
	if (t > 0)
		roff += (uint64_t)t;
	r = take(BIG, 0);
	result("trunc-inline", t == 100 && r == 50, "discarded %zd, then read %zd", t, r);
}

int main(void)
{
	int port, lfd, big = 32 << 20;

	st_prog = "st_peek";
	setvbuf(stdout, NULL, _IOLBF, 0);
	buf = malloc(BIG);
	want = malloc(BIG);
	lfd = st_listen(NULL, &port, 0);
	/* Room for every payload in the socket buffers (plain TCP would block otherwise). */
	if (setsockopt(lfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0) {
		printf("skip: SO_RCVBUFFORCE needs CAP_NET_ADMIN\n");
		return 77;
	}
	cfd = st_connect(port);
	setsockopt(cfd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if ((sfd = accept(lfd, NULL, NULL)) < 0)
		st_die_errno("accept");
	fionread_cases();
	peek_cases();
	trunc_cases();
	printf("status=%d fails=%d\n", st_fd_status(sfd), fails);
	return 0;
}
