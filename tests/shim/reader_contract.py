"""Reader-side behaviour an event loop or a pipe user relies on, printed so that a run over
plain TCP and a run under the shim can be compared line by line.

  reader_contract.py et-big PORT       server sends 16 MiB in 1 MiB writes and stays open;
                                       the client reads it with epoll EPOLLET and 16 MiB reads
                                       (a short read means "drained", as nginx assumes)
  reader_contract.py fionread-et PORT  server sends 16 MiB in 60000-byte writes (inline frames)
                                       to a client that starts late (the queue fills and closes
                                       the window) and reads as nginx does: 8 KiB reads, after
                                       a full one FIONREAD, and it stops once it has read that
                                       many, waiting for the next edge
  reader_contract.py peek PORT         server sends b"abc", b"def\\n", 64 KiB + a newline (a slot
                                       payload under the shim), each a write of its own; the
                                       client peeks across them as a line reader does
  reader_contract.py splice-nb PORT    server sends 1 MiB; the client splices socket -> pipe
                                       with SPLICE_F_NONBLOCK, never more than the pipe holds
  reader_contract.py rcvlowat PORT     server sends 1 MiB; the client sets SO_RCVLOWAT 4096,
                                       waits in poll() until readable (5 s at most), then reads
                                       with blocking recv()s: each returns at least 4096 bytes
  reader_contract.py nb-switch PORT    a blocking reader waits for 1 MiB, then its socket turns
                                       non-blocking (ioctl FIONBIO, fcntl F_SETFL, and a forked
                                       child's fcntl on the shared file): each read says EAGAIN
                                       at once; blocking again, it reads a second 1 MiB
A server started with PORT 0 takes a free port and says which ("listening PORT").
Each client prints "bytes=N sha=HEX ..." and the server "sent=N sent_sha=HEX"."""
import fcntl
import hashlib
import os
import select
import socket
import sys
import time

MIB = 1 << 20


def payload(n, seed):
    out = bytearray()
    h = hashlib.sha256(seed.encode())
    while len(out) < n:
        h = hashlib.sha256(h.digest())
        out += h.digest() * 128
    return bytes(out[:n])


