/* A library whose constructor uses TCP: listen on 127.0.0.1:0, connect, accept, move 1 MiB
 * one way and 1000 bytes back, with send()/recv() from inside the constructor, which may run
 * before the shim's constructor. The result is left in st_ctor_result for the program. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st.h"

char st_ctor_result[256] = "constructor did not run";

#define CTOR_N (1u << 20)

/* Move n pattern bytes from a to b without blocking either end. 0 or -1 (what in why). */
static int pump(int a, int b, size_t n, uint64_t seed, const char **why)
{
	char *src = malloc(n), *dst = malloc(n);
	size_t sent = 0, got = 0;
	int rc = -1;

	*why = "out of memory";
	if (!src || !dst)
		goto out;
	st_pattern(src, n, seed, 0);
	while (got < n) {
		struct pollfd p[2] = { { .fd = a, .events = sent < n ? POLLOUT : 0 },
				       { .fd = b, .events = POLLIN } };
		if (poll(p, 2, 10000) <= 0) {
			*why = "no progress for 10 s";
			goto out;
		}
		if (sent < n) {
			ssize_t r = send(a, src + sent, n - sent, MSG_DONTWAIT);
			if (r > 0)
				sent += (size_t)r;
			else if (r < 0 && errno != EAGAIN && errno != EINTR) {
				*why = "send failed";
				goto out;
			}
		}
		ssize_t r = recv(b, dst + got, n - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			*why = r == 0 ? "early EOF" : "recv failed";
			goto out;
		}
	}
	*why = "bytes differ";
	rc = memcmp(src, dst, n) ? -1 : 0;
out:
	free(src);
	free(dst);
	return rc;
}

__attribute__((constructor)) static void st_ctor(void)
{
	int port, l = st_listen(NULL, &port, 0), c = st_connect(port), s = accept(l, NULL, NULL);
	const char *why = "accept failed";

	if (s < 0 || pump(c, s, CTOR_N, 7, &why) < 0 || pump(s, c, 1000, 8, &why) < 0) {
		snprintf(st_ctor_result, sizeof(st_ctor_result), "ctor=fail why=%s errno=%d", why, errno);
		return;
	}
	snprintf(st_ctor_result, sizeof(st_ctor_result), "ctor=ok status_c=%d status_s=%d",
		 st_fd_status(c), st_fd_status(s));
	close(c);
	close(s);
	close(l);
}
