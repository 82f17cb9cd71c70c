#!/usr/bin/env python3
"""bench/gpu.py: images/s of the MAE pretraining step on a GPU, the generated CUDA trainer
against the PyTorch reference (tools/reference/mae_ref.py) in eager mode and under
torch.compile, at the same precision, in the same run; with peak device memory.

usage: bench/gpu.py --trainer PATH [--trainer-bf16 PATH] --data DIR [--batch 512] [--steps 20]
                    [--warmup 5] [--precisions fp32,tf32,bf16] [--compile tf32] [--sdpa bf16]
                    [--json FILE]

One step is a whole optimizer step on one batch: forward, backward, AdamW.
  - maec: fp32 and tf32 run --trainer (f32 storage), bf16 runs --trainer-bf16 (bf16
    storage, compiled in by maec --precision=bf16). The trainer runs `pretrain --batch B --steps warmup+steps` on DIR (CIFAR-10
    binary files; random images are as good as real ones for timing) and the median of
    the timed steps' `seconds` in metrics.csv is taken (data loading overlaps the step in
    a background thread, as in training). Peak memory is what the trainer allocated on
    the device (its "device memory" line). The time to the first step's end, from the
    process's start, is measured with a cold and a warm kernel cache.
  - PyTorch: the reference model on the GPU, random images, the permutations drawn on
    the GPU, torch.optim.AdamW (its default multi-tensor implementation), timed with CUDA
    events; peak memory is torch.cuda.max_memory_allocated. fp32 turns TF32 off, tf32 on;
    bf16 runs the forward and backward under autocast(bfloat16) with fp32 master weights.
  - The baseline a user would pick (--sdpa, default bf16): the same model with its
    attention through torch.nn.functional.scaled_dot_product_attention (flash or
    memory-efficient kernels), eager and under torch.compile.
Prints one table at the end.
"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "reference"))

import torch  # noqa: E402

import mae_ref  # noqa: E402


def sdpa_forward(self, x):
    """mae_ref.Attention.forward through scaled_dot_product_attention (PyTorch 2; its default
    scale, head_dim ** -0.5, is the model's)."""
    B, N, C = x.shape
    qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
    o = torch.nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
    return self.proj(o.transpose(1, 2).reshape(B, N, C))


def use_sdpa(model):
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        raise RuntimeError("PyTorch %s has no scaled_dot_product_attention" % torch.__version__)
    for m in model.modules():
        if isinstance(m, mae_ref.Attention):
            m.forward = sdpa_forward.__get__(m)


def run_maec(trainer, data, batch, steps, warmup, precision, cache, env_extra=None):
    out = tempfile.mkdtemp(prefix="maec-bench-")
    env = dict(os.environ, MAEC_CACHE_DIR=cache, **(env_extra or {}))
    cmd = [trainer, "pretrain", "--data", data, "--batch", str(batch), "--steps", str(warmup + steps),
           "--precision", precision, "--out", os.path.join(out, "run"), "--log-every", "1"]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    first, mem, lines = None, None, []
    for line in p.stdout:
        lines.append(line)
        if first is None and re.search(r"\bstep 1\b", line):
            first = time.perf_counter() - t0
        m = re.search(r"device memory: ([0-9.]+) MiB", line)
        if m:
            mem = float(m.group(1))
        if "kernels for sm_" in line:
            print("  %s: %s" % (precision, line.strip()), flush=True)
    rc = p.wait()
    if rc != 0:
        sys.stdout.write("".join(lines[-20:]))
        raise RuntimeError("%s exited with %d" % (" ".join(cmd), rc))
    with open(os.path.join(out, "run", "metrics.csv")) as f:
        secs = [float(r["seconds"]) for r in csv.DictReader(f) if r.get("seconds")]
    timed = secs[warmup:]
    return {"step_s": statistics.median(timed), "min_s": min(timed), "max_s": max(timed), "first_step_s": first,
            "mem_mib": mem}


def run_torch(batch, steps, warmup, precision, compiled, sdpa=False):
    torch.manual_seed(0)
    cfg = mae_ref.CONFIGS["full"]
    rec = mae_ref.RECIPES["pretrain"]
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    model = mae_ref.build("pretrain", cfg).to(dev)
    if sdpa:
        use_sdpa(model)
    opt = torch.optim.AdamW(model.parameters(), lr=rec["lr"], betas=tuple(rec["betas"]), eps=rec["eps"],
                            weight_decay=rec["weight_decay"])
    tokens = (cfg["image"] // cfg["patch"]) ** 2
    img = torch.rand(batch, cfg["channels"], cfg["image"], cfg["image"], device=dev) * 2 - 1

    def loss_fn(img, fi):
        return mae_ref.mae_loss(model, img, fi)

    fwd = torch.compile(loss_fn) if compiled else loss_fn

    def step():
        fi = torch.argsort(torch.rand(tokens, batch, device=dev), dim=0)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = fwd(img, fi)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    step()
    torch.cuda.synchronize()
    first = time.perf_counter() - t0
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        step()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / 1000)
    mem = torch.cuda.max_memory_allocated() / 2**20
    del model, opt
    torch.cuda.empty_cache()
    return {"step_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "first_step_s": first,
            "mem_mib": mem}


def main():
    p = argparse.ArgumentParser(prog="bench/gpu.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--trainer", required=True, help="a CUDA trainer with f32 storage (maec --precision=tf32 or fp32)")
    p.add_argument("--trainer-bf16", help="one with bf16 storage (maec --precision=bf16, the CUDA target's default)")
    p.add_argument("--data", required=True)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--precisions", default="fp32,tf32,bf16")
    p.add_argument("--compile", default="tf32", help="precisions to run torch.compile at ('' for none)")
    p.add_argument("--sdpa", default="bf16", help="precisions to run the SDPA model at, eager and compiled ('' for none)")
    p.add_argument("--json")
    args = p.parse_args()
    precisions = [x for x in args.precisions.split(",") if x]
    compiled = [x for x in args.compile.split(",") if x]
    sdpa = [x for x in args.sdpa.split(",") if x]
    rows = []
    cache = tempfile.mkdtemp(prefix="maec-cache-")
    for prec in precisions:
        trainer = args.trainer_bf16 if prec == "bf16" else args.trainer
        if not trainer:  # bf16 is a storage policy, compiled in (maec --precision=bf16)
            print("maec bf16: skipped: no --trainer-bf16 (a trainer compiled with maec --precision=bf16)", flush=True)
            continue
        m = run_maec(trainer, args.data, args.batch, args.steps, args.warmup, prec, cache)
        rows.append(("maec", prec, m))
        print("maec %s: %.1f img/s (median step %.4f s), first step %.1f s, %.0f MiB" %
              (prec, args.batch / m["step_s"], m["step_s"], m["first_step_s"] or -1, m["mem_mib"] or -1), flush=True)
    for prec in precisions:
        e = run_torch(args.batch, args.steps, args.warmup, prec, False)
        rows.append(("pytorch eager", prec, e))
        print("pytorch eager %s: %.1f img/s, %.0f MiB" % (prec, args.batch / e["step_s"], e["mem_mib"]), flush=True)
    for prec in compiled:
        try:
            c = run_torch(args.batch, args.steps, args.warmup, prec, True)
        except Exception as exc:  # torch.compile needs a working inductor toolchain
            print("torch.compile %s: failed: %s" % (prec, exc), flush=True)
            continue
        rows.append(("torch.compile", prec, c))
        print("torch.compile %s: %.1f img/s, %.0f MiB, first step %.1f s" %
              (prec, args.batch / c["step_s"], c["mem_mib"], c["first_step_s"]), flush=True)
    for prec in sdpa:
        for who, comp in (("eager+sdpa", False), ("compile+sdpa", True)):
            try:
                r = run_torch(args.batch, args.steps, args.warmup, prec, comp, sdpa=True)
            except Exception as exc:  # torch.compile needs a working inductor toolchain
                print("%s %s: failed: %s" % (who, prec, exc), flush=True)
                continue
            rows.append((who, prec, r))
            print("%s %s: %.1f img/s, %.0f MiB, first step %.1f s" %
                  (who, prec, args.batch / r["step_s"], r["mem_mib"], r["first_step_s"]), flush=True)
    name = torch.cuda.get_device_name()
    print("\nMAE pretraining step, batch %d, %s; median of %d steps after %d warm-up (min-max in img/s)" %
          (args.batch, name, args.steps, args.warmup))
    print("%-14s %-5s %10s %17s %10s %12s %11s %11s" % ("", "prec", "img/s", "min-max", "step ms", "peak MiB",
                                                           "vs eager", "vs compile"))
    base = {(w, pr): r for w, pr, r in rows}
    for who, prec, r in rows:
        ips = args.batch / r["step_s"]
        e = base.get(("pytorch eager", prec))
        c = base.get(("torch.compile", prec))
        print("%-14s %-5s %10.0f %8.0f-%-8.0f %10.1f %12.0f %11s %11s" % (
            who, prec, ips, args.batch / r["max_s"], args.batch / r["min_s"], r["step_s"] * 1000, r["mem_mib"] or -1,
            "%.2fx" % (e["step_s"] / r["step_s"]) if e else "-", "%.2fx" % (c["step_s"] / r["step_s"]) if c else "-"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "batch": args.batch, "rows": [[w, pr, r] for w, pr, r in rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
