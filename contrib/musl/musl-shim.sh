#!/bin/sh
# contrib/musl/musl-shim.sh BUILDDIR: builds BUILDDIR/preload/libfaasflow_intercept-musl.so,
# the shim for musl images (Alpine), from the same sources as libfaasflow_intercept.so
# (preload/*.c and common/*.c) with musl-gcc. `make musl-shim` at the top of the build tree
# runs it. Without musl-gcc (Debian: musl-tools) it says so and builds nothing (exit 0).
#
# Environment: MUSL_GCC (default musl-gcc); MUSL_KERNEL_HEADERS, a directory with linux/,
# asm/ and asm-generic/ (default: links to the host's /usr/include, made in BUILDDIR:
# musl-gcc searches only musl's own headers); MUSL_CFLAGS, more compiler flags;
# PACKAGE_VERSION (default: BUILDDIR/config.h's).
# The flags are the project's (configure's warnings, -Werror, hardening) without sanitizers
# or coverage, whatever BUILDDIR was configured with: musl has no sanitizer run-time.
set -eu

if [ "$#" -ne 1 ]; then
	echo "usage: musl-shim.sh BUILDDIR" >&2
	exit 2
fi
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
cc=${MUSL_GCC:-musl-gcc}
out=$builddir/preload/libfaasflow_intercept-musl.so
work=$builddir/preload/musl

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "musl-shim: $cc not found (Debian: apt-get install musl-tools): $out not built" >&2
	exit 0
fi

version=${PACKAGE_VERSION:-}
if [ -z "$version" ] && [ -f "$builddir/config.h" ]; then
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$builddir/config.h")
fi
: "${version:=unknown}"

mkdir -p "$work"
headers=${MUSL_KERNEL_HEADERS:-}
if [ -z "$headers" ]; then
	headers=$work/include
	mkdir -p "$headers"
	multiarch=$(gcc -print-multiarch 2>/dev/null || :)
	for d in linux asm-generic asm; do
		for cand in "/usr/include/$multiarch/$d" "/usr/include/$d"; do
			if [ -d "$cand" ]; then
				ln -sfn "$cand" "$headers/$d"
				break
			fi
		done
		if [ ! -e "$headers/$d" ]; then
			echo "musl-shim: kernel headers /usr/include/$d not found (Debian: linux-libc-dev), or set MUSL_KERNEL_HEADERS" >&2
			exit 1
		fi
	done
fi

warn="-std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wno-unused-parameter -Wformat=2 -Wvla"
# shellcheck disable=SC2086 # the flag lists are split on purpose
set -- $warn -pthread -fstack-protector-strong -fPIC -g -O2 -D_GNU_SOURCE \
	-iquote "$srcdir/common" -I"$srcdir/common" -isystem "$headers" \
	-DFF_PACKAGE_VERSION="\"$version\"" ${MUSL_CFLAGS:-}

objs=
for src in "$srcdir"/preload/*.c "$srcdir"/common/*.c; do
	dir=$(basename "$(dirname "$src")")
	obj=$work/$dir-$(basename "$src" .c).o
	extra=
	# common/ is built with hidden visibility, as libffcommon is.
	[ "$dir" != common ] || extra=-fvisibility=hidden
	echo "  CC(musl) $dir/$(basename "$src")"
	# shellcheck disable=SC2086 # no word when empty
	"$cc" "$@" $extra -c "$src" -o "$obj"
	objs="$objs $obj"
done
echo "  CCLD(musl) $out"
# shellcheck disable=SC2086 # one word per object
"$cc" -shared -pthread -o "$out.tmp" $objs -Wl,-z,relro -Wl,-z,now -Wl,--no-undefined \
	-Wl,--version-script="$srcdir/preload/libfaasflow_intercept.map" \
	-Wl,-soname,libfaasflow_intercept-musl.so
mv "$out.tmp" "$out"
echo "musl-shim: built $out"
