#!/bin/bash
# shellcheck disable=SC2016 # $@ and $$ in single quotes are for the inner shells
# faasflow-run CMD...: adds the installed shim (from the configured libdir) to LD_PRELOAD,
# after anything already there, changes nothing else, and execs CMD.
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"
: "${libdir:?}"
op_make_tmp

run=$top_builddir/contrib/faasflow-run
[ -x "$run" ] || op_fail "$run was not generated or is not executable"
shim=$libdir/libfaasflow_intercept.so
grep -q "^shim='$shim'\$" "$run" || op_fail "faasflow-run does not name $shim"

# The children below get the shim path preloaded. ld.so ignores (with a message) a file
# that does not exist; if a sanitizer build is installed there, its runtime must come first.
pre=
if [ -e "$shim" ] && ldd "$shim" 2>/dev/null | grep -q libasan; then
	pre=$(${CC:-cc} -print-file-name=libasan.so)
	export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
fi

# 1. Nothing preloaded before: LD_PRELOAD is exactly the shim.
out=$(env -u LD_PRELOAD ${pre:+LD_PRELOAD=$pre} "$run" /usr/bin/printenv LD_PRELOAD 2>/dev/null)
[ "$out" = "${pre:+$pre:}$shim" ] || op_fail "LD_PRELOAD is '$out', expected '${pre:+$pre:}$shim'"
op_ok "sets LD_PRELOAD=$out"

# 2. Appends after an existing LD_PRELOAD; never twice.
: >"$tmp/libx.so"
out=$(LD_PRELOAD="${pre:+$pre:}$tmp/libx.so" "$run" /usr/bin/printenv LD_PRELOAD 2>/dev/null)
[ "$out" = "${pre:+$pre:}$tmp/libx.so:$shim" ] || op_fail "not appended: '$out'"
out=$(LD_PRELOAD="${pre:+$pre:}$shim" "$run" /usr/bin/printenv LD_PRELOAD 2>/dev/null)
[ "$out" = "${pre:+$pre:}$shim" ] || op_fail "added twice: '$out'"
op_ok "appends once"

# 3. Nothing else in the environment changes; arguments and exit status pass through.
env -u LD_PRELOAD ${pre:+LD_PRELOAD=$pre} FOO='a b' /usr/bin/env | grep -v '^LD_PRELOAD=' | sort >"$tmp/before"
env -u LD_PRELOAD ${pre:+LD_PRELOAD=$pre} FOO='a b' "$run" /usr/bin/env 2>/dev/null | grep -v '^LD_PRELOAD=' | sort >"$tmp/after"
diff -u "$tmp/before" "$tmp/after" || op_fail "faasflow-run changed the environment beyond LD_PRELOAD"
out=$("$run" /bin/sh -c 'printf "%s|" "$@"; exit 5' sh "a b" "" 'c*' 2>/dev/null)
rc=$?
[ "$rc" -eq 5 ] || op_fail "exit status $rc, expected 5"
[ "$out" = "a b||c*|" ] || op_fail "arguments changed: '$out'"
op_ok "only LD_PRELOAD changes; arguments and exit status pass through"

# 4. It execs: CMD replaces the wrapper (same pid).
out=$("$run" /bin/sh -c 'echo $$' 2>/dev/null & echo "pid $!"; wait)
[ "$(echo "$out" | sed -n 's/^pid //p')" = "$(echo "$out" | grep -v '^pid')" ] ||
	op_fail "CMD did not replace faasflow-run: $out"
op_ok "execs CMD"

# 5. Usage error without CMD.
"$run" 2>"$tmp/err" && op_fail "no command accepted"
[ $? -eq 2 ] || op_fail "usage exit status is not 2"
grep -q 'usage: faasflow-run CMD' "$tmp/err" || op_fail "no usage message"
op_ok "usage"
exit 0
