#!/usr/bin/python3
"""Summarize run-bench.sh output: medians, per-repetition ratios, targets.

Reads OUT/raw.csv, OUT/medium.csv, OUT/spawn.csv, OUT/system.txt; writes OUT/results.csv, OUT/results.md,
OUT/plot.dat and OUT/plot.gp. Ratios are medians of the per-repetition ratios (A and B of one
repetition were measured side by side)."""
import csv
import os
import statistics
import sys
from collections import defaultdict

BEGIN = "<!-- BEGIN BENCHMARK RESULTS"
END = "<!-- END BENCHMARK RESULTS -->"
if len(sys.argv) == 4 and sys.argv[1] == "--readme":
    # put OUT/results.md between the README's markers (run-bench.sh does, for its default OUT)
    readme, out = sys.argv[2], sys.argv[3]
    text = open(readme).read()
    a, b = text.find(BEGIN), text.find(END)
    if a < 0 or b < a:
        sys.exit("summarize.py: %s has no benchmark markers" % readme)
    head = text[a:text.index("\n", a) + 1]
    block = (head + "Reproduce: `contrib/bench/run-bench.sh --build <a build without sanitizers>` "
             "(3-6 minutes on the machine below; `--quick` under one). Plot: `contrib/bench/results/throughput.png`."
             "\n\n![throughput vs write size](contrib/bench/results/throughput.png)\n\n"
             + open(os.path.join(out, "results.md")).read() + "\n")
    open(readme, "w").write(text[:a] + block + text[b:])
    sys.exit(0)
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "raw.csv"))))
steady = [r for r in rows if r["rep"] == "steady"]
rows = [r for r in rows if r["rep"] != "steady"]

# the primary metric of each mode, and whether bigger is better
METRIC = {"stream": ("GBps", True), "rr": ("median_us", False),
          "conn": ("ops_per_s", True), "replay": ("seconds", False)}
BASE = {"noupgrade": "tcp_nu", "region_all": "tcp_th"}


def key(r):
    return (r["mode"], int(r["size"]), r["workflow"])


