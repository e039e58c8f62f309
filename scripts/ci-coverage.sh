#!/usr/bin/env bash
# scripts/ci-coverage.sh [BUILD] — gcov build (ANX_COVERAGE=ON, default dir build-cov), run the
# whole ctest suite (a failing test does not stop the report), then print line coverage of
# lexer/, parser/, vm/ and runtime/ (runtime/cuda/ excluded: not built without nvcc) with gcovr.
# The re2c lexer is counted through its #line directives (lexer/anx.re), as is the Bison grammar.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-cov}
if [ ! -f "$B/CMakeCache.txt" ]; then
  cmake -S . -B "$B" -DANX_COVERAGE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANX_CUDA=OFF >/dev/null
fi
cmake --build "$B" -j"${JOBS:-2}"
find "$B" -name '*.gcda' -delete
ctest --test-dir "$B" -j"${JOBS:-2}" --timeout 900 >"$B/ctest.log" 2>&1 || \
  { echo "ci-coverage: some tests failed (see $B/ctest.log):"; grep -E '\*\*\*|Failed' "$B/ctest.log" | tail -20; }
mkdir -p "$B/coverage"
filters=(--filter 'lexer/' --filter 'parser/' --filter 'vm/' --filter 'runtime/' --exclude 'runtime/cuda/')
# --gcov-ignore-parse-errors: gcov's branch counters race in the multi-threaded kernels and can
# come out negative ("branch 3 taken -256"), which gcovr 5.2 otherwise treats as fatal (its
# workers then hang). -o goes to a scratch file: never point gcovr at /dev/null (a run killed
# mid-write left /dev/null a regular file).
gflags=(--gcov-ignore-parse-errors)
gcovr -r . "$B" "${filters[@]}" "${gflags[@]}" --exclude-unreachable-branches -j "${JOBS:-2}" \
      --html-details "$B/coverage/index.html" --txt "$B/coverage/summary.txt" --print-summary \
  | tail -3
for d in lexer parser vm runtime; do
  gcovr -r . "$B" --filter "$d/" --exclude 'runtime/cuda/' "${gflags[@]}" -j "${JOBS:-2}" --print-summary \
        -o "$B/coverage/summary-$d.txt" \
    | sed -n "s/^lines: /$d: lines /p"
done
