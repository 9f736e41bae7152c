/* On an upgraded direction of a connection every byte travels in a frame.
 *   hello    (32 bytes, once, at offset 0 of the direction): magic, version, region id
 *   inline   (8-byte header + len payload bytes)
 *   doorbell (128 bytes: a 32-byte body, then zeros): "the next len bytes of this stream wait
 *            in slot S at offset O". It is longer than anything a reader takes from the socket
 *            before it knows the frame at the head (FF_SPEC_MAX): a doorbell is therefore never
 *            taken out whole ahead of its payload, and the socket stays readable until then.
 *            With FF_DB_RUN in its flags it opens a run: small writes that follow are appended
 *            to the same slot (its meta's `run` word counts them) until the reader first
 *            decodes the doorbell, which seals the run; len is then the run's final length.
 *   urgent   (8 bytes, the inline header with type FF_FRAME_URGENT and len 0): "the next byte
 *            of the stream is TCP's urgent byte (MSG_OOB)". The reader's kernel takes that byte
 *            out of the stream, unless the reader has SO_OOBINLINE or a later urgent byte made
 *            it ordinary data: then it is one byte of data.
 * All fields little-endian (the region is host-local, but the wire format is fixed anyway). */
#ifndef FAASFLOW_FRAME_H
#define FAASFLOW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FF_HELLO_MAGIC   0x4f4c4c4548464646ULL  /* "FFFHELLO" */
#define FF_HELLO_VERSION 2u
#define FF_HELLO_SIZE    32u
#define FF_INLINE_HDR    8u
#define FF_DOORBELL_BODY 32u
#define FF_DOORBELL_SIZE 128u
#define FF_FRAME_PEEK    128u  /* enough to classify and decode any frame header */
/* The most payload bytes a reader takes together with an unknown header in one call. */
#define FF_SPEC_MAX      (FF_DOORBELL_SIZE - FF_INLINE_HDR - 1u)
#define FF_INLINE_MAX    (1u << 30)

#define FF_DB_RUN        0x01u  /* ff_doorbell.flags: the slot holds a run (region.h) */

enum ff_frame_type { FF_FRAME_INLINE = 0xA1, FF_FRAME_DOORBELL = 0xD0, FF_FRAME_URGENT = 0xB2 };

struct ff_hello {
	uint64_t magic;
	uint16_t version;
	uint16_t flags;       /* 0 */
	uint32_t conn_key;    /* the sender's key for this direction: every slot it announces on
	                       * it carries the key in its meta; the receiver refuses the others */
	uint8_t  region_id[16];
} __attribute__((packed));

struct ff_inline_hdr {
	uint8_t  type;        /* FF_FRAME_INLINE */
	uint8_t  flags;
	uint16_t reserved;
	uint32_t len;         /* payload bytes that follow, 1..FF_INLINE_MAX */
} __attribute__((packed));

struct ff_doorbell {
	uint8_t  type;        /* FF_FRAME_DOORBELL */
	uint8_t  flags;
	uint16_t check;       /* checksum of the other 30 bytes */
	uint32_t slot;
	uint32_t gen;
	uint32_t reserved;
	uint64_t offset;      /* within the slot */
	uint64_t len;         /* payload bytes in the slot */
} __attribute__((packed));

_Static_assert(sizeof(struct ff_hello) == FF_HELLO_SIZE, "hello size");
_Static_assert(sizeof(struct ff_inline_hdr) == FF_INLINE_HDR, "inline size");
_Static_assert(sizeof(struct ff_doorbell) == FF_DOORBELL_BODY, "doorbell size");

void ff_hello_encode(struct ff_hello *h, const uint8_t region_id[16]);

/* Check n bytes at offset 0 of a direction against a hello.
 * Returns FF_HELLO_YES (whole, valid), FF_HELLO_PARTIAL (n < 32 and every byte so far matches
 * the magic/version), or FF_HELLO_NO. region_match is set for YES. */
enum { FF_HELLO_NO = 0, FF_HELLO_PARTIAL = 1, FF_HELLO_YES = 2 };
int ff_hello_check(const void *buf, size_t n, const uint8_t region_id[16], int *region_match);
/* The conn_key of a whole hello (FF_HELLO_SIZE bytes). */
uint32_t ff_hello_conn_key(const void *buf);

void ff_inline_encode(struct ff_inline_hdr *h, uint32_t len);
void ff_urgent_encode(struct ff_inline_hdr *h);
/* Writes FF_DOORBELL_SIZE bytes at out: the body, then zeros. */
void ff_doorbell_encode(void *out, uint32_t slot, uint32_t gen, uint64_t off, uint64_t len);
void ff_doorbell_encode_flags(void *out, uint32_t slot, uint32_t gen, uint64_t off, uint64_t len,
			      uint8_t flags);
uint16_t ff_doorbell_checksum(const struct ff_doorbell *d);

/* Decode the frame header at the front of n peeked bytes.
 * Returns FF_FRAME_INLINE, FF_FRAME_DOORBELL or FF_FRAME_URGENT (payload 0) with *hdr_len and
 * *payload_len set,
 * 0 when more bytes are needed, or -1 when the bytes are not a valid frame (bad type, zero or
 * oversized inline length, bad checksum, padding not zero, doorbell offset+len overflow or beyond slot_size,
 * slot >= slot_count). */
int ff_frame_decode(const void *buf, size_t n, uint64_t slot_size, uint64_t slot_count,
                    size_t *hdr_len, uint64_t *payload_len, struct ff_doorbell *db);

#endif
