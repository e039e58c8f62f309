/* runtime/cuda/attention.cu — the fused attention rows on the device (the CPU's are
** runtime/neural/attention.inc via ax_nn.c): q [b, h, t, d], k [b, h, s, d], v [b, h, s, dv],
** optional additive mask [t, s]; fv[0] scale, iv[0] causal. Forward -> out [b, h, t, dv],
** lse [b, h, t]; backward (q k v out lse dout [, mask]) -> dq dk dv. FlashAttention-style: one
** block per 32-row tile, 64-column tiles of the other sequence staged through shared memory,
** online softmax in registers; backward recomputes P from lse (FlashAttention-2) in two passes,
** dK/dV per key tile and dQ per query tile, so no output needs atomics. The block algorithm is
** attention.cuh, run on the host by tests/cuda/test_cuda_host.cpp. float16/bfloat16 forwards in
** attention_tc.cuh's domain run on tensor cores (WMMA, sm_80+); the forward row is half_native
** (kernels.c), so it converts other half inputs to float32 itself, as ax_half_call would.
** Invariant: no T x S buffer exists anywhere; the row's checks and messages are ax_nn.c's and
** attention.c's; float32 computes in float32, float64 in float64, half inputs outside the
** tensor-core domain in float32 (the backward row gets them as float32 through ax_half_call). */
#include <string.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include "nn.cuh"
#include "attention.cuh"
#include "attention_tc.cuh"

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

/* ---- tensor-core forward (attention_tc.cuh) ---- */

