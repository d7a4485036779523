#!/usr/bin/env python3
"""Tiny tun-over-MPTCP tunnel: the rig's stand-in for OMR's VPN (glorytun TCP / OpenVPN TCP).

The kernel here has no ipip/gre/wireguard driver, so like the real OMR VPNs this is a user-space
daemon attached to a tun device (`tun0`, created beforehand with `ip tuntap add dev tun0 mode tun`).
IP packets read from tun0 are sent, framed with a 2-byte length, over one MPTCP stream between
the router (client) and the VPS (server). With the router's MPTCP endpoints (subflow fullmesh on
lan1/lan2, backup on lan3) the kernel opens real subflows over every WAN, so `ss -Mni` in jm-router
shows an MPTCP connection with subflows, as on an OMR box.

If the daemon stops, tun0 loses its carrier (NO-CARRIER): the "VPN is down" case.

usage: tund.py server --tun tun0 --listen ADDR:PORT [--pidfile F]
       tund.py client --tun tun0 --connect ADDR:PORT [--pidfile F]
"""
import argparse
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def stream_socket():
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    except OSError:
        log("MPTCP socket unavailable, falling back to TCP")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    return s


def hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


class Link:
    """One framed stream; pumps packets between tun fd and the socket."""

    def __init__(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sock = sock
        self.rbuf = b""
        self.wbuf = b""

    def send_packet(self, pkt):
        if len(self.wbuf) > 4 * 1024 * 1024:
            return  # congested: drop, as a full tunnel queue would
        self.wbuf += struct.pack("!H", len(pkt)) + pkt

    def flush(self):
        if self.wbuf:
            try:
                n = self.sock.send(self.wbuf)
                self.wbuf = self.wbuf[n:]
            except BlockingIOError:
                pass

    def read_packets(self):
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("peer closed")
        self.rbuf += data
        out = []
        while len(self.rbuf) >= 2:
            (n,) = struct.unpack("!H", self.rbuf[:2])
            if len(self.rbuf) < 2 + n:
                break
            out.append(self.rbuf[2 : 2 + n])
            self.rbuf = self.rbuf[2 + n :]
        return out


def pump(tun, link, listener=None):
    """Run until the link fails. Returns a new accepted socket if the listener gets one."""
    while True:
        rl = [tun, link.sock] + ([listener] if listener else [])
        wl = [link.sock] if link.wbuf else []
        r, w, _ = select.select(rl, wl, [], 5)
        if listener is not None and listener in r:
            conn, addr = listener.accept()
            log(f"new client {addr}, replacing the old one")
            return conn
        if tun in r:
            for _ in range(64):
                try:
                    link.send_packet(os.read(tun, 65535))
                except BlockingIOError:
                    break
        if link.sock in r:
            for pkt in link.read_packets():
                try:
                    os.write(tun, pkt)
                except OSError:
                    pass
        link.flush()


def drain(tun, timeout, extra=None):
    """Discard tun packets while no link exists; return early if `extra` becomes readable."""
    r, _, _ = select.select([tun] + ([extra] if extra else []), [], [], timeout)
    if tun in r:
        try:
            while True:
                os.read(tun, 65535)
        except BlockingIOError:
            pass
    return extra is not None and extra in r


def run_server(args):
    tun = open_tun(args.tun)
    lst = stream_socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(hostport(args.listen))
    lst.listen(4)
    log(f"listening on {args.listen}, tun {args.tun}")
    conn = None
    while True:
        if conn is None:
            if drain(tun, 5, lst):
                conn, addr = lst.accept()
                log(f"client {addr}")
            continue
        try:
            newconn = pump(tun, Link(conn), lst)
            conn.close()
            conn = newconn
        except (ConnectionError, OSError) as e:
            log(f"client lost: {e}")
            conn.close()
            conn = None


def run_client(args):
    tun = open_tun(args.tun)
    target = hostport(args.connect)
    log(f"tunnel {args.tun} -> {args.connect}")
    while True:
        s = stream_socket()
        s.settimeout(3)
        try:
            s.connect(target)
        except OSError as e:
            s.close()
            log(f"connect failed: {e}; retrying")
            drain(tun, 1)
            continue
        log("connected")
        try:
            pump(tun, Link(s))
        except (ConnectionError, OSError) as e:
            log(f"link lost: {e}; reconnecting")
        s.close()
        drain(tun, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--tun", default="tun0")
    p.add_argument("--listen")
    p.add_argument("--connect")
    p.add_argument("--pidfile")
    args = p.parse_args()
    try:
        os.setsid()
    except OSError:
        pass
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pidfile + ".tmp", args.pidfile)
    if args.mode == "server":
        run_server(args)
    else:
        run_client(args)


if __name__ == "__main__":
    main()
