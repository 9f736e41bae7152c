#!/bin/bash
# shellcheck disable=SC2016 # $VARS in single quotes are for the inner shells
# contrib/docker/entrypoint.sh, run the way a container runs it: in its own network and
# mount namespaces, with the shim's directory bind-mounted in. It preloads the shim when
# the library is there (appending to LD_PRELOAD), and runs the command unchanged otherwise.
# In a musl root (a chroot with musl's loader, busybox-static as /bin/sh and a program built
# with musl-gcc) it preloads the musl shim, and never the glibc one.
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"

[ "$(id -u)" -eq 0 ] || op_skip "needs root for unshare --net --mount"
command -v unshare >/dev/null 2>&1 || op_skip "unshare not installed"
unshare --net --mount --fork true 2>/dev/null || op_skip "cannot create namespaces here"
op_make_tmp

entry=$top_srcdir/contrib/docker/entrypoint.sh
mkdir -p "$tmp/host-lib" "$tmp/ctr-lib"
# A stand-in shim: a valid, empty shared object (the entrypoint is under test, not the shim).
${CC:-cc} -shared -fPIC -nostdlib -o "$tmp/host-lib/libfaasflow_intercept.so" -x c /dev/null ||
	op_fail "cannot build a stand-in shared object with ${CC:-cc}"
cp "$tmp/host-lib/libfaasflow_intercept.so" "$tmp/host-lib/libother.so"
shim=$tmp/ctr-lib/libfaasflow_intercept.so

# container VAR=VALUE... -- CMD...: run CMD through the entrypoint in new namespaces, with
# $tmp/host-lib bind-mounted at $tmp/ctr-lib (only inside), a clean environment.
container() {
	local envs=()
	# LD_PRELOAD names a path that exists only inside: set it there, not for unshare.
	while [ "$1" != -- ]; do envs+=("${1/#LD_PRELOAD=/CTR_LD_PRELOAD=}"); shift; done
	shift
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${envs[@]}" \
		unshare --net --mount --fork -- /bin/sh -c '
			mount --make-rprivate / && mount --bind "$1" "$2" || exit 111
			shift 2
			if [ -n "${CTR_LD_PRELOAD:-}" ]; then
				LD_PRELOAD=$CTR_LD_PRELOAD
				export LD_PRELOAD
			fi
			unset CTR_LD_PRELOAD
			exec "$@"' sh "$tmp/host-lib" "$tmp/ctr-lib" "$entry" "$@"
}

# 1. The "container" has its own network (only lo) and sees the bind mount.
out=$(container -- /bin/sh -c 'ip -o link show | wc -l; ls "$0"' "$tmp/ctr-lib") ||
	op_fail "container did not run: $out"
[ "$(echo "$out" | head -n 1)" = 1 ] || op_fail "not in a new network namespace: $out"
echo "$out" | grep -qx libfaasflow_intercept.so || op_fail "bind mount not visible inside: $out"
[ -z "$(ls "$tmp/ctr-lib")" ] || op_fail "bind mount leaked out of the mount namespace"
op_ok "runs in new net and mount namespaces with the bind mount"

