#!/usr/bin/env bash
# Parity of the generated C trainer with the project's PyTorch reference
# (tools/reference/): one step of each MAE recipe at full size (batch 8), ten steps of two
# micro-batches on a small configuration, and the trainer's refusals of bad requests.
# usage: run.sh MAEC OUT_DIR          exit 77 (skipped) without CIFAR-10 or PyTorch
set -euo pipefail
maec=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${MAEC_DATA:-$root/../shared/data/cifar10}
py=/usr/bin/python3
if [ ! -f "$data/data_batch_1.bin" ]; then
	echo "SKIP: no CIFAR-10 binary files in $data (set MAEC_DATA)"
	exit 77
fi
if ! "$py" -c "import torch" 2>/dev/null; then
	echo "SKIP: $py cannot import torch (apt-get install python3-torch)"
	exit 77
fi
mkdir -p "$out"
ref=$root/tools/reference
passed=0
failed=0
check() { # name command...
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
refuses() { # name expected-message command...: must exit non-zero saying the message
	local name=$1 want=$2
	shift 2
	if "$@" >"$out/$name.log" 2>&1; then
		failed=$((failed + 1))
		echo "FAIL $name: succeeded"
	elif grep -q -- "$want" "$out/$name.log"; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name: no '$want' in:"
		cat "$out/$name.log"
	fi
}

"$maec" "$root/models/mae.dsl" -o "$out/mae"
for recipe in pretrain finetune linprobe; do
	check "$recipe.step" "$out/mae" "$recipe" --data "$data" --steps 1 --batch 8 --dump-step "$out/$recipe.safetensors"
	check "$recipe.parity" "$py" "$ref/check_step.py" "$out/$recipe.safetensors"
done

# A small configuration of the same file, ten steps of two micro-batches at a real rate.
small=(-Ddim=64 -Denc_depth=2 -Ddec_depth=1 -Dheads=2)
"$maec" "$root/models/mae.dsl" "${small[@]}" -o "$out/mae-small"
for recipe in pretrain finetune; do
	check "small.$recipe.steps" "$out/mae-small" "$recipe" --data "$data" --steps 10 --batch 8 --micro-batch 4 \
		--warmup 0 --lr 1e-3 --dump-steps "$out/small-$recipe.safetensors"
	check "small.$recipe.parity" "$py" "$ref/check_steps.py" "$out/small-$recipe.safetensors"
done

refuses dump.unwritable "cannot write" "$out/mae-small" pretrain --data "$data" --dump-step /nonexistent/dir/s.safetensors
refuses flag.unknown "unknown option '--bogus'" "$out/mae-small" pretrain --data "$data" --bogus 1
refuses batch.too.large "larger than 4096" "$out/mae-small" pretrain --data "$data" --batch 8192
refuses micro.too.large "larger than 512" "$out/mae-small" pretrain --data "$data" --batch 1024 --micro-batch 1024
refuses data.missing "data_batch_1.bin" "$out/mae-small" pretrain --data "$out/no-such-dir"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
