"""An IPv6-only wildcard listener under the shim ([::]:P with IPV6_V6ONLY, nginx's default)
and a plain server on 127.0.0.1:P: a client under the shim connecting to 127.0.0.1:P reaches
the plain server, which must see exactly the client's bytes (no hello, no frame).

  v6only_case.py listen6 PORT_FILE   (under the shim) bind [::]:0 with IPV6_V6ONLY, write the
                                     port, wait to be killed
  v6only_case.py plain4 PORT         (no shim) 127.0.0.1:PORT: read one connection to EOF,
                                     print "bytes=N sha=HEX"
  v6only_case.py send PORT           (under the shim) send 4 MiB to 127.0.0.1:PORT, print
                                     "sent=N sha=HEX"
"""
import hashlib
import socket
import sys
import time

DATA = bytes((i * 13 + 5) & 0xFF for i in range(1 << 20)) * 4

role = sys.argv[1]
if role == "listen6":
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::", 0))
    s.listen(4)
    open(sys.argv[2], "w").write(str(s.getsockname()[1]))
    time.sleep(120)
elif role == "plain4":
    s = socket.socket()
    s.bind(("127.0.0.1", int(sys.argv[2])))
    s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    print("bytes=%d sha=%s" % (n, h.hexdigest()), flush=True)
elif role == "send":
    c = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=30)
    c.sendall(DATA)
    c.close()
    print("bytes=%d sha=%s" % (len(DATA), hashlib.sha256(DATA).hexdigest()), flush=True)
