"""Another local user plants connection state for a socket handed over with SCM_RIGHTS.

A client without the shim asks a dispatcher for a reply; the dispatcher accepts and passes
the connection to a worker under the shim (SCM_RIGHTS), which sends 64 KiB and closes. Before
the hand-over, a process of another uid (setpriv) writes a file at the predictable
hand-over path (SOCKET_DIR/.faasflow_handoff_<dev>_<ino>) holding the state of a genuinely
upgraded connection, or makes a FIFO there. The client must get exactly the 64 KiB, the
worker must not block.

  handoff_plant.py run CASE       CASE: plain-dispatcher | shim-dispatcher | fifo
      (environment: FF_TEST_PRELOAD = the LD_PRELOAD value of the shim, FAASFLOW_CONFIG,
       FF_TEST_SOCKDIR = SOCKET_DIR, FF_TEST_TMP = a scratch directory, FF_TEST_UID = the
       other user's uid); prints "CASE bytes=N sha=HEX want_sha=HEX" and exits 1 unless equal
The other roles are this script run by itself under the shim or not."""
import array
import hashlib
import os
import socket
import subprocess
import sys
import time

PY = sys.executable
PAYLOAD = bytes((i * 7 + 3) & 0xFF for i in range(65536))


def env(shim):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    if shim:
        e["LD_PRELOAD"] = os.environ["FF_TEST_PRELOAD"]
    return e


def wait_file(path, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return open(path).read()
        time.sleep(0.01)
    raise SystemExit("timed out waiting for " + path)


def handoff_name(fd):
    st = os.fstat(fd)
    return os.path.join(os.environ["FF_TEST_SOCKDIR"],
                        ".faasflow_handoff_%x_%x" % (st.st_dev, st.st_ino))


def send_fd(unix_path, fd):
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect(unix_path)
    u.sendmsg([b"F"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    u.close()


def recv_fd(listener):
    c, _ = listener.accept()
    fds = array.array("i")
    msg, anc, _, _ = c.recvmsg(1, socket.CMSG_LEN(fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    c.close()
    return fds[0]


def role_capture(tmp):
    """Under the shim: an upgraded connection (both directions), passed to a process without
    the shim, leaves its state file behind; print that file's path."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    a = socket.create_connection(ls.getsockname())
    b, _ = ls.accept()
    a.sendall(b"x" * (1 << 20))
    got = 0
    while got < 1 << 20:
        got += len(b.recv(1 << 20))
    b.sendall(b"y" * (1 << 20))
    got = 0
    while got < 1 << 20:
        got += len(a.recv(1 << 20))
    path = handoff_name(a.fileno())
    unix_path = os.path.join(tmp, "capture.sock")
    if os.path.exists(unix_path):
        os.unlink(unix_path)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(unix_path)
    u.listen(1)
    taker = subprocess.Popen([PY, __file__, "take", unix_path], env=env(False))
    c, _ = u.accept()
    c.sendmsg([b"F"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [a.fileno()]))])
    c.close()
    taker.wait(10)
    print(path, flush=True)


def role_take(unix_path):
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect(unix_path)
    fds = array.array("i")
    u.recvmsg(1, socket.CMSG_LEN(fds.itemsize))


def role_dispatcher(tmp, unix_path):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    open(os.path.join(tmp, "port"), "w").write(str(ls.getsockname()[1]))
    c, _ = ls.accept()
    req = c.recv(16)
    assert req == b"GET\n", req
    open(os.path.join(tmp, "target"), "w").write(handoff_name(c.fileno()))
    wait_file(os.path.join(tmp, "go"))
    send_fd(unix_path, c.fileno())
    c.close()


def role_worker(unix_path):
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(unix_path)
    u.listen(1)
    open(unix_path + ".ready", "w").write("1")
    fd = recv_fd(u)
    s = socket.socket(fileno=fd)
    s.sendall(PAYLOAD)
    s.close()


def run(case):
    tmp = os.environ["FF_TEST_TMP"]
    uid = os.environ["FF_TEST_UID"]
    for f in ("port", "target", "go"):
        if os.path.exists(os.path.join(tmp, f)):
            os.unlink(os.path.join(tmp, f))
    # 1. a genuine upgraded state, the attacker's material (the format is public)
    state_path = subprocess.run([PY, __file__, "capture", tmp], env=env(True), check=True,
                                capture_output=True, text=True, timeout=60).stdout.strip()
    content = open(state_path, "rb").read()
    os.unlink(state_path)
    # 2. worker (shim), dispatcher (shim or not), client (no shim)
    unix_path = os.path.join(tmp, "worker-%s.sock" % case)
    worker = subprocess.Popen([PY, __file__, "worker", unix_path], env=env(True))
    wait_file(unix_path + ".ready")
    disp = subprocess.Popen([PY, __file__, "dispatcher", tmp, unix_path],
                            env=env(case == "shim-dispatcher"))
    port = int(wait_file(os.path.join(tmp, "port")))
    cli = socket.create_connection(("127.0.0.1", port))
    cli.sendall(b"GET\n")
    target = wait_file(os.path.join(tmp, "target"))
    # 3. the other user plants at the predictable path
    if case == "fifo":
        plant = "import os, sys; os.mkfifo(sys.argv[1], 0o666)"
    else:
        plant = "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))"
    subprocess.run(["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", PY, "-c",
                    plant, target, content.hex()], check=True, env=env(False), timeout=10)
    open(os.path.join(tmp, "go"), "w").write("1")
    # 4. the client reads to EOF
    cli.settimeout(15)
    got = b""
    try:
        while True:
            d = cli.recv(1 << 20)
            if not d:
                break
            got += d
    except socket.timeout:
        pass
    for p in (worker, disp):
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            got += b"<worker or dispatcher hung>"
    if os.path.lexists(target):
        os.unlink(target)
    want = hashlib.sha256(PAYLOAD).hexdigest()
    sha = hashlib.sha256(got).hexdigest()
    print("%s bytes=%d sha=%s want_sha=%s" % (case, len(got), sha, want), flush=True)
    if sha != want:
        sys.exit(1)


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "run":
        run(sys.argv[2])
    elif role == "capture":
        role_capture(sys.argv[2])
    elif role == "take":
        role_take(sys.argv[2])
    elif role == "dispatcher":
        role_dispatcher(sys.argv[2], sys.argv[3])
    elif role == "worker":
        role_worker(sys.argv[2])
    else:
        sys.exit("unknown role " + role)
