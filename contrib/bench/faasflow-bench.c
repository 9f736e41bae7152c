/* faasflow-bench: stream, request/response, connection-per-request and FaaSFlow edge replay
 * over TCP (run it with or without the shim preloaded), AF_UNIX, a bare shared-memory ring
 * and redis SET/GET. One CSV line per measurement on stdout; every byte hashed on both ends. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const char *const tr_names[] = { "tcp", "unix", "ring", "redis" };
static const char *const mode_names[] = { "stream", "rr", "conn", "replay" };

static void usage(FILE *f)
{
	fprintf(f,
"usage: faasflow-bench [options]\n"
"  -t, --transport tcp|unix|ring|redis   (default tcp)\n"
"  -m, --mode stream|rr|conn|replay      (default stream)\n"
"  -s, --size N            bytes per write/request, K/M/G suffixes (default 1M)\n"
"  -n, --iterations N      writes, requests, or replay repetitions (default 16)\n"
"  -V, --volume N          stream: total bytes (sets iterations = N / size)\n"
"  -r, --role both|server|client  both = fork a server (default); tcp/unix may run apart\n"
"  -H, --host ADDR         tcp address (default 127.0.0.1)\n"
"  -p, --port N            tcp port (server: 0 = any, see --ready-file)\n"
"  -u, --unix-path PATH    AF_UNIX socket path\n"
"  -R, --redis-port N      local redis-server port (default 6379)\n"
"  -e, --edges FILE        replay: edge list CSV (workflow,producer,consumer,output,bytes)\n"
"  -w, --workflow NAME     replay: only this workflow\n"
"  -P, --persist           replay: one connection for all edges (default: one per edge)\n"
"  -D, --nodelay 0|1       TCP_NODELAY (default: on except for stream)\n"
"  -f, --ready-file FILE   server: write the port here once listening\n"
"  -l, --label NAME        first CSV column (default: the transport)\n"
"  -M, --rss-path PATH     receiver reports resident KiB of its mappings of PATH\n"
"  -c, --header            print the CSV header first\n"
"  -C, --cpus S,C          run the server on CPU S and the client on CPU C\n"
"  -A, --api 0|1|2         stream over tcp under the shim with the zero-copy API:\n"
"                          1 = payloads in faasflow_alloc() buffers (one copy, out),\n"
"                          2 = and the consumer borrows them in place (no copy)\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int pick(const char *v, const char *const *names, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	fprintf(stderr, "faasflow-bench: %s '%s': expected one of", what, v);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %s", names[i]);
	fputc('\n', stderr);
	return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "transport", 1, 0, 't' }, { "mode", 1, 0, 'm' }, { "size", 1, 0, 's' },
		{ "iterations", 1, 0, 'n' }, { "volume", 1, 0, 'V' }, { "role", 1, 0, 'r' },
		{ "host", 1, 0, 'H' }, { "port", 1, 0, 'p' }, { "unix-path", 1, 0, 'u' },
		{ "redis-port", 1, 0, 'R' }, { "edges", 1, 0, 'e' }, { "workflow", 1, 0, 'w' },
		{ "persist", 0, 0, 'P' }, { "nodelay", 1, 0, 'D' }, { "ready-file", 1, 0, 'f' },
		{ "label", 1, 0, 'l' }, { "rss-path", 1, 0, 'M' }, { "header", 0, 0, 'c' },
		{ "api", 1, 0, 'A' }, { "cpus", 1, 0, 'C' }, { "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 } };
	static const char *const roles[] = { "both", "server", "client" };
	uint64_t v;
	int c, i;

	memset(o, 0, sizeof(*o));
	o->size = 1 << 20;
	o->iters = 16;
	o->nodelay = -1;
	o->cpu_server = o->cpu_client = -1;
	o->redis_port = 6379;
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	snprintf(o->redis_host, sizeof(o->redis_host), "127.0.0.1");
	while ((c = getopt_long(argc, argv, "t:m:s:n:V:r:H:p:u:R:e:w:PD:f:l:M:A:C:ch", lo, NULL)) != -1) {
		switch (c) {
		case 't': if ((i = pick(optarg, tr_names, 4, "transport")) < 0) return -1;
			o->tr = (enum tr_kind)i; break;
		case 'm': if ((i = pick(optarg, mode_names, 4, "mode")) < 0) return -1;
			o->mode = (enum mode_kind)i; break;
		case 'r': if ((i = pick(optarg, roles, 3, "role")) < 0) return -1;
			o->role = (enum role_kind)i; break;
		case 's': case 'n': case 'V': case 'p': case 'R': case 'D':
			if (parse_size(optarg, &v) < 0 || (c == 'n' && v == 0) ||
			    ((c == 'p' || c == 'R') && v > 65535) || (c == 'D' && v > 1) ||
			    (c == 's' && (v == 0 || v > (1ULL << 32)))) {
				fprintf(stderr, "faasflow-bench: -%c '%s': expected a number%s\n", c,
					optarg, c == 's' || c == 'V' ? " like 4096, 64K, 1M" : "");
				return -1;
			}
			if (c == 's') o->size = v;
			else if (c == 'n') o->iters = v;
			else if (c == 'V') o->volume = v;
			else if (c == 'p') o->port = (unsigned)v;
			else if (c == 'R') o->redis_port = (unsigned)v;
			else o->nodelay = (int)v;
			break;
		case 'H': snprintf(o->host, sizeof(o->host), "%s", optarg); break;
		case 'u': snprintf(o->unix_path, sizeof(o->unix_path), "%s", optarg); break;
		case 'e': snprintf(o->edges_path, sizeof(o->edges_path), "%s", optarg); break;
		case 'w': snprintf(o->workflow, sizeof(o->workflow), "%s", optarg); break;
		case 'P': o->persist = true; break;
		case 'f': snprintf(o->ready_file, sizeof(o->ready_file), "%s", optarg); break;
		case 'l': snprintf(o->label, sizeof(o->label), "%s", optarg); break;
		case 'M': snprintf(o->rss_path, sizeof(o->rss_path), "%s", optarg); break;
		case 'c': o->header = true; break;
		case 'A':
			if (strcmp(optarg, "0") && strcmp(optarg, "1") && strcmp(optarg, "2")) {
				fprintf(stderr, "faasflow-bench: --api '%s': expected 0 (plain buffers), "
					"1 (faasflow_alloc sends) or 2 (and borrowed reads)\n", optarg);
				return -1;
			}
			o->api = atoi(optarg);
			break;
		case 'C': {
			unsigned a, b;
			char tail;
			if (sscanf(optarg, "%u,%u%c", &a, &b, &tail) != 2 || a >= CPU_SETSIZE ||
			    b >= CPU_SETSIZE) {
				fprintf(stderr, "faasflow-bench: --cpus '%s': expected two CPU numbers, "
					"server first, like 0,1\n", optarg);
				return -1;
			}
			o->cpu_server = (int)a;
			o->cpu_client = (int)b;
			break;
		}
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faasflow-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int check_opts(struct opts *o)
{
	char err[256];

	if (!o->label[0])
		snprintf(o->label, sizeof(o->label), "%s", tr_names[o->tr]);
	if (o->volume && o->mode == MODE_STREAM)
		o->iters = o->volume / o->size ? o->volume / o->size : 1;
	if ((o->tr == TR_RING || o->tr == TR_REDIS) && o->role != ROLE_BOTH) {
		fprintf(stderr, "faasflow-bench: transport %s needs --role both\n", tr_names[o->tr]);
		return -1;
	}
	if ((o->tr == TR_RING || o->tr == TR_REDIS) && o->mode == MODE_CONN) {
		fprintf(stderr, "faasflow-bench: mode conn is for tcp and unix only\n");
		return -1;
	}
	if (o->tr == TR_RING || o->tr == TR_REDIS)
		o->persist = true;
	if (o->tr == TR_UNIX && !o->unix_path[0])
		snprintf(o->unix_path, sizeof(o->unix_path), "/tmp/faasflow-bench.%ld.sock",
			 (long)getpid());
	if (o->role == ROLE_CLIENT && o->tr == TR_TCP && !o->port) {
		fprintf(stderr, "faasflow-bench: --role client needs --port\n");
		return -1;
	}
	if (o->mode == MODE_REPLAY) {
		if (!o->edges_path[0]) {
			fprintf(stderr, "faasflow-bench: mode replay needs --edges FILE\n");
			return -1;
		}
		if (edges_load(o, err, sizeof(err)) < 0) {
			fprintf(stderr, "faasflow-bench: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static int announce(const struct opts *o, unsigned port)
{
	char tmp[4200];
	FILE *f;

	if (!o->ready_file[0])
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", o->ready_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, o->ready_file) < 0) {
		perror("faasflow-bench: ready file");
		return -1;
	}
	return 0;
}

/* The consumer side: listen (tcp/unix), accept the first connection unless every request
 * opens its own, serve, exit. ready_fd: tell the parent (role both) that we listen. */
