"""POST a pseudo-random body to the test Flask app and compare the sha256 it answers.

Usage: /usr/bin/python3 flask_client.py URL SIZE_BYTES
Prints "OK bytes=<n> sha256=<hex>" and exits 0 on a match; 1 otherwise.
"""
import hashlib
import random
import sys

import requests


def main():
    url, size = sys.argv[1], int(sys.argv[2])
    body = random.Random(12345).randbytes(size)
    want = "bytes=%d sha256=%s" % (size, hashlib.sha256(body).hexdigest())
    r = requests.post(url, data=body, timeout=120,
                      headers={"Content-Type": "application/octet-stream"})
    got = r.text.strip()
    if r.status_code != 200 or got != want:
        print("MISMATCH status=%d got '%s' want '%s'" % (r.status_code, got[:200], want),
              file=sys.stderr)
        return 1
    print("OK " + want)
    return 0


if __name__ == "__main__":
    sys.exit(main())
