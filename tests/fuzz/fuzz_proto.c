/* libFuzzer target: control messages as the coordinator and the clients receive them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[FF_MSG_MAX];
	struct ff_msg_hdr h;
	const void *payload;
	size_t plen;
	char err[256];
	ssize_t n;

	for (int is_reply = 0; is_reply < 2; is_reply++) {
		int rc = ff_msg_decode(data, size, is_reply, &h, &payload, &plen, err, sizeof(err));

		if (rc) {
			if (rc != EMSGSIZE && rc != EPROTO && rc != EINVAL)
				abort();
			if (!memchr(err, '\0', sizeof(err)) || !err[0])
				abort();
			continue;
		}
		if (plen != size - sizeof(h) || (const uint8_t *)payload != data + sizeof(h) ||
		    h.type == 0 || h.type >= FF_MSG_TYPE_MAX || size > FF_MSG_MAX)
			abort();
		if ((h.type == FF_MSG_RETURN && !is_reply) ||
		    (h.type == FF_MSG_LEASE && is_reply && plen)) {
			uint32_t count;

			memcpy(&count, payload, 4);
			if (count > FF_LEASE_MAX || plen != 4 + 4 * (size_t)count)
				abort();
		}
		n = ff_msg_encode(again, sizeof(again), h.type, h.seq, h.status, payload, plen);
		if (n != (ssize_t)size || memcmp(again, data, size))
			abort();
		(void)ff_msg_type_name(h.type);
	}
	return 0;
}
