"""Echo servers that misbehave in one precise way, for echo-client's tests. Binds 127.0.0.1 (or
--host), prints "ready" once listening, serves until killed.

Usage: odd_echo.py PORT [--host H] [--udp] MODE
Modes:
  --flip OFFSET        TCP: echo every byte, but the byte at stream offset OFFSET (0-based)
                       comes back with its bits inverted
  --drop-every-other   UDP: answer datagrams 1, 3, 5... and drop 2, 4, 6... (exactly 50% loss)
  --stale              UDP: answer every datagram with the first one that came (a stale echo)
  --delay SEC          TCP or UDP: echo each chunk or datagram SEC seconds after it came
  --cut N              TCP: echo the first N bytes of each connection, then half-close it
  --close-on-eof SEC   TCP: echo each chunk SEC seconds after it came, but close the connection
                       at once when the client half-closes, dropping what is not echoed yet
                       (as `ncat --sh-exec cat` does with cat's pending output)
"""
import argparse
import selectors
import socket
import sys
import threading
import time


def serve_flip(conn, offset):
    pos = 0
    while True:
        data = conn.recv(65536)
        if not data:
            break
        if pos <= offset < pos + len(data):
            b = bytearray(data)
            b[offset - pos] ^= 0xFF
            data = bytes(b)
        pos += len(data)
        conn.sendall(data)
    conn.close()


def serve_cut(conn, n):
    while n > 0:
        data = conn.recv(n)
        if not data:
            break
        conn.sendall(data)
        n -= len(data)
    # FIN, not RST: read on until the client closes.
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(65536):
        pass
    conn.close()


def serve_delayed(conn, delay, close_on_eof):
    pending = []  # (due time, bytes)
    sel = selectors.DefaultSelector()
    sel.register(conn, selectors.EVENT_READ)
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        if sel.select(timeout):
            data = conn.recv(65536)
            if not data:
                if close_on_eof:
                    break
                for due, chunk in pending:
                    time.sleep(max(0.0, due - time.monotonic()))
                    conn.sendall(chunk)
                break
            pending.append((time.monotonic() + delay, data))
        while pending and pending[0][0] <= time.monotonic():
            conn.sendall(pending.pop(0)[1])
    conn.close()


def tcp(a, s):
    s.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        if a.flip is not None:
            target, args = serve_flip, (conn, a.flip)
        elif a.cut is not None:
            target, args = serve_cut, (conn, a.cut)
        else:
            target, args = serve_delayed, (conn, a.delay or a.close_on_eof or 0.0, a.close_on_eof is not None)
        threading.Thread(target=target, args=args, daemon=True).start()


def udp(a, s):
    print("ready", flush=True)
    n = 0
    first = None
    while True:
        data, peer = s.recvfrom(65536)
        n += 1
        first = first or data
        if a.stale:
            data = first
        if a.drop_every_other and n % 2 == 0:
            continue
        if a.delay:
            threading.Timer(a.delay, s.sendto, (data, peer)).start()
        else:
            s.sendto(data, peer)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--udp", action="store_true")
    p.add_argument("--flip", type=int)
    p.add_argument("--drop-every-other", action="store_true")
    p.add_argument("--stale", action="store_true")
    p.add_argument("--cut", type=int)
    p.add_argument("--delay", type=float)
    p.add_argument("--close-on-eof", type=float)
    a = p.parse_args()
    family = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM if a.udp else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.host, a.port))
    (udp if a.udp else tcp)(a, s)


if __name__ == "__main__":
    sys.exit(main())
