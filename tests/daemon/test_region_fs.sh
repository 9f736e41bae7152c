#!/bin/bash
# Where the region lives: on tmpfs faasflowd says nothing; on a disk filesystem (ext4, xfs...)
# it warns once at start, naming the file and the remedy (a tmpfs path), and still runs.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dt_tempdir ffregionfs
is_mem_fs() { case "$(stat -f -c %T "$1" 2>/dev/null)" in tmpfs|ramfs|hugetlbfs) return 0 ;; esac; return 1; }

# run_at DIR: faasflowd with its region in DIR; its log in $T/d.log
run_at() {
	dt_config 8M info
	sed -i "s|^SHM_FILE_PATH = .*|SHM_FILE_PATH = $1/region|" "$T/f.conf"
	: >"$T/d.log"
	dt_start
	dt_wait_up || { cat "$T/d.log"; fail "faasflowd with its region in $1 did not come up"; return 1; }
	dt_stop || fail "faasflowd with its region in $1: bad exit status"
}

checked=0
# 1. tmpfs: /dev/shm on Linux
if is_mem_fs /dev/shm; then
	M=$(mktemp -d /dev/shm/ffregionfs-test.XXXXXX)
	if run_at "$M"; then
		if grep -q "disk filesystem" "$T/d.log"; then
			fail "warned about a region on tmpfs: $(grep 'disk filesystem' "$T/d.log")"
		else
			ok "region on tmpfs ($M): no warning"
		fi
	fi
	rm -rf "$M"
	checked=$((checked + 1))
else
	echo "note: /dev/shm is not tmpfs here: the tmpfs case is not checked"
fi

# 2. a disk filesystem: the test directory, else /var/tmp
D=
for d in "$T" /var/tmp; do
	if [ -d "$d" ] && ! is_mem_fs "$d"; then D=$(mktemp -d "$d/ffdisk.XXXXXX") && break; fi
done
if [ -n "$D" ]; then
	if run_at "$D"; then
		line=$(grep "disk filesystem" "$T/d.log")
		case "$line" in
		*"$D/region"*"SHM_FILE_PATH = /dev/shm/faasflow_shm"*)
			ok "region on $(stat -f -c %T "$D"): warned once: ${line#*WARN }"
			[ "$(grep -c 'disk filesystem' "$T/d.log")" -eq 1 ] || fail "the warning came more than once" ;;
		*) fail "no warning naming $D/region and the tmpfs remedy; log: $(cat "$T/d.log")" ;;
		esac
	fi
	[ "$D" = "${D#"$T"}" ] && rm -rf "$D"
	checked=$((checked + 1))
else
	echo "note: no disk filesystem to try: the warning is not checked"
fi
# 3. a region that does not fit its tmpfs: refused at start, naming SHM_SIZE and the free
# space (sparse, it started and a sender died of SIGBUS when the tmpfs filled); one that fits
# is reserved whole at start (no later write can fault). A 16 MiB tmpfs in a private mount
# namespace (root only).
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
	mkdir -p "$T/small"
	# shellcheck disable=SC2016
	out=$(unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=16m ffsmall "$1" || { echo "mount failed"; exit 0; }
		for z in 64M 8M; do
			mkdir -p "$1/s$z"
			printf "SHM_SIZE = %s\nSLOT_SIZE = 1M\nSOCKET_DIR = %s/s%s\nSHM_FILE_PATH = %s/r%s\n" \
				"$z" "$1" "$z" "$1" "$z" >"$1/$z.conf"
		done
		timeout 30 "$2" --config "$1/64M.conf" >"$1/64M.log" 2>&1
		echo "big_rc=$? big_log=$(tr "\n" " " <"$1/64M.log")"
		"$2" --config "$1/8M.conf" >"$1/8M.log" 2>&1 &
		p=$!
		i=0
		until [ -S "$1/s8M/faasflow_container_default.sock" ] || [ $i -gt 500 ]; do
			i=$((i + 1)); sleep 0.02
		done
		echo "small_blocks=$(stat -c %b "$1/r8M") small_df=$(df -k --output=used "$1" | tail -n 1 | tr -d " ")"
		kill -TERM $p; wait $p; echo "small_rc=$?"
	' sh "$T/small" "$FFD" 2>&1)
	case "$out" in
	*"mount failed"*) echo "note: cannot mount a tmpfs here: the small tmpfs case is not checked" ;;
	*)
		big=$(echo "$out" | sed -n 's/^big_rc=\([0-9]*\).*/\1/p')
		blocks=$(echo "$out" | sed -n 's/^small_blocks=\([0-9]*\).*/\1/p')
		if [ "${big:-0}" = 0 ] || [ "$big" = 124 ]; then
			fail "SHM_SIZE = 64M on a 16 MiB tmpfs: faasflowd did not refuse to start (status ${big:-?}): $out"
		elif ! echo "$out" | grep -q "SHM_SIZE = 64M does not fit its filesystem ([0-9]*[KMG]* free of 16M)"; then
			fail "the refusal does not name SHM_SIZE and the free space: $out"
		elif [ "$((${blocks:-0} * 512))" -lt $((8 << 20)) ]; then
			fail "SHM_SIZE = 8M on the same tmpfs: ${blocks:-?} blocks of 512 bytes allocated, not the whole region: $out"
		elif ! echo "$out" | grep -q "small_rc=0"; then
			fail "SHM_SIZE = 8M on the same tmpfs: faasflowd did not run and stop cleanly: $out"
		else
			ok "a region bigger than its tmpfs is refused at start ($(echo "$out" | grep -o 'SHM_SIZE = 64M does not fit[^)]*)')); one that fits is reserved whole"
		fi ;;
	esac
	checked=$((checked + 1))
fi
# 4. a region of an earlier layout version (an upgrade): replaced with a log line, not refused
M=$(mktemp -d /dev/shm/ffregionfs-ver.XXXXXX)
if run_at "$M"; then
	ino=$(stat -c %i "$M/region")
	printf '\001\000\000\000' | dd of="$M/region" bs=1 seek=8 conv=notrunc status=none
	if run_at "$M"; then
		if ! grep -q "layout version 1 .*replaced by a new region" "$T/d.log"; then
			fail "a region of layout version 1 was re-used without a word: $(cat "$T/d.log")"
		elif [ "$(stat -c %i "$M/region")" = "$ino" ]; then
			fail "a region of layout version 1 was not replaced (same inode)"
		else
			ok "a region of an earlier layout version is replaced at start, with a log line"
		fi
	fi
fi
rm -rf "$M"
[ "$checked" -gt 0 ] || fail "neither case could be checked"
[ "$fails" -eq 0 ] || exit 1
