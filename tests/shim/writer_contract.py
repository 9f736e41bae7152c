"""Writer-side behaviour at a full buffer, printed so that a run over plain TCP and a run under
the shim can be compared (one process holds both ends; the peer does not read unless said).

  writer_contract.py nb-bound       a non-blocking writer sends 1 MiB writes to a peer that
                                    does not read, until EAGAIN; then POLLOUT must stay off
  writer_contract.py both-write     both ends write 2 MiB (64 KiB writes, blocking), then read
                                    the other's 2 MiB: TCP buffers that much, so no deadlock
  writer_contract.py alarm-send     a blocking send of 16 MiB to a peer that does not read;
                                    SIGALRM after 0.3 s: the handler runs and send returns a
                                    partial count (Python's default: an interrupting handler)
  writer_contract.py alarm-copy     the same with the payload made first and SIGALRM after
                                    1 ms: the signal comes while the send is still copying
                                    (into the kernel's buffer, or into the region), before it
                                    waits; it must still end the wait
  writer_contract.py oob            'abc', then 'XY' with MSG_OOB, then 1 MiB: the reader
                                    gets 'abcX' in the stream, 'Y' as urgent data (select's
                                    exceptional set, recv(MSG_OOB)), SIOCATMARK at the mark,
                                    and the 1 MiB whole after it
  writer_contract.py oob-many       sendmsg(MSG_OOB) of 100 and of 1024 one-byte pieces: the
                                    stream, the urgent byte, then 1 MiB after it
  writer_contract.py oob-inline     the same with SO_OOBINLINE on the reader: 'abcX', the mark,
                                    then 'Ydef' and the 1 MiB in the stream, recv(MSG_OOB)
                                    EINVAL; and an urgent byte as a connection's first byte,
                                    SO_OOBINLINE on the connection or inherited from its
                                    listener (short first reads)
  writer_contract.py oob-twice      a second urgent byte sent before the reader reached the
                                    first (TCP leaves the first in the stream as data), with
                                    and without SO_OOBINLINE: the stream and the urgent byte
  writer_contract.py oob-marks      reads stop at the urgent mark (small reads with two urgent
                                    bytes queued, MSG_WAITALL); SIOCATMARK after the mark while
                                    payloads come from the region, and before a first urgent byte
  writer_contract.py cmsg           sendmsg() with a control message the kernel takes on TCP
                                    (SO_MARK, as root) and with one TCP ignores (SCM_RIGHTS):
                                    return values and the stream as over TCP
  writer_contract.py sndtimeo       SO_SNDTIMEO 0.3 s, a blocking 16 MiB send to a peer that
                                    does not read: a partial count within 2 s; then Python's
                                    own timeout (settimeout 0.3, sendall 16 MiB): TimeoutError
  writer_contract.py sndbuf-4k      SO_RCVBUF 4 KiB on the listener, SO_SNDBUF 4 KiB on the
                                    writer: a non-blocking 256 KiB send takes about 10 KB
                                    over TCP, so it must not take 256 KiB through the region
  writer_contract.py writev-many    blocking writev()/sendmsg() of many pieces: 1024 of one
                                    byte, 200 of 100, 1024 of 50, 1024 with every other one
                                    empty, 1024 of 1000 (above THRESHOLD): each returns the
                                    whole length, the stream is whole
Prints one line of key=value; byte counts that depend on the kernel's buffers are printed as
classes ("ok"/"over") against bounds, so plain and shim lines compare equal."""
import fcntl
import hashlib
import select
import signal
import socket
import struct
import sys
import threading
import time

MIB = 1 << 20
SIOCATMARK = 0x8905


def fresh_pair(opt=None, val=1):
    """A connected pair (client, accepted), nothing sent; opt: a SOL_SOCKET option set on
    the listener before listen() (accepted connections inherit it)."""
    ls = socket.socket()
    if opt is not None:
        ls.setsockopt(socket.SOL_SOCKET, opt, val)
    ls.bind(('127.0.0.1', 0))
    ls.listen(1)
    a = socket.create_connection(ls.getsockname())
    b, _ = ls.accept()
    ls.close()
    return a, b


