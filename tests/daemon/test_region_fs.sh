#!/bin/bash
# Where the region lives: on tmpfs faasflowd says nothing; on a disk filesystem (ext4, xfs...)
# it warns once at start, naming the file and the remedy (a tmpfs path), and still runs.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ff_tempdir ffregionfs
is_mem_fs() { case "$(stat -f -c %T "$1" 2>/dev/null)" in tmpfs|ramfs|hugetlbfs) return 0 ;; esac; return 1; }

# run_at DIR: faasflowd with its region in DIR; its log in $T/d.log
run_at() {
	ff_config 8M info
	sed -i "s|^SHM_FILE_PATH = .*|SHM_FILE_PATH = $1/region|" "$T/f.conf"
	: >"$T/d.log"
	ff_start
	ff_wait_up || { cat "$T/d.log"; fail "faasflowd with its region in $1 did not come up"; return 1; }
	ff_stop || fail "faasflowd with its region in $1: bad exit status"
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
[ "$checked" -gt 0 ] || fail "neither case could be checked"
[ "$fails" -eq 0 ] || exit 1
