"""WSGI app of the compatibility matrix's gunicorn row (run by gunicorn -k gevent):
GET /NAME -> the file $CX_WWW/NAME in 1 MiB blocks; POST -> hashes the body, prints and
answers "RECV bytes=N sha256=H"."""
import hashlib
import os
import sys

BLOCK = 1 << 20


def app(environ, start_response):
    if environ["REQUEST_METHOD"] == "GET":
        path = os.path.join(os.environ["CX_WWW"], os.path.basename(environ["PATH_INFO"]))
        try:
            f = open(path, "rb")
        except OSError:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        size = os.fstat(f.fileno()).st_size
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        return iter(lambda: f.read(BLOCK), b"")
    n = int(environ.get("CONTENT_LENGTH") or 0)
    h = hashlib.sha256()
    left = n
    inp = environ["wsgi.input"]
    while left:
        b = inp.read(min(left, BLOCK))
        if not b:
            break
        h.update(b)
        left -= len(b)
    line = "RECV bytes=%d sha256=%s" % (n - left, h.hexdigest())
    print(line, flush=True)
    sys.stdout.flush()
    body = (line + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
