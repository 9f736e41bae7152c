#!/bin/bash
# contrib/docker/docker-compose.yml with Debian's docker-compose (v1): up, used, down.
# faasflowd on the host; fn-a and fn-b run the image's own command (python3 -m http.server
# 5000) through the entrypoint; a program started in fn-b with `docker exec` through the
# entrypoint fetches a 64 MiB file from fn-a by service name: the hashes match and the bytes
# went through the region.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
command -v docker-compose >/dev/null 2>&1 || {
	echo "SKIP: docker-compose not found (contrib/install-deps.sh installs it)"
	exit 77
}

ct_engine || { it_fail "engine" "no Docker engine could be started"; it_done; }
ct_build_images || { it_fail "images" "the images could not be built"; it_done; }
it_config
it_start_daemon

export FAASFLOW_SHM_FILE_PATH=$T/region FAASFLOW_SOCKET_DIR=$T
export FAASFLOW_FUNCTION_IMAGE=$CT_FUNCTION FAASFLOW_NETWORK=$CT_TAG-compose
FN_A_PORT=$(it_free_port)
FN_B_PORT=$(it_free_port)
export FN_A_PORT FN_B_PORT
compose=(docker-compose -p "$CT_TAG" -f "$CT_TOP_SRC/contrib/docker/docker-compose.yml")
down() { "${compose[@]}" down -t 2 >/dev/null 2>&1; }
CT_NETWORKS+=("$FAASFLOW_NETWORK")

name="docker-compose up"
if ! out=$("${compose[@]}" up -d --no-build 2>&1); then
	it_fail "$name" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"
	down
	it_done
fi
it_pass "$name"
a=$("${compose[@]}" ps -q fn-a)
b=$("${compose[@]}" ps -q fn-b)
CT_CONTAINERS+=("$a" "$b")
ct_wait_log "$a" "Serving HTTP" 30 || true

name="fn-b fetches 64 MiB from fn-a (http.server) by service name"
docker exec "$a" sh -c 'head -c 67108864 /dev/urandom >/served.bin'
want=$(docker exec "$a" sha256sum /served.bin | cut -d' ' -f1)
before=$(it_stat region_bytes)
got=$(timeout 120 docker exec "$b" faasflow-entrypoint python3 -c '
import hashlib, urllib.request
with urllib.request.urlopen("http://fn-a:5000/served.bin", timeout=60) as r:
    h = hashlib.sha256()
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        h.update(b)
print(h.hexdigest())' 2>&1)
if [ -z "$want" ] || [ "$got" != "$want" ]; then
	it_fail "$name" "sha256 in fn-a '$want', fetched '$got'"
	ct_logs "$a"
else
	it_grew "$name" "$before" $((32 << 20)) && it_pass "$name"
fi

name="faasflowctl endpoints lists both services"
n=$("$FFCTL" --config "$CONF" endpoints 2>&1 | grep -cE "[[:space:]]5000[[:space:]].*[[:space:]]fn-[ab]$")
if [ "$n" -ge 2 ]; then
	it_pass "$name"
else
	it_fail "$name" "$n listener(s) on :5000"
fi

name="docker-compose down"
if out=$("${compose[@]}" down -t 5 2>&1) && [ -z "$(docker ps -aq --filter "id=$a")" ]; then
	it_pass "$name"
else
	it_fail "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
fi
it_done
