/* runtime/cuda/random.cuh — one Philox 4x32-10 counter block and the pair of values it gives,
** with runtime/ax_create.c's layout (the device's random.cu and tests/cuda/test_cuda_host.cpp).
** Invariant: counter block ctr under key seed -> halves A, B -> uniforms A>>11, B>>11 times 2^-53
** -> (uniform pair | Box-Muller pair (R cos t, R sin t) | Bernoulli keep-masks 1/(1-p) or 0). */
#ifndef AX_CUDA_RANDOM_CUH
#define AX_CUDA_RANDOM_CUH

#include "cuda_hd.h"

/* ax_create.c's philox8 for one counter: the block's two 64-bit halves */
CU_HD void philox_block(uint64_t seed, uint64_t ctr, uint64_t *a, uint64_t *b) {
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  uint32_t w0 = (uint32_t)ctr, w1 = (uint32_t)(ctr >> 32), w2 = 0, w3 = 0;
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * w0, p1 = (uint64_t)0xCD9E8D57u * w2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ w1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ w3 ^ k1;
    w1 = (uint32_t)p1;
    w3 = (uint32_t)p0;
    w0 = n0;
    w2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  *a = (uint64_t)w0 << 32 | w1;
  *b = (uint64_t)w2 << 32 | w3;
}

/* the values of elements 2k, 2k+1 (block base + k); kind is an ax_random_kind */
CU_HD void random_pair(int kind, uint64_t seed, uint64_t ctr, double p, double v[2]) {
  uint64_t a, b;
  philox_block(seed, ctr, &a, &b);
  const double ua = (double)(a >> 11) * (1.0 / 9007199254740992.0), ub = (double)(b >> 11) * (1.0 / 9007199254740992.0);
  if (kind == 1) {   /* AX_RANDOM_NORMAL */
    const double r = sqrt(-2.0 * log(1.0 - ua)), t = 6.283185307179586 * ub;   /* 1 - ua in (0, 1] */
    v[0] = r * cos(t);
    v[1] = r * sin(t);
  } else if (kind == 2) {   /* AX_RANDOM_BERNOULLI */
    v[0] = ua >= p ? 1.0 / (1.0 - p) : 0.0;
    v[1] = ub >= p ? 1.0 / (1.0 - p) : 0.0;
  } else {   /* AX_RANDOM_UNIFORM */
    v[0] = ua;
    v[1] = ub;
  }
}

#endif
