#!/usr/bin/env bash
# Data-parallel training (docs/distributed.md) under Open MPI's mpirun, on the CPU:
#   - 2 ranks against one process, 10 pretraining steps at batch 16 in micro-batches of 4:
#     every step's loss within 1e-6 relative and the parameters after step 10 within 1e-5
#     (max-normalised; tools/compare_dp.py); --zero 1 against plain data parallelism the
#     same way; fine-tuning too, with its validation (sharded over the ranks) equal;
#     models/mae-fashion.dsl on Fashion-MNIST, and models/mae.dsl at full size on CIFAR-10
#     when ../shared has it; an image folder the test makes (models/mae-folder.dsl);
#   - the emulated CUDA trainer with 2 ranks (NCCL's calls emulated over MPI) against the C
#     trainer with 2 ranks, within 1e-5;
#   - SIGKILL of one rank mid-run: mpirun exits non-zero within 30 s naming the rank, and
#     --resume continues to the same metrics.csv, digit for digit, as an uninterrupted run;
#   - the refusals: a batch the ranks cannot share, --zero on a GPU trainer.
# usage: run.sh MAEC OUT_DIR     exit 77 (skipped) without mpirun or Fashion-MNIST
set -euo pipefail
maec=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
fashion=${MAEC_FASHION:-/usr/share/datasets/fashion-mnist}
cifar=${MAEC_DATA:-$root/../shared/data/cifar10}
py=/usr/bin/python3
# shellcheck source=../lib.sh
. "$root/tests/lib.sh"
if ! command -v mpirun >/dev/null; then
	echo "SKIP: no mpirun (tools/install-deps.sh installs Open MPI: openmpi-bin)"
	exit 77
fi
if [ ! -e "$fashion/train-images-idx3-ubyte.gz" ] && [ ! -e "$fashion/train-images-idx3-ubyte" ]; then
	echo "SKIP: no Fashion-MNIST in $fashion (apt-get install dataset-fashion-mnist)"
	exit 77
