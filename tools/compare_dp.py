#!/usr/bin/env python3
"""compare_dp.py: a data-parallel run against another run of the same steps (--dump-steps).

Both trainers ran the same recipe, seed, batch and micro-batches, one with N ranks (or
--zero 1) and one without: the inputs must be identical, every step's loss within RTOL_LOSS
relative, and every parameter after the last step within TOL_PARAM of the other, max-normalised
per tensor (max |a - b| / max |b|). Prints the worst loss and parameter and exits 1 on a failure.

usage: compare_dp.py GOT.safetensors REF.safetensors [--loss-rtol X] [--param-tol X]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import safetensors_io  # noqa: E402

RTOL_LOSS = 1e-6
TOL_PARAM = 1e-5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("got")
    ap.add_argument("ref")
    ap.add_argument("--loss-rtol", type=float, default=RTOL_LOSS)
    ap.add_argument("--param-tol", type=float, default=TOL_PARAM)
    a = ap.parse_args()
    got, gm = safetensors_io.read(a.got)
    ref, rm = safetensors_io.read(a.ref)
    failures = []
    if gm.get("steps") != rm.get("steps") or gm.get("lr") != rm.get("lr"):
        failures.append(f"steps or learning rates differ: {gm.get('steps')} / {rm.get('steps')}")
    steps = int(rm.get("steps", "0"))
    for k in sorted(ref):
        if k.startswith(("input.", "forward_indexes.", "labels.")):
            if k not in got or not bool((got[k] == ref[k]).all()):
                failures.append(f"{k}: the inputs differ")
    worst_loss = (0.0, "")
    for s in range(steps):
        k = f"loss.{s}"
        g, r = float(got[k]), float(ref[k])
        e = abs(g - r) / max(abs(r), 1e-30)
        print(f"step {s + 1}: loss {g:.9g} against {r:.9g}, relative error {e:.2e}")
        worst_loss = max(worst_loss, (e, k))
        if e > a.loss_rtol:
            failures.append(f"{k}: {g!r} against {r!r}, relative error {e:.3g} > {a.loss_rtol:g}")
    worst = (0.0, "")
    for k in sorted(ref):
        if not k.startswith("param_final."):
            continue
        r = ref[k].double()
        g = got[k].double()
        scale = float(r.abs().max()) or 1.0
        e = float((g - r).abs().max()) / scale
        worst = max(worst, (e, k))
        if e > a.param_tol:
            failures.append(f"{k}: max-normalised error {e:.3g} > {a.param_tol:g}")
    print(f"{steps} steps: worst loss relative error {worst_loss[0]:.2e} ({worst_loss[1]}); "
          f"worst parameter after the last step {worst[0]:.2e} max-normalised ({worst[1][len('param_final.'):]})")
    for f in failures[:20]:
        print("FAIL", f)
    return 1 if failures or steps == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
