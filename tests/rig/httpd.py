#!/usr/bin/env python3
"""Speed-test / "internet" HTTP server for the rig (runs in jm-vps and in each jm-isp<k>).

Serves both speed-test URL styles the product's defaults use:
  GET  /__down?bytes=N   N bytes (Cloudflare style), N <= 1 GiB
                         (&rate=B: rig-only pacing at B bytes/s, used by `rig.sh traffic`)
  POST /__up             reads and discards the body (Content-Length or chunked), answers JSON
  GET  /<N>mb.test       N MiB (CacheFly style: 1mb.test, 10mb.test, 25mb.test, 100mb.test ...)
  GET  /ip               the client's address as seen here (a "what is my IP" service)
  GET  /                 a one-line banner naming this server
HEAD works for every GET. Data is streamed, never held in memory.

usage: httpd.py [--bind 0.0.0.0] [--port 80] [--name NAME] [--pidfile F]
"""
import argparse
import json
import os
import re
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BYTES = 1 << 30
CHUNK = b"\0" * 65536
NAME = "jm-rig"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jm-rig-httpd/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s %s\n" % (time.strftime("%H:%M:%S"), self.client_address[0], fmt % args))

    def small(self, code, body, ctype="text/plain; charset=utf-8"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def stream(self, n, rate=0):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command == "HEAD":
            return
        left = n
        step = len(CHUNK)
        if rate > 0:  # rig-only pacing, so generated traffic is steady on the wire, not one burst
            step = max(1024, min(step, rate // 20))
        t0 = time.monotonic()
        sent = 0
        while left > 0:
            k = min(left, step)
            self.wfile.write(CHUNK[:k])
            left -= k
            sent += k
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)

    def do_GET(self):
        url = urlsplit(self.path)
        path = url.path
        q = parse_qs(url.query)
        try:
            rate = int(q.get("rate", ["0"])[0])
        except ValueError:
            return self.small(400, "bad rate\n")
        if path == "/__down":
            try:
                n = int(q.get("bytes", ["0"])[0])
            except ValueError:
                return self.small(400, "bad bytes\n")
            if n < 0 or n > MAX_BYTES:
                return self.small(400, "bytes out of range\n")
            return self.stream(n, rate)
        m = re.fullmatch(r"/(\d{1,4})mb\.test", path)
        if m:
            n = int(m.group(1)) << 20
            if n == 0 or n > MAX_BYTES:
                return self.small(404, "no such size\n")
            return self.stream(n, rate)
        if path == "/ip":
            return self.small(200, self.client_address[0] + "\n")
        if path == "/":
            return self.small(200, f"{NAME}: rig HTTP server (/__down?bytes=N, POST /__up, /Nmb.test, /ip)\n")
        return self.small(404, "not found\n")

    do_HEAD = do_GET

    def do_POST(self):
        if urlsplit(self.path).path != "/__up":
            return self.small(404, "not found\n")
        t0 = time.monotonic()
        total = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(100)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    got = self.rfile.read(min(left, 65536))
                    if not got:
                        return
                    left -= len(got)
                    total += len(got)
                self.rfile.readline(10)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            if left > MAX_BYTES:
                self.close_connection = True
                return self.small(413, "too large\n")
            while left > 0:
                got = self.rfile.read(min(left, 65536))
                if not got:
                    return
                left -= len(got)
                total += len(got)
        dt = time.monotonic() - t0
        self.small(200, json.dumps({"bytes": total, "seconds": round(dt, 6)}) + "\n", "application/json")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    global NAME
    p = argparse.ArgumentParser()
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--name", default="jm-rig")
    p.add_argument("--pidfile")
    a = p.parse_args()
    NAME = a.name
    try:
        os.setsid()
    except OSError:
        pass
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = Server((a.bind, a.port), Handler)
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(a.pidfile + ".tmp", a.pidfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
