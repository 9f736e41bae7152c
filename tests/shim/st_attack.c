/* A raw client without the shim that speaks the frame format to a shim server: a valid hello
 * (it maps the region, so it knows the region id), one good 16-byte inline frame, then one bad
 * frame chosen by CASE. It then waits up to 5 s for the server to end the connection.
 *   st_attack PORTFILE REGION CASE
 * CASE: badsum slot-range len-range wrong-gen free-slot leased-slot steal inline-zero
 *       garbage-type foreign-region
 * wrong-gen, steal and leased-slot use a slot another process holds (FILLED, or LEASED).
 * Prints "attack=CASE slot=S gen=G end=eof|<errno>|timeout". */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "region.h"
#include "st.h"

static const char good[16] = "INLINE-OK-16BYTE";

/* The first slot in state `want` (any other process's); -1 when none. */
static int64_t find_slot(const struct ff_region *r, uint32_t want, uint32_t *gen)
{
	for (uint64_t s = 0; s < r->hdr->slot_count; s++) {
		uint32_t w = atomic_load(&r->meta[s].word);
		if (FF_SLOT_STATE(w) == want) {
			*gen = FF_SLOT_GEN(w);
			return (int64_t)s;
		}
	}
	return -1;
}

static size_t bad_frame(const struct ff_region *r, const char *c, uint8_t *f, int64_t *slot,
			uint32_t *gen)
{
	struct ff_doorbell *d = (struct ff_doorbell *)f;
	uint64_t ssz = r->hdr->slot_size, cnt = r->hdr->slot_count;

	*slot = 0;
	*gen = 0;
	if (!strcmp(c, "badsum")) {
		ff_doorbell_encode(d, 0, 0, 0, 100);
		d->check ^= 1;
	} else if (!strcmp(c, "slot-range")) {
		*slot = (int64_t)cnt;
		ff_doorbell_encode(d, (uint32_t)cnt, 0, 0, 100);
	} else if (!strcmp(c, "len-range")) {
		ff_doorbell_encode(d, 0, 0, ssz - 10, 100);
	} else if (!strcmp(c, "free-slot") || !strcmp(c, "leased-slot") ||
		   !strcmp(c, "wrong-gen") || !strcmp(c, "steal")) {
		uint32_t want = !strcmp(c, "free-slot") ? FF_SLOT_FREE :
				!strcmp(c, "leased-slot") ? FF_SLOT_LEASED : FF_SLOT_FILLED;
		uint64_t len = 100;
		*slot = find_slot(r, want, gen);
		if (*slot < 0)
			st_die("case %s: no slot in state %u to aim at", c, want);
		if (want == FF_SLOT_FILLED)
			len = atomic_load(&r->meta[*slot].len);
		if (!strcmp(c, "wrong-gen"))
			*gen = (*gen + 1) & FF_SLOT_GEN_MASK;
		ff_doorbell_encode(d, (uint32_t)*slot, *gen, 0, len ? len : 100);
	} else if (!strcmp(c, "inline-zero")) {
		ff_inline_encode((struct ff_inline_hdr *)f, 1);
		((struct ff_inline_hdr *)f)->len = 0;
		return FF_INLINE_HDR;
	} else if (!strcmp(c, "garbage-type")) {
		memset(f, 0x55, FF_DOORBELL_SIZE);
	} else if (!strcmp(c, "foreign-region")) {
		ff_doorbell_encode(d, 0, 0, 0, 100);
	} else {
		st_die("unknown case '%s'", c);
	}
	return FF_DOORBELL_SIZE;
}

int main(int argc, char **argv)
{
	struct ff_region r;
	struct ff_hello h;
	struct ff_inline_hdr ih;
	uint8_t id[16], frame[FF_DOORBELL_SIZE];
	char err[512], buf[4096];
	const char *end = "timeout";
	int64_t slot;
	uint32_t gen;
	size_t flen;
	int fd;

	st_prog = "st_attack";
	signal(SIGPIPE, SIG_IGN);   /* the server may reset the connection at any point below */
	if (argc != 4)
		st_die("usage: st_attack PORTFILE REGION CASE");
	if (ff_region_open(&r, argv[2], false, err, sizeof(err)) < 0)
		st_die("cannot open region %s: %s", argv[2], err);
	memcpy(id, r.hdr->region_id, 16);
	if (!strcmp(argv[3], "foreign-region"))
		id[0] ^= 0xff;
	flen = bad_frame(&r, argv[3], frame, &slot, &gen);
	fd = st_connect(st_read_port(argv[1]));
	ff_hello_encode(&h, id);
	ff_inline_encode(&ih, sizeof(good));
	if (st_write_all(fd, &h, sizeof(h)) < 0 || st_write_all(fd, &ih, sizeof(ih)) < 0 ||
	    st_write_all(fd, good, sizeof(good)) < 0 || st_write_all(fd, frame, flen) < 0)
		st_die_errno("sending frames");
	/* Some trailing bytes that must never be delivered either (the server may have reset the
	 * connection already: a failure here is expected). */
	memset(buf, 'X', 256);
	(void)st_write_all(fd, buf, 256);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n > 0)
			continue;
		end = n == 0 ? "eof" : strerrorname_np(errno);
		break;
	}
	printf("attack=%s slot=%lld gen=%u end=%s\n", argv[3], (long long)slot, gen, end);
	close(fd);
	return 0;
}
