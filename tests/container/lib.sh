# Shared by the container tests: a real Docker engine (the host's, or one started here and
# stopped at the end), base images built locally with debootstrap (no registry needed) and
# cached, the project's images built from contrib/docker/Dockerfile, and a coordinator on the
# host from the build tree. Built on tests/integration/lib.sh (cases, counters, cleanup).
#
# The engine and the images: contrib/docker/engine.sh (FF_CONTAINER_CACHE, default
# /var/cache/faasflow-shm, keeps the debootstrap tarball and, when the engine is started
# here, its data root, so images survive between runs).
# Environment: FF_CONTAINER_TESTS=skip skips every container test (distcheck does: make check
# already ran them on the same tree).
# shellcheck shell=bash disable=SC2034

if [ "${FF_CONTAINER_TESTS:-}" = skip ]; then
	echo "SKIP: container tests not asked for here (FF_CONTAINER_TESTS=skip)"
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: the container tests start a Docker engine and need root"
	exit 77
fi
for t in docker dockerd debootstrap; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "SKIP: $t not found (contrib/install-deps.sh installs docker.io and debootstrap)"
		exit 77
	fi
done

# shellcheck source=../integration/lib.sh
. "${abs_top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/integration/lib.sh"

CT_SRC=${abs_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
CT_TOP_SRC=$(cd "$CT_SRC/../.." && pwd)
# shellcheck source=../../contrib/docker/engine.sh
. "$CT_TOP_SRC/contrib/docker/engine.sh"
CT_CACHE=$FF_CONTAINER_CACHE
CT_TAG=ffct$$
# One container test at a time (make -j runs tests side by side): a test stops the engine it
# started, which another test may be using.
mkdir -p "$CT_CACHE"
exec 8>"$CT_CACHE/tests.lock"
flock 8
CT_CONTAINERS=()
CT_NETWORKS=()
CT_DEBIAN=$FF_IMG_DEBIAN
CT_PYTHON=$FF_IMG_PYTHON
CT_FUNCTION=$FF_IMG_FUNCTION
CT_FAASFLOWD=$FF_IMG_FAASFLOWD

ct_cleanup() {
	local c n
	for c in "${CT_CONTAINERS[@]}"; do
		docker rm -f "$c" >/dev/null 2>&1
	done
	for n in "${CT_NETWORKS[@]}"; do
		docker network rm "$n" >/dev/null 2>&1
	done
	ff_engine_stop
	it_cleanup
}
trap ct_cleanup EXIT

ct_engine() { ff_engine "$T"; }
ct_build_images() { ff_images "$CT_TOP_SRC" "$T"; }

# ct_network: a user-defined bridge network on a subnet chosen here. Sets CT_NET CT_PREFIX.
ct_network() {
	local i x
	for i in $(seq 1 20); do
		x=$((16 + RANDOM % 200))
		CT_NET=$CT_TAG-net$i
		CT_PREFIX=10.219.$x
		if docker network create --subnet "$CT_PREFIX.0/24" "$CT_NET" >/dev/null 2>&1; then
			CT_NETWORKS+=("$CT_NET")
			return 0
		fi
	done
	return 1
}

# ct_run NAME [docker run args...]: a detached container, removed at the end.
ct_run() {
	local name=$1
	shift
	CT_CONTAINERS+=("$name")
	docker run -d --name "$name" "$@" >/dev/null
}

# ct_logs NAME: the last lines of a container's output, indented.
ct_logs() {
	docker logs --tail 15 "$1" 2>&1 | sed "s/^/    $1: /"
}

# ct_wait_log NAME TEXT [timeout_s]: wait for TEXT in a container's output.
ct_wait_log() {
	local i
	for i in $(seq 1 $((${3:-30} * 10))); do
		docker logs "$1" 2>&1 | grep -q -- "$2" && return 0
		[ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || break
		sleep 0.1
	done
	docker logs "$1" 2>&1 | grep -q -- "$2"
}
