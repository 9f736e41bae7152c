/* Configuration: every key with good and bad values, file parsing, environment order. */
#include "testutil.h"

#include <arpa/inet.h>
#include <sys/auxv.h>

#include "config.h"
#include "log.h"

static struct ff_config cfg;
static char err[2048];

static void set_ok(const char *key, const char *val)
{
	err[0] = '\0';
	ck_assert_msg(ff_config_set(&cfg, key, val, err, sizeof(err)) == 0,
		      "%s = '%s' refused: %s", key, val, err);
}

/* A refused value leaves an error that names the key, the value and `accepted`. */
static void set_bad(const char *key, const char *val, const char *shown, const char *accepted)
{
	char want[512];

	err[0] = '\0';
	ck_assert_msg(ff_config_set(&cfg, key, val, err, sizeof(err)) == -1,
		      "%s = '%s' accepted", key, val);
	ck_assert_int_eq(errno, EINVAL);
	snprintf(want, sizeof(want), "%s = '%s'", key, shown ? shown : val);
	ck_assert_msg(strstr(err, want), "message '%s' lacks '%s'", err, want);
	ck_assert_msg(strstr(err, accepted), "message '%s' lacks '%s'", err, accepted);
}

static void setup(void)
{
	unsetenv(FF_ENV_CONFIG);
	ff_config_defaults(&cfg);
}

START_TEST(test_defaults)
{
	ck_assert(cfg.enabled);
	ck_assert_uint_eq(cfg.shm_size, 1ULL << 30);
	ck_assert_str_eq(cfg.shm_file_path, "/tmp/faasflow_shm");
	ck_assert_str_eq(cfg.socket_dir, "/tmp");
	ck_assert_uint_eq(cfg.slot_size, 1ULL << 20);
	ck_assert_uint_eq(cfg.threshold, 0);            /* auto: the coordinator measures it */
	ck_assert_uint_eq(cfg.npeers, 1);
	ck_assert_int_eq(cfg.peers[0].kind, FF_PEER_ANY);
	ck_assert_uint_eq(cfg.quota, 64);
	ck_assert_uint_eq(cfg.lease_batch, 8);
	ck_assert_int_eq(cfg.log_level, FF_LOG_WARN);
	ck_assert_uint_eq(cfg.shm_file_mode, 0600);
	ck_assert_str_eq(cfg.tenant, "default");
	ck_assert_str_eq(cfg.log_file, "");
}
END_TEST

START_TEST(test_sizes)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "4096", 4096 }, { "64K", 65536 }, { "64k", 65536 }, { "1M", 1 << 20 },
		{ "2G", 2ULL << 30 }, { "512MiB", 512ULL << 20 }, { "1 GiB", 1ULL << 30 },
		{ "16KB", 16384 }, { "1024 * 1024 * 1024", 1ULL << 30 }, { "2*1G", 2ULL << 30 },
		{ "1T", 1ULL << 40 }, { "0", 0 },
	};
	static const char *const bad[] = {
		"", "1X", "-1", "K", "1.5G", "1 G B", "99999999999999999999", "17179869184G",
		"1024 * ", "* 2", "0x100", "1G1",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(ff_parse_size(good[i].s, &v) == 0, "'%s' refused", good[i].s);
		ck_assert_uint_eq(v, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ff_parse_size(bad[i], &v) == -1, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_bools)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "on", "1" };
	static const char *const no[] = { "false", "False", "no", "OFF", "0" };
	bool b;

	for (size_t i = 0; i < 6; i++) {
		b = false;
		ck_assert(ff_parse_bool(yes[i], &b) == 0 && b);
	}
	for (size_t i = 0; i < 5; i++) {
		b = true;
		ck_assert(ff_parse_bool(no[i], &b) == 0 && !b);
	}
	ck_assert_int_eq(ff_parse_bool("maybe", &b), -1);
	ck_assert_int_eq(ff_parse_bool("", &b), -1);
	set_ok("ENABLE_SHARED_MEMORY", "False");
	ck_assert(!cfg.enabled);
	set_ok("enable_shared_memory", "'True'");
	ck_assert(cfg.enabled);
	set_bad("ENABLE_SHARED_MEMORY", "enabled", NULL, "true or false");
	set_ok("LOG_SYSLOG", "yes");
	ck_assert(cfg.log_syslog);
	set_bad("LOG_SYSLOG", "2", NULL, "true or false");
}
END_TEST

