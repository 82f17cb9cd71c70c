#!/usr/bin/env python3
"""Checks of a trainer's run for tests/trainer/run.sh; each subcommand exits 1 with the
reason on failure.

  plain LOG                      no control characters in output to a pipe
  quiet LOG                      --quiet: no step lines, the epoch line
  tty TYPESCRIPT EPOCHS          on a terminal: the bar redraws one line per epoch
  rundir DIR RECIPE              command.txt, config.json, metrics.csv, epochs.csv, checkpoints
  tensorboard DIR RECIPE         the event files, read by the tensorboard package, hold the
                                 reference's tags at the steps and values of metrics.csv
                                 and epochs.csv
  pictures DIR DATA              every PNG decodes (PIL); the layout; the originals are
                                 the first 16 test images; visible pixels pasted back
  cifar DIR DATA PATCH           the same for CIFAR-10 (RGB, 32x32, PATCHxPATCH patches) from
                                 a model that returns patches (models/mae-official.dsl)
  pixels PNG                     print the decoded pixels (for cmp)
  testpng DATA INDEX PNG         write test image INDEX as a PNG (PIL)
  single PNG ORIGINAL            a one-image reconstruction: its original is ORIGINAL
  sigint DIR COMMAND...          run COMMAND, SIGINT after its third step: exit 130 and
                                 a checkpoint
"""
import csv
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def test_images(data, n):
    """The first n Fashion-MNIST test images, as uint8 [n, 28, 28]."""
    path = os.path.join(data, "t10k-images-idx3-ubyte")
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    assert int.from_bytes(raw[:4], "big") == 0x803
    return np.frombuffer(raw[16:16 + n * 784], np.uint8).reshape(n, 28, 28)


def metrics(run, name="metrics.csv"):
    with open(os.path.join(run, name)) as f:
        return list(csv.DictReader(f))


def plain(log):
    text = open(log, "rb").read()
    bad = [c for c in text if c < 32 and c not in (10,) or c == 127]
    if bad:
        fail(f"{len(bad)} control characters, first {bad[0]:#x}")
    if b"step" not in text:
        fail("no step lines")


def quiet(log):
    text = open(log).read()
    if re.search(r"^epoch \d+ step", text, re.M):
        fail("--quiet printed step lines")
    if "stopped by --steps" not in text:
        fail("no epoch line")


def tty(typescript, epochs):
    text = open(typescript, "rb").read().decode("utf-8", "replace")
    lines = text.replace("\r\n", "\n").split("\n")
    bars = [l for l in lines if "\r" in l and "\x1b[K" in l]
    if len(bars) != int(epochs):
        fail(f"{len(bars)} redrawn lines, not one per epoch ({epochs}):\n{text!r}"[:2000])
    for b in bars:
        draws = b.split("\r")[1:]
        if len(draws) < 2 or not all(d.endswith("\x1b[K") for d in draws):
            fail(f"a bar line is not redrawn in place: {b!r}"[:500])
        last = draws[-1][:-len("\x1b[K")]
        if not re.fullmatch(r"epoch \d+ \[#+\] (\d+)/\1  loss [0-9.]+  lr [0-9.e+-]+  \d+ img/s  eta [0-9:]+",
                            last) or len(last) > 79:
            fail(f"the last bar of an epoch is not complete, or wider than 80 columns: {last!r}")
    if "\x1b" in "".join(l for l in lines if l not in bars):
        fail("escape sequences outside the bar lines")


