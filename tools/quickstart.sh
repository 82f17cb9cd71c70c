#!/usr/bin/env bash
# The main job in one command, on a fresh Debian machine: installs the packages maec needs
# (tools/install-deps.sh --trainer), builds maec and its runtime, compiles a masked
# autoencoder into a trainer and pretrains it on real images, leaving reconstruction
# pictures, loss curves, TensorBoard events and checkpoints in runs/pretrain-TIMESTAMP/.
#
#   CIFAR-10, when a directory is given (--data DIR or MAEC_DATA) or found in data/cifar10
#   (tools/get-cifar10.sh puts it there): models/mae.dsl, compiled smaller (4x4 patches,
#   width 96, 4 encoder blocks and 1 decoder block: the CPU-scale MAE of bench/learn-cpu.sh)
#   and pretrained for 2 epochs;
#   otherwise Fashion-MNIST from Debian's dataset-fashion-mnist, no network needed:
#   models/mae-fashion.dsl with its own recipe (about 10 minutes on 2 CPU cores).
#
# usage: tools/quickstart.sh [--data DIR] [-- TRAINER-OPTIONS...]
#   e.g. tools/quickstart.sh -- --epochs 1     (options go to the trainer; see build/mae --help)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${MAEC_DATA:-}
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--data) data=${2:?--data needs a directory}; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "quickstart.sh: unknown option '$1' (trainer options go after --)" >&2; exit 2 ;;
	esac
done
if [ -z "$data" ] && [ -f data/cifar10/data_batch_1.bin ]; then
	data=data/cifar10
fi

start=$(date +%s)
phase() { echo "== $1 ($(($(date +%s) - start)) s)"; }
phase "packages"
tools/install-deps.sh --trainer
phase "building maec and its runtime"
cmake -S . -B build -G Ninja >/dev/null
cmake --build build | tail -n 1
if [ -n "$data" ]; then
	if [ ! -f "$data/data_batch_1.bin" ]; then
		echo "quickstart.sh: $data has no data_batch_1.bin: not CIFAR-10's binary version (tools/get-cifar10.sh)" >&2
		exit 1
	fi
	phase "compiling models/mae.dsl (CPU scale) into build/mae"
	build/maec models/mae.dsl -Dpatch=4 -Ddim=96 -Denc_depth=4 -Ddec_depth=1 -Dheads=3 -o build/mae
	trainer=(build/mae pretrain --data "$data" --epochs 2 --warmup 1 --batch 256 --micro-batch 256 --lr 1.5e-3)
else
	data=/usr/share/datasets/fashion-mnist
	phase "compiling models/mae-fashion.dsl into build/mae-fashion"
	build/maec models/mae-fashion.dsl -o build/mae-fashion
	trainer=(build/mae-fashion pretrain --data "$data")
fi
run=runs/pretrain-$(date +%Y%m%d-%H%M%S)
while [ -e "$run" ]; do run=$run-again; done
# OpenMP threads that wait asleep rather than spinning: on a machine whose cores other
# programs share, spinning threads take the cores from the ones with work (measured on
# this project's 2-core machine under load: 6 steps in 8.6 s passive, 66.7 s spinning).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
phase "pretraining: ${trainer[*]} --out $run ${extra[*]}"
"${trainer[@]}" --out "$run" "${extra[@]}"
phase "done"
last=$(ls "$run"/images/epoch-*.png 2>/dev/null | tail -n 1)
cat <<MSG
The run is in $run:
  ${last:-$run/images/}   the last epoch's reconstructions: [masked | reconstructed | original]
  $run/loss.svg           the loss curve
  $run/metrics.csv        every step's loss, learning rate and images/s
TensorBoard: pip install tensorboard && tensorboard --logdir runs
MSG
