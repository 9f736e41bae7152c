# Shared by tests/container and contrib/bench/container-ab.sh (sourced; bash): a Docker engine
# and the images, on a host that reaches no image registry.
#
#   ff_engine LOGDIR     use the engine that answers, or start dockerd (own socket, data
#                        root in $FF_CONTAINER_CACHE/docker so images are kept); sets
#                        FF_DOCKERD_PID when it started one; exports DOCKER_HOST then
#   ff_engine_stop       stop the dockerd that ff_engine started (none otherwise)
#   ff_images SRCDIR LOGDIR
#                        base images from debootstrap (the tarball cached in
#                        $FF_CONTAINER_CACHE), then the project's images built from
#                        SRCDIR/contrib/docker/Dockerfile; a lock serialises concurrent runs
#
# Image names: FF_IMG_DEBIAN (a minbase Debian 12), FF_IMG_PYTHON (plus python3),
# FF_IMG_FUNCTION (--target function), FF_IMG_FAASFLOWD (--target faasflowd).
# shellcheck shell=bash

FF_CONTAINER_CACHE=${FF_CONTAINER_CACHE:-/var/cache/faasflow-shm}
FF_IMG_DEBIAN=${FF_IMG_DEBIAN:-faasflow-test/debian:12}
FF_IMG_PYTHON=${FF_IMG_PYTHON:-faasflow-test/python:3.11}
FF_IMG_FUNCTION=${FF_IMG_FUNCTION:-faasflow-function:test}
FF_IMG_FAASFLOWD=${FF_IMG_FAASFLOWD:-faasflowd:test}
FF_DOCKERD_PID=
# The classic builder: BuildKit (buildx) is not packaged in Debian 12.
export DOCKER_BUILDKIT=0

ff_engine() {
	local logdir=$1 sock=/run/faasflow-test-docker.sock
	if docker info >/dev/null 2>&1; then
		return 0
	fi
	if [ -S "$sock" ] && DOCKER_HOST=unix://$sock docker info >/dev/null 2>&1; then
		export DOCKER_HOST=unix://$sock
		return 0
	fi
	mkdir -p "$FF_CONTAINER_CACHE/docker"
	dockerd --data-root "$FF_CONTAINER_CACHE/docker" --exec-root /run/faasflow-test-docker \
		-H "unix://$sock" --pidfile /run/faasflow-test-docker.pid \
		>"$logdir/dockerd.log" 2>&1 8>&- 9>&- &
	FF_DOCKERD_PID=$!
	export DOCKER_HOST=unix://$sock
	for _ in $(seq 1 300); do
		docker info >/dev/null 2>&1 && return 0
		kill -0 "$FF_DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "dockerd did not start; its log:" >&2
	tail -n 20 "$logdir/dockerd.log" >&2
	return 1
}

ff_engine_stop() {
	[ -n "$FF_DOCKERD_PID" ] || return 0
	kill "$FF_DOCKERD_PID" 2>/dev/null || true
	for _ in $(seq 1 300); do
		kill -0 "$FF_DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	# (|| true: a caller under set -e, e.g. an EXIT trap, would exit 1 after a success)
	kill -9 "$FF_DOCKERD_PID" 2>/dev/null || true
	wait "$FF_DOCKERD_PID" 2>/dev/null || true
	FF_DOCKERD_PID=
}

ff_images() {
	mkdir -p "$FF_CONTAINER_CACHE"
	(
		flock 9
		ff_images_locked "$@"
	) 9>"$FF_CONTAINER_CACHE/images.lock"
}

ff_images_locked() {
	local src=$1 logdir=$2 tarball=$FF_CONTAINER_CACHE/bookworm-minbase.tar root target tag
	if ! docker image inspect "$FF_IMG_DEBIAN" >/dev/null 2>&1; then
		if [ ! -s "$tarball" ]; then
			root=$(mktemp -d "$FF_CONTAINER_CACHE/rootfs.XXXXXX")
			echo "debootstrap --variant=minbase bookworm (once; cached in $tarball)"
			if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian \
				>"$logdir/debootstrap.log" 2>&1; then
				tail -n 20 "$logdir/debootstrap.log" >&2
				rm -rf "$root"
				return 1
			fi
			tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
			rm -rf "$root"
		fi
		docker import --change 'CMD ["/bin/bash"]' "$tarball" "$FF_IMG_DEBIAN" >/dev/null || return 1
	fi
	if ! docker image inspect "$FF_IMG_PYTHON" >/dev/null 2>&1; then
		printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*\n' \
			"$FF_IMG_DEBIAN" | docker build -q -t "$FF_IMG_PYTHON" - >"$logdir/python-image.log" 2>&1 ||
			{ tail -n 20 "$logdir/python-image.log" >&2; return 1; }
	fi
	for target in function faasflowd; do
		tag=$FF_IMG_FUNCTION
		[ "$target" = faasflowd ] && tag=$FF_IMG_FAASFLOWD
		if ! docker build -f "$src/contrib/docker/Dockerfile" --target "$target" \
			--build-arg DEBIAN_IMAGE="$FF_IMG_DEBIAN" --build-arg FUNCTION_BASE="$FF_IMG_PYTHON" \
			-t "$tag" "$src" >"$logdir/build-$target.log" 2>&1; then
			echo "docker build --target $target failed:" >&2
			tail -n 30 "$logdir/build-$target.log" >&2
			return 1
		fi
	done
}
