#!/bin/bash
# A signal in the middle of a blocking recv() or accept() ends it with EINTR, or lets it go on
# (SA_RESTART), exactly as over plain TCP, however and whenever the program installed its
# handler: the shim's waits poll first and hold signals only while one could end the call
# (preload/sigwatch.c). st_sigwatch runs each way plain and under the shim; the results must
# be equal, and say what the kernel says.
. "$ST_SRCDIR/lib.sh"

st_start_daemon
for mode in before sigaction siginterrupt sysv_signal sigset raw restart restart-timeout; do
	p=$(plain "$B/st_sigwatch" "$mode" 2>"$T/p.err")
	prc=$?
	s=$(shim "$B/st_sigwatch" "$mode" 2>"$T/s.err")
	src=$?
	case $mode in
	restart) want="recv_eintr=0/10 accept_eintr=0/10" ;;
	*) want="recv_eintr=10/10 accept_eintr=10/10" ;;
	esac
	if [ $prc != 0 ] || [ $src != 0 ]; then
		st_fail "$mode" "plain rc=$prc shim rc=$src (124: a call hung): $(head -c 1500 "$T/p.err" "$T/s.err")"
	elif [ "${p/framed=0/}" != "${s/framed=1/}" ]; then
		st_fail "$mode" "plain '$p', under the shim '$s'"
	elif [ "${s#*"$want"}" = "$s" ]; then
		st_fail "$mode" "expected $want in both, got '$s'"
	elif [ "${s#*framed=1}" = "$s" ]; then
		st_fail "$mode" "the connection was not upgraded: '$s'"
	else
		st_pass "$mode: $s"
	fi
done
st_done
