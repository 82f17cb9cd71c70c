#!/usr/bin/env bash
# tests/gpu/prepare.sh: builds, on the development machine, what tests/gpu/run.sh carries to
# a GPU machine (which has the CUDA toolkit and PyTorch, but no network and no ../shared):
#   gpu-kit/mae.gz, mae-official.gz  the CUDA trainers of models/mae.dsl and mae-official.dsl
#                                    with f32 storage (--precision=tf32), for fp32 parity
#   gpu-kit/mae_bf16.gz              models/mae.dsl with the CUDA target's default, bf16 storage
#   gpu-kit/mae_c.gz                 the C trainer of models/mae.dsl, static and portable
#                                    (x86-64-v2, OpenBLAS linked in), for CUDA-against-C parity
#   gpu-kit/*.cu, libmaec_trainer_cuda.a  to relink the CUDA trainers there if these do not run
#   gpu-kit/cifar-slice.bin          the first 1000 records of CIFAR-10's data_batch_1.bin
# gpu-kit/ is git-ignored; the device tool carries it (carry: ["gpu-kit"]), about 20 MB.
# usage: tests/gpu/prepare.sh [CIFAR_DIR]   (default ../shared/data/cifar10)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
cifar=${1:-../shared/data/cifar10}
kit=$root/gpu-kit
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build >/dev/null
rm -rf "$kit"
mkdir -p "$kit"
for m in mae mae-official; do
	build/maec "models/$m.dsl" -o "$kit/$m" --target=cuda --precision=tf32
done
build/maec models/mae.dsl -o "$kit/mae_bf16" --target=cuda
for t in mae mae-official mae_bf16; do
	strip "$kit/$t"
	gzip -9f "$kit/$t"
done
build/maec models/mae.dsl -o "$kit/mae_c.c"
gcc -std=c11 -O2 -march=x86-64-v2 -fopenmp -D_POSIX_C_SOURCE=200809L -DMAEC_REAL=float -Iruntime "$kit/mae_c.c" \
	runtime/{cpu,trainer,guard,philox,init,randperm,safetensors,cifar,idx,util,runlog,progress,tboard,png,plot,recon}.c \
	-static /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.a -lpng16 -lz -lm -lpthread -o "$kit/mae_c" 2>/dev/null
strip "$kit/mae_c"
gzip -9f "$kit/mae_c"
rm -f "$kit/mae_c.c"
cp build/runtime/libmaec_trainer_cuda.a "$kit/"
head -c $((1000 * 3073)) "$cifar/data_batch_1.bin" >"$kit/cifar-slice.bin"
du -sh "$kit"
