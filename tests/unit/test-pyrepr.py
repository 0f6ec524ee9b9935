"""pyrepr() against Python's own repr(bytes): every byte value alone, all 256 together, and the
quote cases that decide between b'...' and b"..."."""
import random
import subprocess
import sys

cases = [bytes([b]) for b in range(256)]
cases += [
    bytes(range(256)),
    b"",
    b"This is the message.  It will be repeated.",
    b"it's",                # single quote only: Python switches to double quotes
    b'say "hi"',            # double only: stays single
    b"it's \"both\"",       # both: single quotes, single escaped
    b"'",
    b'"',
    b"\\'",
    b"back\\slash",
    b"\t\n\r\x0b\x0c\x7f\x80\xff",
]
rng = random.Random(862)
cases += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(200)]

out = subprocess.run([sys.argv[1]] + [c.hex() for c in cases], capture_output=True, check=True)
got = out.stdout.decode("ascii").split("\n")[:-1]
bad = 0
for c, g in zip(cases, got):
    if g != repr(c):
        print(f"pyrepr({c!r}): got {g}, Python says {c!r}")
        bad += 1
if len(got) != len(cases):
    print(f"expected {len(cases)} lines, got {len(got)}")
    bad += 1
print(f"{len(cases) - bad} of {len(cases)} cases match Python's repr")
sys.exit(1 if bad else 0)
