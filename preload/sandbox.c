/* Programs that sandbox themselves with seccomp (sshd's pre-authentication child, vsftpd)
 * allow only the system calls they make themselves: read, write, writev, poll, close... A
 * shim that then peeked with recvfrom(), sent with sendmsg() or asked the coordinator over
 * its socket got the process killed (SIGSYS). From the moment a process installs a filter
 * (prctl(PR_SET_SECCOMP) or seccomp(2) through syscall()), its upgraded connections are
 * served with the calls its own read() and write() imply:
 *   - writes go out as inline frames through writev()/write() (no slot, no doorbell, no
 *     control round trip, no setsockopt);
 *   - reads take frame headers out of the socket with read() and the payload with readv()
 *     straight into the caller's buffer; a doorbell's payload is copied from the region
 *     (plain memory) after the doorbell was read whole;
 *   - nothing polls busily (no sched_yield), nothing asks fcntl(): a read blocks or not as
 *     the socket does.
 * A filter the program inherited at exec (systemd, a container runtime) is left alone: such
 * filters are written for the whole program, shim included. Costs: no region for that
 * process's writes; while it blocks in such a read it holds the connection's reader lock
 * (the sandboxed programs known are single-threaded). */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "shim.h"
#include "sys.h"

_Atomic bool ff_sandboxed;

/* Not even a log line from here on: sshd's child has set RLIMIT_FSIZE to 0 by now (a write
 * to a log file would raise SIGXFSZ) and its filter kills what it did not list. The change
 * shows in the coordinator's counters instead: its writes count as inline frames. */
void ff_sandbox_enter(void)
{
	ff_log_mute();
	atomic_store(&ff_sandboxed, true);
}

int prctl(int option, ...);
int prctl(int option, ...)
{
	unsigned long a[4];
	va_list ap;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_SECCOMP)
		ff_sandbox_enter();
	return (int)ff_sys6(SYS_prctl, option, (long)a[0], (long)a[1], (long)a[2], (long)a[3], 0);
}

/* Bytes of a frame header still to come after the `have` at the front of the stash. */
static size_t header_need(const struct ff_conn *c)
{
	if (!c->rx_stash_len)
		return 1;
	switch (c->rx_stash[0]) {
	case FF_FRAME_INLINE:
	case FF_FRAME_URGENT:
		return FF_INLINE_HDR - c->rx_stash_len;
	case FF_FRAME_DOORBELL:
		return FF_DOORBELL_SIZE - c->rx_stash_len;
	default:
		return 0;
	}
}

/* One step: a hello or header piece, inline payload, or payload from a slot. Returns the
 * application bytes it delivered (0: frame bytes only), or -1/0 as read() does (*eof). */
static ssize_t step(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, size_t at,
		    size_t space, bool *eof)
{
	uint8_t skip[FF_HELLO_SIZE];
	struct iovec v[64];
	ssize_t r;

	if (c->rx_db_active) {
		struct ff_doorbell *db = &c->rx_db;
		size_t n = db->len - c->rx_db_done < space ? (size_t)(db->len - c->rx_db_done) : space;
		const uint8_t *src = ff_slot_ptr(ff_rg(), db->slot) + db->offset + c->rx_db_done;

		for (int k = ff_iov_sub(v, 64, iov, iovcnt, at, n), i = 0; i < k; i++) {
			memcpy(v[i].iov_base, src, v[i].iov_len);
			src += v[i].iov_len;
		}
		c->rx_db_done += n;
		ff_counter_add(&ff_rg()->hdr->c.rx_region_bytes, n);
		if (c->rx_db_done == db->len) {
			/* the doorbell's tail, if a read before the sandbox left it in the socket */
			while (c->rx_db_tail) {
				r = ff_sys_read(fd, skip, c->rx_db_tail < sizeof(skip) ? c->rx_db_tail : sizeof(skip));
				if (r <= 0)
					break;
				c->rx_db_tail = (uint8_t)(c->rx_db_tail - r);
			}
			c->rx_db_active = false;
			c->rx_db_done_count++;
			ff_slot_release(db->slot, db->gen);
		}
		return (ssize_t)n;
	}
	if (c->rx_inline_left) {
		size_t n = space < c->rx_inline_left ? space : (size_t)c->rx_inline_left;
		int k = ff_iov_sub(v, 64, iov, iovcnt, at, n);

		/* read() for one buffer: the call the program made (a filter that allows read
		 * need not allow readv) */
		r = k == 1 ? ff_real.read(fd, v[0].iov_base, v[0].iov_len) : ff_real.readv(fd, v, k);
		if (r > 0)
			c->rx_inline_left -= (uint64_t)r;
		*eof = r == 0;
		return r;
	}
	size_t need = header_need(c);
	if (!need)
		return ff_rx_broken(c, fd, "invalid frame on an upgraded connection");
	r = ff_real.read(fd, c->rx_stash + c->rx_stash_len, need);
	if (r <= 0) {
		*eof = r == 0;
		return r;
	}
	c->rx_stash_len = (uint8_t)(c->rx_stash_len + r);
	if (header_need(c))
		return 0;
	{
		struct ff_doorbell db;
		size_t hlen;
		uint64_t plen;
		struct ff_region *rg = ff_rg();
		int t = ff_rx_decode(c, c->rx_stash, c->rx_stash_len,
					rg ? rg->hdr->slot_size : UINT64_MAX,
					rg ? rg->hdr->slot_count : UINT32_MAX, &hlen, &plen, &db);

		c->rx_stash_len = 0;
		if (t == FF_FRAME_INLINE) {
			c->rx_inline_left = plen;
			return 0;
		}
		if (t == FF_FRAME_URGENT) {
			/* TCP's urgent byte comes next (ff_tx_urgent). With SO_OOBINLINE it is one
			 * byte of data; without, the kernel's read skips it (recv(MSG_OOB) takes
			 * it). Either way the read that met the marker stops here, at the mark, as
			 * TCP's read does. (Not told apart without SIOCATMARK, which a filter may not
			 * allow: an urgent byte superseded before it was read, data by then.) */
			if (atomic_load(&c->rx_oobinline))
				c->rx_inline_left = 1;
			c->rx_mark_stop = at > 0;
			return 0;
		}
		if (t != FF_FRAME_DOORBELL || !c->rx_region_ok || !rg ||
		    ff_slot_claim(&db, c->rx_key) < 0)
			return ff_rx_broken(c, fd, "invalid or stale frame on an upgraded connection");
		c->rx_db = db;
		c->rx_db_done = 0;
		c->rx_db_tail = 0;
		c->rx_db_active = true;
		return 0;
	}
}

