#!/bin/bash
# The documentation matches the code: every configuration key of common/config.h is in
# faasflow.conf(5), the example faasflow.conf and the README's table; the example's
# defaults parse; the man pages format without warnings.
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"
op_make_tmp

keys=$(sed -n '/^struct ff_config {/,/^};/p' "$top_srcdir/common/config.h" |
	grep -o '/\* [A-Z][A-Z_]*' | sed 's|/\* ||' | sort -u)
[ "$(echo "$keys" | wc -l)" -ge 18 ] || op_fail "found too few keys in config.h: $keys"

conf=$top_srcdir/contrib/faasflow.conf
man5=$top_srcdir/man/faasflow.conf.5
readme=$top_srcdir/README.md
for k in $keys; do
	grep -Eq "^#$k = " "$conf" || grep -Eq "^#$k =\$" "$conf" || op_fail "$k missing from contrib/faasflow.conf"
	grep -Eq "^\\.BR $k " "$man5" || op_fail "$k missing from faasflow.conf(5)"
	grep -Eq "^\\| \`$k\` \\|" "$readme" || op_fail "$k missing from the README's configuration table"
done
op_ok "all $(echo "$keys" | wc -w) keys documented in the example, faasflow.conf(5) and README"

# The example's defaults are what the code uses (the string defaults of defaults.h) ...
def() { sed -n "s/^#define $1 *\"\\(.*\\)\".*/\\1/p" "$top_srcdir/common/defaults.h"; }
grep -qxF "#SHM_FILE_PATH = $(def FF_DEFAULT_SHM_FILE_PATH)" "$conf" || op_fail "SHM_FILE_PATH default"
grep -qxF "#SOCKET_DIR = $(def FF_DEFAULT_SOCKET_DIR)" "$conf" || op_fail "SOCKET_DIR default"
grep -qxF "#TENANT = $(def FF_DEFAULT_TENANT)" "$conf" || op_fail "TENANT default"
grep -qxF "#PEERS = $(def FF_DEFAULT_PEERS)" "$conf" || op_fail "PEERS default"
op_ok "example defaults match defaults.h"

# ... and parse: uncommented, the example is a valid configuration. faasflowctl exits 2
# ("coordinator not running") for a valid configuration, 1 for an invalid one.
ctl=$top_builddir/daemon/faasflowctl
if [ -x "$ctl" ]; then
	sed -n 's/^#\([A-Z_]* =.*\)/\1/p' "$conf" >"$tmp/all.conf"
	[ "$(wc -l <"$tmp/all.conf")" -ge 18 ] || op_fail "uncommenting the example gave too few keys"
	FAASFLOW_SOCKET_DIR=$tmp ASAN_OPTIONS=detect_leaks=0 "$ctl" --config "$tmp/all.conf" status \
		>/dev/null 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] || op_fail "the example's defaults do not parse (exit $rc): $(cat "$tmp/err")"
	echo 'SHM_SIZE = 1X' >>"$tmp/all.conf"
	FAASFLOW_SOCKET_DIR=$tmp ASAN_OPTIONS=detect_leaks=0 "$ctl" --config "$tmp/all.conf" status \
		>/dev/null 2>"$tmp/err"
	[ $? -eq 1 ] || op_fail "a bad value was not rejected: $(cat "$tmp/err")"
	op_ok "the example parses; a bad value does not"
else
	echo "note: $ctl not built: the example's parse check skipped"
fi

# Man pages: right name and section, and groff formats them without a warning.
for page in faasflowd.8 faasflowctl.1 faasflow.conf.5 libfaasflow_intercept.7; do
	f=$top_srcdir/man/$page
	name=${page%.*} sec=${page##*.}
	head -n 1 "$f" | grep -q "^\\.TH ${name^^} $sec " || op_fail "$page: wrong .TH line"
	if command -v groff >/dev/null 2>&1; then
		LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$f" 2>"$tmp/groff" || op_fail "groff failed on $page"
		[ ! -s "$tmp/groff" ] || op_fail "groff warnings on $page: $(cat "$tmp/groff")"
	fi
done
op_ok "man pages"

# The README's test command is what CI runs.
cmd='contrib/install-deps.sh && contrib/run-tests.sh'
sed "s/^ *//" "$readme" | grep -qxF "$cmd" || op_fail "README does not give the test command on a line of its own: $cmd"
grep -qxF "$cmd" "$top_srcdir/.ci/run" || op_fail ".ci/run does not run the README's test command: $cmd"
op_ok "CI runs the README's test command"
exit 0
