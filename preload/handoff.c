/* Handing an upgraded connection's framing state to another image of the shim: across exec
 * (exec.c puts it in the environment) and to another process through SCM_RIGHTS (a small file
 * in SOCKET_DIR named after the socket's inode, written by the sender, taken by the receiver).
 * Without it the other side would read frames as raw bytes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

void ff_region_hex(char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", ff_region_id()[i]);
}

void ff_region_unhex(const char *hex, uint8_t out[16])
{
	memset(out, 0, 16);
	for (int i = 0; i < 16 && hex[2 * i] && hex[2 * i + 1]; i++) {
		unsigned b;
		if (sscanf(hex + 2 * i, "%2x", &b) == 1)
			out[i] = (uint8_t)b;
	}
}

/* The stash as text: 'x' and two hex digits a byte (up to FF_FRAME_PEEK - 1 bytes). */
#define STASH_HEX_WIDTH "257"
_Static_assert(2 * FF_FRAME_PEEK + 1 == 257, "STASH_HEX_WIDTH follows FF_FRAME_PEEK");

static const char *stash_hex(const struct ff_conn *c, char out[2 * FF_FRAME_PEEK + 2])
{
	out[0] = 'x';      /* never empty, so the field always parses */
	for (unsigned i = 0; i < c->rx_stash_len; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", c->rx_stash[i]);
	out[1 + 2 * c->rx_stash_len] = 0;
	return out;
}

size_t ff_state_encode(struct ff_conn *c, char *out, size_t cap)
{
	char sh[2 * FF_FRAME_PEEK + 2];
	int n;

	/* A payload half read goes with the connection: the coordinator must not give its slot
	 * back to the writer when this process exits or execs. */
	if (c->kind == FF_KIND_CONN && c->rx_db_active && ff_mapped())
		atomic_store(&ff_rg()->meta[c->rx_db.slot].reader, FF_READER_HANDOVER);
	/* The next image, or the process the socket goes to, writes after our run's bytes. */
	if (c->kind == FF_KIND_CONN) {
		pthread_mutex_lock(&c->tx_lock);
		ff_tx_run_end(c);
		c->tx_shared = true;    /* two writers from now on, perhaps */
		pthread_mutex_unlock(&c->tx_lock);
	}

	if (c->kind == FF_KIND_LISTENER)
		n = snprintf(out, cap, "L;");
	else if (!ff_conn_all_raw(c))
		/* undecided directions too: a connection accepted and handed on before its first
		 * read (sshd's re-exec, multiprocessing, Node's cluster) still starts with the
		 * peer's hello, which the next image must take out */
		n = snprintf(out, cap,
			"C:%d:%d:%d:%d:%" PRIu64 ":%" PRIu64 ":%d:%u:%u:%" PRIu64 ":%" PRIu64 ":%" PRIu64
			":%u:%u:%u:%s;",
			atomic_load(&c->tx), atomic_load(&c->rx), c->rx_region_ok, c->is_client,
			c->tx_inline_owed, c->rx_inline_left, c->rx_db_active, c->rx_db.slot,
			c->rx_db.gen, c->rx_db.offset, c->rx_db.len, c->rx_db_done, c->tx_key, c->rx_key,
			c->rx_db_tail, stash_hex(c, sh));
	else
		return 0;
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void restore_listener(int fd)
{
	struct ff_conn *c;
	socklen_t l;

	if (!ff_ctl_ensure() || !(c = ff_conn_new(FF_KIND_LISTENER)))
		return;
	l = sizeof(c->laddr);
	if (getsockname(fd, (struct sockaddr *)&c->laddr, &l) < 0) {
		ff_conn_discard(c);
		return;
	}
	ff_listener_learn(c, fd);
	ff_fd_attach(fd, c);
	ff_ctl_listen(c, true);
}

void ff_state_restore(int fd, const char *s, const uint8_t region[16])
{
	int tx, rx, rok, client, dba;
	uint64_t owed, inl, off, len, done;
	unsigned slot, gen, txk, rxk, tail;
	char sh[2 * FF_FRAME_PEEK + 2];
	struct stat st;
	struct ff_conn *c;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	if (s[0] == 'L') {
		restore_listener(fd);
		return;
	}
	if (sscanf(s, "C:%d:%d:%d:%d:%" SCNu64 ":%" SCNu64 ":%d:%u:%u:%" SCNu64 ":%" SCNu64 ":%" SCNu64
		   ":%u:%u:%u:%" STASH_HEX_WIDTH "[x0-9a-f]", &tx, &rx, &rok, &client, &owed, &inl, &dba,
		   &slot, &gen,
		   &off, &len, &done, &txk, &rxk, &tail, sh) != 16 || sh[0] != 'x' ||
	    !(c = ff_conn_new(FF_KIND_CONN)))
		return;
	if ((rok || tx != FF_TX_RAW) && !ff_ctl_ensure())
		log_warnx("fd %d was upgraded elsewhere but the coordinator is unreachable", fd);
	if (!ff_mapped() || memcmp(region, ff_region_id(), 16) != 0) {
		/* Not the region the peer uses: frames stay, payloads go inline. */
		rok = 0;
		dba = 0;
		c->tx_inline_only = true;
	}
	atomic_store(&c->tx, tx);
	atomic_store(&c->rx, rx);
	c->tx_shared = true;         /* (see ff_state_encode) */
	c->rx_region_ok = rok && ff_mapped();
	c->is_client = client;
	c->tx_inline_owed = owed;
	c->rx_inline_left = inl;
	c->rx_db_active = dba && ff_mapped();
	c->rx_db.slot = slot;
	c->rx_db.gen = gen;
	c->rx_db.offset = off;
	c->rx_db.len = len;
	c->rx_db_done = done;
	c->tx_key = txk;
	c->rx_key = rxk;
	if (rx == FF_RX_FRAMED)
		ff_reader_name(c, rxk);
	if (rx == FF_RX_UNDECIDED || tx == FF_TX_UNDECIDED) {
		uint32_t out_key, in_key;
		if (ff_conn_tuple_keys(c, fd, NULL, NULL, &out_key, &in_key)) {
			if (rx == FF_RX_UNDECIDED)
				ff_reader_name(c, in_key);
			ff_pair_mine(c);      /* an undecided end is ours now */
		}
	}
	c->rx_db_tail = (uint8_t)(tail <= FF_DOORBELL_SIZE ? tail : FF_DOORBELL_SIZE);
	for (size_t i = 0; sh[1 + 2 * i] && sh[2 + 2 * i] && i < FF_FRAME_PEEK; i++) {
		unsigned b;
		if (sscanf(sh + 1 + 2 * i, "%2x", &b) == 1)
			c->rx_stash[c->rx_stash_len++] = (uint8_t)b;
	}
	if (c->rx_db_active) {
		/* Take the half-read payload over; if its slot moved on meanwhile, the bytes are
		 * gone and the stream cannot go on: fail as a reset, never hand out other bytes. */
		struct ff_doorbell db = c->rx_db;
		if (ff_slot_check(&db, rxk))
			atomic_store(&ff_rg()->meta[db.slot].reader, ff_ctl.client_id);
		else
			c->rx_broken = true;
	}
	ff_fd_attach(fd, c);
}

static int handoff_path(int fd, char *buf, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -1;
	return snprintf(buf, len, "%s/.faasflow_handoff_%llx_%llx", ff_proc.cfg.socket_dir,
			(unsigned long long)st.st_dev, (unsigned long long)st.st_ino) < (int)len ? 0 : -1;
}

static void for_each_passed_fd(const struct msghdr *msg, void (*fn)(int))
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			fn(fd);
		}
	}
}

