#!/bin/bash
# container-ab.sh: the A/B benchmark between two containers, the path FaaSFlow's functions
# take (a bridge network: veth and bridge, not loopback). The same unmodified faasflow-bench
# runs as the server in one function container and as the client in another, on a
# user-defined network; plain (the image's command without the entrypoint) and shimmed (the
# image's entrypoint, which preloads the shim) alternate A B A B. faasflowd runs on the host,
# its region on tmpfs, both containers mount it as the deployment guide says.
#
#   container-ab.sh --build DIR [--out DIR] [--reps K] [--no-pin]
#
#   --build DIR  top build directory WITHOUT sanitizers (faasflowd, faasflowctl and
#                faasflow-bench come from it; the shim in the containers is the image's)
#   --out DIR    output directory (default: <source dir>/contrib/bench/results): writes
#                container.csv (every run) and container.md (medians, ratios)
#   --reps K     repetitions of each A/B pair (default 5)
#   --no-pin     do not pin the server container to the first CPU and the client to the
#                second (default: pinned, as run-bench.sh pins its two ends)
# Needs root and Docker (started here when none runs, and the images built, as the container
# tests do: contrib/docker/engine.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build='' out="$here/results" reps=5 pin=1
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--no-pin) pin=0; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "container-ab.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case $reps in *[!0-9]*|0|'') echo "container-ab.sh: --reps '$reps': expected a positive number" >&2; exit 2 ;; esac
[ -n "$build" ] || { echo "container-ab.sh: --build <top build dir> is required" >&2; exit 2; }
BENCH=$build/contrib/bench/faasflow-bench
FAASFLOWD=$build/daemon/faasflowd
FAASFLOWCTL=$build/daemon/faasflowctl
for f in "$BENCH" "$FAASFLOWD" "$FAASFLOWCTL"; do
	[ -x "$f" ] || { echo "container-ab.sh: $f is missing: build the tree first" >&2; exit 2; }
done
if ldd "$BENCH" | grep -q libasan; then
	echo "container-ab.sh: $build is a sanitizer build: use one without (numbers would mean nothing)" >&2
	exit 2
fi
[ "$(id -u)" = 0 ] || { echo "container-ab.sh: needs root (Docker)" >&2; exit 2; }

