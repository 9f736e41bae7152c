"""runs_case.py MODE: a stream of small writes (below THRESHOLD, which the tests pin at 64K),
the pattern that goes as runs through a slot under the shim (tx.c), from a client to a server,
both this script (the client a forked child). Prints what the server saw, the same plain and
shimmed.
  mixed         20,000 writes of 1 to 30,000 bytes (seeded); the server reads with buffers of
                1, 13, 64, 4096 and 65536 bytes in turn: length and hash
  fork-order    the client writes A, forks; its child writes B and exits; then the client
                writes C: the server gets A B C in that order
  fork-turns    the client writes A, forks; then it and its child take turns (pipes): B by the
                child, A, B, A: in turn order (a run of one must not take the other's later
                writes ahead of its own)
  thread-order  two threads of the client take turns (a condition variable), 20 turns of 50
                writes each: in turn order
  pass-order    the client writes A, passes the socket to another process (SCM_RIGHTS), which
                writes B and says so; then the client writes C
  exec-order    the client writes A, a child execs a program that writes B on the inherited
                socket; then the client writes C
  burst-poll    the client writes 500 x 64 bytes, then waits 3 s before it closes; the server
                reads non-blocking after poll() (level), then blocking after select(): all
                32,000 bytes come before the client's wait ends
  more          199 writes of 64 bytes with MSG_MORE, one without, then a 3 s wait: the
                last byte comes before the wait ends (not 200 ms later, not at the close)
  reader-gone   the client writes 64-byte writes without end; the server reads 1,000 bytes
                and closes with the rest unread: the writes fail (EPIPE or ECONNRESET)
                before 200,000 (12.8 MB) were taken, as TCP's do
  big-mixed     small writes around a 1 MiB write and urgent bytes (SO_OOBINLINE): hash"""
import hashlib
import os
import random
import select
import socket
import subprocess
import sys
import threading
import time

mode = sys.argv[1]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]


def part(tag, n, size):
    return [bytes([tag]) * size + b"%06d" % i for i in range(n)]


def writes(c, msgs, flags=0):
    for m in msgs:
        c.sendall(m, flags)


