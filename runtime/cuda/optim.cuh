/* runtime/cuda/optim.cuh — one element of an optimizer step (optim.cu's kernels and
** tests/cuda/test_cuda_host.cpp), written operation by operation as runtime/neural/optim.inc in
** the element type, with the coefficients rounded to it as there (FMA contraction aside, which
** both compilers apply as they choose).
** Invariant: element i reads and writes only element i of each buffer. */
#ifndef AX_CUDA_OPTIM_CUH
#define AX_CUDA_OPTIM_CUH

#include "cuda_hd.h"

struct sgd_k {
  int64_t n;
  double lr, mom, damp, wd;
  int nesterov, maximize, first;
};

/* host: the step's constants (step is 1-based) */
inline sgd_k sgd_make(int64_t n, double lr, double mom, double damp, double wd, int nesterov, int maximize, int64_t step) {
  return sgd_k{n, lr, mom, damp, wd, nesterov, maximize, step == 1};
}

template <typename T> CU_HD void sgd_at(const sgd_k &k, T *p, const T *g, T *buf, int64_t i) {
  const T lr = (T)k.lr, mom = (T)k.mom, damp1 = (T)(1 - k.damp), wd = (T)k.wd;
  T d = g[i];
  if (wd != 0) d = d + wd * p[i];
  if (mom != 0) {
    T b = k.first ? d : mom * buf[i] + damp1 * d;
    buf[i] = b;
    d = k.nesterov ? d + mom * b : b;
  }
  p[i] = k.maximize ? p[i] + lr * d : p[i] - lr * d;
}

/* decay = 1 - lr*wd, step_size = lr / (1 - b1^t), bc2_sqrt = sqrt(1 - b2^t), computed in double */
struct adam_k {
  int64_t n;
  double b1, b2, eps, wd, decay, step_size, bc2_sqrt;
  int amsgrad, maximize, decoupled;
};

/* host: the step's constants in double, as ax_nn_adam_step computes them */
inline adam_k adam_make(int64_t n, double lr, double b1, double b2, double eps, double wd, int amsgrad, int maximize,
                        int decoupled, int64_t step) {
  double bc1 = 1 - pow(b1, (double)step), bc2 = 1 - pow(b2, (double)step);
  return adam_k{n, b1, b2, eps, wd, 1 - lr * wd, lr / bc1, sqrt(bc2), amsgrad, maximize, decoupled};
}

template <typename T> CU_HD void adam_at(const adam_k &k, T *pp, const T *gg, T *m_, T *v_, T *vm_, int64_t i) {
  const T b1 = (T)k.b1, b2 = (T)k.b2, omb1 = (T)(1 - k.b1), omb2 = (T)(1 - k.b2);
  const T eps = (T)k.eps, wd = (T)k.wd, decay = (T)k.decay, step_size = (T)k.step_size, bc2_sqrt = (T)k.bc2_sqrt;
  if (!k.amsgrad && !k.maximize) {   /* optim.inc's branch-free common case, term for term */
    T g = gg[i], p = pp[i];
    if (k.decoupled) p = p * decay;
    else g = g + wd * p;
    T m = m_[i] * b1 + omb1 * g;
    T v = v_[i] * b2 + omb2 * g * g;
    m_[i] = m;
    v_[i] = v;
    pp[i] = p + (-step_size) * (m / (sqrt(v) / bc2_sqrt + eps));
    return;
  }
  T g = k.maximize ? -gg[i] : gg[i];
  T p = pp[i];
  if (k.decoupled) p = p * decay;
  else if (wd != 0) g = g + wd * p;
  T m = m_[i] * b1 + omb1 * g;
  T v = v_[i] * b2 + omb2 * g * g;
  m_[i] = m;
  v_[i] = v;
  T vu = v;
  if (k.amsgrad) {
    vu = vm_[i] > v ? vm_[i] : v;
    vm_[i] = vu;
  }
  T denom = sqrt(vu) / bc2_sqrt + eps;
  pp[i] = p + (-step_size) * (m / denom);
}

#endif