# shellcheck source=../docker/engine.sh
. "$src/contrib/docker/engine.sh"
T=$(mktemp -d /tmp/ffcab.XXXXXX)
RDIR=$(mktemp -d /dev/shm/ffcab.XXXXXX)
TAG=ffcab$$
DPID=
cleanup() {
	docker rm -f "$TAG-srv" "$TAG-cli" >/dev/null 2>&1 || true
	docker network rm "$TAG-net" >/dev/null 2>&1 || true
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	ff_engine_stop
	rm -rf "$T" "$RDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ff_engine "$T"
ff_images "$src" "$T"
docker network create "$TAG-net" >/dev/null

cat >"$T/faasflow.conf" <<CONF
SHM_FILE_PATH = $RDIR/region
SOCKET_DIR = $T
SHM_SIZE = 1G
SLOT_SIZE = 1M
CONF
"$FAASFLOWD" --config "$T/faasflow.conf" >"$T/faasflowd.log" 2>&1 &
DPID=$!
for _ in $(seq 1 500); do
	"$FAASFLOWCTL" --config "$T/faasflow.conf" status >/dev/null 2>&1 && break
	sleep 0.02
done
region_bytes() {
	"$FAASFLOWCTL" --config "$T/faasflow.conf" stats --json | grep -o '"region_bytes": *[0-9]*' | grep -o '[0-9]*$'
}

srv_cpu=() cli_cpu=()
if [ $pin = 1 ]; then
	mapfile -t cpus < <(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' |
		awk -F- '{ for (i = $1; i <= ($2 == "" ? $1 : $2); i++) print i }')
	if [ "${#cpus[@]}" -ge 2 ]; then
		srv_cpu=(--cpuset-cpus "${cpus[0]}") cli_cpu=(--cpuset-cpus "${cpus[1]}")
	fi
fi
common=(--network "$TAG-net" --mount "type=bind,source=$RDIR/region,target=$RDIR/region"
	--mount "type=bind,source=/tmp,target=/tmp" --label=workflow
	-e "FAASFLOW_SHM_FILE_PATH=$RDIR/region" -e "FAASFLOW_SOCKET_DIR=$T"
	-v "$BENCH:/usr/local/bin/faasflow-bench:ro" -v "$here/faasflow_edges.csv:/edges.csv:ro")

# run VARIANT ARGS...: one measurement; prints the client's CSV lines (a replay prints one
# per workflow) prefixed by the variant and the region bytes the whole run added. plain: the bench is the container's command (no entrypoint,
# no shim); shim: the image's entrypoint runs it under the shim.
run() {
	local variant=$1 entry=() before ip
	shift
	[ "$variant" = plain ] && entry=(--entrypoint /usr/local/bin/faasflow-bench)
	[ "$variant" = shim ] && entry=(--entrypoint /usr/local/bin/faasflow-entrypoint)
	local cmd=()
	[ "$variant" = shim ] && cmd=(/usr/local/bin/faasflow-bench)
	rm -f "$T/ready"
	docker run -d --name "$TAG-srv" "${common[@]}" "${srv_cpu[@]}" "${entry[@]}" "$FF_IMG_FUNCTION" \
		"${cmd[@]}" -t tcp -r server -H 0.0.0.0 -p 5000 -f "$T/ready" "$@" >/dev/null
	for _ in $(seq 1 500); do [ -s "$T/ready" ] && break; sleep 0.02; done
	if [ ! -s "$T/ready" ]; then
		echo "container-ab.sh: the server did not start:" >&2
		docker logs "$TAG-srv" >&2
		exit 1
	fi
	ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$TAG-srv")
	before=$(region_bytes)
	docker run --rm --name "$TAG-cli" "${common[@]}" "${cli_cpu[@]}" "${entry[@]}" \
		"$FF_IMG_FUNCTION" "${cmd[@]}" -t tcp -r client -H "$ip" -p 5000 -l "$variant" "$@" \
		>"$T/client.csv"
	docker rm -f "$TAG-srv" >/dev/null 2>&1
	grep "^$variant," "$T/client.csv" | sed "s/^/$variant,$(($(region_bytes) - before)),/"
}

rows=(
	"stream: 1 MiB writes (512 MiB)|-m stream -s 1M -V 512M"
	"stream: 16 MiB writes (1 GiB)|-m stream -s 16M -V 1G"
	"request/response 1 MiB|-m rr -s 1M -n 300"
	"replay|-m replay -n 5 -e /edges.csv"
)
mkdir -p "$out"
csv=$out/container.csv
echo "row,run,variant,region_bytes,path,mode,size,iterations,seconds,GBps,median_us,p90_us,ops_per_s,hash_ok,hash_tx,hash_rx,region_rss_kb,transport,workflow" >"$csv"
for r in "${rows[@]}"; do
	name=${r%%|*}
	read -r -a args <<<"${r#*|}"
	for i in $(seq 1 "$reps"); do
		for v in plain shim; do
			run "$v" "${args[@]}" | awk -v p="$name,$name#$i," '{ print p $0 }' >>"$csv"
			echo "  $name #$i $v: $(tail -n 1 "$csv" | cut -d, -f3,4,10,11)"
		done
	done
done

/usr/bin/python3 - "$csv" "$out/container.md" "$reps" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:                   # a replay: a row per workflow
    if r["mode"] == "replay":
        r["row"] = "replay " + r["workflow"]
order = []
for r in rows:
    if r["row"] not in order:
        order.append(r["row"])
# share of a run's bytes that went through the region (a replay's run covers every workflow)
moved = {}
for r in rows:
    moved[r["run"], r["variant"]] = moved.get((r["run"], r["variant"]), 0) + \
        int(r["size"]) * int(r["iterations"])
out = ["| row (two containers, bridge network) | plain TCP | shim | plain / shim | bytes through the region | hashes |",
       "|---|---|---|---|---|---|"]
for name in order:
    sel = [r for r in rows if r["row"] == name]
    rr = sel[0]["mode"] == "rr"
    replay = sel[0]["mode"] == "replay"
    key = "median_us" if (rr or replay) else "seconds"
    def med(v):
        return statistics.median(float(r[key]) for r in sel if r["variant"] == v)
    p, s = med("plain"), med("shim")
    share = statistics.median(int(r["region_bytes"]) / moved[r["run"], "shim"]
                              for r in sel if r["variant"] == "shim")
    ok = all(r["hash_ok"] == "yes" for r in sel)
    if rr:
        cell = lambda v: "%.0f µs per request" % v
    elif replay:
        cell = lambda v: "%.1f ms per replay" % (v / 1000)
    else:
        cell = lambda v: "%.3f s" % v
    out.append("| %s | %s | %s | %.2f | %.0f%% | %s |" % (
        name, cell(p), cell(s), p / s, 100 * min(share, 1.0),
        "all equal" if ok else "MISMATCH"))
out.append("")
out.append("Medians of %s alternated runs per row (plain, shim, plain, shim ...); plain / shim "
           "above 1 means the shim is faster. Replay rows: each workflow's edges, one "
           "connection per edge, the median of its repetitions; the region share of a "
           "replay row is that of the whole run (all workflows)." % sys.argv[3])
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
