#!/bin/sh
# Install what faasflow-shm needs to build, test, run the demo and the benchmark on
# Debian 12 (bookworm). Idempotent: packages already installed are skipped, and apt is
# not touched at all when nothing is missing. Needs root; re-runs itself with sudo
# when started by another user and sudo exists.
set -eu

REQUIRED="autoconf automake libtool pkg-config make gcc clang libclang-rt-14-dev \
check libunwind-dev uthash-dev iproute2 util-linux socat iperf3 redis-server \
nginx-light curl python3 python3-flask python3-requests python3-yaml gnuplot-nox \
shellcheck valgrind netcat-openbsd procps groff-base"
# Only used by optional checks (systemd-analyze verify); a failure to install is not fatal.
OPTIONAL="systemd"
# Optional group: the compatibility matrix (tests/compat). Each package is installed on its
# own; one that fails is reported and the rows needing it are SKIPped naming it.
COMPAT="redis-server redis-tools memcached nginx-light haproxy openssh-server openssh-client \
postgresql postgresql-client nodejs openjdk-17-jdk-headless python3-gevent gunicorn perl \
golang-go libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 curl libpython3.11-testsuite"
# Optional group: the container tests (tests/container): a real Docker engine, base images
# built with debootstrap, Debian's docker-compose (v1) and the Python Docker SDK; for the musl
# image (make musl-shim, tests/container/t-docker-musl.sh) musl-gcc and a static /bin/sh.
# Installed like the matrix: one that fails is reported and the tests needing it are SKIPped.
CONTAINERS="docker.io debootstrap docker-compose python3-docker musl-tools busybox-static"

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo "$0" "$@"
	fi
	echo "install-deps.sh: must run as root (no sudo found): try 'su -c $0'" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps.sh: apt-get not found: this script supports Debian and Ubuntu only" >&2
	exit 1
fi

missing() {
	for p in "$@"; do
		if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
			printf '%s\n' "$p"
		fi
	done
}

# shellcheck disable=SC2086 # word splitting of the package lists is intended
need=$(missing $REQUIRED)
# shellcheck disable=SC2086
want=$(missing $OPTIONAL)
# shellcheck disable=SC2086
compat=$(missing $COMPAT)
# shellcheck disable=SC2086
containers=$(missing $CONTAINERS)

if [ -z "$need" ] && [ -z "$want" ] && [ -z "$compat" ] && [ -z "$containers" ]; then
	echo "install-deps.sh: all packages present"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
APT="apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
$APT update
if [ -n "$need" ]; then
	echo "install-deps.sh: installing: $(echo "$need" | tr "\n" " ")"
	# shellcheck disable=SC2086
	$APT install --no-install-recommends $need
fi
for p in $want; do
	$APT install --no-install-recommends "$p" ||
		echo "install-deps.sh: optional package $p not installed (its checks will be skipped)" >&2
done
if [ -n "$compat" ]; then
	echo "install-deps.sh: compatibility matrix: $(echo "$compat" | tr "\n" " ")"
	# shellcheck disable=SC2086
	$APT install --no-install-recommends $compat ||
		for p in $compat; do        # one at a time: a package that fails leaves the others
			$APT install --no-install-recommends "$p" ||
				echo "install-deps.sh: compatibility-matrix package $p not installed (tests/compat rows needing it will be skipped)" >&2
		done
fi
if [ -n "$containers" ]; then
	echo "install-deps.sh: container tests: $(echo "$containers" | tr "\n" " ")"
	# shellcheck disable=SC2086
	$APT install --no-install-recommends $containers ||
		for p in $containers; do
			$APT install --no-install-recommends "$p" ||
				echo "install-deps.sh: container-test package $p not installed (tests/container will be skipped)" >&2
		done
fi
echo "install-deps.sh: done"
