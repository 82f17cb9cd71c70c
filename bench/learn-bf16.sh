#!/usr/bin/env bash
# Does bf16 storage (maec --precision=bf16) learn as fp32 does? A small MAE — models/mae.dsl
# with width 64, 2 encoder blocks, 1 decoder block, 2 heads — is pretrained for 300 steps of
# 256 CIFAR-10 images (in a 2-epoch schedule) in bf16 and in fp32 from the same seed, on the
# C target; then each checkpoint is fine-tuned for one epoch and evaluated on the 10,000
# test images (about 40 minutes on 2 cores). tools/compare_runs.py
# checks the 10-step mean losses (bf16 within 2 % of fp32 at every point after step 50) and
# draws both curves into docs/bf16-pretrain-loss.svg. The result goes to docs/precision.md.
#
# usage: bench/learn-bf16.sh [STEPS] [BATCH]   defaults: 300 256
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${1:-300}
batch=${2:-256}
data=${MAEC_DATA:-$root/../shared/data/cifar10}
out=$root/build-bench/bf16
small=(-Ddim=64 -Denc_depth=2 -Ddec_depth=1 -Dheads=2)
cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-bench" >/dev/null
rm -rf "$out" && mkdir -p "$out"
for p in fp32 bf16; do
	"$root/build-bench/maec" "$root/models/mae.dsl" "${small[@]}" --precision=$p -o "$out/mae-$p"
done
for p in fp32 bf16; do
	"$out/mae-$p" pretrain --data "$data" --steps "$steps" --epochs 2 --warmup 0 --lr 1.5e-3 --batch "$batch" \
		--micro-batch "$batch" --log-every 50 --out "$out/pretrain-$p" | grep -E "stopped|step"
done
for p in fp32 bf16; do
	"$out/mae-$p" finetune --data "$data" --epochs 1 --warmup 0 --log-every 100 \
		--from "$out/pretrain-$p/pretrain.safetensors" --out "$out/finetune-$p" | tee "$out/finetune-$p.log" |
		grep -E "done|loaded"
done
acc() { grep "done" "$1" | sed -n 's/.*val acc \([0-9.]*\).*/\1/p' | sort -g | tail -n 1; }
printf "validation accuracy after one epoch: fp32 %s, bf16 %s\n" "$(acc "$out/finetune-fp32.log")" \
	"$(acc "$out/finetune-bf16.log")"
/usr/bin/python3 "$root/tools/compare_runs.py" "$out/pretrain-fp32/metrics.csv" "$out/pretrain-bf16/metrics.csv" \
	--labels fp32,bf16 --after 50 --within 0.02 --svg "$root/docs/bf16-pretrain-loss.svg"
