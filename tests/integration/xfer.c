/* xfer: a dependency-free TCP test client and server that hash every byte on both ends.
 *
 *   xfer --selftest
 *   xfer server --port P [--bind ADDR] [--port-file F] [--mode M] [--rbuf N] [--peek]
 *               [--waitall] [--fionread] [--fork] [--accept N] [--reply] [--msgs]
 *               [--rr ack|echo] [--server-sends --sizes LIST] ...
 *   xfer client --host H --port P --sizes LIST|--random-mix SEED:COUNT:MAX [--mode M]
 *               [--threads N] [--half-close] [--dup2] [--nonblock-connect] [--rr ack|echo] ...
 *
 * The receiver prints "RECV bytes=<n> sha256=<hex>" per connection, the sender
 * "SENT bytes=<n> sha256=<hex>". Any error or mismatch: a message on stderr, exit 1;
 * --timeout expiring: exit 3. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "xfer.h"

static void usage(FILE *f)
{
	fputs("usage: xfer --selftest\n"
	      "       xfer server --port P [--bind ADDR] [--port-file FILE] [--accept N] [--fork]\n"
	      "                   [--reply] [--msgs] [--server-sends --sizes LIST] [reader options]\n"
	      "       xfer client --host H --port P (--sizes LIST | --random-mix SEED:COUNT:MAX)\n"
	      "                   [--threads N] [--half-close] [--dup2] [--nonblock-connect]\n"
	      "                   [--exit-after-send] [--retry-ms MS] [reader options]\n"
	      "common: --mode block|nonblock-epoll-lt|nonblock-epoll-et|poll|select\n"
	      "        --api rw|sr|vec|msg|to   --seed N   --wbuf SIZE   --gap-ms MS\n"
	      "        --rr ack|echo   --eintr   --timeout SEC (default 300)\n"
	      "reader: --rbuf SIZE (default 64K)  --peek  --waitall  --fionread  --no-verify\n"
	      "        --stall-after BYTES --stall-ms MS   --expect-bytes N\n"
	      "sizes:  1,1000,64K,1M,16M or 1M*10\n", f);
}

enum {
	O_PORT = 256, O_BIND, O_HOST, O_PORTFILE, O_MODE, O_API, O_SIZES, O_MIX, O_SEED, O_RBUF,
	O_WBUF, O_PEEK, O_WAITALL, O_FIONREAD, O_NOVERIFY, O_FORK, O_ACCEPT, O_REPLY, O_MSGS, O_RR,
	O_THREADS, O_HALF, O_DUP2, O_NBCONN, O_SSENDS, O_EXITSEND, O_EINTR, O_GAP, O_STALLA,
	O_STALLMS, O_EXPECT, O_RETRY, O_TIMEOUT,
};

static const struct option longopts[] = {
	{ "port", 1, 0, O_PORT }, { "bind", 1, 0, O_BIND }, { "host", 1, 0, O_HOST },
	{ "port-file", 1, 0, O_PORTFILE }, { "mode", 1, 0, O_MODE }, { "api", 1, 0, O_API },
	{ "sizes", 1, 0, O_SIZES }, { "random-mix", 1, 0, O_MIX }, { "seed", 1, 0, O_SEED },
	{ "rbuf", 1, 0, O_RBUF }, { "wbuf", 1, 0, O_WBUF }, { "peek", 0, 0, O_PEEK },
	{ "waitall", 0, 0, O_WAITALL }, { "fionread", 0, 0, O_FIONREAD },
	{ "no-verify", 0, 0, O_NOVERIFY }, { "fork", 0, 0, O_FORK }, { "accept", 1, 0, O_ACCEPT },
	{ "reply", 0, 0, O_REPLY }, { "msgs", 0, 0, O_MSGS }, { "rr", 1, 0, O_RR },
	{ "threads", 1, 0, O_THREADS }, { "half-close", 0, 0, O_HALF }, { "dup2", 0, 0, O_DUP2 },
	{ "nonblock-connect", 0, 0, O_NBCONN }, { "server-sends", 0, 0, O_SSENDS },
	{ "exit-after-send", 0, 0, O_EXITSEND }, { "eintr", 0, 0, O_EINTR },
	{ "gap-ms", 1, 0, O_GAP }, { "stall-after", 1, 0, O_STALLA }, { "stall-ms", 1, 0, O_STALLMS },
	{ "expect-bytes", 1, 0, O_EXPECT }, { "retry-ms", 1, 0, O_RETRY },
	{ "timeout", 1, 0, O_TIMEOUT }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
};

static int parse_uint(const char *name, const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return xerrx("--%s '%s': expected a whole number from 0 to %u", name, s, max);
	*out = (unsigned)v;
	return 0;
}

static int parse_sizeopt(const char *name, const char *s, uint64_t *out, uint64_t min)
{
	if (parse_size(s, out) < 0 || *out < min)
		return xerrx("--%s '%s': expected a size of at least %llu", name, s,
			     (unsigned long long)min);
	return 0;
}

static int parse_opt(int ch, const char *a, struct opts *o)
{
	uint64_t v;

	switch (ch) {
	case O_PORT: o->port = a; return 0;
	case O_BIND: o->bind = a; return 0;
	case O_HOST: o->host = a; return 0;
	case O_PORTFILE: o->port_file = a; return 0;
	case O_MODE: return parse_mode(a, &o->mode);
	case O_API: return parse_api(a, &o->api);
	case O_SIZES: return parse_sizes(a, &o->sizes, &o->nsizes);
	case O_MIX: return parse_random_mix(a, &o->sizes, &o->nsizes);
	case O_SEED: return parse_size(a, &o->seed);
	case O_RBUF: if (parse_sizeopt("rbuf", a, &v, 1) < 0) return -1; o->rbuf = v; return 0;
	case O_WBUF: if (parse_sizeopt("wbuf", a, &v, 1) < 0) return -1; o->wbuf = v; return 0;
	case O_PEEK: o->peek = true; return 0;
	case O_WAITALL: o->waitall = true; return 0;
	case O_FIONREAD: o->fionread = true; return 0;
	case O_NOVERIFY: o->verify = false; return 0;
	case O_FORK: o->fork_server = true; return 0;
	case O_ACCEPT: return parse_uint("accept", a, 100000, &o->accept_n);
	case O_REPLY: o->reply = true; return 0;
	case O_MSGS: o->msgs = true; return 0;
	case O_RR:
		if (strcmp(a, "ack") == 0 || strcmp(a, "echo") == 0) {
			o->rr = a[0] == 'a' ? RR_ACK : RR_ECHO;
			return 0;
		}
		return xerrx("--rr '%s': expected ack or echo", a);
	case O_THREADS: return parse_uint("threads", a, XFER_MAX_THREADS, &o->threads);
	case O_HALF: o->half_close = true; return 0;
	case O_DUP2: o->dup2_fd = true; return 0;
	case O_NBCONN: o->nonblock_connect = true; return 0;
	case O_SSENDS: o->server_sends = true; return 0;
	case O_EXITSEND: o->exit_after_send = true; return 0;
	case O_EINTR: o->eintr = true; return 0;
	case O_GAP: return parse_uint("gap-ms", a, 600000, &o->gap_ms);
	case O_STALLA: return parse_size(a, &o->stall_after);
	case O_STALLMS: return parse_uint("stall-ms", a, 600000, &o->stall_ms);
	case O_EXPECT: o->have_expect = true; return parse_size(a, &o->expect_bytes);
	case O_RETRY: return parse_uint("retry-ms", a, 600000, &o->retry_ms);
	case O_TIMEOUT: return parse_uint("timeout", a, 86400, &o->timeout_s);
	default: usage(stderr); return -1;
	}
}

static int check_opts(struct opts *o)
{
	bool sender = o->server == o->server_sends;

	if (!o->port)
		return xerrx("--port is required");
	if (sender && !o->nsizes)
		return xerrx("the sending side needs --sizes or --random-mix (give --server-sends to both "
			     "ends to make the server send)");
	if (o->waitall && o->mode != M_BLOCK)
		return xerrx("--waitall needs --mode block (MSG_WAITALL waits only on blocking sockets)");
	if ((o->threads > 1 && o->server) || ((o->threads > 1 || o->rr) && o->server_sends))
		return xerrx("--threads and --rr: the client sends the messages; the server takes "
			     "--msgs (and the same --rr), not --server-sends");
	if (o->server && o->rr)
		o->msgs = true;
	if (o->msgs && o->server_sends)
		return xerrx("--msgs and --server-sends do not mix");
	if (o->eintr && o->waitall)
		return xerrx("--eintr and --waitall do not mix (a signal may end MSG_WAITALL early)");
	return 0;
}

static void on_alarm(int sig)
{
	static const char msg[] = "xfer: --timeout expired: the transfer hung\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);

	(void)sig;
	(void)w;
	_exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static pthread_t main_thread;

static void *eintr_storm(void *arg)
{
	(void)arg;
	for (;;) {
		sleep_ms(1);
		pthread_kill(main_thread, SIGUSR1);
	}
	return NULL;
}

static int setup_signals(const struct opts *o)
{
	struct sigaction sa = { 0 };
	pthread_t th;

	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(o->timeout_s);
	if (!o->eintr)
		return 0;
	sa.sa_handler = on_usr1;        /* no SA_RESTART: blocking calls fail with EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	if (pthread_create(&th, NULL, eintr_storm, NULL) != 0)
		return xerrx("pthread_create for --eintr failed");
	return pthread_detach(th) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.host = "127.0.0.1", .bind = "127.0.0.1", .mode = M_BLOCK, .seed = 1,
		.rbuf = 64 << 10, .wbuf = 256u << 20, .verify = true, .accept_n = 1, .threads = 1,
		.retry_ms = 5000, .timeout_s = 300,
	};
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "--selftest") == 0) {
		if (sha256_selftest() < 0)
			return 1;
		printf("sha256 self test: ok\n");
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 1;
	}
	o.server = strcmp(argv[1], "server") == 0;
	xfer_set_role(argv[1]);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (parse_opt(ch, optarg, &o) < 0)
			goto fail;
	}
	if (optind < argc) {
		xerrx("unexpected argument '%s'", argv[optind]);
		goto fail;
	}
	if (check_opts(&o) < 0 || setup_signals(&o) < 0)
		goto fail;
	ch = o.server ? xfer_server(&o) : xfer_client(&o);
	free(o.sizes);
	return ch ? 1 : 0;
fail:
	free(o.sizes);
	return 1;
}
