#!/usr/bin/env bash
# bench/gpu/carry.sh — prepare, on a machine without a GPU, what a GPU machine needs to run anx's CUDA
# tests and bench/gpu/run.sh without building there: the lent GPU machines have nvcc, CMake and
# PyTorch but maybe not bison, re2c or the -dev packages anx builds with, and fetch nothing.
# Writes the folder .gpu/ (ignored by .gitignore; pass it to the device tool's `carry`):
#   .gpu/bin/anx, test_cuda_ops, test_cuda_host   wrappers that set LD_LIBRARY_PATH and run the
#        binaries *.bin beside them (anx finds libanx_cuda.so beside anx.bin, as usual)
#   .gpu/lib/       the shared libraries the binaries need beyond glibc, libstdc++ and CUDA's own
#   .gpu/data/fashion-mnist/   the training images (MNIST_DIR), when this machine has them
#   .gpu/env.sh     source it there: MNIST_DIR, ANX_CUDA_MODULE
# CUDA's libraries (cudart, cuBLAS, cuBLASLt, cuDNN 9) are the GPU machine's: the wrappers look for
# them once there (ldconfig, /usr/local/cuda*, the Python packages under /opt and /usr) and keep
# the answer in .gpu/cuda-libs.txt. The build is Release, ANX_CUDA=ON for ANX_CUDA_ARCHS (default
# 90-real: H100/H200) and ANX_BLAS=OFF; the neural kernels' two CBLAS calls (cblas_sgemm,
# cblas_dgemm) get the reference BLAS (Debian's netlib libblas.so.3, 0.4 MB, no Fortran runtime)
# under OpenBLAS's file name instead of OpenBLAS (37 MB with its Fortran runtime: with the images the
# folder would pass 64 MiB). So on the GPU machine the CPU's GEMMs are correct and slow: the CPU
# halves of the CUDA tests use them, the benches' timed work is on the GPU. Usage:
# bench/gpu/carry.sh [BUILD_DIR]
# (default build-carry; JOBS=2 compile jobs). Then, on the GPU machine: bench/gpu/first_run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-carry}
DEST=.gpu
mkdir -p "$BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DANX_CUDA=ON -DANX_CUDA_ARCHS="${ANX_CUDA_ARCHS:-90-real}" \
  -DANX_BLAS=OFF > "$BUILD/carry-configure.log" 2>&1 || { tail -20 "$BUILD/carry-configure.log"; exit 1; }
cmake --build "$BUILD" -j"${JOBS:-2}" --target anx anx_cuda test_cuda_ops test_cuda_host
rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/lib"
bins=("$BUILD/anx" "$BUILD/tests/cuda/test_cuda_ops" "$BUILD/tests/cuda/test_cuda_host")
cp "$BUILD/libanx_cuda.so" "$DEST/bin/"
for b in "${bins[@]}"; do cp "$b" "$DEST/bin/$(basename "$b").bin"; done
# libraries beyond glibc, the C++ runtime and CUDA's (those come from the GPU machine)
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcudnn|libopenblas|libgfortran|libquadmath)'
for f in "${bins[@]}" "$BUILD/libanx_cuda.so"; do
  ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
    if ! [[ $name =~ $skip ]]; then cp -L "$path" "$DEST/lib/$name"; fi
  done
done
# the reference BLAS as libopenblas.so.0 (the name the binaries ask for)
ref=""
for p in /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 $(ldconfig -p | awk '/libblas\.so\.3 /{print $NF}'); do
  [ -f "$p" ] || continue
  syms=$(nm -D "$p") deps=$(ldd "$p")   # (not piped into grep -q: pipefail and SIGPIPE)
  if grep -q ' T cblas_sgemm$' <<< "$syms" && grep -q ' T cblas_dgemm$' <<< "$syms" &&
     ! grep -q 'libgfortran\|libopenblas' <<< "$deps"; then ref=$p; break; fi
done
[ -n "$ref" ] || { echo "carry.sh: no reference BLAS with cblas_sgemm (apt-get install libblas3)"; exit 1; }
cp -L "$ref" "$DEST/lib/libopenblas.so.0"
cat > "$DEST/bin/wrapper" <<'EOF'
#!/bin/sh
# .gpu/bin/<name>: run <name>.bin with the carried libraries and the GPU machine's CUDA libraries
d=$(dirname "$(readlink -f "$0")")
cache="$d/../cuda-libs.txt"
if [ -f "$cache" ]; then
  cuda=$(cat "$cache")
else   # once: where this machine keeps cudart, cuBLAS and cuDNN 9 (kept in the cache when writable)
  dirs=""
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcudnn.so.9; do
    ldconfig -p 2>/dev/null | grep -q " $lib " && continue
    p=$(find /usr/local/cuda* /usr/local/lib /opt /usr/lib -name "$lib" 2>/dev/null | head -1)
    [ -n "$p" ] || continue
    case ":$dirs:" in *":$(dirname "$p"):"*) ;; *) dirs="$dirs:$(dirname "$p")" ;; esac
  done
  cuda=${dirs#:}
  printf '%s\n' "$cuda" > "$cache" 2>/dev/null || true
fi
LD_LIBRARY_PATH="$d/../lib${cuda:+:$cuda}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/$(basename "$0").bin" "$@"
EOF
chmod +x "$DEST/bin/wrapper"
for b in "${bins[@]}"; do ln -s wrapper "$DEST/bin/$(basename "$b")"; done
data=${MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  mkdir -p "$DEST/data/fashion-mnist"
  cp "$data"/*-ubyte.gz "$DEST/data/fashion-mnist/"
else
  echo "carry.sh: no Fashion-MNIST at $data: the MLP and CNN workloads will need MNIST_DIR on the GPU machine"
fi
cat > "$DEST/env.sh" <<'EOF'
# . .gpu/env.sh on the GPU machine, in the repository root
export ANX_CUDA_MODULE="$PWD/.gpu/bin/libanx_cuda.so"   # the tests' module (anx finds it beside anx.bin)
[ -d "$PWD/.gpu/data/fashion-mnist" ] && export MNIST_DIR="$PWD/.gpu/data/fashion-mnist"
EOF
echo "carry.sh: $DEST is $(du -sh "$DEST" | cut -f1) (the device tool carries at most 64 MiB with the tree);" \
     "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- runtime vm parser lexer grammar || echo ' + local changes')"
ls -l "$DEST/bin" "$DEST/lib"