static void put_one(int fd)
{
	struct ff_conn *c = ff_conn_get(fd);
	char path[PATH_MAX + 64], buf[512], hex[33];
	size_t n;
	int f;

	if (!c)
		return;
	ff_region_hex(hex);
	n = (size_t)snprintf(buf, sizeof(buf), "R%s;", hex);
	n += ff_state_encode(c, buf + n, sizeof(buf) - n);
	ff_conn_put(c);
	if (n <= 34 || handoff_path(fd, path, sizeof(path)) < 0)
		return;
	/* A stale file, or one planted by another user (SOCKET_DIR may be a shared /tmp), goes
	 * first: the state is written to a file that this process created, exclusively. */
	unlink(path);
	f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		log_warn("cannot hand fd %d over: %s", fd, path);
		return;
	}
	if (ff_sys_write(f, buf, n) != (ssize_t)n)
		log_warn("cannot hand fd %d over: %s", fd, path);
	ff_sys_close(f);
}

/* Only a file that root or this process's user wrote, alone, can say what a connection is:
 * the path is predictable, and another local user could plant one to make this process frame
 * its bytes to a program without the shim. */
static bool handoff_trusted(int f, const char *path)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(f, &st) < 0)
		return false;
	if (S_ISREG(st.st_mode) && (st.st_uid == 0 || st.st_uid == me) && !(st.st_mode & 022) &&
	    st.st_nlink == 1)
		return true;
	log_warnx("hand-over file %s ignored: %s owned by uid %u, mode %04o, %u link(s) "
		  "(accepted: a regular file of root or of uid %u, writable by its owner only, one "
		  "link); the connection is handed over as plain TCP",
		  path, S_ISREG(st.st_mode) ? "a file" : "not a regular file", (unsigned)st.st_uid,
		  (unsigned)(st.st_mode & 07777), (unsigned)st.st_nlink, (unsigned)me);
	return false;
}

static void take_one(int fd)
{
	char path[PATH_MAX + 64], buf[512];
	uint8_t region[16];
	ssize_t n;
	int f;

	if (ff_fd_tracked(fd) || handoff_path(fd, path, sizeof(path)) < 0)
		return;
	/* (O_NONBLOCK: a FIFO planted at the path must not block the application.) */
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (f < 0)
		return;                  /* a plain connection: nothing was handed over */
	if (!handoff_trusted(f, path)) {
		ff_sys_close(f);
		return;
	}
	n = ff_sys_read(f, buf, sizeof(buf) - 1);
	ff_sys_close(f);
	unlink(path);
	if (n < 35 || buf[0] != 'R' || buf[33] != ';')
		return;
	buf[n] = 0;
	ff_region_unhex(buf + 1, region);
	ff_state_restore(fd, buf + 34, region);
}

bool ff_handoff_carried(const struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR((struct msghdr *)msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			return true;
	return false;
}

void ff_handoff_send(const struct msghdr *msg)
{
	FF_BUSY_SCOPE;

	for_each_passed_fd(msg, put_one);
}

void ff_handoff_recv(const struct msghdr *msg)
{
	FF_BUSY_SCOPE;

	for_each_passed_fd(msg, take_one);
}
