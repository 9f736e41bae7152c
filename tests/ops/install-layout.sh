#!/bin/bash
# `make install DESTDIR=...` lays out every artifact where the configuration says, the
# installed faasflow-run and faasflow.pc point at the installed shim and header, and
# `make uninstall` removes everything again.
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"
: "${prefix:?}" "${bindir:?}" "${sbindir:?}" "${libdir:?}" "${includedir:?}" "${sysconfdir:?}" "${mandir:?}"
op_make_tmp
dest=$tmp/dest

# A nested make must not join the jobserver of the make running the tests.
nmake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s -C "$top_builddir" "$@"; }
nmake install DESTDIR="$dest" >"$tmp/install.log" 2>&1 ||
	{ tail -n 40 "$tmp/install.log"; op_fail "make install DESTDIR=$dest failed"; }

status=0
expect() {
	if [ -e "$dest$1" ]; then op_ok "$1"; else echo "FAIL: not installed: $1" >&2; status=1; fi
}
expect_x() {
	if [ -x "$dest$1" ] && [ -f "$dest$1" ]; then op_ok "$1 (executable)"
	else echo "FAIL: not installed or not executable: $1" >&2; status=1; fi
}
expect_x "$sbindir/faasflowd"
expect_x "$bindir/faasflowctl"
expect_x "$bindir/faasflow-run"
expect "$libdir/libfaasflow_intercept.so"
expect "$includedir/faasflow.h"
expect "$libdir/pkgconfig/faasflow.pc"
expect "$sysconfdir/faasflow/faasflow.conf.example"
expect "$mandir/man8/faasflowd.8"
expect "$mandir/man1/faasflowctl.1"
expect "$mandir/man5/faasflow.conf.5"
expect "$mandir/man7/libfaasflow_intercept.7"
if [ -n "${systemdsystemunitdir:-}" ]; then
	expect "$systemdsystemunitdir/faasflowd.service"
	expect "$prefix/lib/tmpfiles.d/faasflow.conf"
	expect "$prefix/lib/sysusers.d/faasflow.conf"
else
	find "$dest" -name '*.service' | grep -q . && { echo "FAIL: unit installed without --with-systemdsystemunitdir" >&2; status=1; }
fi
find "$dest" -name '*.a' | grep -q . && { echo "FAIL: static archives installed" >&2; status=1; }

grep -q "^shim='$libdir/libfaasflow_intercept.so'\$" "$dest$bindir/faasflow-run" ||
	{ echo "FAIL: installed faasflow-run does not name $libdir/libfaasflow_intercept.so" >&2; status=1; }
cmp -s "$top_srcdir/contrib/faasflow.conf" "$dest$sysconfdir/faasflow/faasflow.conf.example" ||
	{ echo "FAIL: faasflow.conf.example differs from contrib/faasflow.conf" >&2; status=1; }

# pkg-config: valid, names the installed header directory and shim; a program that
# includes faasflow.h compiles with its flags.
if command -v pkg-config >/dev/null 2>&1 && [ -e "$dest$libdir/pkgconfig/faasflow.pc" ]; then
	export PKG_CONFIG_PATH=$dest$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
	pkg-config --validate faasflow || { echo "FAIL: pkg-config --validate faasflow" >&2; status=1; }
	[ "$(pkg-config --modversion faasflow)" = "$(sed -n 's/^Version: //p' "$dest$libdir/pkgconfig/faasflow.pc")" ] ||
		{ echo "FAIL: modversion" >&2; status=1; }
	[ "$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable=shim faasflow)" = "$libdir/libfaasflow_intercept.so" ] ||
		{ echo "FAIL: faasflow.pc shim variable" >&2; status=1; }
	cflags=$(pkg-config --cflags faasflow | sed "s/ *$//")
	[ "$cflags" = "-I$dest$includedir" ] || { echo "FAIL: pkg-config --cflags gave '$cflags'" >&2; status=1; }
	if [ -e "$dest$includedir/faasflow.h" ]; then
		printf '#include <faasflow.h>\nint main(void) { return 0; }\n' >"$tmp/use.c"
		# shellcheck disable=SC2086 # cflags is a flag list
		${CC:-cc} -std=gnu11 -Wall -Wextra -Werror $cflags -c "$tmp/use.c" -o "$tmp/use.o" ||
			{ echo "FAIL: faasflow.h does not compile on its own with pkg-config's flags" >&2; status=1; }
		op_ok "faasflow.h compiles with pkg-config --cflags faasflow"
	fi
	unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
fi

nmake uninstall DESTDIR="$dest" >"$tmp/uninstall.log" 2>&1 ||
	{ tail -n 20 "$tmp/uninstall.log"; op_fail "make uninstall failed"; }
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || { echo "FAIL: left after make uninstall: $left" >&2; status=1; }
exit "$status"
