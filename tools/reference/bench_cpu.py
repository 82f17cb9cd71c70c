#!/usr/bin/python3
"""bench_cpu.py: the PyTorch baseline for bench/cpu.sh: images/s of the reference's training steps
on the CPU.

Usage: bench_cpu.py [--threads N] [--batch 64] [--steps 5] [--warmup 2] [--config full|small]
                    [--set KEY=VALUE ...] [--recipes pretrain,finetune]

One step is what the reference does per optimizer step with no accumulation: forward, backward
and torch.optim.AdamW (foreach=False, the recipe's hyperparameters) on one batch. A pretraining
step includes drawing the per-image permutations (the seed draws them inside the forward); data
loading is not timed (the batch is random, uniform in [-1, 1]). After --warmup untimed steps,
--steps steps are timed one by one, and the median is reported, one line per recipe:

  pytorch pretrain config=full batch=64 threads=1 images_per_s=9.87 step_s=6.485 steps=5 torch=1.13.0

(key=value fields, for bench/cpu.sh to parse; step_s is the median step time; images_per_s_min and
images_per_s_max, of the slowest and the fastest step, follow).
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import mae_ref  # noqa: E402
import parity  # noqa: E402


def bench(recipe, cfg, batch, steps, warmup):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = mae_ref.build(recipe, cfg)
    rec = mae_ref.RECIPES[recipe]
    named = list(model.named_parameters())
    train = set(parity.trainable_names([n for n, _ in named], rec["train"].split(",")))
    params = []
    for n, p in named:
        p.requires_grad_(n in train)
        if n in train:
            params.append(p)
    opt = mae_ref.adamw(params, rec["lr"], rec["betas"], rec["eps"], rec["weight_decay"])
    img = torch.rand(batch, cfg["channels"], cfg["image"], cfg["image"], generator=gen) * 2 - 1
    labels = torch.randint(cfg["classes"], (batch,), generator=gen)
    tokens = (cfg["image"] // cfg["patch"]) ** 2

    def step():
        opt.zero_grad(set_to_none=True)
        if recipe == "pretrain":
            fi = mae_ref.random_forward_indexes(tokens, batch, gen)
            loss = mae_ref.mae_loss(model, img, fi)
        else:
            loss, _ = mae_ref.classifier_loss(model, img, labels)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def main():
    p = argparse.ArgumentParser(prog="bench_cpu.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=5, help="timed steps (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--config", choices=sorted(mae_ref.CONFIGS), default="full")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--recipes", default="pretrain,finetune",
                   help="comma-separated, of pretrain, finetune, linprobe (default pretrain,finetune)")
    args = p.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.batch < 1 or args.threads < 1:
        p.error("--steps, --batch and --threads must be positive, --warmup not negative")
    cfg = dict(mae_ref.CONFIGS[args.config])
    for item in args.set:
        key, _, text = item.partition("=")
        cfg[key] = mae_ref.parse_config_value(key, text)
    recipes = [r for r in args.recipes.split(",") if r]
    for r in recipes:
        if r not in mae_ref.RECIPES:
            p.error("--recipes: unknown recipe %r" % r)
    torch.set_num_threads(args.threads)
    for r in recipes:
        times = bench(r, cfg, args.batch, args.steps, args.warmup)
        s = statistics.median(times)
        print("pytorch %s config=%s batch=%d threads=%d images_per_s=%.2f step_s=%.4f steps=%d torch=%s "
              "images_per_s_min=%.2f images_per_s_max=%.2f"
              % (r, args.config + "".join("," + x for x in args.set), args.batch, args.threads, args.batch / s, s,
                 args.steps, torch.__version__, args.batch / max(times), args.batch / min(times)),
              flush=True)


if __name__ == "__main__":
    main()
