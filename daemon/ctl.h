/* faasflowctl: what the commands gathered, and how it is printed. */
#ifndef FAASFLOW_CTL_H
#define FAASFLOW_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "proto.h"
#include "region.h"

struct ctl {
	struct ff_config cfg;
	const char *config_path;          /* as given, or NULL */
	char sock_path[PATH_MAX];
	int fd;
	struct ff_register_reply reg;
	struct ff_region r;
	bool have_region;
	struct ff_stats st;
	uint64_t resident_bytes;          /* mincore over the mapping */
};

/* ctl_format.c */
void ctl_human_size(uint64_t v, char *buf, size_t len);
void ctl_print_status(FILE *f, const struct ctl *c);
void ctl_print_json(FILE *f, const struct ctl *c);
void ctl_print_metrics(FILE *f, const struct ctl *c);
void ctl_print_endpoints(FILE *f, const struct ff_endpoint_info *e, size_t n);
void ctl_print_leases(FILE *f, const struct ff_lease_info *l, size_t n);

#endif
