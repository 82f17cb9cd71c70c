#!/usr/bin/env bash
# Data parallelism on this machine: the generated C trainer's pretraining step (models/mae.dsl
# at full size) as RANKS ranks of THREADS/RANKS threads each under mpirun, against one
# process of THREADS threads, measured in the same run (ROUNDS rounds alternating the two,
# each 2 untimed and STEPS timed steps, the round's median kept; min/median/max over the
# rounds and the ratio of the medians). The ranks share each step's batch in micro-batches
# of BATCH/RANKS; the one process runs the batch as one micro-batch. Then one --profile run
# of the ranks: the communication time per step (waiting for the others' sums).
#
# usage: bench/dp.sh [BATCH] [THREADS] [ROUNDS] [STEPS] [RANKS]
#        defaults: 64, all cores, 5, 3, 2
# needs: CIFAR-10 in ../shared/data/cifar10 or $MAEC_DATA; Open MPI's mpirun
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
ranks=${5:-2}
cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out" >/dev/null
"$out/maec" "$root/models/mae.dsl" -o "$out/mae"
mpi=(mpirun --oversubscribe -np "$ranks")
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
per_rank=$((threads / ranks > 0 ? threads / ranks : 1))
args=(pretrain --data "$data" --steps $((steps + warm)) --batch "$batch" --out "$out/run-dp" --overwrite)

rate() { # command...: the median img/s of its timed steps
	"$@" | awk '/^epoch .* step /{for (i = 1; i <= NF; i++) if ($i == "img/s") print $(i - 1)}' | tail -n "$steps" | median
}

machine
echo "models/mae.dsl pretraining at batch $batch: $ranks ranks x $per_rank threads against 1 process x $threads threads"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
one=() dp=()
for ((k = 0; k < rounds; k++)); do
	one+=("$(rate "$out/mae" "${args[@]}" --threads "$threads")")
	dp+=("$(rate "${mpi[@]}" "$out/mae" "${args[@]}" --threads "$per_rank")")
done
compare "1 process" "$ranks ranks" "throughput of the ranks / one process" ours/base "${one[@]}" -- "${dp[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--profile of the ranks (rank 0's step, ms per step; communication = waiting for the sums):"
"${mpi[@]}" "$out/mae" "${args[@]}" --threads "$per_rank" --profile --quiet | grep -E "^profile:|communication|^data parallel: .* summed"
