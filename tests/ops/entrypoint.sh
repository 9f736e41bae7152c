#!/bin/bash
# shellcheck disable=SC2016 # $VARS in single quotes are for the inner shells
# contrib/docker/entrypoint.sh, run the way a container runs it: in its own network and
# mount namespaces, with the shim's directory bind-mounted in. It preloads the shim when
# the library is there (appending to LD_PRELOAD), and runs the command unchanged otherwise.
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for unshare --net --mount"
command -v unshare >/dev/null 2>&1 || skip "unshare not installed"
unshare --net --mount --fork true 2>/dev/null || skip "cannot create namespaces here"
make_tmp

entry=$top_srcdir/contrib/docker/entrypoint.sh
mkdir -p "$tmp/host-lib" "$tmp/ctr-lib"
# A stand-in shim: a valid, empty shared object (the entrypoint is under test, not the shim).
${CC:-cc} -shared -fPIC -nostdlib -o "$tmp/host-lib/libfaasflow_intercept.so" -x c /dev/null ||
	fail "cannot build a stand-in shared object with ${CC:-cc}"
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
	fail "container did not run: $out"
[ "$(echo "$out" | head -n 1)" = 1 ] || fail "not in a new network namespace: $out"
echo "$out" | grep -qx libfaasflow_intercept.so || fail "bind mount not visible inside: $out"
[ -z "$(ls "$tmp/ctr-lib")" ] || fail "bind mount leaked out of the mount namespace"
ok "runs in new net and mount namespaces with the bind mount"

# 2. With the library: LD_PRELOAD is set for the child, and the library is really mapped.
out=$(container FAASFLOW_SHIM="$shim" -- /bin/sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"; grep -c libfaasflow_intercept /proc/self/maps') ||
	fail "entrypoint failed: $out"
[ "$(echo "$out" | head -n 1)" = "LD_PRELOAD=$shim" ] || fail "LD_PRELOAD not set to the shim: $out"
[ "$(echo "$out" | tail -n 1)" -ge 1 ] || fail "the shim is not mapped in the child: $out"
ok "sets LD_PRELOAD=$shim and the child maps it"

# 3. An existing LD_PRELOAD is kept, the shim appended once.
out=$(container FAASFLOW_SHIM="$shim" LD_PRELOAD="$tmp/ctr-lib/libother.so" -- /usr/bin/printenv LD_PRELOAD)
[ "$out" = "$tmp/ctr-lib/libother.so:$shim" ] || fail "LD_PRELOAD not appended: $out"
out=$(container FAASFLOW_SHIM="$shim" LD_PRELOAD="$shim" -- /usr/bin/printenv LD_PRELOAD)
[ "$out" = "$shim" ] || fail "shim added twice: $out"
ok "appends to an existing LD_PRELOAD, never twice"

# 4. Without the library: the command runs unchanged (arguments, output, exit status),
#    without LD_PRELOAD, and one warning goes to stderr.
out=$(container FAASFLOW_SHIM="$tmp/ctr-lib/missing.so" -- /bin/sh -c \
	'printf "%s|" "$@"; printenv LD_PRELOAD || echo none; exit 7' sh "a b" "" 'c*' 2>"$tmp/err")
rc=$?
[ "$rc" -eq 7 ] || fail "exit status not passed through: $rc"
[ "$out" = "a b||c*|none" ] || fail "command changed: $out"
grep -q 'faasflow entrypoint: shim .*missing.so not found' "$tmp/err" ||
	fail "no warning on stderr: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "more than one line on stderr: $(cat "$tmp/err")"
ok "without the library the command runs unchanged, with one warning"

# 5. The default path is used when FAASFLOW_SHIM is unset; no command is a usage error.
out=$(container -- /usr/bin/printenv FAASFLOW_SHIM 2>/dev/null) && fail "FAASFLOW_SHIM invented: $out"
container -- 2>"$tmp/err" && fail "no command accepted"
grep -q 'no command given' "$tmp/err" || fail "no usage message: $(cat "$tmp/err")"
ok "usage error without a command"
exit 0
