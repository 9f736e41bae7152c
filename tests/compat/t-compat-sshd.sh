#!/bin/bash
# Compatibility matrix: OpenSSH. sshd -D with a private config on a high port (privilege
# separation with its seccomp sandbox, a generated host key, a generated user key for root),
# the ssh client uploads files of 1 KiB to 8 MiB with `ssh ... 'cat > FILE'`, sshd's side hashes
# them (`sha256sum FILE` run through ssh), and downloads them back with `ssh ... cat FILE`.
# Needs root (sshd's privilege separation) and /run/sshd (created if missing).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need openssh-server /usr/sbin/sshd
cx_need openssh-client ssh ssh-keygen
cx_need iproute2 ss
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: sshd's privilege separation needs root"
	exit 77
fi
cx_version "$(/usr/sbin/sshd -V 2>&1 | head -1)"
CX_SIZES="1K 64K 1M 8M"
# ssh writes one packet at a time (at most 32804 bytes measured with strace, 8 MiB upload): no
# write reaches THRESHOLD, so the connection must be upgraded and carry the bytes inline.
CX_ACCEL="inline ssh writes one packet (at most 32 KiB) at a time"
[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
mkdir -m 700 "$T/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host" || exit 99
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/id" || exit 99
cp "$T/ssh/id.pub" "$T/ssh/authorized_keys"

row() {
	local mode=$1 port srv size f want got_srv got ssh
	port=$(cx_port)
	cat >"$T/ssh/sshd_config" <<SSHD
Port $port
ListenAddress 127.0.0.1
HostKey $T/ssh/host
PidFile $T/ssh/sshd.pid
AuthorizedKeysFile $T/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
LogLevel VERBOSE
SSHD
	cx_bg sshd "$mode" /usr/sbin/sshd -D -e -f "$T/ssh/sshd_config"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "sshd starts ($mode)" "did not listen"
		cx_show sshd
		cx_result "$mode" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	ssh=(ssh -F /dev/null -i "$T/ssh/id" -o BatchMode=yes -o StrictHostKeyChecking=no
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -p "$port" root@127.0.0.1)
	for size in $CX_SIZES; do
		f=$(cx_payload "$size")
		want=$(cx_sha "$f")
		rm -f "$T/ssh/recv.$size"
		if ! cx_run "$mode" "${ssh[@]}" "cat > $T/ssh/recv.$size" <"$f" 2>"$T/cli.err"; then
			cx_fail "upload $size ($mode)" "ssh exited $CX_RC$([ "$CX_RC" = 124 ] && echo " (timed out after $CX_CLIENT_TIMEOUT s)"): $(head -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "upload-failed-$CX_RC"
			tail -n 4 "$T/sshd.err" | sed 's/^/    sshd: /'
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		got_srv=$(cx_run "$mode" "${ssh[@]}" "sha256sum < $T/ssh/recv.$size" 2>>"$T/cli.err" | cut -d' ' -f1)
		if ! cx_run "$mode" "${ssh[@]}" "cat $T/ssh/recv.$size" >"$T/got" 2>"$T/cli.err"; then
			cx_fail "download $size ($mode)" "ssh exited $CX_RC: $(head -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "download-failed-$CX_RC"
			tail -n 4 "$T/sshd.err" | sed 's/^/    sshd: /'
			continue
		fi
		got=$(cx_sha "$T/got")
		cx_check_case "$mode" "$size" "ssh upload (server hash) + download" "$want" "$got_srv" "$got"
	done
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
