# Shared helpers of the tests/ops scripts (sourced); op_* by the naming rule of ../testlib.sh.
# shellcheck shell=bash
: "${top_srcdir:?run through make check (top_srcdir unset)}"
: "${top_builddir:?run through make check (top_builddir unset)}"

op_fail() { echo "FAIL: $*" >&2; exit 1; }
op_skip() { echo "SKIP: $*" >&2; exit 77; }
op_ok() { echo "ok: $*"; }

# mktemp -d with cleanup on exit; extra cleanup commands go into cleanup_cmds
cleanup_cmds=()
cleanup() {
	local c
	for c in "${cleanup_cmds[@]}"; do eval "$c" || true; done
	[ -n "${tmp:-}" ] && rm -rf "$tmp"
}
op_make_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/ff-ops.XXXXXX") || op_fail "mktemp"
	trap cleanup EXIT
}