def pair():
    a, b = fresh_pair()
    # one payload each way first, so an upgrade has happened in both directions
    a.sendall(b'x' * (1 << 17))
    got = 0
    while got < (1 << 17):
        got += len(b.recv(1 << 17))
    b.sendall(b'y' * (1 << 17))
    got = 0
    while got < (1 << 17):
        got += len(a.recv(1 << 17))
    return a, b


def nb_bound():
    a, b = pair()
    a.setblocking(False)
    chunk = b'z' * MIB
    sent = 0
    while sent < 256 * MIB:
        try:
            sent += a.send(chunk)
        except BlockingIOError:
            break
    p = select.poll()
    p.register(a.fileno(), select.POLLOUT)
    writable = bool(p.poll(200))
    # TCP takes a few MiB here; the shim may add at most its bound in the region (4 MiB)
    sys.stderr.write("nb-bound: %d bytes accepted\n" % sent)
    print("eagain=%d bound=%s pollout_after_eagain=%d" % (
        sent < 256 * MIB, "ok" if sent <= 24 * MIB else "over:%d" % sent, writable))


def both_write():
    a, b = pair()
    out = [None, None]
    data = [bytes([65 + i]) * (2 * MIB) for i in range(2)]

    def side(i, s, peer_data):
        for off in range(0, 2 * MIB, 65536):
            s.sendall(data[i][off:off + 65536])
        h = hashlib.sha256()
        got = 0
        while got < 2 * MIB:
            d = s.recv(1 << 20)
            if not d:
                break
            h.update(d)
            got += len(d)
        out[i] = h.hexdigest() == hashlib.sha256(peer_data).hexdigest()

    t = [threading.Thread(target=side, args=(0, a, data[1]), daemon=True),
         threading.Thread(target=side, args=(1, b, data[0]), daemon=True)]
    for x in t:
        x.start()
    end = time.monotonic() + 15
    for x in t:
        x.join(max(0.1, end - time.monotonic()))
    print("done=%d both_whole=%s" % (not any(x.is_alive() for x in t), out == [True, True]))


def sndbuf_4k():
    a, b = fresh_pair(socket.SO_RCVBUF, 4096)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    a.setblocking(False)
    data = b'w' * (256 * 1024 + 1)
    sent = 0
    try:
        while sent < len(data):
            sent += a.send(data[sent:])
    except BlockingIOError:
        pass
    sys.stderr.write("sndbuf-4k: %d bytes accepted\n" % sent)
    print("eagain=%d bound=%s" % (sent < len(data), "ok" if sent <= 65536 else "over:%d" % sent))


def alarm_send(delay=0.3):
    a, b = pair()
    ran = [0]
    data = b'q' * (16 * MIB)

    def handler(signum, frame):
        ran[0] += 1

    signal.signal(signal.SIGALRM, handler)
    signal.siginterrupt(signal.SIGALRM, True)
    signal.setitimer(signal.ITIMER_REAL, delay)
    t0 = time.monotonic()
    try:
        n = a.send(data)
        res = "partial" if 0 < n < 16 * MIB else "all" if n == 16 * MIB else "none"
    except InterruptedError:
        res = "eintr"
    took = time.monotonic() - t0
    print("result=%s handler_ran=%d within_2s=%d" % (res, ran[0], took < 2))


def read_exact(s, n):
    out = b''
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            break
        out += d
    return out


def oob():
    a, b = pair()
    big = bytes(range(256)) * 4096
    a.send(b'abc')
    n_oob = a.send(b'XY', socket.MSG_OOB)
    _, _, x = select.select([], [], [b], 5)
    normal = read_exact(b, 4)
    at_mark = fcntl.ioctl(b, SIOCATMARK, b'\0\0\0\0')
    urgent = b.recv(1, socket.MSG_OOB)
    a.sendall(big)
    rest = read_exact(b, len(big))
    print("sent_oob=%d except=%d normal=%r urgent=%r at_mark=%d big_ok=%d" % (
        n_oob, len(x), normal, urgent, int.from_bytes(at_mark, 'little'), rest == big))


