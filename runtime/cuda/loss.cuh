/* runtime/cuda/loss.cuh — one element of the cross-entropy backward (loss.cu's ce_bwd kernel and
** tests/cuda/test_cuda_host.cpp): loss.inc's formula for class targets, in float64. Needs
** ax_nn_kernels.h (the reduction enum) included first.
** Invariant: dx = s*(p*(a*wt + b*W) - a*wt*[k == t] - b*w_k), a = 1-ls, b = ls/c, W = sum w,
** s = dloss[i] (none), dloss[0]/den (mean) or dloss[0] (sum); ignored rows and rows with an
** infinite lse get 0. */
#ifndef AX_CUDA_LOSS_CUH
#define AX_CUDA_LOSS_CUH

#include "cuda_hd.h"

/* sc[0] = the mean's denominator (weights of the rows not ignored), sc[1] = W */
template <typename T>
CU_HD void ce_bwd_at(int64_t c, const T *x, const int64_t *t, const T *w, int64_t ignore, double ls, int red, const T *lse,
                     const T *dloss, const double *sc, T *dx, int64_t e) {
  const double a = 1 - ls, b = ls / (double)c;
  const int64_t i = e / c, k = e % c;
  const double l = (double)lse[i];
  if (t[i] == ignore || isinf(l)) {
    dx[e] = (T)0;
    return;
  }
  const double s = red == AX_NN_REDUCE_NONE ? (double)dloss[i]
                                            : (red == AX_NN_REDUCE_MEAN ? (double)dloss[0] / sc[0] : (double)dloss[0]);
  const double wt = w ? (double)w[t[i]] : 1.0, wk = w ? (double)w[k] : 1.0;
  double d = exp((double)x[e] - l) * s * (a * wt + b * sc[1]) - s * b * wk;
  if (k == t[i]) d -= s * a * wt;
  dx[e] = (T)d;
}

#endif
