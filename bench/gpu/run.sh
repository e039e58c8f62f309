#!/usr/bin/env bash
# bench/gpu/run.sh — anx against PyTorch on the same GPU, side by side with ratios and targets (issue 5):
#   gemm       anx's @ vs torch.matmul, n = 1024 2048 4096 8192, float32 ("highest"), tf32 ("high"),
#              float16, bfloat16 (bench/gpu/gemm.anx, micro_torch.py gemm)            target >= 0.9x
#   attention  nn.attention vs F.scaled_dot_product_attention, forward, B 8, H 16, D 64,
#              T = 1024 2048 4096, float16 and float32 (attention.anx, micro_torch.py)  target >= 1.0x
#   train      bench/train_{mlp,cnn,charlm}.anx with --device cuda vs bench/train_torch.py --device
#              cuda (PyTorch eager): optimizer steps/s and final test accuracy / val loss  target >= 1.0x
# Usage: bench/gpu/run.sh [BUILD_DIR] [gemm] [attention] [train]      (default: build, all three)
# Without a CUDA GPU it says so and exits 0 ("skipped"). Each part runs even when another failed;
# the exit status is 1 when any side of any part failed (a single point that a side cannot run, e.g.
# float16 matmul in an old CPU torch, is shown in the table and is not a failure).
# Environment:
#   BENCH_SMOKE=1       run on the CPU at tiny sizes: checks the pipeline (ctest bench/gpu_smoke),
#                       the figures mean nothing
#   PYTHON              a python3 that imports torch (default: python3, else /usr/bin/python3)
#   BENCH_SECONDS       timed seconds per microbench point (default 0.3)
#   BENCH_TIMEOUT       seconds allowed to one side of one part or workload (default 300)
#   PRECISION           training's float32 precision on both sides: highest (default) or high (TF32)
#   GEMM_SIZES, ATTN_TS, WORKLOADS   override the lists above (comma-separated; WORKLOADS spaces)
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
shift || true
PARTS=${*:-gemm attention train}
ANX=$BUILD/anx
SMOKE=${BENCH_SMOKE:-0}
TMO=${BENCH_TIMEOUT:-300}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

[ -x "$ANX" ] || { echo "bench/gpu/run.sh: $ANX not found (build first: cmake --build $BUILD)"; exit 1; }
PY=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$p" -c 'import torch' > /dev/null 2>&1; then PY=$p; break; fi
done

if [ "$SMOKE" = 1 ]; then
  DEV=cpu
  export BENCH_SECONDS=${BENCH_SECONDS:-0.01}
  GEMM_SIZES=${GEMM_SIZES:-48,64}
  ATTN_TS=${ATTN_TS:-16,32}
  ATTN_BHD=(1 2 8)
  WORKLOADS=${WORKLOADS:-mlp cnn charlm}
  echo "BENCH_SMOKE=1: the pipeline on the CPU at tiny sizes; these figures mean nothing"
else
  DEV=cuda
  GEMM_SIZES=${GEMM_SIZES:-1024,2048,4096,8192}
  ATTN_TS=${ATTN_TS:-1024,2048,4096}
  ATTN_BHD=(8 16 64)
  WORKLOADS=${WORKLOADS:-mlp cnn charlm}
  torch_gpu=no
  [ -n "$PY" ] && "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' > /dev/null 2>&1 && torch_gpu=yes
  anx_why=$("$ANX" --device cuda -e '' 2>&1) && anx_gpu=yes || anx_gpu=no
  if [ "$torch_gpu" = no ] && [ "$anx_gpu" = no ]; then
    echo "bench/gpu/run.sh: skipped: no CUDA GPU on this machine"
    echo "  torch: ${PY:-no python3 with torch}${PY:+: torch.cuda.is_available() is False}"
    echo "  anx:   ${anx_why:-cannot use cuda}"
    echo "  (BENCH_SMOKE=1 runs the pipeline on the CPU at tiny sizes)"
    exit 0
  fi
  [ "$anx_gpu" = yes ] || echo "WARNING: torch sees a GPU but anx cannot use it: $anx_why"
  [ "$torch_gpu" = yes ] || echo "WARNING: anx sees a GPU but torch does not (${PY:-no python3 with torch}); no peer figures"
fi

