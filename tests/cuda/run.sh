#!/usr/bin/env bash
# The CUDA target without a GPU.
#   run.sh compile MAEC OUT   every model file's CUDA trainer built with nvcc (bf16 storage,
#                             the default; models/mae.dsl also with f32 storage); every kernel
#                             through NVRTC for sm_80 and sm_90 (no errors, no warnings;
#                             ptxas's registers and spills printed); the trainer, run on a
#                             machine without a GPU, says so and exits 1.
#   run.sh emulated MAEC OUT  the CUDA trainers built for the host emulation
#                             (runtime/gpu/gpu_emu.c: the kernels on the block-level emulator,
#                             runtime/gpu/simt.c) against the C trainers, one step each: the MAE
#                             recipes and the official-options model at full size on
#                             CIFAR-10, the Fashion-MNIST model, and the gradient-check
#                             programs, whose losses use every differentiable op
#                             (tools/reference/compare_dumps.py: loss, gradients, each
#                             trainer's AdamW step; tests/cuda/attention.dsl: the
#                             attention kernels at odd sizes); the MAE dumps also against PyTorch
#                             (check_step.py); bf16 storage (--precision=bf16) against the
#                             float64 reference (check_bf16.py); the device's masking permutations against
#                             rt_randperm's (randperm.dsl). Exit 77 (skipped) without torch; without
#                             CIFAR-10, random images in its format (tests/make_cifar.py).
set -euo pipefail
mode=$1
maec=$2
out=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${MAEC_DATA:-$root/../shared/data/cifar10}
py=/usr/bin/python3
ref=$root/tools/reference
mkdir -p "$out"
rm -rf "$out/runs" # a trainer never reuses a run directory unless asked (--overwrite)
export MAEC_CACHE_DIR=$out/cache
# shellcheck source=../lib.sh
. "$root/tests/lib.sh"

