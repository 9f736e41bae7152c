#!/bin/bash
# The project's test command: regenerate the build system, build with sanitizers in a fresh
# out-of-tree directory, run every test suite, then `make distcheck`. Prints the automake
# summary of every suite, the log of every failed suite, and a closing "N passed, N failed".
# Run as root for the namespace tests (they are skipped, not failed, otherwise).
#
# Environment: BUILD_DIR (default <source>/build-test), JOBS (default 2),
#              RUN_DISTCHECK (default 1; 0 skips make distcheck),
#              RUN_EXTRA (default 1; 0 skips the bounded fuzzer runs, the ThreadSanitizer
#              build of the threaded tests and the valgrind run of the coordinator in a build
#              without sanitizers), FUZZ_SECONDS (default 15 per fuzz target).
set -u -o pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$srcdir/build-test}
jobs=${JOBS:-2}
status=0

step() { printf '\n==== %s\n' "$*"; }

step "autoreconf -fi in $srcdir"
cd "$srcdir" || exit 1
if command -v flock >/dev/null 2>&1; then
	flock /tmp/ff-autoreconf.lock autoreconf -fi || exit 1
else
	autoreconf -fi || exit 1
fi

step "configure --enable-sanitizers in $build"
rm -rf "$build"
mkdir -p "$build" && cd "$build" || exit 1
"$srcdir/configure" --enable-sanitizers || { tail -n 40 config.log; exit 1; }

step "make -j$jobs"
make -j"$jobs" || exit 1

step "make -j$jobs -k check"
[ "$(id -u)" -eq 0 ] || echo "note: not root: the namespace tests will be skipped"
make -j"$jobs" -k check || status=1

if [ "${RUN_DISTCHECK:-1}" != 0 ]; then
	if [ "$status" -eq 0 ]; then
		step "make -j$jobs distcheck"
		# (the container tests ran in make check on the same tree: not twice)
		make -j"$jobs" distcheck FF_CONTAINER_TESTS=skip || { status=1; dc_broken=1; }
	else
		step "make distcheck skipped: make check failed"
	fi
fi

# --- summaries ----------------------------------------------------------------
# Extra checks outside automake: each counts as one test in the closing line.
extra_pass=0 extra_fail=0
extra() {
	local name=$1; shift
	step "$name"
	if "$@"; then
		extra_pass=$((extra_pass + 1)); echo "PASS: $name"
	else
		extra_fail=$((extra_fail + 1)); status=1; echo "FAIL: $name"
	fi
}
# shellcheck disable=SC2317  # called through extra()
tsan_threads() {
	local tb=$build-tsan
	rm -rf "$tb" && mkdir -p "$tb" && cd "$tb" &&
		"$srcdir/configure" --enable-sanitizers=thread >/dev/null &&
		make -j"$jobs" >/dev/null &&
		ST_TSAN=1 make -C tests/shim check TESTS=t-threads.sh
	local rc=$?
	[ "$rc" -eq 0 ] || cat "$tb/tests/shim/t-threads.sh.log" 2>/dev/null
	cd "$build" || return 1
	return "$rc"
}
# shellcheck disable=SC2317  # called through extra()
valgrind_daemon() {
	local pb=$build-plain
	rm -rf "$pb" && mkdir -p "$pb" && cd "$pb" &&
		"$srcdir/configure" >/dev/null &&
		make -j"$jobs" >/dev/null &&
		make -C tests/daemon check TESTS=test_valgrind.sh &&
		grep -q '^PASS' tests/daemon/test_valgrind.sh.log
	local rc=$?
	[ "$rc" -eq 0 ] || cat "$pb/tests/daemon/test_valgrind.sh.log" 2>/dev/null
	cd "$build" || return 1
	return "$rc"
}
# shellcheck disable=SC2317  # called through extra()
postgres_plain() {
	# PostgreSQL cannot start with the bare ASan runtime preloaded: its matrix row runs in
	# the build without sanitizers that valgrind_daemon made.
	local pb=$build-plain rc
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root: the PostgreSQL row is skipped (it runs the server as postgres)"
		return 0
	fi
	[ -x "$pb/daemon/faasflowd" ] || { echo "no build at $pb"; return 1; }
	make -C "$pb/tests/compat" check TESTS=t-compat-postgres.sh >/dev/null
	rc=$?
	cat "$pb/tests/compat/t-compat-postgres.sh.log" 2>/dev/null
	if grep -q '^SKIP' "$pb/tests/compat/t-compat-postgres.sh.log" 2>/dev/null; then
		return 1         # here it must run: a skip is a failure
	fi
	return "$rc"
}
if [ "${RUN_EXTRA:-1}" != 0 ]; then
	extra "fuzzers, ${FUZZ_SECONDS:-15} s each (libFuzzer, ASan+UBSan)" \
		env FUZZ_SECONDS="${FUZZ_SECONDS:-15}" "$srcdir/tests/fuzz/run-fuzzers.sh"
	extra "threaded tests under ThreadSanitizer (separate configure)" tsan_threads
	extra "the coordinator under valgrind memcheck (build without sanitizers)" valgrind_daemon
	extra "compatibility matrix: PostgreSQL (build without sanitizers)" postgres_plain
