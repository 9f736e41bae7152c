#!/bin/bash
# The coordinator itself in a container: the image the Kubernetes DaemonSet uses
# (contrib/docker/Dockerfile --target faasflowd), with the DaemonSet's hostPath volumes as
# bind mounts, its read-only root, dropped capabilities and its own pid namespace. Two function
# containers mounted like contrib/kubernetes/function-deployment.yaml move 128 MiB through the
# region it created (the sender is started with `docker exec` through the image's entrypoint,
# which preloads the shim); its statistics are read with faasflowctl inside its container.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

ct_engine || { it_fail "engine" "no Docker engine could be started"; it_done; }
ct_build_images || { it_fail "images" "the images could not be built"; it_done; }
ct_network || { it_fail "network" "docker network create failed"; it_done; }

# The node's directories (hostPath in the DaemonSet) and the ConfigMap, on this host.
mkdir -p "$T/node-region" "$T/node-run" "$T/node-config"
cat >"$T/node-config/faasflow.conf" <<EOF
ENABLE_SHARED_MEMORY = true
SHM_SIZE = 256M
SLOT_SIZE = 1M
SHM_FILE_PATH = /faasflow/region/faasflow_shm
SOCKET_DIR = /faasflow/sockets
SHM_FILE_MODE = 0600
SOCKET_MODE = 0600
LOG_LEVEL = info
EOF
D=$CT_TAG-faasflowd
ct_run "$D" --read-only --cap-drop ALL --security-opt no-new-privileges \
	-v "$T/node-region:/faasflow/region" -v "$T/node-run:/faasflow/sockets" \
	-v "$T/node-config:/etc/faasflow:ro" -e FAASFLOW_CONFIG=/etc/faasflow/faasflow.conf \
	"$CT_FAASFLOWD" --config /etc/faasflow/faasflow.conf

ct_stat() {
	docker exec "$D" faasflowctl --config /etc/faasflow/faasflow.conf stats --json 2>/dev/null |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

name="faasflowd in its container is ready (the DaemonSet's readiness probe)"
ready=0
for _ in $(seq 1 100); do
	if docker exec "$D" faasflowctl --config /etc/faasflow/faasflow.conf status >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
if [ "$ready" = 1 ] && [ -S "$T/node-run/faasflow_container_default.sock" ] &&
	[ "$(stat -c %s "$T/node-region/faasflow_shm")" = $((256 << 20)) ]; then
	it_pass "$name"
else
	it_fail "$name" "status did not answer, or the socket/region is missing on the node"
	ct_logs "$D"
	it_done
fi

A=$CT_TAG-pod-a
B=$CT_TAG-pod-b
pod=(-v "$T/node-region:/faasflow/region" -v "$T/node-run:/faasflow/sockets"
	-e FAASFLOW_SHM_FILE_PATH=/faasflow/region/faasflow_shm -e FAASFLOW_SOCKET_DIR=/faasflow/sockets
	-v "$CT_SRC/xfer.py:/xfer.py:ro" --network "$CT_NET")
ct_run "$A" "${pod[@]}" -e FAASFLOW_NAME=pod-a "$CT_FUNCTION" python3 /xfer.py server 5000
ct_run "$B" "${pod[@]}" -e FAASFLOW_NAME=pod-b "$CT_FUNCTION" sleep infinity
ct_wait_log "$A" LISTEN 30 || { it_fail "pods" "pod-a did not listen"; ct_logs "$A"; it_done; }

for mib in 128 16; do
	name="pod-b -> pod-a, $mib MiB through the containerised coordinator's region"
	before=$(ct_stat region_bytes)
	if ! out=$(timeout 300 docker exec "$B" faasflow-entrypoint python3 /xfer.py client "$A" 5000 "$mib" 2>&1); then
		it_fail "$name" "transfer failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		ct_logs "$A"
		ct_logs "$D"
		continue
	fi
	after=$(ct_stat region_bytes)
	if [ -z "$before" ] || [ -z "$after" ] || [ $((after - before)) -lt $((mib * 3 / 4 << 20)) ]; then
		it_fail "$name" "region_bytes went from '$before' to '$after'"
		ct_logs "$D"
	else
		it_pass "$name"
	fi
done
it_done
