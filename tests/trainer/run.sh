#!/usr/bin/env bash
# The generated trainer as its users see it, on a small MAE for Fashion-MNIST
# (models/mae-fashion.dsl at width 32): the run directory and its files, progress in a
# pipe (no control characters) and on a terminal (one line redrawn), metrics.csv,
# TensorBoard event files read by the tensorboard package, PNG pictures decoded by PIL
# and compared with the data, the reconstruct command, Ctrl-C (SIGINT: exit 130, a
# checkpoint that loads, and --resume continuing digit for digit), and refusals.
# usage: run.sh MAEC OUT_DIR     exit 77 (skipped) without Fashion-MNIST, tensorboard or PIL
set -euo pipefail
maec=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${MAEC_FASHION_DATA:-/usr/share/datasets/fashion-mnist}
py=/usr/bin/python3
if [ ! -e "$data/t10k-images-idx3-ubyte.gz" ] && [ ! -e "$data/t10k-images-idx3-ubyte" ]; then
	echo "SKIP: no Fashion-MNIST in $data (apt-get install dataset-fashion-mnist)"
	exit 77
fi
for mod in tensorboard PIL; do
	if ! "$py" -c "import $mod" 2>/dev/null; then
		echo "SKIP: $py cannot import $mod (tools/install-deps.sh installs it)"
		exit 77
	fi
done
rm -rf "$out" && mkdir -p "$out"
cd "$out"
# shellcheck source=../lib.sh
. "$root/tests/lib.sh"

"$maec" "$root/models/mae-fashion.dsl" -Ddim=32 -Denc_depth=1 -Ddec_depth=1 -Dheads=2 -o "$out/mae"
"$maec" "$root/models/mae-fashion.dsl" -Ddim=32 -Denc_depth=1 -Ddec_depth=1 -Dheads=2 -Dmask_ratio=0.5 -o "$out/mae-half"
small=(--data "$data" --limit 512 --batch 64 --threads 1)

# Pretraining into a pipe: two epochs, a picture every 4 steps and each epoch.
check pretrain "$out/mae" pretrain "${small[@]}" --epochs 2 --log-every 2 --vis-every 4 --out "$out/pre"
check pipe.plain "$py" "$root/tests/trainer/check_run.py" plain "$out/pretrain.log"
check pipe.lines grep -c "^epoch 1 step 16 " "$out/pretrain.log"
check run.files "$py" "$root/tests/trainer/check_run.py" rundir "$out/pre" pretrain
check tensorboard.pretrain "$py" "$root/tests/trainer/check_run.py" tensorboard "$out/pre" pretrain
check png.decode "$py" "$root/tests/trainer/check_run.py" pictures "$out/pre" "$data"
# the default directory: runs/RECIPE-TIMESTAMP under the working directory
check run.default "$out/mae" pretrain "${small[@]}" --steps 1 --quiet
check run.default.dir bash -c "ls -d runs/pretrain-2[0-9][0-9][0-9][01][0-9][0-3][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]"
check quiet "$py" "$root/tests/trainer/check_run.py" quiet "$out/run.default.log"

# A classifier: cls/loss and cls/acc as train and val runs, as the reference's add_scalars.
check finetune "$out/mae" finetune --data "$data" --limit 256 --batch 64 --threads 1 --epochs 2 --out "$out/ft"
check tensorboard.finetune "$py" "$root/tests/trainer/check_run.py" tensorboard "$out/ft" finetune

# On a terminal (script(1) gives the trainer a pseudo-terminal): one line per epoch, redrawn.
check tty script -qfec "$out/mae pretrain ${small[*]} --epochs 2 --out $out/tty" "$out/tty.typescript"
check tty.redraw "$py" "$root/tests/trainer/check_run.py" tty "$out/tty.typescript" 2

# reconstruct: the last epoch's picture again, from the checkpoint; a PNG file; the mask ratio.
check reconstruct "$out/mae" reconstruct --from "$out/pre/pretrain.safetensors" --data "$data" --index 0 --count 16 \
	--out "$out/rec.png"
check reconstruct.same cmp <("$py" "$root/tests/trainer/check_run.py" pixels "$out/rec.png") \
	<("$py" "$root/tests/trainer/check_run.py" pixels "$out/pre/images/epoch-001.png")
