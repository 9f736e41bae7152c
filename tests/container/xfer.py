#!/usr/bin/env python3
"""A function's transfer, as a container runs it (Python's standard library only).

  xfer.py server PORT            serve connections for ever: read each to EOF, answer
                                 "<bytes> <sha256>\\n", close; one line per connection
                                 on stdout ("RECV <bytes> <sha256>")
  xfer.py function PORT          a function that sends when asked: serve connections for
                                 ever; each brings a line "HOST PORT MIB", the function
                                 connects there, sends (as client below) and answers with
                                 the client's result line ("SENT ..." or "MISMATCH ...")
  xfer.py ask HOST PORT LINE     ask a function (one line out, its answer printed; exit 1
                                 unless it starts with "SENT")
  xfer.py client HOST PORT MIB [CHUNK_KIB]
                                 send MIB MiB of seeded pseudo-random data in writes of
                                 CHUNK_KIB (default 4096), shut down the write side, read the
                                 answer; prints "SENT <bytes> <sha256>" and exits 1 unless the
                                 server saw the same count and hash
"""
import hashlib
import os
import socket
import sys


def listener(port):
    """Listen on every address of the container, and say so ("LISTEN PORT")."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(16)
    print("LISTEN %d" % port, flush=True)
    return ls


def serve(port):
    ls = listener(port)
    buf = bytearray(1 << 20)
    while True:
        c, _ = ls.accept()
        h, n = hashlib.sha256(), 0
        while True:
            r = c.recv_into(buf)
            if r == 0:
                break
            h.update(memoryview(buf)[:r])
            n += r
        line = "%d %s" % (n, h.hexdigest())
        try:
            c.sendall((line + "\n").encode())
        except OSError:
            pass                                # a sender that closed without waiting
        c.close()
        print("RECV " + line, flush=True)


def function(port):
    ls = listener(port)
    while True:
        c, _ = ls.accept()
        f = c.makefile("rb")
        host, p, mib = f.readline().decode().split()
        try:
            answer = send(host, int(p), int(mib), 4096)
        except OSError as e:
            answer = "ERROR %s" % e
        c.sendall((answer + "\n").encode())
        f.close()
        c.close()
        print(answer, flush=True)


def ask(host, port, line):
    s = socket.create_connection((host, port), timeout=300)
    s.sendall((line + "\n").encode())
    answer = s.makefile("rb").readline().decode().strip()
    print(answer, flush=True)
    if not answer.startswith("SENT"):
        sys.exit(1)


def client(host, port, mib, chunk_kib):
    answer = send(host, port, mib, chunk_kib)
    print(answer, flush=True)
    if not answer.startswith("SENT"):
        sys.exit(1)


def send(host, port, mib, chunk_kib):
    block = bytearray(os.urandom(chunk_kib << 10))
    s = socket.create_connection((host, port), timeout=120)
    # A blocking sender, as a function writing its output is: with a timeout Python makes the
    # socket non-blocking, and a non-blocking writer whose reader lags goes inline past its
    # bound of slots in flight (as TCP's buffer would take the bytes).
    s.settimeout(None)
    h, n = hashlib.sha256(), 0
    for i in range((mib << 10) // chunk_kib):
        block[:8] = i.to_bytes(8, "little")     # every chunk differs
        h.update(block)
        s.sendall(block)
        n += len(block)
    s.shutdown(socket.SHUT_WR)
    answer = b""
    while not answer.endswith(b"\n"):
        r = s.recv(256)
        if not r:
            break
        answer += r
    s.close()
    mine = "%d %s" % (n, h.hexdigest())
    if answer.decode().strip() != mine:
        return "MISMATCH: sent %s, the server saw %r" % (mine, answer.decode().strip())
    return "SENT " + mine


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "function":
        function(int(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "ask":
        ask(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
               int(sys.argv[5]) if len(sys.argv) == 6 else 4096)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
