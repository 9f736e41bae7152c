/* faasflowctl output: the status table, JSON, Prometheus text, endpoint and lease tables. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "ctl.h"
#include "metrics.h"

static const char *const state_names[4] = { "free", "leased", "filled", "reading" };

void ctl_human_size(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

#define CNT(c, f) atomic_load(&((struct ff_counters *)&(c)->r.hdr->c)->f)

static void region_id_hex(const struct ctl *c, char *buf)
{
	for (int i = 0; i < 16; i++)
		sprintf(buf + 2 * i, "%02x", c->reg.region_id[i]);
}

void ctl_print_status(FILE *f, const struct ctl *c)
{
	const struct ff_stats *st = &c->st;
	char a[32], b[32], id[40];

	region_id_hex(c, id);
	ctl_human_size(c->have_region ? c->r.hdr->region_size : 0, a, sizeof(a));
	ctl_human_size(c->reg.slot_size, b, sizeof(b));
	fprintf(f, "faasflow coordinator   pid %u, up %" PRIu64 " s, socket %s\n",
	        st->daemon_pid, st->uptime_s, c->sock_path);
	fprintf(f, "  tenant               %s\n", c->cfg.tenant);
	fprintf(f, "  region               %s (%s)\n", c->reg.region_path, a);
	fprintf(f, "  region id            %s\n", id);
	fprintf(f, "  slots                %" PRIu64 " x %s\n", st->slot_count, b);
	fprintf(f, "  shared memory        %s\n", st->enabled ? "enabled" : "disabled");
	if (c->have_region) {
		char thr[320];

		ffm_threshold_text(&c->r.hdr->thr, thr, sizeof(thr));
		fprintf(f, "  threshold            %s\n", thr);
	}
	fprintf(f, "  slots free           %" PRIu64 "\n", st->slots_free);
	fprintf(f, "  slots leased         %" PRIu64 "\n", st->slots_leased);
	fprintf(f, "  slots in flight      %" PRIu64 " (filled %" PRIu64 ", reading %" PRIu64 ")\n",
	        st->slots_filled + st->slots_reading, st->slots_filled, st->slots_reading);
	fprintf(f, "  high-water mark      %" PRIu64 "\n", st->slots_hwm);
	fprintf(f, "  clients              %" PRIu64 "\n", st->clients);
	fprintf(f, "  endpoints            %" PRIu64 "\n", st->endpoints);
	fprintf(f, "  leases               %" PRIu64 " requests, %" PRIu64 " returns, %" PRIu64
	        " reclaimed\n", st->lease_requests, st->returns, st->reclaimed);
	fprintf(f, "  control              %" PRIu64 " bad messages, %" PRIu64
	        " refused clients\n", st->bad_messages, st->refused_clients);
	if (!c->have_region)
		return;
	ctl_human_size(CNT(c, region_bytes), a, sizeof(a));
	ctl_human_size(CNT(c, inline_bytes), b, sizeof(b));
	fprintf(f, "  via region           %s in %" PRIu64 " payloads\n", a, CNT(c, region_payloads));
	fprintf(f, "  inline               %s in %" PRIu64 " frames\n", b, CNT(c, inline_frames));
	ctl_human_size(CNT(c, rx_region_bytes), a, sizeof(a));
	fprintf(f, "  received via region  %s\n", a);
	fprintf(f, "  upgrades             %" PRIu64 " attempts, %" PRIu64 " directions upgraded\n",
	        CNT(c, upgrade_attempts), CNT(c, upgrade_success));
	fprintf(f, "  fallbacks           ");
	for (int i = 0; i < FF_FB_MAX; i++)
		fprintf(f, " %s %" PRIu64 "%s", ffm_fallback_names[i], CNT(c, fallback[i]),
		        i + 1 < FF_FB_MAX ? "," : "\n");
	ctl_human_size(c->resident_bytes, a, sizeof(a));
	fprintf(f, "  region memory        %s resident\n", a);
}

/* "key": "value", with the value escaped for JSON. */
static void json_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "\"%s\": \"", key);
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputs("\", ", f);
}

