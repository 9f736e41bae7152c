/* Configuration: defaults, then a "KEY = value" file, then FAASFLOW_<KEY> environment.
 * Every key is validated; an error names the key, the value and what is accepted. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <sys/un.h>

#include "config.h"
#include "config_int.h"
#include "log.h"
#include "proto.h"

struct key;
typedef int (*setter)(struct ff_config *c, const struct key *k, const char *v);

struct key {
	const char *name;
	setter set;
	const char *accepted;   /* completes "expected ..." */
	bool shim;              /* the shim reads it too (else only the coordinator does) */
};

#define FIELD(c, member) (c)->member, sizeof((c)->member)

static bool is_number(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int set_enabled(struct ff_config *c, const struct key *k, const char *v)
{
	return ff_parse_bool(v, &c->enabled);
}

static int set_small_write_runs(struct ff_config *c, const struct key *k, const char *v)
{
	return ff_parse_bool(v, &c->small_write_runs);
}

static int set_log_syslog(struct ff_config *c, const struct key *k, const char *v)
{
	return ff_parse_bool(v, &c->log_syslog);
}

static int set_shm_size(struct ff_config *c, const struct key *k, const char *v)
{
	uint64_t s;

	if (ff_parse_size(v, &s) || s < FF_SIZE_MIN_SHM)
		return -1;
	c->shm_size = s;
	return 0;
}

static int set_slot_size(struct ff_config *c, const struct key *k, const char *v)
{
	uint64_t s;

	if (ff_parse_size(v, &s) || s < FF_SIZE_MIN_SLOT || s > FF_SIZE_MAX_SLOT || (s & (s - 1)))
		return -1;
	c->slot_size = s;
	return 0;
}

static int set_threshold(struct ff_config *c, const struct key *k, const char *v)
{
	uint64_t s;

	if (!strcasecmp(v, "auto")) {
		c->threshold = 0;          /* the coordinator's, measured on this host */
		return 0;
	}
	if (ff_parse_size(v, &s) || s < 1)
		return -1;
	c->threshold = s;
	return 0;
}

static int set_abs_path(char *dst, size_t cap, const char *v, bool empty_ok)
{
	if (!*v && empty_ok)
		return copy_str(dst, cap, v);
	if (v[0] != '/' || strchr(v, '\n'))
		return -1;
	return copy_str(dst, cap, v);
}

static int set_shm_file_path(struct ff_config *c, const struct key *k, const char *v)
{
	size_t l = strlen(v);

	if (l && v[l - 1] == '/')
		return -1;
	return set_abs_path(FIELD(c, shm_file_path), v, false);
}

static int set_socket_dir(struct ff_config *c, const struct key *k, const char *v)
{
	struct sockaddr_un sun;

	/* room for "/faasflow_container_<tenant>.sock" with a short tenant name */
	if (strlen(v) + strlen(FF_SOCKET_PREFIX) + strlen(FF_SOCKET_SUFFIX) + 8 >
	    sizeof(sun.sun_path))
		return -1;
	return set_abs_path(FIELD(c, socket_dir), v, false);
}

static int set_log_file(struct ff_config *c, const struct key *k, const char *v)
{
	return set_abs_path(FIELD(c, log_file), v, true);
}

static int set_u32_range(uint32_t *dst, const char *v, unsigned long long lo,
			 unsigned long long hi)
{
	unsigned long long n;

	if (!is_number(v, hi, &n) || n < lo)
		return -1;
	*dst = (uint32_t)n;
	return 0;
}

static int set_quota(struct ff_config *c, const struct key *k, const char *v)
{
	return set_u32_range(&c->quota, v, 1, 1000000);
}

static int set_lease_batch(struct ff_config *c, const struct key *k, const char *v)
{
	return set_u32_range(&c->lease_batch, v, 1, FF_LEASE_MAX);
}

static int set_spin_wait_us(struct ff_config *c, const struct key *k, const char *v)
{
	return set_u32_range(&c->spin_wait_us, v, 0, FF_SPIN_WAIT_US_MAX);
}

static int set_log_level(struct ff_config *c, const struct key *k, const char *v)
{
	int l = ff_log_level_parse(v);

	if (l < 0)
		return -1;
	c->log_level = l;
	return 0;
}

static int parse_mode(const char *v, unsigned *out)
{
	unsigned m = 0;

	if (!*v || strlen(v) > 4)
		return -1;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '7')
			return -1;
		m = m * 8 + (unsigned)(*p - '0');
	}
	if (m > 0777)
		return -1;
	*out = m;
	return 0;
}

