/* The public API (faasflow.h). */
#include "faasflow.h"
#include "shim.h"

const char *faasflow_version(void)
{
	return FF_PACKAGE_VERSION;
}

int faasflow_fd_status(int fd)
{
	struct ff_conn *c;
	int st = 0;

	ff_init();
	if (!(c = ff_conn_get(fd)))
		return 0;
	if (c->kind == FF_KIND_CONN) {
		int tx = atomic_load(&c->tx);
		if (tx == FF_TX_HELLO || tx == FF_TX_FRAMED)
			st |= FAASFLOW_TX_REGION;
		if (atomic_load(&c->rx) == FF_RX_FRAMED)
			st |= FAASFLOW_RX_REGION;
	}
	ff_conn_put(c);
	return st;
}
