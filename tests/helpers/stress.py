"""Hostile and awkward echo clients for tests/e2e/reliability.bats (Python 3 stdlib only).

Every mode talks to one echo server on HOST PORT and prints one line per finding; the exit
status is 0 only when everything that came back was exactly what was sent.

  run    N clients, each sends a payload (fixed or random size) in random-sized pieces with
         random pauses, half-closes, and reads the echo (optionally late and slowly) until EOF.
         Every byte is hashed on both sides: the echo must be the same bytes, then EOF.
  reset  N clients send without reading, then close with SO_LINGER 0 (RST mid-stream).
  hold   N clients connect and send one line each, keep their connections open until a file
         appears, then half-close and check their echo: for servers that ran out of fds.
  idle   one silent client, one that stalls (sends, never reads) and one that trickles: the
         first two must be closed after about the idle timeout, the third must not.
"""
import argparse
import hashlib
import os
import random
import selectors
import socket
import struct
import sys
import time


def connect(host, port, rcvbuf=0, source=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((host, port))
    return s


class Client:
    def __init__(self, i, sock, args, rng):
        self.i = i
        self.sock = sock
        self.rng = random.Random(rng.random())
        self.total = args.bytes if args.bytes is not None else self.rng.randint(0, args.max_bytes)
        self.sent = 0
        self.received = 0
        self.piece = b""
        self.piece_off = 0
        self.next_send = 0.0
        self.shut = False
        self.eof = False
        self.sent_hash = hashlib.sha256()
        self.recv_hash = hashlib.sha256()
        self.tokens = 0.0
        self.error = None

    def want(self, now, args):
        ev = 0
        if not self.shut and now >= self.next_send:
            ev |= selectors.EVENT_WRITE
        if not self.eof and now >= args.read_delay and (args.read_rate == 0 or self.tokens >= 1):
            ev |= selectors.EVENT_READ
        return ev

    def on_write(self, now, args):
        if not self.piece:
            n = min(self.total - self.sent, self.rng.randint(1, args.max_piece))
            self.piece = self.rng.randbytes(n)
            self.piece_off = 0
            self.sent_hash.update(self.piece)
        if self.piece:
            try:
                n = self.sock.send(self.piece[self.piece_off:])
            except BlockingIOError:
                return
            self.piece_off += n
            self.sent += n
            if self.piece_off == len(self.piece):
                self.piece = b""
                if args.max_delay > 0 and self.rng.random() < 0.3:
                    self.next_send = now + self.rng.uniform(0, args.max_delay)
        if self.sent == self.total and not self.piece:
            self.sock.shutdown(socket.SHUT_WR)
            self.shut = True

    def on_read(self, args):
        limit = 65536 if args.read_rate == 0 else max(1, min(65536, int(self.tokens)))
        try:
            data = self.sock.recv(limit)
        except BlockingIOError:
            return
        except OSError as e:
            self.error = f"receive failed after {self.received} bytes: {e}"
            self.eof = True
            return
        if args.read_rate:
            self.tokens -= len(data)
        if not data:
            self.eof = True
            if not self.shut:
                self.error = f"EOF after {self.received} bytes, before it had sent everything"
            elif self.received != self.total:
                self.error = f"EOF after {self.received} of {self.total} bytes"
            elif self.recv_hash.digest() != self.sent_hash.digest():
                self.error = f"the {self.total} bytes came back altered"
            return
        self.received += len(data)
        self.recv_hash.update(data)
        if self.received > self.sent:
            self.error = f"received {self.received} bytes but sent only {self.sent}"
            self.eof = True


def mode_run(args):
    rng = random.Random(args.seed)
    clients = []
    for i in range(args.clients):
        rcvbuf = 4096 if args.small_rcvbuf and i % args.small_rcvbuf == 0 else 0
        s = connect(args.host, args.port, rcvbuf, args.source)
        s.setblocking(False)
        clients.append(Client(i, s, args, rng))
    total = sum(c.total for c in clients)
    print(f"connected {len(clients)} clients, {total} bytes to send", flush=True)
    sel = selectors.DefaultSelector()
    registered = {}
    start = time.monotonic()
    last = start
    progress_said = args.progress_at is None
    while True:
        now = time.monotonic()
        elapsed = now - start
        dt, last = now - last, now
        if elapsed > args.timeout:
            late = [c for c in clients if not c.eof]
            print(f"timeout after {args.timeout} s: {len(late)} clients unfinished, e.g. client {late[0].i}: "
                  f"{late[0].sent}/{late[0].total} sent, {late[0].received} back", flush=True)
            return 1
        active = 0
        for c in clients:
            if c.eof:
                if c in registered:
                    sel.unregister(c.sock)
                    del registered[c]
                continue
            active += 1
            if args.read_rate and elapsed >= args.read_delay:
                c.tokens = min(c.tokens + args.read_rate * dt, max(4096.0, args.read_rate * 0.1))
            ev = c.want(elapsed, args)
            if registered.get(c, 0) != ev:
                if c in registered:
                    sel.unregister(c.sock)
                    del registered[c]
                if ev:
                    sel.register(c.sock, ev, c)
                    registered[c] = ev
        if not progress_said and sum(c.sent for c in clients) >= args.progress_at * total:
            print(f"progress: {sum(c.sent for c in clients)} of {total} bytes sent", flush=True)
            progress_said = True
        if active == 0:
            break
        for key, ev in sel.select(0.01 if registered else 0.005):
            c = key.data
            if ev & selectors.EVENT_WRITE and not c.shut:
                c.on_write(time.monotonic() - start, args)
            if ev & selectors.EVENT_READ and not c.eof:
                c.on_read(args)
    bad = [c for c in clients if c.error]
    for c in bad[:10]:
        print(f"client {c.i}: {c.error}", flush=True)
    for c in clients:
        c.sock.close()
    print(f"{len(clients) - len(bad)} of {len(clients)} clients intact, {sum(c.received for c in clients)} bytes "
          f"echoed in {time.monotonic() - start:.1f} s", flush=True)
    return 1 if bad else 0


def mode_reset(args):
    socks = []
    for _ in range(args.clients):
        s = connect(args.host, args.port)
        s.setblocking(False)
        socks.append(s)
    data = os.urandom(args.bytes)
    for s in socks:
        off = 0
        deadline = time.monotonic() + 5
        while off < len(data) and time.monotonic() < deadline:
            try:
                off += s.send(data[off:])
            except BlockingIOError:
                time.sleep(0.001)
        print(f"port {s.getsockname()[1]} sent {off} bytes, resetting", flush=True)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    return 0


def recv_until_eof(s, deadline):
    got = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            return got, True
        got += d
    return got, False


def mode_hold(args):
    socks = []
    for i in range(args.clients):
        s = connect(args.host, args.port, 0, args.source)
        s.sendall(f"client {i} was here\n".encode())
        socks.append(s)
    print(f"connected {len(socks)} clients", flush=True)
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(args.go_file):
        if time.monotonic() > deadline:
            print(f"{args.go_file} never appeared", flush=True)
            return 1
        time.sleep(0.02)
    bad = 0
    for i, s in enumerate(socks):
        s.shutdown(socket.SHUT_WR)
    for i, s in enumerate(socks):
        want = f"client {i} was here\n".encode()
        got, eof = recv_until_eof(s, deadline)
        if got != want or not eof:
            print(f"client {i}: got {got!r}, EOF {eof}", flush=True)
            bad += 1
        s.close()
    print(f"{len(socks) - bad} of {len(socks)} clients intact", flush=True)
    return 1 if bad else 0


def mode_idle(args):
    t = args.idle_timeout
    silent = connect(args.host, args.port)
    stalled = connect(args.host, args.port, rcvbuf=4096)
    trickle = connect(args.host, args.port)
    print(f"silent port {silent.getsockname()[1]}, stalled port {stalled.getsockname()[1]}", flush=True)
    start = time.monotonic()
    stalled.setblocking(False)
    junk = os.urandom(1 << 20)
    off = 0
    closed = {}
    sent = got = b""
    n = 0
    sel = selectors.DefaultSelector()
    for name, s in (("silent", silent), ("trickle", trickle)):
        sel.register(s, selectors.EVENT_READ, name)
    while time.monotonic() - start < 3 * t:
        # The stalled client sends what fits and never reads while the server is watched.
        if off < len(junk):
            try:
                off += stalled.send(junk[off:off + 65536])
            except (BlockingIOError, ConnectionError):
                off = len(junk)
        # A byte every t/10: a stall of the test machine up to 0.9 t does not make it idle.
        if n < (time.monotonic() - start) / (t / 10):
            byte = bytes([65 + n % 26])
            trickle.sendall(byte)
            sent += byte
            n += 1
        for key, _ in sel.select(0.02):
            d = key.fileobj.recv(4096)
            if key.data == "trickle":
                if not d:
                    closed["trickle"] = time.monotonic() - start
                    sel.unregister(trickle)
                got += d
            elif not d:
                closed["silent"] = time.monotonic() - start
                sel.unregister(silent)
    ok = True
    when = closed.get("silent")
    if when is None or not (t - 0.1 <= when <= t + 1.5):
        print(f"silent client: closed after {when} s, expected about {t} s", flush=True)
        ok = False
    else:
        print(f"silent client: closed after {when:.2f} s", flush=True)
    if "trickle" in closed:
        print(f"trickling client: closed after {closed['trickle']:.2f} s although active", flush=True)
        ok = False
    trickle.shutdown(socket.SHUT_WR)
    rest, eof = recv_until_eof(trickle, time.monotonic() + 5)
    got += rest
    if got != sent or not eof:
        print(f"trickling client: sent {sent!r}, got {got!r}, EOF {eof}", flush=True)
        ok = False
    else:
        print(f"trickling client: open for {3 * t} s, all {len(sent)} bytes back", flush=True)
    # Its echo is still in the kernel's buffers, then the server's FIN (or a reset).
    stalled.setblocking(True)
    try:
        echoed, eof = recv_until_eof(stalled, time.monotonic() + 5)
        print(f"stalled client: {'closed by the server' if eof else 'still open'} after {len(echoed)} of "
              f"{off} bytes came back", flush=True)
        ok = ok and eof
    except ConnectionError as e:
        print(f"stalled client: closed by the server ({e})", flush=True)
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["run", "reset", "hold", "idle"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--bytes", type=int, default=None, help="payload per client (run: default random)")
    p.add_argument("--max-bytes", type=int, default=256 * 1024)
    p.add_argument("--max-piece", type=int, default=8192)
    p.add_argument("--max-delay", type=float, default=0.0, help="run: longest pause between pieces")
    p.add_argument("--read-delay", type=float, default=0.0, help="run: seconds before reading at all")
    p.add_argument("--read-rate", type=float, default=0.0, help="run: bytes/s each client reads (0: fast)")
    p.add_argument("--small-rcvbuf", type=int, default=0, help="run: every Nth client has a 4 KiB SO_RCVBUF")
    p.add_argument("--progress-at", type=float, default=None, help="run: say 'progress' at this fraction sent")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--go-file", default=None)
    p.add_argument("--idle-timeout", type=float, default=1.0)
    p.add_argument("--source", default=None, help="run, hold: local address to connect from")
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    if args.mode == "run":
        print(f"seed {args.seed}", flush=True)
    if args.mode == "reset" and args.bytes is None:
        args.bytes = 256 * 1024
    return {"run": mode_run, "reset": mode_reset, "hold": mode_hold, "idle": mode_idle}[args.mode](args)


sys.exit(main())
