/* faasflowctl: status, statistics, metrics, the on/off switch, endpoint and lease lists.
 * Exit status: 0 done, 1 usage or request error, 2 coordinator not running. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "metrics.h"

#define CTL_TIMEOUT_MS 2000

static void usage(FILE *f)
{
	fprintf(f,
	    "Usage: faasflowctl [--config FILE] [--tenant NAME] COMMAND\n"
	    "Inspect and steer the faasflow-shm coordinator (faasflowd).\n\n"
	    "Commands:\n"
	    "  status          region, slots, clients, endpoints, switch and counters (a table)\n"
	    "  stats --json    the same as one JSON object\n"
	    "  metrics         Prometheus text exposition\n"
	    "  enable          switch shared memory on (no restart needed)\n"
	    "  disable         switch shared memory off: every process falls back to TCP\n"
	    "  endpoints       live listening endpoints\n"
	    "  leases          slots out of the pool, with owner and state\n\n"
	    "Options:\n"
	    "  -c, --config FILE   configuration file (default $" FF_ENV_CONFIG " or "
	    FF_DEFAULT_CONFIG_FILE ")\n"
	    "  -t, --tenant NAME   which region / coordinator socket (default: TENANT)\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          print this help\n");
}

static const char *config_hint(const struct ctl *c)
{
	if (c->config_path)
		return c->config_path;
	if (getenv(FF_ENV_CONFIG))
		return getenv(FF_ENV_CONFIG);
	return FF_DEFAULT_CONFIG_FILE;
}

static int call(struct ctl *c, uint16_t type, const void *req, size_t reqlen, void *reply,
                size_t *replylen)
{
	int32_t status;

	if (ff_ctl_call(c->fd, type, req, reqlen, reply, replylen, &status, CTL_TIMEOUT_MS) < 0) {
		fprintf(stderr, "faasflowctl: %s request to %s failed: %s\n", ff_msg_type_name(type),
		        c->sock_path, strerror(errno));
		return -1;
	}
	if (status != 0) {
		fprintf(stderr, "faasflowctl: coordinator refused %s: %s\n", ff_msg_type_name(type),
		        strerror(status));
		return -1;
	}
	return 0;
}

/* Connect, register as a faasflowctl, map the region read-only. */
static int ctl_open(struct ctl *c)
{
	static uint8_t reply[FF_MSG_MAX];
	struct ff_register rq;
	char err[512];
	size_t n = sizeof(reply);

	if (ff_config_socket_path(&c->cfg, c->sock_path, sizeof(c->sock_path)) < 0) {
		fprintf(stderr, "faasflowctl: socket path in SOCKET_DIR %s is too long\n",
		        c->cfg.socket_dir);
		return 1;
	}
	c->fd = ff_ctl_connect(c->sock_path, CTL_TIMEOUT_MS);
	if (c->fd < 0 && (errno == EACCES || errno == EPERM)) {
		fprintf(stderr, "faasflowctl: no access to the coordinator's socket %s: %s (you are "
		        "uid %u, gid %u): run as its owner or root, or widen it with SOCKET_MODE = 0660 "
		        "and OWNER = <user>:<your group> (and ALLOW_GIDS) in faasflow.conf, then "
		        "restart faasflowd\n", c->sock_path, strerror(errno), (unsigned)geteuid(),
		        (unsigned)getegid());
		return 2;
	}
	if (c->fd < 0) {
		fprintf(stderr, "faasflowctl: coordinator not running: cannot connect to %s: %s "
		        "(start it with: faasflowd --config %s)\n", c->sock_path, strerror(errno),
		        config_hint(c));
		return 2;
	}
	memset(&rq, 0, sizeof(rq));
	rq.pid = (int32_t)getpid();
	rq.flags = FF_REG_CTL;
	snprintf(rq.tenant, sizeof(rq.tenant), "%s", c->cfg.tenant);
	if (call(c, FF_MSG_REGISTER, &rq, sizeof(rq), reply, &n) < 0)
		return 1;
	if (n < sizeof(c->reg)) {
		fprintf(stderr, "faasflowctl: short REGISTER reply from %s\n", c->sock_path);
		return 1;
	}
	memcpy(&c->reg, reply, sizeof(c->reg));
	c->reg.region_path[sizeof(c->reg.region_path) - 1] = '\0';
	if (ff_region_open(&c->r, c->reg.region_path, false, err, sizeof(err)) == 0) {
		c->have_region = true;
		c->resident_bytes = ffm_resident_bytes(c->r.base, c->r.size);
	} else {
		fprintf(stderr, "faasflowctl: warning: %s; region counters not shown\n", err);
	}
	return 0;
}