START_TEST(test_size_keys)
{
	set_ok("SHM_SIZE", "512M");
	ck_assert_uint_eq(cfg.shm_size, 512ULL << 20);
	set_ok("SHM_SIZE", "1024 * 1024 * 1024");
	ck_assert_uint_eq(cfg.shm_size, 1ULL << 30);
	set_ok("SHM_SIZE", "1M");
	set_bad("SHM_SIZE", "1X", NULL, "a size such as 4096, 512K, 256M or 1G");
	set_bad("SHM_SIZE", "512K", NULL, "at least 1M");
	set_bad("SHM_SIZE", "", NULL, "a size");
	set_ok("SLOT_SIZE", "64K");
	ck_assert_uint_eq(cfg.slot_size, 65536);
	set_ok("SLOT_SIZE", "4K");
	set_ok("SLOT_SIZE", "256M");
	set_bad("SLOT_SIZE", "3M", NULL, "power of two");
	set_bad("SLOT_SIZE", "2K", NULL, "between 4K and 256M");
	set_bad("SLOT_SIZE", "512M", NULL, "between 4K and 256M");
	set_bad("SLOT_SIZE", "big", NULL, "power of two");
	set_ok("THRESHOLD", "1");
	set_ok("THRESHOLD", "128K");
	ck_assert_uint_eq(cfg.threshold, 128 << 10);
	set_bad("THRESHOLD", "0", NULL, "at least 1 byte");
	set_bad("THRESHOLD", "1Q", NULL, "at least 1 byte");
	ck_assert_uint_eq(cfg.threshold, 128 << 10);    /* unchanged by a refused value */
	set_bad("THRESHOLD", "automatic", NULL, "auto (measured on this host");
	set_ok("THRESHOLD", "AUTO");
	ck_assert_uint_eq(cfg.threshold, 0);
}
END_TEST

START_TEST(test_path_keys)
{
	set_ok("SHM_FILE_PATH", "'/dev/shm/faasflow'");
	ck_assert_str_eq(cfg.shm_file_path, "/dev/shm/faasflow");
	set_bad("SHM_FILE_PATH", "tmp/x", NULL, "an absolute file path");
	set_bad("SHM_FILE_PATH", "/tmp/dir/", NULL, "an absolute file path");
	set_bad("SHM_FILE_PATH", "", NULL, "an absolute file path");
	set_ok("SOCKET_DIR", "/run/faasflow");
	ck_assert_str_eq(cfg.socket_dir, "/run/faasflow");
	set_bad("SOCKET_DIR", "run", NULL, "an absolute directory path");
	set_bad("SOCKET_DIR", "/a/very/long/directory/name/that/does/not/fit/into/sun_path/of"
		"/a/unix/socket/address/xxxxxxxxxx", NULL, "short enough");
	set_ok("LOG_FILE", "/var/log/faasflow.log");
	ck_assert_str_eq(cfg.log_file, "/var/log/faasflow.log");
	set_ok("LOG_FILE", "");
	ck_assert_str_eq(cfg.log_file, "");
	set_bad("LOG_FILE", "faasflow.log", NULL, "absolute file path, or empty");
}
END_TEST

