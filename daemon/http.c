/* --metrics-listen: GET /metrics over HTTP/1.0-1.1 on the event loop. Non-blocking
 * throughout: a request is read into a fixed buffer, the whole response is built at once and
 * written as the socket takes it, then the connection is closed. At most FFD_HTTP_MAX_CONN
 * scrapes at a time, each dropped after FFD_HTTP_TIMEOUT_MS, so a slow or silent client never
 * holds up the control sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"

union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* "127.0.0.1:9464", "localhost:9464", "[::1]:9464" (validated by the config already). */
static int parse_listen(const char *v, union addr *a, socklen_t *len)
{
	char host[128], *end;
	const char *colon;
	unsigned long port;

	memset(a, 0, sizeof(*a));
	if (v[0] == '[') {
		colon = strstr(v, "]:");
		if (!colon || (size_t)(colon - v - 1) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - v - 1), v + 1);
		colon++;
	} else {
		colon = strrchr(v, ':');
		if (!colon || (size_t)(colon - v) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - v), v);
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -1;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons((uint16_t)port);
		*len = sizeof(a->in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		*len = sizeof(a->in6);
		return 0;
	}
	return -1;
}

int ffd_http_open(struct ffd_server *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const char *v = s->cfg.metrics_listen;
	union addr a;
	socklen_t alen;
	int one = 1;

	if (!v[0])
		return 0;
	if (parse_listen(v, &a, &alen) < 0) {
		fprintf(stderr, "faasflowd: METRICS_LISTEN = '%s': expected addr:port such as "
		        "127.0.0.1:9464 or [::1]:9464\n", v);
		return -1;
	}
	s->http_fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->http_fd < 0)
		goto err;
	if (setsockopt(s->http_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->http_fd, &a.sa, alen) < 0 || listen(s->http_fd, 64) < 0)
		goto err;
	ev.data.u64 = (uint64_t)FFD_EV_HTTP_LISTEN << 32;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->http_fd, &ev) < 0)
		goto err;
	log_info("metrics: serving http://%s/metrics", v);
	return 0;
err:
	fprintf(stderr, "faasflowd: cannot serve metrics on %s (METRICS_LISTEN / "
	        "--metrics-listen): %s\n", v, strerror(errno));
	return -1;
}

static void conn_close(struct ffd_server *s, struct ffd_http_conn *h)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	close(h->fd);
	free(h->out);
	h->out = NULL;
	h->fd = -1;
	h->gen++;
}

void ffd_http_close(struct ffd_server *s)
{
	for (int i = 0; i < FFD_HTTP_MAX_CONN; i++)
		if (s->http[i].fd >= 0)
			conn_close(s, &s->http[i]);
	if (s->http_fd >= 0)
		close(s->http_fd);
	s->http_fd = -1;
}

static struct ffd_http_conn *free_conn(struct ffd_server *s)
{
	for (int i = 0; i < FFD_HTTP_MAX_CONN; i++)
		if (s->http[i].fd < 0)
			return &s->http[i];
	return NULL;
}

void ffd_http_accept(struct ffd_server *s)
{
	for (int k = 0; k < 16; k++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct ffd_http_conn *h;
		int fd = accept4(s->http_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("metrics: accept");
			return;
		}
		h = free_conn(s);
		if (!h) {
			if (s->http_refused++ % 1000 == 0)
				log_warnx("metrics: more than %d scrapes at once; closing the newest",
				          FFD_HTTP_MAX_CONN);
			close(fd);
			continue;
		}
		h->fd = fd;
		h->rlen = 0;
		h->outlen = h->outoff = 0;
		h->deadline_ns = ffd_now_ns() + FFD_HTTP_TIMEOUT_MS * 1000000ULL;
		ev.data.u64 = ((uint64_t)FFD_EV_HTTP << 32) | ((uint64_t)(h->gen & 0xffffff) << 8) |
		              (uint64_t)(h - s->http);
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("metrics: epoll_ctl");
			close(fd);
			h->fd = -1;
		}
	}
}

char *ffd_metrics_text(const struct ffd_server *s, size_t *len)
{
	struct ff_stats st[FFD_MAX_TENANTS];
	struct ffm_tenant t[FFD_MAX_TENANTS];
	char *buf = NULL;
	FILE *f;

	*len = 0;
	f = open_memstream(&buf, len);
	if (!f)
		return NULL;
	for (unsigned i = 0; i < s->ntenants; i++) {
		const struct ffd_tenant *x = &s->tenants[i];

		ffd_tenant_stats(s, x, &st[i]);
		t[i] = (struct ffm_tenant){
			.name = x->name,
			.st = &st[i],
			.hdr = x->r.hdr,
			.slot_size = x->r.hdr->slot_size,
			.resident_bytes = ffm_resident_bytes(x->r.base, x->r.size),
		};
	}
	ffm_print(f, t, s->ntenants);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* status line, headers and body into h->out (left NULL when out of memory) */
static void respond(struct ffd_http_conn *h, const char *status, const char *extra,
                    const char *ctype, const char *body, size_t blen, bool head)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	                 "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, ctype,
	                 blen, extra);

	if (n < 0 || (size_t)n >= sizeof(hdr))
		return;
	if (head)
		blen = 0;
	h->out = malloc((size_t)n + blen);
	if (!h->out)
		return;
	memcpy(h->out, hdr, (size_t)n);
	if (blen)
		memcpy(h->out + n, body, blen);
	h->outlen = (size_t)n + blen;
	h->outoff = 0;
}

