#!/bin/bash
# A program that sandboxes itself with seccomp (sshd's pre-authentication child, vsftpd) keeps
# working on its connections, whatever state they are in when its filter comes: one direction
# upgraded and the other plain (under load, sshd's child was killed by a recvmsg the shim made
# of its read(): "Connection reset" at the client), or both still undecided (the shim's look at
# a direction's first bytes was a recv()). Its read(), write() and close() make only the system
# calls it made itself. The same bytes arrive plain and under the shim; the server's
# directions are upgraded as each case allows (st_sandbox.c).
. "$ST_SRCDIR/lib.sh"

st_start_daemon
for mode in late speaks-first reads-first reads-first-plain peek-first urgent-first; do
	# (speaks-first: a server that writes right after accept() may find the client's entry
	# not put yet, its connect() not returned: then its direction stays plain, either is right)
	case $mode in
	late) want="tx=1 rx=0" ;;
	reads-first-plain) want="tx=0 rx=0" ;;
	speaks-first) want="rx=1" ;;
	urgent-first | peek-first) want="rx=" ;;      # (the bytes are the point)
	*) want="tx=1 rx=1" ;;
	esac
	p=$(plain "$B/st_sandbox" "$mode" 2>"$T/p.err")
	prc=$?
	s=$(shim "$B/st_sandbox" "$mode" 2>"$T/s.err")
	src=$?
	if [ $prc != 0 ] || [ $src != 0 ]; then
		st_fail "$mode" "plain rc=$prc shim rc=$src (159: killed by SIGSYS): $(head -c 600 "$T/p.err" "$T/s.err")"
	elif [ "${p% tx=*}" != "${s% tx=*}" ] || [ "${p#RESULT got=}" = "$p" ]; then
		st_fail "$mode" "plain '$p', under the shim '$s'"
	elif [ "$(st_field "$p" got)" != "$(st_field "$p" sent)" ]; then
		st_fail "$mode" "the server got other bytes than were sent: '$p'"
	elif [ "${s#*" $want"}" = "$s" ]; then
		st_fail "$mode" "expected the server's directions $want: '$s'"
	else
		st_pass "$mode: $s"
	fi
done
st_done
