#!/usr/bin/env bash
# tests/gpu/run.sh: the CUDA target's checks that need a GPU, in one run (under 8 minutes
# on an H100). Run tests/gpu/prepare.sh first on a machine with maec's build tools; then,
# on the GPU machine, from the repository root: tests/gpu/run.sh (the kit in gpu-kit/).
#   1. the kernels through NVRTC for the device, with ptxas's resource report;
#   2. step parity in fp32: the CUDA trainer against the C trainer on the same data,
#      parameters and permutations (tools/reference/compare_dumps.py: loss 1e-5 relative,
#      gradients 1e-4, parameters after AdamW 1e-5), and against the PyTorch reference
#      (tools/reference/check_step.py), for pretraining (one and two micro-batches),
#      fine-tuning, linear probing and the official-options model; in bf16 storage (the
#      CUDA target's default) against the float64 reference with issue 14's bounds
#      (tools/reference/check_bf16.py), for pretraining and fine-tuning;
#   3. a profile (MAEC_PROFILE=1): each kernel measured beside the compiler's estimate,
#      saved under bench/results/ (the file is named when the run ends);
#   4. bench/gpu.py: images/s of pretraining at batch 512 against PyTorch eager and
#      torch.compile, fp32/tf32/bf16, with peak device memory.
# Logs go to $MAEC_GPU_OUT (default /tmp/maec-gpu-out); where $OUT is set (the device tool
# brings back what the command leaves there, at most 8 files), summary.txt, bench.json,
# the profile's CSV and logs.tar.gz are copied there. Exit status: failed checks.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
kit=${MAEC_GPU_KIT:-$root/gpu-kit}
out=${MAEC_GPU_OUT:-/tmp/maec-gpu-out}
work=$(mktemp -d /tmp/maec-gpu-XXXXXX)
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export MAEC_CACHE_DIR=$work/cache PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}
ref=$root/tools/reference
summary=()
failed=0
note() { summary+=("$1"); echo "== $1"; }
check() { # name command...: runs it with its output in $out/NAME.log
	local name=$1
	shift
	if timeout 300 "$@" >"$out/$name.log" 2>&1; then
		note "ok    $name"
	else
		failed=$((failed + 1))
		note "FAIL  $name (see $name.log)"
		tail -15 "$out/$name.log"
	fi
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for f in mae mae-official mae_bf16 mae_c; do
	gunzip -c "$kit/$f.gz" >"$work/$f" && chmod +x "$work/$f"
done
for t in mae mae-official mae_bf16; do # relink where the carried build does not run
	if ldd "$work/$t" | grep -q "not found"; then
		echo "relinking $t here: $(ldd "$work/$t" | grep 'not found' | tr -s ' \t' ' ')"
		gunzip -c "$kit/$t.cu.gz" >"$work/$t.cu" 2>/dev/null || cp "$kit/$t.cu" "$work/$t.cu"
		nvcc -std=c++17 -O1 -Iruntime "$work/$t.cu" "$kit/libmaec_trainer_cuda.a" -lcublas -lnvrtc -l:libz.so.1 \
			-o "$work/$t" || failed=$((failed + 1))
	fi
done

# Data: CIFAR-10 files made of the carried slice (repeated to 10000 records each), and
# random images for the benchmark.
python3 - "$kit/cifar-slice.bin" "$work" <<'PY'
import os, sys, numpy as np
sl, work = open(sys.argv[1], "rb").read(), sys.argv[2]
rec = 3073
n = len(sl) // rec
one = (sl[: n * rec] * (10000 // n + 1))[: 10000 * rec]
rnd = np.random.default_rng(0).integers(0, 256, size=(10000, rec), dtype=np.uint8)
rnd[:, 0] %= 10
for d, data in (("cifar", one), ("random", rnd.tobytes())):
    os.makedirs(os.path.join(work, d), exist_ok=True)
    for f in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
        open(os.path.join(work, d, f), "wb").write(data)
PY

check kernels "$work/mae" kernels --arch 90 -v
check kernels_bf16 "$work/mae_bf16" kernels --arch 90 -v
grep "^sm_90" "$out/kernels.log" "$out/kernels_bf16.log"

# Step parity, fp32.
mkdir -p "$work/runs"
step() { # name trainer recipe args...: one step with its dump in $work/NAME.st
	local tag=$1 t=$2 r=$3
	shift 3
	check "$tag" "$work/$t" "$r" --data "$work/cifar" --steps 1 --out "$work/runs/$tag" --dump-step "$work/$tag.st" "$@"
}
for r in pretrain finetune linprobe; do
	step "c_$r" mae_c $r --batch 8
	step "cuda_$r" mae $r --batch 8 --precision fp32
	if [ ! -s "$work/cuda_$r.st" ]; then # without graphs, to tell capture problems from kernel ones
		check "cuda_${r}_nographs" env MAEC_GRAPHS=0 "$work/mae" $r --data "$work/cifar" --steps 1 --batch 8 \
			--precision fp32 --out "$work/runs/ng_$r" --dump-step "$work/cuda_$r.st"
	fi
	check "parity_cuda_vs_c_$r" python3 "$ref/compare_dumps.py" "$work/cuda_$r.st" "$work/c_$r.st"
	check "parity_cuda_vs_pytorch_$r" python3 "$ref/check_step.py" "$work/cuda_$r.st"
done
if [ -z "${MAEC_GPU_QUICK:-}" ]; then # MAEC_GPU_QUICK=1: leave this one to the emulation (cuda.emulated)
	step c_pretrain_2mb mae_c pretrain --batch 16 --micro-batch 8
	step cuda_pretrain_2mb mae pretrain --batch 16 --micro-batch 8 --precision fp32
	check parity_cuda_vs_c_pretrain_2mb python3 "$ref/compare_dumps.py" "$work/cuda_pretrain_2mb.st" \
		"$work/c_pretrain_2mb.st"
fi
step cuda_official mae-official pretrain --batch 8 --precision fp32
check parity_cuda_vs_pytorch_official python3 "$ref/check_step.py" "$work/cuda_official.st"
# bf16 storage against the float64 reference
for r in pretrain finetune; do
	step "cuda_bf16_$r" mae_bf16 $r --batch 8
	check "parity_bf16_vs_float64_$r" python3 "$ref/check_bf16.py" "$work/cuda_bf16_$r.st"
done
for f in "$out"/parity_*.log; do
	echo "-- $(basename "$f" .log)"
	grep -E "^(loss|logits|grad|params)|ok:|FAIL" "$f" | head -12
done

# Where the time goes: every launch, GEMM and copy timed (MAEC_PROFILE=1, graphs off), each
# beside the compiler's estimate (maec --report=cost); every site's comparison is kept as
# bench/results/DEVICE-DATE-profile.csv (and in $OUT), to refit codegen/cost.def from.
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr 'A-Z ' 'a-z-' | sed 's/^nvidia-//')
prof_csv=bench/results/${gpu:-gpu}-$(date +%Y-%m-%d)-profile.csv
MAEC_PROFILE=1 MAEC_PROFILE_OUT="$out/profile.csv" timeout 120 "$work/mae" pretrain --data "$work/random" --batch 512 \
	--steps 3 --precision tf32 --out "$work/runs/profile" >"$out/profile.log" 2>&1 || note "FAIL  profile (see profile.log)"
sed -n '/^profile/,$p' "$out/profile.log"
cp "$out/profile.csv" "$prof_csv" 2>/dev/null && echo "profile against the estimates: $prof_csv"

# The benchmark.
steps=12 warmup=3
[ -z "${MAEC_GPU_QUICK:-}" ] || steps=8 warmup=2
if ! timeout 420 python3 bench/gpu.py --trainer "$work/mae" --trainer-bf16 "$work/mae_bf16" --data "$work/random" --batch 512 \
	--steps "$steps" --warmup "$warmup" \
	--json "$out/bench.json" 2>&1 | tee "$out/bench.log"; then
	failed=$((failed + 1))
	note "FAIL  bench (see bench.log)"
fi
echo
printf '%s\n' "${summary[@]}"
echo "$failed failed"
# What comes back from a lent machine is a few files: the summary, the benchmark's numbers,
# and every log in one archive.
{
	printf '%s\n' "${summary[@]}"
	grep "^sm_90" "$out/kernels.log" "$out/kernels_bf16.log"
	for f in "$out"/parity_*.log; do
		echo "-- $(basename "$f" .log)"
		grep -E "^(loss|logits|grad|params)|ok:|FAIL" "$f"
	done
	sed -n '/^profile/,$p' "$out/profile.log"
	cat "$out/bench.log"
} >"$out/summary.txt" 2>&1
tar -czf "$out/logs.tar.gz" -C "$out" --exclude=logs.tar.gz --exclude=summary.txt --exclude=bench.json . 2>/dev/null
if [ -n "${OUT:-}" ] && [ "$OUT" != "$out" ]; then
	cp "$out/summary.txt" "$out/logs.tar.gz" "$OUT/" 2>/dev/null
	cp "$out/bench.json" "$OUT/" 2>/dev/null
	cp "$out/profile.csv" "$OUT/$(basename "$prof_csv")" 2>/dev/null
fi
exit "$failed"