# the setting, once: machine, versions, commit
echo "anx: $ANX ($("$ANX" --version 2>/dev/null), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', modified tree'))"
if [ -n "$PY" ]; then
  DEVICE=$DEV "$PY" -c 'import os, torch
d = os.environ["DEVICE"]
name = torch.cuda.get_device_name(0) if d == "cuda" else "cpu"
print("torch:", torch.__version__, "(%s)" % __import__("sys").executable, "device:", name,
      "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version() if d == "cuda" else "-")' 2> /dev/null
else
  echo "torch: not found (no python3 that imports torch): anx figures only"
fi
[ "$DEV" = cuda ] && command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv,noheader

failed=0
# side NAME CMD...: run one side of a part with the time limit, output in $out/NAME; a failure is
# reported with the end of its output and counted, and the part goes on
side() {
  local name=$1; shift
  timeout "$TMO" "$@" > "$out/$name" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || ! grep -q '^RESULT' "$out/$name"; then
    [ $rc -eq 124 ] && echo "$name: timed out after ${TMO}s" || echo "$name: failed (exit $rc)"
    grep -v '^RESULT' "$out/$name" | tail -8 | sed 's/^/    /'
    failed=1
  fi
}
torch_side() {   # torch_side NAME [VAR=VALUE...] SCRIPT ARGS...: nothing without a python3 with torch
  local name=$1; shift
  local envs=()
  while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
  if [ -n "$PY" ]; then side "$name" env DEVICE=$DEV "${envs[@]}" "$PY" "$@"; else : > "$out/$name"; fi
}

for part in $PARTS; do
  case $part in
  gemm)
    echo
    echo "== GEMM on $DEV: TFLOP/s of C = A @ B, [n, n] operands (target: anx >= 0.9x torch.matmul) =="
    side anx_gemm "$ANX" --device "$DEV" bench/gpu/gemm.anx float32,tf32,float16,bfloat16 "$GEMM_SIZES"
    torch_side torch_gemm bench/gpu/micro_torch.py gemm float32,tf32,float16,bfloat16 "$GEMM_SIZES"
    "${PY:-python3}" bench/gpu/report.py gemm "$out/anx_gemm" "$out/torch_gemm" || failed=1
    ;;
  attention)
    echo
    echo "== attention forward on $DEV: B ${ATTN_BHD[0]}, H ${ATTN_BHD[1]}, D ${ATTN_BHD[2]} (target: anx >= 1.0x scaled_dot_product_attention) =="
    side anx_attention "$ANX" --device "$DEV" bench/gpu/attention.anx float16,float32 "$ATTN_TS" "${ATTN_BHD[@]}"
    torch_side torch_attention bench/gpu/micro_torch.py attention float16,float32 "$ATTN_TS" "${ATTN_BHD[@]}"
    "${PY:-python3}" bench/gpu/report.py attention "$out/anx_attention" "$out/torch_attention" || failed=1
    ;;
  train)
    echo
    echo "== training on $DEV, float32 precision ${PRECISION:-highest} (target: anx >= 1.0x PyTorch eager steps/s) =="
    : > "$out/anx_train"
    : > "$out/torch_train"
    for w in $WORKLOADS; do
      size=""
      envs=(PRECISION="${PRECISION:-highest}")
      if [ "$SMOKE" = 1 ]; then   # one short epoch on a few images / a few steps
        case $w in
        charlm) envs+=(STEPS=3); size=3 ;;
        cnn) envs+=(EPOCHS=1 LIMIT=256); size=1 ;;
        *) envs+=(EPOCHS=1 LIMIT=1024); size=1 ;;
        esac
      fi
      side "anx_$w" env "${envs[@]}" "$ANX" --device "$DEV" "bench/train_$w.anx"
      torch_side "torch_$w" "${envs[@]}" bench/train_torch.py --device "$DEV" "$w" $size
      grep '^RESULT' "$out/anx_$w" >> "$out/anx_train"
      grep '^RESULT' "$out/torch_$w" >> "$out/torch_train"
    done
    "${PY:-python3}" bench/gpu/report.py train "$out/anx_train" "$out/torch_train" || failed=1
    ;;
  *)
    echo "bench/gpu/run.sh: unknown part '$part' (gemm, attention, train)"
    failed=1
    ;;
  esac
done
exit $failed
