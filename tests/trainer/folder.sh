#!/usr/bin/env bash
# trainer.folder: a trainer of models/mae-folder.dsl (made tiny) on image folders the test
# makes with PIL (three classes of JPEG and PNG images of mixed sizes): it trains; it reads
# the same images whatever the number of decoding threads; stopping mid-epoch and resuming
# gives the same metrics as the run never stopped (the crops and flips are drawn by the
# images' places in the epoch); image_folder("DIR") in the recipe stands for --data; each
# bad input stops the run with its message naming the file, and --skip-bad-images counts
# it instead (with --cache-images alike); the CUDA target's trainer (emulated) reads
# folders alike.
# Usage: folder.sh MAEC OUT
set -euo pipefail
maec=$1
out=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
if ! "$py" -c "import PIL, numpy" 2>/dev/null; then
	echo "SKIP: $py cannot import PIL and numpy (tools/install-deps.sh installs them)"
	exit 77
fi
rm -rf "$out" && mkdir -p "$out"
cd "$out"
. "$root/tests/lib.sh"

# three classes of 8 images, 24 in all: 3 steps of 8 an epoch
"$py" - "$out/imgs" <<'PY'
import os, sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(3)
for c, cls in enumerate(["ants", "bees", "wasps"]):
    os.makedirs(f"{sys.argv[1]}/{cls}")
    for i in range(8):
        w, h = int(rng.integers(24, 90)), int(rng.integers(24, 90))
        px = np.clip(rng.normal(80 * c + 40, 50, (h, w, 3)), 0, 255).astype(np.uint8)
        im = Image.fromarray(px)
        im.save(f"{sys.argv[1]}/{cls}/{i}.jpg", quality=90) if i % 2 else im.save(f"{sys.argv[1]}/{cls}/{i}.png")
PY
tiny=(-Dimage=32 -Dpatch=8 -Ddim=32 -Denc_depth=1 -Ddec_depth=1 -Dheads=2 -Dclasses=3)
"$maec" "$root/models/mae-folder.dsl" "${tiny[@]}" -o "$out/mae"
run=(--data "$out/imgs" --batch 8 --micro-batch 4 --threads 1 --epochs 2 --warmup 1 --quiet)

check train "$out/mae" pretrain "${run[@]}" --out "$out/whole"
check train.threads "$out/mae" pretrain "${run[@]}" --loader-threads 3 --out "$out/threads"
check threads.identical cmp <(cut -d, -f1-4 "$out/whole/metrics.csv") <(cut -d, -f1-4 "$out/threads/metrics.csv")
check train.cache "$out/mae" pretrain "${run[@]}" --cache-images --out "$out/cache"
check cache.identical cmp <(cut -d, -f1-4 "$out/whole/metrics.csv") <(cut -d, -f1-4 "$out/cache/metrics.csv")
# stopped after step 4, two micro-batches into epoch 1 (3 steps an epoch), and resumed
check stop "$out/mae" pretrain "${run[@]}" --steps 4 --out "$out/cut"
check resume "$out/mae" pretrain "${run[@]}" --resume "$out/cut"
check resume.identical cmp <(cut -d, -f1-4 "$out/whole/metrics.csv") <(cut -d, -f1-4 "$out/cut/metrics.csv")
check finetune "$out/mae" finetune --data "$out/imgs" --batch 8 --micro-batch 4 --threads 1 --epochs 1 --warmup 1 --quiet \
	--out "$out/ft"
check finetune.val grep -q "val" "$out/ft/epochs.csv"

