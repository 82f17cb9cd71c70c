#!/usr/bin/env python3
"""unit.folder: the image-folder loader (runtime/formats/folder.c, image.c) against torchvision and PIL.

Usage: folder.py TEST_FOLDER SCRATCH. Makes image folders of PNG and JPEG files (three
classes, mixed sizes, a nested folder, upper-case extensions, files that are not images),
then checks through tests/folder/test_folder.c:
  - classes, labels and file order equal torchvision's ImageFolder;
  - decoded pixels equal PIL's;
  - a crop resized (bicubic) equals torchvision's resized_crop, and Resize + CenterCrop
    equals torchvision's, within 1/255 (the loader does PIL's integer arithmetic, so 0 is
    expected);
  - a whole read (random_resized_crop + flip, or the centre crop, then ToTensor and
    Normalize), given the loader's boxes and flips, equals torchvision's within 1/255 / std,
    and the same for 1 and 3 threads;
  - train/val subfolders are the splits;
  - each bad input gets its message, and skipping counts it.
Without torchvision, the same operations of PIL that torchvision calls stand in, and the test
says so.
"""
import os
import shutil
import struct
import subprocess
import sys
import time
import warnings
import zlib

import numpy as np
from PIL import Image

warnings.filterwarnings("ignore")  # torchvision without its C extension warns on import
try:
    import torch
    import torchvision.transforms as T
    import torchvision.transforms.functional as F
    from torchvision.datasets import ImageFolder
except ImportError as e:
    T = None
    print(f"note: torchvision is not installed ({e}): PIL's operations stand in for its transforms")

exe, scratch = sys.argv[1], sys.argv[2]
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += not ok


def run(*args, fail=False):
    """test_folder's output (its message when it must fail); none may take 20 s."""
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=20)
    if (p.returncode != 0) != fail:
        print(p.stdout, p.stderr)
        raise SystemExit(f"FAIL test_folder {' '.join(map(str, args))}: exit {p.returncode}")
    return p.stdout if not fail else p.stderr


