"""Clients that send and never read: each pushes up to --bytes until the kernel takes no more.

Usage: stalled.py HOST PORT [--clients 200] [--bytes 1048576] --go-file FILE [--timeout 60]
Prints "stalled N clients, B bytes sent" once every client's send has stopped moving (no
progress for --settle seconds), then waits for FILE to exist and closes them all (a reset:
their echo is unread). Exit status 0, or 1 if FILE never appeared."""
import argparse
import os
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--bytes", type=int, default=1 << 20)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--go-file", required=True)
    p.add_argument("--timeout", type=float, default=60)
    a = p.parse_args()
    chunk = os.urandom(65536)
    socks = []
    for _ in range(a.clients):
        s = socket.create_connection((a.host, a.port), timeout=10)
        s.setblocking(False)
        socks.append(s)
    sent = [0] * len(socks)
    deadline = time.monotonic() + a.timeout
    last_progress = time.monotonic()
    while time.monotonic() - last_progress < a.settle and time.monotonic() < deadline:
        moved = False
        for i, s in enumerate(socks):
            while sent[i] < a.bytes:
                try:
                    n = s.send(chunk[: min(len(chunk), a.bytes - sent[i])])
                except BlockingIOError:
                    break
                sent[i] += n
                moved = True
        if moved:
            last_progress = time.monotonic()
        time.sleep(0.05)
    print(f"stalled {len(socks)} clients, {sum(sent)} bytes sent", flush=True)
    while not os.path.exists(a.go_file):
        if time.monotonic() > deadline:
            print(f"{a.go_file} never appeared", flush=True)
            return 1
        time.sleep(0.02)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