static int set_shm_file_mode(struct ff_config *c, const struct key *k, const char *v)
{
	return parse_mode(v, &c->shm_file_mode);
}

static int set_socket_mode(struct ff_config *c, const struct key *k, const char *v)
{
	return parse_mode(v, &c->socket_mode);
}

static bool user_exists(const char *s, uid_t *uid)
{
	unsigned long long n;
	struct passwd *pw = getpwnam(s);

	if (pw) {
		*uid = pw->pw_uid;
		return true;
	}
	if (is_number(s, 0xfffffffeULL, &n)) {
		*uid = (uid_t)n;
		return true;
	}
	return false;
}

static bool group_exists(const char *s, gid_t *gid)
{
	unsigned long long n;
	struct group *gr = getgrnam(s);

	if (gr) {
		*gid = gr->gr_gid;
		return true;
	}
	if (is_number(s, 0xfffffffeULL, &n)) {
		*gid = (gid_t)n;
		return true;
	}
	return false;
}

static int set_owner(struct ff_config *c, const struct key *k, const char *v)
{
	char buf[sizeof(c->owner)], *colon;
	uid_t uid;
	gid_t gid;

	if (copy_str(buf, sizeof(buf), v))
		return -1;
	if (c->scope == FF_SCOPE_SHIM)          /* kept as written: the shim resolves no user */
		return copy_str(FIELD(c, owner), v);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	if (*buf && !user_exists(buf, &uid))
		return -1;
	if (colon && (!*colon || !group_exists(colon, &gid)))
		return -1;
	return copy_str(FIELD(c, owner), v);
}

static int set_id_list(const char *v, bool groups, uint32_t *ids, unsigned *n)
{
	unsigned count = 0;
	uint32_t tmp[FF_MAX_IDS];
	char tok[256];

	while (*v) {
		size_t len = strcspn(v, ", \t");
		uid_t uid;
		gid_t gid;

		if (!len) {
			v++;
			continue;
		}
		if (len >= sizeof(tok) || count >= FF_MAX_IDS)
			return -1;
		memcpy(tok, v, len);
		tok[len] = '\0';
		v += len;
		if (groups ? !group_exists(tok, &gid) : !user_exists(tok, &uid))
			return -1;
		tmp[count++] = groups ? (uint32_t)gid : (uint32_t)uid;
	}
	memcpy(ids, tmp, count * sizeof(*ids));
	*n = count;
	return 0;
}

static int set_allow_uids(struct ff_config *c, const struct key *k, const char *v)
{
	_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t is 32-bit");
	return set_id_list(v, false, (uint32_t *)c->allow_uids, &c->nallow_uids);
}

static int set_allow_gids(struct ff_config *c, const struct key *k, const char *v)
{
	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32-bit");
	return set_id_list(v, true, (uint32_t *)c->allow_gids, &c->nallow_gids);
}

static int set_tenant(struct ff_config *c, const struct key *k, const char *v)
{
	if (!ff_valid_name(v))
		return -1;
	return copy_str(FIELD(c, tenant), v);
}

static int set_tenants(struct ff_config *c, const struct key *k, const char *v)
{
	char tok[FF_NAME_MAX + 1];
	const char *p = v;

	while (*p) {
		size_t len = strcspn(p, ", \t");

		if (!len) {
			p++;
			continue;
		}
		if (len >= sizeof(tok))
			return -1;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (!ff_valid_name(tok))
			return -1;
		p += len;
	}
	return copy_str(FIELD(c, tenants_raw), v);
}

