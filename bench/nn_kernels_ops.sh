#!/bin/sh
# bench/nn_kernels_ops.sh — non-conv kernels (attention, layer_norm, cross_entropy, adam,
# batch_norm, embedding) vs PyTorch at the training issue's sizes, same environment
# (OPENBLAS_CORETYPE unset; PyTorch with OPENBLAS_NUM_THREADS=1).
# Usage: bench/nn_kernels_ops.sh [build-dir] [threads]
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-nn}
threads=${2:-2}
cmake --build "$build" -j2 --target nn_kernels_ops_bench >/dev/null
env -u OPENBLAS_CORETYPE "$build/runtime/neural/nn_kernels_ops_bench" "$threads" > /tmp/nn_ops_anx.$$
env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/nn_kernels_ops_torch.py" "$threads" > /tmp/nn_ops_torch.$$
printf "%-24s %10s %10s %8s\n" op anx_ms torch_ms speedup
join /tmp/nn_ops_anx.$$ /tmp/nn_ops_torch.$$ | awk '{ printf "%-24s %10.3f %10.3f %7.2fx\n", $1, $2, $3, $3 / $2 }'
rm -f /tmp/nn_ops_anx.$$ /tmp/nn_ops_torch.$$
