"""Spawning next to upgraded connections, printed so that a plain run and a shimmed run compare
line by line. subprocess uses vfork() here (no preexec_fn).

  spawn_contract.py stdio   a connection's far end becomes a child's stdin and stdout
                            (subprocess.run(stdin=sock, stdout=sock)): the child reads the
                            3 MiB sent before the spawn, answers with its sha256 and 2 MiB of
                            its own; the parent checks both
  spawn_contract.py posix_spawn
                            the same with os.posix_spawn() and file actions that dup2 the
                            connection onto the child's fds 0 and 1 (they run inside libc,
                            in the child: the shim sees only the actions being added)
  spawn_contract.py many    50 children of /bin/true (each closes every inherited fd before
                            exec), then the parent's own connection still carries 4 MiB both
                            ways, whole"""
import hashlib
import subprocess
import sys
import threading

from writer_contract import pair, read_exact   # an upgraded pair in one process

MIB = 1 << 20
CHILD = r'''
import hashlib, os, sys
n = int(sys.argv[1])
h = hashlib.sha256()
got = 0
while got < n:
    d = os.read(0, n - got)
    if not d:
        break
    h.update(d)
    got += len(d)
out = (h.hexdigest() + "\n").encode() + bytes(range(256)) * (2 * 4096)
v = memoryview(out)
while v:
    v = v[os.write(1, v):]
'''


def stdio():
    a, b = pair()
    data = bytes(range(251)) * ((3 * MIB) // 251)
    a.sendall(data)
    r = subprocess.run([sys.executable, "-c", CHILD, str(len(data))], stdin=b, stdout=b,
                       timeout=60)
    line = b''
    while not line.endswith(b'\n'):
        line += a.recv(1)
    rest = read_exact(a, 2 * MIB)
    print("child_rc=%d sha_ok=%d back_ok=%d" % (
        r.returncode, line.strip().decode() == hashlib.sha256(data).hexdigest(),
        rest == bytes(range(256)) * (2 * 4096)))


def posix_spawn():
    import os
    a, b = pair()
    data = bytes(range(247)) * ((3 * MIB) // 247)
    a.sendall(data)
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", CHILD, str(len(data))],
                         os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, b.fileno(), 0),
                                       (os.POSIX_SPAWN_DUP2, b.fileno(), 1)])
    line = b''
    while not line.endswith(b'\n') and len(line) < 200:
        d = a.recv(1)
        if not d:
            break
        line += d
    rest = read_exact(a, 2 * MIB)
    _, status = os.waitpid(pid, 0)
    print("child_rc=%d sha_ok=%d back_ok=%d" % (
        os.waitstatus_to_exitcode(status), line.strip().decode(errors="replace") ==
        hashlib.sha256(data).hexdigest(), rest == bytes(range(256)) * (2 * 4096)))


def many():
    a, b = pair()
    rcs = set(subprocess.run(["/bin/true"]).returncode for _ in range(50))
    data = bytes(range(253)) * ((4 * MIB) // 253)
    res = {}
    t = threading.Thread(target=lambda: res.update(got=read_exact(b, len(data))))
    t.start()
    a.sendall(data)
    t.join()
    got = res.get('got')
    t = threading.Thread(target=lambda: res.update(back=read_exact(a, len(data))))
    t.start()
    b.sendall(data)
    t.join()
    back = res.get('back')
    print("rcs=%s a_to_b=%d b_to_a=%d" % (sorted(rcs), got == data, back == data))


if __name__ == "__main__":
    {"stdio": stdio, "posix_spawn": posix_spawn, "many": many}[sys.argv[1]]()
