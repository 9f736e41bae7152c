/* faasflowd: the coordinator. Flags, configuration, start-up and reload. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"

static void usage(FILE *f)
{
	fprintf(f,
	    "Usage: faasflowd [OPTION]...\n"
	    "The faasflow-shm coordinator: creates the shared memory region, leases its slots,\n"
	    "keeps the registry of live endpoints and serves faasflowctl.\n\n"
	    "  -c, --config FILE      configuration file (default $" FF_ENV_CONFIG " or "
	    FF_DEFAULT_CONFIG_FILE ")\n"
	    "  -f, --foreground       stay in the foreground (default; systemd Type=notify)\n"
	    "  -d, --daemon           detach once the sockets are ready\n"
	    "  -s, --set KEY=VALUE    override a configuration key (repeatable, wins over file\n"
	    "                         and " FF_ENV_PREFIX "<KEY> environment)\n"
	    "  -m, --metrics-listen [ADDR:]PORT\n"
	    "                         serve Prometheus metrics at http://ADDR:PORT/metrics\n"
	    "                         (ADDR defaults to 127.0.0.1; same as METRICS_LISTEN)\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n\n"
	    "Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop cleanly.\n");
}

/* defaults -> file -> environment -> --set flags */
static int build_config(const struct ffd_server *s, struct ff_config *cfg)
{
	char err[1024];

	if (ff_config_load(cfg, s->config_path, err, sizeof(err)) < 0) {
		log_errx("configuration: %s", err);
		fprintf(stderr, "faasflowd: %s\n", err);
		return -1;
	}
	for (int i = 0; i < s->nsets; i++) {
		char key[128];
		const char *eq = strchr(s->sets[i], '=');

		if (!eq || eq == s->sets[i] || (size_t)(eq - s->sets[i]) >= sizeof(key)) {
			fprintf(stderr, "faasflowd: --set '%s': expected KEY=VALUE\n", s->sets[i]);
			return -1;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - s->sets[i]), s->sets[i]);
		if (ff_config_set(cfg, key, eq + 1, err, sizeof(err)) < 0) {
			fprintf(stderr, "faasflowd: --set: %s\n", err);
			return -1;
		}
	}
	return 0;
}

#define RESTART_STR(field, key) do { if (strcmp(n.field, o->field)) \
	log_warnx("reload: %s changed; ignored until restart", key); } while (0)
#define RESTART_NUM(field, key) do { if (n.field != o->field) \
	log_warnx("reload: %s changed; ignored until restart", key); } while (0)

/* SIGHUP: re-read file and environment, reapply --set. Applies ENABLE_SHARED_MEMORY,
 * LOG_LEVEL, THRESHOLD (published at once; auto measures, about 0.1 s, if this run has not),
 * QUOTA, LEASE_BATCH, ALLOW_UIDS, ALLOW_GIDS; sizes and paths need a restart. */
int ffd_reload(struct ffd_server *s)
{
	static struct ff_config n;
	struct ff_config *o = &s->cfg;

	if (build_config(s, &n) < 0) {
		log_errx("reload failed; keeping the running configuration");
		return -1;
	}
	if (n.enabled != o->enabled) {
		for (unsigned i = 0; i < s->ntenants; i++)
			atomic_store(&s->tenants[i].r.hdr->enabled, n.enabled ? 1 : 0);
		log_info("reload: ENABLE_SHARED_MEMORY %s -> %s", o->enabled ? "true" : "false",
		         n.enabled ? "true" : "false");
	}
	if (n.log_level != o->log_level) {
		log_info("reload: LOG_LEVEL %s -> %s", ff_log_level_name(o->log_level),
		         ff_log_level_name(n.log_level));
		ff_log_set_level(n.log_level);
	}
	if (n.threshold != o->threshold) {
		o->threshold = n.threshold;
		for (unsigned i = 0; i < s->ntenants; i++)
			if (s->tenants[i].have_region)
				ffd_threshold_publish(s, &s->tenants[i], false);
		if (s->ntenants && s->tenants[0].have_region) {
			char text[320];

			ffm_threshold_text(&s->tenants[0].r.hdr->thr, text, sizeof(text));
			log_info("reload: THRESHOLD %s", text);
		}
	}
	if (n.quota != o->quota)
		log_info("reload: QUOTA %u -> %u", o->quota, n.quota);
	if (n.lease_batch != o->lease_batch)
		log_info("reload: LEASE_BATCH %u -> %u", o->lease_batch, n.lease_batch);
	if (n.nallow_uids != o->nallow_uids || n.nallow_gids != o->nallow_gids ||
	    memcmp(n.allow_uids, o->allow_uids, sizeof(n.allow_uids)) ||
	    memcmp(n.allow_gids, o->allow_gids, sizeof(n.allow_gids)))
		log_info("reload: ALLOW_UIDS / ALLOW_GIDS changed (new connections)");
	RESTART_NUM(shm_size, "SHM_SIZE");
	RESTART_NUM(slot_size, "SLOT_SIZE");
	RESTART_STR(shm_file_path, "SHM_FILE_PATH");
	RESTART_STR(socket_dir, "SOCKET_DIR");
	RESTART_NUM(shm_file_mode, "SHM_FILE_MODE");
	RESTART_NUM(socket_mode, "SOCKET_MODE");
	RESTART_STR(owner, "OWNER");
	RESTART_STR(tenant, "TENANT");
	RESTART_STR(tenants_raw, "TENANTS");
	RESTART_STR(tenant_owners, "TENANT_OWNERS");
	RESTART_STR(log_file, "LOG_FILE");
	RESTART_STR(metrics_listen, "METRICS_LISTEN");
	o->enabled = n.enabled;
	o->log_level = n.log_level;
	o->quota = n.quota;
	o->lease_batch = n.lease_batch;
	memcpy(o->allow_uids, n.allow_uids, sizeof(o->allow_uids));
	o->nallow_uids = n.nallow_uids;
	memcpy(o->allow_gids, n.allow_gids, sizeof(o->allow_gids));
	o->nallow_gids = n.nallow_gids;
	log_info("configuration reloaded");
	return 0;
}

