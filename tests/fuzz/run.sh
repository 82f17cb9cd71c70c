#!/usr/bin/env bash
# run.sh SECONDS [BUILD_DIR]: builds the libFuzzer harnesses with clang and runs each for
# SECONDS seconds on a scratch copy of its seed corpus, with its dictionary if it has one
# (README.md): fuzz_dsl, fuzz_ir, fuzz_safetensors, fuzz_cifar, fuzz_idx, fuzz_image.
# Prints each harness's executions and final corpus size. Exits non-zero if a harness
# failed to run or left a crash, leak, timeout or out-of-memory artifact; artifacts are
# kept under BUILD_DIR/fuzz-artifacts/HARNESS/ (for CI to upload).
#
# BUILD_DIR defaults to build-fuzz at the top of the tree. Without a CMakeCache.txt it is
# configured with
#   CC=clang cmake -G Ninja -DMAEC_FUZZ=ON -DMAEC_SANITIZE=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link
# (-fsanitize=fuzzer-no-link gives the libraries the coverage that guides the fuzzer).
# Needs clang and its libFuzzer runtime (Debian/Ubuntu: clang, libclang-rt-14-dev), cmake,
# ninja, flex and bison. CI runs `tests/fuzz/run.sh 60`. Works from any directory.
set -euo pipefail

usage() {
	echo "usage: $0 SECONDS [BUILD_DIR]" >&2
	exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
seconds=$1
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-$root/build-fuzz}
mkdir -p "$build"
build=$(cd "$build" && pwd)

if [[ ! -f $build/CMakeCache.txt ]]; then
	CC=${CC:-clang} cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMAEC_FUZZ=ON -DMAEC_SANITIZE=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link
elif ! grep -q '^MAEC_FUZZ:BOOL=ON$' "$build/CMakeCache.txt"; then
	echo "$0: $build is not a fuzzing build (configured without -DMAEC_FUZZ=ON); name another directory" >&2
	exit 2
fi
cmake --build "$build" --target fuzz_dsl fuzz_ir fuzz_safetensors fuzz_cifar fuzz_idx fuzz_image

work=$(mktemp -d "${TMPDIR:-/tmp}/maec-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
# The longest input each harness reads: a DSL or IR text longer than 8192 bytes only
# slows the run (its work grows with the text); the runtime's readers are fast, and a
# CIFAR-10 record is 3073 bytes, two 28x28 IDX images 1568, the seeds' images under 1 KiB.
declare -A max_len=([dsl]=8192 [ir]=8192 [safetensors]=8192 [cifar]=16384 [idx]=8192 [image]=16384)
for harness in dsl ir safetensors cifar idx image; do
	bin=$build/tests/fuzz/fuzz_$harness
	corpus=$work/corpus-$harness
	artifacts=$build/fuzz-artifacts/$harness
	log=$work/$harness.log
	cp -R "$here/corpus/$harness" "$corpus"
	rm -rf "$artifacts"
	mkdir -p "$artifacts"
	echo "== fuzz_$harness: $seconds s from $(find "$corpus" -type f | wc -l) seeds"
	rc=0
	dict=()
	[[ -f $here/$harness.dict ]] && dict=(-dict="$here/$harness.dict")
	"$bin" "$corpus" "${dict[@]}" -max_total_time="$seconds" -max_len="${max_len[$harness]}" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		>"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	files=$(find "$corpus" -type f | wc -l)
	bytes=$(find "$corpus" -type f -exec cat {} + | wc -c)
	echo "fuzz_$harness: ${execs:-?} executions, final corpus $files files, $bytes bytes, exit status $rc"
	bad=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
	if [[ $rc -ne 0 || -n $bad ]]; then
		failed=1
		echo "fuzz_$harness FAILED; the end of its log:" >&2
		tail -n 60 "$log" >&2
		while IFS= read -r f; do
			[[ -n $f ]] && echo "artifact: $f (reproduce: $bin '$f')" >&2
		done <<<"$bad"
	fi
done
exit $failed
