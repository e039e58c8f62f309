#!/bin/sh
# bench/nn_kernels_ops.sh — non-conv kernels (attention, layer_norm, cross_entropy, adam,
# batch_norm, embedding) vs PyTorch at the training issue's sizes, same environment
# (OPENBLAS_CORETYPE unset; PyTorch with OPENBLAS_NUM_THREADS=1). Wall and process-CPU
# milliseconds per call (best of 3); on a shared machine the CPU column is the steadier one.
# Usage: bench/nn_kernels_ops.sh [build-dir] [threads]
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-nn}
threads=${2:-2}
cmake --build "$build" -j2 --target nn_kernels_ops_bench >/dev/null
env -u OPENBLAS_CORETYPE "$build/runtime/neural/nn_kernels_ops_bench" "$threads" > /tmp/nn_ops_anx.$$
env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/nn_kernels_ops_torch.py" "$threads" > /tmp/nn_ops_torch.$$
printf "%-24s %9s %9s %8s %9s %9s %8s\n" op anx_ms torch_ms speedup anx_cpu torch_cpu ratio
join /tmp/nn_ops_anx.$$ /tmp/nn_ops_torch.$$ |
  awk '{ printf "%-24s %9.3f %9.3f %7.2fx %9.3f %9.3f %7.2fx\n", $1, $2, $4, $4 / $2, $3, $5, $5 / $3 }'
rm -f /tmp/nn_ops_anx.$$ /tmp/nn_ops_torch.$$
