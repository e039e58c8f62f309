/* runtime/cuda/act.cuh — the element function of the activation_backward row (act.cu): dx = dy *
** f'(x) for relu, gelu (the erf form) and silu, operation by operation as runtime/neural/
** activation.c computes it in the element type, so tests/cuda/test_cuda_host.cpp runs it on the host
** against ax_nn_act_bwd_f32/_f64. kind is AX_NN_ACT_RELU, _GELU or _SILU. */
#ifndef AX_CUDA_ACT_CUH
#define AX_CUDA_ACT_CUH

#include "cuda_hd.h"

template <typename T> CU_HD T act_bwd_at(int kind, T x, T dy) {
  if (kind == 0) return x > 0 ? dy : (T)0;   /* relu */
  if (kind == 1) {                            /* gelu: cdf + x * pdf */
    T cdf = (T)0.5 * ((T)1 + erf(x * (T)0.70710678118654752));
    T pdf = (T)0.3989422804014327 * exp((T)-0.5 * x * x);
    return dy * (cdf + x * pdf);
  }
  T sg = (T)1 / ((T)1 + exp(-x));             /* silu: s * (1 + x (1 - s)) */
  return dy * sg * ((T)1 + x * ((T)1 - sg));
}

#endif
