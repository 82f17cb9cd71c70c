#!/usr/bin/env bash
# Images/s of the generated C trainer against the PyTorch reference, on this machine, in
# one run: the MAE pretraining step and the fine-tuning step (forward, backward, AdamW;
# no accumulation), same batch, same thread count. ROUNDS rounds, alternating the two
# sides so that both see the same machine; each round runs each side anew for 2 untimed
# and STEPS timed steps and keeps the median step. Prints min/median/max over the rounds,
# the ratio of the medians, and the trainer's model GFLOP/s (the step's FLOPs counted by
# maec --stats) against this machine's sgemm rate, measured here with the same BLAS and
# threads (bench/sgemm.c), and the load average before and after.
#
# usage: bench/cpu.sh [BATCH] [THREADS] [ROUNDS] [STEPS]   defaults: 64, all cores, 5, 3
# env:   MAEC_FLAGS: maec options for the trainer (e.g. -fno-fuse); RECIPES (pretrain finetune)
# needs: CIFAR-10 in ../shared/data/cifar10 or $MAEC_DATA; /usr/bin/python3 with torch
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
recipes=${RECIPES:-pretrain finetune}
cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" >/dev/null
# shellcheck disable=SC2086
"$out/maec" "$root/models/mae.dsl" ${MAEC_FLAGS:-} -o "$out/mae"
# shellcheck disable=SC2086
stats=$("$out/maec" "$root/models/mae.dsl" ${MAEC_FLAGS:-} --stats)
blas=$(sed -n 's/^MAEC_OPENBLAS_OPENMP:FILEPATH=//p' "$out/CMakeCache.txt")
blas_dir=$(dirname "${blas:-/nonexistent/x}")
if [ -n "$blas" ] && [ "$blas" != "MAEC_OPENBLAS_OPENMP-NOTFOUND" ]; then
	cc -O2 "$root/bench/sgemm.c" -I/usr/include/"$(gcc -dumpmachine)"/openblas-openmp -L"$blas_dir" \
		-Wl,-rpath,"$blas_dir" -lopenblas -o "$out/sgemm"
else
	cc -O2 "$root/bench/sgemm.c" -lopenblas -o "$out/sgemm"
fi


machine
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "batch $batch, $threads threads, $rounds rounds of $warm untimed + $steps timed steps per side; trainer flags: ${MAEC_FLAGS:-none}"
# The machine's GEMM rate: a decoder MLP product at this batch (B*257 x 768 x 192) and a square one.
sg=$(OMP_NUM_THREADS=$threads "$out/sgemm" "$((batch * 257)),768,192" 2048,2048,2048)
echo "$sg"
peak=$(echo "$sg" | awk '{print $3}' | sort -g | tail -1)
for recipe in $recipes; do
	flops=$(echo "$stats" | awk -v r="recipe $recipe:" 'index($0, r) == 1 {on = 1; next} on && /GFLOP\/image/ {print $(NF - 7); exit}')
	ours=() theirs=()
	for ((k = 0; k < rounds; k++)); do
		ours+=("$("$out/mae" "$recipe" --data "$data" --steps $((steps + warm)) --batch "$batch" --threads "$threads" \
			--out "$out/run-$recipe" --overwrite |
			awk '/^epoch .* step /{for (i = 1; i <= NF; i++) if ($i == "img/s") print $(i - 1)}' | tail -n "$steps" | median)")
		theirs+=("$(/usr/bin/python3 "$root/tools/reference/bench_cpu.py" --threads "$threads" --batch "$batch" \
			--steps "$steps" --warmup "$warm" --recipes "$recipe" | sed -n 's/.* images_per_s=\([0-9.]*\).*/\1/p')")
	done
	read -r omin omed omax < <(printf "%s\n" "${ours[@]}" | stat3)
	read -r tmin tmed tmax < <(printf "%s\n" "${theirs[@]}" | stat3)
	echo
	echo "$recipe: maec   img/s min $omin median $omed max $omax   (rounds: ${ours[*]})"
	echo "$recipe: torch  img/s min $tmin median $tmed max $tmax   (rounds: ${theirs[*]})"
	awk -v o="$omed" -v t="$tmed" -v f="$flops" -v p="$peak" 'BEGIN {
		printf "%s ratio of medians %.2f; model %.1f GFLOP/s (%.3f GFLOP/image) = %.0f%% of sgemm %.1f GFLOP/s\n",
			"'"$recipe"':", o / t, o * f, f, 100 * o * f / p, p }'
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
