#!/usr/bin/env bash
# bench/folder.sh: what reading an image folder adds to a training step. A small MAE
# (models/mae-folder.dsl at 96x96, dim 192, 4 + 2 blocks) pretrains at batch 64 on a folder
# of 96x96 JPEGs, its images decoded on the loader's threads while the step runs, against the
# same run with every image decoded once at the start (--cache-images: the crops, flips and
# normalisation still run each step). Both in the same run of this script, alternating, ROUNDS
# times; the median step time of each (the first step of a run left out) and their ratio.
# Then images/s decoded (decode, random_resized_crop, flip, normalise) by one thread.
# Usage: bench/folder.sh [BUILD] [ROUNDS] [STEPS]   (defaults: build, 3, 6)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
nrounds=${2:-3}
nsteps=${3:-6}
set -- # bench/lib.sh reads its own arguments
. "$root/bench/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work/imgs" $((64 * (nsteps + 1))) <<'PY'
import os, sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
n = int(sys.argv[2])
for i in range(n):
    d = f"{sys.argv[1]}/c{i % 10}"
    os.makedirs(d, exist_ok=True)
    y, x = np.mgrid[0:96, 0:96]
    px = np.stack([x * 2.6, y * 2.6, (x + y) * 1.3], -1) + rng.normal(0, 30, (96, 96, 3))
    Image.fromarray(np.clip(px, 0, 255).astype(np.uint8)).save(f"{d}/{i}.jpg", quality=90)
PY
"$build/maec" "$root/models/mae-folder.dsl" -Ddim=192 -Denc_depth=4 -Ddec_depth=2 -Dheads=3 -o "$work/mae"
machine
run=(pretrain --data "$work/imgs" --batch 64 --micro-batch 64 --warmup 1 --steps "$nsteps" --quiet)
step_median() { # the median seconds of a run's steps after the first
	tail -n +3 "$1/metrics.csv" | awk -F, '{print $(NF - 1)}' | median
}
base=() ours=()
for r in $(seq "$nrounds"); do
	"$work/mae" "${run[@]}" --cache-images --out "$work/base$r" >/dev/null
	"$work/mae" "${run[@]}" --out "$work/ours$r" >/dev/null
	base+=("$(step_median "$work/base$r")")
	ours+=("$(step_median "$work/ours$r")")
	echo "round $r: pre-decoded ${base[-1]} s/step, decoded while stepping ${ours[-1]} s/step"
done
b=$(printf '%s\n' "${base[@]}" | median)
o=$(printf '%s\n' "${ours[@]}" | median)
echo "median step: pre-decoded $b s, decoded while stepping $o s: ratio $(awk -v o="$o" -v b="$b" 'BEGIN {printf "%.3f", o / b}')"
n=$(find "$work/imgs" -name '*.jpg' | wc -l)
t0=$(date +%s.%N)
"$build/runtime/test_folder" read "$work/imgs" 0 3 96 96 random 109 0.5 1 0 1 "$work/x" >/dev/null
t1=$(date +%s.%N)
echo "one thread: $n images in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') s: $(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN {printf "%.0f", n / (b - a)}') images/s (decode, crop, flip, normalise; the listing and header checks included)"
