#!/bin/bash
# Compatibility matrix: gunicorn with the gevent worker (-k gevent, monkey-patched sockets)
# serving a WSGI app (wsgi_app.py); a Python http.client client downloads 1 KiB to 64 MiB (GET)
# and uploads the same file (POST, the app hashes the body).
# shellcheck source=lib.sh
. "${abs_srcdir:-$(dirname "$0")}/lib.sh"
cx_need gunicorn gunicorn
cx_need python3 "$PY"
cx_need iproute2 ss
if ! "$PY" -c 'import gevent' 2>/dev/null; then
	echo "SKIP: $PY cannot import gevent (package python3-gevent)"
	exit 77
fi
cx_version "gunicorn $("$PY" -c 'import gunicorn; print(gunicorn.__version__)'), gevent $("$PY" -c 'import gevent; print(gevent.__version__)')"
CX_SIZES="1K 64K 1M 8M 64M"
mkdir -p "$T/www"
for s in $CX_SIZES; do ln -sf "$(cx_payload "$s")" "$T/www/payload.$s"; done

row() {
	local port srv
	port=$(cx_port)
	cx_bg srv "$1" env CX_WWW="$T/www" PYTHONUNBUFFERED=1 "$PY" -m gunicorn -k gevent -w 1 \
		-b "127.0.0.1:$port" --chdir "$CX_SRC" --timeout 60 wsgi_app:app
	srv=$CX_LAST
	if ! cx_wait_port "$port" "" "$srv"; then
		cx_fail "gunicorn starts ($1)" "did not listen"
		cx_show srv
		cx_result "$1" all "server-did-not-start"
		cx_stop "$srv"
		return
	fi
	# RECV from the client = its download; RECV from the server = the upload it hashed
	cx_echo_cases "$1" "$port" "$PY" "$CX_SRC/http_client.py" "$port"
	cx_stop "$srv"
}

cx_start_daemon
cx_matrix
cx_done