static int server(struct opts *o, int ready_fd, struct slot_shared *sh)
{
	struct link *pl = NULL;
	unsigned port = 0;
	int lfd = -1, rc;

	if (sh) {
		pl = slot_link(o, sh, false);
		if (!pl)
			return 1;
	} else {
		lfd = net_listen(o, &port);
		if (lfd < 0) {
			fprintf(stderr, "faasflow-bench: listen: %s\n", strerror(errno));
			return 1;
		}
		if (announce(o, port) < 0)
			return 1;
	}
	if (ready_fd >= 0) {
		(void)write_all(ready_fd, &port, sizeof(port));
		close(ready_fd);
	}
	if (!sh && (o->mode == MODE_STREAM || o->mode == MODE_RR ||
		    (o->mode == MODE_REPLAY && o->persist))) {
		pl = net_accept(o, lfd);
		if (!pl) {
			perror("faasflow-bench: accept");
			return 1;
		}
	}
	rc = run_consumer(o, lfd, pl);
	link_free(pl);
	if (lfd >= 0)
		close(lfd);
	if (o->tr == TR_UNIX)
		unlink(o->unix_path);
	return rc < 0 ? 1 : 0;
}

static int client(struct opts *o, struct slot_shared *sh)
{
	struct link *pl = NULL;
	struct result r;
	int rc;

	if (sh)
		pl = slot_link(o, sh, true);
	else if (o->mode == MODE_STREAM || o->mode == MODE_RR ||
		 (o->mode == MODE_REPLAY && o->persist))
		pl = net_connect(o);
	if (!pl && (sh || o->mode != MODE_CONN) && !(o->mode == MODE_REPLAY && !o->persist)) {
		perror("faasflow-bench: connect");
		return 1;
	}
	rc = run_producer(o, pl, &r);
	link_free(pl);
	if (rc < 0)
		return 1;
	report(o, &r);
	free(r.lat);
	return r.hash_tx == r.hash_rx ? 0 : 2;
}

