"""What a UDP echo client, an attacker and a flood look like, for the tests of echod's UDP path.

  udp_tool.py forge SRC_IP SRC_PORT DST_IP DST_PORT [--count N]
      Sends N datagrams with a forged IPv4 source (a raw socket, IP_HDRINCL; needs root).
  udp_tool.py random-sources DST_IP DST_PORT --count N
      Sends N forged datagrams, each from another random 127.0.0.0/8 address (port 40000+).
  udp_tool.py send BIND_IP BIND_PORT DST_IP DST_PORT [--count N] [--connect] [--wait SEC]
      Sends N datagrams from BIND_IP:BIND_PORT (port 0: any), one at a time, each waiting up to
      SEC for its echo; with --connect the socket is connect()ed to DST first, so only a reply
      from exactly DST_IP:DST_PORT can reach it; --broadcast allows DST to be a broadcast
      address. Prints "N sent, M echoed, from ADDRESS port PORT".
  udp_tool.py flood DST_IP DST_PORT --flooder IP --prober IP --seconds S [--rate N]
                    [--probe-interval SEC]
      For S seconds one socket on FLOODER sends N datagrams a second (default: as fast as it
      can) while another on PROBER sends one every interval; prints "flood: X sent, Y echoed;
      probe: A sent, B echoed". A flood past what the server's socket buffer holds loses
      datagrams in the kernel, probes included, before the server sees them.
  udp_tool.py notify PATH OUT
      Binds an AF_UNIX datagram socket at PATH (a NOTIFY_SOCKET) and appends each message to
      OUT, one line each (newlines as " | "), until killed.

The payload of every datagram is unique, so a late or stray echo is never counted twice."""
import argparse
import os
import random
import select
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def forged_packet(src, sport, dst, dport, payload):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, random.randrange(65536), 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


def raw_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return s


def cmd_forge(a):
    with raw_socket() as s:
        for i in range(a.count):
            s.sendto(forged_packet(a.src, a.sport, a.dst, a.dport, b"forged %d" % i), (a.dst, 0))
    print(f"{a.count} forged datagrams sent")
    return 0


def cmd_random_sources(a):
    rnd = random.Random(a.seed)
    with raw_socket() as s:
        for i in range(a.count):
            src = "127.%d.%d.%d" % (rnd.randrange(1, 255), rnd.randrange(256), rnd.randrange(1, 255))
            pkt = forged_packet(src, 40000 + rnd.randrange(20000), a.dst, a.dport, b"random %d" % i)
            while True:
                try:
                    s.sendto(pkt, (a.dst, 0))
                    break
                except (BlockingIOError, OSError) as e:
                    if getattr(e, "errno", None) not in (11, 105):  # EAGAIN, ENOBUFS
                        raise
                    time.sleep(0.001)
    print(f"{a.count} datagrams sent from random sources")
    return 0


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def cmd_send(a):
    with socket.socket(family_of(a.dst), socket.SOCK_DGRAM) as s:
        if a.broadcast:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind((a.bind, a.bport))
        if a.connect:
            s.connect((a.dst, a.dport))
        echoed, peer = 0, None
        for i in range(a.count):
            payload = b"probe %d from %d" % (i, os.getpid())
            if a.connect:
                s.send(payload)
            else:
                s.sendto(payload, (a.dst, a.dport))
            deadline = time.monotonic() + a.wait
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                try:
                    got, peer = s.recvfrom(65536)
                except ConnectionRefusedError:
                    continue
                if got == payload:
                    echoed += 1
                    break
        where = f", from {peer[0]} port {peer[1]}" if peer else ""
        print(f"{a.count} sent, {echoed} echoed{where}")
    return 0


def cmd_flood(a):
    fam = family_of(a.dst)
    flood = socket.socket(fam, socket.SOCK_DGRAM)
    flood.bind((a.flooder, 0))
    flood.setblocking(False)
    probe = socket.socket(fam, socket.SOCK_DGRAM)
    probe.bind((a.prober, 0))
    probe.setblocking(False)
    sent = echoed = psent = pechoed = 0
    start = time.monotonic()
    next_probe = start
    end = start + a.seconds
    while True:
        now = time.monotonic()
        if now >= end + a.linger:
            break
        if now < end:
            if now >= next_probe:
                probe.sendto(b"p%d" % psent, (a.dst, a.dport))
                psent += 1
                next_probe += a.probe_interval
            burst = 32 if not a.rate else min(32, int((now - start) * a.rate) - sent)
            for _ in range(max(burst, 0)):
                try:
                    flood.sendto(b"f%d" % sent, (a.dst, a.dport))
                    sent += 1
                except BlockingIOError:
                    break
        r = select.select([flood, probe], [], [], 0 if now < end and not a.rate else 0.0005)[0]
        for sock in r:
            while True:
                try:
                    sock.recv(65536)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if sock is flood:
                    echoed += 1
                else:
                    pechoed += 1
    print(f"flood: {sent} sent, {echoed} echoed; probe: {psent} sent, {pechoed} echoed")
    return 0


def cmd_notify(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.path)
    with open(a.out, "a", buffering=1) as out:
        while True:
            msg = s.recv(4096).decode(errors="replace")
            out.write(msg.replace("\n", " | ") + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("forge")
    f.add_argument("src")
    f.add_argument("sport", type=int)
    f.add_argument("dst")
    f.add_argument("dport", type=int)
    f.add_argument("--count", type=int, default=1)
    r = sub.add_parser("random-sources")
    r.add_argument("dst")
    r.add_argument("dport", type=int)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("send")
    s.add_argument("bind")
    s.add_argument("bport", type=int)
    s.add_argument("dst")
    s.add_argument("dport", type=int)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--connect", action="store_true")
    s.add_argument("--broadcast", action="store_true")
    s.add_argument("--wait", type=float, default=2)
    fl = sub.add_parser("flood")
    fl.add_argument("dst")
    fl.add_argument("dport", type=int)
    fl.add_argument("--flooder", required=True)
    fl.add_argument("--prober", required=True)
    fl.add_argument("--seconds", type=float, required=True)
    fl.add_argument("--probe-interval", type=float, default=0.1)
    fl.add_argument("--rate", type=int, default=0)
    fl.add_argument("--linger", type=float, default=0.5)
    n = sub.add_parser("notify")
    n.add_argument("path")
    n.add_argument("out")
    a = p.parse_args()
    return {"forge": cmd_forge, "random-sources": cmd_random_sources, "send": cmd_send,
            "flood": cmd_flood, "notify": cmd_notify}[a.cmd](a)


sys.exit(main())