static int set_metrics_listen(struct ff_config *c, const struct key *k, const char *v)
{
	char buf[sizeof(c->metrics_listen)], *host = buf, *port;
	struct in6_addr a;
	uint16_t pn;
	int fam;

	if (!*v)
		return copy_str(FIELD(c, metrics_listen), v);
	if (copy_str(buf, sizeof(buf), v))
		return -1;
	if (*host == '[') {
		port = strchr(host, ']');
		if (!port || port[1] != ':')
			return -1;
		*port = '\0';
		port += 2;
		host++;
		if (ff_parse_addr(host, &a, &fam) || fam != AF_INET6)
			return -1;
	} else {
		port = strrchr(host, ':');
		if (!port)
			return -1;
		*port++ = '\0';
		if (ff_parse_addr(host, &a, &fam) || fam != AF_INET)
			return -1;
	}
	if (ff_parse_port(port, &pn))
		return -1;
	return copy_str(FIELD(c, metrics_listen), v);
}

/* "a=alice,b=bob:tenants": each tenant name valid, each owner an existing user[:group] */
static int set_tenant_owners(struct ff_config *c, const struct key *k, const char *v)
{
	char tok[FF_NAME_MAX + sizeof(c->owner) + 1], *eq;
	struct ff_config tmp;
	const char *p = v;

	while (*p) {
		size_t len = strcspn(p, ", \t");

		if (!len) {
			p++;
			continue;
		}
		if (len >= sizeof(tok))
			return -1;
		memcpy(tok, p, len);
		tok[len] = '\0';
		p += len;
		eq = strchr(tok, '=');
		if (!eq)
			return -1;
		*eq++ = '\0';
		if (!ff_valid_name(tok) || !*eq || set_owner(&tmp, k, eq))
			return -1;
	}
	return copy_str(FIELD(c, tenant_owners), v);
}

/* PEERS has its own detailed messages; handled in ff_config_set. */
static int set_peers(struct ff_config *c, const struct key *k, const char *v)
{
	return 0;
}

