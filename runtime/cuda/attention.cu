/* runtime/cuda/attention.cu — the fused attention rows on the device (the CPU's are
** runtime/neural/attention.inc via ax_nn.c): q [b, h, t, d], k [b, h, s, d], v [b, h, s, dv],
** optional additive mask [t, s]; fv[0] scale, iv[0] causal. Forward -> out [b, h, t, dv],
** lse [b, h, t]; backward (q k v out lse dout [, mask]) -> dq dk dv. FlashAttention-style: one
** block per 32-row tile, 64-column tiles of the other sequence staged through shared memory,
** online softmax in registers; backward recomputes P from lse (FlashAttention-2) in two passes,
** dK/dV per key tile and dQ per query tile, so no output needs atomics. The block algorithm is
** attention.cuh, run on the host by tests/cuda/test_cuda_host.cpp.
** Invariant: no T x S buffer exists anywhere; the row's checks and messages are ax_nn.c's and
** attention.c's; float32 computes in float32, float64 in float64 (half inputs arrive as float32
** through ax_half_call). */
#include <string.h>

#include "nn.cuh"
#include "attention.cuh"

/* attention.cuh's executor on the device: each thread runs the step, then the block syncs. */
template <typename T> struct att_dev {
  att_regs<T> r;
  template <class F> __device__ __forceinline__ void each(F &&f) {
    f((int)threadIdx.x, r);
    __syncthreads();
  }
};

/* blockIdx.y selects the output column chunk; x strides over the (head, row tile) units */
template <typename T> __global__ void __launch_bounds__(ATT_THREADS) att_fwd_kernel(att_args<T> a, int64_t units) {
  __shared__ att_smem<T> sh;
  att_dev<T> x;
  for (int64_t u = blockIdx.x; u < units; u += gridDim.x) att_fwd_block(x, sh, a, u, (int)blockIdx.y);
}

template <typename T> __global__ void __launch_bounds__(ATT_THREADS) att_bwd_kv_kernel(att_args<T> a, int64_t units) {
  __shared__ att_smem<T> sh;
  att_dev<T> x;
  for (int64_t u = blockIdx.x; u < units; u += gridDim.x) att_bwd_kv_block(x, sh, a, u, (int)blockIdx.y);
}

template <typename T> __global__ void __launch_bounds__(ATT_THREADS) att_bwd_q_kernel(att_args<T> a, int64_t units) {
  __shared__ att_smem<T> sh;
  att_dev<T> x;
  for (int64_t u = blockIdx.x; u < units; u += gridDim.x) att_bwd_q_block(x, sh, a, u, (int)blockIdx.y);
}

/* D = rowsum(dout * out), one thread per row of [b * h * t] */
template <typename T> __global__ void att_delta_kernel(int64_t rows, int64_t dv, const T *dout, const T *o, T *delta) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows; i += (int64_t)gridDim.x * blockDim.x)
    att_delta_at(dout, o, dv, delta, i);
}

/* ax_nn.c's attn_desc: shapes of q, k, v and the [t, s] mask, message for message */
static ax_status att_desc(const char *op, ax_tensor *const *in, const ax_tensor *mask, const ax_attrs *at,
                          ax_nn_attention_desc *a, ax_err *err) {
  const ax_tensor *q = in[0], *k = in[1], *v = in[2];
  char sq[96], sk[96], sv[96];
  if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4 || k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0] ||
      k->shape[1] != q->shape[1] || v->shape[1] != q->shape[1] || k->shape[3] != q->shape[3] || v->shape[2] != k->shape[2])
    return ax_err_set(err, AX_E_SHAPE, "%s: q %s, k %s, v %s do not fit [B, H, T, D], [B, H, S, D], [B, H, S, Dv]", op,
                      ax_shape_str(q->shape, q->ndim, sq, sizeof sq), ax_shape_str(k->shape, k->ndim, sk, sizeof sk),
                      ax_shape_str(v->shape, v->ndim, sv, sizeof sv));
  if (mask && (mask->ndim != 2 || mask->shape[0] != q->shape[2] || mask->shape[1] != k->shape[2]))
    return ax_err_set(err, AX_E_SHAPE, "%s: the mask must be [%lld, %lld]", op, (long long)q->shape[2], (long long)k->shape[2]);
  memset(a, 0, sizeof *a);
  a->b = q->shape[0];
  a->h = q->shape[1];
  a->t = q->shape[2];
  a->s = k->shape[2];
  a->d = q->shape[3];
  a->dv = v->shape[3];
  a->scale = at->fv[0];
  a->causal = (int)at->iv[0];
  return AX_OK;
}

static int same_shape(const ax_tensor *x, const int64_t *shape, int nd) {
  if (x->ndim != nd) return 0;
  for (int i = 0; i < nd; i++)
    if (x->shape[i] != shape[i]) return 0;
  return 1;
}

static dim3 att_grid(int64_t units, int ychunks) { return dim3(cu_rows_grid(units), (unsigned)ychunks, 1); }

template <typename T>
static void att_fwd_launch(ax_cuda_ctx *c, const ax_nn_attention_desc &d, ax_tensor *const *p, ax_tensor **out) {
  att_args<T> a = att_args_of<T>(d);
  a.q = CU_P(T, p[0]), a.k = CU_P(T, p[1]), a.v = CU_P(T, p[2]), a.mask = CU_PTR(T, p[3]);
  a.out = CU_P(T, out[0]), a.lse = CU_P(T, out[1]);
  const int64_t units = att_fwd_units(a);
  att_fwd_kernel<T><<<att_grid(units, att_fwd_ychunks(a)), ATT_THREADS, 0, c->stream>>>(a, units);
}

