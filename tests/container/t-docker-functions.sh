#!/bin/bash
# Real containers, the deployment guide step by step: faasflowd on the host, two function
# containers from contrib/docker/Dockerfile started with the guide's section 2.2 flags
# (--mount of the region and of /tmp, --label=workflow, -p) on a user-defined network whose
# subnet this test chooses. 256 MiB from one container to the other, hash-checked, through the
# region; the guide's section 4 checks as assertions; section 7's switch (faasflowctl disable,
# ENABLE_SHARED_MEMORY = false + SIGHUP) and back without restarting the containers; a
# published port reached from the host; the shim in a bare glibc image (nothing installed).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"

ct_engine || { it_fail "engine" "no Docker engine could be started"; it_done; }
ct_build_images || { it_fail "images" "the images could not be built"; it_done; }
it_config
it_start_daemon
ct_network || { it_fail "network" "docker network create failed"; it_done; }

A=$CT_TAG-fn-a
B=$CT_TAG-fn-b
hostport=$(it_free_port)
# The guide's section 2.2, with this test's region and socket directory (under /tmp).
guide_flags=(--mount "type=bind,source=$T/region,target=$T/region"
	--mount "type=bind,source=/tmp,target=/tmp" --label=workflow)
fn_env=(-e "FAASFLOW_SHM_FILE_PATH=$T/region" -e "FAASFLOW_SOCKET_DIR=$T"
	-v "$CT_SRC/xfer.py:/xfer.py:ro")
ct_run "$A" "${guide_flags[@]}" -p "$hostport:5000" --network "$CT_NET" "${fn_env[@]}" \
	-e FAASFLOW_NAME=fn-a "$CT_FUNCTION" python3 /xfer.py server 5000
# fn-b is a function that sends its output to another when asked (its main process, run by
# the image's entrypoint under the shim; `docker exec` only asks it, over loopback).
ct_run "$B" "${guide_flags[@]}" --network "$CT_NET" "${fn_env[@]}" -e FAASFLOW_NAME=fn-b \
	"$CT_FUNCTION" python3 /xfer.py function 5000
if ! ct_wait_log "$A" LISTEN 30 || ! ct_wait_log "$B" LISTEN 30; then
	it_fail "function containers" "fn-a or fn-b did not start its server"
	ct_logs "$A"
	ct_logs "$B"
	it_done
fi

# transfer NAME MIB MIN_REGION_BYTES: fn-b -> fn-a by container name, hashes compared by
# xfer.py (the server's count and sha256 against the sender's) and the region's counter.
transfer() {
	local name=$1 mib=$2 min=$3 before out
	before=$(it_stat region_bytes)
	if ! out=$(timeout 300 docker exec "$B" python3 /xfer.py ask 127.0.0.1 5000 "$A 5000 $mib" 2>&1); then
		it_fail "$name" "transfer failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		ct_logs "$A"
		return 1
	fi
	echo "    $name: $out"
	if [ "$min" = 0 ]; then
		local grew=$(($(it_stat region_bytes) - before))
		if [ "$grew" != 0 ]; then
			it_fail "$name" "region_bytes grew by $grew while shared memory was off"
			return 1
		fi
	else
		it_grew "$name" "$before" "$min" || return 1
	fi
	it_pass "$name"
}

transfer "fn-b -> fn-a, 256 MiB on a user network ($CT_PREFIX.0/24)" 256 $((200 << 20))

# --- the guide's section 4 checks -------------------------------------------------------
name="section 4: region on the host"
size=$(stat -c %s "$T/region")
if [ "$size" = $((256 << 20)) ]; then
	it_pass "$name"
else
	it_fail "$name" "region is $size bytes, not SHM_SIZE"
fi

name="section 4: docker inspect shows both mounts"
mounts=$(docker inspect -f '{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}}{{println}}{{end}}' "$A")
if echo "$mounts" | grep -qxF "bind $T/region $T/region" && echo "$mounts" | grep -qxF "bind /tmp /tmp"; then
	it_pass "$name"
else
	it_fail "$name" "mounts are: $(echo "$mounts" | tr '\n' ';')"
fi

name="section 4: the region inside the container"
inside=$(docker exec "$A" ls -la "$T/region" 2>&1)
if echo "$inside" | grep -q " $((256 << 20)) "; then
	it_pass "$name"
else
	it_fail "$name" "ls -la in the container: $inside"
fi

name="section 4: the coordinator's socket inside the container"
inside=$(docker exec "$A" sh -c "ls -la $T/faasflow_container_*.sock" 2>&1)
case "$inside" in
s*faasflow_container_default.sock) it_pass "$name" ;;
*) it_fail "$name" "ls -la in the container: $inside" ;;
esac

name="section 4: faasflowctl endpoints lists fn-a's listener"
eps=$("$FFCTL" --config "$CONF" endpoints 2>&1)
if echo "$eps" | grep -qE "[[:space:]]5000[[:space:]].*[[:space:]]fn-a$"; then
	it_pass "$name"
else
	it_fail "$name" "endpoints: $eps"
fi