static const struct key keys[] = {
	{ "ENABLE_SHARED_MEMORY", set_enabled, "true or false (also yes/no, on/off, 1/0, True/False)", true },
	{ "SHM_SIZE", set_shm_size, "a size such as 4096, 512K, 256M or 1G (at least 1M)", false },
	{ "SHM_FILE_PATH", set_shm_file_path, "an absolute file path such as /tmp/faasflow_shm", true },
	{ "SOCKET_DIR", set_socket_dir, "an absolute directory path such as /tmp (short enough for a Unix socket name)", true },
	{ "SLOT_SIZE", set_slot_size, "a power of two between 4K and 256M, such as 64K or 1M", false },
	{ "THRESHOLD", set_threshold, "auto (measured on this host by the coordinator) or a size of at least 1 byte such as 65536 or 64K", true },
	{ "PEERS", set_peers, "a list of *, host:port, [v6]:port, CIDR:port, name@host:port", true },
	{ "QUOTA", set_quota, "a whole number of slots from 1 to 1000000", false },
	{ "LEASE_BATCH", set_lease_batch, "a whole number of slots from 1 to 256", false },
	{ "SPIN_WAIT_US", set_spin_wait_us, "a whole number of microseconds from 0 (never poll before sleeping) to 10000", true },
	{ "SMALL_WRITE_RUNS", set_small_write_runs, "true or false (also yes/no, on/off, 1/0, True/False)", true },
	{ "LOG_LEVEL", set_log_level, "err, warn, info or debug", true },
	{ "LOG_FILE", set_log_file, "an absolute file path, or empty for stderr", true },
	{ "LOG_SYSLOG", set_log_syslog, "true or false", false },
	{ "SHM_FILE_MODE", set_shm_file_mode, "an octal permission mode such as 0600 or 0660", false },
	{ "SOCKET_MODE", set_socket_mode, "an octal permission mode such as 0600 or 0660", false },
	{ "OWNER", set_owner, "an existing user or user:group, or empty to keep the owner", true },
	{ "ALLOW_UIDS", set_allow_uids, "a comma-separated list of existing user names or uids", false },
	{ "ALLOW_GIDS", set_allow_gids, "a comma-separated list of existing group names or gids", false },
	{ "TENANT", set_tenant, "a name of 1-63 characters from [A-Za-z0-9_.-]", true },
	{ "TENANTS", set_tenants, "a comma-separated list of names of 1-63 characters from [A-Za-z0-9_.-]", false },
	{ "METRICS_LISTEN", set_metrics_listen, "addr:port such as 127.0.0.1:9464 or [::1]:9464, or empty for off", false },
	{ "TENANT_OWNERS", set_tenant_owners, "a comma-separated list of tenant=user or tenant=user:group (existing names or ids), or empty", false },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void ff_config_defaults(struct ff_config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = FF_DEFAULT_ENABLED;
	c->shm_size = FF_DEFAULT_SHM_SIZE;
	snprintf(c->shm_file_path, sizeof(c->shm_file_path), "%s", FF_DEFAULT_SHM_FILE_PATH);
	snprintf(c->socket_dir, sizeof(c->socket_dir), "%s", FF_DEFAULT_SOCKET_DIR);
	c->slot_size = FF_DEFAULT_SLOT_SIZE;
	c->threshold = 0;                  /* auto */
	snprintf(c->peers_raw, sizeof(c->peers_raw), "%s", FF_DEFAULT_PEERS);
	c->peers[0].kind = FF_PEER_ANY;
	c->npeers = 1;
	c->quota = FF_DEFAULT_QUOTA;
	c->lease_batch = FF_DEFAULT_LEASE_BATCH;
	c->spin_wait_us = FF_DEFAULT_SPIN_WAIT_US;
	c->small_write_runs = true;
	c->log_level = FF_LOG_WARN;
	c->shm_file_mode = FF_DEFAULT_FILE_MODE;
	c->socket_mode = FF_DEFAULT_SOCKET_MODE;
	snprintf(c->tenant, sizeof(c->tenant), "%s", FF_DEFAULT_TENANT);
}

static void list_keys(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NKEYS && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", keys[i].name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* Remove surrounding blanks and one pair of matching quotes. */
static void unquote(const char *in, char *out, size_t cap)
{
	size_t len;

	while (isspace((unsigned char)*in))
		in++;
	len = strlen(in);
	while (len && isspace((unsigned char)in[len - 1]))
		len--;
	if (len >= 2 && (in[0] == '\'' || in[0] == '"') && in[len - 1] == in[0]) {
		in++;
		len -= 2;
	}
	if (len >= cap)
		len = cap - 1;
	memcpy(out, in, len);
	out[len] = '\0';
}

static int set_peers_key(struct ff_config *c, const char *v, char *err, size_t errlen)
{
	struct ff_peer tmp[FF_MAX_PEERS];
	char why[512];
	unsigned n;

	if (strlen(v) >= sizeof(c->peers_raw)) {
		snprintf(err, errlen, "PEERS = '%.60s...': too long (at most %zu characters)", v,
			 sizeof(c->peers_raw) - 1);
		return -1;
	}
	if (ff_parse_peers(v, tmp, FF_MAX_PEERS, &n, why, sizeof(why))) {
		snprintf(err, errlen, "PEERS = '%s': %s", v, why);
		return -1;
	}
	memcpy(c->peers, tmp, sizeof(tmp));
	c->npeers = n;
	strcpy(c->peers_raw, v);
	return 0;
}

int ff_config_set(struct ff_config *c, const char *key, const char *value, char *err,
		  size_t errlen)
{
	char v[8192], klist[512];

	unquote(value ? value : "", v, sizeof(v));
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcasecmp(key, keys[i].name))
			continue;
		if (c->scope == FF_SCOPE_SHIM && !keys[i].shim)
			return 0;       /* another process's key: accepted unread */
		if (keys[i].set == set_peers)
			return set_peers_key(c, v, err, errlen);
		if (keys[i].set(c, &keys[i], v) == 0)
			return 0;
		snprintf(err, errlen, "%s = '%s': expected %s", keys[i].name, v, keys[i].accepted);
		errno = EINVAL;
		return -1;
	}
	list_keys(klist, sizeof(klist));
	snprintf(err, errlen, "unknown key '%s'; accepted keys: %s", key, klist);
	errno = EINVAL;
	return -1;
}

static bool secure_exec(void)
{
	return getauxval(AT_SECURE) != 0;
}

int ff_config_load_env(struct ff_config *c, char *err, size_t errlen)
{
	char name[128], msg[1536];

	if (secure_exec())
		return 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v;

		snprintf(name, sizeof(name), "%s%s", FF_ENV_PREFIX, keys[i].name);
		v = getenv(name);
		if (!v)
			continue;
		if (ff_config_set(c, keys[i].name, v, msg, sizeof(msg))) {
			snprintf(err, errlen, "environment %s: %s", name, msg);
			return -1;
		}
	}
	return 0;
}
