#!/bin/bash
# shellcheck disable=SC2016 # $MAINPID is literal
# The generated faasflowd.service has the keys the deployment needs, and systemd accepts
# it (systemd-analyze verify), as well as the tmpfiles.d and sysusers.d entries.
set -u
srcdir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$srcdir/lib.sh"
op_make_tmp
: "${sbindir:?}" "${sysconfdir:?}"

unit=$top_builddir/contrib/systemd/faasflowd.service
tmpfiles=$top_srcdir/contrib/systemd/faasflow.conf.tmpfiles
sysusers=$top_srcdir/contrib/systemd/faasflow.sysusers
[ -f "$unit" ] || op_fail "$unit was not generated"

need() { grep -Eq "$1" "$unit" || op_fail "faasflowd.service: no line matching '$1'"; op_ok "$1"; }
need '^Type=notify$'
need '^User=faasflow$'
need "^ExecStart=${sbindir}/faasflowd --config ${sysconfdir}/faasflow/faasflow.conf\$"
need '^ExecReload=/bin/kill -HUP \$MAINPID$'
need '^PrivateTmp=no$'
need '^ReadWritePaths=(.* )?/tmp( |$)'
need '^ProtectSystem=strict$'
need '^NoNewPrivileges=yes$'
need '^ProtectHome=yes$'
need '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$'
need '^MemoryDenyWriteExecute=yes$'
need '^LockPersonality=yes$'
need '^WantedBy=multi-user.target$'
if grep -n '@[a-z_]*@' "$unit"; then op_fail "unsubstituted variable in $unit"; fi
grep -q '^PrivateTmp=yes' "$unit" && op_fail "PrivateTmp=yes hides the region from containers"

grep -Eq '^x /tmp/faasflow_container_\*\.sock$' "$tmpfiles" || op_fail "tmpfiles: no socket entry"
grep -Eq '^x /tmp/faasflow_shm$' "$tmpfiles" || op_fail "tmpfiles: no region entry"
grep -Eq '^u faasflow ' "$sysusers" || op_fail "sysusers: no faasflow user"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not installed: checked the keys only"
	exit 0
fi

# verify checks that ExecStart is executable: point it at a stand-in in the temp dir.
mkdir -p "$tmp/sbin"
printf '#!/bin/sh\nexit 0\n' >"$tmp/sbin/faasflowd"
chmod +x "$tmp/sbin/faasflowd"
sed "s|^ExecStart=${sbindir}/faasflowd|ExecStart=$tmp/sbin/faasflowd|" "$unit" >"$tmp/faasflowd.service"
grep -q "^ExecStart=$tmp/sbin/faasflowd " "$tmp/faasflowd.service" || op_fail "could not rewrite ExecStart"
# a unit with a typo must fail the same check: the check can fail
sed 's/^Type=notify/Tpye=notify/' "$tmp/faasflowd.service" >"$tmp/bad.service"
if SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/bad.service" >"$tmp/bad.out" 2>&1 &&
	! grep -q 'Unknown key' "$tmp/bad.out"; then
	op_fail "systemd-analyze verify accepted a misspelled key"
fi
SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/faasflowd.service" >"$tmp/verify.out" 2>&1
rc=$?
cat "$tmp/verify.out"
[ "$rc" -eq 0 ] || op_fail "systemd-analyze verify exited $rc"
# verify reports unknown keys and bad values as warnings without failing: none allowed
if grep -Ei 'unknown|invalid|failed to parse|ignoring' "$tmp/verify.out"; then
	op_fail "systemd-analyze verify complained about faasflowd.service"
fi
op_ok "systemd-analyze verify"

if command -v systemd-sysusers >/dev/null 2>&1; then
	mkdir -p "$tmp/root/etc"
	systemd-sysusers --root="$tmp/root" "$sysusers" >"$tmp/sysusers.out" 2>&1 ||
		{ cat "$tmp/sysusers.out"; op_fail "systemd-sysusers rejected faasflow.sysusers"; }
	grep -q '^faasflow:' "$tmp/root/etc/passwd" || op_fail "systemd-sysusers did not create faasflow"
	grep -q '^faasflow:' "$tmp/root/etc/group" || op_fail "systemd-sysusers did not create group faasflow"
	op_ok "systemd-sysusers creates the faasflow user"
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	mkdir -p "$tmp/troot/tmp"
	systemd-tmpfiles --root="$tmp/troot" --create "$tmpfiles" >"$tmp/tmpfiles.out" 2>&1 ||
		{ cat "$tmp/tmpfiles.out"; op_fail "systemd-tmpfiles rejected faasflow.conf.tmpfiles"; }
	op_ok "systemd-tmpfiles accepts the entries"
fi
exit 0
