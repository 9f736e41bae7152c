#!/usr/bin/python3
"""The compatibility matrix's echo protocol in Python (see lib.sh).
echo.py server PORT [asyncio]   -- reads each connection to EOF, prints its sha256, echoes it
echo.py client HOST PORT FILE [asyncio] -- sends FILE, shuts down writing, hashes the echo
Writes go out in blocks of up to 1 MiB (sendall / StreamWriter.write)."""
import asyncio
import hashlib
import socket
import sys
import threading

BLOCK = 1 << 20


def report(data):
    print("RECV bytes=%d sha256=%s" % (len(data), hashlib.sha256(data).hexdigest()), flush=True)


def serve_conn(c):
    with c:
        buf = bytearray()
        while True:
            b = c.recv(BLOCK)
            if not b:
                break
            buf += b
        report(buf)
        mv = memoryview(buf)
        for i in range(0, len(mv), BLOCK):
            c.sendall(mv[i:i + BLOCK])


def server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_conn, args=(c,), daemon=True).start()


def client(host, port, path):
    data = open(path, "rb").read()
    with socket.create_connection((host, port)) as c:
        mv = memoryview(data)
        for i in range(0, len(mv), BLOCK):
            c.sendall(mv[i:i + BLOCK])
        c.shutdown(socket.SHUT_WR)
        buf = bytearray()
        while True:
            b = c.recv(BLOCK)
            if not b:
                break
            buf += b
    report(buf)


async def a_conn(reader, writer):
    data = await reader.read()  # to EOF
    report(data)
    for i in range(0, len(data), BLOCK):
        writer.write(data[i:i + BLOCK])
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def a_server(port):
    srv = await asyncio.start_server(a_conn, "127.0.0.1", port, limit=BLOCK)
    async with srv:
        await srv.serve_forever()


async def a_client(host, port, path):
    data = open(path, "rb").read()
    reader, writer = await asyncio.open_connection(host, port, limit=BLOCK)
    for i in range(0, len(data), BLOCK):
        writer.write(data[i:i + BLOCK])
        await writer.drain()
    writer.write_eof()
    got = await reader.read()
    report(got)
    writer.close()
    await writer.wait_closed()


if __name__ == "__main__":
    aio = "asyncio" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "asyncio"]
    if args[0] == "server":
        if aio:
            asyncio.run(a_server(int(args[1])))
        else:
            server(int(args[1]))
    else:
        if aio:
            asyncio.run(a_client(args[1], int(args[2]), args[3]))
        else:
            client(args[1], int(args[2]), args[3])
