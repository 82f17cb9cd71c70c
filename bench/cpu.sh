#!/usr/bin/env bash
# Images/s of the generated C trainer against the PyTorch reference, on this machine, in
# one run: the MAE pretraining step and the fine-tuning step (forward, backward, AdamW;
# no accumulation), same batch, same thread count, median over timed steps after warm-up.
#
# usage: bench/cpu.sh [BATCH] [THREADS] [STEPS]     defaults: 64, all cores, 5
# needs: CIFAR-10 in ../shared/data/cifar10 or $MAEC_DATA; /usr/bin/python3 with torch
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
batch=${1:-64}
threads=${2:-$(nproc)}
steps=${3:-5}
warm=2
data=${MAEC_DATA:-$root/../shared/data/cifar10}
out=$root/build-bench
cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" >/dev/null
"$out/maec" "$root/models/mae.dsl" -o "$out/mae"

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "batch $batch, $threads threads, median of $steps steps after $warm"
printf "%-10s %12s %12s %8s\n" recipe maec_img_s torch_img_s ratio
for recipe in pretrain finetune; do
	ours=$("$out/mae" "$recipe" --data "$data" \
		--steps $((steps + warm)) --batch "$batch" --threads "$threads" --out "$out/run-$recipe" --overwrite |
		awk '/^epoch .* step /{for (i = 1; i <= NF; i++) if ($i == "img/s") print $(i - 1)}' | tail -n "$steps" | median)
	theirs=$(/usr/bin/python3 "$root/tools/reference/bench_cpu.py" --threads "$threads" --batch "$batch" \
		--steps "$steps" --warmup "$warm" --recipes "$recipe" |
		sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p')
	ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')
	printf "%-10s %12s %12s %8s\n" "$recipe" "$ours" "$theirs" "$ratio"
done
