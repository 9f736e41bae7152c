/* Lease benchmark: N round trips of LEASE(1) + RETURN(1) against a running faasflowd.
 *   ff-lease-bench [-n COUNT] SOCKET_PATH
 * Prints the round trips per second (one round trip = one lease and one return). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int call(int fd, uint16_t type, const void *req, size_t len, void *reply)
{
	size_t n = FF_MSG_MAX;
	int32_t st;

	if (ff_ctl_call(fd, type, req, len, reply, &n, &st, 5000) < 0) {
		fprintf(stderr, "ff-lease-bench: %s: %s\n", ff_msg_type_name(type), strerror(errno));
		return -1;
	}
	if (st) {
		fprintf(stderr, "ff-lease-bench: %s: status %s\n", ff_msg_type_name(type),
		        strerror(st));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t reply[FF_MSG_MAX];
	struct ff_register rg = { .pid = 0 };
	struct ff_lease ls = { .count = 1 };
	uint32_t ret[2] = { 1, 0 };
	long count = 100000;
	double t0, dt;
	int fd, o;

	while ((o = getopt(argc, argv, "n:")) != -1) {
		if (o != 'n')
			goto usage;
		count = strtol(optarg, NULL, 10);
	}
	if (optind + 1 != argc || count <= 0)
		goto usage;
	fd = ff_ctl_connect(argv[optind], 2000);
	if (fd < 0) {
		fprintf(stderr, "ff-lease-bench: cannot connect to %s: %s\n", argv[optind],
		        strerror(errno));
		return 2;
	}
	rg.pid = (int32_t)getpid();
	if (call(fd, FF_MSG_REGISTER, &rg, sizeof(rg), reply) < 0)
		return 1;
	t0 = now_s();
	for (long i = 0; i < count; i++) {
		if (call(fd, FF_MSG_LEASE, &ls, sizeof(ls), reply) < 0)
			return 1;
		memcpy(&ret[1], reply + sizeof(uint32_t), sizeof(uint32_t));
		if (call(fd, FF_MSG_RETURN, ret, sizeof(ret), reply) < 0)
			return 1;
	}
	dt = now_s() - t0;
	printf("%ld lease/return round trips in %.3f s: %.0f round trips/s\n", count, dt,
	       (double)count / dt);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: ff-lease-bench [-n COUNT] SOCKET_PATH\n");
	return 1;
}