START_TEST(test_number_keys)
{
	set_ok("QUOTA", "1");
	set_ok("QUOTA", "1000000");
	ck_assert_uint_eq(cfg.quota, 1000000);
	set_bad("QUOTA", "0", NULL, "from 1 to 1000000");
	set_bad("QUOTA", "1000001", NULL, "from 1 to 1000000");
	set_bad("QUOTA", "-5", NULL, "from 1 to 1000000");
	set_bad("QUOTA", "12abc", NULL, "from 1 to 1000000");
	set_ok("LEASE_BATCH", "256");
	ck_assert_uint_eq(cfg.lease_batch, 256);
	set_bad("LEASE_BATCH", "257", NULL, "from 1 to 256");
	set_bad("LEASE_BATCH", "0", NULL, "from 1 to 256");
	ck_assert_uint_eq(cfg.spin_wait_us, 400);
	set_ok("SPIN_WAIT_US", "0");
	ck_assert_uint_eq(cfg.spin_wait_us, 0);
	set_ok("SPIN_WAIT_US", "10000");
	ck_assert_uint_eq(cfg.spin_wait_us, 10000);
	set_bad("SPIN_WAIT_US", "10001", NULL, "from 0 (never poll before sleeping) to 10000");
	set_bad("SPIN_WAIT_US", "-1", NULL, "microseconds");
	set_bad("SPIN_WAIT_US", "fast", NULL, "microseconds");
	ck_assert_uint_eq(cfg.spin_wait_us, 10000);     /* unchanged by a refused value */
	ck_assert(cfg.small_write_runs);
	set_ok("SMALL_WRITE_RUNS", "off");
	ck_assert(!cfg.small_write_runs);
	set_bad("SMALL_WRITE_RUNS", "sometimes", NULL, "true or false");
	ck_assert(!cfg.small_write_runs);
	set_ok("SMALL_WRITE_RUNS", "yes");
	ck_assert(cfg.small_write_runs);
	set_ok("LOG_LEVEL", "debug");
	ck_assert_int_eq(cfg.log_level, FF_LOG_DEBUG);
	set_ok("log_level", "ERR");
	ck_assert_int_eq(cfg.log_level, FF_LOG_ERR);
	set_ok("LOG_LEVEL", "warning");
	ck_assert_int_eq(cfg.log_level, FF_LOG_WARN);
	set_bad("LOG_LEVEL", "verbose", NULL, "err, warn, info or debug");
	set_ok("SHM_FILE_MODE", "0660");
	ck_assert_uint_eq(cfg.shm_file_mode, 0660);
	set_ok("SOCKET_MODE", "600");
	ck_assert_uint_eq(cfg.socket_mode, 0600);
	set_bad("SHM_FILE_MODE", "0690", NULL, "an octal permission mode");
	set_bad("SHM_FILE_MODE", "4755", NULL, "an octal permission mode");
	set_bad("SOCKET_MODE", "rw", NULL, "an octal permission mode");
	set_bad("SOCKET_MODE", "", NULL, "an octal permission mode");
}
END_TEST

START_TEST(test_identity_keys)
{
	set_ok("OWNER", "root");
	set_ok("OWNER", "root:root");
	ck_assert_str_eq(cfg.owner, "root:root");
	set_ok("OWNER", "");
	ck_assert_str_eq(cfg.owner, "");
	set_bad("OWNER", "no_such_user_ffx", NULL, "an existing user or user:group");
	set_bad("OWNER", "root:no_such_group_ffx", NULL, "user:group");
	set_ok("ALLOW_UIDS", "0, root,1000");
	ck_assert_uint_eq(cfg.nallow_uids, 3);
	ck_assert_uint_eq(cfg.allow_uids[0], 0);
	ck_assert_uint_eq(cfg.allow_uids[1], 0);
	ck_assert_uint_eq(cfg.allow_uids[2], 1000);
	set_bad("ALLOW_UIDS", "root,no_such_user_ffx", NULL, "existing user names or uids");
	ck_assert_uint_eq(cfg.nallow_uids, 3);
	set_ok("ALLOW_GIDS", "root,5");
	ck_assert_uint_eq(cfg.nallow_gids, 2);
	ck_assert_uint_eq(cfg.allow_gids[1], 5);
	set_bad("ALLOW_GIDS", "no_such_group_ffx", NULL, "existing group names or gids");
	set_bad("ALLOW_GIDS", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,"
		"25,26,27,28,29,30,31,32,33", NULL, "group names or gids");
	set_ok("ALLOW_UIDS", "");
	ck_assert_uint_eq(cfg.nallow_uids, 0);
	set_ok("TENANT", "team-a.prod_1");
	ck_assert_str_eq(cfg.tenant, "team-a.prod_1");
	set_bad("TENANT", "a b", NULL, "[A-Za-z0-9_.-]");
	set_bad("TENANT", "", NULL, "1-63 characters");
	set_bad("TENANT", "../etc", NULL, "[A-Za-z0-9_.-]");
	set_ok("TENANTS", "default, a,b");
	ck_assert_str_eq(cfg.tenants_raw, "default, a,b");
	set_bad("TENANTS", "a,b/c", NULL, "comma-separated list of names");
	set_ok("METRICS_LISTEN", "127.0.0.1:9464");
	set_ok("METRICS_LISTEN", "[::1]:9464");
	set_ok("METRICS_LISTEN", "localhost:9100");
	ck_assert_str_eq(cfg.metrics_listen, "localhost:9100");
	set_ok("METRICS_LISTEN", "");
	set_bad("METRICS_LISTEN", "9464", NULL, "addr:port");
	set_bad("METRICS_LISTEN", "127.0.0.1:99999", NULL, "addr:port");
	set_bad("METRICS_LISTEN", "example.com:80", NULL, "addr:port");
}
END_TEST

