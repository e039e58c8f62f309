#!/bin/sh
# bench/nn_kernels.sh — conv/pool layers of the CNN: anx kernels vs PyTorch, same environment.
# Usage: bench/nn_kernels.sh [build-dir] [iters] [threads]; builds the nn_kernels_bench target
# first. threads (default 2) is given to both sides.
# OPENBLAS_CORETYPE is unset on both sides (it halves sgemm on these machines); PyTorch runs with
# OPENBLAS_NUM_THREADS=1 and 2 intra-op threads, as the training issue prescribes.
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-nn}
iters=${2:-30}
threads=${3:-2}
cmake --build "$build" -j2 --target nn_kernels_bench >/dev/null
a=$(env -u OPENBLAS_CORETYPE "$build/runtime/neural/nn_kernels_bench" "$iters" "$threads")
t=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/nn_kernels_torch.py" "$iters" "$threads")
echo "$a"
echo "$t"
am=$(echo "$a" | sed 's/.*anx_ms=\([0-9.]*\).*/\1/')
tm=$(echo "$t" | sed 's/.*torch_ms=\([0-9.]*\).*/\1/')
ac=$(echo "$a" | sed 's/.*anx_cpu_ms=\([0-9.]*\).*/\1/')
tc=$(echo "$t" | sed 's/.*torch_cpu_ms=\([0-9.]*\).*/\1/')
awk -v a="$am" -v t="$tm" -v ac="$ac" -v tc="$tc" 'BEGIN {
  printf "conv+pool fwd+bwd per batch of 64: wall anx %.2f ms, torch %.2f ms, speed-up %.2fx\n", a, t, t / a
  printf "                                   cpu  anx %.2f ms, torch %.2f ms, ratio %.2fx\n", ac, tc, tc / ac }'