def accept_request(port):
    """Listen, say so, accept one client and take its request (the client speaks first, as
    an HTTP client does)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', port))
    ls.listen(1)
    print("listening %d" % ls.getsockname()[1], flush=True)
    c, _ = ls.accept()
    c.recv(16)
    return c


def sent_and_linger(c, data, linger):
    print("sent=%d sent_sha=%s" % (len(data), hashlib.sha256(data).hexdigest()), flush=True)
    c.settimeout(linger)
    try:
        c.recv(1)        # the client says when it is done (or the timeout)
    except OSError:
        pass
    c.close()


def serve(port, total, chunk, linger):
    c = accept_request(port)
    data = payload(total, "contract")
    for off in range(0, total, chunk):
        c.sendall(data[off:off + chunk])
    sent_and_linger(c, data, linger)


def et_big(port):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'go')
    c.setblocking(False)
    ep = select.epoll()
    ep.register(c.fileno(), select.EPOLLIN | select.EPOLLET)
    buf = bytearray(16 * MIB)
    h = hashlib.sha256()
    got = 0
    edges = 0
    stalls = 0
    while got < 16 * MIB:
        if not ep.poll(3):
            stalls += 1
            break
        edges += 1
        while True:          # drain as an edge-triggered loop does: stop at a short read
            try:
                n = c.recv_into(buf)
            except BlockingIOError:
                break
            if n == 0:
                break
            h.update(memoryview(buf)[:n])
            got += n
            if n < len(buf):
                break
    avail = 0
    try:
        avail = len(c.recv(MIB, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        pass
    c.send(b'x')
    print("bytes=%d sha=%s stalls=%d left_unread=%d" % (got, h.hexdigest(), stalls, avail))


def serve_pieces(port):
    c = accept_request(port)
    pieces = [b"abc", b"def\n", payload(65536, "peek").replace(b"\n", b"."), b"\n"]
    for p in pieces:
        c.sendall(p)
        time.sleep(0.05)
    sent_and_linger(c, b"".join(pieces), 10)


def peek(port):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'go')
    time.sleep(0.5)                  # everything has arrived
    first = c.recv(100, socket.MSG_PEEK)
    line1 = c.recv(first.index(b"\n") + 1) if b"\n" in first else b""
    time.sleep(0.1)
    big = c.recv(65537 + 100, socket.MSG_PEEK)
    nl = big.find(b"\n")
    rest = b""
    while len(rest) < nl + 1:
        rest += c.recv(nl + 1 - len(rest))
    c.send(b'x')
    data = line1 + rest
    print("peek1=%r line1=%r peek2=%d newline_at=%d bytes=%d sha=%s" % (
        first[:16], line1, len(big), nl, len(data), hashlib.sha256(data).hexdigest()))


def fionread_et(port):
    import fcntl
    import struct
    import termios
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'go')
    c.setblocking(False)
    time.sleep(0.5)                  # the sender fills the queue meanwhile
    ep = select.epoll()
    ep.register(c.fileno(), select.EPOLLIN | select.EPOLLET | select.EPOLLRDHUP)
    buf = bytearray(8192)
    h = hashlib.sha256()
    got = 0
    stalls = 0
    while got < 16 * MIB:
        if not ep.poll(3):
            stalls += 1
            break
        available = -1               # nginx: every event resets it
        while True:
            if available == 0:
                break
            try:
                n = c.recv_into(buf)
            except BlockingIOError:
                break
            if n == 0:
                break
            h.update(memoryview(buf)[:n])
            got += n
            if available >= 0:
                available -= n
                if available < 0:
                    available = 0
                    break
            elif n == len(buf):
                available = struct.unpack('i', fcntl.ioctl(c.fileno(), termios.FIONREAD,
                                                           b'\0\0\0\0'))[0]
            if n < len(buf):
                break
    c.send(b'x')
    print("bytes=%d sha=%s stalls=%d" % (got, h.hexdigest(), stalls))


def splice_nb(port):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'go')
    r, w = os.pipe()
    cap = 65536
    time.sleep(0.3)                  # all of it has arrived
    first = os.splice(c.fileno(), w, MIB, flags=os.SPLICE_F_NONBLOCK)
    h = hashlib.sha256()
    got = 0
    h.update(os.read(r, first))
    got += first
    while got < MIB:
        n = os.splice(c.fileno(), w, MIB)
        if n == 0:
            break
        while n:
            d = os.read(r, n)
            h.update(d)
            got += len(d)
            n -= len(d)
    c.send(b'x')
    print("bytes=%d sha=%s first_within_pipe=%s" % (got, h.hexdigest(), first <= cap))


def rcvlowat(port):
    c = socket.create_connection(('127.0.0.1', port))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 4096)
    c.sendall(b'go')
    p = select.poll()
    p.register(c, select.POLLIN)
    readable = bool(p.poll(5000))
    h = hashlib.sha256()
    got = short = 0
    while readable and got < MIB:
        d = c.recv(MIB - got)
        if not d:
            break
        short += len(d) < min(4096, MIB - got)
        h.update(d)
        got += len(d)
    c.send(b'x')
    print("bytes=%d sha=%s readable=%d short_reads=%d" % (got, h.hexdigest(), readable, short))


def serve_twice(port):
    c = accept_request(port)
    one, two = payload(MIB, "nb-one"), payload(MIB, "nb-two")
    time.sleep(0.05)                 # the client waits in a blocking read meanwhile
    c.sendall(one)
    c.recv(1)                        # the client's three non-blocking reads are done
    c.sendall(two)
    sent_and_linger(c, one + two, 10)


def nb_switch(port):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'go')
    h = hashlib.sha256()
    got = 0

    def take(n):
        nonlocal got
        while got < n:
            d = c.recv(n - got)
            if not d:
                break
            h.update(d)
            got += len(d)

    def try_read():
        t0 = time.monotonic()
        try:
            d = c.recv(1)
            return "data:%d" % len(d)
        except BlockingIOError:
            return "EAGAIN" if time.monotonic() - t0 < 0.5 else "EAGAIN-late"

    take(MIB)
    c.setblocking(False)             # ioctl(FIONBIO)
    nb_ioctl = try_read()
    c.setblocking(True)
    fl = fcntl.fcntl(c.fileno(), fcntl.F_GETFL)
    take(MIB)                        # (nothing more yet: returns at once)
    fcntl.fcntl(c.fileno(), fcntl.F_SETFL, fl | os.O_NONBLOCK)
    nb_fcntl = try_read()
    fcntl.fcntl(c.fileno(), fcntl.F_SETFL, fl)
    pid = os.fork()
    if pid == 0:
        fcntl.fcntl(c.fileno(), fcntl.F_SETFL, fl | os.O_NONBLOCK)
        os._exit(0)
    os.waitpid(pid, 0)
    nb_fork = try_read()
    fcntl.fcntl(c.fileno(), fcntl.F_SETFL, fl)
    c.send(b'n')
    take(2 * MIB)
    c.send(b'x')
    print("bytes=%d sha=%s nb_ioctl=%s nb_fcntl=%s nb_fork=%s" % (
        got, h.hexdigest(), nb_ioctl, nb_fcntl, nb_fork))


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    role = sys.argv[3] if len(sys.argv) > 3 else "client"
    if role == "server" and mode == "peek":
        serve_pieces(port)
    elif role == "server" and mode == "nb-switch":
        serve_twice(port)
    elif role == "server":
        size = {"et-big": (16 * MIB, MIB), "fionread-et": (16 * MIB, 60000)}.get(mode, (MIB, MIB))
        serve(port, size[0], size[1], 10)
    elif mode == "et-big":
        et_big(port)
    elif mode == "fionread-et":
        fionread_et(port)
    elif mode == "peek":
        peek(port)
    elif mode == "splice-nb":
        splice_nb(port)
    elif mode == "rcvlowat":
        rcvlowat(port)
    elif mode == "nb-switch":
        nb_switch(port)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
