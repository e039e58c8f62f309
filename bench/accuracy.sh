#!/usr/bin/env bash
# bench/accuracy.sh — test accuracy of the MLP and CNN recipes over several seeds, anx and PyTorch
# side by side (one seed's run varies by +-0.4 points on both sides, so one run proves little).
# Usage: bench/accuracy.sh [BUILD_DIR] [SEEDS (default "1 2 3 4 5")] [WORKLOADS (default "mlp cnn")]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SEEDS=${2:-1 2 3 4 5}
WORKLOADS=${3:-mlp cnn}
printf '%-5s %5s %9s %9s\n' model seed anx torch
for w in $WORKLOADS; do
  a_all=""; t_all=""
  for s in $SEEDS; do
    a=$(SEED=$s env -u OPENBLAS_CORETYPE "$BUILD/anx" "bench/train_$w.anx" | sed -n 's/.*metric=\([^ ]*\).*/\1/p')
    t=$(SEED=$s TORCH_THREADS=${TORCH_THREADS:-1} env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train_torch.py "$w" | sed -n 's/.*metric=\([^ ]*\).*/\1/p')
    printf '%-5s %5s %9.4f %9.4f\n' "$w" "$s" "$a" "$t"
    a_all="$a_all $a"; t_all="$t_all $t"
  done
  awk -v w="$w" -v a="$a_all" -v t="$t_all" 'BEGIN {
    na = split(a, A, " "); nt = split(t, T, " "); sa = 0; st = 0; mina = 1; mint = 1
    for (i = 1; i <= na; i++) { sa += A[i]; if (A[i] < mina) mina = A[i] }
    for (i = 1; i <= nt; i++) { st += T[i]; if (T[i] < mint) mint = T[i] }
    printf "%-5s %5s %9.4f %9.4f   (min %.4f / %.4f; anx - torch %+.2f points)\n", w, "mean", sa / na, st / nt, mina, mint, 100 * (sa / na - st / nt) }'
done
