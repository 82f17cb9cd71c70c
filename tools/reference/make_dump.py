#!/usr/bin/python3
"""make_dump.py --out DUMP.safetensors: writes a synthetic step dump in the format check_step.py
(or, with --steps N, check_steps.py) reads, computed by PyTorch itself, so the checkers can be
tested without maec's trainer.

Usage: make_dump.py --out PATH [--model mae|official] [--recipe pretrain|finetune|linprobe] [--config full|small]
                    [--set KEY=VALUE ...] [--batch B] [--micro-batches M] [--steps N] [--seed S]
                    [--precision f64|f32] [--lr LR] [--perturb-grad NAME [--perturb-rel R]]
                    [--threads N]

Parameters are initialised like the reference (mae: trunc_normal(0.02) tokens and position
embeddings, PyTorch's default Linear/Conv2d init, LayerNorm 1 and 0; the classifier sits on a
fresh MAE encoder; official: models_mae.py's initialize_weights, the sin-cos tables frozen), the input is uniform in [-1, 1], labels uniform in 0..classes-1, and each
image's permutation uniform. The step is computed in float64 by default (--precision f64) and
stored as float32, and param_after comes from a transcription of AdamW's formula in float64
rather than torch.optim: the dump is then an independent computation, and check_step.py passing
on it shows the tolerances have headroom over float32 rounding, not only that PyTorch agrees
with itself.

--perturb-grad NAME multiplies the largest-magnitude element of grad.NAME by 1 + R (R default
1e-3, so the error is exactly R relative) and computes param_after from the perturbed gradient,
as a trainer with that bug would: check_step.py must then fail on grad.NAME alone.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import mae_ref  # noqa: E402
import parity  # noqa: E402
import safetensors_io  # noqa: E402


def adamw_update(p, g, m, v, step, lr, betas, eps, wd):
    """One AdamW step on float64 tensors (decoupled weight decay, bias-corrected moments), written
    from the algorithm in Loshchilov & Hutter / torch.optim.AdamW's documentation. step counts
    from 1. Returns the new (p, m, v)."""
    b1, b2 = betas
    p = p * (1 - lr * wd)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** step)
    v_hat = v / (1 - b2 ** step)
    return p - lr * m_hat / (v_hat.sqrt() + eps), m, v


def main():
    p = argparse.ArgumentParser(prog="make_dump.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--model", choices=sorted(parity.FAMILIES), default="mae",
                   help="mae (mae_ref.py, models/mae.dsl) or official (official_ref.py, models/mae-official.dsl)")
    p.add_argument("--recipe", choices=sorted(mae_ref.RECIPES), default="pretrain")
    p.add_argument("--config", choices=sorted(mae_ref.CONFIGS), default="full")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--micro-batches", type=int, default=None, help="default 1; 2 with --steps")
    p.add_argument("--steps", type=int, default=0, help="write the multi-step format with N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=("f64", "f32"), default="f64")
    p.add_argument("--lr", type=float, default=None, help="default: the recipe's (times the schedule with --steps)")
    p.add_argument("--perturb-grad", metavar="NAME")
    p.add_argument("--perturb-rel", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    fam = parity.FAMILIES[args.model]
    if args.recipe not in fam.RECIPES:
        p.error("--model %s has no recipe %s" % (args.model, args.recipe))
    cfg = dict(fam.CONFIGS[args.config])
    for item in args.set:
        key, _, text = item.partition("=")
        cfg[key] = fam.parse_config_value(key, text)
    rec = fam.RECIPES[args.recipe]
    steps = args.steps
    m = args.micro_batches or (2 if steps else 1)
    if args.batch % m:
        p.error("--batch %d does not split into %d micro-batches" % (args.batch, m))
    if steps and args.perturb_grad:
        p.error("--perturb-grad is for the one-step format")
    dtype = torch.float64 if args.precision == "f64" else torch.float32
    base_lr = args.lr if args.lr is not None else rec["lr"]
    # One learning rate per step; with --steps, the recipe's schedule as if each step were an
    # epoch (warm-up 5 of 100), so that the per-step list is exercised.
    lrs = [base_lr * fam.lr_multiplier(k, 5, 100) for k in range(steps)] if steps else [base_lr]

    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    model = fam.build(args.recipe, cfg)
    named = list(model.named_parameters())
    names = [n for n, _ in named]
    train = set(parity.trainable_names(names, rec["train"].split(","), parity.frozen_names(named)))
    T = (cfg["image"] // cfg["patch"]) ** 2

    out = {}
    for n, q in named:
        out["param." + n] = q.detach().clone()

    def inputs():
        img = torch.rand(args.batch, cfg["channels"], cfg["image"], cfg["image"], generator=gen) * 2 - 1
        fi = fam.random_forward_indexes(T, args.batch, gen) if args.recipe == "pretrain" else None
        labels = torch.randint(cfg["classes"], (args.batch,), generator=gen) if args.recipe != "pretrain" else None
        return img, fi, labels

    def put_inputs(suffix, img, fi, labels):
        out["input" + suffix] = img
        if fi is not None:
            out["forward_indexes" + suffix] = fi.long()
        if labels is not None:
            out["labels" + suffix] = labels.long()

    work = model.to(dtype)  # the computation (model's own float32 values are already in `out`)
    wnamed = list(work.named_parameters())
    for n, q in wnamed:
        q.requires_grad_(n in train)
    state = {n: (torch.zeros_like(q, dtype=torch.float64), torch.zeros_like(q, dtype=torch.float64))
             for n, q in wnamed if n in train}
    hp = dict(betas=rec["betas"], eps=rec["eps"], wd=rec["weight_decay"])

    def step(k, lr, grads):
        """AdamW on the float64 copies of the current params with the given (float32) grads."""
        with torch.no_grad():
            for n, q in wnamed:
                if n in train:
                    m1, v1 = state[n]
                    new, m1, v1 = adamw_update(q.double(), grads[n].double(), m1, v1, k + 1, lr, hp["betas"],
                                               hp["eps"], hp["wd"])
                    state[n] = (m1, v1)
                    q.copy_(new.to(dtype))

    for k in range(max(steps, 1)):
        suffix = ".%d" % k if steps else ""
        img, fi, labels = inputs()
        put_inputs(suffix, img, fi, labels)
        work.zero_grad(set_to_none=True)
        losses, logits = parity.run_step(work, args.recipe, img.to(dtype), fi, labels, m, fam)
        out["loss" + suffix] = torch.tensor(sum(losses) / m, dtype=torch.float32)
        grads = {n: q.grad.float() for n, q in wnamed if n in train}
        if not steps:
            if logits is not None:
                out["logits"] = logits.float()
            if args.perturb_grad:
                if args.perturb_grad not in grads:
                    p.error("--perturb-grad %s: not a trainable parameter" % args.perturb_grad)
                g = grads[args.perturb_grad].reshape(-1)
                i = int(g.abs().argmax())
                g[i] = g[i] * (1 + args.perturb_rel)
            for n in names:
                if n in train:
                    out["grad." + n] = grads[n]
        step(k, lrs[k], grads)
    if steps:
        for n, q in wnamed:
            out["param_final." + n] = q.detach().float().clone()
    else:
        for n, q in wnamed:
            out["param_after." + n] = q.detach().float().clone()

    meta = {
        "recipe": args.recipe,
        "lr": ",".join(repr(x) for x in lrs),
        "betas": "%r,%r" % rec["betas"],
        "eps": repr(rec["eps"]),
        "weight_decay": repr(rec["weight_decay"]),
        "micro_batches": str(m),
        "train": rec["train"],
        "generator": "tools/reference/make_dump.py seed=%d precision=%s%s" % (
            args.seed, args.precision, " perturb=%s*(1+%g)" % (args.perturb_grad, args.perturb_rel)
            if args.perturb_grad else ""),
    }
    if steps:
        meta["steps"] = str(steps)
    for key in fam.CONFIG_KEYS:  # official: eps is the LayerNorm constant, replacing AdamW's, as maec writes it
        meta[key] = repr(cfg[key])
    if hasattr(fam, "derived"):
        for key, value in fam.derived(cfg).items():
            meta[key] = repr(value)
    safetensors_io.write(args.out, out, meta)
    print("make_dump.py: wrote %s: %s, %d tensors, %s" % (
        args.out, args.recipe, len(out), "%d steps" % steps if steps else "one step"))


if __name__ == "__main__":
    main()