fi
mkdir -p "$out"
rm -rf "$out"/run-* "$out"/*.safetensors
export MAEC_CACHE_DIR=$out/cache
# 2 ranks on a machine of 2 cores, as root in CI; one thread each
mpirun=(mpirun --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
mpi=("${mpirun[@]}" -np 2)
cmp_dp=("$py" "$root/tools/compare_dp.py")

# $1 NAME, $2 trainer, then the trainer's arguments: one process, 2 ranks, 2 ranks with --zero 1
three_ways() {
	local name=$1 exe=$2
	shift 2
	check "$name.one" "$exe" "$@" --out "$out/run-$name-one" --dump-steps "$out/$name-one.safetensors"
	check "$name.two" "${mpi[@]}" "$exe" "$@" --out "$out/run-$name-two" --dump-steps "$out/$name-two.safetensors"
	check "$name.zero" "${mpi[@]}" "$exe" "$@" --zero 1 --out "$out/run-$name-zero" \
		--dump-steps "$out/$name-zero.safetensors"
	check "$name.two.equal" "${cmp_dp[@]}" "$out/$name-two.safetensors" "$out/$name-one.safetensors"
	check "$name.zero.equal" "${cmp_dp[@]}" "$out/$name-zero.safetensors" "$out/$name-two.safetensors" --loss-rtol 1e-6 \
		--param-tol 1e-6
	cat "$out/$name.two.equal.log" "$out/$name.zero.equal.log" | grep "worst" || true
}

"$maec" "$root/models/mae-fashion.dsl" -o "$out/fashion"
three_ways fashion.pretrain "$out/fashion" pretrain --data "$fashion" --steps 10 --batch 16 --micro-batch 4 --quiet
# one epoch of 160 images, then the validation on the test split's 10,000
three_ways fashion.finetune "$out/fashion" finetune --data "$fashion" --epochs 1 --limit 160 --batch 16 \
	--micro-batch 4 --quiet
# the validation's sums are the same numbers in the same order: the accuracy is equal
check fashion.finetune.val_acc bash -c "diff <(cut -d, -f6 '$out/run-fashion.finetune-one/epochs.csv') \
	<(cut -d, -f6 '$out/run-fashion.finetune-two/epochs.csv') && \
	diff <(cut -d, -f6 '$out/run-fashion.finetune-one/epochs.csv') <(cut -d, -f6 '$out/run-fashion.finetune-zero/epochs.csv')"

# An image folder (models/mae-folder.dsl, made tiny): the ranks decode their own slots, with
# the crops and flips of one process (the inputs compared exactly); one micro-batch a rank
"$py" - "$out/imgs" <<'PY'
import os, sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(7)
for c in range(3):
    os.makedirs(f"{sys.argv[1]}/c{c}", exist_ok=True)
    for i in range(8):
        w, h = int(rng.integers(24, 70)), int(rng.integers(24, 70))
        px = np.clip(rng.normal(80 * c + 40, 50, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(px).save(f"{sys.argv[1]}/c{c}/{i}." + ("jpg" if i % 2 else "png"))
PY
"$maec" "$root/models/mae-folder.dsl" -Dimage=32 -Dpatch=8 -Ddim=32 -Denc_depth=1 -Ddec_depth=1 -Dheads=2 -Dclasses=3 \
	-o "$out/folder"
three_ways folder.pretrain "$out/folder" pretrain --data "$out/imgs" --steps 6 --batch 8 --micro-batch 4 --warmup 1 --quiet

if [ -f "$cifar/data_batch_1.bin" ]; then
	"$maec" "$root/models/mae.dsl" -o "$out/mae"
	three_ways mae.pretrain "$out/mae" pretrain --data "$cifar" --steps 10 --batch 16 --micro-batch 4 --quiet
else
	echo "skipped: models/mae.dsl at full size (no CIFAR-10 in $cifar)"
fi

# The emulated CUDA trainer with 2 ranks against the C trainer with 2 ranks (f32 storage).
small=(-Ddim=32 -Denc_depth=1 -Ddec_depth=1 -Dheads=2)
"$maec" "$root/models/mae-fashion.dsl" "${small[@]}" -o "$out/small"
"$maec" "$root/models/mae-fashion.dsl" "${small[@]}" --target=cuda-emu --precision=fp32 -o "$out/small-emu"
emu=(pretrain --data "$fashion" --steps 3 --batch 16 --micro-batch 4 --quiet)
check emu.c "${mpi[@]}" "$out/small" "${emu[@]}" --out "$out/run-emu-c" --dump-steps "$out/emu-c.safetensors"
check emu.cuda "${mpi[@]}" "$out/small-emu" "${emu[@]}" --precision fp32 --out "$out/run-emu-cuda" \
	--dump-steps "$out/emu-cuda.safetensors"
check emu.equal "${cmp_dp[@]}" "$out/emu-cuda.safetensors" "$out/emu-c.safetensors" --loss-rtol 1e-5 --param-tol 1e-5
grep "worst" "$out/emu.equal.log" || true

# SIGKILL of rank 1 in the middle of a run with a checkpoint after every step, then --resume.
kill_args=(pretrain --data "$fashion" --steps 40 --batch 16 --micro-batch 4 --checkpoint-every 0.0001 --quiet)
check kill.whole "${mpi[@]}" "$out/fashion" "${kill_args[@]}" --out "$out/run-kill-whole"
"${mpi[@]}" "$out/fashion" "${kill_args[@]}" --out "$out/run-kill" >"$out/kill.log" 2>&1 &
launcher=$!
rank1=""
for _ in $(seq 600); do # until the run has checkpoints, then rank 1's process
	if [ -f "$out/run-kill/pretrain.safetensors" ] && [ "$(wc -l <"$out/run-kill/metrics.csv")" -gt 8 ]; then
		for pid in $(pgrep -f "$out/fashion pretrain" || true); do
			if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
				rank1=$pid
			fi
		done
		[ -n "$rank1" ] && break
	fi
	sleep 0.05
done
name=kill.stops
if [ -z "$rank1" ]; then
	verdict "$name" no "rank 1 was not found running with a checkpoint written" "$out/kill.log"
	wait "$launcher" || true
else
	kill -9 "$rank1"
	t0=$(date +%s.%N)
	rc=0
	timeout 60 tail --pid="$launcher" -f /dev/null || true
	wait "$launcher" || rc=$?
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	ok=no
	[ "$rc" -ne 0 ] && grep -q "rank 1" "$out/kill.log" && awk -v s="$secs" 'BEGIN { exit !(s < 30) }' && ok=yes
	verdict "$name" $ok "exit $rc $secs s after the kill: $(grep -m1 -o '[^ ]*rank 1[^.]*' "$out/kill.log" || true)" \
		"$out/kill.log"
fi
check kill.resume "${mpi[@]}" "$out/fashion" "${kill_args[@]}" --resume "$out/run-kill"
# every step's step, epoch, loss and learning rate (the columns after them are times)
check kill.metrics bash -c "diff <(cut -d, -f1-4 '$out/run-kill-whole/metrics.csv') <(cut -d, -f1-4 '$out/run-kill/metrics.csv')"

# A checkpoint written at an epoch's end inside an optimizer step (40 images: 10
# micro-batches an epoch, 4 a step), resumed by 2 ranks and by one process: the same
# metrics as the uninterrupted 2-rank run (by one process, each loss within 1e-6).
mid=(pretrain --data "$fashion" --batch 16 --micro-batch 4 --limit 40 --quiet)
check mid.whole "${mpi[@]}" "$out/fashion" "${mid[@]}" --epochs 3 --out "$out/run-mid-whole"
for how in two one; do
	check "mid.$how.first" "${mpi[@]}" "$out/fashion" "${mid[@]}" --epochs 1 --out "$out/run-mid-$how"
done
check mid.two.resume "${mpi[@]}" "$out/fashion" "${mid[@]}" --epochs 3 --resume "$out/run-mid-two"
check mid.one.resume "$out/fashion" "${mid[@]}" --epochs 3 --resume "$out/run-mid-one"
check mid.two.metrics bash -c "diff <(cut -d, -f1-4 '$out/run-mid-whole/metrics.csv') <(cut -d, -f1-4 '$out/run-mid-two/metrics.csv')"
check mid.one.metrics awk -F, 'NR == FNR { loss[$1] = $3; lr[$1] = $4; next }
	FNR > 1 { d = $3 - loss[$1]; if (d < 0) d = -d; if (d > 1e-6 * loss[$1] || $4 != lr[$1]) bad++; n++ }
	END { print n " steps, " bad + 0 " differ"; exit bad > 0 || n != 7 }' \
	"$out/run-mid-whole/metrics.csv" "$out/run-mid-one/metrics.csv"

# SIGUSR1 to mpirun, which forwards it: every rank finishes its step, rank 0 writes the
# checkpoint, all exit 130, and --resume continues.
"${mpi[@]}" "$out/fashion" pretrain --data "$fashion" --batch 16 --micro-batch 4 --out "$out/run-usr1" \
	--log-every 1000 >"$out/usr1.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do
	[ -f "$out/run-usr1/metrics.csv" ] && [ "$(wc -l <"$out/run-usr1/metrics.csv")" -gt 20 ] && break
	sleep 0.05
done
kill -USR1 "$launcher"
rc=0
wait "$launcher" || rc=$?
ok=no
[ "$rc" -eq 130 ] && grep -q "interrupted after step" "$out/usr1.log" && ok=yes
verdict usr1.stops $ok "exit $rc, $(grep -o 'interrupted after step [0-9]*' "$out/usr1.log" || true)" "$out/usr1.log"
stopped=$(grep -o 'interrupted after step [0-9]*' "$out/usr1.log" | grep -o '[0-9]*$' || echo 0)
check usr1.resume "${mpi[@]}" "$out/fashion" pretrain --data "$fashion" --batch 16 --micro-batch 4 \
	--steps $((stopped + 2)) --resume "$out/run-usr1" --quiet

# One rank fails (its data is truncated; mpirun's MPMD form gives rank 1 its own --data):
# it says so, naming itself, and every rank stops.
mkdir -p "$out/bad-data"
for f in "$fashion"/*; do cp "$f" "$out/bad-data/"; done
f=$(ls "$out"/bad-data/train-images*)
head -c 100000 "$f" >"$out/bad-data/cut" && mv "$out/bad-data/cut" "$f"
rank_args=(pretrain --batch 16 --micro-batch 4 --steps 50 --out "$out/run-bad" --quiet)
refuses rank.fails nonzero "rank 1 of 2 failed" "${mpirun[@]}" -np 1 "$out/fashion" "${rank_args[@]}" \
	--data "$fashion" : -np 1 "$out/fashion" "${rank_args[@]}" --data "$out/bad-data"

# Refusals.
refuses refuse.batch 2 "cannot be shared by 2 ranks" "${mpi[@]}" "$out/fashion" pretrain --data "$fashion" --batch 15 \
	--steps 1
refuses refuse.micro 2 "cannot share evenly" "${mpi[@]}" "$out/fashion" pretrain --data "$fashion" --batch 16 \
	--micro-batch 16 --steps 1
refuses refuse.zero.gpu 2 "--zero 1 shards the update of the C target" "$out/small-emu" pretrain --data "$fashion" \
	--zero 1
finish
