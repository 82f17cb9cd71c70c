#!/usr/bin/env bash
# Installs what building and testing maec needs on Debian, and nothing that is there already.
set -euo pipefail

packages=(gcc make cmake ninja-build flex bison python3 clang libclang-rt-14-dev libomp-14-dev libopenblas-dev libopenblas-openmp-dev python3-torch zlib1g-dev
	dataset-fashion-mnist valgrind)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
