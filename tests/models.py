#!/usr/bin/env python3
"""Checks every model file end to end through the maec command:

  - it compiles to verified IR (exit 0, nothing on stderr);
  - every instruction of --dump-ir carries its DSL location (# FILE:LINE:COL);
  - print -> read -> print of the IR is byte-identical, after every stage;
  - --dot writes a Graphviz digraph with one cluster per function;
  - --stats reports the parameter counts and GFLOP/image written below, which come
    from ../shared/reference/mae-recipe.md (counts exact, GFLOP to the stated digits);
  - --report=memory plans each recipe's step between the lower bound and the naive total.

usage: models.py --maec PATH MODELS_DIR
Ends with the line "N passed, M failed"; exits 1 on any failure.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# The oracle: what --stats must print for each model file.
EXPECTED_STATS = {
    "mae.dsl": {
        "params": {"mae": 7212684, "mae/encoder": 5383680, "mae/decoder": 1829004,
                   "classifier": 5385610},
        "gflop": {"mae": (1.84, 0.005), "classifier": (3.3, 0.05)},
    },
    # d = 96, 49 patches of 16 pixels, a block 12 d^2 + 10 d (LayerNorms 4d, qkv 3d^2,
    # proj d^2 + d, fc1 4d^2 + 4d, fc2 4d^2 + d): encoder d + 49d + (16d + d) + 4 blocks + 2d,
    # decoder d + 50d + 2 blocks + (16d + 16), classifier head 10d + 10.
    "mae-fashion.dsl": {
        "params": {"mae": 682384, "mae/encoder": 452832, "mae/decoder": 229552, "classifier": 453802},
        "gflop": {},
    },
    # mae.dsl's at 96x96 in patches of 8: 144 tokens (encoder pos 144d, decoder 145d, each
    # 21504 fewer than 256d and 257d), patch embedding 192d + d (+34560 on 12d + d), decoder
    # head Linear(d, 192) (+34740 on Linear(d, 12)), classifier head Linear(d, 10).
    "mae-folder.dsl": {
        "params": {"mae": 7238976, "mae/encoder": 5396736, "mae/decoder": 1842240, "classifier": 5398666},
        "gflop": {},
    },
    "mae-official.dsl": {
        "params": {"mae": 6243404, "mae/blocks": 5338368, "mae/decoder_blocks": 793088},
        "gflop": {},
    },
}

LOC = re.compile(r"  # [^ ]+\.dsl:\d+:\d+( in [A-Za-z_][A-Za-z0-9_.]*)?$")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1, 2):
        raise AssertionError(f"{' '.join(cmd)} crashed (status {p.returncode}):\n{p.stderr}")
    return p


def check_compiles(maec, path, tmp):
    p = run([maec, path, "--verify"])
    assert p.returncode == 0 and p.stderr == "", f"exit {p.returncode}\n{p.stderr}"


def check_locations(maec, path, tmp):
    ir = run([maec, path, "--dump-ir"]).stdout
    lines = [l for l in ir.splitlines() if re.match(r"  %\d+ :", l) or l.startswith("param ")]
    assert lines, "no instructions in --dump-ir"
    bad = [l for l in lines if not LOC.search(l)]
    assert not bad, f"{len(bad)} of {len(lines)} lines lack a DSL location, first: {bad[0]}"


def check_roundtrip(maec, path, tmp):
    d = os.path.join(tmp, "stages")
    p = run([maec, path, f"--dump-dir={d}"])
    assert p.returncode == 0, p.stderr
    stages = sorted(os.listdir(d))
    assert stages and stages[0].startswith("00-elaborate"), stages
    for s in stages:
        f = os.path.join(d, s)
        text = open(f).read()
        again = run([maec, f, "--dump-after=elaborate"])
        assert again.returncode == 0, f"{s} does not read back:\n{again.stderr}"
        printed = again.stdout.split("\n", 1)[1]  # drop the "# after elaborate" line
        assert printed == text, f"{s}: print -> read -> print differs"


def check_dot(maec, path, tmp):
    p = run([maec, path, "--dot=-"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("digraph"), p.stdout[:80]
    funcs = run([maec, path, "--dump-ir"]).stdout.count("\nfunc @")
    assert p.stdout.count("subgraph cluster_") == funcs, "one cluster per function"


def parse_stats(text):
    params, gflop, model = {}, {}, None
    for line in text.splitlines():
        m = re.match(r"model (\S+): (\d+) parameters$", line)
        if m:
            model = m.group(1)
            params[model] = int(m.group(2))
            continue
        m = re.match(r"  forward +([\d.]+) GFLOP/image in matrix products", line)
        if m and model:
            gflop[model] = float(m.group(1))
            continue
        m = re.match(r"  (\S+) +(\d+)$", line)
        if m and model:
            params[f"{model}/{m.group(1)}"] = int(m.group(2))
    return params, gflop


def check_stats(maec, path, tmp):
    want = EXPECTED_STATS.get(os.path.basename(path))
    if want is None:
        raise AssertionError("no expected statistics: add this file to EXPECTED_STATS")
    p = run([maec, path, "--stats"])
    assert p.returncode == 0, p.stderr
    params, gflop = parse_stats(p.stdout)
    for k, v in want["params"].items():
        assert params.get(k) == v, f"parameters of {k}: got {params.get(k)}, want {v}"
    for k, (v, tol) in want["gflop"].items():
        assert k in gflop and abs(gflop[k] - v) <= tol, f"GFLOP/image of {k}: got {gflop.get(k)}, want {v} +- {tol}"
    assert re.search(r"front end to verified IR [\d.]+ ms; total [\d.]+ ms", p.stdout), "no compile time"


def check_memory(maec, path, tmp):
    """The activation plan of each recipe's step: never below the lower bound (the most
    bytes live at once), never above every value having its own buffer."""
    p = run([maec, path, "--report=memory"])
    assert p.returncode == 0, p.stderr
    rows = re.findall(r"^@(\S+) at batch (\d+): lower bound ([\d.]+) MiB, planned ([\d.]+) MiB .*naive ([\d.]+) MiB",
                      p.stdout, re.M)
    recipes = run([maec, path, "--dump-ir"]).stdout.count("\nrecipe @")
    assert len(rows) == recipes, f"{len(rows)} plans for {recipes} recipes"
    for name, _, low, planned, naive in rows:
        assert float(low) <= float(planned) <= float(naive), f"@{name}: {low} <= {planned} <= {naive} fails"


CHECKS = [check_compiles, check_locations, check_roundtrip, check_dot, check_stats, check_memory]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maec", required=True)
    ap.add_argument("models")
    args = ap.parse_args()
    files = sorted(os.path.join(args.models, f) for f in os.listdir(args.models) if f.endswith(".dsl"))
    passed = failed = 0
    for path in files:
        for check in CHECKS:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    check(args.maec, path, tmp)
                    passed += 1
                except AssertionError as e:
                    failed += 1
                    print(f"FAIL {check.__name__} {path}: {e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
