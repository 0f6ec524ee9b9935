"""Prints a TCP port that is free right now on 127.0.0.1 and, where the machine has it, ::1.

With --udp the port must also be free for UDP. The kernel picks it (bind to port 0), so
concurrent test runs do not collide the way a fixed port would."""
import socket
import sys


def free(port, family, kind):
    addr = "127.0.0.1" if family == socket.AF_INET else "::1"
    try:
        with socket.socket(family, kind) as s:
            s.bind((addr, port))
    except OSError as e:
        return e.errno == 99  # EADDRNOTAVAIL: no ::1 here, so nothing to collide with
    return True


def main():
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if "--udp" in sys.argv else [])
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if all(free(port, f, k) for f in (socket.AF_INET, socket.AF_INET6) for k in kinds):
            print(port)
            return 0
    print("no free port found", file=sys.stderr)
    return 1


sys.exit(main())
