/* bench-host [DIR]: the host's facts that explain the benchmark's numbers, as k=v lines.
 *
 *   memcpy_1m_gbps     copying 1 MiB from one warm buffer to another (one of the two copies a
 *                      payload through the region costs, at a slot's size)
 *   memcpy_256m_gbps   the same for 256 MiB (beyond any cache: memory bandwidth)
 *   fault_anon_us      first touch of a fresh private page (what a new process's first buffers
 *                      and a fresh TCP receive buffer pay), microseconds per 4 KiB page
 *   fault_shared_us    first touch, in this process, of a page of a file in DIR (default
 *                      /dev/shm) whose space was reserved beforehand, as the coordinator does
 *                      with the region: what a slot costs a process the first time it maps it
 *
 * Each figure is the median of five measurements. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REPS 5

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, REPS, sizeof(*v), cmp);
	return v[REPS / 2];
}

/* GB/s of copying n bytes, repeated until at least 1 GiB moved, buffers touched first */
static double copy_rate(size_t n)
{
	char *a = malloc(n), *b = malloc(n);
	double v[REPS];
	size_t rounds = n >= (1u << 30) ? 1 : (size_t)(1u << 30) / n;

	if (!a || !b) {
		fprintf(stderr, "bench-host: cannot allocate 2 x %zu bytes\n", n);
		exit(1);
	}
	memset(a, 1, n);
	memset(b, 2, n);
	for (int r = 0; r < REPS; r++) {
		double t = now();

		for (size_t i = 0; i < rounds; i++) {
			memcpy(i & 1 ? a : b, i & 1 ? b : a, n);
			__asm__ __volatile__("" : : "r"(a), "r"(b) : "memory");
		}
		v[r] = (double)n * (double)rounds / (now() - t) / 1e9;
	}
	free(a);
	free(b);
	return median(v);
}

/* microseconds per page of writing one byte to each page of a fresh mapping of len bytes */
static double touch_us(int fd, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS :
		       MAP_SHARED, fd, 0);
	double t;

	if (p == MAP_FAILED) {
		perror("bench-host: mmap");
		exit(1);
	}
	t = now();
	for (size_t o = 0; o < len; o += (size_t)pg)
		p[o] = 1;
	t = now() - t;
	munmap(p, len);
	return t / (double)(len / (size_t)pg) * 1e6;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/dev/shm";
	size_t len = 64u << 20;
	char path[4096];
	double v[REPS];
	int fd;

	if (argc > 2) {
		fprintf(stderr, "usage: bench-host [DIR]: DIR holds a 64 MiB scratch file "
			"(default /dev/shm)\n");
		return 2;
	}
	printf("memcpy_1m_gbps=%.2f\n", copy_rate(1u << 20));
	printf("memcpy_256m_gbps=%.2f\n", copy_rate(256u << 20));
	for (int r = 0; r < REPS; r++)
		v[r] = touch_us(-1, len);
	printf("fault_anon_us=%.2f\n", median(v));
	snprintf(path, sizeof(path), "%s/bench-host.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "bench-host: cannot create a scratch file in %s: %m\n", dir);
		return 1;
	}
	unlink(path);
	if (posix_fallocate(fd, 0, (off_t)len) != 0) {
		fprintf(stderr, "bench-host: cannot reserve %zu bytes in %s\n", len, dir);
		return 1;
	}
	for (int r = 0; r < REPS; r++)
		v[r] = touch_us(fd, len);
	printf("fault_shared_us=%.2f\n", median(v));
	close(fd);
	return 0;
}