/* attention_tc.cuh's MMA policy on the device: WMMA 16x16x16 fragments in the half type with
** float accumulators, and cp.async copies (16 bytes, bypassing L1) for the staged tiles. */
template <typename TH> struct tc_wmma {
  typedef TH H;
  typedef nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, TH, nvcuda::wmma::row_major> fa;
  typedef nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, TH, nvcuda::wmma::col_major> fbc;   /* K^T from K's rows */
  typedef nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, TH, nvcuda::wmma::row_major> fbr;   /* V */
  typedef nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> fc;
  static constexpr int NE = fc::num_elements;
  static __device__ __forceinline__ void zero(fc &f) { nvcuda::wmma::fill_fragment(f, 0.0f); }
  static __device__ __forceinline__ void load_a(fa &f, const TH *p, int ld) { nvcuda::wmma::load_matrix_sync(f, p, (unsigned)ld); }
  static __device__ __forceinline__ void load_bc(fbc &f, const TH *p, int ld) { nvcuda::wmma::load_matrix_sync(f, p, (unsigned)ld); }
  static __device__ __forceinline__ void load_br(fbr &f, const TH *p, int ld) { nvcuda::wmma::load_matrix_sync(f, p, (unsigned)ld); }
  static __device__ __forceinline__ void load_c(fc &f, const float *p, int ld) {
    nvcuda::wmma::load_matrix_sync(f, p, (unsigned)ld, nvcuda::wmma::mem_row_major);
  }
  static __device__ __forceinline__ void store_c(float *p, const fc &f, int ld) {
    nvcuda::wmma::store_matrix_sync(p, f, (unsigned)ld, nvcuda::wmma::mem_row_major);
  }
  template <class B> static __device__ __forceinline__ void mma(fc &d, const fa &x, const B &y, const fc &c) {
    nvcuda::wmma::mma_sync(d, x, y, c);
  }
  static __device__ __forceinline__ float &el(fc &f, int, int i) { return f.x[i]; }
  static __device__ __forceinline__ TH to_h(float v);
  static __device__ __forceinline__ void cp16(TH *dst, const TH *src) {
#if __CUDA_ARCH__ >= 800
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(src) : "memory");
#else
    *(uint4 *)dst = *(const uint4 *)src;
#endif
  }
  static __device__ __forceinline__ void zero16(TH *dst) { *(uint4 *)dst = make_uint4(0, 0, 0, 0); }
  static __device__ __forceinline__ void commit() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
  }
  template <int N> static __device__ __forceinline__ void wait() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
  }
};
template <> __device__ __forceinline__ __half tc_wmma<__half>::to_h(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 tc_wmma<__nv_bfloat16>::to_h(float v) { return __float2bfloat16_rn(v); }

/* attention_tc.cuh's executor on the device: warp threadIdx.x / 32 runs warps(), its lanes run
** lanes() and meet at __syncwarp(); threads() is every thread, sync() the block barrier. */
template <class P, int D> struct tc_dev {
  struct warp {
    tc_lane<P> r;
    template <class F> __device__ __forceinline__ void lanes(F &&f) {
      f((int)(threadIdx.x & 31), r);
      __syncwarp();
    }
    __device__ __forceinline__ void sync() { __syncwarp(); }
  } w;
  tc_warp_state<P, D> st;
  template <class F> __device__ __forceinline__ void threads(F &&f) { f((int)threadIdx.x); }
  __device__ __forceinline__ void sync() { __syncthreads(); }
  template <class F> __device__ __forceinline__ void warps(F &&f) { f((int)(threadIdx.x >> 5), w, st); }
};

template <typename H, int D> __global__ void __launch_bounds__(TC_THREADS, 2) tc_fwd_kernel(tc_args<H> a, int64_t units) {
#if __CUDA_ARCH__ >= 800
  extern __shared__ __align__(128) unsigned char tc_raw[];
  tc_smem<H, D> &sh = *reinterpret_cast<tc_smem<H, D> *>(tc_raw);
  tc_dev<tc_wmma<H>, D> x;
  for (int64_t u = blockIdx.x; u < units; u += gridDim.x) tc_fwd_block<tc_wmma<H>, D>(x, sh, a, u);
#else
  __trap();   /* att_tc_ok launches this on compute capability 8.0 and newer only */
#endif
}

template <typename H, int D>
static ax_status tc_fwd_launch(ax_cuda_ctx *c, const ax_nn_attention_desc &d, ax_tensor *const *in, ax_tensor **out, ax_err *err) {
  tc_args<H> a;
  a.b = d.b, a.h = d.h, a.t = d.t, a.s = d.s, a.scale = (float)d.scale, a.causal = d.causal;
  a.q = (const H *)cu_nn_data(in[0]), a.k = (const H *)cu_nn_data(in[1]), a.v = (const H *)cu_nn_data(in[2]);
  a.out = CU_P(H, out[0]), a.lse = CU_P(float, out[1]);
  const size_t bytes = sizeof(tc_smem<H, D>);
  cudaError_t e = cudaFuncSetAttribute(tc_fwd_kernel<H, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
  if (e != cudaSuccess) return cu_fail(err, "attention", e);
  const int64_t units = tc_units<D>(d.b, d.h, d.t);
  tc_fwd_kernel<H, D><<<cu_rows_grid(units), TC_THREADS, bytes, c->stream>>>(a, units);
  return cu_check(err, "attention");
}

static int is_half(ax_dtype dt) { return dt == AX_FLOAT16 || dt == AX_BFLOAT16; }

/* The tensor-core forward's domain: q, k, v of one half type, contiguous and 16-byte aligned
** (cp.async), d == dv in {64, 128}, no mask, a device of compute capability 8.0 or newer. */
static int att_tc_ok(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_nn_attention_desc &d) {
  const ax_dtype dt = in[0]->dtype;
  if (!is_half(dt) || nin != 3 || d.d != d.dv || (d.d != 64 && d.d != 128)) return 0;
  for (int i = 0; i < 3; i++)
    if (in[i]->dtype != dt || !ax_is_contiguous(in[i]) || ((uintptr_t)cu_nn_data(in[i]) & 15)) return 0;
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, c->device) == cudaSuccess && major >= 8;
}

/* ax_half_call's dtype rule (the row is half_native): half inputs count as float32, then
** ax_nn.c's float_inputs check; *cdt is the type the float kernels compute in. */
static ax_status att_inputs(const char *op, ax_tensor *const *in, int nin, ax_dtype *cdt, ax_err *err) {
  const ax_dtype d0 = in[0]->dtype, e0 = is_half(d0) ? AX_FLOAT32 : d0;
  if (e0 != AX_FLOAT32 && e0 != AX_FLOAT64)
    return ax_err_set(err, AX_E_DTYPE, "%s: input must be float32 or float64, got %s", op, ax_dtype_name(d0));
  for (int i = 1; i < nin; i++) {
    if (!in[i]) continue;
    const ax_dtype ei = is_half(in[i]->dtype) ? AX_FLOAT32 : in[i]->dtype;
    if (ei != e0 && (ei == AX_FLOAT32 || ei == AX_FLOAT64))
      return ax_err_set(err, AX_E_DTYPE, "%s: input is %s but argument %d is %s", op, ax_dtype_name(e0), i + 1, ax_dtype_name(ei));
  }
  *cdt = e0;
  return AX_OK;
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
static void att_fwd_launch(ax_cuda_ctx *c, const ax_nn_attention_desc &d, ax_tensor *const *p, ax_tensor *o, ax_tensor *lse) {
  att_args<T> a = att_args_of<T>(d);
  a.q = CU_P(T, p[0]), a.k = CU_P(T, p[1]), a.v = CU_P(T, p[2]), a.mask = CU_PTR(T, p[3]);
  a.out = CU_P(T, o), a.lse = CU_P(T, lse);
  const int64_t units = att_fwd_units(a);
  att_fwd_kernel<T><<<att_grid(units, att_fwd_ychunks(a)), ATT_THREADS, 0, c->stream>>>(a, units);
}

/* in: q, k, v [, mask] -> out, lse. Half inputs: the tensor-core kernel where it applies (out
** in q's half type, lse float32), else what ax_half_call did: the float32 kernel on float32
** copies, out cast back to q's type when q is half. */
static ax_status att_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 3 || nin > 4) return ax_err_set(err, AX_E_VALUE, "attention: expects q, k, v and an optional mask");
  ax_dtype dt = AX_FLOAT32;
  ax_status s = att_inputs("attention", in, nin, &dt, err);
  ax_nn_attention_desc d;
  if (s || (s = att_desc("attention", in, nin > 3 ? in[3] : NULL, at, &d, err)) || (s = att_check(&d, "attention", err)))
    return s;
  int64_t os[4] = {d.b, d.h, d.t, d.dv}, ls[3] = {d.b, d.h, d.t};
  if (att_tc_ok(c, in, nin, d)) {
    const ax_dtype ht = in[0]->dtype;
    if ((s = cu_new(os, 4, ht, &out[0], err)) || (s = cu_new(ls, 3, AX_FLOAT32, &out[1], err))) return s;
    if (ht == AX_FLOAT16) return d.d == 64 ? tc_fwd_launch<__half, 64>(c, d, in, out, err) : tc_fwd_launch<__half, 128>(c, d, in, out, err);
    return d.d == 64 ? tc_fwd_launch<__nv_bfloat16, 64>(c, d, in, out, err) : tc_fwd_launch<__nv_bfloat16, 128>(c, d, in, out, err);
  }
  ax_tensor *p[4];
  ax_tensor *const pin[4] = {in[0], in[1], in[2], nin > 3 ? in[3] : NULL};
  if ((s = cu_nn_packed(c, pin, 4, dt, p, err))) return s;   /* half inputs become float32 here */
  ax_tensor *o = NULL;
  if (!(s = cu_new(os, 4, dt, &o, err)) && !(s = cu_new(ls, 3, dt, &out[1], err))) {
    if (dt == AX_FLOAT32) att_fwd_launch<float>(c, d, p, o, out[1]);
    else att_fwd_launch<double>(c, d, p, o, out[1]);
    s = cu_check(err, "attention");
  }
  if (!s && is_half(in[0]->dtype)) {   /* ax_half_call: the forward result takes q's half type */
    if (!(s = cu_new(os, 4, in[0]->dtype, &out[0], err))) s = cu_copy_into(c, out[0], o, err);
    ax_tensor_release(o);
  } else {
    out[0] = o;
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
