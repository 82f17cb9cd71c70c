#!/usr/bin/env bash
# Parity of the generated C trainer with the project's PyTorch reference
# (tools/reference/): one step of each MAE recipe at full size (batch 8), ten steps of two
# micro-batches on a small configuration, the official MAE's options, checkpoints that load
# into PyTorch, an exact resume, and the trainer's refusals of bad requests.
# usage: run.sh MAEC OUT_DIR          exit 77 (skipped) without PyTorch; without CIFAR-10,
#                                     random images in its format (tests/make_cifar.py)
set -euo pipefail
maec=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${MAEC_DATA:-$root/../shared/data/cifar10}
py=/usr/bin/python3
# shellcheck source=../lib.sh
. "$root/tests/lib.sh"
need_cifar_and_torch
mkdir -p "$out"
# run directories are never reused unless asked (--overwrite): start from none
rm -rf "$out/ck" "$out/ft" "$out/whole" "$out/split" "$out/broken"
ref=$root/tools/reference

"$maec" "$root/models/mae.dsl" -o "$out/mae"
for recipe in pretrain finetune linprobe; do
	check "$recipe.step" "$out/mae" "$recipe" --data "$data" --steps 1 --batch 8 --dump-step "$out/$recipe.safetensors"
	check "$recipe.parity" "$py" "$ref/check_step.py" "$out/$recipe.safetensors"
done

# bf16 storage (maec --precision=bf16): one step of each recipe against the reference in float64,
# with issue 14's bounds (tools/reference/check_bf16.py).
"$maec" "$root/models/mae.dsl" --precision=bf16 -o "$out/mae-bf16"
for recipe in pretrain finetune; do
	check "bf16.$recipe.step" "$out/mae-bf16" "$recipe" --data "$data" --steps 1 --batch 8 \
		--dump-step "$out/bf16-$recipe.safetensors" --out "$out/bf16-$recipe" --overwrite
	check "bf16.$recipe.parity" "$py" "$ref/check_bf16.py" "$out/bf16-$recipe.safetensors"
	check "bf16.$recipe.checkpoint" "$py" "$ref/load_checkpoint.py" "$out/bf16-$recipe/$recipe.safetensors"
done
refuses bf16.precision nonzero "compiled with maec --precision=bf16" "$out/mae-bf16" pretrain --data "$data" \
	--precision fp32

# Recomputation (maec --recompute=cheap, passes/remat.c): the recomputed values come from
# the same arithmetic, so each recipe's step dump (loss, every gradient, the parameters after
# AdamW) is the same to the bit as without; and under bf16 storage, within issue 14's bounds.
"$maec" "$root/models/mae.dsl" --recompute=cheap -o "$out/mae-remat"
for recipe in pretrain finetune linprobe; do
	check "remat.$recipe.step" "$out/mae-remat" "$recipe" --data "$data" --steps 1 --batch 8 \
		--dump-step "$out/remat-$recipe.safetensors" --out "$out/remat-$recipe" --overwrite
	check "remat.$recipe.identical" cmp "$out/remat-$recipe.safetensors" "$out/$recipe.safetensors"
done
"$maec" "$root/models/mae.dsl" --precision=bf16 --recompute=cheap -o "$out/mae-remat-bf16"
for recipe in pretrain finetune; do
	check "remat.bf16.$recipe.step" "$out/mae-remat-bf16" "$recipe" --data "$data" --steps 1 --batch 8 \
		--dump-step "$out/remat-bf16-$recipe.safetensors" --out "$out/remat-bf16-$recipe" --overwrite
	check "remat.bf16.$recipe.parity" "$py" "$ref/check_bf16.py" "$out/remat-bf16-$recipe.safetensors"
done

# A small configuration of the same file, ten steps of two micro-batches at a real rate.
small=(-Ddim=64 -Denc_depth=2 -Ddec_depth=1 -Dheads=2)
"$maec" "$root/models/mae.dsl" "${small[@]}" -o "$out/mae-small"
for recipe in pretrain finetune; do
	check "small.$recipe.steps" "$out/mae-small" "$recipe" --data "$data" --steps 10 --batch 8 --micro-batch 4 \
		--warmup 0 --lr 1e-3 --dump-steps "$out/small-$recipe.safetensors"
	check "small.$recipe.parity" "$py" "$ref/check_steps.py" "$out/small-$recipe.safetensors"
