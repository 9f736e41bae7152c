#!/usr/bin/python3
"""Request/response peer for t-spin.sh: a blocking socket server and client written the way
ordinary Python code is (no shim awareness), to show how the shim's waits behave.

Wire format: each request is a 9-byte header (payload size u32, reply delay in us u32, last
u8), the payload; the reply is the payload's sha256 (32 bytes), so the client checks every
request's bytes end to end. Both ends also print a running hash over all payloads.

server: prints "RECV bytes=N sha256=H" at the end, and "ACCEPT_IDLE wall_ms=W cpu_ms=C" for
each accept() that waited over a second (its own CPU time during that wait).
client: runs phases, prints "SENT bytes=N sha256=H", "WAIT wall_ms=W cpu_ms=C" for each
delayed reply, "RR n=N median_ms=M sleeps=S" for each rr phase (request sent to reply read;
S: the client's voluntary context switches, i.e. waits that slept),
"SIGNALS n=K" when a timer signal was set up. Sockets keep Nagle on, as Python's do.
  conn:N:SIZE        N new connections, one SIZE-byte request each
  rr:N:S1,S2,...     one connection, N requests cycling through the sizes
  rr:N:S1,...:US     the same, each answered US microseconds after it arrived
  wait:MS            one connection, one 64-byte request the server answers after MS
  idle:MS            sleep MS (the server sits in accept)
alarms: one process, signals interrupting its blocking accept() and recv() (see alarms()).
"""
import argparse
import hashlib
import os
import resource
import signal
import socket
import struct
import sys
import threading
import time

HDR = struct.Struct("<IIB")


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return int((r.ru_utime + r.ru_stime) * 1000)


