/* Shared by the API test programs: a loopback listener whose port a driver reads from a file. */
#ifndef FAASFLOW_TEST_APIUTIL_H
#define FAASFLOW_TEST_APIUTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* Listen on 127.0.0.1 at a free port and write that port ("%u\n") to portfile. Returns the
 * listening socket, or -1 with errno set and *what naming the step that failed ("listen", or
 * portfile when it cannot be created). */
static inline int api_listen_loopback(const char *portfile, int backlog, const char **what)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int one = 1, lfd, e;
	FILE *f;

	*what = "listen";
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return -1;
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, backlog) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &l) < 0)
		goto fail;
	*what = portfile;
	f = fopen(portfile, "w");
	if (!f)
		goto fail;
	fprintf(f, "%u\n", ntohs(a.sin_port));
	fclose(f);
	return lfd;
fail:
	e = errno;
	close(lfd);
	errno = e;
	return -1;
}

#endif
