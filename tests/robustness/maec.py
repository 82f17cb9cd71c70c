#!/usr/bin/env python3
"""maec.py: maec on hostile command lines and files (docs/robustness.md).

Each case runs the maec command in a scratch folder and checks its exact stderr (or, for
the cases about generated code, what the generated trainer does) and exit status. A crash,
a sanitizer report, a hang (60 s) or an "internal error" fails a case whatever it expects.

    python3 tests/robustness/maec.py --maec build/maec [--cc cc] [-k NAME]

The last line is `N passed, M failed`; the exit status is 1 if any case failed. The case
names are the ones docs/robustness.md cites.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BROKEN = ("internal error", "AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault")
MLP = (ROOT / "tests/fuzz/corpus/dsl/valid-mlp-recipe.dsl").read_text()

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class Run:
    def __init__(self, maec, work):
        self.maec, self.work = maec, work

    def __call__(self, *args, timeout=60):
        proc = subprocess.run([self.maec, *args], cwd=self.work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
        err = proc.stderr.decode("utf-8", "backslashreplace")
        if proc.returncode < 0 or proc.returncode > 2:
            raise AssertionError("maec crashed or failed (status %d):\n%s" % (proc.returncode, err[-3000:]))
        for line in err.splitlines():
            if any(word in line for word in BROKEN):
                raise AssertionError("maec itself failed: %s" % line)
        return proc.returncode, err

    def expect(self, args, want, status):
        rc, err = self(*args)
        got = err.rstrip("\n").split("\n") if err else []
        if isinstance(want, str):
            want = [want]
        if got != want or rc != status:
            raise AssertionError("maec %s\n  exit %d (expected %d)\n  stderr:\n%s\n  expected:\n%s" % (
                " ".join(args), rc, status, "\n".join("    " + l for l in got), "\n".join("    " + l for l in want)))


@case
def file_endless(run):
    """A device that never ends (/dev/zero) as the input: refused at 64 MiB, not read into memory."""
    run.expect(["/dev/zero"], "maec: cannot read '/dev/zero': the file is larger than 64 MiB, the most maec reads", 1)


@case
def file_too_large(run):
    """A file over 64 MiB (sparse, so cheap to make)."""
    with open(run.work / "big.dsl", "wb") as f:
        f.truncate((64 << 20) + 1)
    run.expect(["big.dsl"], "maec: cannot read 'big.dsl': the file is larger than 64 MiB, the most maec reads", 1)


@case
def file_directory(run):
    """A directory as the input."""
    (run.work / "dir.dsl").mkdir()
    run.expect(["dir.dsl"], "maec: cannot read 'dir.dsl': it is a directory", 1)


@case
def file_missing(run):
    run.expect(["nope.dsl"], "maec: cannot read 'nope.dsl': No such file or directory", 1)


@case
def file_garbage(run):
    """8 MiB of random bytes: the first 50 errors, then maec stops reading (and is quick about it)."""
    rng = random.Random(8)
    (run.work / "garbage.dsl").write_bytes(bytes(rng.getrandbits(8) for _ in range(8 << 20)))
    rc, err = run("garbage.dsl", timeout=30)
    lines = err.splitlines()
    assert rc == 1, rc
    assert "maec: too many errors, stopping after 50" in lines, lines[-5:]
    assert lines[-1] == "51 errors", lines[-1]


@case
def file_one_long_line(run):
    """A file of one 8 MiB line that makes an error every few bytes: each message shows 240
    bytes of the line, so the output stays small (not 50 copies of the line)."""
    (run.work / "line.dsl").write_bytes(b"x = 1 $ " * (1 << 20))
    rc, err = run("line.dsl", timeout=30)
    lines = err.splitlines()
    assert rc == 1 and lines[0] == "line.dsl:1:7: error: unexpected character '$'", lines[:1]
    assert lines[1] == "    1 | x = 1 $ x = 1 $ " + "x = 1 $ " * 28 + "...", lines[1]
    assert len(err) < 50 * 600, "%d bytes of messages" % len(err)


@case
def option_unknown(run):
    run.expect(["x.dsl", "--bogus"], "maec: unknown option '--bogus' (see --help)", 2)


@case
def option_define_not_number(run):
    run.expect(["x.dsl", "-D", "dim=big"], "maec: -D dim: 'big' is not a number", 2)


@case
def option_define_no_name(run):
    run.expect(["x.dsl", "-D", "=3"], "maec: -D needs NAME=VALUE with a number as the value, got '=3'", 2)


@case
def option_define_too_many(run):
    args = ["x.dsl"]
    for i in range(65):
        args += ["-D", "c%d=1" % i]
    run.expect(args, "maec: at most 64 -D options", 2)


@case
def option_stage_unknown(run):
    run.expect(["x.dsl", "--dump-after=everything"], "maec: unknown stage 'everything' for --dump-after (see --help)", 2)


@case
def option_output_target(run):
    run.expect(["x.dsl", "-o", "t.ir"], "maec: -o t.ir: the outputs are a trainer's source (NAME.c, NAME.cu) or the "
               "trainer (NAME); for IR use --dump-ir", 2)


@case
def option_target_unknown(run):
    run.expect(["x.dsl", "--target=tpu"], "maec: unknown target 'tpu': c, cuda or cuda-emu", 2)


@case
def option_target_mismatch(run):
    run.expect(["x.dsl", "--target=cuda", "-o", "t.c"], "maec: -o t.c does not name a CUDA trainer (NAME.cu or NAME)", 2)


@case
def option_two_inputs(run):
    run.expect(["a.dsl", "b.dsl"], "maec: one input file at a time ('a.dsl' and 'b.dsl')", 2)


@case
def option_precision(run):
    """--precision: an unknown policy, and bf16 with --real=double: each refused, nothing
    written."""
    (run.work / "p.dsl").write_text(MLP)
    run.expect(["p.dsl", "--precision=f16", "-o", "p.c"], "maec: unknown precision 'f16': fp32, tf32 or bf16", 2)
    run.expect(["p.dsl", "--precision=bf16", "--real=double", "-o", "p.c"],
               "maec: --precision=bf16 stores activations in bf16 and computes in float: not with --real=double", 2)
    if (run.work / "p.c").exists():
        raise AssertionError("maec wrote p.c though it refused the options")


@case
def option_recompute(run):
    """--recompute and --memory-budget: an unknown policy, auto without a budget, budgets that
    are not sizes, a plan over the budget without auto, a budget auto cannot meet; each
    refused with its message, nothing written."""
    (run.work / "p.dsl").write_text(MLP)
    bad = "maec: --memory-budget=%s: a size in GiB, more than 0 and at most 1048576"
    run.expect(["p.dsl", "--recompute=all", "-o", "p.c"], "maec: unknown recomputation policy 'all': none, cheap or auto", 2)
    run.expect(["p.dsl", "--recompute=auto", "-o", "p.c"],
               "maec: --recompute=auto chooses what to recompute to fit --memory-budget=GIB: give the budget", 2)
    for v in ["0", "-1", "12GiB", "inf", "nan", "1e9"]:
        run.expect(["p.dsl", "--memory-budget=" + v, "-o", "p.c"], bad % v, 2)
    run.expect(["p.dsl", "--recompute=cheap", "--memory-budget=1e-6", "-o", "p.c"], [
        "p.dsl:21:8: error: @train.step at micro-batch 64 plans 0.8 MiB of activations, over --memory-budget=1e-06 GiB: "
        "--recompute=auto recomputes what it takes to fit",
        "   21 | recipe train {",
        "      |        ^~~~~",
        "1 error"], 1)
    run.expect(["p.dsl", "--recompute=auto", "--memory-budget=1e-6", "-o", "p.c"],
               "maec: p.dsl: --memory-budget=1e-06 GiB cannot be met: the smallest plan --recompute=auto reaches for "
               "@train.step at its micro-batch is 0.8 MiB (all 3 candidates recomputed); lower the recipe's "
               "micro_batch or raise the budget", 1)
    if (run.work / "p.c").exists():
        raise AssertionError("maec wrote p.c though it refused the options")


@case
def plan_too_big(run):
    """A recipe whose activations need more than any machine holds: a diagnostic, not an
    overflow in the plan (a batch of 2^20 images of 2^36 elements each, in double)."""
    src = MLP.replace("batch = 64", "batch = 1048576").replace(
        "return cross_entropy(logits, label),", "return cross_entropy(logits, label) + mean(exp(zeros([B, 65536, 1048576]))),")
    (run.work / "huge.dsl").write_text(src)
    msg = ("maec: error: @train.%s: the activations at batch 1048576 need more than 4 PiB, more than any machine "
           "holds: lower the recipe's batch or micro_batch")
    run.expect(["huge.dsl", "--report=memory"], [msg % "step", "1 error"], 1)
    run.expect(["huge.dsl", "--real=double", "-o", "huge.c"], [msg % "step", msg % "loss", "2 errors"], 1)


HOSTILE = 'x*/ }{ bad(); /* ??/\n"q" $(touch pwned) ;rm y.dsl'
HOSTILE_RAW = 'r)maec" }{ bad(); R"maec( $(touch pwned).dsl'


@case
def hostile_file_name(run):
    """A file name that closes a comment, holds a trigraph, a newline, quotes and shell
    syntax: the generated C compiles (nothing in it is read as code), names the file in its
    strings byte for byte, and no shell ever ran (no file 'pwned')."""
    path = run.work / HOSTILE
    path.parent.mkdir(parents=True)
    path.write_text(MLP)
    rc, err = run(HOSTILE, "-o", "t.c")
    assert rc == 0, err
    c = (run.work / "t.c").read_text()
    assert r'"x*/ }{ bad(); /* \?\?/\012\"q\" $(touch pwned) ;rm y.dsl:7:9 in mlp"' in c, "the name is not escaped as a string"
    # The compiler's own view of the text without comments (-fpreprocessed -E): the name
    # shows up only inside string literals.
    pre = subprocess.run([run.cc, "-std=c11", "-fpreprocessed", "-E", "t.c"], cwd=run.work, capture_output=True,
                         text=True)
    assert pre.returncode == 0, pre.stderr[-2000:]
    code = re.sub(r'"(\\.|[^"\\\n])*"', '""', pre.stdout)
    assert "bad()" not in code and "pwned" not in code, "the file name escaped a comment or a string"
    # The CUDA target's source too (its kernels' source is C++ raw string literals, or
    # escaped ones when the text holds the raw literals' end, as the second name does).
    for name in (HOSTILE, HOSTILE_RAW):
        if name != HOSTILE:
            (run.work / name).write_text(MLP)
        rc, err = run(name, "-o", "t.cu")
        assert rc == 0, err
        cu = (run.work / "t.cu").read_text()
        assert ('\nR"maec(' in cu) == (name == HOSTILE), "raw literals where they cannot end, or none where they can"
        pre = subprocess.run([run.cc, "-fpreprocessed", "-E", "-x", "c++", "t.cu"], cwd=run.work,
                             capture_output=True, text=True)
        assert pre.returncode == 0, pre.stderr[-2000:]
        code = re.sub(r'R"maec\((.*?)\)maec"', '""', pre.stdout, flags=re.S)
        code = re.sub(r'"(\\.|[^"\\\n])*"', '""', code)
        assert "bad()" not in code and "pwned" not in code, "the file name escaped a comment or a string in t.cu"
    obj = run.work / "t.o"
    cc = subprocess.run([run.cc, "-std=c11", "-Werror=trigraphs", "-c", "-I", str(ROOT / "runtime"),
                         "-DMAEC_REAL=float", "-o", str(obj), "t.c"], cwd=run.work, capture_output=True, text=True)
    assert cc.returncode == 0, "the generated C does not compile:\n" + cc.stderr[-3000:]
    assert not (run.work / "pwned").exists() and not list(run.work.rglob("pwned"))


@case
def output_dash(run):
    """-o with a name that starts with '-': passed to the C compiler as a path, not an option."""
    (run.work / "m.dsl").write_text(MLP)
    rc, err = run("m.dsl", "-o", "-trainer")
    assert rc == 0, err
    exe = run.work / "-trainer"
    assert exe.is_file() and os.access(exe, os.X_OK), "no trainer built"
    out = subprocess.run(["./-trainer", "--help"], cwd=run.work, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("usage: trainer"), out.stdout[:200]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maec", required=True)
    ap.add_argument("--cc", default=os.environ.get("CC") or "cc")
    ap.add_argument("-k", help="run the cases whose name holds this")
    args = ap.parse_args()
    maec = os.path.abspath(args.maec)
    passed = failed = 0
    for fn in CASES:
        if args.k and args.k not in fn.__name__:
            continue
        work = Path(tempfile.mkdtemp(prefix="maec-robust-"))
        run = Run(maec, work)
        run.cc = args.cc
        try:
            fn(run)
            passed += 1
            print("ok   %s" % fn.__name__)
        except (AssertionError, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %s: %s" % (fn.__name__, e))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
