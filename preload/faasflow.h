/* faasflow-shm public API, exported by libfaasflow_intercept.so (use it under LD_PRELOAD, or
 * link with -lfaasflow_intercept / pkg-config faasflow). Every call works without a
 * coordinator or region: it then falls back to ordinary memory and copies, so code that uses
 * it needs no second path.
 *
 * Zero-copy sending, the rules:
 *  1. faasflow_alloc(n) returns n bytes inside the shared region when it can (otherwise from
 *     malloc). Write the payload into it.
 *  2. send()/write() of (part of) that buffer on a connection to a shim peer moves no bytes:
 *     a doorbell names the slot and the reader gets the memory. On any other connection the
 *     bytes are copied as usual.
 *  3. After sending it, treat the buffer as read-only: the reader may still be reading it.
 *     Call faasflow_free() when you are done with it (at once is fine); the memory returns to
 *     the pool when both you have freed it and the reader has released it. Sending the same
 *     buffer again while the first send is still being read copies it (still correct).
 *  4. faasflow_free() of a pointer that faasflow_alloc() did not return, or a second free, is
 *     refused with -1 and errno EINVAL, and logged; nothing else happens.
 *
 * Zero-copy receiving:
 *  faasflow_recv_borrow(fd, &ptr, &len) returns 1 with ptr/len of the next payload (up to one
 *  slot's worth) mapped in place, or, when the next bytes are not a region payload (inline
 *  bytes, plain TCP), a malloc'd copy of up to FAASFLOW_BORROW_COPY_MAX bytes, read as recv()
 *  would. It returns 0 at end of stream and -1 with errno as recv() would (EAGAIN on a
 *  non-blocking socket with nothing to read). Every borrowed pointer must be given back with
 *  faasflow_recv_release(ptr); a second release or a foreign pointer gives -1, EINVAL. */
#ifndef FAASFLOW_H
#define FAASFLOW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAASFLOW_BORROW_COPY_MAX (1u << 20)

/* The library version, e.g. "0.1.0". */
const char *faasflow_version(void);

/* How a connected socket moves its bytes:
 *   FAASFLOW_TX_REGION: outgoing payloads may go through the shared region
 *   FAASFLOW_RX_REGION: incoming bytes arrive framed from a shim peer
 * 0 for plain TCP (or a socket the shim does not handle). */
#define FAASFLOW_TX_REGION 1
#define FAASFLOW_RX_REGION 2
int faasflow_fd_status(int fd);

void *faasflow_alloc(size_t n);
int faasflow_free(void *p);
/* 1 if p was allocated inside the region (zero-copy capable), 0 otherwise. */
int faasflow_in_region(const void *p);

int faasflow_recv_borrow(int fd, void **ptr, size_t *len);
int faasflow_recv_release(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
