/* A region file shrunk while it is mapped (an operator's `truncate` or `> file`, a tool that
 * rewrites it) makes every access past its new end raise SIGBUS, in whichever process touches
 * the page first: an application in the middle of a send, or the coordinator at its tick.
 * The guard turns such a fault into a lost region instead of a dead process: the faulting
 * mapping is replaced, whole, by private zero pages (the access is retried and succeeds), and
 * the mapping is marked lost. Its users then see nothing valid in it (zero magic, zero slot
 * words): a reader's claim check fails and the connection is reset, a writer sends the bytes
 * it still has inline, and nothing uses the mapping again.
 *
 * Faults anywhere else, and SIGBUS sent by kill(), go to the handler that was there before
 * (or to the default action). */
#ifndef FAASFLOW_BUSGUARD_H
#define FAASFLOW_BUSGUARD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* Guard [base, base + len), a mapping of a region. install: set up our own SIGBUS handler
 * (once; the shim), else the process's handler calls ff_busguard_handle() itself (faasflowd's
 * crash handler). Returns 0, or -1 when the table (16 mappings) is full or the handler cannot
 * be installed (the mapping is then used unguarded, as before). */
int ff_busguard_add(void *base, size_t len, bool install);
/* Forget the mapping at base (before it is unmapped). */
void ff_busguard_remove(const void *base);
/* Did a fault replace the mapping at base by zero pages? */
bool ff_busguard_lost(const void *base);
/* From a SIGBUS handler: a fault in a guarded mapping is dealt with (true: return from the
 * handler, the access is retried); anything else is the caller's (false). Async-signal-safe. */
bool ff_busguard_handle(const siginfo_t *si);

#endif
