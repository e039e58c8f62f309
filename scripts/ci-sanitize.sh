#!/usr/bin/env bash
# scripts/ci-sanitize.sh — the whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (+ LeakSanitizer), as .ci/run does. One clang build serves this and scripts/ci-fuzz.sh: build-fuzz
# is configured with ANX_SANITIZE=ON and ANX_FUZZ=ON (the libraries carry libFuzzer's coverage
# instrumentation, which the suite does not notice), so CI compiles the project twice, not three times.
# `make sanitize` is the same check with gcc in build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${FUZZ_BUILD:-build-fuzz}
scripts/deps.sh fuzz
CC=clang cmake -S . -B "$B" -DANX_SANITIZE=ON -DANX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANX_CUDA=OFF >/dev/null
cmake --build "$B" -j"${JOBS:-2}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$B" -j"${JOBS:-2}" --output-on-failure --timeout 900
