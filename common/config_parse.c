/* Value parsers shared by the configuration, the CLI and the tests:
 * sizes, booleans, and the PEERS list. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config.h"
#include "config_int.h"

#define PEERS_ACCEPTED "accepted entries: *, host:port, [v6]:port, CIDR:port, [v6cidr]:port, " \
	"name@host:port (host: IPv4/IPv6 literal or localhost)"

static const struct {
	const char *sfx;
	unsigned shift;
} size_suffixes[] = {
	{ "", 0 }, { "b", 0 },
	{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
	{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
	{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
	{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
};

/* One factor: digits, optional blanks, optional suffix. */
static int parse_size_factor(const char *s, const char *end, uint64_t *out)
{
	char sfx[8];
	uint64_t v = 0;
	size_t n = 0;

	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s == end || !isdigit((unsigned char)*s))
		return -1;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	while (s < end && isspace((unsigned char)*s))
		s++;
	if ((size_t)(end - s) >= sizeof(sfx))
		return -1;
	for (; s < end; s++)
		sfx[n++] = (char)tolower((unsigned char)*s);
	sfx[n] = '\0';
	for (size_t i = 0; i < sizeof(size_suffixes) / sizeof(size_suffixes[0]); i++) {
		if (strcmp(sfx, size_suffixes[i].sfx))
			continue;
		if (size_suffixes[i].shift && v > (UINT64_MAX >> size_suffixes[i].shift))
			return -1;
		*out = v << size_suffixes[i].shift;
		return 0;
	}
	return -1;
}

/* "4096", "64K", "1 GiB", and the guide's Python spelling "1024 * 1024 * 1024". */
int ff_parse_size(const char *s, uint64_t *out)
{
	uint64_t total = 1, f;
	const char *p, *star;

	if (!s || !out)
		goto bad;
	for (p = s;; p = star + 1) {
		star = strchr(p, '*');
		if (parse_size_factor(p, star ? star : p + strlen(p), &f))
			goto bad;
		if (f && total > UINT64_MAX / f)
			goto bad;
		total *= f;
		if (!star)
			break;
	}
	*out = total;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int ff_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	if (!s)
		goto bad;
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
bad:
	errno = EINVAL;
	return -1;
}

int ff_parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An address literal (IPv4, IPv6 without brackets, or "localhost"), v4 stored v4-mapped. */
int ff_parse_addr(const char *s, struct in6_addr *addr, int *family)
{
	struct in_addr a4;

	if (!strcasecmp(s, "localhost"))
		s = "127.0.0.1";
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(addr, 0, sizeof(*addr));
		addr->s6_addr[10] = 0xff;
		addr->s6_addr[11] = 0xff;
		memcpy(&addr->s6_addr[12], &a4, 4);
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int parse_prefix(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void mask_addr(struct in6_addr *a, unsigned prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			a->s6_addr[i] = 0;
		else
			a->s6_addr[i] &= (uint8_t)(0xff << (8 * (i + 1) - prefix));
	}
}

/* "host", "v4/len" or "v6/len" (brackets already removed). */
static int parse_host_or_cidr(char *host, bool bracketed, struct ff_peer *p, char *err,
			      size_t errlen, const char *tok)
{
	char *slash = strchr(host, '/');
	unsigned len;

	if (slash)
		*slash = '\0';
	if (ff_parse_addr(host, &p->addr, &p->family) ||
	    (bracketed && p->family != AF_INET6) || (!bracketed && p->family == AF_INET6)) {
		snprintf(err, errlen, "entry '%s': '%s' is not an %s address; %s", tok, host,
			 bracketed ? "IPv6" : "IPv4 or localhost", PEERS_ACCEPTED);
		return -1;
	}
	if (!slash) {
		p->kind = FF_PEER_HOST;
		p->prefix = 128;
		return 0;
	}
	if (parse_prefix(slash + 1, p->family == AF_INET ? 32 : 128, &len)) {
		snprintf(err, errlen, "entry '%s': bad prefix length '%s' (0-%d); %s", tok,
			 slash + 1, p->family == AF_INET ? 32 : 128, PEERS_ACCEPTED);
		return -1;
	}
	p->kind = FF_PEER_CIDR;
	p->prefix = p->family == AF_INET ? 96 + len : len;
	mask_addr(&p->addr, p->prefix);
	return 0;
}

static bool valid_name(const char *s, size_t len)
{
	if (len < 1 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool ff_valid_name(const char *s)
{
	return s && valid_name(s, strlen(s));
}

static int parse_peer(const char *tok, struct ff_peer *p, char *err, size_t errlen)
{
	char buf[256], *host, *port, *at;
	bool bracketed = false;

	memset(p, 0, sizeof(*p));
	if (!strcmp(tok, "*")) {
		p->kind = FF_PEER_ANY;
		return 0;
	}
	if (strlen(tok) >= sizeof(buf)) {
		snprintf(err, errlen, "entry '%.40s...' is too long", tok);
		return -1;
	}
	strcpy(buf, tok);
	host = buf;
	at = strchr(buf, '@');
	if (at) {
		if (!valid_name(buf, (size_t)(at - buf))) {
			snprintf(err, errlen, "entry '%s': endpoint name must be 1-63 of "
				 "[A-Za-z0-9_.-]; %s", tok, PEERS_ACCEPTED);
			return -1;
		}
		memcpy(p->name, buf, (size_t)(at - buf));
		host = at + 1;
	}
	if (*host == '[') {
		char *close = strchr(host, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "entry '%s': expected [v6]:port; %s", tok,
				 PEERS_ACCEPTED);
			return -1;
		}
		*close = '\0';
		port = close + 2;
		host++;
		bracketed = true;
	} else {
		port = strrchr(host, ':');
		if (!port) {
			snprintf(err, errlen, "entry '%s' has no port; %s", tok, PEERS_ACCEPTED);
			return -1;
		}
		*port++ = '\0';
	}
	if (ff_parse_port(port, &p->port)) {
		snprintf(err, errlen, "entry '%s': bad port '%s' (1-65535); %s", tok, port,
			 PEERS_ACCEPTED);
		return -1;
	}
	if (parse_host_or_cidr(host, bracketed, p, err, errlen, tok))
		return -1;
	if (at) {
		if (p->kind != FF_PEER_HOST) {
			snprintf(err, errlen, "entry '%s': name@ needs a single host, not a CIDR; %s",
				 tok, PEERS_ACCEPTED);
			return -1;
		}
		p->kind = FF_PEER_NAMED;
	}
	return 0;
}

int ff_parse_peers(const char *s, struct ff_peer *peers, unsigned max, unsigned *n, char *err,
		   size_t errlen)
{
	const char *p = s ? s : "";
	unsigned count = 0;
	char tok[512];

	while (*p) {
		size_t len = strcspn(p, ", \t\r\n");

		if (!len) {
			p++;
			continue;
		}
		if (len >= sizeof(tok)) {
			snprintf(err, errlen, "entry '%.40s...' is too long", p);
			goto bad;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		p += len;
		if (count >= max) {
			snprintf(err, errlen, "more than %u entries", max);
			goto bad;
		}
		if (parse_peer(tok, &peers[count], err, errlen))
			goto bad;
		count++;
	}
	*n = count;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
