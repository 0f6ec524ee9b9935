"""Sends datagrams of several sizes to an RFC 862 UDP echo server and checks that each comes
back unchanged, to the socket that sent it. Exit status 0 when all did, 1 otherwise.

Usage: udp_echo_check.py HOST PORT [--count N] [--timeout SEC]"""
import argparse
import os
import socket
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--timeout", type=float, default=5)
    a = p.parse_args()
    family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    sizes = [1, 42, 512, 1400, 8192, 65507][: a.count] or [1]
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(a.timeout)
        for size in sizes:
            payload = os.urandom(size)
            s.sendto(payload, (a.host, a.port))
            try:
                got, peer = s.recvfrom(65536)
            except socket.timeout:
                print(f"no reply to a {size}-byte datagram within {a.timeout} s", file=sys.stderr)
                return 1
            if got != payload:
                print(f"{size}-byte datagram came back as {len(got)} different bytes", file=sys.stderr)
                return 1
    print(f"{len(sizes)} datagrams echoed")
    return 0


sys.exit(main())
