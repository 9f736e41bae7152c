#!/usr/bin/python3
"""memcached text-protocol client for the compatibility matrix: mc_client.py HOST PORT FILE
stores FILE under a key (set), reads it back (get) and prints "RECV bytes=N sha256=H" of the
value the server returned. The set is sent in one sendall (header + value + CRLF)."""
import hashlib
import os
import socket
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()
key = b"k" + os.path.basename(path).encode()[-200:].replace(b" ", b"_")
c = socket.create_connection((host, port))
f = c.makefile("rb", buffering=1 << 20)
c.sendall(b"set %s 0 0 %d\r\n" % (key, len(data)) + data + b"\r\n")
line = f.readline()
if line != b"STORED\r\n":
    sys.exit("set: server said %r" % line[:200])
c.sendall(b"get %s\r\n" % key)
line = f.readline()
parts = line.split()
if len(parts) != 4 or parts[0] != b"VALUE":
    sys.exit("get: server said %r" % line[:200])
n = int(parts[3])
val = f.read(n)
if f.read(2) != b"\r\n" or f.readline() != b"END\r\n":
    sys.exit("get: bad trailer")
print("RECV bytes=%d sha256=%s" % (len(val), hashlib.sha256(val).hexdigest()), flush=True)
c.close()
