#!/bin/bash
# A program that sandboxes itself with seccomp (sshd's pre-authentication child, vsftpd) on a
# connection with one direction upgraded and the other plain TCP: its read() and write() stay
# the system calls it made itself, so its filter never kills it (under load, sshd's child was
# killed by a recvmsg the shim made of its read(): "Connection reset" at the client). The
# same bytes arrive plain and under the shim; under the shim the server's direction is
# upgraded and the client's is not (st_sandbox.c).
. "$ST_SRCDIR/lib.sh"

st_start_daemon
p=$(plain "$B/st_sandbox" 2>"$T/p.err")
prc=$?
s=$(shim "$B/st_sandbox" 2>"$T/s.err")
src=$?
name="seccomp-sandboxed server, plain client direction, upgraded server direction"
if [ $prc != 0 ] || [ $src != 0 ]; then
	st_fail "$name" "plain rc=$prc shim rc=$src (159: killed by SIGSYS): $(head -c 600 "$T/p.err" "$T/s.err")"
elif [ "${p% tx=*}" != "${s% tx=*}" ] || [ "${p#RESULT got=}" = "$p" ]; then
	st_fail "$name" "plain '$p', under the shim '$s'"
elif [ "$(st_field "$p" got)" != "$(st_field "$p" sent)" ]; then
	st_fail "$name" "the server got other bytes than were sent: '$p'"
elif [ "${s#* tx=1 rx=0}" = "$s" ]; then
	st_fail "$name" "expected the server's direction upgraded and the client's plain: '$s'"
else
	st_pass "$name: $s"
fi
st_done