def oob_many():
    """sendmsg(MSG_OOB) of 100 and of 1024 pieces: all but the last byte in the stream, the
    last one urgent (with more than 64 pieces the bytes went raw into the framed stream)"""
    a, b = pair()
    out = []
    for count in (100, 1024):
        parts = [bytes([0x41 + i % 26]) for i in range(count - 1)] + [b'U']
        n = a.sendmsg(parts, [], socket.MSG_OOB)
        _, _, x = select.select([], [], [b], 5)
        normal = read_exact(b, count - 1)
        urgent = b.recv(1, socket.MSG_OOB)
        big = bytes(range(256)) * 4096 + b'end%d' % count
        a.sendall(big)
        tail = read_exact(b, len(big))
        out.append("n%d=%d except=%d normal_ok=%d urgent=%r big_ok=%d" % (
            count, n, len(x), normal == b''.join(parts[:-1]), urgent, tail == big))
    print(" ".join(out))


def oob_inline():
    a, b = pair()
    big = bytes(range(256)) * 4096
    b.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    a.send(b'abc')
    a.send(b'XY', socket.MSG_OOB)
    a.send(b'def')
    a.sendall(big)
    head = read_exact(b, 4)              # a read stops at the mark: 'abcX'
    at_mark = fcntl.ioctl(b, SIOCATMARK, b'\0\0\0\0')
    peek = b.recv(8, socket.MSG_PEEK)   # at the mark: the urgent byte and what follows
    try:
        b.recv(1, socket.MSG_OOB)
        oob_err = 0
    except OSError as e:
        oob_err = e.errno                # EINVAL: the urgent byte is in the stream
    rest = read_exact(b, 4 + len(big))
    # an urgent byte as the very first byte of a connection, then a big payload
    c, d = fresh_pair()
    d.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    c.send(b'!', socket.MSG_OOB)
    c.sendall(big)
    first = read_exact(d, 1 + len(big))
    # the same with SO_OOBINLINE set on the listener before listen() (accepted connections
    # inherit it) and short first reads (1 byte, then 7)
    e, f = fresh_pair(socket.SO_OOBINLINE)
    e.send(b'!', socket.MSG_OOB)
    e.sendall(big)
    time.sleep(0.1)
    inh = f.recv(1) + f.recv(7)
    inh += read_exact(f, 1 + len(big) - len(inh))
    print("head=%r at_mark=%d peek=%r oob_err=%d rest_ok=%d first_ok=%d inherited_ok=%d" % (
        head, int.from_bytes(at_mark, 'little'), peek, oob_err, rest == b'Ydef' + big,
        first == b'!' + big, inh == b'!' + big))


def oob_twice():
    out = []
    big = bytes(range(256)) * 4096
    for inline in (0, 1):
        a, b = pair()
        if inline:
            b.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        a.sendall(big)
        a.send(b'ab', socket.MSG_OOB)    # 'b' urgent, then superseded by 'd' before any read
        a.send(b'cd', socket.MSG_OOB)
        a.sendall(big)
        a.close()
        time.sleep(0.2)
        got = b''
        urgent = b''
        while True:
            if not inline and not urgent:
                at = int.from_bytes(fcntl.ioctl(b, SIOCATMARK, b'\0\0\0\0'), 'little')
                if at:
                    urgent = b.recv(1, socket.MSG_OOB)
            d = b.recv(1 << 20)
            if not d:
                break
            got += d
        mid = got[len(big):len(got) - len(big)]
        out.append("inline=%d mid=%r whole=%d urgent=%r" % (
            inline, mid, got[:len(big)] == big and got[-len(big):] == big, urgent))
    print(" ".join(out))


