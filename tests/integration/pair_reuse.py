#!/usr/bin/python3
"""The same addresses and ports again, for t-pair-proof.sh: an earlier connection's entry in the
pair table (left there by a process that forked while it held the connection) must not decide
how a later connection with the same four addresses is read.

  pair_reuse.py fork-server PORTFILE N   accepts N connections, each served by a forked child:
                                         a banner first, then "response to " + the request
  pair_reuse.py server PORTFILE N        accepts N connections itself: reads a request,
                                         answers "response to " + it
  pair_reuse.py client PORT SPORT NAME [fork]
                                         binds source port SPORT, connects, (forks once and
                                         lets the child exit), sends "req NAME", prints
                                         "got LEN SHA256 FIRST-BYTES" of all it received
"""
import hashlib
import os
import socket
import sys


def listen(portfile):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', 0))
    ls.listen(8)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % ls.getsockname()[1])
    os.rename(portfile + '.tmp', portfile)
    return ls


def fork_server(portfile, n):
    ls = listen(portfile)
    for _ in range(n):
        c, _ = ls.accept()
        pid = os.fork()
        if pid == 0:
            ls.close()
            c.sendall(b'220 banner\r\n')
            c.sendall(b'response to ' + c.recv(100))
            c.close()
            os._exit(0)
        c.close()
        os.waitpid(pid, 0)


def server(portfile, n):
    ls = listen(portfile)
    for _ in range(n):
        c, _ = ls.accept()
        try:
            c.sendall(b'response to ' + c.recv(100))
        except OSError as e:
            print('server error', e, flush=True)
        c.close()


def client(port, sport, name, fork):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', sport))
    s.connect(('127.0.0.1', port))
    if fork:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    s.sendall(b'req ' + name.encode())
    got = b''
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
    except OSError as e:
        print('client error', e)
    s.close()
    print('got', len(got), hashlib.sha256(got).hexdigest()[:16], repr(got[:24]))


def main():
    if sys.argv[1] == 'fork-server':
        fork_server(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == 'server':
        server(sys.argv[2], int(sys.argv[3]))
    else:
        client(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], len(sys.argv) > 5)


if __name__ == '__main__':
    main()
