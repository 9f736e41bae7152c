#!/bin/bash
# Compatibility matrix: a Go program (echo.go, net + crypto/sha256). Go makes its own system
# calls, so LD_PRELOAD does not reach it: it must stay plain and correct next to shim peers.
# The shim run pairs it every way: Go server + Go client (both started with the shim in
# LD_PRELOAD), Go server + Python client under the shim, Python server under the shim + Go
# client (a shim listener whose peer never sends the hello). No region growth is required.
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need golang-go go
cx_need python3 "$PY"
cx_need iproute2 ss
cx_version "$(go version)"
CX_SIZES="1K 64K 1M 8M 64M"
CX_ACCEL="no Go does not call the C library's socket functions (LD_PRELOAD cannot reach it)"
# GOCACHE under the build tree: the first build compiles the standard library (about 20 s).
mkdir -p "$CX_BUILD/.gocache"
if ! (cd "$T" && cp "$CX_SRC/echo.go" . && GO111MODULE=off GOFLAGS='' GOCACHE="$CX_BUILD/.gocache" \
	CGO_ENABLED=0 timeout 120 go build -o "$T/echo-go" echo.go) >"$T/go.err" 2>&1; then
	echo "go build failed:"
	cat "$T/go.err"
	exit 99
fi

# pair MODE LABEL SERVER_KIND CLIENT_KIND
pair() {
	local mode=$1 label=$2 port srv scmd ccmd
	port=$(cx_port)
	if [ "$3" = go ]; then scmd=("$T/echo-go" server "$port"); else scmd=("$PY" "$CX_SRC/echo.py" server "$port"); fi
	if [ "$4" = go ]; then ccmd=("$T/echo-go" client 127.0.0.1 "$port"); else ccmd=("$PY" "$CX_SRC/echo.py" client 127.0.0.1 "$port"); fi
	cx_bg srv "$mode" "${scmd[@]}"
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "$label server starts ($mode)" "did not listen"
		cx_show srv
		cx_result "$mode" "$label" "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	echo "  pair: $label"
	cx_echo_cases "$mode" "$port" "${ccmd[@]}"
	cx_stop "$srv"
}

row() {
	pair "$1" "go-server+go-client" go go
	pair "$1" "go-server+python-client" go py
	pair "$1" "python-server+go-client" py go
}

cx_start_daemon
cx_matrix
cx_done
