#!/usr/bin/python3
"""check_bf16.py DUMP.safetensors: one step of a trainer compiled with maec --precision=bf16
against the PyTorch reference in float64, on the dump's parameters, images and permutations.

Usage: check_bf16.py DUMP [--recipe pretrain|finetune|linprobe] [--config full|small]
                          [--set KEY=VALUE ...] [--threads N] [--verbose]

The dump is check_step.py's (README.md). bf16 storage rounds every activation that goes to
memory to 8 bits of mantissa, so the float32 parity tolerances do not apply; the bounds are
issue 14's:
  the loss within 1e-2 relative (logits, when the recipe has them, too);
  every parameter's gradient with cosine similarity >= 0.99 to the reference's and
  max-normalised error (max|got - ref| / max|ref|) <= 5e-2.
Prints, per group of gradients, the lowest cosine and the largest error with their tensors
(every tensor with --verbose), and exits 1 if a bound fails or the dump is malformed.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import parity  # noqa: E402
import safetensors_io  # noqa: E402
from parity import F32  # noqa: E402

PROG = "check_bf16.py"
TOL_LOSS = 1e-2
MIN_COSINE = 0.99
TOL_GRAD = 5e-2


def cosine(got, ref):
    g, r = got.double().reshape(-1), ref.double().reshape(-1)
    ng, nr = float(g.norm()), float(r.norm())
    if ng == 0 and nr == 0:
        return 1.0
    if ng == 0 or nr == 0 or math.isnan(ng):
        return 0.0
    return float(g @ r) / (ng * nr)


def check(args):
    tensors, meta = safetensors_io.read(args.dump)
    fam, recipe, cfg, hp = parity.resolve(meta, args)
    parity.describe(PROG, args.dump, fam, recipe, cfg, hp, "; the reference in float64")
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)  # the initial values are overwritten
    model = fam.build(recipe, cfg).double()
    parity.load_params(model, tensors)  # the f32 master weights, widened exactly
    named = list(model.named_parameters())
    frozen = parity.frozen_names(named)
    train = set(parity.trainable_names([n for n, _ in named], hp["train"], frozen))
    for n, p in named:
        p.requires_grad_(n in train)
    img, fi, labels = parity.step_inputs(tensors, recipe, cfg)
    img = img.double()
    m = hp["micro_batches"]
    loss_t = parity.get(tensors, "loss", F32)
    grads = {n: parity.get(tensors, "grad." + n, F32, list(p.shape)) for n, p in named if n in train}
    model.zero_grad(set_to_none=True)
    losses, logits = parity.run_step(model, recipe, img, fi, labels, m, fam)

    failures = []
    got_loss = float(loss_t.double().mean()) if loss_t.numel() == m and m > 1 else float(loss_t.reshape(-1)[0])
    ref_loss = sum(losses) / m
    loss_err = abs(got_loss - ref_loss) / abs(ref_loss) if ref_loss else abs(got_loss)
    print("loss %.8g, reference %.8g: relative error %.3e (bound %g)" % (got_loss, ref_loss, loss_err, TOL_LOSS))
    if not loss_err <= TOL_LOSS:
        failures.append("loss: relative error %.3e > %g" % (loss_err, TOL_LOSS))
    if logits is not None:
        lt = parity.get(tensors, "logits", F32, list(logits.shape))
        _, rel, _ = parity.error(lt, logits)
        print("logits (the model's own function, which stays f32): max-normalised error %.3e (bound %g)"
              % (rel, TOL_LOSS))
        if not rel <= TOL_LOSS:
            failures.append("logits: max-normalised error %.3e > %g" % (rel, TOL_LOSS))

    groups = {}
    for n, p in named:
        if n not in train:
            continue
        if p.grad is None:
            failures.append("grad.%s: the reference has no gradient" % n)
            continue
        cos = cosine(grads[n], p.grad)
        _, rel, _ = parity.error(grads[n], p.grad)
        groups.setdefault(parity.kind_of(n), []).append((n, cos, rel))
        if args.verbose:
            print("  grad.%-50s cosine %.6f  error %.3e" % (n, cos, rel))
        if not (cos >= MIN_COSINE and rel <= TOL_GRAD):
            failures.append("grad.%s: cosine %.6f (bound >= %g), max-normalised error %.3e (bound <= %g)"
                            % (n, cos, MIN_COSINE, rel, TOL_GRAD))
    print("%-12s %7s %12s  %-44s %12s  %s" % ("gradients", "tensors", "min cosine", "its tensor", "max error",
                                            "its tensor"))
    for kind, items in groups.items():
        lo = min(items, key=lambda it: it[1])
        hi = max(items, key=lambda it: (math.isnan(it[2]), it[2]))
        print("%-12s %7d %12.6f  %-44s %12.3e  %s" % (kind, len(items), lo[1], lo[0], hi[2], hi[0]))
    for f in failures:
        print("%s: FAIL: %s" % (PROG, f))
    if failures:
        print("%s: FAIL: %d check(s) failed" % (PROG, len(failures)))
        return 1
    print("%s: ok: the loss and %d gradients within the bf16 bounds" % (PROG, sum(len(v) for v in groups.values())))
    return 0


if __name__ == "__main__":
    parity.main(PROG, __doc__, check)