static int get_stats(struct ctl *c)
{
	static uint8_t reply[FF_MSG_MAX];
	size_t n = sizeof(reply);

	if (call(c, FF_MSG_STATS, NULL, 0, reply, &n) < 0)
		return -1;
	if (n < sizeof(c->st)) {
		fprintf(stderr, "faasflowctl: short STATS reply\n");
		return -1;
	}
	memcpy(&c->st, reply, sizeof(c->st));
	return 0;
}

static int cmd_list(struct ctl *c, uint16_t type)
{
	static uint8_t reply[FF_MSG_MAX];
	size_t plen = sizeof(reply);
	const uint8_t *p = reply;

	if (call(c, type, NULL, 0, reply, &plen) < 0)
		return 1;
	if (type == FF_MSG_LIST_ENDPOINTS) {
		static struct ff_endpoint_info e[FF_MSG_MAX / sizeof(struct ff_endpoint_info)];

		memcpy(e, p, plen);
		ctl_print_endpoints(stdout, e, plen / sizeof(e[0]));
	} else {
		static struct ff_lease_info l[FF_MSG_MAX / sizeof(struct ff_lease_info)];

		memcpy(l, p, plen);
		ctl_print_leases(stdout, l, plen / sizeof(l[0]));
	}
	return 0;
}

static int cmd_switch(struct ctl *c, bool on)
{
	static uint8_t reply[FF_MSG_MAX];
	struct ff_set_enabled rq = { .enabled = on ? 1 : 0 };
	size_t n = sizeof(reply);

	if (call(c, FF_MSG_SET_ENABLED, &rq, sizeof(rq), reply, &n) < 0)
		return 1;
	if (get_stats(c) < 0)
		return 1;
	printf("shared memory %s (tenant %s)\n", c->st.enabled ? "enabled" : "disabled",
	       c->cfg.tenant);
	return (c->st.enabled != 0) == on ? 0 : 1;
}

static int run(struct ctl *c, const char *cmd, int argc, char **argv)
{
	bool json = argc > 0 && strcmp(argv[0], "--json") == 0;
	int rc;

	if (strcmp(cmd, "stats") == 0 ? argc > 1 || (argc == 1 && !json) : argc > 0) {
		fprintf(stderr, "faasflowctl: unexpected argument '%s' to %s\n", argv[json], cmd);
		return 1;
	}
	rc = ctl_open(c);
	if (rc)
		return rc;
	if (strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0)
		return cmd_switch(c, cmd[0] == 'e');
	if (strcmp(cmd, "endpoints") == 0)
		return cmd_list(c, FF_MSG_LIST_ENDPOINTS);
	if (strcmp(cmd, "leases") == 0)
		return cmd_list(c, FF_MSG_LIST_LEASES);
	if (get_stats(c) < 0)
		return 1;
	if (strcmp(cmd, "status") == 0)
		ctl_print_status(stdout, c);
	else if (strcmp(cmd, "metrics") == 0)
		ctl_print_metrics(stdout, c);
	else if (json)
		ctl_print_json(stdout, c);
	else
		ctl_print_status(stdout, c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "tenant", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cmds[] = { "status", "stats", "metrics", "enable", "disable",
	                                    "endpoints", "leases" };
	static struct ctl c = { .fd = -1 };
	const char *tenant = NULL;
	char err[1024];
	int o, rc = 1;
	bool known = false;

	ff_log_open("faasflowctl", NULL, FF_LOG_WARN);
	while ((o = getopt_long(argc, argv, "+c:t:Vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': c.config_path = optarg; break;
		case 't': tenant = optarg; break;
		case 'V': printf("faasflowctl %s\n", FF_PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= strcmp(argv[optind], cmds[i]) == 0;
	if (!known) {
		fprintf(stderr, "faasflowctl: unknown command '%s'; expected status, stats --json, "
		        "metrics, enable, disable, endpoints or leases\n", argv[optind]);
		return 1;
	}
	if (ff_config_load(&c.cfg, c.config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "faasflowctl: %s\n", err);
		return 1;
	}
	if (tenant && ff_config_set(&c.cfg, "TENANT", tenant, err, sizeof(err)) < 0) {
		fprintf(stderr, "faasflowctl: --tenant: %s\n", err);
		return 1;
	}
	rc = run(&c, argv[optind], argc - optind - 1, argv + optind + 1);
	if (c.have_region)
		ff_region_close(&c.r);
	if (c.fd >= 0)
		close(c.fd);
	ff_log_close();
	return rc;
}