/* in: q, k, v [, mask] -> out, lse */
static ax_status att_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 3 || nin > 4) return ax_err_set(err, AX_E_VALUE, "attention: expects q, k, v and an optional mask");
  ax_status s = cu_nn_float_inputs("attention", in, nin, err);
  ax_nn_attention_desc d;
  if (s || (s = att_desc("attention", in, nin > 3 ? in[3] : NULL, at, &d, err)) || (s = att_check(&d, "attention", err)))
    return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[4];
  ax_tensor *const pin[4] = {in[0], in[1], in[2], nin > 3 ? in[3] : NULL};
  if ((s = cu_nn_packed(c, pin, 4, dt, p, err))) return s;
  int64_t os[4] = {d.b, d.h, d.t, d.dv}, ls[3] = {d.b, d.h, d.t};
  if (!(s = cu_new(os, 4, dt, &out[0], err)) && !(s = cu_new(ls, 3, dt, &out[1], err))) {
    if (dt == AX_FLOAT32) att_fwd_launch<float>(c, d, p, out);
    else att_fwd_launch<double>(c, d, p, out);
    s = cu_check(err, "attention");
  }
  cu_nn_release(p, 4);
  return s;
}

/* D first (stream order), then the dK/dV and dQ passes, which both read it */
template <typename T>
static void att_bwd_launch(ax_cuda_ctx *c, const ax_nn_attention_desc &d, ax_tensor *const *p, T *delta, ax_tensor **out) {
  att_args<T> a = att_args_of<T>(d);
  a.q = CU_P(T, p[0]), a.k = CU_P(T, p[1]), a.v = CU_P(T, p[2]), a.o = CU_P(T, p[3]), a.lse_in = CU_P(T, p[4]);
  a.dout = CU_P(T, p[5]), a.mask = CU_PTR(T, p[6]), a.delta = delta;
  a.gq = CU_P(T, out[0]), a.gk = CU_P(T, out[1]), a.gv = CU_P(T, out[2]);
  const int64_t rows = d.b * d.h * d.t;
  att_delta_kernel<T><<<cu_blocks(rows), CU_THREADS, 0, c->stream>>>(rows, d.dv, a.dout, a.o, delta);
  const int64_t kv = att_kv_units(a), qu = att_fwd_units(a);
  att_bwd_kv_kernel<T><<<att_grid(kv, att_kv_ychunks(a)), ATT_THREADS, 0, c->stream>>>(a, kv);
  att_bwd_q_kernel<T><<<att_grid(qu, att_q_ychunks(a)), ATT_THREADS, 0, c->stream>>>(a, qu);
}

/* in: q k v out lse dout [, mask] -> dq dk dv */
static ax_status att_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 6 || nin > 7) return ax_err_set(err, AX_E_VALUE, "attention_backward: expects 6 or 7 inputs");
  ax_status s = cu_nn_float_inputs("attention_backward", in, nin, err);
  ax_nn_attention_desc d;
  if (s || (s = att_desc("attention_backward", in, nin > 6 ? in[6] : NULL, at, &d, err)) ||
      (s = att_check(&d, "attention backward", err)))
    return s;
  /* the CPU row trusts these shapes (its grad rule passes the forward's own); the device kernels
  ** must not read past them */
  const int64_t os[4] = {d.b, d.h, d.t, d.dv};
  if (!same_shape(in[3], os, 4) || !same_shape(in[4], os, 3) || !same_shape(in[5], os, 4))
    return ax_err_set(err, AX_E_SHAPE, "attention_backward: out and dout must be [%lld, %lld, %lld, %lld] and lse [%lld, %lld, %lld]",
                      (long long)d.b, (long long)d.h, (long long)d.t, (long long)d.dv, (long long)d.b, (long long)d.h,
                      (long long)d.t);
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[7];
  ax_tensor *const pin[7] = {in[0], in[1], in[2], in[3], in[4], in[5], nin > 6 ? in[6] : NULL};
  if ((s = cu_nn_packed(c, pin, 7, dt, p, err))) return s;
  const size_t nb = ax_dtype_size(dt) * (size_t)(d.b * d.h * d.t);
  void *delta = cu_scratch(c, nb);
  if (!delta) s = ax_err_set(err, AX_E_NOMEM, "attention backward: out of device memory for %lld rows", (long long)(d.b * d.h * d.t));
  if (!s && !(s = cu_new(in[0]->shape, 4, dt, &out[0], err)) && !(s = cu_new(in[1]->shape, 4, dt, &out[1], err)) &&
      !(s = cu_new(in[2]->shape, 4, dt, &out[2], err))) {
    if (dt == AX_FLOAT32) att_bwd_launch<float>(c, d, p, (float *)delta, out);
    else att_bwd_launch<double>(c, d, p, (double *)delta, out);
    s = cu_check(err, "attention_backward");
  }
  if (delta) cu_scratch_free(c, delta, nb);   /* stream-ordered: the next user runs after these kernels */
  cu_nn_release(p, 7);
  return s;
}

extern "C" ax_status cuda_attention(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(att_body, in, nin, at, out, 2, err);
}

extern "C" ax_status cuda_attention_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(att_bwd_body, in, nin, at, out, 3, err);
}
