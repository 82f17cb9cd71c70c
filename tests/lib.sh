# tests/lib.sh: what the shell test runners share. Source it after setting $out, the folder
# for the logs:
#   check NAME COMMAND...                    passes when COMMAND succeeds
#   verdict NAME yes|no DETAIL LOG           counts a check made by the caller; a failure
#                                            shows the end of LOG
#   refuses NAME STATUS MESSAGE COMMAND...   passes when COMMAND exits with STATUS ('nonzero':
#                                            any failure) and its output holds MESSAGE
#   finish                                   prints "N passed, M failed"; fails on failures
#   need_cifar_and_torch                     exits 77 (ctest's skip) without torch for $py;
#                                            without CIFAR-10 in $data, points $data at random
#                                            images in its format (cifar_or_random)
#   cifar_or_random                          the same for the data alone
# Each command's output goes to $out/NAME.log, and its end is shown when a check fails.
passed=0
failed=0
verdict() {
	if [ "$2" = yes ]; then
		passed=$((passed + 1))
		echo "ok   $1${3:+ ($3)}"
	else
		failed=$((failed + 1))
		echo "FAIL $1${3:+: $3}"
		tail -n 30 "$4"
	fi
}
check() {
	local name=$1 ok=no
	shift
	"$@" >"$out/$name.log" 2>&1 && ok=yes
	verdict "$name" $ok "" "$out/$name.log"
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
# The numerics tests compare two computations of the same steps, which random images serve
# as well as real ones: on a clone without ../shared (as a user has it), tests/make_cifar.py
# writes them in CIFAR-10's format to $out/random-cifar10, once.
cifar_or_random() {
	if [ ! -f "$data/data_batch_1.bin" ]; then
		echo "no CIFAR-10 binary files in $data (MAEC_DATA): random images in its format instead"
		data=$out/random-cifar10
		/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/make_cifar.py" "$data"
	fi
}
need_cifar_and_torch() {
	cifar_or_random
	if ! "$py" -c "import torch" 2>/dev/null; then
		echo "SKIP: $py cannot import torch (apt-get install python3-torch)"
		exit 77
	fi
}
