# tests/lib.sh: what the shell test runners share. Source it after setting $out, the folder
# for the logs:
#   check NAME COMMAND...                    passes when COMMAND succeeds
#   refuses NAME STATUS MESSAGE COMMAND...   passes when COMMAND exits with STATUS ('nonzero':
#                                            any failure) and its output holds MESSAGE
#   finish                                   prints "N passed, M failed"; fails on failures
# Each command's output goes to $out/NAME.log, and its end is shown when a check fails.
passed=0
failed=0
check() {
	local name=$1
	shift
	if "$@" >"$out/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		tail -n 30 "$out/$name.log"
	fi
}
refuses() {
	local name=$1 status=$2 want=$3 rc=0
	shift 3
	"$@" >"$out/$name.log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ] || { [ "$status" != nonzero ] && [ "$rc" -ne "$status" ]; }; then
		failed=$((failed + 1))
		echo "FAIL $name: exit $rc, not $status"
		cat "$out/$name.log"
	elif grep -q -- "$want" "$out/$name.log"; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name: no '$want' in:"
		cat "$out/$name.log"
	fi
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
