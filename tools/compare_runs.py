#!/usr/bin/python3
"""compare_runs.py BASE.csv OTHER.csv: two training runs' losses, as 10-step means, side by side.

Usage: compare_runs.py BASE OTHER [--labels A,B] [--window 10] [--after 50] [--within 0.02]
                       [--svg FILE]

BASE and OTHER are trainers' metrics.csv files (step, epoch, loss, ...). At every step s from
the window's size on, the mean of the losses of steps s-window+1..s is taken in each run; the
check is |other - base| <= within * base at every s after --after. Prints the worst point and
every 50th, draws both curves into FILE when --svg is given (a plain SVG, no dependencies), and
exits 1 when the check fails or a file is malformed.
"""
import argparse
import csv
import sys


def losses(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "step" not in rows[0] or "loss" not in rows[0]:
        sys.exit("compare_runs.py: %s: not a metrics.csv (step and loss columns)" % path)
    return {int(r["step"]): float(r["loss"]) for r in rows}


def means(loss, window):
    steps = sorted(loss)
    out = {}
    for i in range(window - 1, len(steps)):
        s = steps[i - window + 1:i + 1]
        if s[-1] - s[0] == window - 1:
            out[s[-1]] = sum(loss[k] for k in s) / window
    return out


def svg(path, curves, labels, title):
    w, h, ml, mr, mt, mb = 640, 360, 60, 20, 30, 40
    xs = [s for c in curves for s in c]
    ys = [v for c in curves for v in c.values()]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad = (y1 - y0) * 0.05 or 0.01
    y0, y1 = y0 - pad, y1 + pad
    px = lambda s: ml + (s - x0) / max(x1 - x0, 1) * (w - ml - mr)  # noqa: E731
    py = lambda v: mt + (y1 - v) / (y1 - y0) * (h - mt - mb)  # noqa: E731
    colors = ["#1f77b4", "#d62728"]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
             'font-size="12">' % (w, h), '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="18" font-size="14">%s</text>' % (ml, title)]
    for k in range(5):
        v = y0 + (y1 - y0) * k / 4
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (ml, w - mr, py(v), py(v)))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%.4f</text>' % (ml - 4, py(v) + 4, v))
    for k in range(5):
        s = x0 + (x1 - x0) * k / 4
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (px(s), h - mb + 16, s))
    parts.append('<text x="%d" y="%d" text-anchor="middle">step</text>' % ((ml + w - mr) // 2, h - 6))
    for c, label, color, i in zip(curves, labels, colors, range(2)):
        pts = " ".join("%.1f,%.1f" % (px(s), py(v)) for s, v in sorted(c.items()))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (color, pts))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>' % (w - mr - 120, mt + 16 + 16 * i, color, label))
    parts.append("</svg>\n")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("base")
    p.add_argument("other")
    p.add_argument("--labels", default="base,other")
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--after", type=int, default=50)
    p.add_argument("--within", type=float, default=0.02)
    p.add_argument("--svg")
    a = p.parse_args()
    labels = a.labels.split(",")
    if len(labels) != 2:
        sys.exit("compare_runs.py: --labels takes two names, A,B")
    base, other = means(losses(a.base), a.window), means(losses(a.other), a.window)
    common = sorted(s for s in base if s in other and s > a.after)
    if not common:
        sys.exit("compare_runs.py: no step after %d in both runs" % a.after)
    worst = max(common, key=lambda s: abs(other[s] - base[s]) / base[s])
    print("%d-step mean loss, %s against %s, steps %d..%d:" % (a.window, labels[1], labels[0], common[0], common[-1]))
    print("%8s %12s %12s %10s" % ("step", labels[0], labels[1], "rel diff"))
    for s in common:
        if s % 50 == 0 or s == worst:
            print("%8d %12.6f %12.6f %+10.4f%s" % (s, base[s], other[s], (other[s] - base[s]) / base[s],
                                                   "  (worst)" if s == worst else ""))
    rel = abs(other[worst] - base[worst]) / base[worst]
    if a.svg:
        svg(a.svg, [base, other], labels, "%d-step mean pretraining loss" % a.window)
        print("drew %s" % a.svg)
    if rel <= a.within:
        print("ok: within %g at every step after %d (worst %.4f at step %d)" % (a.within, a.after, rel, worst))
        return 0
    print("FAIL: %.4f at step %d, more than %g" % (rel, worst, a.within))
    return 1


if __name__ == "__main__":
    sys.exit(main())
