#!/usr/bin/env bash
# Does MAE pretraining help, on real data and within CPU means? A small MAE — models/mae.dsl
# with smaller constants (-D): 4x4 patches, width 96, 4 encoder blocks, 1 decoder block —
# is pretrained on all 50,000 CIFAR-10 training images; then the classifier is fine-tuned
# with the same budget, seed and labelled subset (the first LABELLED training images), once
# from the pretraining checkpoint and once from scratch, and both are evaluated on the
# 10,000 test images. The result goes to docs/results.md.
#
# usage: bench/learn-cpu.sh [PRETRAIN_EPOCHS] [FINETUNE_EPOCHS] [LABELLED]   defaults: 2 3 10000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pre=${1:-2}
fine=${2:-3}
labelled=${3:-10000}
data=${MAEC_DATA:-$root/../shared/data/cifar10}
out=$root/build-bench/learn
small=(-Dpatch=4 -Ddim=96 -Denc_depth=4 -Ddec_depth=1 -Dheads=3)
cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-bench" >/dev/null
rm -rf "$out" && mkdir -p "$out"
"$root/build-bench/maec" "$root/models/mae.dsl" "${small[@]}" -o "$out/mae-small"
"$root/build-bench/maec" "$root/models/mae.dsl" "${small[@]}" --stats | grep -E "^model|forward"

"$out/mae-small" pretrain --data "$data" --epochs "$pre" --warmup 1 --batch 256 --micro-batch 256 \
	--lr 1.5e-3 --log-every 50 --out "$out/pretrain" | grep -E "done|step"
for start in pretrained scratch; do
	from=()
	[ "$start" = pretrained ] && from=(--from "$out/pretrain/pretrain.safetensors")
	"$out/mae-small" finetune --data "$data" --epochs "$fine" --warmup 1 --limit "$labelled" --log-every 100 \
		"${from[@]}" --out "$out/finetune-$start" | tee "$out/finetune-$start.log" | grep -E "done|loaded"
done
acc() { grep "done" "$1" | sed -n 's/.*val acc \([0-9.]*\).*/\1/p' | sort -g | tail -n 1; }
printf "best validation accuracy: pretrained %s, scratch %s\n" "$(acc "$out/finetune-pretrained.log")" \
	"$(acc "$out/finetune-scratch.log")"
