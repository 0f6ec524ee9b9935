#!/usr/bin/env python3
"""bench/plot.py SUMMARY.json DIR - draws bench/run's figures as SVG, with nothing but Python.

cpu-ratios.svg   server CPU per unit of work against each mode's reference: a bar per peer and
                 mode at the ratio of the medians, a line over the range of the per-repetition
                 ratios, the targets marked
pingpong-cdf.svg the 64-byte ping-pong latency distribution (CDF) per peer, logarithmic axis
idle-memory.svg  the server's RSS against the number of idle connections it holds

Called by bench/run with the summary.json it writes; not meant to be run on its own."""
import json
import math
import sys
from xml.sax.saxutils import escape

COLORS = {"echod": "#1f77b4", "echod-w2": "#6baed6", "blocking": "#ff7f0e", "splice": "#2ca02c",
          "epoll": "#d62728", "socat": "#9467bd", "ncat": "#8c564b", "inetd": "#7f7f7f"}


def color(peer):
    return COLORS.get(peer, "#333333")


class Svg:
    def __init__(self, width, height, title):
        self.w, self.h = width, height
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                      f'viewBox="0 0 {width} {height}">',
                      f'<rect width="{width}" height="{height}" fill="white"/>',
                      f'<text x="{width / 2:.1f}" y="20" text-anchor="middle" font-family="sans-serif" '
                      f'font-size="14" font-weight="bold">{escape(title)}</text>']

    def line(self, x1, y1, x2, y2, stroke="#000", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                          f'stroke="{stroke}" stroke-width="{width}"{d}/>')

    def rect(self, x, y, w, h, fill):
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}"/>')

    def text(self, x, y, s, anchor="start", size=12, rotate=None):
        t = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-family="sans-serif" '
                          f'font-size="{size}"{t}>{escape(s)}</text>')

    def polyline(self, points, stroke, width=2):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{stroke}" stroke-width="{width}"/>')

    def legend(self, peers, x, y):
        for i, peer in enumerate(peers):
            self.rect(x, y + i * 16 - 9, 12, 10, color(peer))
            self.text(x + 18, y + i * 16, peer)

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.parts + ["</svg>", ""]))


def nice_ticks(lo, hi, n=5):
    step = 10 ** math.floor(math.log10((hi - lo) / n)) if hi > lo else 1
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    t = math.floor(lo / step) * step
    out = []
    while t <= hi + step * 1e-9:
        out.append(t)
        t += step
    return out


def draw_ratios(s, path):
    modes = [m for m in s["refs"] if m in s["ratios"]]
    peers = []
    for m in modes:
        for peer in s["ratios"][m]:
            if peer not in peers:
                peers.append(peer)
    targets = {t["mode"]: t["limit"] for t in s["targets"]}
    left, right, top, row = 190, 190, 40, 14
    group = [len(s["ratios"][m]) * row + 16 for m in modes]
    height = top + sum(group) + 50
    width = 900
    svg = Svg(width, height, "Server CPU per unit of work / the reference (bar: median, line: range per repetition)")
    hi = max([2.0] + [r["range"][1] for m in modes for r in s["ratios"][m].values()]) * 1.1
    hi = min(hi, 8.0)
    plot_w = width - left - right - 40      # room for the last label

    def x(v):
        return left + min(v, hi) / hi * plot_w
    bottom = height - 40
    for t in nice_ticks(0, hi):
        svg.line(x(t), top, x(t), bottom, "#ddd")
        svg.text(x(t), bottom + 15, f"{t:g}", "middle")
    svg.line(x(1), top, x(1), bottom, "#000", 1)
    svg.text(left + plot_w / 2, bottom + 32, "ratio (1 = the reference; left of it is less CPU)", "middle")
    y = top
    for m, gh in zip(modes, group):
        svg.text(10, y + gh / 2, f"{s['names'][m]} (÷ {s['refs'][m]})")
        yy = y + 8
        for peer, r in s["ratios"][m].items():
            svg.rect(left, yy, x(r["median"]) - left, row - 4, color(peer))
            lo, up = r["range"]
            svg.line(x(lo), yy + (row - 4) / 2, x(up), yy + (row - 4) / 2, "#000", 1.5)
            label = f"{r['median']:.2f}" + ("" if r["median"] <= hi else " (off scale)")
            svg.text(x(max(up, r["median"])) + 4, yy + row - 5, label, size=10)
            yy += row
        if m in targets:
            svg.line(x(targets[m]), y + 4, x(targets[m]), y + gh - 4, "#d62728", 2, "4,3")
        svg.line(left, y + gh, left + plot_w, y + gh, "#eee")
        y += gh
    svg.legend(peers, width - right + 20, top + 10)
    svg.text(width - right + 20, top + 10 + len(peers) * 16 + 10, "red dashes: echod's target", size=10)
    svg.write(path)