/* --cpus: this process on one CPU (a failure is reported, not fatal: the numbers are then
 * only less steady). */
static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "faasflow-bench: cannot run on CPU %d: %s\n", cpu, strerror(errno));
}

static int both(struct opts *o)
{
	struct slot_shared *sh = NULL;
	int pfd[2], status, rc;
	unsigned port;
	pid_t pid;

	if ((o->tr == TR_RING || o->tr == TR_REDIS) && !(sh = slot_prepare(o)))
		return 1;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(pfd[0]);
		pin(o->cpu_server);
		rc = server(o, pfd[1], sh);
		free(o->edges);
		_exit(rc);
	}
	close(pfd[1]);
	if (read_full(pfd[0], &port, sizeof(port)) < 0) {
		fprintf(stderr, "faasflow-bench: the server did not start\n");
		waitpid(pid, &status, 0);
		return 1;
	}
	close(pfd[0]);
	if (o->tr == TR_TCP)
		o->port = port;
	pin(o->cpu_client);
	rc = client(o, sh);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "faasflow-bench: the server failed\n");
		return rc ? rc : 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc;

	if (parse_opts(argc, argv, &o) < 0 || check_opts(&o) < 0)
		return 1;
	if (o.header)
		printf("path,mode,size,iterations,seconds,GBps,median_us,p90_us,ops_per_s,"
		       "hash_ok,hash_tx,hash_rx,region_rss_kb,transport,workflow\n");
	switch (o.role) {
	case ROLE_SERVER:
		pin(o.cpu_server);
		rc = server(&o, -1, NULL);
		break;
	case ROLE_CLIENT:
		pin(o.cpu_client);
		rc = client(&o, NULL);
		break;
	default:
		rc = both(&o);
		break;
	}
	free(o.edges);
	return rc;
}

const char *bench_tr_name(enum tr_kind t)
{
	return tr_names[t];
}

const char *bench_mode_name(enum mode_kind m)
{
	return mode_names[m];
}
