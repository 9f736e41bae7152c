/* bench-spawn N [PROGRAM]: posix_spawn PROGRAM (default /bin/true) N times, one after the
 * other, each waited for, with this process's environment (so under LD_PRELOAD the children
 * load the shim too); prints the mean microseconds per spawn. What every short-lived process
 * of a container (a shell's commands, a function's helpers) pays for the shim. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv)
{
	char *prog = argc > 2 ? argv[2] : "/bin/true";
	char *av[] = { prog, NULL };
	struct timespec a, b;
	char *end = NULL;
	long n = argc > 1 ? strtol(argv[1], &end, 10) : 0;

	if (argc < 2 || argc > 3 || !end || *end || n < 1 || n > 1000000) {
		fprintf(stderr, "usage: bench-spawn N [PROGRAM]: N from 1 to 1000000 spawns of "
			"PROGRAM (default /bin/true)\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		pid_t p;
		int st, e = posix_spawn(&p, prog, NULL, NULL, av, environ);

		if (e) {
			fprintf(stderr, "bench-spawn: cannot spawn %s: %s\n", prog, strerror(e));
			return 1;
		}
		while (waitpid(p, &st, 0) < 0)
			if (errno != EINTR) {
				perror("bench-spawn: waitpid");
				return 1;
			}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "bench-spawn: %s failed (status %#x)\n", prog, st);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
			 (double)n / 1e3);
	return 0;
}
