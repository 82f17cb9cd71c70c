#!/usr/bin/env bash
# test_reference.sh [--all]: tests the parity checker on dumps PyTorch writes (small configs).
#   1. check_step.py passes on make_dump.py's dump (a pretraining step of 2 micro-batches);
#   2. check_step.py fails, on that gradient alone, when one gradient is off by 1e-3 relative;
#   3. and 4. the same for the official model (official_ref.py, models/mae-official.dsl), which
#      check_step.py picks from the metadata (dec_dim).
# --all adds: finetune and linprobe steps pass; a 10-step pretraining run of each model passes
# check_steps.py.
# Prints "N passed, M failed"; exit status 1 when any failed. PYTHON overrides /usr/bin/python3.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

result() { # name ok(0/1) log
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS: $1"
	else
		failed=$((failed + 1))
		echo "FAIL: $1"
		sed 's/^/    /' "$3"
	fi
}

# expect_pass NAME CHECKER MAKE_DUMP_ARGS...: make a dump, and CHECKER must pass on it
expect_pass() {
	local name=$1 checker=$2
	shift 2
	local log=$tmp/$name.log
	"$py" "$here/make_dump.py" --config small --out "$tmp/$name.st" "$@" >"$log" 2>&1 &&
		"$py" "$here/$checker" "$tmp/$name.st" >>"$log" 2>&1
	result "$name: $checker passes on make_dump.py $*" $? "$log"
}

# expect_perturbed_fail NAME GRAD MAKE_DUMP_ARGS...: check_step.py must fail on grad.GRAD alone
expect_perturbed_fail() {
	local name=$1 bad=$2
	shift 2
	local log=$tmp/$name.log
	"$py" "$here/make_dump.py" --config small --out "$tmp/$name.st" --recipe pretrain --batch 8 --micro-batches 2 \
		--perturb-grad "$bad" --perturb-rel 1e-3 "$@" >"$log" 2>&1
	"$py" "$here/check_step.py" "$tmp/$name.st" >>"$log" 2>&1
	local rc=$?
	local ok=1
	if [ $rc -eq 1 ] && grep -q "^check_step.py: FAIL: grad\.$bad: " "$log" &&
		grep -q "^check_step.py: FAIL: 1 check(s) failed" "$log"; then
		ok=0
	fi
	result "$name: check_step.py fails on grad.$bad (1e-3 relative) alone (exit $rc)" $ok "$log"
}

expect_pass pretrain check_step.py --recipe pretrain --batch 8 --micro-batches 2
expect_perturbed_fail perturbed encoder.transformer.1.attn.qkv.weight
expect_pass official check_step.py --model official --recipe pretrain --batch 8 --micro-batches 2
expect_perturbed_fail official-perturbed blocks.1.attn.qkv.bias --model official

if [ "${1:-}" = "--all" ]; then
	expect_pass finetune check_step.py --recipe finetune --batch 6 --micro-batches 3
	expect_pass linprobe check_step.py --recipe linprobe --batch 6 --micro-batches 2
	expect_pass steps check_steps.py --recipe pretrain --batch 8 --steps 10 --micro-batches 2
	expect_pass official-steps check_steps.py --model official --recipe pretrain --batch 8 --steps 10 --micro-batches 2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
