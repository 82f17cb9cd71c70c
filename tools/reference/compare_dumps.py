#!/usr/bin/env python3
"""compare_dumps.py: two step dumps of maec trainers (--dump-step), tensor by tensor.

For the CUDA trainer against the C trainer (tests/gpu/run.sh, tests/cuda/run.sh): both ran
the same recipe, parameters, batch and permutations, so the inputs must be identical and
every computed tensor must agree within the parity tolerances of tools/reference/parity.py
(loss and logits 1e-5 relative, gradients 1e-4, max-normalised). Prints one table row per
group (the worst tensor) and exits 1 on any failure.

The parameters after AdamW are not compared here: each trainer updates them from its own
gradients, and where a gradient element is near AdamW's eps (1e-8), as in a bias that
starts at zero, the update g / (sqrt(v) + eps) turns a rounding difference of 1e-7 in g into
one of 1e-5 in the update. tools/reference/check_step.py checks each dump's update against
PyTorch's AdamW applied to that dump's own gradients instead.

usage: compare_dumps.py GOT.safetensors REF.safetensors [--verbose]
"""
import argparse
import sys

import torch

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


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("got")
    p.add_argument("ref")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    try:
        got, _ = safetensors_io.read(args.got)
        ref, _ = safetensors_io.read(args.ref)
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
    rep.table()
    return rep.verdict()


if __name__ == "__main__":
    sys.exit(main())