# 2. With the library: LD_PRELOAD is set for the child, and the library is really mapped.
out=$(container FAASFLOW_SHIM="$shim" -- /bin/sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"; grep -c libfaasflow_intercept /proc/self/maps') ||
	op_fail "entrypoint failed: $out"
[ "$(echo "$out" | head -n 1)" = "LD_PRELOAD=$shim" ] || op_fail "LD_PRELOAD not set to the shim: $out"
[ "$(echo "$out" | tail -n 1)" -ge 1 ] || op_fail "the shim is not mapped in the child: $out"
op_ok "sets LD_PRELOAD=$shim and the child maps it"

# 3. An existing LD_PRELOAD is kept, the shim appended once.
out=$(container FAASFLOW_SHIM="$shim" LD_PRELOAD="$tmp/ctr-lib/libother.so" -- /usr/bin/printenv LD_PRELOAD)
[ "$out" = "$tmp/ctr-lib/libother.so:$shim" ] || op_fail "LD_PRELOAD not appended: $out"
out=$(container FAASFLOW_SHIM="$shim" LD_PRELOAD="$shim" -- /usr/bin/printenv LD_PRELOAD)
[ "$out" = "$shim" ] || op_fail "shim added twice: $out"
op_ok "appends to an existing LD_PRELOAD, never twice"

# 4. Without the library: the command runs unchanged (arguments, output, exit status),
#    without LD_PRELOAD, and one warning goes to stderr.
out=$(container FAASFLOW_SHIM="$tmp/ctr-lib/missing.so" -- /bin/sh -c \
	'printf "%s|" "$@"; printenv LD_PRELOAD || echo none; exit 7' sh "a b" "" 'c*' 2>"$tmp/err")
rc=$?
[ "$rc" -eq 7 ] || op_fail "exit status not passed through: $rc"
[ "$out" = "a b||c*|none" ] || op_fail "command changed: $out"
grep -q 'faasflow entrypoint: shim .*missing.so not found' "$tmp/err" ||
	op_fail "no warning on stderr: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || op_fail "more than one line on stderr: $(cat "$tmp/err")"
op_ok "without the library the command runs unchanged, with one warning"

# 5. The default path is used when FAASFLOW_SHIM is unset; no command is a usage error.
out=$(container -- /usr/bin/printenv FAASFLOW_SHIM 2>/dev/null) && op_fail "FAASFLOW_SHIM invented: $out"
container -- 2>"$tmp/err" && op_fail "no command accepted"
grep -q 'no command given' "$tmp/err" || op_fail "no usage message: $(cat "$tmp/err")"
op_ok "usage error without a command"

# 6-8. A musl image: a chroot with musl's loader, a static busybox as /bin/sh, and a musl
#      program that prints its LD_PRELOAD and whether a preloaded library is mapped.
musl_libc=$(find /usr/lib/*-linux-musl /lib/*-linux-musl -maxdepth 1 -name libc.so 2>/dev/null | head -n 1)
busybox=$(command -v busybox || :)
if ! command -v musl-gcc >/dev/null 2>&1 || [ -z "$musl_libc" ]; then
	echo "note: musl cases not run: musl-gcc not installed (apt-get install musl-tools)"
	exit 0
fi
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	echo "note: musl cases not run: no static busybox (apt-get install busybox-static)"
	exit 0
fi
root=$tmp/musl-root
lib=/usr/local/lib
mkdir -p "$root/bin" "$root/lib" "$root$lib" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$musl_libc" "$root/lib/ld-musl-$(uname -m).so.1"
cp "$entry" "$root/entrypoint"
cat >"$tmp/probe.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	const char *p = getenv("LD_PRELOAD");

	printf("%s %d\n", p ? p : "none", dlsym(RTLD_DEFAULT, "ff_standin") != NULL);
	return 0;
}
C
musl-gcc -o "$root/probe" "$tmp/probe.c" || op_fail "cannot build a program with musl-gcc"
# The musl "shim": a stand-in any loader can map. The glibc "shim": needs a glibc-only
# symbol, as the real one does (__*_chk, __register_atfork, strerrordesc_np ...).
echo 'int ff_standin = 1;' | ${CC:-cc} -shared -fPIC -nostdlib -o "$tmp/musl-standin.so" -x c - ||
	op_fail "cannot build the musl stand-in"
printf '%s\n' '#include <gnu/libc-version.h>' 'int ff_standin = 1;' \
	'const char *ff_glibc(void) { return gnu_get_libc_version(); }' |
	${CC:-cc} -shared -fPIC -o "$root$lib/libfaasflow_intercept.so" -x c - ||
	op_fail "cannot build the glibc stand-in"
chroot=$(command -v chroot) || op_fail "chroot not found"
# mroot: the entrypoint running /probe in the musl root, in new namespaces.
mroot() {
	env -i PATH=/bin unshare --net --mount --fork -- "$chroot" "$root" /bin/sh /entrypoint /probe
}
# The reason for the rule: musl's loader refuses to start a program with the glibc one.
env -i PATH=/bin "$chroot" "$root" /bin/sh -c "LD_PRELOAD=$lib/libfaasflow_intercept.so exec /probe" \
	>"$tmp/out" 2>&1 &&
	op_fail "the musl loader ran a program with a glibc library preloaded: the test proves nothing"
grep -q 'gnu_get_libc_version' "$tmp/out" || op_fail "the musl loader did not refuse the glibc library: $(cat "$tmp/out")"

# 6. Both flavours present: the musl one, mapped, nothing on stderr.
cp "$tmp/musl-standin.so" "$root$lib/libfaasflow_intercept-musl.so"
out=$(mroot 2>"$tmp/err") || op_fail "entrypoint in the musl root failed: $out $(cat "$tmp/err")"
[ "$out" = "$lib/libfaasflow_intercept-musl.so 1" ] || op_fail "musl root: '$out' $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || op_fail "musl root: stderr: $(cat "$tmp/err")"
op_ok "musl image: preloads $lib/libfaasflow_intercept-musl.so"

# 7. Only the glibc one: the command runs unchanged, one warning naming the musl shim.
rm "$root$lib/libfaasflow_intercept-musl.so"
out=$(mroot 2>"$tmp/err") || op_fail "musl root without the musl shim: $out $(cat "$tmp/err")"
[ "$out" = "none 0" ] || op_fail "musl root without the musl shim: '$out'"
grep -q "musl image and shim $lib/libfaasflow_intercept-musl.so not found" "$tmp/err" ||
	op_fail "no warning naming the musl shim: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || op_fail "more than one line on stderr: $(cat "$tmp/err")"
op_ok "musl image without the musl shim: unchanged, one warning, the glibc one not preloaded"

# 8. A glibc loader beside musl's (Debian with musl installed) is a glibc image;
#    FAASFLOW_LIBC overrides the guess.
mkdir -p "$root/lib64" && : >"$root/lib64/ld-linux-x86-64.so.2"
out=$(env -i PATH=/bin "$chroot" "$root" /bin/sh /entrypoint /bin/sh -c 'echo "$LD_PRELOAD"')
[ "$out" = "$lib/libfaasflow_intercept.so" ] || op_fail "both loaders: LD_PRELOAD='$out'"
cp "$tmp/musl-standin.so" "$root$lib/libfaasflow_intercept-musl.so"
out=$(env -i PATH=/bin FAASFLOW_LIBC=musl "$chroot" "$root" /bin/sh /entrypoint /probe)
[ "$out" = "$lib/libfaasflow_intercept-musl.so 1" ] || op_fail "FAASFLOW_LIBC=musl: '$out'"
op_ok "glibc and musl loaders: glibc; FAASFLOW_LIBC=musl overrides"
exit 0