void ctl_print_json(FILE *f, const struct ctl *c)
{
	const struct ff_stats *st = &c->st;
	char id[40];

	region_id_hex(c, id);
	fputc('{', f);
	json_str(f, "tenant", c->cfg.tenant);
	json_str(f, "socket_path", c->sock_path);
	json_str(f, "region_path", c->reg.region_path);
	json_str(f, "region_id", id);
	fprintf(f, "\"region_size\": %" PRIu64 ", \"slot_size\": %" PRIu64
	        ", \"slot_count\": %" PRIu64 ", ", c->have_region ? c->r.hdr->region_size : 0,
	        c->reg.slot_size, st->slot_count);
	fprintf(f, "\"enabled\": %s, \"daemon_pid\": %u, \"uptime_s\": %" PRIu64 ", ",
	        st->enabled ? "true" : "false", st->daemon_pid, st->uptime_s);
	fprintf(f, "\"slots_free\": %" PRIu64 ", \"slots_leased\": %" PRIu64 ", \"slots_filled\": %"
	        PRIu64 ", \"slots_reading\": %" PRIu64 ", \"slots_in_flight\": %" PRIu64
	        ", \"slots_hwm\": %" PRIu64 ", ", st->slots_free, st->slots_leased,
	        st->slots_filled, st->slots_reading, st->slots_filled + st->slots_reading,
	        st->slots_hwm);
	fprintf(f, "\"clients\": %" PRIu64 ", \"endpoints\": %" PRIu64 ", \"lease_requests\": %"
	        PRIu64 ", \"returns\": %" PRIu64 ", \"reclaimed\": %" PRIu64 ", \"bad_messages\": %"
	        PRIu64 ", \"refused_clients\": %" PRIu64 ", ", st->clients, st->endpoints,
	        st->lease_requests, st->returns, st->reclaimed, st->bad_messages,
	        st->refused_clients);
	if (c->have_region) {
		fprintf(f, "\"threshold\": %" PRIu64 ", ", ff_thr_value(&c->r.hdr->thr));
		json_str(f, "threshold_source", ffm_threshold_source(&c->r.hdr->thr));
		fprintf(f, "\"region_bytes\": %" PRIu64 ", \"region_payloads\": %" PRIu64
		        ", \"inline_bytes\": %" PRIu64 ", \"inline_frames\": %" PRIu64
		        ", \"rx_region_bytes\": %" PRIu64 ", \"upgrade_attempts\": %" PRIu64
		        ", \"upgrade_success\": %" PRIu64 ", \"transfer_latency_ns_sum\": %" PRIu64
		        ", \"transfer_latency_count\": %" PRIu64 ", \"region_memory_bytes\": %" PRIu64
		        ", ", CNT(c, region_bytes), CNT(c, region_payloads), CNT(c, inline_bytes),
		        CNT(c, inline_frames), CNT(c, rx_region_bytes), CNT(c, upgrade_attempts),
		        CNT(c, upgrade_success), CNT(c, region_ns), CNT(c, region_lat_count),
		        c->resident_bytes);
		fprintf(f, "\"fallbacks\": {");
		for (int i = 0; i < FF_FB_MAX; i++)
			fprintf(f, "\"%s\": %" PRIu64 "%s", ffm_fallback_names[i], CNT(c, fallback[i]),
			        i + 1 < FF_FB_MAX ? ", " : "");
		fprintf(f, "}");
	} else {
		fprintf(f, "\"fallbacks\": {}");
	}
	fprintf(f, "}\n");
}

void ctl_print_metrics(FILE *f, const struct ctl *c)
{
	const struct ffm_tenant t = {
		.name = c->cfg.tenant,
		.st = &c->st,
		.hdr = c->have_region ? c->r.hdr : NULL,
		.slot_size = c->reg.slot_size,
		.resident_bytes = c->resident_bytes,
	};

	ffm_print(f, &t, 1);
}

static void addr_str(const uint8_t *a, char *buf, size_t len)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(a, v4, 12) == 0)
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

void ctl_print_endpoints(FILE *f, const struct ff_endpoint_info *e, size_t n)
{
	char a[INET6_ADDRSTRLEN], ns[64];

	fprintf(f, "%-8s %-8s %-40s %-6s %-24s %-6s %s\n", "CLIENT", "PID", "ADDRESS", "PORT",
	        "NETNS(dev:ino)", "ADDRS", "NAME");
	size_t gone = 0;

	for (size_t i = 0; i < n; i++) {
		char id[16] = "gone", pid[16] = "-";

		addr_str(e[i].ep.addr, a, sizeof(a));
		snprintf(ns, sizeof(ns), "%" PRIu64 ":%" PRIu64, e[i].ep.netns_dev, e[i].ep.netns_ino);
		if (e[i].client_id) {
			snprintf(id, sizeof(id), "%u", e[i].client_id);
			snprintf(pid, sizeof(pid), "%d", e[i].pid);
		} else {
			gone++;
		}
		fprintf(f, "%-8s %-8s %-40s %-6u %-24s %-6u %.64s\n", id, pid, a,
		        e[i].ep.port, ns, e[i].ep.naddrs, e[i].ep.name[0] ? e[i].ep.name : "-");
	}
	fprintf(f, "%zu endpoint(s)", n);
	if (gone)
		fprintf(f, ", %zu of processes gone (kept as hints for a while: a connection is "
		        "upgraded only when both ends prove themselves)", gone);
	fputc('\n', f);
}

void ctl_print_leases(FILE *f, const struct ff_lease_info *l, size_t n)
{
	fprintf(f, "%-8s %-8s %-10s %-10s %-8s %-10s\n", "SLOT", "STATE", "GEN", "OWNER", "PID",
	        "READER");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-8u %-8s %-10u %-10u %-8d %-10u\n", l[i].slot, state_names[l[i].state & 3],
		        l[i].gen, l[i].owner_id, l[i].owner_pid, l[i].reader_id);
	fprintf(f, "%zu slot(s) out of the pool\n", n);
}
