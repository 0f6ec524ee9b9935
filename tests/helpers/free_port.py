"""Prints a TCP port that is free right now on every address, IPv4 and (where the machine has
it) IPv6: a wildcard bind succeeds only if no socket on any address holds the port, so a test
may bind it to 127.0.0.1, ::1, 0.0.0.0 or [::] alike.

With --udp the port must also be free for UDP. The kernel picks it (bind to port 0), so
concurrent test runs do not collide the way a fixed port would."""
import socket
import sys


def free(port, family, kind):
    addr = "0.0.0.0" if family == socket.AF_INET else "::"
    try:
        with socket.socket(family, kind) as s:
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
    except OSError as e:
        # EAFNOSUPPORT, EADDRNOTAVAIL: no IPv6 here, so nothing to collide with
        return family == socket.AF_INET6 and e.errno in (97, 99)
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
