#!/usr/bin/env bash
# bench/gpu/first_run.sh — on a lent GPU machine, in the repository root, one command per step of
# issue 5's owed GPU checks; each fits the device tool's 10 minutes per command:
#   bench/gpu/first_run.sh tests           nvidia-smi, the device probe, test_cuda_ops (every row on
#                                          cuda:0 against the CPU, the tensor-core cases), test_cuda_host,
#                                          a GPU matmul and the amp_train script with ANX_DEVICE=cuda
#   bench/gpu/first_run.sh bench [PARTS]   bench/gpu/run.sh (PARTS: gemm attention train; default all)
# The binaries: .gpu/bin (made on a machine without a GPU by bench/gpu/carry.sh and passed to the
# device tool's `carry`), else build-gpu, else a build made here (needs bison, re2c and the -dev
# packages of scripts/deps.sh, which the GPU image may lack). Full logs go to $OUT when the device
# tool sets it (else /tmp/anx-gpu); the output ends with the short summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
LOG=${OUT:-/tmp/anx-gpu}
mkdir -p "$LOG"
what=${1:-tests}
shift || true
if [ -x .gpu/bin/anx ]; then
  BIN=.gpu/bin
  . .gpu/env.sh
  TESTS=.gpu/bin
else
  BIN=build-gpu
  if [ ! -x build-gpu/anx ]; then
    echo "first_run.sh: no .gpu/bin (bench/gpu/carry.sh) and no build-gpu: building here"
    { cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DANX_CUDA=ON -DANX_CUDA_ARCHS=90-real &&
      cmake --build build-gpu -j"$(nproc)"; } > "$LOG/build.txt" 2>&1 || { tail -30 "$LOG/build.txt"; exit 1; }
  fi
  TESTS=build-gpu/tests/cuda
  export ANX_CUDA_MODULE=$PWD/build-gpu/libanx_cuda.so
fi
echo "binaries: $BIN (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"

case $what in
tests)
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -2
  echo "== device probe"
  "$BIN/anx" --device cuda -e 'print(device(), zeros([2]).device, get_float32_matmul_precision())' 2>&1 | tail -3
  echo "== test_cuda_ops (log: $LOG/cuda_ops.txt)"
  timeout 420 "$TESTS/test_cuda_ops" > "$LOG/cuda_ops.txt" 2>&1
  echo "exit $?"
  grep -E '^(FAIL|UNSUPPORTED|SKIP)|tensor-core|tf32|^device memory|^no CUDA kernel|^test_cuda_ops' "$LOG/cuda_ops.txt" | head -60
  echo "== test_cuda_host"
  timeout 120 "$TESTS/test_cuda_host" > "$LOG/cuda_host.txt" 2>&1
  echo "exit $?"
  grep -E '^FAIL|^test_cuda_host' "$LOG/cuda_host.txt" | head -20
  echo "== scripts on cuda"
  "$BIN/anx" -e 'let x = randn([256, 784]).to("cuda")
let r = (x @ x.T).sum().to("cpu")
let h = (x.to("float16") @ x.T.to("float16")).float().sum().to("cpu")
print("matmul sum float32", r.item(), "float16", h.item())' 2>&1 | tail -3
  ANX_DEVICE=cuda python3 tests/anxtest.py "$BIN/anx" tests/net/amp_train.anx tests/net/matmul_precision.anx 2>&1 | tail -15
  ;;
bench)
  BENCH_TIMEOUT=${BENCH_TIMEOUT:-240} bench/gpu/run.sh "$BIN" "$@" 2>&1 | tee "$LOG/bench-${*:-all}.txt" | tail -80
  ;;
*)
  echo "usage: bench/gpu/first_run.sh tests | bench [gemm] [attention] [train]"
  exit 64
  ;;
esac
