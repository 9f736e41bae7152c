"""counters_case.py MODE: a client sends 100 writes of 64 bytes to a server (both this script,
the client a forked child) and ends as MODE says; prints the bytes the server read and their
hash. Under the shim each write is one inline frame, counted in the region's statistics.
  close  the client closes its socket, then leaves with os._exit (no exit handlers run)
  exit   the client leaves with libc's exit() and its socket open (exit handlers run, nothing
         closes it before)
  fork   the client sends 50, forks, its child sends 50 more on the same socket, both leave
         with exit() (each end counts its own frames: 100 in all, not 150)
  rawfork  the same with the fork system call itself (no fork handlers run in the child)"""
import ctypes
import hashlib
import os
import socket
import sys

mode = sys.argv[1]
N, SIZE = 100, 64
libc = ctypes.CDLL(None)

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
pid = os.fork()
if pid == 0:
    srv.close()
    c = socket.create_connection(("127.0.0.1", port))
    msg = [bytes([i % 251]) * SIZE for i in range(N)]
    first = N // 2 if mode in ("fork", "rawfork") else N
    for m in msg[:first]:
        c.sendall(m)
    if mode == "close":
        c.close()
        os._exit(0)
    if mode in ("fork", "rawfork"):
        # SYS_fork on x86-64; elsewhere os.fork
        g = libc.syscall(57) if mode == "rawfork" and os.uname().machine == "x86_64" else os.fork()
        if g == 0:
            for m in msg[first:]:
                c.sendall(m)
            libc.exit(0)
        os.waitpid(g, 0)
    libc.exit(0)
conn, _ = srv.accept()
got = bytearray()
while True:
    b = conn.recv(65536)
    if not b:
        break
    got += b
os.waitpid(pid, 0)
print(len(got), hashlib.sha256(bytes(got)).hexdigest()[:16])