def client():
    srv.close()
    if mode == "pass-order":
        # the helper first: the connection is not one a fork shared (its runs stay on)
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        helper = os.fork()
        if helper == 0:
            a.close()
            _, fds, _, _ = socket.recv_fds(b, 16, 1)
            s2 = socket.socket(fileno=fds[0])
            writes(s2, part(ord("B"), 300, 100))
            b.send(b"k")
            os._exit(0)
        b.close()
    c = socket.create_connection(("127.0.0.1", port))
    if mode == "mixed":
        rnd = random.Random(7)
        for i in range(20000):
            n = rnd.randint(1, 30000) if i % 10 == 0 else rnd.randint(1, 300)
            c.sendall(bytes([i % 251]) * n)
    elif mode == "fork-order":
        writes(c, part(ord("A"), 300, 100))
        pid = os.fork()
        if pid == 0:
            writes(c, part(ord("B"), 300, 100))
            os._exit(0)
        os.waitpid(pid, 0)
        writes(c, part(ord("C"), 300, 100))
    elif mode == "fork-turns":
        writes(c, part(ord("A"), 100, 100))
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        pid = os.fork()
        if pid == 0:
            for t in range(2):
                writes(c, part(ord("B"), 100, 100))
                os.write(w1, b"k")
                os.read(r2, 1)
            os._exit(0)
        for t in range(2):
            os.read(r1, 1)
            writes(c, part(ord("A"), 100, 100))
            os.write(w2, b"k")
        os.waitpid(pid, 0)
    elif mode == "thread-order":
        cv = threading.Condition()
        turn = [0]

        def worker(me):
            for t in range(10):
                with cv:
                    cv.wait_for(lambda: turn[0] % 2 == me)
                    writes(c, part(ord("a") + me, 50, 37 + t))
                    turn[0] += 1
                    cv.notify_all()
        ts = [threading.Thread(target=worker, args=(k,)) for k in (0, 1)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    elif mode == "pass-order":
        writes(c, part(ord("A"), 300, 100))
        socket.send_fds(a, [b"x"], [c.fileno()])
        a.recv(1)
        writes(c, part(ord("C"), 300, 100))
        os.waitpid(helper, 0)
    elif mode == "exec-order":
        writes(c, part(ord("A"), 300, 100))
        prog = ("import os,socket\ns=socket.socket(fileno=%d)\n"
                "for i in range(300): s.sendall(b'B'*100+b'%%06d'%%i)\ns.detach()\n" % c.fileno())
        subprocess.run([sys.executable, "-c", prog], pass_fds=[c.fileno()], check=True)
        writes(c, part(ord("C"), 300, 100))
    elif mode == "burst-poll":
        for rnd in range(2):
            writes(c, [bytes([rnd + 1]) * 64] * 500)
            time.sleep(3)
    elif mode == "more":
        writes(c, [b"m" * 64] * 199, socket.MSG_MORE)
        c.sendall(b"l" * 64)
        time.sleep(3)
    elif mode == "reader-gone":
        n = 0
        try:
            while n < 200000:
                c.send(b"g" * 64, socket.MSG_NOSIGNAL)
                n += 1
            print("writes never failed", file=sys.stderr)
        except (BrokenPipeError, ConnectionResetError):
            pass
        os._exit(0 if n < 200000 else 1)
    elif mode == "big-mixed":
        writes(c, part(ord("s"), 200, 50))
        c.sendall(bytes(range(256)) * 4096)
        writes(c, part(ord("t"), 200, 50))
        c.send(b"!", socket.MSG_OOB)
        writes(c, part(ord("u"), 200, 50))
        c.send(b"?", socket.MSG_OOB)
        writes(c, part(ord("v"), 200, 50))
    c.close()
    os._exit(0)


def drain(conn, sizes=(65536,)):
    got = bytearray()
    k = 0
    while True:
        b = conn.recv(sizes[k % len(sizes)])
        k += 1
        if not b:
            return bytes(got)
        got += b


def runs(data):
    """the order of the parts: tags in order of appearance, each run of a tag once"""
    seq = []
    for i in range(0, len(data), 106):
        t = chr(data[i])
        if not seq or seq[-1] != t:
            seq.append(t)
    return "".join(seq)


pid = os.fork()
if pid == 0:
    client()
conn, _ = srv.accept()
if mode == "mixed":
    d = drain(conn, (1, 13, 64, 4096, 65536))
    print(len(d), hashlib.sha256(d).hexdigest()[:16])
elif mode in ("fork-order", "pass-order", "exec-order", "fork-turns"):
    time.sleep(1.5)      # nothing read meanwhile: the run of A stays open while B and C come
    d = drain(conn)
    print(len(d), runs(d), hashlib.sha256(d).hexdigest()[:16])
elif mode == "thread-order":
    time.sleep(1)
    d = drain(conn)
    seq, i = [], 0
    for turn in range(20):
        size = 37 + turn // 2 + 6
        seq.append(chr(d[i]))
        i += 50 * size
    print(len(d), "".join(seq), hashlib.sha256(d).hexdigest()[:16])
elif mode == "burst-poll":
    out = []
    conn.setblocking(False)
    got, t0 = 0, time.monotonic()
    while got < 32000 and time.monotonic() - t0 < 2.5:
        p = select.poll()
        p.register(conn, select.POLLIN)
        if p.poll(200):
            try:
                got += len(conn.recv(7))
            except BlockingIOError:
                out.append("readable-but-eagain")
    out.append("poll=%d" % got)
    conn.setblocking(True)
    got, t0 = 0, time.monotonic()
    while got < 32000 and time.monotonic() - t0 < 5.5:   # (the second burst comes at 3 s)
        r, _, _ = select.select([conn], [], [], 0.2)
        if r:
            got += len(conn.recv(7))   # blocking: must not wait for the next burst
    out.append("select=%d" % got)
    print(" ".join(out))
elif mode == "more":
    got, t0 = 0, time.monotonic()
    conn.settimeout(2.5)
    try:
        while got < 200 * 64:
            b = conn.recv(65536)
            if not b:
                break
            got += len(b)
    except socket.timeout:
        pass
    print("bytes=%d prompt=%s" % (got, "yes" if time.monotonic() - t0 < 2 else "no"))
elif mode == "reader-gone":
    d = b""
    while len(d) < 1000:
        d += conn.recv(1000 - len(d))
    time.sleep(0.3)
    conn.close()
    _, st = os.waitpid(pid, 0)
    print("read=%d writer-failed=%s" % (len(d), "yes" if os.WEXITSTATUS(st) == 0 else "no"))
    sys.exit(0)
elif mode == "big-mixed":
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    d = drain(conn)
    print(len(d), hashlib.sha256(d).hexdigest()[:16])
os.waitpid(pid, 0)
