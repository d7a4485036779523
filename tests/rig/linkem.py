#!/usr/bin/env python3
"""Link emulation for one rig WAN: delay and loss of ICMP echo requests entering an ISP namespace.

This kernel has no netem qdisc (tests/rig/README.md), so the rig emulates `tc netem delay D loss P`
on the ISP side of a WAN link in user space: an iptables NFQUEUE rule (mangle PREROUTING,
`-i router -p icmp --icmp-type echo-request`, with --queue-bypass so traffic passes if this
daemon is gone) hands each echo request that arrives from the router to this daemon, which drops
it with probability P and otherwise accepts it after D ms. Echo requests to the ISP's gateway
address and to anything beyond (the VPS, 1.1.1.1) are both covered, so every ping through the
link gets the link's delay and loss, and nothing else (TCP, UDP) is touched.

Contract mimicked: netem's delay (a constant, no jitter) and loss (independent per packet) on the
link's ingress, for ICMP echo only.

usage: linkem.py --queue N --delay-ms D --loss-pct P [--pidfile F]   (run inside jm-ispK)
"""
import argparse
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_VERDICT_HDR = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_DROP = 0
NF_ACCEPT = 1


def attr(kind, data):
    a = struct.pack("=HH", 4 + len(data), kind) + data
    return a + b"\0" * ((4 - len(a) % 4) % 4)


def msg(mtype, queue, payload, flags=NLM_F_REQUEST, seq=0):
    body = struct.pack("=BBH", socket.AF_INET, 0, socket.htons(queue)) + payload
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | mtype, flags, seq, 0) + body


def attrs(buf):
    off = 0
    while off + 4 <= len(buf):
        ln, kind = struct.unpack_from("=HH", buf, off)
        if ln < 4:
            break
        yield kind & 0x7FFF, buf[off + 4: off + ln]
        off += (ln + 3) & ~3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--loss-pct", type=float, default=0.0)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    cmd = attr(NFQA_CFG_CMD, struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, socket.htons(socket.AF_INET)))
    s.send(msg(NFQNL_MSG_CONFIG, a.queue, cmd, NLM_F_REQUEST | NLM_F_ACK, 1))
    params = attr(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META))
    s.send(msg(NFQNL_MSG_CONFIG, a.queue, params, NLM_F_REQUEST | NLM_F_ACK, 2))
    for _ in range(2):
        r = s.recv(65536)
        ln, mtype = struct.unpack_from("=IH", r, 0)
        if mtype == NLMSG_ERROR and struct.unpack_from("=i", r, 16)[0] != 0:
            sys.exit("linkem: cannot bind queue %d: errno %d" % (a.queue, -struct.unpack_from("=i", r, 16)[0]))
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    rng = random.Random()
    due = []  # (time, packet id)

    def verdict(pid, v):
        s.send(msg(NFQNL_MSG_VERDICT, a.queue, attr(NFQA_VERDICT_HDR, struct.pack(">II", v, pid))))

    while True:
        now = time.monotonic()
        while due and due[0][0] <= now:
            verdict(heapq.heappop(due)[1], NF_ACCEPT)
        timeout = max(0.0, due[0][0] - now) if due else 1.0
        r, _, _ = select.select([s], [], [], timeout)
        if not r:
            continue
        try:
            buf = s.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        off = 0
        while off + 16 <= len(buf):
            ln, mtype = struct.unpack_from("=IH", buf, off)
            if ln < 16:
                break
            if mtype == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                for kind, data in attrs(buf[off + 20: off + ln]):
                    if kind == NFQA_PACKET_HDR:
                        pid = struct.unpack_from(">I", data, 0)[0]
                        if rng.random() * 100.0 < a.loss_pct:
                            verdict(pid, NF_DROP)
                        elif a.delay_ms <= 0:
                            verdict(pid, NF_ACCEPT)
                        else:
                            heapq.heappush(due, (time.monotonic() + a.delay_ms / 1000.0, pid))
            off += (ln + 3) & ~3


if __name__ == "__main__":
    main()
