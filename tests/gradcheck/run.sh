#!/usr/bin/env bash
# Every differentiable op's gradient rule against central finite differences: each
# program here is built as a double-precision C trainer and run with `gradcheck`.
# usage: run.sh MAEC OUT_DIR
set -euo pipefail
maec=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
passed=0
failed=0
for dsl in "$here"/*.dsl; do
	name=$(basename "$dsl" .dsl)
	if "$maec" "$dsl" --real=double -o "$out/$name" >"$out/$name.log" 2>&1 &&
		"$out/$name" gradcheck check --samples 16 >>"$out/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		cat "$out/$name.log"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
