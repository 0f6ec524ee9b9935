"""Many echo clients at once, each proving it got back exactly its bytes and then EOF.

Each client connects, sends a random payload (0..--max-bytes) in random-sized pieces while
reading concurrently, half-closes, reads until EOF and compares. Exit status 0 when every
client's echo is intact, 1 otherwise (one line per failed client on stderr, at most 20).

Usage: concurrent.py --port PORT [--host 127.0.0.1] [--clients 1000] [--max-bytes 262144]
                     [--seed N] [--timeout 60] [--sequential] [--sources A,B,...]

--sources: client i connects from address i modulo their number (port chosen by the kernel),
for servers that tell clients apart by address (a per-source limit, a balancer's PROXY header)."""
import argparse
import asyncio
import os
import random
import sys


async def one_client(i, args, rng_seed):
    rng = random.Random(rng_seed)
    size = rng.randrange(args.max_bytes + 1)
    payload = os.urandom(size)
    local = (args.sources[i % len(args.sources)], 0) if args.sources else None
    reader, writer = await asyncio.open_connection(args.host, args.port, local_addr=local)

    async def send():
        off = 0
        while off < size:
            n = rng.randrange(1, 65537)
            writer.write(payload[off:off + n])
            off += n
            await writer.drain()
        writer.write_eof()

    async def receive():
        got = bytearray()
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return bytes(got)
            got += chunk

    _, got = await asyncio.gather(send(), receive())
    writer.close()
    if got != payload:
        where = next((k for k in range(min(len(got), size)) if got[k] != payload[k]), min(len(got), size))
        raise AssertionError(f"client {i}: sent {size} bytes, got {len(got)} back, first difference at byte {where}")
    return size


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--max-bytes", type=int, default=256 * 1024)
    p.add_argument("--seed", type=int, default=862)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--sequential", action="store_true", help="one client after another")
    p.add_argument("--sources", type=lambda s: s.split(","), default=None,
                   help="comma-separated local addresses to connect from, in turn")
    args = p.parse_args()

    if args.sequential:
        results = []
        for i in range(args.clients):
            try:
                results.append(await asyncio.wait_for(one_client(i, args, args.seed * 100003 + i), args.timeout))
            except Exception as e:  # noqa: BLE001 - every failure is reported per client
                results.append(e)
    else:
        tasks = [one_client(i, args, args.seed * 100003 + i) for i in range(args.clients)]
        try:
            results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), args.timeout)
        except asyncio.TimeoutError:
            print(f"timed out after {args.timeout} s", file=sys.stderr)
            return 1
    failures = [r for r in results if isinstance(r, BaseException)]
    for f in failures[:20]:
        print(f"FAIL {type(f).__name__}: {f}", file=sys.stderr)
    total = sum(r for r in results if not isinstance(r, BaseException))
    print(f"{args.clients - len(failures)} of {args.clients} clients intact, {total} bytes echoed")
    return 1 if failures else 0


sys.exit(asyncio.run(main()))
