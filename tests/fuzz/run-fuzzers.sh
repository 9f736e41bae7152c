#!/bin/sh
# Build the libFuzzer targets with clang (ASan + UBSan) and run each for FUZZ_SECONDS
# (default 20) on a copy of its seed corpus. Fails if a target crashes or finds a bug.
#   tests/fuzz/run-fuzzers.sh [target ...]     (targets: fuzz_frame fuzz_proto fuzz_config)
# Environment: FUZZ_SECONDS, CLANG (default: clang, else clang-14), KEEP=1 keeps the work dir.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-20}
cc=${CLANG:-}
if [ -z "$cc" ]; then
	for c in clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
	done
fi
[ -n "$cc" ] || { echo "run-fuzzers: clang not found (set CLANG=...)" >&2; exit 1; }

targets=${*:-"fuzz_frame fuzz_proto fuzz_config"}
work=$(mktemp -d "${TMPDIR:-/tmp}/ff-fuzz.XXXXXX")
# shellcheck disable=SC2317  # called through trap
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined"
flags="$flags -fno-sanitize-recover=all -fno-omit-frame-pointer -I$top/common"
status=0
for t in $targets; do
	src="$here/$t.c"
	[ -f "$src" ] || { echo "run-fuzzers: no such target $t" >&2; exit 1; }
	echo "== $t: building"
	# shellcheck disable=SC2086
	"$cc" $flags -o "$work/$t" "$src" "$top"/common/*.c
	mkdir -p "$work/corpus-$t"
	cp "$here/corpus/$t/"* "$work/corpus-$t/" 2>/dev/null || true
	echo "== $t: running for ${seconds}s"
	if (cd "$work" && "./$t" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$work/$t-" -close_fd_mask=1 \
		"$work/corpus-$t" >"$work/$t.log" 2>&1); then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
		cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1)
		echo "== $t: OK, ${execs:-?} executions, $cov, corpus $(find "$work/corpus-$t" -type f | wc -l) inputs"
	else
		status=1
		echo "== $t: FAILED" >&2
		tail -n 40 "$work/$t.log" >&2
		for a in "$work/$t-"*; do
			[ -f "$a" ] || continue
			mkdir -p "$here/crashes"
			cp "$a" "$here/crashes/"
			echo "   reproducer saved: $here/crashes/$(basename "$a")" >&2
		done
	fi
done
exit $status
