#!/usr/bin/env python3
"""compare_dumps.py: two step dumps of maec trainers (--dump-step), tensor by tensor.

For the CUDA trainer against the C trainer (tests/gpu/run.sh, tests/cuda/run.sh): both ran
the same recipe, parameters, batch and permutations, so the inputs must be identical and
every computed tensor must agree within the parity tolerances of tools/reference/parity.py
(loss and logits 1e-5 relative, gradients 1e-4, max-normalised). Prints one table row per
group (the worst tensor) and exits 1 on any failure.

The parameters after AdamW are checked on each dump by itself: its param_after against one
AdamW step in float64 (make_dump.adamw_update) on its own param and grad, with the dump's lr,
betas, eps and weight decay, within TOL_PARAM (1e-5, max-normalised); a frozen parameter (no
grad) must keep its value exactly. The two dumps' param_after are not compared with each other:
Adam's first step moves a weight by about lr * g / (|g| + eps), the sign of g, so where an
element of a correct gradient is near 0 its float noise (1e-7 relative between the two trainers)
turns into up to 2 lr of the update. Measured at full size (models/mae.dsl, pretraining, batch
2, the emulated CUDA trainer against the C trainer): 1.9e-5 max-normalised on
encoder.transformer.9.norm2.bias, where the gradients agree to 4e-7.

usage: compare_dumps.py GOT.safetensors REF.safetensors [--verbose]
"""
import argparse
import sys

import torch

import make_dump
import parity
import safetensors_io

PROG = "compare_dumps"
EXACT = ("input", "forward_indexes", "labels")


def group_of(name):
    if name == "loss":
        return "loss", parity.TOL_LOSS
    if name == "logits":
        return "logits", parity.TOL_LOGITS
    if name.startswith("grad."):
        return "grad: " + parity.kind_of(name[5:]), parity.TOL_GRAD
    return None, None


def check_update(rep, label, dump, meta):
    """The dump's param_after against one float64 AdamW step on its own param and grad."""
    names = sorted(n[len("param_after."):] for n in dump if n.startswith("param_after."))
    if not names:
        return
    try:
        lr = float(meta["lr"].split(",")[0])
        betas = tuple(float(x) for x in meta["betas"].split(","))
        eps = float(meta["eps"])
        wd = float(meta["weight_decay"])
        step = int(meta.get("adam_step", "0")) + 1
    except (KeyError, ValueError) as e:
        rep.fail("%s: the metadata does not give AdamW's settings (lr, betas, eps, weight_decay): %s" % (label, e))
        return
    for n in names:
        after, before = dump["param_after." + n], dump.get("param." + n)
        if before is None:
            rep.fail("%s: param_after.%s without param.%s" % (label, n, n))
            continue
        g = dump.get("grad." + n)
        if g is None:  # frozen
            if not torch.equal(after, before):
                rep.fail("%s: param_after.%s: a frozen parameter changed" % (label, n))
            continue
        m = dump.get("exp_avg." + n, torch.zeros_like(g)).double()
        v = dump.get("exp_avg_sq." + n, torch.zeros_like(g)).double()
        want, _, _ = make_dump.adamw_update(before.double(), g.double(), m, v, step, lr, betas, eps, wd)
        rep.compare("params after (%s)" % label, "param_after." + n, after, want, parity.TOL_PARAM)


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("got")
    p.add_argument("ref")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    try:
        got, got_meta = safetensors_io.read(args.got)
        ref, ref_meta = safetensors_io.read(args.ref)
    except (OSError, safetensors_io.FormatError) as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2
    rep = parity.Report(PROG, args.verbose)
    for name in sorted(set(got) | set(ref)):
        if name not in got or name not in ref:
            rep.fail("%s is only in %s" % (name, args.got if name in got else args.ref))
            continue
        g, r = got[name], ref[name]
        if name in EXACT or name.startswith("param."):
            if g.shape != r.shape or not torch.equal(g, r):
                rep.fail("%s differs: the two runs did not start from the same inputs" % name)
            continue
        group, tol = group_of(name)
        if group:
            rep.compare(group, name, g, r, tol)
    for label, dump, meta in (("got", got, got_meta), ("ref", ref, ref_meta)):
        check_update(rep, label, dump, meta)
    rep.table()
    return rep.verdict()


if __name__ == "__main__":
    sys.exit(main())