def picture(rng, w, h, mode="RGB"):
    """Smooth gradients plus noise: bicubic weights show in every pixel."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + y) * 127 / max(w + h - 2, 1)], -1)
    px = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(px, "RGB")
    return im.convert(mode)


rng = np.random.default_rng(7)
if os.path.exists(scratch):
    shutil.rmtree(scratch)
root = os.path.join(scratch, "images")
files = {
    "cat": [("a.png", 97, 61), ("b.jpg", 40, 120), ("a b.JPG", 64, 64), ("more/z.png", 33, 50), ("more/x/y.jpeg", 80, 45)],
    "dog": [("1.jpeg", 150, 100), ("10.png", 25, 31), ("2.PNG", 96, 96)],
    "Zebra": [("q.jpg", 120, 90), ("notes.txt", 0, 0), ("p.png", 55, 77)],
}
for cls, items in files.items():
    for name, w, h in items:
        path = os.path.join(root, cls, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if name.endswith(".txt"):
            open(path, "w").write("not an image\n")
        elif name.lower().endswith((".jpg", ".jpeg")):
            picture(rng, w, h).save(path, "JPEG", quality=90)
        else:
            picture(rng, w, h).save(path, "PNG")

# ---- listing
out = run("list", root, 0).splitlines()
classes = out[0].split()[1:]
samples = [(line.split(" ", 1)[1], int(line.split(" ", 1)[0])) for line in out[1:]]
if T:
    ref = ImageFolder(root)
    check(classes == ref.classes, f"classes {classes} are ImageFolder's {ref.classes}")
    check(samples == ref.samples, f"{len(samples)} images, labels and order are ImageFolder's")
else:
    check(classes == sorted(files), f"classes {classes} sorted")
check(len(samples) == 10, "10 images (notes.txt left out)")

# ---- decoding
worst = 0
for path, _ in samples:
    w, h = map(int, run("decode", path, 3, f"{scratch}/px").split())
    ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(h, w, 3)
    pil = np.asarray(Image.open(path).convert("RGB"))
    worst = max(worst, int(np.abs(ours.astype(int) - pil).max()) if ours.shape == pil.shape else 999)
check(worst == 0, f"decoded pixels equal PIL's (max |diff| {worst})")
grey = os.path.join(scratch, "grey")
os.makedirs(grey)
picture(rng, 45, 37, "L").save(f"{grey}/g.jpg", quality=85)
picture(rng, 45, 37, "L").save(f"{grey}/g.png")
for f in ("g.jpg", "g.png"):
    w, h = map(int, run("decode", f"{grey}/{f}", 1, f"{scratch}/px").split())
    ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(h, w)
    check(np.array_equal(ours, np.asarray(Image.open(f"{grey}/{f}"))), f"grey {f} equals PIL's")


# PNG files PIL cannot write, by hand: 16-bit samples, gamma chunks, tRNS, 2-bit grey, interlace
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(path, px, depth, kind, extra=b"", interlace=False):
    """px: [h, w] or [h, w, c] samples (palette indices for kind 3); extra: chunks before IDAT."""
    h, w = px.shape[:2]
    if depth == 16:
        rows = [px[y].astype(">u2").tobytes() for y in range(h)]
    else:
        per = 8 // depth
        flat = px.reshape(h, -1).astype(np.uint8)
        rows = [bytes(sum(int(v) << (8 - depth * (k + 1)) for k, v in enumerate(r[i:i + per]))
                      for i in range(0, len(r), per)) for r in flat]
    if interlace:  # Adam7: the passes' rows, each pass a sub-image
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b""
        for x0, y0, dx, dy in passes:
            sub = px[y0::dy, x0::dx]
            if sub.size:
                raw += b"".join(b"\0" + sub[y].astype(">u2" if depth == 16 else np.uint8).tobytes() for y in range(sub.shape[0]))
    else:
        raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, kind, 0, 0, int(interlace))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw))
                           + chunk(b"IEND", b""))


gamma = chunk(b"gAMA", struct.pack(">I", 100000))  # 1.0: libpng's simplified API would make it sRGB
palette = rng.integers(0, 256, 12).astype(np.uint8).tobytes()
pngs = [
    ("rgb16.png", 3, rng.integers(0, 65536, (9, 11, 3)), 16, 2, b""),
    ("rgb16-gamma.png", 3, rng.integers(0, 65536, (9, 11, 3)), 16, 2, gamma),
    ("rgb-gamma.png", 3, rng.integers(0, 256, (9, 11, 3)), 8, 2, gamma),
    ("rgb-srgb.png", 3, rng.integers(0, 256, (9, 11, 3)), 8, 2, chunk(b"sRGB", b"\0") + chunk(b"gAMA", struct.pack(">I", 45455))),
    ("rgb-trns.png", 3, rng.integers(0, 256, (9, 11, 3)), 8, 2, chunk(b"tRNS", b"\0\5\0\5\0\5")),
    ("palette-trns.png", 3, rng.integers(0, 4, (9, 11)), 8, 3, chunk(b"PLTE", palette) + chunk(b"tRNS", b"\0\x80")),
    ("grey16.png", 1, np.concatenate([rng.integers(0, 300, (4, 11)), rng.integers(0, 65536, (5, 11))]), 16, 0, gamma),
    ("grey2.png", 1, rng.integers(0, 4, (9, 12)), 2, 0, b""),
    ("grey-gamma.png", 1, rng.integers(0, 256, (9, 11)), 8, 0, gamma),
    ("interlaced.png", 3, rng.integers(0, 256, (13, 10, 3)), 8, 2, gamma, True),
]
for name, ch, px, depth, kind, extra, *interlace in pngs:
    png(f"{grey}/{name}", px, depth, kind, extra, *interlace)
    mode = "RGB" if ch == 3 else "L"
    pil = np.asarray(Image.open(f"{grey}/{name}").convert(mode))
    w, h = map(int, run("decode", f"{grey}/{name}", ch, f"{scratch}/px").split())
    ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(pil.shape if (w, h) == pil.shape[1::-1] else -1)
    worst = int(np.abs(ours.astype(int) - pil).max()) if ours.shape == pil.shape else 999
    check(worst == 0, f"{name} ({depth}-bit) equals PIL's (max |diff| {worst})")

# libjpeg's warnings PIL ignores: bytes before the EOI marker, an unknown JFIF revision
jpg = open(f"{grey}/g.jpg", "rb").read()
assert jpg.endswith(b"\xff\xd9")
open(f"{grey}/extra.jpg", "wb").write(jpg[:-2] + b"\x01\x02\x03" + jpg[-2:])
at = jpg.index(b"JFIF\0") + 5
open(f"{grey}/jfif.jpg", "wb").write(jpg[:at] + b"\x07\x09" + jpg[at + 2:])
for f in ("extra.jpg", "jfif.jpg"):
    w, h = map(int, run("decode", f"{grey}/{f}", 1, f"{scratch}/px").split())
    ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(h, w)
    check(np.array_equal(ours, np.asarray(Image.open(f"{grey}/{f}").convert("L"))), f"{f}: libjpeg's warning ignored, PIL's pixels")
open(f"{grey}/cut.jpg", "wb").write(jpg[:len(jpg) * 2 // 3])
msg = run("decode", f"{grey}/cut.jpg", 1, f"{scratch}/px", fail=True)
check("cut.jpg: a truncated JPEG file: Premature end of JPEG file" in msg, f"a truncated JPEG is refused: {msg.strip()}")


def resized_crop(im, x, y, w, h, ow, oh):
    if T:
        return np.asarray(F.resized_crop(im, y, x, h, w, [oh, ow], T.InterpolationMode.BICUBIC))
    return np.asarray(im.crop((x, y, x + w, y + h)).resize((ow, oh), Image.BICUBIC))


def resize_center(im, size, w, h):
    if T:
        return np.asarray(T.Compose([T.Resize(size, T.InterpolationMode.BICUBIC), T.CenterCrop((h, w))])(im))
    W, H = im.size
    rw, rh = (size, int(size * H / W)) if W <= H else (int(size * W / H), size)
    r = im.resize((rw, rh), Image.BICUBIC)
    x, y = int(round((rw - w) / 2.0)), int(round((rh - h) / 2.0))
    return np.asarray(r.crop((x, y, x + w, y + h)))


# ---- resampling: downscale, upscale, mixed, odd boxes
worst = 0
for path, _ in samples:
    im = Image.open(path).convert("RGB")
    W, H = im.size
    for x, y, w, h, ow, oh in [(0, 0, W, H, 32, 32), (1, 2, W - 3, H - 2, 48, 40), (W // 3, H // 4, W // 2, H // 2, 96, 96),
                               (0, 0, min(W, 7), min(H, 9), 24, 20)]:
        run("crop", path, 3, x, y, w, h, ow, oh, f"{scratch}/px")
        ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(oh, ow, 3)
        worst = max(worst, int(np.abs(ours.astype(int) - resized_crop(im, x, y, w, h, ow, oh)).max()))
check(worst <= 1, f"crop + bicubic resize is torchvision's resized_crop within 1/255 (max |diff| {worst}/255)")
worst = 0
for path, _ in samples:
    im = Image.open(path).convert("RGB")
    for size, w, h in [(36, 32, 32), (110, 96, 96), (20, 20, 16)]:
        run("center", path, 3, size, w, h, f"{scratch}/px")
        ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(h, w, 3)
        worst = max(worst, int(np.abs(ours.astype(int) - resize_center(im, size, w, h)).max()))
check(worst <= 1, f"Resize + CenterCrop is torchvision's within 1/255 (max |diff| {worst}/255)")

# extreme aspect: the coefficients are the window's only. 4000x1, 1x3000 and 40000x1 against
# torchvision whole; 1000000x1 (resized to 36000000x36) against PIL's resize of the window's
# box alone, which is the same filter (its box rounds apart from the whole resize's by
# floating point: 1 at 40000x1 already, hence within 1)
for w, h, size, bound in ((4000, 1, 36, 0), (1, 3000, 36, 0), (40000, 1, 36, 0), (1000000, 1, 36, 1)):
    png(f"{grey}/long.png", rng.integers(0, 256, (h, w, 3)), 8, 2)
    im = Image.open(f"{grey}/long.png").convert("RGB")
    t = time.time()
    run("center", f"{grey}/long.png", 3, size, 32, 16, f"{scratch}/px")
    t = time.time() - t
    ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(16, 32, 3)
    if bound == 0:
        ref = resize_center(im, size, 32, 16)
    else:
        rw, rh = (int(size * w / h), size) if w > h else (size, int(size * h / w))
        x, y = int(round((rw - 32) / 2.0)), int(round((rh - 16) / 2.0))
        sx, sy = w / rw, h / rh
        ref = np.asarray(im.resize((32, 16), Image.BICUBIC, box=(x * sx, y * sy, (x + 32) * sx, (y + 16) * sy)))
    diff = int(np.abs(ours.astype(int) - ref).max())
    check(diff <= bound and t < 5, f"{w}x{h} resized to {size} and centre-cropped in {t:.2f} s (max |diff| {diff})")
png(f"{grey}/long.png", rng.integers(0, 256, (1, 300000, 3)), 8, 2)
msg = run("center", f"{grey}/long.png", 3, 10000, 32, 16, f"{scratch}/px", fail=True)
check("long.png: resized, its longer side would pass 2^31 pixels" in msg, f"resized past 2^31: {msg.strip()}")

# ---- whole reads: transforms, ToTensor, Normalize; threads
mean = np.array([0.485, 0.495, 0.505], np.float32)
std = np.array([0.229, 0.239, 0.249], np.float32)


def normalise(px):
    if T:
        return F.normalize(F.to_tensor(Image.fromarray(px)), mean.tolist(), std.tolist()).numpy()
    return ((px.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1)


for mode in ("random", "center"):
    outs = []
    for threads in (1, 3):
        lines = run("read", root, 0, 3, 40, 48, mode, 52, 0.5, 1234, 3, threads, f"{scratch}/x{threads}").splitlines()
        outs.append(open(f"{scratch}/x{threads}", "rb").read())
    check(outs[0] == outs[1], f"{mode}: 1 and 3 threads read the same bytes")
    x = np.frombuffer(outs[0], np.float32).reshape(-1, 3, 40, 48)
    worst, flips = 0.0, 0
    for k, ((path, label), line) in enumerate(zip(samples, lines)):
        lab, bx, by, bw, bh, flip = map(int, line.split())
        im = Image.open(path).convert("RGB")
        ref = resized_crop(im, bx, by, bw, bh, 48, 40) if mode == "random" else resize_center(im, 52, 48, 40)
        if flip:
            ref = ref[:, ::-1]
        flips += flip
        worst = max(worst, float(np.abs(x[k] - normalise(np.ascontiguousarray(ref))).max()))
        assert lab == label
    check(worst <= 1 / 255 / std.min() + 1e-5,
          f"{mode} crop + flip ({flips} of {len(samples)} flipped) + Normalize is torchvision's (max |diff| {worst:.2e})")

# ---- the splits
split = os.path.join(scratch, "split")
for s, n in (("train", 3), ("val", 2)):
    for c in ("a", "b"):
        for i in range(n):
            os.makedirs(f"{split}/{s}/{c}", exist_ok=True)
            picture(rng, 20, 20).save(f"{split}/{s}/{c}/{i}.png")
check(len(run("list", split, 0).splitlines()) == 7 and "/val/" in run("list", split, 1), "train/ and val/ are the splits")
shutil.rmtree(f"{split}/val")
alone = run("list", split, 0).splitlines()
check(alone[0] == "classes train" and len(alone) == 7 and alone == run("list", split, 1).splitlines(),
      "train/ without val/ is a class, the same for both splits")
if T:
    check([(p, int(l)) for l, p in (x.split(" ", 1) for x in alone[1:])] == ImageFolder(split).samples,
          "train/ alone: ImageFolder's images and labels")

# ---- bad inputs: the message names the file, skip counts it
def bad_folder(name, make):
    d = os.path.join(scratch, "bad-" + name)
    shutil.copytree(root, d)
    make(d)
    return d


cases = [
    ("unreadable", lambda d: os.symlink("/nonexistent/x.jpg", f"{d}/cat/gone.jpg"), "cat/gone.jpg: cannot open"),
    ("not-image", lambda d: open(f"{d}/dog/fake.png", "w").write("hello"), "dog/fake.png: not a JPEG or PNG file"),
    ("rgba", lambda d: picture(rng, 20, 20, "RGBA").save(f"{d}/dog/alpha.png"), "dog/alpha.png: a PNG image of 4 channels"),
    ("grey", lambda d: picture(rng, 20, 20, "L").save(f"{d}/dog/grey.jpg"), "dog/grey.jpg: a JPEG image of 1 channel"),
    ("empty-class", lambda d: os.makedirs(f"{d}/empty"), "/empty: an empty class folder"),
    ("fifo", lambda d: os.mkfifo(f"{d}/cat/pipe.jpg"), "cat/pipe.jpg: a named pipe, not a regular file"),
    # listed as ImageFolder lists it, but only JPEG and PNG decode
    ("bmp", lambda d: picture(rng, 8, 8).save(f"{d}/dog/x.BMP", "BMP"), "dog/x.BMP: not a JPEG or PNG file"),
]
for name, make, want in cases:
    d = bad_folder(name, make)
    msg = run("list", d, 0, fail=True)
    check(want in msg and "--skip-bad-images" in msg, f"{name}: {msg.strip()}")
    out = run("list", d, 0, "skip").splitlines()
    check(out[-1].startswith("skipped 1: ") and want in out[-1], f"{name} skipped: {out[-1]}")
os.makedirs(f"{scratch}/noclass")
check("no class folders" in run("list", f"{scratch}/noclass", 0, fail=True), "a folder without class folders")
os.makedirs(f"{scratch}/noimages/a")
msg = run("list", f"{scratch}/noimages", 0, "skip", fail=True)
check("no images" in msg and ".jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp" in msg, f"a folder without images (skipping): {msg.strip()}")
msg = run("list", f"{scratch}/noimages", 0, fail=True)
check("a: an empty class folder: no files named .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp" in msg, f"an empty class: {msg.strip()}")
d = bad_folder("truncated", lambda d: None)
data = open(f"{d}/Zebra/q.jpg", "rb").read()
open(f"{d}/Zebra/q.jpg", "wb").write(data[: len(data) // 2])
msg = run("read", d, 0, 3, 16, 16, "center", 16, 0, 1, 0, 2, f"{scratch}/x", fail=True)
check("Zebra/q.jpg: a truncated JPEG file" in msg, f"truncated: {msg.strip()}")
lines = run("read", d, 0, 3, 16, 16, "center", 16, 0, 1, 0, 2, f"{scratch}/x", "skip").splitlines()
check(len(lines) == 10, "truncated, skipped: the next image stands in")
# with the cache, the same: the file keeps its place, and is found bad when read
cached = run("read", d, 0, 3, 16, 16, "center", 16, 0, 1, 0, 2, f"{scratch}/xc", "skip", "cache").splitlines()
same = open(f"{scratch}/x", "rb").read() == open(f"{scratch}/xc", "rb").read()
check(cached == lines and same, "truncated, skipped, cached: the same images, labels and bytes as uncached")
check(run("list", d, 0, "skip") == run("list", d, 0, "skip", "cache"), "truncated, cached: the same listing")
msg = run("read", d, 0, 3, 16, 16, "center", 16, 0, 1, 0, 2, f"{scratch}/x", "cache", fail=True)
check("Zebra/q.jpg: a truncated JPEG file" in msg, f"truncated, cached: {msg.strip()}")

# an image whose header claims 65500x65500 pixels is refused from the header, cached or not
jpg = bytearray(open(f"{root}/cat/b.jpg", "rb").read())
sof = jpg.index(b"\xff\xc0")
jpg[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
ihdr = struct.pack(">IIBBBBB", 65500, 65500, 8, 2, 0, 0, 0)
for name, data in (("huge.jpg", bytes(jpg)), ("huge.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                                       + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))):
    d = bad_folder(name, lambda d: open(f"{d}/dog/{name}", "wb").write(data))
    for cache in ((), ("cache",)):
        t = time.time()
        msg = run("list", d, 0, *cache, fail=True)
        t = time.time() - t
        check(f"dog/{name}: 65500x65500 pixels; the most an image may have is 2^28" in msg and t < 5,
              f"{name}{', cached' if cache else ''}, in {t:.2f} s: {msg.strip()}")

# an image that Resize would make longer than 2^31 pixels a row: refused at open
d = bad_folder("long", lambda d: png(f"{d}/cat/long.png", rng.integers(0, 256, (1, 300000, 3)), 8, 2))
msg = run("read", d, 0, 3, 16, 16, "center", 10000, 0, 1, 0, 2, f"{scratch}/x", fail=True)
check("cat/long.png: 300000x1 pixels: resized to 10000 on its shorter side, the longer would pass 2^31 pixels" in msg,
      f"resized past 2^31 in a folder: {msg.strip()}")

# a JPEG file with 1.3 MiB of comments before its frame header
jpg = open(f"{root}/cat/b.jpg", "rb").read()
comments = (b"\xff\xfe" + struct.pack(">H", 65535) + bytes(65533)) * 20
d = bad_folder("metadata", lambda d: open(f"{d}/cat/b.jpg", "wb").write(jpg[:2] + comments + jpg[2:]))
for cache in ((), ("cache",)):
    listed = run("list", d, 0, *cache).replace(d, root).splitlines()
    check(listed == run("list", root, 0).splitlines(), f"a JPEG header past the first MiB{', cached' if cache else ''}: all 10 images listed")
w, h = map(int, run("decode", f"{d}/cat/b.jpg", 3, f"{scratch}/px").split())
ours = np.fromfile(f"{scratch}/px", np.uint8).reshape(h, w, 3)
check(np.array_equal(ours, np.asarray(Image.open(f"{d}/cat/b.jpg").convert("RGB"))), "that JPEG's pixels are PIL's")

print("unit.folder:", "FAILED" if failures else "ok")
sys.exit(1 if failures else 0)
