/* runtime/cuda/random.cu — the backend's random(): Philox 4x32-10 on the device with the CPU's
** counter layout (runtime/ax_create.c, element i from counter block base + i/2; the block's math
** is random.cuh), so a seed gives the same stream on every device. Uniforms and dropout masks are
** the CPU's bits; normals use the device's log/sin/cos (within a few ulp of glibc's).
** Invariant: one thread per counter block, writing its two elements (the last block maybe one). */
#include "cuda.cuh"
#include "random.cuh"

__global__ void random_fill(char *dst, int dt, int64_t n, int kind, uint64_t seed, uint64_t base, double p) {
  const int64_t blocks = (n + 1) / 2;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < blocks; k += (int64_t)gridDim.x * blockDim.x) {
    double v[2];
    random_pair(kind, seed, base + (uint64_t)k, p, v);
    for (int lane = 0; lane < 2 && 2 * k + lane < n; lane++) cu_st<double>(dst, dt, 2 * k + lane, v[lane]);
  }
}

ax_status cu_random(ax_cuda_ctx *c, void *dst, ax_dtype dt, int64_t n, ax_random_kind kind, uint64_t seed, uint64_t base,
                    double p, ax_err *err) {
  if (n <= 0) return AX_OK;
  static_assert(AX_RANDOM_NORMAL == 1 && AX_RANDOM_BERNOULLI == 2, "random.cuh's kind numbers");
  random_fill<<<cu_blocks((n + 1) / 2), CU_THREADS, 0, c->stream>>>((char *)dst, (int)dt, n, (int)kind, seed, base, p);
  return cu_check(err, "random");
}
