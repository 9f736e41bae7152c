"""The first connections of a process, made by several threads at the same moment (each
thread's connect is the process's first while the others are at it too): every one works and
carries its bytes intact.

  first_connects.py server PORTFILE N   accept N connections; each: read to EOF, reply sha256
  first_connects.py client PORT N       N threads released together: connect, send 4 MiB,
                                        shut down writing, compare the reply with its own hash
Prints "ok=K of N"."""
import hashlib
import socket
import sys
import threading


def server(portfile, n):
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(n)
    with open(portfile, 'w') as f:
        f.write(str(ls.getsockname()[1]))

    def one(s):
        h = hashlib.sha256()
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            h.update(d)
        s.sendall(h.hexdigest().encode())
        s.close()
    ts = []
    for _ in range(n):
        s, _ = ls.accept()
        t = threading.Thread(target=one, args=(s,))
        t.start()
        ts.append(t)
    for t in ts:
        t.join()


def client(port, n):
    go = threading.Barrier(n)
    ok = []

    def one(i):
        data = bytes((j * 7 + i) & 0xff for j in range(256)) * (16 << 10)
        go.wait()
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b''
        while True:
            d = s.recv(100)
            if not d:
                break
            got += d
        if got.decode() == hashlib.sha256(data).hexdigest():
            ok.append(i)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("ok=%d of %d" % (len(ok), n))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(int(sys.argv[2]), int(sys.argv[3]))
