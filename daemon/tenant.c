/* Each tenant served: its region file and its control socket
 * "<SOCKET_DIR>/faasflow_container_<tenant>.sock". */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/un.h>

#include "busguard.h"
#include "daemon.h"
#include "log.h"

/* "user[:group]" (names or numbers) -> uid/gid; (uid_t)-1 / (gid_t)-1 = keep. */
int ffd_parse_owner(const char *owner, uid_t *uid, gid_t *gid)
{
	char user[64], *colon, *end;
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (!owner[0])
		return 0;
	snprintf(user, sizeof(user), "%s", owner);
	colon = strchr(user, ':');
	if (colon) {
		*colon++ = '\0';
		if (*colon) {
			gr = getgrnam(colon);
			if (gr) {
				*gid = gr->gr_gid;
			} else {
				*gid = (gid_t)strtoul(colon, &end, 10);
				if (*end)
					return -1;
			}
		}
	}
	if (user[0]) {
		pw = getpwnam(user);
		if (pw) {
			*uid = pw->pw_uid;
			if (!colon)
				*gid = pw->pw_gid;
		} else {
			*uid = (uid_t)strtoul(user, &end, 10);
			if (*end)
				return -1;
		}
	}
	return 0;
}

/* The owner of tenant t: its TENANT_OWNERS entry ("name=user[:group]"), else OWNER. */
static int resolve_owner(const struct ffd_server *s, struct ffd_tenant *t)
{
	const char *p = s->cfg.tenant_owners, *key = "OWNER";
	size_t nl = strlen(t->name);

	snprintf(t->owner, sizeof(t->owner), "%s", s->cfg.owner);
	while (*p) {
		size_t len = strcspn(p, ", \t");

		if (len > nl + 1 && strncmp(p, t->name, nl) == 0 && p[nl] == '=') {
			snprintf(t->owner, sizeof(t->owner), "%.*s", (int)(len - nl - 1), p + nl + 1);
			key = "TENANT_OWNERS";
		}
		p += len;
		p += strspn(p, ", \t");
	}
	t->owner_uid = (uid_t)-1;
	t->owner_gid = t->admit_gid = (gid_t)-1;
	if (!t->owner[0])
		return 0;
	if (ffd_parse_owner(t->owner, &t->owner_uid, &t->owner_gid) < 0) {
		fprintf(stderr, "faasflowd: %s: owner '%s' of tenant '%s': no such user or group; "
		        "expected \"user[:group]\" (names or numeric ids)\n", key, t->owner, t->name);
		return -1;
	}
	if (strchr(t->owner, ':'))
		t->admit_gid = t->owner_gid;
	return 0;
}

