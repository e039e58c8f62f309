/* runtime/cuda/act.cu — the activation_backward row on cuda:0: dx = dy * f'(x) for relu, gelu
** (erf form) and silu in one pass (the CPU's is runtime/neural/activation.c via ax_nn.c, with the
** same checks and messages). One thread per element running act.cuh's act_bwd_at, in the element
** type; half inputs come through ax_half_call as for the other neural rows. Invariant: element i
** reads x[i] and dy[i] and writes dx[i] only. */
#include <string.h>

#include "act.cuh"
#include "nn.cuh"

template <typename T> __global__ void act_bwd_kernel(int kind, int64_t n, const T *x, const T *dy, T *dx) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    dx[i] = act_bwd_at<T>(kind, x[i], dy[i]);
}

/* in: x, dy -> dx; iv[0]: 0 relu, 1 gelu, 2 silu */
static ax_status act_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                              ax_err *err) {
  ax_status s = cu_nn_float_inputs("activation_backward", in, 2, err);
  if (s) return s;
  const ax_tensor *x = in[0], *dy = in[1];
  if (x->ndim != dy->ndim || memcmp(x->shape, dy->shape, sizeof(int64_t) * (size_t)x->ndim) || x->dtype != dy->dtype)
    return ax_err_set(err, AX_E_SHAPE, "activation_backward: x and dy must have the same shape and dtype");
  if (at->iv[0] < 0 || at->iv[0] > 2)
    return ax_err_set(err, AX_E_VALUE, "activation_backward: unknown activation %lld", (long long)at->iv[0]);
  ax_dtype dt = x->dtype;
  ax_tensor *p[2];
  if ((s = cu_nn_packed(c, in, 2, dt, p, err))) return s;
  int64_t n = ax_numel(x);
  if (!(s = cu_new(x->shape, x->ndim, dt, &out[0], err)) && n > 0) {
    int kind = (int)at->iv[0];
    if (dt == AX_FLOAT32)
      act_bwd_kernel<float><<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(kind, n, CU_P(float, p[0]), CU_P(float, p[1]),
                                                                        CU_P(float, out[0]));
    else
      act_bwd_kernel<double><<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(kind, n, CU_P(double, p[0]), CU_P(double, p[1]),
                                                                         CU_P(double, out[0]));
    s = cu_check(err, "activation_backward");
  }
  cu_nn_release(p, 2);
  return s;
}

extern "C" ax_status cuda_act_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(act_bwd_body, in, nin, at, out, 1, err);
}
