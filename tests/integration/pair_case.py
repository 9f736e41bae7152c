"""Programs for t-pair-proof.sh: the same code runs with and without the shim.

  pair_case.py server BIND PORT PORT_FILE [reuseport]
      listen on BIND:PORT (PORT 0: any; the port goes to PORT_FILE); for every connection
      read to EOF, answer "<bytes> <sha256>\\n", close; print "conn bytes=N sha=HEX" per
      connection; runs until killed
  pair_case.py daemon BIND PORT_FILE
      as server, but the way a daemon starts: listen, fork, the parent exits at once, the
      child serves after a second (when the parent's registration is gone)
  pair_case.py exec-server PORT_FILE PROGRAM
      accept connections; each goes to a child that execs PROGRAM with the connection as its
      standard input (as inetd does)
  pair_case.py client HOST PORT NCONN SIZE CHUNK [DELAY]
      NCONN connections one after another, each sends SIZE bytes (a pattern of its own) in
      writes of CHUNK bytes (the first DELAY s after connecting) and half-closes, then checks the server's answer; prints "ok NCONN" or
      exits 1 naming the first difference
  pair_case.py greet PORT_FILE DELAY
      accept one connection, wait DELAY s, write a 10-byte greeting then three 8 MiB
      replies, close; print "sent=N sha=HEX"
  pair_case.py listen-greet HOST PORT
      connect, read to EOF; print "sent=N sha=HEX"
"""
import hashlib
import os
import socket
import sys
import time


def pattern(seed, size):
    unit = bytes((i * 31 + seed * 7 + 1) & 0xFF for i in range(65536))
    return (unit * (size // len(unit) + 1))[:size]


def listener(bind, port, port_file, reuse):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((bind, port))
    s.listen(64)
    return s


def publish(s, port_file):
    with open(port_file + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)


def drain(c):
    """Read c to EOF: (bytes, sha256 object)."""
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            return n, h
        h.update(d)
        n += len(d)


def serve(s):
    while True:
        c, _ = s.accept()
        n, h = drain(c)
        c.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))
        c.close()
        print("conn bytes=%d sha=%s" % (n, h.hexdigest()), flush=True)


def client(host, port, nconn, size, chunk, delay):
    for i in range(nconn):
        data = pattern(i, size)
        c = socket.create_connection((host, port), timeout=60)
        time.sleep(delay)
        for k in range(0, len(data), chunk):
            c.sendall(data[k:k + chunk])
        c.shutdown(socket.SHUT_WR)
        ans = b""
        while not ans.endswith(b"\n"):
            d = c.recv(4096)
            if not d:
                break
            ans += d
        c.close()
        want = b"%d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode())
        if ans != want:
            print("connection %d: the server got %r, the client sent %r" % (i, ans, want))
            sys.exit(1)
    print("ok %d" % nconn)


def greet(port_file, delay):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    with open(port_file, "w") as f:
        f.write(str(s.getsockname()[1]))
    c, _ = s.accept()
    time.sleep(delay)
    h, n = hashlib.sha256(), 0
    for part in [b"HELLO-0123"] + [pattern(k, 8 << 20) for k in range(3)]:
        c.sendall(part)
        h.update(part)
        n += len(part)
    c.close()
    print("sent=%d sha=%s" % (n, h.hexdigest()), flush=True)


def listen_greet(host, port):
    n, h = drain(socket.create_connection((host, port), timeout=60))
    print("sent=%d sha=%s" % (n, h.hexdigest()), flush=True)


role = sys.argv[1]
if role == "server":
    ls = listener(sys.argv[2], int(sys.argv[3]), sys.argv[4], len(sys.argv) > 5)
    publish(ls, sys.argv[4])
    serve(ls)
elif role == "daemon":
    ls = listener(sys.argv[2], 0, sys.argv[3], False)
    if os.fork():
        os._exit(0)
    time.sleep(1.0)
    publish(ls, sys.argv[3])
    serve(ls)
elif role == "client":
    client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
           float(sys.argv[7]) if len(sys.argv) > 7 else 0.0)
elif role == "exec-server":
    ls = listener("127.0.0.1", 0, sys.argv[2], False)
    publish(ls, sys.argv[2])
    while True:
        c, _ = ls.accept()
        if os.fork() == 0:
            os.dup2(c.fileno(), 0)
            os.execv(sys.argv[3], [sys.argv[3]])
        c.close()
        os.waitpid(-1, 0)
        print("conn handed", flush=True)
elif role == "greet":
    greet(sys.argv[2], float(sys.argv[3]))
elif role == "listen-greet":
    listen_greet(sys.argv[2], int(sys.argv[3]))
else:
    sys.exit("unknown role %r" % role)
