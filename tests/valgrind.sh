#!/usr/bin/env bash
# valgrind.sh MAEC OUT_DIR: maec under valgrind's memcheck (docs/robustness.md).
#
# Every model file (models/*.dsl) through every output of maec: the C trainer's source, the
# CUDA trainer's source, --stats, --report=memory, --dump-ir and --dot; the IR it dumps read
# back; then every golden diagnostic (tests/diag/*.dsl) and every broken IR file
# (tests/ir/bad/*.ir), the error paths. Each run must be clean: no invalid read or write,
# no use of an uninitialised value, and no leak of any kind (definite, indirect, possible
# or still reachable), with maec's own exit status. Needs valgrind (tools/install-deps.sh);
# maec must be built without the sanitizers (valgrind cannot run an ASan binary).
set -euo pipefail
maec=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p "$out"
vg=(valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99)
passed=0
failed=0
run() { # expected-status args...
	local want=$1 rc=0
	shift
	"${vg[@]}" "$maec" "$@" >"$out/stdout" 2>"$out/stderr" || rc=$?
	if [ "$rc" -eq "$want" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL (exit $rc, expected $want): maec $*"
		grep '^==' "$out/stderr" | head -40 || tail -20 "$out/stderr"
	fi
}
for f in models/*.dsl; do
	name=$(basename "$f" .dsl)
	run 0 "$f" -o "$out/$name.c"
	run 0 "$f" -o "$out/$name.cu"
	run 0 "$f" --stats --report=memory --dot="$out/$name.dot" --dump-ir
	"$maec" "$f" --dump-ir >"$out/$name.ir"
	run 0 "$out/$name.ir" --verify
done
echo "models: $passed runs clean"
for f in tests/diag/*.dsl tests/ir/bad/*.ir; do
	want=$(sed -n 's/^# exit: *//p' "$f" | tail -n 1)
	run "${want:-1}" "$f" --verify
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
