"""A Flask app for the integration tests: POST /upload answers the sha256 of the body.

Usage: /usr/bin/python3 flask_app.py PORT [HOST]
"""
import hashlib
import logging
import sys

from flask import Flask, request

app = Flask(__name__)


@app.route("/upload", methods=["POST"])
def upload():
    body = request.get_data(cache=False)
    return "bytes=%d sha256=%s\n" % (len(body), hashlib.sha256(body).hexdigest())


@app.route("/ping")
def ping():
    return "pong\n"


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    app.run(host=host, port=port, threaded=False, use_reloader=False)
