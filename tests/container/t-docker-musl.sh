#!/bin/bash
# The shim in a musl image (what Alpine-based functions are): a minimal musl root filesystem
# built here and imported (musl's loader from Debian's musl package, a transfer program
# built with musl-gcc, busybox-static as /bin/sh for the entrypoint), the musl shim built
# from the same sources (contrib/musl/musl-shim.sh), faasflowd on the host and a glibc
# function container from contrib/docker/Dockerfile on a user-defined network.
#   - musl -> glibc, 64 MiB hash-checked, through the region (LD_PRELOAD set by docker run)
#   - glibc -> musl, 64 MiB hash-checked, through the region
#   - musl -> glibc through contrib/docker/entrypoint.sh, which picks the musl shim
#   - a musl image with only the glibc shim: the entrypoint runs the command unchanged over
#     plain TCP with one warning (a glibc shim would stop musl's loader)
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

musl_libc=$(find /usr/lib/*-linux-musl /lib/*-linux-musl -maxdepth 1 -name libc.so 2>/dev/null | head -n 1)
if ! command -v musl-gcc >/dev/null 2>&1 || [ -z "$musl_libc" ]; then
	echo "SKIP: musl-gcc not found (contrib/install-deps.sh installs musl-tools)"
	exit 77
fi
busybox=$(command -v busybox || :)
if [ -n "$busybox" ] && ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	busybox=
fi
BUILD=${abs_top_builddir:-$IT_TOP}
MUSL_IMG=faasflow-test/musl:test
LIB=/usr/local/lib

# --- the musl shim, the program and the image ---------------------------------------------
if ! sh "$CT_TOP_SRC/contrib/musl/musl-shim.sh" "$BUILD" >"$T/musl-shim.log" 2>&1 ||
	[ ! -f "$BUILD/preload/libfaasflow_intercept-musl.so" ]; then
	it_fail "musl shim" "contrib/musl/musl-shim.sh did not build it: $(tail -n 5 "$T/musl-shim.log" | tr '\n' ' ')"
	it_done
fi
MUSL_SHIM=$BUILD/preload/libfaasflow_intercept-musl.so
GLIBC_SHIM=$BUILD/preload/.libs/libfaasflow_intercept.so
root=$T/musl-root
mkdir -p "$root/lib" "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" \
	"$root$LIB"
cp "$musl_libc" "$root/lib/ld-musl-$(uname -m).so.1"
if ! musl-gcc -O2 -Wall -Wextra -Werror -I"$CT_TOP_SRC/tests/integration" -o "$root/musl_xfer" \
	"$CT_SRC/musl_xfer.c" "$CT_TOP_SRC/tests/integration/sha256.c" 2>"$T/cc.log"; then
	it_fail "musl program" "musl-gcc failed: $(tr '\n' ' ' <"$T/cc.log")"
	it_done
fi
if [ -n "$busybox" ]; then
	cp "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
fi

ct_engine || { it_fail "engine" "no Docker engine could be started"; it_done; }
ct_build_images || { it_fail "images" "the images could not be built"; it_done; }
if ! tar -C "$root" -cf - . | docker import --change 'CMD ["/musl_xfer"]' - "$MUSL_IMG" >/dev/null; then
	it_fail "musl image" "docker import failed"
	it_done
fi
it_config
it_start_daemon
ct_network || { it_fail "network" "docker network create failed"; it_done; }

A=$CT_TAG-fn-a
M=$CT_TAG-musl-srv
guide_flags=(--mount "type=bind,source=$T/region,target=$T/region"
	--mount "type=bind,source=/tmp,target=/tmp" --label=workflow --network "$CT_NET"
	-e "FAASFLOW_SHM_FILE_PATH=$T/region" -e "FAASFLOW_SOCKET_DIR=$T")
musl_shim=(-v "$MUSL_SHIM:$LIB/libfaasflow_intercept-musl.so:ro")
glibc_shim=(-v "$GLIBC_SHIM:$LIB/libfaasflow_intercept.so:ro")
entry=(-v "$CT_TOP_SRC/contrib/docker/entrypoint.sh:/faasflow-entrypoint:ro"
	--entrypoint /faasflow-entrypoint)
ct_run "$A" "${guide_flags[@]}" -v "$CT_SRC/xfer.py:/xfer.py:ro" -e FAASFLOW_NAME=fn-a \
	"$CT_FUNCTION" python3 /xfer.py server 5000
if ! ct_wait_log "$A" LISTEN 30; then
	it_fail "function container" "fn-a did not start its server"
	ct_logs "$A"
	it_done
fi

# check NAME OUT BEFORE MIN: OUT is the sender's "SENT <bytes> <sha256>" line, fn-a's last
# RECV line says the same, and region_bytes grew by at least MIN since BEFORE (0: not at all).
check() {
	local name=$1 out=$2 before=$3 min=$4 got
	got=$(docker logs "$A" 2>&1 | grep '^RECV' | tail -n 1 | cut -d' ' -f2-)
	case "$out" in
	"SENT $got") ;;
	*)
		it_fail "$name" "sender said '$out', fn-a received '$got'"
		return 1
		;;
	esac
	echo "    $name: $out (region +$(($(it_stat region_bytes) - before)) bytes)"
	if [ "$min" = 0 ]; then
		if [ "$(it_stat region_bytes)" != "$before" ]; then
			it_fail "$name" "region_bytes grew by $(($(it_stat region_bytes) - before)) over plain TCP"
			return 1
		fi
	else
		it_grew "$name" "$before" "$min" || return 1
	fi
	it_pass "$name"
}

# --- (a) musl -> glibc, LD_PRELOAD given by docker run --------------------------------------
name="musl container -> glibc fn-a, 64 MiB through the region (LD_PRELOAD=musl shim)"
before=$(it_stat region_bytes)
out=$(timeout 300 docker run --rm "${guide_flags[@]}" "${musl_shim[@]}" \
	-e "LD_PRELOAD=$LIB/libfaasflow_intercept-musl.so" "$MUSL_IMG" /musl_xfer client "$A" 5000 64 2>"$T/a.err")
check "$name" "$out" "$before" $((48 << 20)) || sed 's/^/    stderr: /' "$T/a.err"

# --- (b) glibc -> musl: a musl server, a glibc client through the function image's entrypoint
name="glibc container -> musl server, 64 MiB through the region"
ct_run "$M" "${guide_flags[@]}" "${musl_shim[@]}" -e "LD_PRELOAD=$LIB/libfaasflow_intercept-musl.so" \
	-e FAASFLOW_NAME=musl-srv "$MUSL_IMG" /musl_xfer server 5000
if ! ct_wait_log "$M" LISTEN 30; then
	it_fail "$name" "the musl server did not start"
	ct_logs "$M"
else
	before=$(it_stat region_bytes)
	# The reader hashes at its own pace and the writer's payloads that find no free slot go
	# inline (from Python's 4 MiB writes a glibc reader gets the same 20-40 %): an eighth
	# through the region proves the path.
	if ! out=$(timeout 300 docker run --rm "${guide_flags[@]}" -v "$CT_SRC/xfer.py:/xfer.py:ro" \
		"$CT_FUNCTION" python3 /xfer.py client "$M" 5000 64 2>&1); then
		it_fail "$name" "transfer failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		ct_logs "$M"
	else
		got=$(docker logs "$M" 2>&1 | grep '^RECV' | tail -n 1 | cut -d' ' -f2-)
		echo "    $name: $out (region +$(($(it_stat region_bytes) - before)) bytes)"
		if [ "$out" != "SENT $got" ]; then
			it_fail "$name" "client said '$out', the musl server received '$got'"
		else
			eps=$("$FFCTL" --config "$CONF" endpoints 2>&1)
			if ! echo "$eps" | grep -qE "[[:space:]]5000[[:space:]].*[[:space:]]musl-srv$"; then
				it_fail "$name" "the musl listener is not registered: $eps"
			else
				it_grew "$name" "$before" $((8 << 20)) && it_pass "$name"
			fi
		fi
	fi
fi

# --- (c), (d) through contrib/docker/entrypoint.sh (needs /bin/sh: busybox-static) ---------
if [ -z "$busybox" ]; then
	it_fail "entrypoint in a musl image" "no static busybox for /bin/sh (contrib/install-deps.sh installs busybox-static)"
	it_done
fi
name="entrypoint in a musl image with both shims: the musl one, 64 MiB through the region"
before=$(it_stat region_bytes)
out=$(timeout 300 docker run --rm "${guide_flags[@]}" "${musl_shim[@]}" "${glibc_shim[@]}" \
	"${entry[@]}" "$MUSL_IMG" /musl_xfer client "$A" 5000 64 2>"$T/d.err")
if [ -s "$T/d.err" ]; then
	it_fail "$name" "stderr: $(tr '\n' ' ' <"$T/d.err")"
else
	check "$name" "$out" "$before" $((48 << 20))
fi

name="entrypoint in a musl image with only the glibc shim: unchanged, plain TCP, one warning"
before=$(it_stat region_bytes)
out=$(timeout 300 docker run --rm "${guide_flags[@]}" "${glibc_shim[@]}" \
	"${entry[@]}" "$MUSL_IMG" /musl_xfer client "$A" 5000 16 2>"$T/c.err")
if [ "$(wc -l <"$T/c.err")" != 1 ] ||
	! grep -q "faasflow entrypoint: musl image and shim $LIB/libfaasflow_intercept-musl.so not found" "$T/c.err"; then
	it_fail "$name" "stderr is not the one warning: $(tr '\n' '|' <"$T/c.err")"
else
	echo "    warning: $(cat "$T/c.err")"
	check "$name" "$out" "$before" 0
fi
docker rmi "$MUSL_IMG" >/dev/null 2>&1
it_done