static void respond_text(struct ffd_http_conn *h, const char *status, const char *extra,
                         const char *text, bool head)
{
	respond(h, status, extra, "text/plain; charset=utf-8", text, strlen(text), head);
}

/* The request (line and headers) is complete in h->req: decide the answer. */
static void handle_request(struct ffd_server *s, struct ffd_http_conn *h)
{
	char method[16], target[256], version[16];
	char *body;
	size_t blen;
	bool head;

	s->http_requests++;
	if (sscanf(h->req, "%15[^ \r\n] %255[^ \r\n] %15[^ \r\n]", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		respond_text(h, "400 Bad Request", "", "expected: GET /metrics HTTP/1.1\n", false);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		respond_text(h, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
		             "only GET and HEAD are served\n", false);
		return;
	}
	target[strcspn(target, "?#")] = '\0';
	if (strcmp(target, "/metrics") != 0) {
		respond_text(h, "404 Not Found", "", "not found: the metrics are at /metrics\n",
		             head);
		return;
	}
	body = ffd_metrics_text(s, &blen);
	if (!body) {
		respond_text(h, "500 Internal Server Error", "", "out of memory\n", head);
		return;
	}
	respond(h, "200 OK", "", FFM_CONTENT_TYPE, body, blen, head);
	free(body);
}

/* Read what the client sent; returns true once the request is complete (or hopeless). */
static bool read_request(struct ffd_server *s, struct ffd_http_conn *h)
{
	for (;;) {
		ssize_t n = recv(h->fd, h->req + h->rlen, sizeof(h->req) - 1 - h->rlen,
		                 MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0) {
			conn_close(s, h);   /* gone before the request was whole */
			return false;
		}
		h->rlen += (size_t)n;
		h->req[h->rlen] = '\0';
		if (strstr(h->req, "\r\n\r\n") || strstr(h->req, "\n\n")) {
			handle_request(s, h);
			return true;
		}
		if (h->rlen == sizeof(h->req) - 1) {
			s->http_requests++;
			if (strchr(h->req, '\n'))
				respond_text(h, "431 Request Header Fields Too Large", "",
				             "request headers too large\n", false);
			else
				respond_text(h, "414 URI Too Long", "", "request line too long\n",
				             false);
			return true;
		}
	}
}

/* Write what the socket takes; close when done. */
static void write_response(struct ffd_server *s, struct ffd_http_conn *h)
{
	struct epoll_event ev = { .events = EPOLLOUT };

	while (h->outoff < h->outlen) {
		ssize_t n = send(h->fd, h->out + h->outoff, h->outlen - h->outoff,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev.data.u64 = ((uint64_t)FFD_EV_HTTP << 32) |
			              ((uint64_t)(h->gen & 0xffffff) << 8) | (uint64_t)(h - s->http);
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, h->fd, &ev);
			return;
		}
		if (n <= 0)
			break;
		h->outoff += (size_t)n;
	}
	shutdown(h->fd, SHUT_WR);
	/* unread request bytes would turn the close into a reset that can discard the answer */
	for (int i = 0; i < 4 && recv(h->fd, h->req, sizeof(h->req), MSG_DONTWAIT) > 0; i++)
		;
	conn_close(s, h);
}

void ffd_http_event(struct ffd_server *s, uint32_t val, uint32_t events)
{
	struct ffd_http_conn *h;

	if ((val & 0xff) >= FFD_HTTP_MAX_CONN)
		return;
	h = &s->http[val & 0xff];
	if (h->fd < 0 || (h->gen & 0xffffff) != val >> 8)
		return;   /* closed (and maybe reused) earlier in this batch */
	if (!h->out && !read_request(s, h))
		return;
	if (h->fd < 0)
		return;
	if (!h->out) {   /* out of memory building the answer */
		conn_close(s, h);
		return;
	}
	write_response(s, h);
	(void)events;
}

/* Drop scrapes that have taken too long (silent, or not reading their answer). */
void ffd_http_tick(struct ffd_server *s)
{
	uint64_t now = ffd_now_ns();

	for (int i = 0; i < FFD_HTTP_MAX_CONN; i++) {
		if (s->http[i].fd >= 0 && now > s->http[i].deadline_ns) {
			log_debug("metrics: dropping a scrape that took more than %d ms",
			          FFD_HTTP_TIMEOUT_MS);
			conn_close(s, &s->http[i]);
		}
	}
}
