/* runtime/cuda/optim.cu — the optimizer rows sgd_step and adam_step (Adam and AdamW) on device
** tensors, in place (the CPU's are runtime/neural/optim.inc via ax_nn.c; attrs there). One thread
** per element running optim.cuh's update (optim.inc operation by operation, in the element type,
** coefficients computed on the host as the CPU computes them). Results agree with the CPU's to
** an ulp or so, not bitwise: both compilers contract multiply-adds into FMAs where they choose
** (the CPU kernels are target_clones with an x86-64-v3 variant). Invariant: element i reads and
** writes only element i. */
#include <math.h>

#include "nn.cuh"
#include "optim.cuh"

template <typename T> __global__ void sgd_kernel(sgd_k k, T *p, const T *g, T *buf) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < k.n; i += (int64_t)gridDim.x * blockDim.x)
    sgd_at(k, p, g, buf, i);
}

template <typename T> __global__ void adam_kernel(adam_k k, T *pp, const T *gg, T *m_, T *v_, T *vm_) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < k.n; i += (int64_t)gridDim.x * blockDim.x)
    adam_at(k, pp, gg, m_, v_, vm_, i);
}

/* ax_nn.c's step_inputs: flat buffers of the parameter's float dtype and size */
static ax_status step_inputs(const char *op, ax_tensor *const *in, int nin, int lo, int hi, ax_err *err) {
  if (nin < lo || nin > hi) return ax_err_set(err, AX_E_VALUE, "%s: expects %d to %d input tensors, got %d", op, lo, hi, nin);
  ax_status s = cu_nn_float_inputs(op, in, nin, err);
  if (s) return s;
  for (int i = 0; i < nin; i++)
    if (in[i]->dtype != in[0]->dtype || !ax_is_contiguous(in[i]) || ax_numel(in[i]) != ax_numel(in[0]))
      return ax_err_set(err, AX_E_VALUE, "%s: argument %d must be a contiguous %s tensor of %lld elements", op, i + 1,
                        ax_dtype_name(in[0]->dtype), (long long)ax_numel(in[0]));
  return AX_OK;
}

static ax_status sgd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_status s = step_inputs("sgd_step", in, nin, 2, 3, err);
  if (s) return s;
  /* optim.inc's checks, same order and texts */
  double lr = at->fv[0], mom = at->fv[1], damp = at->fv[2], wd = at->fv[3];
  int64_t n = ax_numel(in[0]), step = at->iv[0];
  if (!(lr >= 0)) return ax_err_set(err, AX_E_VALUE, "sgd: learning rate must be >= 0, got %g", lr);
  if (mom < 0 || wd < 0) return ax_err_set(err, AX_E_VALUE, "sgd: momentum and weight_decay must be >= 0");
  if (at->iv[1] && (mom <= 0 || damp != 0))
    return ax_err_set(err, AX_E_VALUE, "sgd: nesterov momentum requires a momentum and zero dampening");
  if (mom != 0 && n > 0 && nin < 3) return ax_err_set(err, AX_E_VALUE, "sgd: momentum needs a momentum buffer");
  if (step < 1) return ax_err_set(err, AX_E_VALUE, "sgd: step must be >= 1, got %lld", (long long)step);
  if (n == 0) return AX_OK;
  sgd_k k = sgd_make(n, lr, mom, damp, wd, (int)at->iv[1], (int)at->iv[2], step);
  ax_tensor *buf = nin > 2 ? in[2] : NULL;
  if (in[0]->dtype == AX_FLOAT32)
    sgd_kernel<float><<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(k, CU_P(float, in[0]), CU_P(float, in[1]), CU_PTR(float, buf));
  else
    sgd_kernel<double><<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(k, CU_P(double, in[0]), CU_P(double, in[1]), CU_PTR(double, buf));
  return cu_check(err, "sgd_step");
}

static ax_status adam_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_status s = step_inputs("adam_step", in, nin, 4, 5, err);
  if (s) return s;
  int decoupled = (int)at->iv[3], amsgrad = (int)at->iv[1];
  const char *op = decoupled ? "adamw" : "adam";
  double lr = at->fv[0], b1 = at->fv[1], b2 = at->fv[2], eps = at->fv[3], wd = at->a;
  int64_t n = ax_numel(in[0]), step = at->iv[0];
  if (!(lr >= 0)) return ax_err_set(err, AX_E_VALUE, "%s: learning rate must be >= 0, got %g", op, lr);
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) return ax_err_set(err, AX_E_VALUE, "%s: betas must be in [0, 1), got (%g, %g)", op, b1, b2);
  if (!(eps >= 0) || !(wd >= 0)) return ax_err_set(err, AX_E_VALUE, "%s: eps and weight_decay must be >= 0", op);
  if (n > 0 && amsgrad && nin < 5) return ax_err_set(err, AX_E_VALUE, "%s: missing state buffer", op);
  if (step < 1) return ax_err_set(err, AX_E_VALUE, "%s: step must be >= 1, got %lld", op, (long long)step);
  if (n == 0) return AX_OK;
  adam_k k = adam_make(n, lr, b1, b2, eps, wd, amsgrad, (int)at->iv[2], decoupled, step);
  ax_tensor *vmax = nin > 4 ? in[4] : NULL;
  if (in[0]->dtype == AX_FLOAT32)
    adam_kernel<float><<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(k, CU_P(float, in[0]), CU_P(float, in[1]), CU_P(float, in[2]),
                                                                   CU_P(float, in[3]), CU_PTR(float, vmax));
  else
    adam_kernel<double><<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(k, CU_P(double, in[0]), CU_P(double, in[1]),
                                                                    CU_P(double, in[2]), CU_P(double, in[3]),
                                                                    CU_PTR(double, vmax));
  return cu_check(err, "adam_step");
}

extern "C" ax_status cuda_sgd_step(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(sgd_body, in, nin, at, out, 0, err);
}
extern "C" ax_status cuda_adam_step(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(adam_body, in, nin, at, out, 0, err);
}
