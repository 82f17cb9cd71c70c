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
# Every op with a gradient rule must appear in some program's loss, or it is untested.
root=$(cd "$here/../.." && pwd)
want=$(awk -F'[(,]' '/^OP\(/ {gsub(/ /, "", $2); gsub(/ /, "", $7); if ($7 != "grad_none") print $2}' \
	"$root/ir/ops.def" | sort -u)
have=$(for dsl in "$here"/*.dsl; do "$maec" "$dsl" --dump-after=elaborate; done |
	awk '/^func @[a-z_]*\.loss/ {on = 1; next} /^}/ {on = 0} on && /= [a-z_]+/ {
		for (i = 1; i <= NF; i++) if ($i == "=") { print $(i + 1); break } }' | sort -u)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
if [ -n "$missing" ]; then
	failed=$((failed + 1))
	echo "FAIL coverage: differentiable ops no program here uses:" $missing
else
	passed=$((passed + 1))
	echo "ok   coverage: all $(echo "$want" | wc -l) differentiable ops of ops.def"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
