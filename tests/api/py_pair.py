"""Producer/consumer pair for the Python binding test.
   py_pair.py server PORTFILE        borrow payloads until EOF, print RECV bytes/sha256/lent
   py_pair.py client PORT SIZE COUNT send faasflow.alloc() buffers, print SENT bytes/sha256/inregion
"""
import hashlib
import os
import socket
import sys

sys.path.insert(0, os.environ["FAASFLOW_PYTHON_DIR"])
import faasflow  # noqa: E402


def server(portfile):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    s, _ = ls.accept()
    h, total, lent = hashlib.sha256(), 0, 0
    while True:
        with faasflow.borrow(s) as view:
            if len(view) == 0:
                break
            h.update(view)
            total += len(view)
            lent += 1
    print("RECV bytes=%d sha256=%s lent=%d framed=%d" % (total, h.hexdigest(), lent,
                                                        faasflow.fd_status(s) & 2))


def client(port, size, count):
    s = socket.create_connection(("127.0.0.1", port))
    h, inregion = hashlib.sha256(), 0
    for i in range(count):
        data = os.urandom(size)
        with faasflow.alloc(size) as buf:
            buf.view[:] = data
            inregion += buf.in_region
            h.update(buf.view)
            s.sendall(buf.view)
    s.shutdown(socket.SHUT_WR)
    s.close()
    print("SENT bytes=%d sha256=%s inregion=%d" % (size * count, h.hexdigest(), inregion))


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
