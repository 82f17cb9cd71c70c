#!/usr/bin/env bash
# long.sh RUNS [BUILD_DIR [WORK_DIR]]: runs every libFuzzer harness for RUNS executions each,
# one after another at nice 10, on a copy of its seeds in WORK_DIR (default
# /tmp/maec-fuzz-long), and prints a line per harness: executions, wall time, final corpus
# (files, bytes), coverage, and artifacts left. BUILD_DIR defaults to build-fuzz-fast, the
# -O2 UBSan-only build (README.md, "Building"), configured here if it has no CMakeCache.txt.
# Exits non-zero if a harness failed or left an artifact. `long.sh 1000000` is the run the
# README's Runs table records.
set -euo pipefail
[[ $# -ge 1 && $1 =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 RUNS [BUILD_DIR [WORK_DIR]]" >&2; exit 2; }
runs=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-$root/build-fuzz-fast}
work=${3:-/tmp/maec-fuzz-long}
if [[ ! -f $build/CMakeCache.txt ]]; then
	CC=${CC:-clang} cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAEC_FUZZ=ON \
		"-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link,undefined -fno-sanitize-recover=all"
fi
cmake --build "$build" --target fuzz_dsl fuzz_ir fuzz_safetensors fuzz_cifar fuzz_idx fuzz_image
mkdir -p "$work"
declare -A max_len=([dsl]=8192 [ir]=8192 [safetensors]=8192 [cifar]=16384 [idx]=8192 [image]=16384)
failed=0
for h in dsl ir safetensors cifar idx image; do
	rm -rf "${work:?}/$h" "$work/art-$h"
	cp -R "$here/corpus/$h" "$work/$h"
	mkdir -p "$work/art-$h"
	dict=()
	[[ -f $here/$h.dict ]] && dict=(-dict="$here/$h.dict")
	t0=$(date +%s)
	rc=0
	nice -n 10 "$build/tests/fuzz/fuzz_$h" "$work/$h" "${dict[@]}" -max_len="${max_len[$h]}" -timeout=10 \
		-rss_limit_mb=2048 -runs="$runs" -print_final_stats=1 -artifact_prefix="$work/art-$h/" \
		>"$work/$h.log" 2>&1 || rc=$?
	secs=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/$h.log" | tail -n 1)
	files=$(find "$work/$h" -type f | wc -l)
	bytes=$(find "$work/$h" -type f -exec cat {} + | wc -c)
	arts=$(find "$work/art-$h" -type f | wc -l)
	echo "fuzz_$h: ${execs:-?} executions in ${secs} s, corpus $files files $bytes bytes, $cov, $arts artifacts, exit $rc"
	[[ $rc -eq 0 && $arts -eq 0 ]] || failed=1
done
exit $failed
