#!/usr/bin/env python3
"""golden.py: the golden diagnostic tests. The oracle lives in each test file.

A test is a .dsl file that ends with what maec must print on stderr and the exit
status it must return, as comment lines (a '#' starts a comment in the DSL too):

    block A() { ... }
    # expect: tests/diag/NAME.dsl:1:7: error: ...
    # expect:     1 | block A() { ... }
    # expect:       |       ^~~~
    # expect: 1 error
    # exit: 1

`# expect:` alone stands for an empty line. The runner runs `maec FILE --verify`
from the repository root with FILE relative to it, so the messages name
tests/diag/NAME.dsl, and compares stderr line by line (trailing whitespace
stripped) and the exit status. A crash (a signal, or an exit status other than
0, 1 or 2), an "internal error", a sanitizer report or a hang fails the test
whatever the expectations say.

    python3 tests/golden.py --maec build/maec tests/diag              # run all
    python3 tests/golden.py --maec build/maec tests/diag/lex-*.dsl    # a subset
    python3 tests/golden.py --maec build/maec --update tests/diag      # rewrite

--update replaces the expectations at the end of each test with what maec prints
now (a new test needs only its program), for review with `git diff`; it never
records a crash. The last line of output is always `N passed, M failed`; the exit
status is 1 if any test failed.
"""

import argparse
import difflib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPECT = "# expect:"
EXIT = "# exit:"
TIMEOUT_S = 60
# Text that means maec itself is broken, whatever the test expects.
BROKEN = ("internal error", "AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault")


def read_text(path):
    # Tests may hold bytes that are not UTF-8 (the lexer's tests); keep them as they are.
    return path.read_bytes().decode("utf-8", "surrogateescape")


class Test:
    """A test file split into its program and its expectations."""

    def __init__(self, path):
        self.path = path
        self.lines = read_text(path).splitlines(keepends=True)
        # The expectations are the trailing run of `# expect:` / `# exit:` lines.
        start = len(self.lines)
        while start > 0 and self.is_expectation(self.lines[start - 1]):
            start -= 1
        self.program = self.lines[:start]
        self.expect = []
        self.exit = None
        self.problem = None
        for line in self.lines[start:]:
            line = line.rstrip("\r\n")
            if line.startswith(EXPECT):
                text = line[len(EXPECT):]
                self.expect.append((text[1:] if text.startswith(" ") else text).rstrip())
            else:
                value = line[len(EXIT):].strip()
                if not value.isdigit() or self.exit is not None:
                    self.problem = "bad or second '# exit:' line: %r" % line
                else:
                    self.exit = int(value)
        for i, line in enumerate(self.program, 1):
            if line.startswith(EXPECT) or line.startswith(EXIT):
                self.problem = "line %d: expectations must all stand at the end of the file" % i
        if self.exit is None and not self.problem:
            self.problem = "no '# exit: N' line at the end of the file"

    @staticmethod
    def is_expectation(line):
        return line.startswith(EXPECT) or line.startswith(EXIT)

    def rewrite(self, stderr_lines, status):
        program = list(self.program)
        if program and not program[-1].endswith("\n"):
            program[-1] += "\n"
        out = [(EXPECT + " " + line).rstrip() + "\n" for line in stderr_lines]
        out.append("%s %d\n" % (EXIT, status))
        text = "".join(program + out)
        self.path.write_bytes(text.encode("utf-8", "surrogateescape"))
        self.__init__(self.path)


def display_name(path):
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def run_maec(maec, path):
    """Runs maec on one test; returns (stderr lines, exit status, why it is broken or None)."""
    try:
        proc = subprocess.run([maec, display_name(path), "--verify"], cwd=ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [], None, "maec did not finish in %d s" % TIMEOUT_S
    stderr = proc.stderr.decode("utf-8", "surrogateescape")
    lines = [line.rstrip() for line in stderr.splitlines()]
    rc = proc.returncode
    broken = None
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        broken = "maec crashed (%s)" % name
    elif rc not in (0, 1, 2):
        broken = "maec exited with status %d (0, 1 or 2 expected)" % rc
    else:
        for line in lines:
            if any(word in line for word in BROKEN):
                broken = "maec itself failed (a bug, not an input error): %s" % line.strip()
                break
    if proc.stdout:
        broken = broken or "maec wrote to stdout with --verify"
    return lines, rc, broken


def check(maec, test, update):
    """Runs one test. Returns (passed, report lines)."""
    name = display_name(test.path)
    if test.problem and not update:
        return False, ["FAIL %s: %s" % (name, test.problem)]
    lines, rc, broken = run_maec(maec, test.path)
    if broken:
        report = ["FAIL %s: %s" % (name, broken)]
        report += ["  | " + line for line in lines[-30:]]
        return False, report
    if update:
        # A message placed at the very end of the file would name a line after the
        # expectations, which rewriting moves: rewrite until the file reads back the same.
        for _ in range(4):
            if lines == test.expect and rc == test.exit and not test.problem:
                return True, []
            test.rewrite(lines, rc)
            lines, rc, broken = run_maec(maec, test.path)
            if broken:
                return False, ["FAIL %s: %s after rewriting" % (name, broken)]
        return False, ["FAIL %s: the expectations do not settle (the output depends on them)" % name]
    if lines == test.expect and rc == test.exit:
        return True, []
    report = ["FAIL %s" % name]
    if rc != test.exit:
        report.append("  exit status %s, expected %s" % (rc, test.exit))
    if lines != test.expect:
        diff = difflib.unified_diff(test.expect, lines, "expected", "actual", lineterm="", n=2)
        report += ["  " + line for line in diff]
    return False, report


def collect(paths):
    files = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(p.glob("*.dsl"))
        elif p.is_file():
            files.append(p)
        else:
            raise SystemExit("golden.py: no such test or folder: %s" % p)
    return files


def main():
    ap = argparse.ArgumentParser(description="Golden diagnostic tests for maec (see the top of this file).")
    ap.add_argument("--maec", required=True, help="the maec executable")
    ap.add_argument("--update", action="store_true", help="rewrite each test's expectations with maec's output")
    ap.add_argument("-v", "--verbose", action="store_true", help="name every test as it passes")
    ap.add_argument("tests", nargs="+", help=".dsl test files, or folders of them")
    args = ap.parse_args()
    sys.stdout.reconfigure(errors="backslashreplace")
    maec = os.path.abspath(args.maec)
    if not os.access(maec, os.X_OK):
        raise SystemExit("golden.py: cannot run %s" % maec)
    files = collect(args.tests)
    if not files:
        print("golden.py: no tests found in %s" % " ".join(args.tests))
    passed = failed = 0
    for path in files:
        test = Test(path)
        before = path.read_bytes() if args.update else None
        ok, report = check(maec, test, args.update)
        if args.update and path.read_bytes() != before:
            print("updated %s" % display_name(path))
        for line in report:
            print(line)
        if ok and args.verbose:
            print("ok   %s" % display_name(path))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())
