/* A minimal control-protocol client for the shell tests, run as any user:
 *   ff-probe SOCKET register        register; exit 0
 *   ff-probe SOCKET hold NAME       register, announce a listener named NAME, print "ready",
 *                                   keep the connection until killed
 *   ff-probe SOCKET lookup NAME     register, look NAME up: exit 0 found, 1 not found
 *   ff-probe SOCKET lease N         register, lease N slots, print "ready", hold until killed
 * Exit 3: cannot connect or the coordinator closed the connection (refused); 4: error status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

static uint8_t reply[FF_MSG_MAX];

static int call(int fd, uint16_t type, const void *req, size_t len)
{
	size_t n = sizeof(reply);
	int32_t st;

	if (ff_ctl_call(fd, type, req, len, reply, &n, &st, 3000) < 0) {
		printf("refused: %s: %s\n", ff_msg_type_name(type), strerror(errno));
		exit(3);
	}
	if (st) {
		printf("error: %s: %s\n", ff_msg_type_name(type), strerror(st));
		exit(4);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ff_register rg;
	int fd;

	if (argc < 3 || (strcmp(argv[2], "register") != 0 && argc != 4)) {
		fprintf(stderr, "usage: ff-probe SOCKET register | hold NAME | lookup NAME | lease N\n");
		return 2;
	}
	fd = ff_ctl_connect(argv[1], 3000);
	if (fd < 0) {
		printf("refused: connect %s: %s\n", argv[1], strerror(errno));
		return 3;
	}
	memset(&rg, 0, sizeof(rg));
	rg.pid = (int32_t)getpid();
	call(fd, FF_MSG_REGISTER, &rg, sizeof(rg));
	if (strcmp(argv[2], "hold") == 0) {
		struct ff_endpoint ep;

		memset(&ep, 0, sizeof(ep));
		ep.port = 1;
		snprintf(ep.name, sizeof(ep.name), "%s", argv[3]);
		call(fd, FF_MSG_LISTEN_ADD, &ep, sizeof(ep));
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (strcmp(argv[2], "lease") == 0) {
		struct ff_lease ls = { .count = (uint32_t)strtoul(argv[3], NULL, 10) };
		uint32_t got;

		call(fd, FF_MSG_LEASE, &ls, sizeof(ls));
		memcpy(&got, reply, sizeof(got));
		printf("ready %u\n", got);
		fflush(stdout);
		for (;;)
			pause();
	}
	if (strcmp(argv[2], "lookup") == 0) {
		struct ff_lookup lk;
		struct ff_lookup_reply lr;

		memset(&lk, 0, sizeof(lk));
		lk.port = 1;
		snprintf(lk.name, sizeof(lk.name), "%s", argv[3]);
		call(fd, FF_MSG_LOOKUP, &lk, sizeof(lk));
		memcpy(&lr, reply, sizeof(lr));
		printf("%s\n", lr.found ? "found" : "not found");
		return lr.found ? 0 : 1;
	}
	printf("registered\n");
	return 0;
}
