#!/usr/bin/env python3
"""passes.py: golden tests of single passes: IR text in, a pass, IR text or a report out.
The oracle lives in each test file.

A test is an .ir file whose first line says how to run maec on it, and which ends with
what maec must print (stdout, then stderr) and the exit status it must return:

    # run: --dump-after=fuse
    func @f {
      ...
    }
    # expect: # after fuse
    # expect: ...
    # exit: 0

`# expect:` alone stands for an empty line. The runner runs `maec FILE ARGS` from the
repository root with FILE relative to it (so messages name tests/passes/NAME.ir), and
compares the output line by line (trailing whitespace stripped) and the exit status. A
crash, an "internal error" or a sanitizer report fails the test whatever it expects.

    python3 tests/passes.py --maec build/maec tests/passes              # run all
    python3 tests/passes.py --maec build/maec --update tests/passes     # rewrite

--update replaces the expectations with what maec prints now, for review with git diff.
The last line of output is always `N passed, M failed`; the exit status is 1 if any
test failed.
"""

import argparse
import difflib
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = "# run:"
EXPECT = "# expect:"
EXIT = "# exit:"
BROKEN = ("internal error", "AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault")


class Test:
    def __init__(self, path):
        self.path = path
        self.lines = path.read_text().splitlines(keepends=True)
        self.problem = None
        self.args = None
        if self.lines and self.lines[0].startswith(RUN):
            self.args = shlex.split(self.lines[0][len(RUN):])
        else:
            self.problem = "the first line must be '# run: ARGS'"
        start = len(self.lines)
        while start > 0 and (self.lines[start - 1].startswith(EXPECT) or self.lines[start - 1].startswith(EXIT)):
            start -= 1
        self.program = self.lines[:start]
        self.expect, self.exit = [], None
        for line in self.lines[start:]:
            line = line.rstrip("\r\n")
            if line.startswith(EXPECT):
                text = line[len(EXPECT):]
                self.expect.append((text[1:] if text.startswith(" ") else text).rstrip())
            elif self.exit is None and line[len(EXIT):].strip().isdigit():
                self.exit = int(line[len(EXIT):].strip())
            else:
                self.problem = "bad or second '# exit:' line: %r" % line
        if self.exit is None and not self.problem:
            self.problem = "no '# exit: N' line at the end of the file"

    def rewrite(self, lines, status):
        program = list(self.program)
        if program and not program[-1].endswith("\n"):
            program[-1] += "\n"
        out = [(EXPECT + " " + line).rstrip() + "\n" for line in lines]
        self.path.write_text("".join(program + out + ["%s %d\n" % (EXIT, status)]))
        self.__init__(self.path)


def run_maec(maec, test):
    name = str(test.path.resolve().relative_to(ROOT))
    try:
        proc = subprocess.run([maec, name] + test.args, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return [], None, "maec did not finish in 60 s"
    text = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    lines = [line.rstrip() for line in text.splitlines()]
    broken = None
    if proc.returncode < 0 or proc.returncode not in (0, 1, 2):
        broken = "maec exited with status %d" % proc.returncode
    for line in lines:
        if any(word in line for word in BROKEN):
            broken = broken or "maec itself failed: %s" % line.strip()
    return lines, proc.returncode, broken


def check(maec, test, update):
    name = str(test.path.resolve().relative_to(ROOT))
    if test.problem and (not update or test.args is None):
        return False, ["FAIL %s: %s" % (name, test.problem)]
    lines, rc, broken = run_maec(maec, test)
    if broken:
        return False, ["FAIL %s: %s" % (name, broken)] + ["  | " + line for line in lines[-30:]]
    if update:
        if lines != test.expect or rc != test.exit or test.problem:
            test.rewrite(lines, rc)
        return True, []
    if lines == test.expect and rc == test.exit:
        return True, []
    report = ["FAIL %s" % name]
    if rc != test.exit:
        report.append("  exit status %s, expected %s" % (rc, test.exit))
    report += ["  " + line for line in difflib.unified_diff(test.expect, lines, "expected", "actual", lineterm="", n=2)]
    return False, report


def main():
    ap = argparse.ArgumentParser(description="Golden tests of single passes (see the top of this file).")
    ap.add_argument("--maec", required=True)
    ap.add_argument("--update", action="store_true", help="rewrite each test's expectations with maec's output")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("tests", nargs="+", help=".ir test files, or folders of them")
    args = ap.parse_args()
    maec = os.path.abspath(args.maec)
    files = []
    for p in map(Path, args.tests):
        files += sorted(p.glob("*.ir")) if p.is_dir() else [p]
    passed = failed = 0
    for path in files:
        before = path.read_bytes()
        ok, report = check(maec, Test(path), args.update)
        if args.update and path.read_bytes() != before:
            print("updated %s" % path)
        for line in report:
            print(line)
        if ok and args.verbose:
            print("ok   %s" % path)
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
