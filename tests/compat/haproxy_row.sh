# The haproxy rows (t-compat-haproxy*.sh set HAP_SPLICE to yes or no, then source this after
# lib.sh): haproxy in TCP mode (foreground, -db) between the Python echo client and the Python
# echo server, all under the shim in the shim run; with HAP_SPLICE=yes the frontend has
# option splice-request and option splice-response (haproxy moves the bytes with splice()
# through a pipe instead of recv/send).
# shellcheck shell=bash disable=SC2034
cx_need haproxy haproxy
cx_need python3 "$PY"
cx_need iproute2 ss
cx_version "$(haproxy -v 2>&1 | head -1)"
CX_SIZES="1K 64K 1M 8M 64M"

row() {
	local mode=$1 port bport hap srv splice=
	port=$(cx_port)
	bport=$(cx_port)
	[ "$bport" = "$port" ] && bport=$((port + 1))
	[ "$HAP_SPLICE" = yes ] && splice="option splice-request
	option splice-response"
	cat >"$T/haproxy.cfg" <<HAP
global
	maxconn 200
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout client-fin 10s
	timeout server-fin 10s
frontend f
	bind 127.0.0.1:$port
	$splice
	default_backend b
backend b
	server s1 127.0.0.1:$bport
HAP
	cx_bg srv "$mode" "$PY" "$CX_SRC/echo.py" server "$bport"
	srv=$CX_LAST
	cx_bg haproxy "$mode" haproxy -db -f "$T/haproxy.cfg"
	hap=$CX_LAST
	if ! cx_wait_port "$bport" "" "$srv" || ! cx_wait_port "$port" "" "$hap"; then
		cx_fail "haproxy and the echo server start ($mode)" "did not listen"
		cx_show haproxy srv
		cx_result "$mode" all "server-did-not-start"
		cx_stop "$hap" "$srv"
		return
	fi
	cx_echo_cases "$mode" "$port" "$PY" "$CX_SRC/echo.py" client 127.0.0.1 "$port"
	cx_stop "$hap" "$srv"
}

cx_start_daemon
cx_matrix
cx_done
