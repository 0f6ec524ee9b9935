"""--max-per-source from the client's side: connections from one loopback source at once.

Usage: per_source.py HOST PORT --limit N
Opens N connections from 127.0.0.2 and proves each is served (an echo), then one more from
127.0.0.2 and proves echod closes it without a byte, then one from 127.0.0.3 and proves it is
served at once, then closes one of the N and proves a new one from 127.0.0.2 is served.
Prints one line per step; exit status 0 when every step held."""
import argparse
import socket
import sys
import time


def connect(host, port, source):
    s = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
    return s


def echoed(s, msg):
    """True when msg comes back whole; False when the server closes or resets instead."""
    got = b""
    try:
        s.sendall(msg)
        while len(got) < len(msg):
            d = s.recv(len(msg) - len(got))
            if not d:
                return False
            got += d
    except (ConnectionResetError, BrokenPipeError):
        return False
    return got == msg


def closed_unserved(s):
    """True when the server closes s without echoing: EOF or a reset, within the timeout."""
    try:
        s.sendall(b"refused?\n")
    except OSError:
        return True
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--limit", type=int, required=True)
    p.add_argument("--refused", type=int, default=1, help="how many over the limit to try")
    a = p.parse_args()
    ok = True
    held = [connect(a.host, a.port, "127.0.0.2") for _ in range(a.limit)]
    n = sum(echoed(s, b"held %d\n" % i) for i, s in enumerate(held))
    print(f"127.0.0.2: {n} of {a.limit} served", flush=True)
    ok &= n == a.limit
    refused = 0
    for _ in range(a.refused):
        s = connect(a.host, a.port, "127.0.0.2")
        refused += closed_unserved(s)
        s.close()
    print(f"127.0.0.2 over the limit: {refused} of {a.refused} closed unserved", flush=True)
    ok &= refused == a.refused
    other = connect(a.host, a.port, "127.0.0.3")
    t0 = time.monotonic()
    served = echoed(other, b"another source\n")
    print(f"127.0.0.3: {'served' if served else 'NOT served'}", flush=True)
    ok &= served
    other.close()
    held.pop().close()
    again = None
    for _ in range(50):
        # The close reaches echod asynchronously: until it does, a new one is still refused.
        s = connect(a.host, a.port, "127.0.0.2")
        if echoed(s, b"again\n"):
            again = s
            break
        s.close()
        time.sleep(0.1)
    print(f"127.0.0.2 after one closed: {'served' if again else 'NOT served'}", flush=True)
    ok &= again is not None
    for s in held + ([again] if again else []):
        s.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