check png.write "$py" "$root/tests/trainer/check_run.py" testpng "$data" 3 "$out/item3.png"
check reconstruct.png "$out/mae" reconstruct --from "$out/pre/pretrain.safetensors" --image "$out/item3.png" \
	--out "$out/rec3.png" --seed 7 --mask-ratio 0.75
check reconstruct.png.decode "$py" "$root/tests/trainer/check_run.py" single "$out/rec3.png" "$out/item3.png"
refuses reconstruct.ratio 2 "compiled with mask_ratio = 0.75" "$out/mae" reconstruct --from "$out/pre/pretrain.safetensors" \
	--image "$out/item3.png" --mask-ratio 0.5 --out "$out/rec-half.png"
check reconstruct.ratio.compiled "$out/mae-half" pretrain "${small[@]}" --steps 2 --out "$out/half"
check reconstruct.ratio.half "$out/mae-half" reconstruct --from "$out/half/pretrain.safetensors" \
	--image "$out/item3.png" --mask-ratio 0.5 --out "$out/rec-half.png"
refuses reconstruct.exists 2 "exists" "$out/mae" reconstruct --from "$out/pre/pretrain.safetensors" \
	--image "$out/item3.png" --out "$out/rec3.png"
refuses reconstruct.size 1 "is 84x28 pixels" "$out/mae" reconstruct --from "$out/pre/pretrain.safetensors" \
	--image "$out/rec3.png" --out "$out/rec-bad.png"

# A model that returns patches rather than images (the official MAE's [L, p*p*C] and [L]):
# its pictures on CIFAR-10, in colour (skipped without CIFAR-10).
cifar=${MAEC_DATA:-$root/../shared/data/cifar10}
if [ -f "$cifar/test_batch.bin" ]; then
	"$maec" "$root/models/mae-official.dsl" -Dpatch=4 -Ddim=32 -Ddepth=1 -Dheads=2 -Ddec_dim=32 -Ddec_depth=1 \
		-Ddec_heads=2 -o "$out/official"
	check official.pretrain "$out/official" pretrain --data "$cifar" --limit 256 --batch 64 --epochs 1 --warmup 0 \
		--threads 1 --out "$out/off"
	check official.pictures "$py" "$root/tests/trainer/check_run.py" cifar "$out/off" "$cifar" 4
else
	echo "skip official.pictures: no CIFAR-10 in $cifar"
fi

# Ctrl-C: the step finishes, the checkpoint is written, exit 130; it loads, and --resume
# continues as if never stopped (every step's loss and lr, every digit).
long=(--data "$data" --limit 2048 --batch 32 --threads 1 --epochs 3)
check whole "$out/mae" pretrain "${long[@]}" --out "$out/whole"
check sigint "$py" "$root/tests/trainer/check_run.py" sigint "$out/cut" "$out/mae" pretrain "${long[@]}" --out "$out/cut"
check sigint.loads "$out/mae" reconstruct --from "$out/cut/pretrain.safetensors" --data "$data" --index 0 \
	--out "$out/cut.png"
check sigint.resume "$out/mae" pretrain "${long[@]}" --resume "$out/cut"
check sigint.identical cmp <(cut -d, -f1-4 "$out/whole/metrics.csv") <(cut -d, -f1-4 "$out/cut/metrics.csv")
check sigint.epochs.identical cmp "$out/whole/epochs.csv" "$out/cut/epochs.csv"

# Refusals: a run directory is never reused unless asked.
refuses out.exists 2 "exists" "$out/mae" pretrain "${small[@]}" --steps 1 --out "$out/pre"
check out.overwrite "$out/mae" pretrain "${small[@]}" --steps 1 --out "$out/pre" --overwrite
refuses vis.bad 2 "needs an integer" "$out/mae" pretrain "${small[@]}" --vis-every 0

# tools/get-cifar10.sh checks an archive against the official MD5 before unpacking anything.
echo "not CIFAR-10" | gzip >"$out/fake.tar.gz"
refuses cifar.md5 1 "not c32a1d4ab5d03f1284b67883e8d87530" "$root/tools/get-cifar10.sh" --archive "$out/fake.tar.gz" "$out/c10"
refuses cifar.missing 1 "no such file" "$root/tools/get-cifar10.sh" --archive "$out/none.tar.gz" "$out/c10"
check cifar.nothing.unpacked test ! -e "$out/c10"

finish