def fmt_size(n):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return "%d %s" % (n // div, unit)
    return "%d B" % n if n < 1 << 20 else "%.1f MB" % (n / 1e6)


def med(v):
    return statistics.median(v) if v else None


by = defaultdict(list)          # (path, key) -> rows
for r in rows:
    by[(r["path"], key(r))].append(r)


def value(r):
    return float(r[METRIC[r["mode"]][0]])


def ratio(path, base, k, field=None):
    """median over repetitions of path/base for the mode's metric (or field)"""
    a = {r["rep"]: r for r in by.get((base, k), [])}
    rs = []
    for r in by.get((path, k), []):
        if r["rep"] in a:
            f = field or METRIC[k[0]][0]
            x, y = float(r[f]), float(a[r["rep"]][f])
            if y > 0:
                rs.append(x / y)
    return med(rs)


summary = []
for (path, k), rs in sorted(by.items(), key=lambda e: (e[0][1], e[0][0])):
    base = BASE.get(path, "tcp")
    summary.append({
        "path": path, "mode": k[0], "size": k[1], "workflow": k[2], "runs": len(rs),
        "GBps": med([float(r["GBps"]) for r in rs]),
        "median_us": med([float(r["median_us"]) for r in rs]),
        "ops_per_s": med([float(r["ops_per_s"]) for r in rs]),
        "ratio_vs_tcp": ratio(path, base, k) if path not in ("tcp", "tcp_nu", "tcp_th") else 1.0,
        "hash_ok": all(r["hash_ok"] == "yes" for r in rs),
        "region_rss_kb": max(int(r["region_rss_kb"]) for r in rs),
        "region_bytes": med([int(r["region_bytes_delta"]) for r in rs]),
    })
S = {(s["path"],) + (s["mode"], s["size"], s["workflow"]): s for s in summary}

with open(os.path.join(out, "results.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(summary[0].keys()) if summary else ["path"])
    w.writeheader()
    for s in summary:
        w.writerow({k: ("%.4g" % v if isinstance(v, float) else v) for k, v in s.items()})


def g(path, mode, size, wf="", f="GBps"):
    s = S.get((path, mode, size, wf))
    return None if s is None else s[f]


def cell(v, fmt="%.2f"):
    return "–" if v is None else fmt % v


paths = ["tcp", "shim", "unix", "ring", "redis"]
sizes = sorted({s["size"] for s in summary if s["mode"] == "stream" and s["path"] in ("tcp", "shim")})
md = []
sysinfo = dict(l.strip().split("=", 1) for l in open(os.path.join(out, "system.txt")) if "=" in l)
md.append("Measured %s on %s, %s, kernel %s, commit %s; %s repetitions per cell (A/B alternated; "
          "six pairs per repetition for the never-upgraded rows, three for request/response at 64 B and 4 KiB); "
          "region on %s; pinned: %s."
          % (sysinfo.get("date", "?"), sysinfo.get("cpu", "?"), "faasflow-bench",
             sysinfo.get("kernel", "?"), sysinfo.get("commit", "?"), sysinfo.get("reps", "?").split()[0],
             sysinfo.get("region_fs", "?"), sysinfo.get("pinned", "?")))
if "memcpy_1m_gbps" in sysinfo:
    # what explains the numbers of this host against another's (contrib/bench/bench-host.c)
    ring1 = g("ring", "stream", 1 << 20)
    md.append("")
    md.append("Host: memcpy %s GB/s at 1 MiB (warm), %s GB/s at 256 MiB (memory); the bare "
              "two-copy ring %s GB/s at 1 MiB; first touch of a fresh page %s µs, of a reserved "
              "tmpfs page %s µs (per 4 KiB page)."
              % (sysinfo["memcpy_1m_gbps"], sysinfo.get("memcpy_256m_gbps", "?"),
                 cell(ring1), sysinfo.get("fault_anon_us", "?"), sysinfo.get("fault_shared_us", "?")))
md.append("")
md.append("### Stream (one-way), GB/s, medians; ratios are medians of per-repetition ratios")
md.append("")
md.append("| write size | TCP | shim | shim/TCP | AF_UNIX | ring | redis | shim/UNIX | shim/ring |")
md.append("|---|---|---|---|---|---|---|---|---|")
for z in sizes:
    k = ("stream", z, "")
    md.append("| %s | %s | %s | **%s** | %s | %s | %s | %s | %s |" % (
        fmt_size(z), cell(g("tcp", "stream", z)), cell(g("shim", "stream", z)),
        cell(ratio("shim", "tcp", k)), cell(g("unix", "stream", z)), cell(g("ring", "stream", z)),
        cell(g("redis", "stream", z)), cell(ratio("shim", "unix", k, "GBps")),
        cell(ratio("shim", "ring", k, "GBps"))))
md.append("")
md.append("### Request/response (N bytes out, 1 byte back): median round trip, µs")
md.append("")
md.append("| size | TCP | shim | shim/TCP | AF_UNIX | ring | redis |")
md.append("|---|---|---|---|---|---|---|")
for z in sorted({s["size"] for s in summary if s["mode"] == "rr"}):
    md.append("| %s | %s | %s | **%s** | %s | %s | %s |" % (
        fmt_size(z), *[cell(g(p, "rr", z, f="median_us"), "%.1f") for p in ("tcp", "shim")],
        cell(ratio("shim", "tcp", ("rr", z, ""))),
        *[cell(g(p, "rr", z, f="median_us"), "%.1f") for p in ("unix", "ring", "redis")]))
md.append("")
md.append("### New connection per request: requests/s")
md.append("")
md.append("| size | TCP | shim | shim/TCP | AF_UNIX |")
md.append("|---|---|---|---|---|")
for z in sorted({s["size"] for s in summary if s["mode"] == "conn"}):
    md.append("| %s | %s | %s | **%s** | %s |" % (
        fmt_size(z), *[cell(g(p, "conn", z, f="ops_per_s"), "%.0f") for p in ("tcp", "shim")],
        cell(ratio("shim", "tcp", ("conn", z, ""))), cell(g("unix", "conn", z, f="ops_per_s"), "%.0f")))
md.append("")
# Each replayed edge opens a connection, sends, waits for the reply and closes (FaaSFlow's one
# HTTP call per edge). Those costs are the 8-byte request on a new connection, measured under
# the shim: edges x that is a floor no transport that keeps TCP's connections can go under.
edges_csv = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faasflow_edges.csv")
nedges = defaultdict(int)
if os.path.exists(edges_csv):
    for e in csv.DictReader(open(edges_csv)):
        nedges[e["workflow"]] += 1
conn8 = g("shim", "conn", 8, f="median_us")


def floor(wf, z):
    t = g("tcp", "replay", z, wf, "median_us")
    return None if not (conn8 and t and nedges.get(wf)) else nedges[wf] * conn8 / t


md.append("### FaaSFlow edge replay: time of one workflow (every edge once), ms")
md.append("")
md.append("One new connection per edge. *floor*: edges × the shim's 8-byte request on a new "
          "connection (%s µs) ÷ TCP's time: the ratio even a transport that moved the bytes in no "
          "time could not beat while keeping one connection per edge." % cell(conn8, "%.1f"))
md.append("")
md.append("| workflow | bytes | edges | TCP | shim | shim/TCP | floor | AF_UNIX | ring | redis |")
md.append("|---|---|---|---|---|---|---|---|---|---|")
replay = sorted({(s["workflow"], s["size"]) for s in summary if s["mode"] == "replay"},
                key=lambda e: -e[1])
for wf, z in replay:
    ms = [g(p, "replay", z, wf, "median_us") for p in paths]
    md.append("| %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s |" % (
        wf, fmt_size(z), nedges.get(wf, "–"),
        *[cell(None if m is None else m / 1000, "%.1f") for m in ms[:2]],
        cell(ratio("shim", "tcp", ("replay", z, wf))), cell(floor(wf, z)),
        *[cell(None if m is None else m / 1000, "%.1f") for m in ms[2:]]))
md.append("")
md.append("### Shim loaded, connection never upgraded (PEERS does not match) vs plain TCP")
md.append("")
md.append("| case | TCP | shim, not upgraded | ratio |")
md.append("|---|---|---|---|")
for s in summary:
    if s["path"] == "noupgrade":
        f = METRIC[s["mode"]][0]
        md.append("| %s %s (%s) | %.2f | %.2f | **%s** |" % (
            s["mode"], fmt_size(s["size"]), f, g("tcp_nu", s["mode"], s["size"], f=f) or 0,
            s[f], cell(s["ratio_vs_tcp"], "%.3f")))
md.append("")

thr_sizes = sorted({s["size"] for s in summary if s["path"] == "region_all"})
crossover = None
if thr_sizes:
    # the smallest write size from which the region beat TCP at every larger size too
    for z in thr_sizes:
        v = ratio("region_all", "tcp_th", ("stream", z, ""))
        if v is not None and v >= 1:
            crossover = z if crossover is None else crossover
        else:
            crossover = None
    md.append("### THRESHOLD on this host: every write through the region (THRESHOLD = 1) vs plain TCP, stream, GB/s")
    md.append("")
    md.append("| write size | TCP | region | region/TCP |")
    md.append("|---|---|---|---|")
    for z in thr_sizes:
        md.append("| %s | %s | %s | **%s** |" % (
            fmt_size(z), cell(g("tcp_th", "stream", z)), cell(g("region_all", "stream", z)),
            cell(ratio("region_all", "tcp_th", ("stream", z, "")))))
    md.append("")
    md.append("Crossover: %s. THRESHOLD in this run (`THRESHOLD = auto`, measured by the "
              "coordinator at its start): %s." % (
                  "the region is faster from %s up" % fmt_size(crossover)
                  if crossover else "the region was not faster at any size measured",
                  sysinfo.get("threshold", "not recorded")))
    md.append("")

medium = list(csv.DictReader(open(os.path.join(out, "medium.csv")))) if os.path.exists(
    os.path.join(out, "medium.csv")) else []
spawn = list(csv.DictReader(open(os.path.join(out, "spawn.csv")))) if os.path.exists(
    os.path.join(out, "spawn.csv")) else []
spawn_ratio = None
if spawn:
    t = defaultdict(dict)
    for r in spawn:
        t[r["rep"]][r["path"]] = float(r["us_per_spawn"])
    sp = med([v for r in t.values() for k, v in r.items() if k == "plain"])
    ss = med([v for r in t.values() for k, v in r.items() if k == "shim"])
    spawn_ratio = med([v["shim"] / v["plain"] for v in t.values() if "shim" in v and "plain" in v])
    md.append("### Spawning: `posix_spawn` of `/bin/true`, waited for (µs per spawn, medians)")
    md.append("")
    md.append("| plain | shim in the environment | shim/plain |")
    md.append("|---|---|---|")
    md.append("| %s | %s | **%s** |" % (cell(sp, "%.0f"), cell(ss, "%.0f"), cell(spawn_ratio, "%.3f")))
    md.append("")
med_ratio = None
if medium:
    t = defaultdict(dict)
    for r in medium:
        t[r["rep"]][r["path"]] = r
    mt = med([float(r["seconds"]) for r in medium if r["path"] == "tcp"])
    ms = med([float(r["seconds"]) for r in medium if r["path"] == "shim"])
    med_ratio = med([float(v["tcp"]["seconds"]) / float(v["shim"]["seconds"])
                     for v in t.values() if "tcp" in v and "shim" in v])
    rb = med([int(r["region_bytes_delta"]) for r in medium if r["path"] == "shim"])
    md.append("### Medium writes: unmodified `python3 -m http.server` (64 KiB writes) → `curl`, 64 MiB")
    md.append("")
    md.append("| TCP s | shim s | speed-up | bytes via region (shim run) | hashes |")
    md.append("|---|---|---|---|---|")
    md.append("| %s | %s | **%s** | %s | %s |" % (
        cell(mt, "%.3f"), cell(ms, "%.3f"), cell(med_ratio), "–" if rb is None else rb,
        "match" if all(r["hash_ok"] == "yes" for r in medium) else "MISMATCH"))
    md.append("")

rss = g("shim", "stream", 1 << 20, f="region_rss_kb")
cpu = None
if "coord_cpu_steady_s" in sysinfo:
    cpu = 100 * float(sysinfo["coord_cpu_steady_s"]) / float(sysinfo["steady_wall_s"])
    steady_row = steady[0] if steady else None
    md.append("### Resources")
    md.append("")
    md.append("- Region resident in the receiver during a 1 MiB stream: %s KiB (Rss of the region "
              "mapping in /proc/<pid>/smaps)." % ("–" if rss is None else rss))
    md.append("- Coordinator CPU during a steady 1 MiB stream of %.1f s%s: %.3f s = %.2f%% of one core; "
              "over the whole benchmark (%s s): %s s." % (
                  float(sysinfo["steady_wall_s"]),
                  "" if not steady_row else " (%s GB/s)" % steady_row["GBps"],
                  float(sysinfo["coord_cpu_steady_s"]), cpu,
                  sysinfo.get("bench_wall_s", "?"), sysinfo.get("coord_cpu_run_s", "?")))
    md.append("")

# ---- the hot path in instructions (callgrind-rr.sh, when run-bench.sh ran it) -------------
cg = os.path.join(out, "callgrind.md")
if os.path.exists(cg):
    md.append("### Hot path in instructions (`contrib/bench/callgrind-rr.sh`)")
    md.append("")
    md += open(cg).read().rstrip("\n").split("\n")
    md.append("")

# ---- the zero-copy API (faasflow.h) -------------------------------------------------------
api_sizes = sorted({s["size"] for s in summary if s["path"] in ("api1", "api2")})
if api_sizes:
    md.append("### Zero-copy API (stream, GB/s): plain TCP, transparent shim (2 copies), "
              "faasflow_alloc() sends (1 copy), sends + borrowed reads (0 copies)")
    md.append("")
    md.append("| write size | TCP | shim, 2 copies | API, 1 copy | API, 0 copies | 0-copy/transparent |")
    md.append("|---|---|---|---|---|---|")
    for z in api_sizes:
        k = ("stream", z, "")
        md.append("| %s | %s | %s | %s | %s | **%s** |" % (
            fmt_size(z), cell(g("tcp", "stream", z)), cell(g("shim", "stream", z)),
            cell(g("api1", "stream", z)), cell(g("api2", "stream", z)),
            cell(ratio("api2", "shim", k, "GBps"))))
    md.append("")

# ---- targets (issue 5) --------------------------------------------------------------------
def tgt(name, v, ok, fmt="%.2f"):
    return "| %s | %s | %s |" % (name, cell(v, fmt), "–" if v is None else ("met" if ok(v) else "**not met**"))


st = lambda z, base="tcp", f=None: ratio("shim", base, ("stream", z, ""), f)
T = ["### Targets (issue 5)", "", "| case | measured | |", "|---|---|---|",
     tgt("stream 1 MiB: shim/TCP ≥ 4", st(1 << 20), lambda v: v >= 4)]
for z in (16 << 20, 256 << 20):
    T.append(tgt("stream %s: shim/TCP ≥ 2.2" % fmt_size(z), st(z), lambda v: v >= 2.2))
    T.append(tgt("stream %s: shim/ring ≥ 0.85" % fmt_size(z), st(z, "ring", "GBps"), lambda v: v >= 0.85))
T.append(tgt("rr 1 MiB: shim/TCP round trip ≤ 0.5", ratio("shim", "tcp", ("rr", 1 << 20, "")), lambda v: v <= 0.5))
for z in [z for z in sizes if z >= 256 << 10]:
    T.append(tgt("stream %s: shim/AF_UNIX ≥ 1.5" % fmt_size(z), st(z, "unix", "GBps"), lambda v: v >= 1.5))
for z in (64, 4096):
    T.append(tgt("rr %s: shim/TCP round trip ≤ 1.05" % fmt_size(z), ratio("shim", "tcp", ("rr", z, "")), lambda v: v <= 1.05))
for s in summary:
    if s["path"] == "noupgrade":
        up = METRIC[s["mode"]][1]
        T.append(tgt("not upgraded, %s %s: within 2%%" % (s["mode"], fmt_size(s["size"])),
                     s["ratio_vs_tcp"], (lambda v: v >= 0.98) if up else (lambda v: v <= 1.02), "%.3f"))
T.append(tgt("conn 1 MiB: shim/TCP requests/s ≥ 2", ratio("shim", "tcp", ("conn", 1 << 20, "")), lambda v: v >= 2))
for wf, z in replay:
    fl = floor(wf, z)
    T.append(tgt("replay %s: shim/TCP time ≤ 0.5%s" % (wf, "" if fl is None else " (floor %.2f)" % fl),
                 ratio("shim", "tcp", ("replay", z, wf)), lambda v: v <= 0.5))
T.append(tgt("medium writes (http.server→curl 64 MiB): speed-up", med_ratio, lambda v: v > 1))
T.append(tgt("spawn /bin/true: shim/plain ≤ 1.10 (issue 13)", spawn_ratio, lambda v: v <= 1.10, "%.3f"))
T.append(tgt("region resident, 1 MiB stream ≤ 16 MiB (KiB)", rss, lambda v: v <= 16384, "%d"))
T.append(tgt("coordinator CPU, steady stream ≤ 2%", cpu, lambda v: v <= 2))
T.append(tgt("API 16 MiB: 0-copy/transparent ≥ 2 (issue 7)",
             ratio("api2", "shim", ("stream", 16 << 20, ""), "GBps"), lambda v: v >= 2))
T += ["", "### Targets (issue 16: never slower than TCP, close to the ring)", "",
      "| case | measured | |", "|---|---|---|"]
for z in sizes:
    T.append(tgt("stream %s: shim/TCP ≥ 1" % fmt_size(z), st(z), lambda v: v >= 1))
for z in [z for z in sizes if z >= 256 << 10]:
    if g("ring", "stream", z) is not None:
        T.append(tgt("stream %s: shim/ring ≥ 0.9" % fmt_size(z), st(z, "ring", "GBps"), lambda v: v >= 0.9))
for z in sorted({s["size"] for s in summary if s["mode"] == "rr"}):
    T.append(tgt("rr %s: shim/TCP round trip ≤ 1" % fmt_size(z), ratio("shim", "tcp", ("rr", z, "")),
                 lambda v: v <= 1))
for z in sorted({s["size"] for s in summary if s["mode"] == "conn"}):
    T.append(tgt("conn %s: shim/TCP requests/s ≥ 1" % fmt_size(z), ratio("shim", "tcp", ("conn", z, "")),
                 lambda v: v >= 1))
for wf, z in replay:
    T.append(tgt("replay %s: shim/TCP time ≤ 1" % wf, ratio("shim", "tcp", ("replay", z, wf)),
                 lambda v: v <= 1))
bad = [s for s in summary if not s["hash_ok"]]
T.append("")
T.append("Integrity: %s" % ("every row's hashes matched" if not bad else
                           "MISMATCH in " + ", ".join("%s %s %d" % (s["path"], s["mode"], s["size"]) for s in bad)))
md += T
open(os.path.join(out, "results.md"), "w").write("\n".join(md) + "\n")

plot_paths = paths + [p for p in ("api2",) if api_sizes]
with open(os.path.join(out, "plot.dat"), "w") as f:
    f.write("# size " + " ".join(plot_paths) + "\n")
    for z in sizes:
        f.write("%d %s\n" % (z, " ".join(cell(g(p, "stream", z), "%.4f").replace("–", "?")
                                          for p in plot_paths)))
with open(os.path.join(out, "plot.gp"), "w") as f:
    f.write("""set terminal pngcairo size 900,560 noenhanced
set output '%s'
set title 'faasflow-bench stream: throughput vs write size (medians)'
set logscale x 2
set xtics ('64 B' 64, '4 KiB' 4096, '64 KiB' 65536, '1 MiB' 1048576, '16 MiB' 16777216, '256 MiB' 268435456)
set xlabel 'write size'
set ylabel 'GB/s'
set key top left
set grid
set datafile missing '?'
plot %s
""" % (os.path.join(out, "throughput.png"),
       ", ".join("'%s' using 1:%d with linespoints lw 2 title '%s'" % (
           os.path.join(out, "plot.dat"), i + 2, "shim, zero-copy API" if p == "api2" else p)
           for i, p in enumerate(plot_paths))))
print("\n".join(md))