/* What is there now, without waiting (poll is in every sandbox that reads a socket). */
static bool more_now(int fd, const struct ff_conn *c)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return c->rx_db_active || poll(&p, 1, 0) > 0;
}

ssize_t ff_sandbox_rx(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt)
{
	size_t space = ff_iov_len(iov, iovcnt), got = 0;
	bool eof = false;
	ssize_t r = 0;
	int saved;

	pthread_mutex_lock(&c->rx_lock);
	while (c->rx_hello_left) {       /* left by a read before the sandbox (rare) */
		uint8_t skip[FF_HELLO_SIZE];
		r = ff_sys_read(fd, skip, c->rx_hello_left);
		if (r <= 0)
			goto out;
		c->rx_hello_left = (uint8_t)(c->rx_hello_left - r);
	}
	if (c->rx_broken) {
		errno = ECONNRESET;
		r = -1;
		goto out;
	}
	while (got < space) {
		r = step(c, fd, iov, iovcnt, got, space - got, &eof);
		if (r < 0 || eof)
			break;
		got += (size_t)r;
		if (c->rx_mark_stop && got) {
			c->rx_mark_stop = false;
			break;
		}
		if (got && (got == space || !more_now(fd, c)))
			break;
	}
	if (got)
		r = (ssize_t)got;
out:
	saved = errno;
	pthread_mutex_unlock(&c->rx_lock);
	errno = saved;
	return r;
}

/* A direction still undecided in a sandbox is decided with read() alone (rx_start.c peeks
 * with recv(), which a filter may kill). The writer says in its pair entry how its direction
 * begins before its first byte (upgrade.c): raw, a hello, or nothing when it runs no shim.
 * When it has not said yet, one byte is read (blocking as the socket does), after which it has
 * said if it ever will: a hello's first byte, or the first byte of a plain stream, returned as
 * such. (A client's entry may come after the server's accept() returned: its absence proves
 * nothing before the first byte.) Returns true with *res the read's
 * result when this call read application bytes or nothing came (EAGAIN, end of file: still
 * undecided); false when the direction is decided and the caller reads on. The caller has
 * room for at least one byte (a read of nothing returns before). */
bool ff_sandbox_start(struct ff_conn *c, int fd, const struct iovec *iov, int iovcnt, ssize_t *res)
{
	int peer = c->is_client ? FF_PAIR_SERVER : FF_PAIR_CLIENT;
	bool known = c->tup_ok && ff_mapped();
	uint32_t said = known ? ff_pair_tx_of(ff_rg(), &c->tup, peer) : FF_PAIR_TX_UNKNOWN;
	uint8_t left = FF_HELLO_SIZE, b;
	ssize_t r;

	if (said == FF_PAIR_TX_UNKNOWN) {
		r = ff_real.read(fd, &b, 1);
		if (r <= 0) {
			*res = r;
			return true;
		}
		said = known ? ff_pair_tx_of(ff_rg(), &c->tup, peer) : FF_PAIR_TX_UNKNOWN;
		if (said != FF_PAIR_TX_HELLO) {
			ff_rx_set_raw(c, fd);
			for (int i = 0; i < iovcnt; i++) {
				if (iov[i].iov_len) {
					*(uint8_t *)iov[i].iov_base = b;
					break;
				}
			}
			*res = 1;
			return true;
		}
		if (b != (uint8_t)(FF_HELLO_MAGIC & 0xff)) {
			*res = ff_rx_broken(c, fd, "the peer said its direction begins with a hello, "
					    "and it did not");
			return true;
		}
		left = FF_HELLO_SIZE - 1;
	}
	if (said == FF_PAIR_TX_RAW) {
		ff_rx_set_raw(c, fd);
		return false;
	}
	/* a hello, said by the writer's entry in our region: the rest of it is skipped by
	 * ff_sandbox_rx before the first frame */
	c->rx_hello_left = left;
	c->rx_key = atomic_load(&c->rd_keys[0]);
	c->rx_region_ok = ff_mapped();
	atomic_store(&c->rx, FF_RX_FRAMED);
	ff_counter_add(&ff_rg()->hdr->c.upgrade_success, 1);
	return false;
}