/* --daemon: fork once the sockets listen; the parent exits 0, the child carries on. */
static int detach(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "faasflowd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if (chdir("/") < 0)
		return -1;
	return 0;
}

/* --metrics-listen PORT | :PORT | ADDR:PORT -> --set METRICS_LISTEN=ADDR:PORT */
static int metrics_flag(struct ffd_server *s, const char *v)
{
	static char set[160];
	const char *port = v[0] == ':' ? v + 1 : v;

	if (port[0] && strspn(port, "0123456789") == strlen(port))
		snprintf(set, sizeof(set), "METRICS_LISTEN=127.0.0.1:%s", port);
	else if (snprintf(set, sizeof(set), "METRICS_LISTEN=%s", v) >= (int)sizeof(set))
		goto bad;
	s->sets[s->nsets++] = set;
	return 0;
bad:
	fprintf(stderr, "faasflowd: --metrics-listen '%s': expected [ADDR:]PORT such as 9464, "
	        "127.0.0.1:9464 or [::1]:9464\n", v);
	return -1;
}

static int parse_flags(struct ffd_server *s, int argc, char **argv, bool *daemonize)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "set", required_argument, NULL, 's' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	s->sets = calloc((size_t)argc + 1, sizeof(char *));
	if (!s->sets)
		return 1;
	while ((o = getopt_long(argc, argv, "c:fds:m:Vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': s->config_path = optarg; break;
		case 'f': *daemonize = false; break;
		case 'd': *daemonize = true; break;
		case 's': s->sets[s->nsets++] = optarg; break;
		case 'm':
			if (metrics_flag(s, optarg) < 0)
				return 1;
			break;
		case 'V': printf("faasflowd %s\n", FF_PACKAGE_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faasflowd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct ffd_server s = { .epfd = -1, .sigfd = -1, .timerfd = -1, .rdepfd = -1, .rx_fd = -1 };
	bool daemonize = false;
	int rc = 1;

	ff_log_open("faasflowd", NULL, FF_LOG_INFO);
	if (parse_flags(&s, argc, argv, &daemonize))
		goto out;
	if (build_config(&s, &s.cfg) < 0)
		goto out;
	if (ff_log_open("faasflowd", s.cfg.log_file[0] ? s.cfg.log_file : NULL,
	                s.cfg.log_level) < 0)
		fprintf(stderr, "faasflowd: cannot open LOG_FILE %s (%s); logging to stderr\n",
		        s.cfg.log_file, strerror(errno));
	ff_log_use_syslog(s.cfg.log_syslog);
	ffd_crash_handlers_install();
	if (ffd_server_init(&s) < 0)
		goto fini;
	if (daemonize) {
		if (detach() < 0 || ffd_server_after_fork(&s) < 0) {
			fprintf(stderr, "faasflowd: --daemon: %s\n", strerror(errno));
			goto fini;
		}
		for (unsigned i = 0; i < s.ntenants; i++)
			atomic_store(&s.tenants[i].r.hdr->daemon_pid, (uint32_t)getpid());
	}
	for (unsigned i = 0; i < s.ntenants; i++)
		log_info("ready: tenant %s on %s (pid %d)", s.tenants[i].name,
		         s.tenants[i].sock_path, (int)getpid());
	ffd_notify("READY=1");
	if (ffd_server_run(&s) == 0)
		rc = 0;
	ffd_notify("STOPPING=1");
fini:
	ffd_server_fini(&s);
out:
	free(s.sets);
	ff_log_close();
	return rc;
}
