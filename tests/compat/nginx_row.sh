# The nginx rows (t-compat-nginx-*.sh set NGX_CASE to static, proxy or bigbuf, then source
# this after lib.sh). nginx runs in the foreground (daemon off, master + 1 worker, user root)
# with a private prefix in $T; curl is the client (Python's urllib where curl cannot run with the
# ASan runtime preloaded).
#  static: files of 1 KiB to 64 MiB served with sendfile on, downloaded by curl.
#  proxy:  nginx proxies to a Python HTTP/1.1 backend over keep-alive upstream connections
#          (upstream keepalive, proxy_http_version 1.1); curl downloads through it (GET) and
#          uploads through it (POST, the backend hashes the body).
#  bigbuf: the proxy with client_body_buffer_size 16m and proxy_buffers 4 16m (whole payloads
#          in one buffer, so nginx reads and writes them in big blocks).
# shellcheck shell=bash disable=SC2034
cx_need nginx-light nginx
cx_need curl curl
cx_need python3 "$PY"
cx_need iproute2 ss
cx_version "$(nginx -v 2>&1), $(curl --version | head -1)"
CX_SIZES="1K 64K 1M 8M 64M"
mkdir -p "$T/www"
for s in $CX_SIZES; do ln -sf "$(cx_payload "$s")" "$T/www/payload.$s"; done

# In a sanitizer build the ASan runtime is preloaded too; an uninstrumented curl can deadlock in
# setlocale() with the bare ASan runtime preloaded, shim or not (llvm-project issue 49223, see
# tests/integration/t-http-curl.sh). Probe that without the shim; if so, Python's urllib is the
# client instead.
NGX_CLIENT=curl
if [ -n "$CX_ASAN" ] && ! env LD_PRELOAD="$CX_ASAN" timeout 10 curl --version >/dev/null 2>&1; then
	echo "NOTE: curl hangs with only the ASan runtime preloaded (no shim involved); the client is $PY urllib"
	NGX_CLIENT=urllib
fi
ngx_get() { # MODE URL OUT
	rm -f "$3"
	if [ "$NGX_CLIENT" = curl ]; then
		cx_run "$1" curl -sS --fail -o "$3" "$2"
	else
		cx_run "$1" "$PY" -c 'import sys, urllib.request, shutil
with urllib.request.urlopen(sys.argv[1]) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f, 1 << 20)' "$2" "$3"
	fi
}
ngx_post() { # MODE URL FILE OUT
	rm -f "$4"
	if [ "$NGX_CLIENT" = curl ]; then
		cx_run "$1" curl -sS --fail -H 'Content-Type: application/octet-stream' \
			--data-binary "@$3" -o "$4" "$2"
	else
		cx_run "$1" "$PY" -c 'import sys, urllib.request
body = open(sys.argv[2], "rb").read()
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/octet-stream"})
with urllib.request.urlopen(req) as r:
    open(sys.argv[3], "wb").write(r.read())' "$2" "$3" "$4"
	fi
}

ngx_conf() { # PORT BACKEND_PORT
	local extra=
	if [ "$NGX_CASE" = bigbuf ]; then
		extra="client_body_buffer_size 16m; client_body_in_single_buffer on;
		proxy_buffer_size 16m; proxy_buffers 4 16m; proxy_busy_buffers_size 32m;"
	fi
	mkdir -p "$T/ng/logs" "$T/ng/tmp"
	cat >"$T/ng/nginx.conf" <<NGX
daemon off;
master_process on;
worker_processes 1;
user root;
pid $T/ng/nginx.pid;
error_log $T/ng/logs/error.log warn;
env LD_PRELOAD;
env FAASFLOW_CONFIG;
env FAASFLOW_LOG;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $T/ng/tmp/body;
	proxy_temp_path $T/ng/tmp/proxy;
	fastcgi_temp_path $T/ng/tmp/fastcgi;
	uwsgi_temp_path $T/ng/tmp/uwsgi;
	scgi_temp_path $T/ng/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 30;
	client_max_body_size 128m;
	default_type application/octet-stream;
	upstream be {
		server 127.0.0.1:$2;
		keepalive 8;
	}
	server {
		listen 127.0.0.1:$1;
		root $T/www;
		location /proxy/ {
			proxy_pass http://be/;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			$extra
		}
	}
}
NGX
}

