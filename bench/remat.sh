#!/usr/bin/env bash
# What recomputation (maec --recompute, passes/remat.c) costs and saves, against no
# recomputation measured in the same run: the generated C trainer's pretraining step on
# this machine (images/s, ROUNDS rounds alternating the two trainers, each round 2 untimed
# and STEPS timed steps, its median kept; min/median/max over the rounds and the ratio of
# the medians), the activation plans of --report=memory at the recipe's micro-batch (both
# targets, fp32 and bf16 storage), and the CUDA cost model's estimated step on the H200
# (an estimate, not a measurement).
#
# usage: bench/remat.sh [BATCH] [THREADS] [ROUNDS] [STEPS] [POLICY]
#        defaults: 64, all cores, 5, 3, cheap
# needs: CIFAR-10 in ../shared/data/cifar10 or $MAEC_DATA
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
policy=${5:-cheap}
model=$root/models/mae.dsl
cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" >/dev/null
maec=$out/maec
"$maec" "$model" --recompute=none -o "$out/mae-none"
"$maec" "$model" --recompute="$policy" -o "$out/mae-$policy"

rate() { # trainer: the median img/s of its timed steps
	"$1" pretrain --data "$data" --steps $((steps + warm)) --batch "$batch" --threads "$threads" \
		--out "$out/run-remat" --overwrite |
		awk '/^epoch .* step /{for (i = 1; i <= NF; i++) if ($i == "img/s") print $(i - 1)}' | tail -n "$steps" | median
}

machine
echo "--recompute=$policy against --recompute=none, models/mae.dsl pretraining"
for target in c cuda; do
	for precision in fp32 bf16; do
		for p in none "$policy"; do
			plan=$("$maec" "$model" --target=$target --precision=$precision --recompute="$p" --report=memory |
				sed -n 's/^@pretrain.step at batch \([0-9]*\): .* planned \([0-9.]*\) MiB.*/\2 MiB at micro-batch \1/p')
			echo "plan, $target target, $precision storage, --recompute=$p: $plan"
		done
	done
done
for p in none "$policy"; do
	est=$("$maec" "$model" --target=cuda --recompute="$p" --report=cost | awk '/estimated step/ && !n++')
	echo "cost model, H200, bf16, --recompute=$p:$est"
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "batch $batch, $threads threads, $rounds rounds of $warm untimed + $steps timed steps per trainer"
base=() ours=()
for ((k = 0; k < rounds; k++)); do
	base+=("$(rate "$out/mae-none")")
	ours+=("$(rate "$out/mae-$policy")")
done
compare none "$policy" "step time with recomputation / without" base/ours "${base[@]}" -- "${ours[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
