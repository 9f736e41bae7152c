/* faasflow-shm public API: exported by libfaasflow_intercept.so. */
#ifndef FAASFLOW_H
#define FAASFLOW_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library version, e.g. "0.1.0". */
const char *faasflow_version(void);

/* How a connected socket moves its bytes:
 *   bit 0 (FAASFLOW_TX_REGION): outgoing payloads may go through the shared region
 *   bit 1 (FAASFLOW_RX_REGION): incoming bytes arrive framed from a shim peer
 * 0 for plain TCP (or a socket the shim does not handle). */
#define FAASFLOW_TX_REGION 1
#define FAASFLOW_RX_REGION 2
int faasflow_fd_status(int fd);

#ifdef __cplusplus
}
#endif
#endif
