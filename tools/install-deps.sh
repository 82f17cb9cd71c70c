#!/usr/bin/env bash
# Installs what building and testing maec needs on Debian, and nothing that is there already:
# the Debian packages below, then the tensorboard package from PyPI for /usr/bin/python3
# (the trainer's TensorBoard test reads the event files with it; Debian does not package it), and
# torchvision from PyPI without its dependencies (unit.folder compares image folders with its
# ImageFolder and transforms, which are Python on PIL; Debian does not package it, and PyPI has
# no build for Debian's torch 1.13 on Python 3.11: 0.15.2's Python parts import).
# With --trainer, only what building maec and running its trainers needs (tools/quickstart.sh).
set -euo pipefail

# building maec, running trainers, Fashion-MNIST; Open MPI for data-parallel runs (mpirun; the
# trainers load its library only when mpirun starts them)
packages=(gcc make cmake ninja-build flex bison python3 libopenblas-dev libopenblas-openmp-dev zlib1g-dev libpng-dev
	libjpeg62-turbo-dev
	dataset-fashion-mnist openmpi-bin)
tests=yes
if [ "${1:-}" = --trainer ]; then
	tests=no
else # the tests: fuzzers, the PyTorch reference, pictures, a terminal
	packages+=(clang libclang-rt-14-dev libomp-14-dev python3-torch python3-pil python3-pip bsdutils valgrind
		procps) # procps: pgrep, with which tests/dp finds the rank it kills
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $tests = yes ] && ! /usr/bin/python3 -c "import tensorboard" 2>/dev/null; then
	echo "installing: tensorboard (PyPI, for /usr/bin/python3)"
	$sudo /usr/bin/python3 -m pip install -q --break-system-packages --root-user-action=ignore tensorboard
fi
if [ $tests = yes ] && ! /usr/bin/python3 -W ignore -c "import torchvision" 2>/dev/null; then
	echo "installing: torchvision (PyPI, for /usr/bin/python3, without dependencies)"
	$sudo /usr/bin/python3 -m pip install -q --break-system-packages --root-user-action=ignore --no-deps \
		torchvision==0.15.2
fi