row() {
	local mode=$1 port bport ngx be size f want got url
	port=$(cx_port)
	bport=$(cx_port)
	[ "$bport" = "$port" ] && bport=$((port + 1))
	ngx_conf "$port" "$bport"
	if [ "$NGX_CASE" != static ]; then
		cx_bg srv "$mode" "$PY" "$CX_SRC/http_backend.py" "$bport" "$T/www"
		be=$CX_LAST
		if ! cx_wait_port "$bport" "" "$be"; then
			cx_fail "python backend starts ($mode)" "did not listen"
			cx_show srv
			cx_result "$mode" all "backend-did-not-start"
			cx_stop "$be"
			return
		fi
	fi
	cx_bg nginx "$mode" nginx -e "$T/ng/logs/error.log" -p "$T/ng" -c "$T/ng/nginx.conf"
	ngx=$CX_LAST
	if ! cx_wait_port "$port" "" "$ngx"; then
		cx_fail "nginx starts ($mode)" "did not listen"
		cx_show nginx
		cx_result "$mode" all "nginx-did-not-start"
		cx_stop "$ngx" ${be:+"$be"}
		return
	fi
	for size in $CX_SIZES; do
		f=$(cx_payload "$size")
		want=$(cx_sha "$f")
		if [ "$NGX_CASE" = static ]; then url=/payload.$size; else url=/proxy/payload.$size; fi
		if ! ngx_get "$mode" "http://127.0.0.1:$port$url" "$T/got" 2>"$T/cli.err"; then
			cx_fail "GET $size ($mode)" "$NGX_CLIENT exited $CX_RC$([ "$CX_RC" = 124 ] && echo " (timed out after $CX_CLIENT_TIMEOUT s, $(stat -c %s "$T/got" 2>/dev/null) bytes received)"): $(head -c 300 "$T/cli.err")"
			cx_result "$mode" "$size" "get-failed-$CX_RC"
			tail -n 3 "$T/ng/logs/error.log" | sed 's/^/    nginx error.log: /'
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		got=$(cx_sha "$T/got")
		cx_check_case "$mode" "$size" "GET $url" "$want" "$got"
		[ "$NGX_CASE" = static ] && continue
		local n0
		n0=$(grep -c '^RECV' "$T/srv.out")
		if ! ngx_post "$mode" "http://127.0.0.1:$port/proxy/upload" "$f" "$T/post.out" 2>"$T/cli.err"; then
			cx_fail "POST $size ($mode)" "$NGX_CLIENT exited $CX_RC$([ "$CX_RC" = 124 ] && echo " (timed out after $CX_CLIENT_TIMEOUT s)"): $(head -c 300 "$T/cli.err")"
			cx_result "$mode" "post-$size" "post-failed-$CX_RC"
			tail -n 3 "$T/ng/logs/error.log" | sed 's/^/    nginx error.log: /'
			[ "$CX_RC" = 124 ] && break
			continue
		fi
		got=$(sed -n 's/^RECV .*sha256=//p' "$T/post.out")
		cx_check_case "$mode" "post-$size" "POST /proxy/upload (backend hashes)" "$want" "$got" \
			"$(grep '^RECV' "$T/srv.out" | sed -n "$((n0 + 1))s/^RECV .*sha256=//p")"
	done
	if [ "$NGX_CASE" != static ]; then
		echo "  backend saw $(grep -c '^CONN' "$T/srv.out") connection(s) for $(grep -c . "$T/result.$mode") requests (upstream keep-alive)"
	fi
	cx_stop "$ngx" ${be:+"$be"}
}

cx_start_daemon
cx_matrix
cx_done
