#!/usr/bin/env python3
"""make_cifar.py: random images in CIFAR-10's binary format, for the tests that prove the
numerics (parity, cuda.emulated, robustness.trainer) on a clone without ../shared.

Writes DIR/data_batch_1.bin .. data_batch_5.bin and DIR/test_batch.bin as the official
"CIFAR-10 binary version" lays them out: 10,000 records a file, each one label byte (0..9)
and 3,072 pixel bytes (1,024 red, then green, then blue, rows top to bottom). The bytes come
from Python's Mersenne Twister seeded with SEED, so every run writes the same files. The
pixels are uniform in 0..255, so the images are noise: enough to compare two computations of
the same step, not to learn anything. Files that exist with the right size are kept.

usage: make_cifar.py DIR [--seed N]
"""
import argparse
import os
import random
import sys

RECORDS = 10_000
PIXELS = 3 * 32 * 32
FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seed", type=int, default=20261207)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rng = random.Random(a.seed)
    for name in FILES:
        path = os.path.join(a.dir, name)
        pixels = rng.randbytes(RECORDS * PIXELS)  # drawn even for a file kept: the others stay the same
        labels = bytes(rng.randrange(10) for _ in range(RECORDS))
        if os.path.exists(path) and os.path.getsize(path) == RECORDS * (1 + PIXELS):
            continue
        out = bytearray(RECORDS * (1 + PIXELS))
        for k in range(RECORDS):
            at = k * (1 + PIXELS)
            out[at] = labels[k]
            out[at + 1:at + 1 + PIXELS] = pixels[k * PIXELS:(k + 1) * PIXELS]
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(out)
        os.replace(tmp, path)
    print(f"random images in CIFAR-10's binary format in {a.dir} (seed {a.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