done

# The official MAE's options (models/mae-official.dsl): sin-cos positions, decoder_embed,
# norm_pix_loss: the same passes, another model, against its own PyTorch reference.
"$maec" "$root/models/mae-official.dsl" -o "$out/mae-official"
check official.step "$out/mae-official" pretrain --data "$data" --steps 1 --batch 8 --micro-batch 4 --warmup 0 \
	--dump-step "$out/official.safetensors"
check official.parity "$py" "$ref/check_step.py" "$out/official.safetensors"

# Checkpoints: the model's file loads into the PyTorch reference with strict names and
# shapes, a fine-tune starts from it, and a run stopped and resumed continues exactly.
check checkpoint.write "$out/mae-small" pretrain --data "$data" --steps 2 --batch 16 --out "$out/ck"
check checkpoint.load "$py" "$ref/load_checkpoint.py" "$out/ck/pretrain.safetensors"
check checkpoint.finetune "$out/mae-small" finetune --data "$data" --steps 2 --batch 16 \
	--from "$out/ck/pretrain.safetensors" --out "$out/ft"
check checkpoint.load.classifier "$py" "$ref/load_checkpoint.py" "$out/ft/finetune.safetensors"
check resume.whole "$out/mae-small" pretrain --data "$data" --steps 6 --batch 16 --micro-batch 8 --out "$out/whole"
check resume.first "$out/mae-small" pretrain --data "$data" --steps 3 --batch 16 --micro-batch 8 --out "$out/split"
check resume.rest "$out/mae-small" pretrain --data "$data" --steps 6 --batch 16 --micro-batch 8 --resume "$out/split"
# the losses, lr and step numbers of both runs, every digit (not the timings)
check resume.identical cmp <(cut -d, -f1-4 "$out/whole/metrics.csv") <(cut -d, -f1-4 "$out/split/metrics.csv")

refuses dump.unwritable nonzero "cannot write" "$out/mae-small" pretrain --data "$data" --dump-step /nonexistent/dir/s.safetensors
refuses flag.unknown nonzero "unknown option '--bogus'" "$out/mae-small" pretrain --data "$data" --bogus 1
refuses batch.too.large nonzero "larger than 4096" "$out/mae-small" pretrain --data "$data" --batch 8192
refuses micro.too.large nonzero "larger than 512" "$out/mae-small" pretrain --data "$data" --batch 1024 --micro-batch 1024
refuses data.missing nonzero "data_batch_1.bin" "$out/mae-small" pretrain --data "$out/no-such-dir"
mkdir -p "$out/trunc-data" && head -c 1000000 "$data/data_batch_1.bin" >"$out/trunc-data/data_batch_1.bin"
refuses data.truncated nonzero "30730000" "$out/mae-small" pretrain --data "$out/trunc-data"
refuses flag.not.number nonzero "needs an integer" "$out/mae-small" pretrain --data "$data" --steps ten
refuses lr.not.number nonzero "needs a number" "$out/mae-small" pretrain --data "$data" --lr fast
# a run directory whose model file lost a tensor cannot be resumed
rm -rf "$out/broken" && cp -r "$out/split" "$out/broken"
"$py" - "$ref" "$out/broken/pretrain.safetensors" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import safetensors_io
tensors, meta = safetensors_io.read(sys.argv[2])
del tensors["decoder.head.bias"]
safetensors_io.write(sys.argv[2], tensors, meta)
PY
refuses resume.missing.tensor nonzero "decoder.head.bias" "$out/mae-small" pretrain --data "$data" --steps 8 --batch 16 \
	--micro-batch 8 --resume "$out/broken"
refuses checkpoint.missing nonzero "no such file\|cannot open" "$out/mae-small" finetune --data "$data" --from "$out/none.safetensors"
refuses checkpoint.misshapen nonzero "needs F32" "$out/mae" finetune --data "$data" --steps 1 --from "$out/ck/pretrain.safetensors"

finish
