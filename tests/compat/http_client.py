#!/usr/bin/python3
"""HTTP client of the compatibility matrix (http.client, one keep-alive connection):
http_client.py PORT FILE -- GET /basename(FILE) (hashed in 1 MiB reads), then POST FILE;
prints "RECV bytes=N sha256=H" of the download and "UPLOADED ..." of the server's answer."""
import hashlib
import http.client
import os
import sys

BLOCK = 1 << 20
port, path = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60, blocksize=BLOCK)
c.request("GET", "/" + os.path.basename(path))
r = c.getresponse()
if r.status != 200:
    sys.exit("GET status %d" % r.status)
h = hashlib.sha256()
n = 0
while True:
    b = r.read(BLOCK)
    if not b:
        break
    h.update(b)
    n += len(b)
print("RECV bytes=%d sha256=%s" % (n, h.hexdigest()), flush=True)
with open(path, "rb") as f:
    c.request("POST", "/upload", body=f, headers={"Content-Length": str(os.path.getsize(path)),
                                                   "Content-Type": "application/octet-stream"})
    r = c.getresponse()
    print(r.read().decode().strip().replace("RECV", "UPLOADED", 1), flush=True)
