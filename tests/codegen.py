#!/usr/bin/env python3
"""codegen.py: golden tests of the generated code: each tests/codegen/NAME.dsl compiled by
the C target and by the CUDA target, the files compared with NAME.c.golden and
NAME.cu.golden line by line. They pin what a person reads in a trainer: the kernels once
each, their names and comments (DSL line and layer), the parameters' names, the literals.

    python3 tests/codegen.py --maec build/maec tests/codegen            # run all
    python3 tests/codegen.py --maec build/maec --update tests/codegen   # rewrite

--update rewrites the goldens with what maec writes now, for review with git diff. The last
line of output is always `N passed, M failed`; the exit status is 1 if any test failed.
"""

import argparse
import difflib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = (("c", ".c"), ("cuda", ".cu"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maec", required=True)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("dir")
    a = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for dsl in sorted(Path(a.dir).resolve().glob("*.dsl")):
            rel = dsl.relative_to(ROOT)  # the generated files name their source: keep it relative
            for target, ext in TARGETS:
                name = f"{rel} ({target})"
                out = Path(tmp) / (dsl.stem + ext)
                p = subprocess.run([a.maec, str(rel), f"--target={target}", "-o", str(out)], cwd=ROOT,
                                   capture_output=True, text=True)
                golden = dsl.with_name(dsl.stem + ext + ".golden")
                if p.returncode != 0:
                    failed += 1
                    print(f"FAIL {name}: maec exited {p.returncode}\n{p.stderr}")
                    continue
                got = out.read_text()
                if a.update:
                    golden.write_text(got)
                    print(f"updated {golden.relative_to(ROOT)}")
                    passed += 1
                    continue
                want = golden.read_text() if golden.exists() else ""
                if got == want:
                    passed += 1
                    print(f"ok   {name}")
                    continue
                failed += 1
                diff = difflib.unified_diff(want.splitlines(), got.splitlines(), str(golden.relative_to(ROOT)),
                                            "maec's output", lineterm="", n=2)
                print(f"FAIL {name}: differs from {golden.relative_to(ROOT)} (--update rewrites it):")
                for i, line in enumerate(diff):
                    if i == 40:
                        print("...")
                        break
                    print(line)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
