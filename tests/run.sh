#!/usr/bin/env bash
# The test suite: a warnings-as-errors build and an ASan+UBSan build, each with all of
# ctest, then every libFuzzer harness for MAEC_FUZZ_SECONDS (default 60) seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

suite() { # build-dir cmake-options...
	local dir=$1
	shift
	cmake -S . -B "$dir" -G Ninja -DMAEC_WERROR=ON "$@" >/dev/null
	cmake --build "$dir"
	ctest --test-dir "$dir" --output-on-failure
}

suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
suite build-asan -DCMAKE_BUILD_TYPE=Debug -DMAEC_SANITIZE=ON
tests/fuzz/run.sh "${MAEC_FUZZ_SECONDS:-60}"
