#!/usr/bin/python3
"""HTTP/1.1 keep-alive backend for the compatibility matrix (nginx proxy, haproxy):
http_backend.py PORT DIR
GET /NAME   -> the file DIR/NAME (Content-Length, written in 1 MiB blocks)
POST/PUT /… -> reads the body (Content-Length), prints and answers "RECV bytes=N sha256=H"
Prints "CONN n" for every new connection, so keep-alive reuse can be seen."""
import hashlib
import http.server
import os
import sys

BLOCK = 1 << 20
DIR = sys.argv[2]
conns = 0


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        global conns
        super().setup()
        conns += 1
        print("CONN %d" % conns, flush=True)

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = os.path.join(DIR, os.path.basename(self.path.split("?")[0]))
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        mv = memoryview(data)
        for i in range(0, len(mv), BLOCK):
            self.wfile.write(mv[i:i + BLOCK])

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        left = n
        while left:
            b = self.rfile.read(min(left, BLOCK))
            if not b:
                break
            h.update(b)
            left -= len(b)
        line = "RECV bytes=%d sha256=%s" % (n - left, h.hexdigest())
        print(line, flush=True)
        body = (line + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