def draw_cdf(s, path):
    cdf = s["cdf"]
    width, height, left, right, top, bottom = 820, 420, 60, 150, 40, 360
    svg = Svg(width, height, "64-byte ping-pong: latency distribution (CDF)")
    if not cdf:
        svg.text(width / 2, height / 2, "no ping-pong results", "middle")
        svg.write(path)
        return
    vals = [us for pts in cdf.values() for _, us in pts if us > 0]
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    plot_w = width - left - right

    def x(us):
        return left + (math.log10(max(us, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * plot_w

    def y(q):
        return bottom - q * (bottom - top)
    d = lo
    while d <= hi:
        for k in (1, 2, 5):
            if d * k <= hi:
                svg.line(x(d * k), top, x(d * k), bottom, "#ddd")
                svg.text(x(d * k), bottom + 15, f"{d * k:g}", "middle")
        d *= 10
    for q in (0, 0.25, 0.5, 0.75, 0.9, 1):
        svg.line(left, y(q), left + plot_w, y(q), "#eee")
        svg.text(left - 6, y(q) + 4, f"{q:g}", "end")
    svg.text(left + plot_w / 2, bottom + 32, "round-trip time, µs (log scale)", "middle")
    svg.text(16, (top + bottom) / 2, "fraction of round trips", "middle", rotate=-90)
    for peer, pts in cdf.items():
        svg.polyline([(x(us), y(q)) for q, us in pts], color(peer))
    svg.legend(list(cdf), width - right + 20, top + 10)
    svg.write(path)


def draw_idle(s, path):
    idle = s["idle"]
    width, height, left, right, top, bottom = 820, 420, 70, 150, 40, 360
    svg = Svg(width, height, "Server memory (VmRSS) against idle connections held")
    if not idle:
        svg.text(width / 2, height / 2, "no idle results", "middle")
        svg.write(path)
        return
    xmax = max(n for pts in idle.values() for n, _ in pts) or 1
    ymax = max(kib for pts in idle.values() for _, kib in pts) / 1024 * 1.15 or 1
    plot_w = width - left - right

    def x(n):
        return left + n / xmax * plot_w

    def y(mib):
        return bottom - mib / ymax * (bottom - top)
    for t in nice_ticks(0, xmax):
        svg.line(x(t), top, x(t), bottom, "#ddd")
        svg.text(x(t), bottom + 15, f"{t:g}", "middle")
    for t in nice_ticks(0, ymax):
        svg.line(left, y(t), left + plot_w, y(t), "#eee")
        svg.text(left - 6, y(t) + 4, f"{t:g}", "end")
    svg.text(left + plot_w / 2, bottom + 32, "idle connections held", "middle")
    svg.text(16, (top + bottom) / 2, "server RSS, MiB (user memory only)", "middle", rotate=-90)
    for peer, pts in idle.items():
        svg.polyline([(x(n), y(kib / 1024)) for n, kib in pts], color(peer))
    svg.legend(list(idle), width - right + 20, top + 10)
    svg.write(path)


def main():
    if len(sys.argv) != 3:
        print("usage: bench/plot.py SUMMARY.json DIR", file=sys.stderr)
        return 2
    s = json.load(open(sys.argv[1]))
    draw_ratios(s, f"{sys.argv[2]}/cpu-ratios.svg")
    draw_cdf(s, f"{sys.argv[2]}/pingpong-cdf.svg")
    draw_idle(s, f"{sys.argv[2]}/idle-memory.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
