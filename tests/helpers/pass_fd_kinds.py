"""Starts a program with file descriptors of chosen kinds, as a service manager or inetd would.

  pass_fd_kinds.py [--listen-fds N] [--names NAMES] [--stdin KIND] [KIND...] -- PROGRAM ARGS...

Each KIND is put on fd 3, 4, ... in turn; then LISTEN_FDS (the number of KINDs, or N),
LISTEN_PID (this process, which the program replaces by exec) and, with --names, LISTEN_FDNAMES
are set. With --stdin only (no KIND), no LISTEN_* variable is set and KIND goes to fd 0, for
--inetd. KIND is one of: file pipe null dir unix-dgram unix-seqpacket unix-stream-listen netlink
tcp-listen tcp-connected udp udplite udp-unbound udp-connected ping; tcp-listen, udp and udplite
take an address as KIND=HOST:PORT ([v6]:PORT; default 127.0.0.1 and a kernel-chosen port).
"""
import fcntl
import os
import socket
import sys
import tempfile

keep = []  # objects whose fds must stay open until exec


def address(spec):
    host, _, port = spec.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    return (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))


def make(kind):
    kind, _, spec = kind.partition("=")
    family, addr = address(spec or "127.0.0.1:0")
    if kind == "file":
        f = tempfile.TemporaryFile()
        keep.append(f)
        return f.fileno()
    if kind == "pipe":
        r, w = os.pipe()
        keep.append(w)
        return r
    if kind == "null":
        return os.open("/dev/null", os.O_RDONLY)
    if kind == "dir":
        return os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    if kind == "unix-dgram":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    elif kind == "unix-seqpacket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    elif kind == "unix-stream-listen":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind("\0echod-test-%d" % os.getpid())
        s.listen()
    elif kind == "netlink":
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    elif kind == "tcp-listen":
        s = socket.socket(family)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr)
        s.listen()
    elif kind == "tcp-connected":
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        s = socket.create_connection(srv.getsockname())
        peer, _ = srv.accept()
        # The peer end must outlive exec, or the passed socket is a reset one.
        os.dup2(peer.fileno(), 200)
        keep.append(peer)
    elif kind in ("udp", "udplite"):
        s = socket.socket(family, socket.SOCK_DGRAM,
                          socket.IPPROTO_UDPLITE if kind == "udplite" else 0)
        s.bind(addr)
    elif kind == "udp-unbound":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    elif kind == "udp-connected":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.connect(("127.0.0.1", 9))
    elif kind == "ping":
        # Needs net.ipv4.ping_group_range to hold the caller's group (set in a namespace).
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    else:
        sys.exit(f"pass_fd_kinds.py: unknown kind {kind!r}")
    keep.append(s)
    return s.fileno()


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    opts, cmd = args[:sep], args[sep + 1:]
    listen_fds = names = stdin = None
    kinds = []
    i = 0
    while i < len(opts):
        if opts[i] == "--listen-fds":
            listen_fds, i = opts[i + 1], i + 2
        elif opts[i] == "--names":
            names, i = opts[i + 1], i + 2
        elif opts[i] == "--stdin":
            stdin, i = opts[i + 1], i + 2
        else:
            kinds.append(opts[i])
            i += 1
    fds = [make(k) for k in kinds]
    # Move them out of the way first, so that placing one cannot overwrite another.
    fds = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
    for n, fd in enumerate(fds):
        os.dup2(fd, 3 + n)
    if stdin:
        os.dup2(make(stdin), 0)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        os.environ.pop(k, None)
    if kinds or listen_fds is not None:
        os.environ["LISTEN_FDS"] = str(len(kinds)) if listen_fds is None else listen_fds
        os.environ["LISTEN_PID"] = str(os.getpid())
    if names is not None:
        os.environ["LISTEN_FDNAMES"] = names
    # Anything above the passed fds (a test harness's own, the copies at 100+) is closed, as
    # systemd would; fd 200 keeps a connected socket's peer.
    os.closerange(3 + len(fds), 200)
    os.execv(cmd[0], cmd)


main()