# --- section 7: the switch, containers untouched -----------------------------------------
ids_before=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$A" "$B")
"$FFCTL" --config "$CONF" disable >/dev/null
it_wait_stat enabled -eq 0 5 || it_fail "section 7: disable" "the switch did not turn off"
transfer "section 7: faasflowctl disable: plain TCP, intact" 64 0
"$FFCTL" --config "$CONF" enable >/dev/null
it_wait_stat enabled -eq 1 5 || it_fail "section 7: enable" "the switch did not turn on"
transfer "section 7: faasflowctl enable: through the region again" 64 $((48 << 20))
echo "ENABLE_SHARED_MEMORY = false" >>"$CONF"
kill -HUP "$IT_DAEMON_PID"
it_wait_stat enabled -eq 0 5 || it_fail "section 7: ENABLE_SHARED_MEMORY = false" "reload did not turn it off"
transfer "section 7: ENABLE_SHARED_MEMORY = false + reload: plain TCP, intact" 64 0
sed -i '/^ENABLE_SHARED_MEMORY = false$/d' "$CONF"
kill -HUP "$IT_DAEMON_PID"
it_wait_stat enabled -eq 1 5 || it_fail "section 7: back on" "reload did not turn it on"
transfer "section 7: back on by reload: through the region" 64 $((48 << 20))
name="section 7: the containers were not restarted"
ids_after=$(docker inspect -f '{{.Id}} {{.State.StartedAt}}' "$A" "$B")
if [ "$ids_before" = "$ids_after" ]; then
	it_pass "$name"
else
	it_fail "$name" "$ids_before -> $ids_after"
fi

# --- the published port, from the host (docker's proxy or NAT in between) ----------------
name="host -> published port -> fn-a, 32 MiB intact"
if out=$(it_shim "$PY" "$CT_SRC/xfer.py" client 127.0.0.1 "$hostport" 32 2>&1); then
	it_pass "$name"
else
	it_fail "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
fi

# --- the shim in a glibc image with nothing installed ------------------------------------
# The debootstrap base has no Python and no libunwind: bash's /dev/tcp and cat, preloaded by
# the project's entrypoint, send a file to fn-a through the region.
name="bare glibc image: bash + cat under the shim -> fn-a, 48 MiB through the region"
# (The shim of the function image: the build tree's may be a sanitizer build.)
docker rm -f "$CT_TAG-cp" >/dev/null 2>&1
docker create --name "$CT_TAG-cp" "$CT_FUNCTION" >/dev/null &&
	docker cp "$CT_TAG-cp:/usr/local/lib/libfaasflow_intercept.so" "$T/image-shim.so" >/dev/null
docker rm -f "$CT_TAG-cp" >/dev/null 2>&1
head -c $((48 << 20)) /dev/urandom >"$T/bare.bin"
want="$(stat -c %s "$T/bare.bin") $(sha256sum "$T/bare.bin" | cut -d' ' -f1)"
before=$(it_stat region_bytes)
out=$(timeout 120 docker run --rm "${guide_flags[@]}" --network "$CT_NET" \
	-e "FAASFLOW_SHM_FILE_PATH=$T/region" -e "FAASFLOW_SOCKET_DIR=$T" \
	-v "$T/image-shim.so:/usr/local/lib/libfaasflow_intercept.so:ro" \
	-v "$CT_TOP_SRC/contrib/docker/entrypoint.sh:/faasflow-entrypoint:ro" \
	--entrypoint /faasflow-entrypoint "$CT_DEBIAN" \
	bash -c "exec 3<>/dev/tcp/$A/5000 && cat $T/bare.bin >&3 && exec 3>&- && echo sent" 2>&1)
got=$(docker logs "$A" 2>&1 | grep '^RECV' | tail -n 1 | cut -d' ' -f2-)
if [ "$out" != sent ]; then
	it_fail "$name" "the container said: $out"
elif [ "$got" != "$want" ]; then
	it_fail "$name" "fn-a received '$got', sent '$want'"
else
	it_grew "$name" "$before" $((32 << 20)) && it_pass "$name"
fi

# --- a function container started by FaaSFlow's helper through the Docker SDK -------------
name="faasflow_docker.run_container (Python Docker SDK, real engine) -> fn-a, 64 MiB"
if ! /usr/bin/python3 -c 'import docker' 2>/dev/null; then
	it_fail "$name" "the Python Docker SDK is missing (python3-docker; contrib/install-deps.sh)"
else
	C=$CT_TAG-fn-sdk
	CT_CONTAINERS+=("$C")
	if ! out=$(/usr/bin/python3 "$CT_SRC/sdk_run.py" "$CT_TOP_SRC" "$CT_FUNCTION" "$C" "$CT_NET" \
		"$T/region" "$T" "$T/image-shim.so" sleep infinity 2>&1); then
		it_fail "$name" "sdk_run.py: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	else
		docker cp "$CT_SRC/xfer.py" "$C:/xfer.py" >/dev/null
		before=$(it_stat region_bytes)
		if ! out=$(timeout 300 docker exec "$C" python3 /xfer.py client "$A" 5000 64 2>&1); then
			it_fail "$name" "transfer failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		else
			preload=$(docker exec "$C" printenv LD_PRELOAD)
			if [ "$preload" != "$T/image-shim.so" ]; then
				it_fail "$name" "LD_PRELOAD in the container is '$preload'"
			else
				it_grew "$name" "$before" $((32 << 20)) && it_pass "$name"
			fi
		fi
	fi
fi
it_done
