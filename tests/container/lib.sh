# Shared by the container tests: a real Docker engine (the host's, or one started here and
# stopped at the end), base images built locally with debootstrap (no registry needed) and
# cached, the project's images built from contrib/docker/Dockerfile, and a coordinator on the
# host from the build tree. Built on tests/integration/lib.sh (cases, counters, cleanup).
#
# Cache: FF_CONTAINER_CACHE (default /var/cache/faasflow-shm): the debootstrap tarball and,
# when the engine is started here, its data root (so images survive between runs).
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
CT_CACHE=${FF_CONTAINER_CACHE:-/var/cache/faasflow-shm}
CT_TAG=ffct$$
CT_CONTAINERS=()
CT_NETWORKS=()
CT_DOCKERD_PID=
# The classic builder: BuildKit (buildx) is not packaged in Debian 12.
export DOCKER_BUILDKIT=0
# Images: local names, never the registry's.
CT_DEBIAN=faasflow-test/debian:12
CT_PYTHON=faasflow-test/python:3.11
CT_FUNCTION=faasflow-function:test
CT_FAASFLOWD=faasflowd:test

ct_cleanup() {
	local c n
	for c in "${CT_CONTAINERS[@]}"; do
		docker rm -f "$c" >/dev/null 2>&1
	done
	for n in "${CT_NETWORKS[@]}"; do
		docker network rm "$n" >/dev/null 2>&1
	done
	if [ -n "$CT_DOCKERD_PID" ]; then
		kill "$CT_DOCKERD_PID" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$CT_DOCKERD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$CT_DOCKERD_PID" 2>/dev/null
	fi
	it_cleanup
}
trap ct_cleanup EXIT

# ct_engine: use the engine that answers, or start one (own socket, data root in the cache).
ct_engine() {
	local sock=/run/faasflow-test-docker.sock
	if docker info >/dev/null 2>&1; then
		return 0
	fi
	if [ -S "$sock" ] && DOCKER_HOST=unix://$sock docker info >/dev/null 2>&1; then
		export DOCKER_HOST=unix://$sock
		return 0
	fi
	mkdir -p "$CT_CACHE/docker"
	dockerd --data-root "$CT_CACHE/docker" --exec-root /run/faasflow-test-docker \
		-H "unix://$sock" --pidfile /run/faasflow-test-docker.pid \
		>"$T/dockerd.log" 2>&1 &
	CT_DOCKERD_PID=$!
	export DOCKER_HOST=unix://$sock
	for _ in $(seq 1 300); do
		docker info >/dev/null 2>&1 && return 0
		kill -0 "$CT_DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "dockerd did not start; its log:" >&2
	tail -n 20 "$T/dockerd.log" >&2
	return 1
}

# ct_build_images: base images (debootstrap, cached) and the project's images, once per run
# of the suite (a lock serialises concurrent tests).
ct_build_images() {
	mkdir -p "$CT_CACHE"
	(
		flock 9
		ct_build_images_locked
	) 9>"$CT_CACHE/images.lock"
}

ct_build_images_locked() {
	local tarball=$CT_CACHE/bookworm-minbase.tar root
	if ! docker image inspect "$CT_DEBIAN" >/dev/null 2>&1; then
		if [ ! -s "$tarball" ]; then
			root=$(mktemp -d "$CT_CACHE/rootfs.XXXXXX")
			echo "debootstrap --variant=minbase bookworm (once; cached in $tarball)"
			if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian \
				>"$T/debootstrap.log" 2>&1; then
				tail -n 20 "$T/debootstrap.log" >&2
				rm -rf "$root"
				return 1
			fi
			tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
			rm -rf "$root"
		fi
		docker import --change 'CMD ["/bin/bash"]' "$tarball" "$CT_DEBIAN" >/dev/null || return 1
	fi
	if ! docker image inspect "$CT_PYTHON" >/dev/null 2>&1; then
		printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*\n' \
			"$CT_DEBIAN" | docker build -q -t "$CT_PYTHON" - >"$T/python-image.log" 2>&1 ||
			{ tail -n 20 "$T/python-image.log" >&2; return 1; }
	fi
	local target tag
	for target in function faasflowd; do
		tag=$CT_FUNCTION
		[ "$target" = faasflowd ] && tag=$CT_FAASFLOWD
		if ! docker build -f "$CT_TOP_SRC/contrib/docker/Dockerfile" --target "$target" \
			--build-arg DEBIAN_IMAGE="$CT_DEBIAN" --build-arg FUNCTION_BASE="$CT_PYTHON" \
			-t "$tag" "$CT_TOP_SRC" >"$T/build-$target.log" 2>&1; then
			echo "docker build --target $target failed:" >&2
			tail -n 30 "$T/build-$target.log" >&2
			return 1
		fi
	done
}

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