def oob_marks():
    def nb_oob(s):
        s.setblocking(False)
        try:
            return s.recv(1, socket.MSG_OOB)
        except OSError as e:
            return 'E%d' % e.errno
        finally:
            s.setblocking(True)

    def mark(s):
        return int.from_bytes(fcntl.ioctl(s, SIOCATMARK, b'\0\0\0\0'), 'little')
    out = []
    # two urgent bytes queued, then small reads: each stops at the mark
    a, b = pair()
    a.sendall(b'hi')
    a.send(b'A', socket.MSG_OOB)
    a.send(b'B', socket.MSG_OOB)
    a.sendall(b'tail')
    time.sleep(0.3)
    out += [b.recv(100), b.recv(100)]
    # MSG_WAITALL stops at the mark too; the urgent byte is there for MSG_OOB
    a, b = pair()
    a.sendall(b'abc')
    a.send(b'X', socket.MSG_OOB)
    a.sendall(b'def')
    time.sleep(0.2)
    out += [b.recv(6, socket.MSG_WAITALL), nb_oob(b)]
    # past the mark the reader is past it, payloads from the region included
    big = bytes(range(256)) * 8192
    a, b = pair()

    def write():
        a.sendall(big)
        a.send(b'X', socket.MSG_OOB)
        a.sendall(big)
    t = threading.Thread(target=write)
    t.start()
    got = 0
    while got < len(big):
        got += len(b.recv(min(65536, len(big) - got)))
    time.sleep(0.3)
    out += [mark(b), nb_oob(b)]
    for _ in range(3):
        out += [len(read_exact(b, 65536)), mark(b)]
    t.join()
    # an urgent byte as a connection's first byte is at the mark before anything is read
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname())
    d, _ = ls.accept()
    c.send(b'!', socket.MSG_OOB)
    c.sendall(b'data')
    c.close()
    time.sleep(0.3)
    out += [mark(d), nb_oob(d), d.recv(100), mark(d)]
    print(" ".join(repr(x) for x in out))


def cmsg():
    a, b = pair()
    big = bytes(range(256)) * 4096
    r1 = a.sendmsg([b'hello'], [(socket.SOL_SOCKET, socket.SO_MARK, struct.pack('i', 7))])
    r2 = a.sendmsg([big], [(socket.SOL_SOCKET, socket.SO_MARK, struct.pack('i', 7))])
    try:
        r3 = a.sendmsg([b'never'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack('i', 0))])
    except OSError as e:
        r3 = 'errno=%d' % e.errno
    a.sendall(b'end')
    want = b'hello' + big + (b'never' if isinstance(r3, int) else b'') + b'end'
    got = read_exact(b, len(want))
    print("r1=%s r2=%s r3=%s stream_ok=%d" % (r1, r2 == len(big), r3, got == want))


def sndtimeo():
    a, b = pair()
    data = b'q' * (16 * MIB)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack('ll', 0, 300000))
    t0 = time.monotonic()
    try:
        n = a.send(data)
        res = "partial" if 0 < n < len(data) else "all" if n == len(data) else "none"
    except OSError as e:
        res = "errno=%d" % e.errno
    took = time.monotonic() - t0
    c, d = pair()
    c.settimeout(0.3)
    try:
        c.sendall(data)
        res2 = "all"
    except TimeoutError:
        res2 = "timeout"
    print("sndtimeo=%s within_2s=%d settimeout=%s" % (res, took < 2, res2))


def writev_many():
    import os
    a, b = pair()
    out = []
    want = b''
    got = []
    # groups below the pinned THRESHOLD go as inline frames (at most 63 pieces each), the
    # last through the region; empty pieces are skipped; a thread reads meanwhile
    groups = ((1024, 1), (200, 100), (1024, 50), (512, 0), (1024, 1000))
    total = sum(2 * (c * z + (c if z == 0 else 0)) for c, z in groups)
    t = threading.Thread(target=lambda: got.append(read_exact(b, total)))
    t.start()
    for count, size in groups:
        if size:
            parts = [bytes([(i * 7 + size) & 0xff]) * size for i in range(count)]
        else:        # empty pieces between one-byte ones
            parts = [b'' if i % 2 else bytes([i & 0xff]) for i in range(2 * count)]
        n = sum(len(p) for p in parts)
        r1 = os.writev(a.fileno(), parts)
        r2 = a.sendmsg(parts)
        want += b''.join(parts) * 2
        out.append("%dx%d=%s/%s" % (len(parts), size, r1 == n or r1, r2 == n or r2))
    t.join(20)
    print("%s stream_ok=%d" % (" ".join(out), bool(got) and got[0] == want))

if __name__ == "__main__":
    {"nb-bound": nb_bound, "both-write": both_write, "alarm-send": alarm_send,
     "alarm-copy": lambda: alarm_send(0.001), "oob": oob, "oob-inline": oob_inline,
     "oob-twice": oob_twice, "oob-many": oob_many, "oob-marks": oob_marks,
     "cmsg": cmsg,
     "sndtimeo": sndtimeo,
     "sndbuf-4k": sndbuf_4k, "writev-many": writev_many}[sys.argv[1]]()
