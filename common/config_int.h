/* Internal helpers of the configuration code (not part of the shared contract). */
#ifndef FAASFLOW_CONFIG_INT_H
#define FAASFLOW_CONFIG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* 1..65535, decimal */
int ff_parse_port(const char *s, uint16_t *port);
/* IPv4 / IPv6 literal or "localhost" (127.0.0.1); IPv4 stored v4-mapped */
int ff_parse_addr(const char *s, struct in6_addr *addr, int *family);
/* [A-Za-z0-9_.-]{1,63} */
bool ff_valid_name(const char *s);

#endif
