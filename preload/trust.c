/* Which coordinator the shim talks to. Whoever answers on the control socket names the region
 * the shim maps and is handed every payload's slot, so a process of another user that binds
 * the socket path (a shared, sticky SOCKET_DIR while the real coordinator is stopped) must not
 * be taken for it. Trusted: a coordinator running as root, as this process's own user, or as
 * OWNER's user. OWNER is resolved here without NSS (start-up may run inside another library's
 * constructor): a numeric uid, or a name looked up in /etc/passwd read with plain system
 * calls; a name the process's system lacks trusts nobody more. The region it names is then
 * checked against the id the coordinator gave (map_region in control.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

/* The uid a "user[:group]" string names: digits, or a name found in /etc/passwd. */
static bool owner_uid(const char *owner, uid_t *uid)
{
	char name[64], buf[4096], line[512];
	size_t nl = strcspn(owner, ":"), ll = 0;
	bool skip = false;
	ssize_t n;
	int fd;

	if (!nl || nl >= sizeof(name))
		return false;
	memcpy(name, owner, nl);
	name[nl] = '\0';
	if (strspn(name, "0123456789") == nl) {
		*uid = (uid_t)strtoul(name, NULL, 10);
		return true;
	}
	fd = ff_sys_open("/etc/passwd", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	while ((n = ff_sys_read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				else
					skip = true;       /* a line too long to be ours */
				continue;
			}
			line[ll] = '\0';
			/* name:password:uid:... */
			if (!skip && ll > nl + 1 && memcmp(line, name, nl) == 0 && line[nl] == ':') {
				const char *u = strchr(line + nl + 1, ':');
				if (u && u[1] >= '0' && u[1] <= '9') {
					*uid = (uid_t)strtoul(u + 1, NULL, 10);
					ff_sys_close(fd);
					return true;
				}
			}
			ll = 0;
			skip = false;
		}
	}
	ff_sys_close(fd);
	return false;
}

bool ff_coordinator_trusted(int fd, const char *path)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	uid_t ou;
	char why[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0) {
		snprintf(why, sizeof(why), "cannot ask who runs the coordinator on %s: %s", path,
			 ff_strerror(errno));
		ff_note_fallback(FF_FB_NO_COORD, why);
		return false;
	}
	if (cr.uid == 0 || cr.uid == geteuid() || cr.uid == getuid())
		return true;
	if (ff_proc.cfg.owner[0] && owner_uid(ff_proc.cfg.owner, &ou) && ou == cr.uid)
		return true;
	snprintf(why, sizeof(why), "the coordinator on %s runs as uid %u (pid %d): not root, not "
		 "this process's user (uid %u), not OWNER ('%s'); it is not trusted with this "
		 "process's payloads. If it is the real one, run it as root or set OWNER to its "
		 "user (a uid, or a name in this system's /etc/passwd)", path, (unsigned)cr.uid,
		 (int)cr.pid, (unsigned)geteuid(), ff_proc.cfg.owner);
	ff_note_fallback(FF_FB_NO_COORD, why);
	return false;
}
