#!/usr/bin/env bash
# scripts/ci-fuzz.sh [SECONDS] [TARGET...] — build the libFuzzer targets of tests/fuzz with clang
# (build dir build-fuzz, ANX_FUZZ=ON: ASan + UBSan + libFuzzer) and run each for SECONDS (default
# 60), two at a time (2 cores). Seeds: tests/fuzz/corpus/<target> (+ every script in the tree for
# parse); new corpus entries stay in build-fuzz/corpus/<target>. A crash leaves its input in
# build-fuzz/crashes/ and the script exits 1: copy the file to tests/regress/<target>/ (it becomes a
# ctest case) and fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(parse idx npy safetensors csv)
B=${FUZZ_BUILD:-build-fuzz}

scripts/deps.sh fuzz
if [ ! -f "$B/CMakeCache.txt" ]; then
  CC=clang cmake -S . -B "$B" -DANX_SANITIZE=ON -DANX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANX_CUDA=OFF >/dev/null
fi
cmake --build "$B" -j"${JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")

mkdir -p "$B/crashes" "$B/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
run_one() {
  local t=$1
  local extra=() opts=()
  if [ "$t" = parse ]; then extra=(tests/lang tests/parse/cases examples stdlib); fi
  # parse and csv keep one VM across inputs: its heap grows between collections, which would make
  # libFuzzer run a full LeakSanitizer scan after every input (10x slower). Leaks on those paths
  # are checked by make sanitize and tests/memerr instead.
  case $t in parse|csv) opts=(-detect_leaks=0) ;; esac
  mkdir -p "$B/corpus/$t"
  # -close_fd_mask=1: the targets' stdout is noise; libFuzzer and sanitizer reports go to stderr
  "$B/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=60 -rss_limit_mb=3072 -max_len=65536 \
    -close_fd_mask=1 -print_final_stats=1 "${opts[@]}" -artifact_prefix="$B/crashes/$t-" \
    "$B/corpus/$t" "tests/fuzz/corpus/$t" "${extra[@]}" >"$B/logs/$t.log" 2>&1
}

fail=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "${FUZZ_PARALLEL:-2}" ]; then
    if ! wait "${pids[0]}"; then fail=1; echo "ci-fuzz: ${names[0]}: CRASH (log $B/logs/${names[0]}.log)"; fi
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then fail=1; echo "ci-fuzz: ${names[$i]}: CRASH (log $B/logs/${names[$i]}.log)"; fi
done
for t in "${targets[@]}"; do
  echo "ci-fuzz: $t: $(grep -E '^stat::number_of_executed_units' "$B/logs/$t.log" | awk '{print $2}') runs," \
       "$(grep -Eo 'cov: [0-9]+' "$B/logs/$t.log" | tail -1)"
done
if [ $fail -ne 0 ]; then
  echo "ci-fuzz: crash inputs:"; ls -l "$B/crashes"
  for f in "$B"/logs/*.log; do grep -A30 -E "ERROR: |runtime error:" "$f" | head -60 || true; done
fi
exit $fail
