/* The connection state handed over at exec and with SCM_RIGHTS survives the text round trip
 * whole, at its limits: a stash of FF_FRAME_PEEK - 1 bytes (the start of a 128-byte doorbell),
 * 64-bit offsets, 32-bit keys. Linked with the shim's own objects: ff_state_encode() on one
 * connection, ff_state_restore() onto a socket, every field compared. Prints "handoff=ok" or
 * names the first field that differs. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "shim.h"

#define CHECK(field, fmt)                                                                  \
	do {                                                                               \
		if (a->field != b->field) {                                                \
			printf("handoff=bad field=" #field " sent=" fmt " got=" fmt "\n",       \
			       a->field, b->field);                                         \
			return 1;                                                          \
		}                                                                          \
	} while (0)

int main(void)
{
	static const uint8_t no_region[16];
	char text[1024];
	struct ff_conn *a, *b;
	size_t n;
	int sv[2];

	ff_start();     /* what a program's first connection does (the constructor does not) */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || !(a = ff_conn_new(FF_KIND_CONN))) {
		printf("handoff=setup-failed\n");
		return 1;
	}
	atomic_store(&a->tx, FF_TX_FRAMED);
	atomic_store(&a->rx, FF_RX_FRAMED);
	a->is_client = true;
	a->tx_inline_owed = 1u << 30;
	a->rx_inline_left = 0;
	a->tx_key = 4000000001u;
	a->rx_key = 4000000002u;
	a->rx_db_tail = FF_DOORBELL_SIZE;
	a->rx_stash_len = FF_FRAME_PEEK - 1;
	for (unsigned i = 0; i < a->rx_stash_len; i++)
		a->rx_stash[i] = (uint8_t)(0xd0 + i * 7);
	n = ff_state_encode(a, text, sizeof(text));
	if (!n) {
		printf("handoff=bad encode=empty\n");
		return 1;
	}
	/* no region mapped here: the restored connection keeps its frames, payloads inline */
	ff_state_restore(sv[1], text, no_region);
	b = ff_fd_peek(sv[1]);
	if (!b) {
		printf("handoff=bad restore=nothing len=%zu text=%s\n", n, text);
		return 1;
	}
	CHECK(is_client, "%d");
	CHECK(tx_inline_owed, "%lu");
	CHECK(rx_inline_left, "%lu");
	CHECK(tx_key, "%u");
	CHECK(rx_key, "%u");
	CHECK(rx_db_tail, "%u");
	CHECK(rx_stash_len, "%u");
	if (memcmp(a->rx_stash, b->rx_stash, a->rx_stash_len) != 0) {
		printf("handoff=bad field=rx_stash\n");
		return 1;
	}
	if (atomic_load(&a->tx) != atomic_load(&b->tx) || atomic_load(&a->rx) != atomic_load(&b->rx)) {
		printf("handoff=bad field=tx/rx\n");
		return 1;
	}
	printf("handoff=ok bytes=%zu stash=%u\n", n, b->rx_stash_len);
	return 0;
}