# reconstruct with the recipe's normalisation (ImageNet's mean and std): the picture's
# original panel gives back a PNG file's pixels, and the first image of the folder as
# validation reads it (Resize to 36, the default val_resize of 32 / 0.875, and CenterCrop 32,
# done here with PIL as torchvision does)
"$py" -c "
import numpy as np; from PIL import Image
Image.fromarray(np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save('$out/item.png')"
check reconstruct "$out/mae" reconstruct --from "$out/whole/pretrain.safetensors" --image "$out/item.png" --out "$out/rec.png"
check reconstruct.index "$out/mae" reconstruct --from "$out/whole/pretrain.safetensors" --data "$out/imgs" --index 0 \
	--out "$out/rec0.png"
check reconstruct.colours "$py" -c "
import numpy as np, sys; from PIL import Image
a = np.asarray(Image.open('$out/item.png')).astype(int); p = np.asarray(Image.open('$out/rec.png')).astype(int)
im = Image.open('$out/imgs/ants/0.png').convert('RGB'); w, h = im.size
nw, nh = (36, int(36 * h / w)) if w <= h else (int(36 * w / h), 36)
im = im.resize((nw, nh), Image.BICUBIC)
t, l = int(round((nh - 32) / 2)), int(round((nw - 32) / 2))
v = np.asarray(im.crop((l, t, l + 32, t + 32))).astype(int); q = np.asarray(Image.open('$out/rec0.png')).astype(int)
d, e = abs(p[:32, 64:96] - a).max(), abs(q[:32, 64:96] - v).max()
print('original panel against the PNG file: max |diff|', d, '; against the folder image, validation-read:', e)
sys.exit(int(d > 1 or e > 1))"

# image_folder("DIR") in the recipe: no --data needed
sed "s|data = image_folder$|data = image_folder(\"$out/imgs\")|" "$root/models/mae-folder.dsl" >"$out/named.dsl"
"$maec" "$out/named.dsl" "${tiny[@]}" -o "$out/named"
check recipe.folder "$out/named" pretrain --warmup 1 --batch 8 --micro-batch 4 --threads 1 --steps 1 --quiet --out "$out/named-run"
check recipe.folder.reconstruct "$out/named" reconstruct --from "$out/named-run/pretrain.safetensors" --index 0 \
	--out "$out/rec-named.png"

# bad inputs: each stops the run, naming the file; --skip-bad-images counts it
bad() { # NAME MAKE...: a copy of the folder, then MAKE run in it
	local name=$1
	shift
	rm -rf "$out/bad-$name" && cp -r "$out/imgs" "$out/bad-$name"
	(cd "$out/bad-$name" && "$@")
}
bad notimage sh -c 'echo hello >bees/notes.png'
refuses bad.notimage 1 "bees/notes.png: not a JPEG or PNG file" "$out/mae" pretrain "${run[@]}" --data "$out/bad-notimage" --out "$out/x1"
bad unreadable ln -s /nonexistent.jpg ants/gone.jpg
refuses bad.unreadable 1 "ants/gone.jpg: cannot open" "$out/mae" pretrain "${run[@]}" --data "$out/bad-unreadable" --out "$out/x2"
bad channels "$py" -c "from PIL import Image; Image.new('L', (30, 30)).save('wasps/grey.png')"
refuses bad.channels 1 "wasps/grey.png: a PNG image of 1 channel" "$out/mae" pretrain "${run[@]}" --data "$out/bad-channels" --out "$out/x3"
bad emptyclass mkdir flies
refuses bad.emptyclass 1 "flies: an empty class folder" "$out/mae" pretrain "${run[@]}" --data "$out/bad-emptyclass" --out "$out/x4"
mkdir -p "$out/bad-noimages/ants"
refuses bad.noimages 1 "an empty class folder" "$out/mae" pretrain "${run[@]}" --data "$out/bad-noimages" --out "$out/x5"
refuses bad.noclasses 1 "no class folders" "$out/mae" pretrain "${run[@]}" --data "$out/bad-noimages/ants" --out "$out/x6"
bad truncated "$py" -c "d = open('ants/1.jpg', 'rb').read(); open('ants/1.jpg', 'wb').write(d[:len(d) * 9 // 10])"
refuses bad.truncated 1 "ants/1.jpg: a truncated JPEG file" "$out/mae" pretrain "${run[@]}" --data "$out/bad-truncated" --out "$out/x7"
check skip.truncated "$out/mae" pretrain "${run[@]}" --data "$out/bad-truncated" --skip-bad-images --out "$out/s1"
check skip.truncated.counted grep -q "skipped 1 bad image in .*ants/1.jpg: a truncated JPEG" "$out/skip.truncated.log"
# with --cache-images the truncated file keeps its place too: the same data set, the same run
check skip.truncated.cache "$out/mae" pretrain "${run[@]}" --data "$out/bad-truncated" --skip-bad-images --cache-images \
	--out "$out/s1c"
check skip.cache.identical cmp <(cut -d, -f1-4 "$out/s1/metrics.csv") <(cut -d, -f1-4 "$out/s1c/metrics.csv")
bad fifo mkfifo bees/pipe.jpg
refuses bad.fifo 1 "bees/pipe.jpg: a named pipe, not a regular file" timeout 20 "$out/mae" pretrain "${run[@]}" \
	--data "$out/bad-fifo" --out "$out/x8"
bad several sh -c 'echo hello >bees/notes.png; ln -s /nonexistent.jpg ants/gone.jpg; mkdir flies'
check skip.several "$out/mae" pretrain "${run[@]}" --data "$out/bad-several" --skip-bad-images --out "$out/s2"
check skip.several.counted grep -q "skipped 3 bad images in" "$out/skip.several.log"

# the CUDA target's trainer, emulated on the CPU, reads the same folder
if "$maec" "$root/models/mae-folder.dsl" "${tiny[@]}" --target=cuda-emu -o "$out/mae-emu" >"$out/emu.build.log" 2>&1; then
	check cuda-emu "$out/mae-emu" pretrain "${run[@]}" --steps 2 --out "$out/emu"
else
	verdict cuda-emu no "the emulated CUDA trainer did not build" "$out/emu.build.log"
fi
finish