START_TEST(test_tenant_owners)
{
	ck_assert_str_eq(cfg.tenant_owners, "");
	set_ok("TENANT_OWNERS", "a=root, b=0:root,c=root:0");
	ck_assert_str_eq(cfg.tenant_owners, "a=root, b=0:root,c=root:0");
	set_ok("TENANT_OWNERS", "");
	ck_assert_str_eq(cfg.tenant_owners, "");
	set_bad("TENANT_OWNERS", "a=no_such_user_ffx", NULL, "tenant=user or tenant=user:group");
	set_bad("TENANT_OWNERS", "a=root:no_such_group_ffx", NULL, "tenant=user:group");
	set_bad("TENANT_OWNERS", "a", NULL, "tenant=user");
	set_bad("TENANT_OWNERS", "a=", NULL, "tenant=user");
	set_bad("TENANT_OWNERS", "a/b=root", NULL, "tenant=user");
	set_bad("TENANT_OWNERS", "=root", NULL, "tenant=user");
	ck_assert_str_eq(cfg.tenant_owners, "");
}
END_TEST

START_TEST(test_peers)
{
	struct in6_addr a;

	set_ok("PEERS", "*, 10.0.0.5:8080 [fd00::1]:80 10.1.0.0/16:9000,[fd00::/8]:1,"
	       "fn-b@127.0.0.1:5000 localhost:6379");
	ck_assert_uint_eq(cfg.npeers, 7);
	ck_assert_int_eq(cfg.peers[0].kind, FF_PEER_ANY);
	ck_assert_int_eq(cfg.peers[1].kind, FF_PEER_HOST);
	ck_assert_int_eq(cfg.peers[1].family, AF_INET);
	ck_assert_uint_eq(cfg.peers[1].port, 8080);
	inet_pton(AF_INET6, "::ffff:10.0.0.5", &a);
	ck_assert(!memcmp(&a, &cfg.peers[1].addr, 16));
	ck_assert_int_eq(cfg.peers[2].family, AF_INET6);
	ck_assert_int_eq(cfg.peers[3].kind, FF_PEER_CIDR);
	ck_assert_uint_eq(cfg.peers[3].prefix, 96 + 16);
	ck_assert_int_eq(cfg.peers[4].kind, FF_PEER_CIDR);
	ck_assert_uint_eq(cfg.peers[4].prefix, 8);
	ck_assert_int_eq(cfg.peers[5].kind, FF_PEER_NAMED);
	ck_assert_str_eq(cfg.peers[5].name, "fn-b");
	ck_assert_uint_eq(cfg.peers[5].port, 5000);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a);
	ck_assert(!memcmp(&a, &cfg.peers[6].addr, 16));
	ck_assert_str_eq(cfg.peers_raw, "*, 10.0.0.5:8080 [fd00::1]:80 10.1.0.0/16:9000,"
			 "[fd00::/8]:1,fn-b@127.0.0.1:5000 localhost:6379");
	/* host bits of a CIDR are masked */
	set_ok("PEERS", "10.1.2.3/8:1");
	inet_pton(AF_INET6, "::ffff:10.0.0.0", &a);
	ck_assert(!memcmp(&a, &cfg.peers[0].addr, 16));
	set_ok("PEERS", "");
	ck_assert_uint_eq(cfg.npeers, 0);
	set_bad("PEERS", "10.0.0.1", NULL, "has no port");
	set_bad("PEERS", "10.0.0.1:0", NULL, "bad port '0'");
	set_bad("PEERS", "10.0.0.1:70000", NULL, "1-65535");
	set_bad("PEERS", "example.com:80", NULL, "not an IPv4 or localhost address");
	set_bad("PEERS", "fd00::1:80", NULL, "not an IPv4");
	set_bad("PEERS", "[10.0.0.1]:80", NULL, "not an IPv6 address");
	set_bad("PEERS", "[fd00::1:80", NULL, "expected [v6]:port");
	set_bad("PEERS", "10.0.0.0/33:80", NULL, "bad prefix length");
	set_bad("PEERS", "bad name@10.0.0.1:80", NULL, "entry 'bad' has no port");
	set_bad("PEERS", "n!@10.0.0.1:80", NULL, "endpoint name");
	set_bad("PEERS", "n@10.0.0.0/8:80", NULL, "not a CIDR");
	set_bad("PEERS", "*, 1.2.3.4:5, x", NULL, "accepted entries: *, host:port");
	ck_assert_uint_eq(cfg.npeers, 0);     /* a refused list changes nothing */
}
END_TEST