def recv_exact(s, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = s.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError("peer closed after %d of %d bytes" % (got, n))
        got += k
    return bytes(buf)


def serve(args):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    total = hashlib.sha256()
    nbytes = 0
    while True:
        w0, c0 = time.monotonic(), cpu_ms()
        c, _ = ls.accept()
        w1, c1 = time.monotonic(), cpu_ms()
        if w1 - w0 > 1.0:
            print("ACCEPT_IDLE wall_ms=%d cpu_ms=%d" % ((w1 - w0) * 1000, c1 - c0), flush=True)
        with c:
            while True:
                try:
                    size, delay, last = HDR.unpack(recv_exact(c, HDR.size))
                except EOFError:
                    break
                payload = recv_exact(c, size)
                total.update(payload)
                nbytes += size
                if delay >= 10000:
                    time.sleep(delay / 1e6)
                elif delay:
                    # a short delay is spent running: a sleep's timer slack would make it
                    # 50-100 us longer than asked
                    end = time.perf_counter() + delay / 1e6
                    while time.perf_counter() < end:
                        pass
                c.sendall(hashlib.sha256(payload).digest())
                if last == 2:
                    print("RECV bytes=%d sha256=%s" % (nbytes, total.hexdigest()), flush=True)
                    return 0
                if last:
                    break


class Client:
    def __init__(self):
        self.total = hashlib.sha256()
        self.nbytes = 0
        self.seq = 0

    def payload(self, size):
        self.seq += 1
        seed = hashlib.sha256(b"%d" % self.seq).digest()
        return (seed * (size // 32 + 1))[:size]

    def request(self, s, size, delay=0, last=0):
        p = self.payload(size)
        s.sendall(HDR.pack(size, delay, last) + p)
        self.total.update(p)
        self.nbytes += size
        w0, c0 = time.monotonic(), cpu_ms()
        reply = recv_exact(s, 32)
        w1, c1 = time.monotonic(), cpu_ms()
        if reply != hashlib.sha256(p).digest():
            raise SystemExit("reply to request %d (%d bytes) does not match its payload"
                             % (self.seq, size))
        return (w1 - w0) * 1000, c1 - c0


def run_client(args):
    fired = [0]
    if args.itimer_us:
        def on_alarm(signum, frame):
            fired[0] += 1
        signal.signal(signal.SIGALRM, on_alarm)
        if args.restart:
            signal.siginterrupt(signal.SIGALRM, False)
        signal.setitimer(signal.ITIMER_REAL, args.itimer_us / 1e6, args.itimer_us / 1e6)
    cl = Client()
    addr = ("127.0.0.1", args.port)
    for ph in args.phases:
        kind, _, rest = ph.partition(":")
        if kind == "conn":
            n, size = (int(x) for x in rest.split(":"))
            for _ in range(n):
                with socket.create_connection(addr) as s:
                    cl.request(s, size, last=1)
        elif kind == "rr":
            n, sizes, *us = rest.split(":")
            sizes = [int(x) for x in sizes.split(",")]
            us = int(us[0]) if us else 0
            times = []
            csw0 = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
            with socket.create_connection(addr) as s:
                for i in range(int(n)):
                    t0 = time.monotonic()
                    cl.request(s, sizes[i % len(sizes)], delay=us, last=int(i + 1 == int(n)))
                    times.append((time.monotonic() - t0) * 1000)
            times.sort()
            csw = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw - csw0
            print("RR n=%d median_ms=%.3f sleeps=%d" % (len(times), times[len(times) // 2], csw),
                  flush=True)
        elif kind == "wait":
            with socket.create_connection(addr) as s:
                wall, cpu = cl.request(s, 64, delay=int(rest) * 1000, last=1)
            print("WAIT wall_ms=%d cpu_ms=%d" % (wall, cpu), flush=True)
        elif kind == "idle":
            time.sleep(int(rest) / 1000.0)
        else:
            raise SystemExit("unknown phase %r (conn:N:SIZE, rr:N:SIZES, wait:MS, idle:MS)" % ph)
    if args.itimer_us:
        signal.setitimer(signal.ITIMER_REAL, 0)
    with socket.create_connection(addr) as s:
        cl.request(s, 1, last=2)
    print("SENT bytes=%d sha256=%s" % (cl.nbytes, cl.total.hexdigest()), flush=True)
    if args.itimer_us:
        print("SIGNALS n=%d" % fired[0], flush=True)
    return 0


class Interrupted(Exception):
    pass


def alarms(args):
    """Blocking accept() on a shim listener and recv() on an upgraded connection that nothing
    will ever satisfy, each interrupted by a signal another thread sends 2-5 ms after the call
    began (past the shim's brief poll, inside the blocking system call). Python's handler
    does not restart calls: each call must end with the handler's exception. With SA_RESTART
    a handler that only counts must not end it: the call goes on until the byte the peer
    sends 20 ms later. Then the application's TCP_NODELAY, set after a payload, must stay set.
    Prints "ALARMS accept=N recv=N restarted=N fired=N nodelay=1" or exits non-zero."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    peer = socket.create_connection(ls.getsockname())
    conn, _ = ls.accept()
    peer.sendall(b"x" * 1048576)           # upgrade both directions: hello + a slot payload
    recv_exact(conn, 1048576)
    conn.sendall(b"y" * 1048576)
    recv_exact(peer, 1048576)
    main_id = threading.get_ident()
    fired = [0]

    def raising(signum, frame):
        raise Interrupted()

    def counting(signum, frame):
        fired[0] += 1

    def later(i, fn):
        t = threading.Timer((2 + i % 4) / 1000.0, fn)
        t.start()
        return t

    def kick():
        signal.pthread_kill(main_id, signal.SIGALRM)

    n = args.alarms
    got = {"accept": 0, "recv": 0, "restarted": 0}
    signal.signal(signal.SIGALRM, raising)
    for i in range(n):
        for what, call in (("accept", ls.accept), ("recv", lambda: peer.recv(64))):
            while True:
                # a loaded machine may take longer than the 2-5 ms to start the timer
                # thread: a signal that comes before the call began is no test of it, so
                # that round is done again
                started = False
                t = None
                try:
                    t = later(i, kick)
                    started = True
                    call()
                    raise SystemExit("%s returned without the signal" % what)
                except Interrupted:
                    if started:
                        got[what] += 1
                if t:
                    t.join()
                if started:
                    break
    signal.signal(signal.SIGALRM, counting)
    signal.siginterrupt(signal.SIGALRM, False)
    for i in range(n):
        t = later(i, kick)
        u = threading.Timer(0.02, lambda: conn.sendall(b"z"))
        u.start()
        if peer.recv(64) != b"z":
            raise SystemExit("the restarted recv got the wrong byte")
        t.join()
        u.join()
        got["restarted"] += 1
    # The application's TCP_NODELAY stays as it set it: a payload (a doorbell the shim pushed
    # past Nagle), then TCP_NODELAY on, then a small write
    signal.setitimer(signal.ITIMER_REAL, 0)
    peer.sendall(b"p" * 1048576)
    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer.sendall(b"0123456789")
    recv_exact(conn, 1048576 + 10)
    nodelay = peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    print("ALARMS accept=%d recv=%d restarted=%d fired=%d nodelay=%d" % (
        got["accept"], got["recv"], got["restarted"], fired[0], nodelay), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["server", "client", "alarms"])
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int)
    ap.add_argument("--itimer-us", type=int, default=0)
    ap.add_argument("--restart", action="store_true", help="SA_RESTART for the timer signal")
    ap.add_argument("--alarms", type=int, default=40, help="rounds of the alarms role")
    ap.add_argument("phases", nargs="*")
    args = ap.parse_intermixed_args()
    if args.role == "alarms":
        return alarms(args)
    return serve(args) if args.role == "server" else run_client(args)


if __name__ == "__main__":
    sys.exit(main())