/* Give path to the tenant's owner (also when re-attaching: the configuration wins). */
static int apply_owner(const struct ffd_tenant *t, const char *path)
{
	struct stat st;

	if (!t->owner[0])
		return 0;
	if (stat(path, &st) == 0 &&
	    (t->owner_uid == (uid_t)-1 || st.st_uid == t->owner_uid) &&
	    (t->owner_gid == (gid_t)-1 || st.st_gid == t->owner_gid))
		return 0;
	if (chown(path, t->owner_uid, t->owner_gid) < 0) {
		fprintf(stderr, "faasflowd: cannot give %s to %s (owner of tenant '%s'): %s; run "
		        "faasflowd as root, or as that user with OWNER/TENANT_OWNERS unset, or "
		        "`chown %s %s` once\n", path, t->owner, t->name, strerror(errno), t->owner,
		        path);
		return -1;
	}
	return 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A region file owned by neither this coordinator's user, root, nor the tenant's owner was
 * made by somebody else (a user who could write the region's directory while we were
 * stopped): whoever made it may hold it open and read every payload, so it is never used. */
static bool region_foreign(const struct ffd_tenant *t)
{
	struct stat st;

	if (fstat(t->r.fd, &st) < 0 || st.st_uid == geteuid() || st.st_uid == 0 ||
	    (t->owner_uid != (uid_t)-1 && st.st_uid == t->owner_uid))
		return false;
	log_warnx("region %s belongs to uid %u: not this coordinator's user (uid %u), root nor "
	          "the tenant's owner; made by somebody else, it is replaced by a new one",
	          t->region_path, (unsigned)st.st_uid, (unsigned)geteuid());
	return true;
}

/* A socket file already there: refuse if a coordinator of ours answers on it, remove it if
 * stale. One that a process of another user answers on is an impostor (a shared, sticky
 * SOCKET_DIR lets any user bind the path while we are stopped; shims refuse it, see
 * preload/trust.c): the path is taken back. */
static int check_stale_socket(struct ffd_tenant *t, const struct sockaddr_un *sa)
{
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	struct stat st;
	int fd, rc;

	if (lstat(t->sock_path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "faasflowd: %s exists and is not a socket; remove it or change "
		        "SOCKET_DIR\n", t->sock_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == 0 &&
	    cr.uid != geteuid() && cr.uid != 0) {
		close(fd);
		log_warnx("%s is held by pid %d of uid %u, not this coordinator's user (uid %u): "
		          "a process of another user bound the path; taking it back", t->sock_path,
		          (int)cr.pid, (unsigned)cr.uid, (unsigned)geteuid());
		if (unlink(t->sock_path) < 0) {
			fprintf(stderr, "faasflowd: cannot take %s back from pid %d (uid %u): %s; "
			        "stop that process or remove the socket as root\n", t->sock_path,
			        (int)cr.pid, (unsigned)cr.uid, strerror(errno));
			return -1;
		}
		return 0;
	}
	close(fd);
	if (rc == 0) {
		fprintf(stderr, "faasflowd: another faasflowd is already running for tenant '%s' "
		        "(it answers on %s); stop it first\n", t->name, t->sock_path);
		return -1;
	}
	log_info("removing stale socket %s", t->sock_path);
	if (unlink(t->sock_path) < 0 && errno != ENOENT) {
		fprintf(stderr, "faasflowd: cannot remove stale socket %s: %s\n", t->sock_path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

static int open_socket(struct ffd_server *s, struct ffd_tenant *t, struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto err;
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0)
		goto err;
	t->listen_fd = fd;
	if (chmod(t->sock_path, s->cfg.socket_mode) < 0)
		goto err;
	if (apply_owner(t, t->sock_path) < 0)
		return -1;
	if (listen(fd, 128) < 0)
		goto err;
	return 0;
err:
	fprintf(stderr, "faasflowd: cannot listen on %s: %s\n", t->sock_path, strerror(errno));
	return -1;
}

/* A region on a disk filesystem works, but the kernel writes its dirty pages back to disk and
 * write-protects them again, so payload pages fault over and over and the disk takes every
 * byte. Say so once at start, with the remedy (the guide's tuning section). */
static void warn_if_on_disk(const char *path)
{
	struct statfs fs;

	if (statfs(path, &fs) < 0)
		return;
	if (fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC || fs.f_type == RAMFS_MAGIC)
		return;
	log_warnx("region %s is on a disk filesystem (type 0x%lx), not tmpfs: its pages are "
		  "written back to disk and fault again; for memory speed put it on tmpfs, e.g. "
		  "SHM_FILE_PATH = /dev/shm/faasflow_shm", path, (unsigned long)fs.f_type);
}

/* Create the tenant's region, or attach to the one a previous run left; replace one of another
 * layout or another user's. Messages go to stderr (start-up) and the log. */
static int region_setup(struct ffd_server *s, struct ffd_tenant *t, bool *re)
{
	char err[1024];

	for (int attempt = 0;; attempt++) {
		if (ff_region_create_or_attach(&t->r, t->region_path, s->cfg.shm_size,
		                               s->cfg.slot_size, s->cfg.shm_file_mode, t->name, re,
		                               err, sizeof(err)) < 0) {
			/* A region of another layout (an earlier release's): nobody of this release
			 * can use it, and its users see it replaced and map the new one. */
			if (errno == EPROTO && !attempt && unlink(t->region_path) == 0) {
				log_warnx("%s; replaced by a new region", err);
				continue;
			}
			fprintf(stderr, "faasflowd: %s\n", err);
			return -1;
		}
		if (!region_foreign(t))
			break;
		ff_region_close(&t->r);
		if (attempt || unlink(t->region_path) < 0) {
			fprintf(stderr, "faasflowd: region %s belongs to another user and cannot be "
			        "replaced%s%s; remove it as root\n", t->region_path,
			        attempt ? "" : ": ", attempt ? "" : strerror(errno));
			return -1;
		}
	}
	t->have_region = true;
	/* (faults on a region shrunk under us become a lost region, not a crash: busguard.h) */
	ff_busguard_add(t->r.base, t->r.size, false);
	if (apply_owner(t, t->region_path) < 0)
		return -1;
	if (ffd_leases_init(t) < 0) {
		fprintf(stderr, "faasflowd: out of memory for the slot table of %s\n", t->region_path);
		return -1;
	}
	atomic_store(&t->r.hdr->enabled, s->cfg.enabled ? 1 : 0);
	atomic_store(&t->r.hdr->daemon_pid, (uint32_t)getpid());
	atomic_fetch_add(&t->r.hdr->daemon_epoch, 1);
	ffd_threshold_publish(s, t, *re);
	return 0;
}

/* Every tick: a region file shrunk under a running system (an operator's `truncate` or
 * `> file`) lost the pages past its new end for every process that maps it; faults on them are
 * zero pages now (busguard.h), in the shims as here. The payloads it held are gone and their
 * connections reset. A new region takes its place, and every client registers again (its
 * control connection is closed) to map it. A file deleted or renamed away is left alone: its
 * mappings stay whole, and transfers through it complete. */
void ffd_tenant_region_check(struct ffd_server *s, struct ffd_tenant *t)
{
	struct ffd_client *c, *tmp;
	struct ff_region old;
	char real[PATH_MAX];
	struct stat st;
	bool re = false;

	if (!t->have_region)
		return;
	if (t->renew_at_ns) {
		if (ffd_now_ns() < t->renew_at_ns)
			return;
	} else if (!ff_busguard_lost(t->r.base) &&
		   !(fstat(t->r.fd, &st) == 0 && (uint64_t)st.st_size < t->r.size) &&
		   ff_region_tail_ok(&t->r)) {
		return;
	} else {
		log_errx("region %s was truncated while in use (now %lld bytes of %llu; its last "
			 "page %s): the payloads it held are lost and their connections reset; "
			 "replacing it with a new region. Never truncate or rewrite the region file "
			 "of a running faasflowd (stop it first)", t->region_path,
			 (long long)(fstat(t->r.fd, &st) == 0 ? st.st_size : -1),
			 (unsigned long long)t->r.size,
			 ff_busguard_lost(t->r.base) ? "gone" : "overwritten or gone");
		HASH_ITER(hh_fd, s->by_fd, c, tmp)
			if (c->t == t)
				ffd_client_drop(s, c);
		/* (the file itself: the path may be the guide's symbolic link to a tmpfs) */
		if (!realpath(t->region_path, real) || (unlink(real) < 0 && errno != ENOENT))
			log_warn("cannot remove the truncated region %s", t->region_path);
	}
	/* Our own mapping of the old file lets go of its pages (zero pages of ours in their
	 * place, so the rest of the daemon keeps working on it): else it would hold them, and a
	 * new region on the same tmpfs might never fit. */
	if (t->r.fd >= 0) {
		if (mmap(t->r.base, t->r.size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
			log_warn("cannot let go of the old region's pages");
		close(t->r.fd);
		t->r.fd = -1;
	}
	old = t->r;
	ffd_leases_free(t);
	if (region_setup(s, t, &re) == 0) {
		ff_busguard_remove(old.base);
		ff_region_close(&old);
		t->renew_at_ns = 0;
		log_info("tenant %s: new region %s (%llu MiB)", t->name, t->region_path,
			 (unsigned long long)(t->r.hdr->region_size >> 20));
		return;
	}
	/* No new region yet (its filesystem full: processes that still map the old file hold
	 * its pages until they let go of it). The old mapping stays, its lost pages zero, so
	 * everything else keeps working; connections stay plain TCP meanwhile. */
	if (t->r.base && t->r.base != old.base) {
		ff_busguard_remove(t->r.base);
		ff_region_close(&t->r);
	}
	t->r = old;
	t->have_region = true;
	if (ffd_leases_init(t) < 0)
		log_errx("tenant %s: out of memory for the slot table", t->name);
	t->renew_at_ns = ffd_now_ns() + 5ull * 1000 * 1000 * 1000;
	log_errx("tenant %s: no new region yet (see above); connections stay plain TCP, trying "
		 "again in 5 s", t->name);
}

static int tenant_open(struct ffd_server *s, struct ffd_tenant *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool re = false;

	t->listen_fd = -1;
	snprintf(s->cfg.tenant, sizeof(s->cfg.tenant), "%s", t->name);
	if (ff_config_socket_path(&s->cfg, t->sock_path, sizeof(t->sock_path)) < 0 ||
	    strlen(t->sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "faasflowd: socket path for tenant '%s' in SOCKET_DIR %s is too long "
		        "(at most %zu bytes)\n", t->name, s->cfg.socket_dir, sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, t->sock_path, strlen(t->sock_path) + 1);
	if (ff_config_region_path(&s->cfg, t->name, t->region_path, sizeof(t->region_path)) < 0) {
		fprintf(stderr, "faasflowd: region path for tenant '%s' is too long\n", t->name);
		return -1;
	}
	if (mkdir_p(s->cfg.socket_dir) < 0) {
		fprintf(stderr, "faasflowd: cannot create SOCKET_DIR %s: %s\n", s->cfg.socket_dir,
		        strerror(errno));
		return -1;
	}
	if (check_stale_socket(t, &sa) < 0 || resolve_owner(s, t) < 0)
		return -1;
	if (region_setup(s, t, &re) < 0)
		return -1;
	if (open_socket(s, t, &sa) < 0)
		return -1;
	ffd_ep_restore(t);
	log_info("tenant %s: %s region %s (%llu MiB, %llu slots of %llu KiB), socket %s",
	         t->name, re ? "re-attached" : "created", t->region_path,
	         (unsigned long long)(t->r.hdr->region_size >> 20),
	         (unsigned long long)t->r.hdr->slot_count,
	         (unsigned long long)(t->r.hdr->slot_size >> 10), t->sock_path);
	warn_if_on_disk(t->region_path);
	return 0;
}

static bool tenant_known(const struct ffd_server *s, const char *name)
{
	for (unsigned i = 0; i < s->ntenants; i++)
		if (strcmp(s->tenants[i].name, name) == 0)
			return true;
	return false;
}

static int add_tenant(struct ffd_server *s, const char *name, size_t len)
{
	if (len == 0 || tenant_known(s, name))
		return 0;
	if (len >= FF_NAME_MAX || s->ntenants >= FFD_MAX_TENANTS) {
		fprintf(stderr, "faasflowd: TENANTS: '%.*s' is too long or there are more than %d "
		        "tenants\n", (int)len, name, FFD_MAX_TENANTS);
		return -1;
	}
	memcpy(s->tenants[s->ntenants].name, name, len);
	s->tenants[s->ntenants].name[len] = '\0';
	s->tenants[s->ntenants].listen_fd = -1;
	s->ntenants++;
	return 0;
}

int ffd_tenants_open(struct ffd_server *s)
{
	char tenant[FF_NAME_MAX];
	const char *p = s->cfg.tenants_raw;

	snprintf(tenant, sizeof(tenant), "%s", s->cfg.tenant);
	if (add_tenant(s, tenant, strlen(tenant)) < 0)
		return -1;
	while (*p) {
		size_t n = strcspn(p, ", \t");
		char name[FF_NAME_MAX * 2];

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
		         p);
		if (add_tenant(s, name, n) < 0)
			return -1;
		p += n;
		p += strspn(p, ", \t");
	}
	for (p = s->cfg.tenant_owners; *p; p += strspn(p, ", \t")) {
		size_t n = strcspn(p, ", \t"), nl = strcspn(p, "=");
		char name[FF_NAME_MAX];

		snprintf(name, sizeof(name), "%.*s", (int)(nl < n ? nl : n), p);
		if (!tenant_known(s, name))
			log_warnx("TENANT_OWNERS names tenant '%s', which is not served (TENANT, "
			          "TENANTS)", name);
		p += n;
	}
	for (unsigned i = 0; i < s->ntenants; i++) {
		if (tenant_open(s, &s->tenants[i]) < 0) {
			snprintf(s->cfg.tenant, sizeof(s->cfg.tenant), "%s", tenant);
			return -1;
		}
	}
	snprintf(s->cfg.tenant, sizeof(s->cfg.tenant), "%s", tenant);
	return 0;
}

void ffd_tenants_close(struct ffd_server *s)
{
	for (unsigned i = 0; i < s->ntenants; i++) {
		struct ffd_tenant *t = &s->tenants[i];

		if (t->listen_fd >= 0) {
			close(t->listen_fd);
			unlink(t->sock_path);
			t->listen_fd = -1;
		}
		if (t->have_region)
			ffd_ep_save(t);     /* a coordinator started again takes them back */
		ffd_ep_free_all(t);
		ffd_readers_free(t);
		if (t->have_region) {
			atomic_store(&t->r.hdr->daemon_pid, 0);
			ffd_leases_free(t);
			ff_region_close(&t->r);
			t->have_region = false;
		}
	}
}