START_TEST(test_peers_max)
{
	char list[4096] = "";
	unsigned n;
	struct ff_peer peers[FF_MAX_PEERS];

	for (int i = 0; i < FF_MAX_PEERS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "10.0.0.%d:80,", i);
	ck_assert_int_eq(ff_parse_peers(list, peers, FF_MAX_PEERS, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, FF_MAX_PEERS);
	strcat(list, "10.0.1.1:80");
	ck_assert_int_eq(ff_parse_peers(list, peers, FF_MAX_PEERS, &n, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than 64"));
}
END_TEST

START_TEST(test_unknown_key)
{
	ck_assert_int_eq(ff_config_set(&cfg, "SHM_SIZ", "1G", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown key 'SHM_SIZ'"));
	ck_assert_ptr_nonnull(strstr(err, "SHM_SIZE"));
	ck_assert_ptr_nonnull(strstr(err, "METRICS_LISTEN"));
}
END_TEST

START_TEST(test_file)
{
	const char *p = tu_path("ff.conf");

	tu_write_file(p,
		      "# faasflow configuration\n"
		      "\n"
		      "ENABLE_SHARED_MEMORY = True  # the guide's spelling\n"
		      "SHM_SIZE = 512 * 1024 * 1024  # 512MB\n"
		      "SHM_FILE_PATH = '/tmp/my shm#1'\r\n"
		      "  slot_size=64K\n"
		      "PEERS = \"10.0.0.1:80, *\"   # quoted list\n"
		      "export QUOTA = 9\n"
		      "; old-style comment\n"
		      "LOG_FILE =\n");
	ck_assert_msg(ff_config_load_file(&cfg, p, false, err, sizeof(err)) == 0, "%s", err);
	ck_assert(cfg.enabled);
	ck_assert_uint_eq(cfg.shm_size, 512ULL << 20);
	ck_assert_str_eq(cfg.shm_file_path, "/tmp/my shm#1");
	ck_assert_uint_eq(cfg.slot_size, 65536);
	ck_assert_uint_eq(cfg.npeers, 2);
	ck_assert_uint_eq(cfg.quota, 9);
	ck_assert_str_eq(cfg.log_file, "");
}
END_TEST

static void file_error(const char *text, const char *want)
{
	const char *p = tu_path("bad.conf");
	char full[256];

	tu_write_file(p, text);
	ck_assert_int_eq(ff_config_load_file(&cfg, p, false, err, sizeof(err)), -1);
	snprintf(full, sizeof(full), "%s:%s", p, want);
	ck_assert_msg(strstr(err, full), "'%s' lacks '%s'", err, full);
}

START_TEST(test_file_errors)
{
	file_error("# c\nSHM_SIZE = 1G\nSHM_SIZE = 1X\n",
		   "3: SHM_SIZE = '1X': expected a size such as 4096, 512K, 256M or 1G");
	file_error("\n\nBOGUS = 1\n", "3: unknown key 'BOGUS'; accepted keys: ENABLE_SHARED_MEMORY");
	file_error("SHM_SIZE 1G\n", "1: expected KEY = value");
	file_error("SHM_FILE_PATH = '/tmp/x\n", "1: SHM_FILE_PATH: missing closing ' quote");
	file_error("SHM_FILE_PATH = '/tmp/x' y\n", "1: SHM_FILE_PATH: unexpected text");
	file_error(" = 5\n", "1: missing key");
	file_error("QUOTA = 5\nQUOTA = \"0\"\n", "2: QUOTA = '0': expected a whole number");
}
END_TEST

START_TEST(test_file_missing)
{
	const char *p = tu_path("none.conf");

	ck_assert_int_eq(ff_config_load_file(&cfg, p, true, err, sizeof(err)), 0);
	ck_assert_int_eq(ff_config_load_file(&cfg, p, false, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "none.conf"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

START_TEST(test_env_order)
{
	const char *p = tu_path("ff.conf");

	tu_write_file(p, "SHM_SIZE = 2M\nQUOTA = 7\nTENANT = fromfile\n");
	setenv("FAASFLOW_SHM_SIZE", "4M", 1);
	setenv("FAASFLOW_LOG_LEVEL", "'info'", 1);
	ck_assert_msg(ff_config_load(&cfg, p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(cfg.shm_size, 4ULL << 20);        /* env beats file */
	ck_assert_uint_eq(cfg.quota, 7);                     /* file beats default */
	ck_assert_int_eq(cfg.log_level, FF_LOG_INFO);
	ck_assert_uint_eq(cfg.slot_size, 1ULL << 20);       /* default */

	/* $FAASFLOW_CONFIG names the file when no path is given */
	setenv(FF_ENV_CONFIG, p, 1);
	ck_assert_msg(ff_config_load(&cfg, NULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.tenant, "fromfile");
	setenv(FF_ENV_CONFIG, tu_path("missing.conf"), 1);
	ck_assert_int_eq(ff_config_load(&cfg, NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing.conf"));
	unsetenv(FF_ENV_CONFIG);
	/* an explicit path must exist */
	ck_assert_int_eq(ff_config_load(&cfg, tu_path("nope.conf"), err, sizeof(err)), -1);

	setenv("FAASFLOW_QUOTA", "zero", 1);
	ck_assert_int_eq(ff_config_load(&cfg, p, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "FAASFLOW_QUOTA"));
	ck_assert_ptr_nonnull(strstr(err, "QUOTA = 'zero'"));
	unsetenv("FAASFLOW_QUOTA");
	unsetenv("FAASFLOW_SHM_SIZE");
	unsetenv("FAASFLOW_LOG_LEVEL");
}
END_TEST

START_TEST(test_env_setuid)
{
	/* AT_SECURE cannot be set for the test process itself */
	ck_assert_uint_eq(getauxval(AT_SECURE), 0);
	printf("check_config: setuid environment filter not testable here (AT_SECURE is 0); "
	       "skipped\n");
}
END_TEST

START_TEST(test_paths)
{
	char buf[4096];

	ck_assert_int_eq(ff_config_socket_path(&cfg, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/tmp/faasflow_container_default.sock");
	set_ok("SOCKET_DIR", "/run/ff/");
	set_ok("TENANT", "blue");
	ck_assert_int_eq(ff_config_socket_path(&cfg, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/run/ff/faasflow_container_blue.sock");
	ck_assert_int_eq(ff_config_socket_path(&cfg, buf, 10), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	set_ok("TENANT", "a-very-long-tenant-name-that-overflows-the-unix-socket-path");
	set_ok("SOCKET_DIR", "/run/faasflow/sockets/for/the/long/tenant");
	ck_assert_int_eq(ff_config_socket_path(&cfg, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	set_ok("TENANT", "blue");
	ck_assert_int_eq(ff_config_region_path(&cfg, NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/tmp/faasflow_shm.blue");
	ck_assert_int_eq(ff_config_region_path(&cfg, "default", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/tmp/faasflow_shm");
	ck_assert_int_eq(ff_config_region_path(&cfg, "red", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/tmp/faasflow_shm.red");
	ck_assert_int_eq(ff_config_region_path(&cfg, "red", buf, 8), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tu_tcase("config");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_bools);
	tcase_add_test(tc, test_size_keys);
	tcase_add_test(tc, test_path_keys);
	tcase_add_test(tc, test_number_keys);
	tcase_add_test(tc, test_identity_keys);
	tcase_add_test(tc, test_tenant_owners);
	tcase_add_test(tc, test_peers);
	tcase_add_test(tc, test_peers_max);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_env_order);
	tcase_add_test(tc, test_env_setuid);
	tcase_add_test(tc, test_paths);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