def rundir(run, recipe):
    for f in ["command.txt", "config.json", "metrics.csv", "epochs.csv", "loss.svg", f"{recipe}.safetensors",
              f"{recipe}.optim.safetensors"]:
        if not os.path.isfile(os.path.join(run, f)):
            fail(f"{run} has no {f}")
    cmd = open(os.path.join(run, "command.txt")).read()
    if f" {recipe} " not in cmd or "--vis-every 4" not in cmd:
        fail(f"command.txt is not the command line: {cmd!r}")
    cfg = json.load(open(os.path.join(run, "config.json")))
    for key, want in [("recipe", recipe), ("batch", 64), ("limit", 512), ("epochs", 2), ("vis_every", 4),
                      ("precision", "fp32"), ("recompute", "none")]:
        if cfg.get(key) != want:
            fail(f"config.json {key} = {cfg.get(key)!r}, not {want!r}")
    if not re.fullmatch(r"[0-9a-f]{16}", cfg["model_hash"]) or not cfg["maec_version"]:
        fail(f"config.json: model_hash {cfg['model_hash']!r}, maec_version {cfg['maec_version']!r}")
    if cfg["constants"].get("dim") != 32:
        fail("config.json lacks the constants")
    steps = [(int(r["step"]), int(r["epoch"])) for r in metrics(run)]
    if steps != [(k, (k - 1) // 8) for k in range(1, 17)]:  # every step, 8 to an epoch
        fail(f"metrics.csv steps {steps}")
    epochs = [(int(r["epoch"]), int(r["step"])) for r in metrics(run, "epochs.csv")]
    if epochs != [(0, 8), (1, 16)]:
        fail(f"epochs.csv rows {epochs}")
    svg = open(os.path.join(run, "loss.svg")).read()
    if not svg.startswith("<svg") or svg.count("<polyline") < 1 or not svg.rstrip().endswith("</svg>"):
        fail("loss.svg is not an SVG with a curve")


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def close(a, b):
    return abs(a - b) <= 1e-6 + 1e-6 * abs(b)  # float32 rounding of a double


def records(path):
    """Every record of an event file through tensorboard's own reader, which checks both
    CRCs of each and raises on a mismatch."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import errors
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
    r = PyRecordReader_New(path)
    out = []
    while True:
        try:
            r.GetNext()
        except errors.OutOfRangeError:
            return out
        out.append(event_pb2.Event.FromString(r.record()))


def tensorboard(run, recipe):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import crc32c
    if crc32c(b"123456789") != 0xE3069283:  # the CRC-32C check value
        fail("tensorboard's crc32c is not CRC-32C")
    step_rows = metrics(run)
    names = [k for k in step_rows[0].keys() if k not in ("step", "epoch", "lr", "seconds", "images_per_s")]
    epoch_rows = metrics(run, "epochs.csv")
    files = [f for f in os.listdir(run) if f.startswith("events.out.tfevents.")]
    if len(files) != 1:
        fail(f"{len(files)} event files in {run}")
    evs = records(os.path.join(run, files[0]))
    if evs[0].file_version != "brain.Event:2":
        fail(f"first record {evs[0]}")
    acc = EventAccumulator(run, size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    want = {"lr", "images_per_s"} | {f"step/{n}" for n in names}
    if recipe == "pretrain":
        want.add("mae_loss")
    if not want <= set(tags["scalars"]):
        fail(f"scalars {tags['scalars']}, want {sorted(want)}")
    for tag, col in [("lr", "lr"), ("images_per_s", "images_per_s")] + [(f"step/{n}", n) for n in names]:
        got = scalars(acc, tag)
        exp = [(int(r["step"]), float(r[col])) for r in step_rows]
        if [s for s, _ in got] != [s for s, _ in exp]:
            fail(f"{tag}: steps {[s for s, _ in got]}, metrics.csv {[s for s, _ in exp]}")
        if col != "images_per_s" and not all(close(g, e) for (_, g), (_, e) in zip(got, exp)):
            fail(f"{tag}: {got} against metrics.csv {exp}")
    if recipe == "pretrain":
        got = scalars(acc, "mae_loss")
        exp = [(int(r["epoch"]), float(r["train_loss"])) for r in epoch_rows]
        if [s for s, _ in got] != [s for s, _ in exp] or not all(close(g, e) for (_, g), (_, e) in zip(got, exp)):
            fail(f"mae_loss {got}, metrics.csv {exp}")
        imgs, step_imgs = acc.Images("mae_image"), acc.Images("mae_image/step")
        if [i.step for i in imgs] != [0, 1] or [i.step for i in step_imgs] != [4, 8, 12, 16]:
            fail(f"mae_image at epochs {[i.step for i in imgs]}, mae_image/step at {[i.step for i in step_imgs]}")
        imgs += step_imgs
        for i in imgs:
            if (i.width, i.height) != (168, 224) or not i.encoded_image_string.startswith(b"\x89PNG"):
                fail(f"mae_image {i.width}x{i.height}")
        print(f"{len(evs)} records; scalars {sorted(tags['scalars'])}; {len(imgs)} images")
        return
    for sub, tag, col in [("cls_loss_train", "cls/loss", "train_loss"), ("cls_loss_val", "cls/loss", "val_loss"),
                          ("cls_acc_train", "cls/acc", "train_acc"), ("cls_acc_val", "cls/acc", "val_acc")]:
        a = EventAccumulator(os.path.join(run, sub))
        a.Reload()
        got = scalars(a, tag)
        exp = [(int(r["epoch"]), float(r[col])) for r in epoch_rows]
        if len(exp) != 2 or [s for s, _ in got] != [s for s, _ in exp] or not all(
                close(g, e) for (_, g), (_, e) in zip(got, exp)):
            fail(f"{sub} {tag}: {got}, metrics.csv {exp}")
        print(f"{sub}: {tag} {got}")


def decode(path):
    im = Image.open(path)
    im.load()  # decodes every row: a corrupt file raises here
    return np.asarray(im)


def pictures(run, data):
    files = sorted(os.listdir(os.path.join(run, "images")))
    want = ["epoch-000.png", "epoch-001.png", "step-000004.png", "step-000008.png", "step-000012.png",
            "step-000016.png"]
    if files != want:
        fail(f"images/ holds {files}")
    orig = test_images(data, 16)
    for f in files:
        px = decode(os.path.join(run, "images", f))
        if px.shape != (8 * 28, 6 * 28) or px.dtype != np.uint8:
            fail(f"{f}: {px.shape} {px.dtype}, not 224x168 grey")
        for k in range(16):
            y, x = k // 2 * 28, k % 2 * 3 * 28
            masked, recon, original = (px[y:y + 28, x + j * 28:x + (j + 1) * 28] for j in range(3))
            if not np.array_equal(original, orig[k]):
                fail(f"{f}: original {k} is not test image {k}")
            # per 4x4 patch: removed (all grey: 0 in [-1, 1]) or visible (the original's pixels)
            removed = visible = 0
            for py in range(0, 28, 4):
                for px_ in range(0, 28, 4):
                    m, r, o = (a[py:py + 4, px_:px_ + 4] for a in (masked, recon, original))
                    if np.array_equal(m, o):
                        visible += 1
                        if not np.array_equal(r, o):
                            fail(f"{f}: image {k}: a visible patch is not pasted back")
                    elif np.all(m == 128):
                        removed += 1
                    else:
                        fail(f"{f}: image {k}: a patch of the masked input is neither grey nor the original")
            if removed + visible != 49 or not 33 <= removed <= 37:  # 37 removed, fewer if grey originals
                fail(f"{f}: image {k}: {removed} of 49 patches removed, not 37")
    print(f"{len(files)} pictures decode; originals, masks and pasted pixels as expected")


def cifar(run, data, patch):
    """models/mae-official.dsl returns [L, p*p*C] patches and an [L] mask: the picture must
    put every patch back in its place, in colour."""
    p = int(patch)
    px = decode(os.path.join(run, "images", "epoch-000.png"))
    if px.shape != (8 * 32, 6 * 32, 3):
        fail(f"picture {px.shape}, not 256x192 RGB")
    raw = open(os.path.join(data, "test_batch.bin"), "rb").read()
    removed_all = []
    for k in range(16):
        orig = np.frombuffer(raw[k * 3073 + 1:(k + 1) * 3073], np.uint8).reshape(3, 32, 32).transpose(1, 2, 0)
        y, x = k // 2 * 32, k % 2 * 3 * 32
        masked, recon, original = (px[y:y + 32, x + j * 32:x + (j + 1) * 32] for j in range(3))
        if not np.array_equal(original, orig):
            fail(f"original {k} is not CIFAR-10 test image {k}")
        removed = 0
        for py in range(0, 32, p):
            for qx in range(0, 32, p):
                m, r, o = (a[py:py + p, qx:qx + p] for a in (masked, recon, original))
                if np.array_equal(m, o):
                    if not np.array_equal(r, o):
                        fail(f"image {k}: a visible patch is not pasted back")
                elif np.all(m == 128):
                    removed += 1
                else:
                    fail(f"image {k}: a patch of the masked input is neither grey nor the original")
        removed_all.append(removed)
    tokens = (32 // p) ** 2
    if set(removed_all) != {tokens - int(tokens * 0.25)}:
        fail(f"patches removed per image {removed_all}, not 75% of {tokens}")
    print(f"16 RGB triplets, {removed_all[0]} of {tokens} patches removed in each, the rest pasted back")


def pixels(path):
    px = decode(path)
    print(px.shape, px.dtype)
    np.savetxt(sys.stdout, px.reshape(px.shape[0], -1), fmt="%d")


def testpng(data, index, path):
    Image.fromarray(test_images(data, int(index) + 1)[int(index)]).save(path)


def single(path, original):
    px, orig = decode(path), decode(original)
    if px.shape != (28, 84) or not np.array_equal(px[:, 56:], orig):
        fail(f"{path}: {px.shape}, or its original is not {original}")


def sigint(run, *cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    csv_path = os.path.join(run, "metrics.csv")
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(csv_path) and sum(1 for _ in open(csv_path)) >= 4:  # the header and 3 steps
            break
        time.sleep(0.02)
    if p.poll() is not None:
        fail(f"the run ended before the signal:\n{p.stdout.read().decode()}")
    p.send_signal(signal.SIGINT)
    out = p.communicate(timeout=120)[0].decode()
    print(out)
    if p.returncode != 130:
        fail(f"exit {p.returncode}, not 130")
    m = re.search(r"interrupted after step (\d+)", out)
    if not m or not os.path.isfile(os.path.join(run, "pretrain.optim.safetensors")):
        fail("no checkpoint reported")
    steps = [int(r["step"]) for r in metrics(run)]
    if steps[-1] != int(m.group(1)):
        fail(f"metrics.csv ends at step {steps[-1]}, the checkpoint at {m.group(1)}")


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
