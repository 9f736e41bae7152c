#!/bin/bash
# Every shell script of the project passes shellcheck (at its default severity).
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"

command -v shellcheck >/dev/null 2>&1 || op_skip "shellcheck not installed (apt-get install shellcheck)"

is_shell() {
	case "$1" in
	*.sh) return 0 ;;
	esac
	head -n 1 "$1" 2>/dev/null | grep -Eq '^#! */(usr/)?bin/(env +)?(ba|da)?sh\b'
}

scripts=()
while IFS= read -r -d '' f; do
	is_shell "$f" && scripts+=("$f")
done < <(find "$top_srcdir" \
	\( -name .git -o -name autom4te.cache -o -name build-aux -o -name m4 \
	   -o -name _build -o -name 'build-*' -o -name 'faasflow-shm-*' \) -prune -o \
	-type f \( -path "$top_srcdir/.ci/*" -o -path "$top_srcdir/contrib/*" \
	           -o -path "$top_srcdir/tests/*" \) -print0)
# the generated wrapper, as installed
scripts+=("$top_builddir/contrib/faasflow-run")

[ "${#scripts[@]}" -ge 8 ] || op_fail "found only ${#scripts[@]} scripts: ${scripts[*]}"
for must in .ci/run contrib/install-deps.sh contrib/run-tests.sh contrib/docker/entrypoint.sh \
	contrib/faasflow-run.in; do
	printf '%s\n' "${scripts[@]}" | grep -qx "$top_srcdir/$must" || op_fail "$must not checked"
done

status=0
for f in "${scripts[@]}"; do
	if shellcheck -x -P SCRIPTDIR "$f"; then
		op_ok "${f#"$top_srcdir"/}"
	else
		echo "FAIL: shellcheck $f" >&2
		status=1
	fi
done
exit "$status"
