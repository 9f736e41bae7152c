/* Non-blocking connect and edge-triggered epoll on both ends.
 *   st_nbconn server PORTFILE     non-blocking listener, ET epoll, reads to EOF
 *   st_nbconn client PORTFILE N   epoll set registered before connect(); EINPROGRESS, EPOLLOUT,
 *                                 SO_ERROR 0; N bytes in mixed non-blocking writes (ET), SHUT_WR
 * Server prints "bytes= sha256= status= end=", client "sent= sha256= status= connect=". */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st.h"

#define WAIT_MS 10000

static uint32_t wait_ev(int ep, int fd, uint32_t want, const char *what)
{
	struct epoll_event ev;

	for (;;) {
		int n = epoll_wait(ep, &ev, 1, WAIT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			st_die_errno("epoll_wait");
		if (n == 0)
			st_die("no %s edge within %d ms (fd %d)", what, WAIT_MS, fd);
		if (ev.data.fd == fd && (ev.events & (want | EPOLLERR | EPOLLHUP)))
			return ev.events;
	}
}

static int server(const char *portfile)
{
	int lfd = st_listen(portfile, NULL, SOCK_NONBLOCK), ep = epoll_create1(0), fd = -1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = lfd };
	static char buf[256 << 10];
	struct sha256 sha;
	uint64_t bytes = 0;
	int status = -2, err = 0;
	bool eof = false;
	char hex[65];

	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		st_die_errno("epoll_ctl listener");
	while (fd < 0) {
		wait_ev(ep, lfd, EPOLLIN, "accept");
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0 && errno != EAGAIN)
			st_die_errno("accept4");
	}
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.fd = fd };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		st_die_errno("epoll_ctl conn");
	sha256_init(&sha);
	while (!eof && !err) {
		wait_ev(ep, fd, EPOLLIN | EPOLLRDHUP, "EPOLLIN");
		/* edge-triggered: drain until EAGAIN */
		for (;;) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r > 0) {
				if (status == -2)
					status = st_fd_status(fd);
				sha256_update(&sha, buf, (size_t)r);
				bytes += (uint64_t)r;
				continue;
			}
			if (r == 0)
				eof = true;
			else if (errno != EAGAIN && errno != EINTR)
				err = errno;
			if (r == 0 || errno != EINTR)
				break;
		}
	}
	st_sha_final(&sha, hex);
	printf("bytes=%llu sha256=%s status=%d end=%s\n", (unsigned long long)bytes, hex, status,
	       err ? strerrorname_np(err) : "eof");
	close(fd);
	return 0;
}

static const size_t sizes[] = { MIB, 700u << 10, 64u << 10, MIB + 13, 3000 };

static int client(const char *portfile, uint64_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int ep = epoll_create1(0), fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), soerr = -1;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET };
	socklen_t sl = sizeof(soerr);
	char *buf = malloc(2 * MIB), hex[65];
	const char *how = "einprogress";
	uint64_t off = 0;
	unsigned k = 0;

	a.sin_port = htons((uint16_t)st_read_port(portfile));
	ev.data.fd = fd;
	if (fd < 0 || !buf || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		st_die_errno("socket/epoll set-up");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		how = "immediate";
	else if (errno != EINPROGRESS)
		st_die_errno("non-blocking connect");
	wait_ev(ep, fd, EPOLLOUT, "EPOLLOUT after connect");
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
		st_die("SO_ERROR after connect is %d (%s)", soerr, strerror(soerr));
	while (off < n) {
		size_t want = sizes[k % 5];
		if (want > n - off)
			want = (size_t)(n - off);
		st_pattern(buf, want, 1, off);
		ssize_t w = write(fd, buf, want);
		if (w > 0) {
			off += (uint64_t)w;
			if ((size_t)w == want)
				k++;
			continue;
		}
		if (w < 0 && errno == EAGAIN) {
			wait_ev(ep, fd, EPOLLOUT, "EPOLLOUT (socket full)");
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		st_die_errno("write at offset %llu", (unsigned long long)off);
	}
	int status = st_fd_status(fd);
	if (shutdown(fd, SHUT_WR) < 0)
		st_die_errno("shutdown");
	for (;;) {
		ssize_t r = read(fd, buf, 4096);
		if (r == 0)
			break;
		if (r < 0 && errno == EAGAIN) {
			wait_ev(ep, fd, EPOLLIN | EPOLLRDHUP, "EOF");
			continue;
		}
		if (r < 0 && errno != EINTR)
			st_die_errno("waiting for EOF");
	}
	st_pattern_sha(1, n, hex);
	printf("sent=%llu sha256=%s status=%d connect=%s\n", (unsigned long long)n, hex, status, how);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	st_prog = "st_nbconn";
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "client"))
		return client(argv[2], st_parse_size(argv[3]));
	st_die("usage: st_nbconn server PORTFILE | client PORTFILE N");
}