fi

step "test summaries"
field() { sed -n "s/^# $1: *\\([0-9]*\\).*/\\1/p" "$2" | head -n 1; }
passed=0 failed=0 skipped=0 suites=0
mapfile -t logs < <(find "$build" -name test-suite.log -not -path '*/faasflow-shm-*/*' | sort)
for log in "${logs[@]}"; do
	rel=${log#"$build"/}
	pass=$(field PASS "$log") fail=$(field FAIL "$log") err=$(field ERROR "$log")
	xpass=$(field XPASS "$log") skip=$(field SKIP "$log") total=$(field TOTAL "$log")
	printf '%-40s # TOTAL: %s # PASS: %s # SKIP: %s # FAIL: %s # ERROR: %s\n' \
		"$rel" "${total:-0}" "${pass:-0}" "${skip:-0}" "${fail:-0}" "${err:-0}"
	suites=$((suites + 1))
	passed=$((passed + ${pass:-0}))
	skipped=$((skipped + ${skip:-0}))
	bad=$((${fail:-0} + ${err:-0} + ${xpass:-0}))
	failed=$((failed + bad))
	if [ "$bad" -gt 0 ]; then
		step "FAILED: $rel"
		cat "$log"
	fi
done
# distcheck leaves its tree behind only when it failed: show its failed suites too, and
# count their failures in the closing line.
dc_failed=0
while IFS= read -r log; do
	if grep -Eq '^# (FAIL|ERROR|XPASS): *[1-9]' "$log"; then
		step "FAILED in distcheck: ${log#"$build"/}"
		cat "$log"
		dc_failed=$((dc_failed + $(field FAIL "$log") + $(field ERROR "$log") + $(field XPASS "$log")))
	fi
done < <(find "$build" -name test-suite.log -path '*/faasflow-shm-*/*' | sort)

if [ "$suites" -eq 0 ]; then
	echo "no test-suite.log found: the test suites did not run"
	status=1
fi
[ "$failed" -eq 0 ] || status=1
passed=$((passed + extra_pass))
failed=$((failed + extra_fail))
echo "$suites suites, $skipped skipped, $((extra_pass + extra_fail)) extra checks"
if [ "$dc_failed" -gt 0 ]; then
	echo "$passed passed, $failed failed (and $dc_failed failed in distcheck)"
elif [ "${dc_broken:-0}" = 1 ]; then
	echo "$passed passed, $failed failed (and make distcheck failed: see its output above)"
else
	echo "$passed passed, $failed failed"
fi
exit "$status"