if [ "$mode" = compile ]; then
	for dsl in "$root"/models/*.dsl; do
		name=$(basename "$dsl" .dsl)
		check "$name.nvcc" "$maec" "$dsl" -o "$out/$name" --target=cuda
		check "$name.nvrtc" "$out/$name" kernels --arch 80 --arch 90
		grep "^sm_" "$out/$name.nvrtc.log" || true
		# No GPU here: the trainer must say so and exit 1, before reading any data.
		if "$out/$name" pretrain --data "$out/no-data" >"$out/$name.nogpu.log" 2>&1; then
			failed=$((failed + 1))
			echo "FAIL $name.nogpu: the trainer ran without a GPU"
		elif [ $? -eq 1 ] && grep -q "no CUDA device found" "$out/$name.nogpu.log"; then
			passed=$((passed + 1))
			echo "ok   $name.nogpu"
		else
			failed=$((failed + 1))
			echo "FAIL $name.nogpu:"
			cat "$out/$name.nogpu.log"
		fi
	done
	# f32 storage's kernels too (the default is bf16 storage), and recomputation's (the
	# backward's attention kernels that recompute the probabilities)
	check mae-f32.nvcc "$maec" "$root/models/mae.dsl" -o "$out/mae-f32" --target=cuda --precision=tf32
	check mae-f32.nvrtc "$out/mae-f32" kernels --arch 80 --arch 90
	grep "^sm_" "$out/mae-f32.nvrtc.log" || true
	check mae-remat.nvcc "$maec" "$root/models/mae.dsl" -o "$out/mae-remat" --target=cuda --recompute=cheap
	check mae-remat.nvrtc "$out/mae-remat" kernels --arch 80 --arch 90
	grep "^sm_" "$out/mae-remat.nvrtc.log" || true
	finish
	exit
fi

need_cifar_and_torch
# OpenBLAS's OpenMP threads would spin between the products on the cores the emulator runs
# its blocks on.
export OMP_WAIT_POLICY=passive
pair() { # name dsl recipe step-args -- maec-args...: one step of both trainers, compared
	local name=$1 dsl=$2 recipe=$3 args=$4
	shift 5
	if [ ! -x "$out/$name-c" ]; then
		check "$name.build.c" "$maec" "$dsl" "$@" -o "$out/$name-c"
		check "$name.build.cuda" "$maec" "$dsl" "$@" -o "$out/$name-cuda" --target=cuda-emu --precision=fp32
	fi
	# shellcheck disable=SC2086
	check "$name.$recipe.c" "$out/$name-c" "$recipe" --data "${pair_data:-$data}" --steps 1 $args \
		--out "$out/runs/$name-c-$recipe" --dump-step "$out/$name-$recipe-c.st"
	# shellcheck disable=SC2086
	# fp32 products: the attention kernels' tiles as three tf32 products (the emulated
	# cuBLAS products are fp32 whatever the precision)
	check "$name.$recipe.cuda" "$out/$name-cuda" "$recipe" --data "${pair_data:-$data}" --steps 1 $args --precision fp32 \
		--out "$out/runs/$name-cuda-$recipe" --dump-step "$out/$name-$recipe-cuda.st"
	check "$name.$recipe.cuda-vs-c" "$py" "$ref/compare_dumps.py" "$out/$name-$recipe-cuda.st" "$out/$name-$recipe-c.st"
}
# trainers and dumps of an earlier run (of other sizes) are not reused; the random images
# cifar_or_random made (without CIFAR-10) are
find "$out" -mindepth 1 -maxdepth 1 ! -name cache ! -name random-cifar10 -exec rm -rf {} +
mkdir -p "$out/runs"
# models/mae.dsl at full size (width 192, 12 + 4 blocks, 257 tokens): pretraining with two
# micro-batches, fine-tuning, the linear probe; each CUDA step also against PyTorch.
pair mae "$root/models/mae.dsl" pretrain "--batch 4 --micro-batch 2" --
pair mae "$root/models/mae.dsl" finetune "--batch 2" --
pair mae "$root/models/mae.dsl" linprobe "--batch 2" --
for recipe in pretrain finetune linprobe; do
	check "mae.$recipe.cuda-vs-pytorch" "$py" "$ref/check_step.py" "$out/mae-$recipe-cuda.st"
done
# bf16 storage (maec --precision=bf16): one step of pretraining and fine-tuning at full size
# against the float64 reference, with issue 14's bounds (tools/reference/check_bf16.py)
check mae-bf16.build.cuda "$maec" "$root/models/mae.dsl" --precision=bf16 -o "$out/mae-bf16-cuda" --target=cuda-emu
for recipe in pretrain finetune; do
	check "mae-bf16.$recipe.cuda" "$out/mae-bf16-cuda" "$recipe" --data "$data" --steps 1 --batch 8 \
		--out "$out/runs/mae-bf16-$recipe" --dump-step "$out/mae-bf16-$recipe-cuda.st"
	check "mae-bf16.$recipe.parity" "$py" "$ref/check_bf16.py" "$out/mae-bf16-$recipe-cuda.st"
done
# the official options at full size (width 192, 12 blocks; decoder 128 wide, 4 blocks);
# without warm-up, so that the first step's learning rate, and AdamW's update, is not 0
pair official "$root/models/mae-official.dsl" pretrain "--batch 2 --warmup 0" --
check "official.pretrain.cuda-vs-pytorch" "$py" "$ref/check_step.py" "$out/official-pretrain-cuda.st"
# the Fashion-MNIST model, when Debian's dataset-fashion-mnist is installed
fashion=${MAEC_FASHION_DATA:-/usr/share/datasets/fashion-mnist}
if [ -f "$fashion/train-images-idx3-ubyte.gz" ] || [ -f "$fashion/train-images-idx3-ubyte" ]; then
	pair_data=$fashion pair fashion "$root/models/mae-fashion.dsl" pretrain "--batch 2 --warmup 0" --
	pair_data=$fashion pair fashion "$root/models/mae-fashion.dsl" finetune "--batch 2 --warmup 0" --
else
	echo "skip fashion: no Fashion-MNIST in $fashion (apt-get install dataset-fashion-mnist)"
fi
# the attention kernels at sizes MAE has not: partial tiles, narrow and single heads
pair attention "$root/tests/cuda/attention.dsl" check "--batch 2" --
# recomputation (--recompute=cheap): the backward's attention kernels make the
# probabilities themselves (codegen/cuda.c, emit_attention's Y), at those sizes and at MAE's;
# under bf16 storage, against the float64 reference
pair attention-remat "$root/tests/cuda/attention.dsl" check "--batch 2" -- --recompute=cheap
pair mae-remat "$root/models/mae.dsl" pretrain "--batch 4 --micro-batch 2" -- --recompute=cheap
check mae-remat-bf16.build.cuda "$maec" "$root/models/mae.dsl" --precision=bf16 --recompute=cheap \
	-o "$out/mae-remat-bf16-cuda" --target=cuda-emu
check mae-remat-bf16.pretrain.cuda "$out/mae-remat-bf16-cuda" pretrain --data "$data" --steps 1 --batch 8 \
	--out "$out/runs/mae-remat-bf16-pretrain" --dump-step "$out/mae-remat-bf16-pretrain-cuda.st"
check mae-remat-bf16.pretrain.parity "$py" "$ref/check_bf16.py" "$out/mae-remat-bf16-pretrain-cuda.st"
for dsl in "$root"/tests/gradcheck/*.dsl; do
	pair "grad-$(basename "$dsl" .dsl)" "$dsl" check "--batch 2" --
done
# the masking permutations the CUDA trainer draws on the device against rt_randperm's
# (rows of 256, 64, 7 and 1; two micro-batches a step), for three seeds: the gradients
# are sums of the permutations' elements, equal only if every element is in its place
check randperm.build.c "$maec" "$root/tests/cuda/randperm.dsl" -o "$out/randperm-c"
check randperm.build.cuda "$maec" "$root/tests/cuda/randperm.dsl" -o "$out/randperm-cuda" --target=cuda-emu \
	--precision=fp32
for seed in 1 7 123456789; do
	for t in c cuda; do
		check "randperm.seed$seed.$t" "$out/randperm-$t" check --data "$data" --steps 1 --seed "$seed" \
			--out "$out/runs/randperm-$t-$seed" --dump-step "$out/randperm-$seed-$t.st"
	done
	check "randperm.seed$seed.cuda-vs-c" "$py" "$ref/compare_dumps.py" "$out/randperm-$seed-cuda.st" \
		"$out/randperm-$seed-c.st"
done
finish
