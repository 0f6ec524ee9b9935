"""One echo client that speaks as a load balancer would: a PROXY protocol header, then a payload.

Prints one line: "N bytes back of N sent: intact" when exactly the payload came back (and then
EOF), "N bytes back of N sent: DIFFERENT" otherwise, "nothing back (closed|reset) after S s"
when the server closed without a byte, or "no close from the server ..." after --timeout. Exit status 0 when the payload came back intact, or
with --expect-nothing when nothing at all came back.

Usage: proxy_client.py HOST PORT [--header v1|v2|local|unknown|none] [--client ADDR PORT]
           [--tlv-bytes N] [--pieces] [--bytes N] [--source ADDR] [--silent] [--expect-nothing]
           [--print-port]"""
import argparse
import ipaddress
import os
import socket
import struct
import sys
import time

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def header(args, sock):
    dst_host, dst_port = sock.getpeername()[:2]
    src = ipaddress.ip_address(args.client[0])
    dst = ipaddress.ip_address(dst_host)
    if src.version != dst.version:
        dst = ipaddress.ip_address("::1" if src.version == 6 else "127.0.0.1")
    sport = int(args.client[1])
    if args.header == "none":
        return b""
    if args.header == "unknown":
        return b"PROXY UNKNOWN\r\n"
    if args.header == "v1":
        return f"PROXY TCP{src.version} {src} {dst} {sport} {dst_port}\r\n".encode()
    tlvs = b""
    if args.tlv_bytes:
        # One NOOP TLV (type 0x04) filling the requested bytes, its 3-byte head included.
        tlvs = struct.pack(">BH", 0x04, args.tlv_bytes - 3) + b"\0" * (args.tlv_bytes - 3)
    if args.header == "local":
        return V2_SIGNATURE + struct.pack(">BBH", 0x20, 0x00, len(tlvs)) + tlvs
    fam = 0x11 if src.version == 4 else 0x21
    body = src.packed + dst.packed + struct.pack(">HH", sport, dst_port) + tlvs
    return V2_SIGNATURE + struct.pack(">BBH", 0x21, fam, len(body)) + body


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--header", choices=["v1", "v2", "local", "unknown", "none"], default="v2")
    p.add_argument("--client", nargs=2, default=["192.0.2.1", "5000"], metavar=("ADDR", "PORT"),
                   help="the client the header names")
    p.add_argument("--tlv-bytes", type=int, default=0, help="v2: TLV bytes after the addresses")
    p.add_argument("--pieces", action="store_true", help="send the header one byte at a time")
    p.add_argument("--bytes", type=int, default=1000, help="payload after the header")
    p.add_argument("--source", default=None, help="local address to connect from")
    p.add_argument("--silent", action="store_true", help="send nothing at all, wait for the close")
    p.add_argument("--expect-nothing", action="store_true")
    p.add_argument("--print-port", action="store_true", help="first print the local port")
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if args.source:
        s.bind((args.source, 0))
    s.settimeout(args.timeout)
    s.connect((args.host, args.port))
    if args.print_port:
        print(f"port {s.getsockname()[1]}", flush=True)
    payload = os.urandom(args.bytes)
    start = time.monotonic()
    if not args.silent:
        head = header(args, s)
        if args.pieces:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(head)):
                s.sendall(head[i:i + 1])
                time.sleep(0.005)
            head = b""
        # The header and the client's first bytes in one segment, as a balancer sends them.
        data = head + payload
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # refused already (reset): what came back, if anything, says the rest
    got = bytearray()
    how = "closed"
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except TimeoutError:
        print(f"no close from the server within {args.timeout} s, {len(got)} bytes back")
        return 1
    except OSError:
        how = "reset"
    s.close()
    if not got:
        print(f"nothing back ({how}) after {time.monotonic() - start:.1f} s")
        return 0 if args.expect_nothing else 1
    verdict = "intact" if bytes(got) == payload else "DIFFERENT"
    print(f"{len(got)} bytes back of {len(payload)} sent: {verdict}")
    return 0 if verdict == "intact" and not args.expect_nothing else 1


sys.exit(main())
