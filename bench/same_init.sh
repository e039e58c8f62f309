#!/usr/bin/env bash
# bench/same_init.sh [BUILD] [INIT_SEED] [SHUFFLE_SEEDS] — the MLP recipe from the same initial weights
# on both sides (anx's init for INIT_SEED, saved with Net.save and loaded into PyTorch), one run per
# shuffle seed: test accuracy side by side. Default: build 5 "11 12 13".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; INIT=${2:-5}; SEEDS=${3:-11 12 13}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
SEED=$INIT OUT="$tmp/init.safetensors" "$BUILD/anx" bench/mlp_init.anx
sed 's/shuffle: true, seed: SEED,/shuffle: true, seed: int(os.env("LSEED", "1")),/' bench/train_mlp.anx > "$tmp/mlp.anx"
printf '%-6s %-6s %9s %9s\n' init shuf anx torch
for s in $SEEDS; do
  a=$(SEED=$INIT LSEED=$s env -u OPENBLAS_CORETYPE "$BUILD/anx" "$tmp/mlp.anx" | sed -n 's/.*metric=\([^ ]*\).*/\1/p')
  t=$(LSEED=$s env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/same_init.py "$tmp/init.safetensors" | sed -n 's/.*metric=\([^ ]*\).*/\1/p')
  printf '%-6s %-6s %9s %9s\n' "$INIT" "$s" "$a" "$t"
done
