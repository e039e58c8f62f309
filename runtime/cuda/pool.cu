/* runtime/cuda/pool.cu — max / avg / adaptive-avg 2-d pooling rows on the device, forward and
** backward (the CPU's are runtime/neural/pool.inc via ax_nn.c). Own kernels rather than cuDNN
** pooling: the rows need PyTorch's ceil mode, dilation, count_include_pad and the max indices the
** backward row reads, which cuDNN's pooling does not give. Output sizes come from the runtime's
** ax_nn_pool2d_out_size, so both backends agree on them and on its errors.
** Invariant: one thread per output cell forward, per input cell backward (a gather, so no
** atomics); the element bodies are pool.cuh's, in pool.inc's order (see there). */
#include "nn.cuh"
#include "pool.cuh"

static pool_geo pool_geo_of(const ax_nn_pool2d_desc *d, int64_t oh, int64_t ow) {
  return pool_geo{d->n * d->c, d->h, d->w, oh, ow, d->kh, d->kw, d->stride_h, d->stride_w, d->pad_h,
                  d->pad_w, d->dil_h, d->dil_w, d->ceil_mode, d->count_include_pad};
}

#define CU_FOR(e, n) for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < (n); e += (int64_t)gridDim.x * blockDim.x)

template <typename T> __global__ void max_fwd(pool_geo g, const T *x, T *y, int64_t *idx) {
  CU_FOR(e, g.planes * g.oh * g.ow) max_fwd_at(g, x, y, idx, e);
}
template <typename T> __global__ void max_bwd(pool_geo g, const T *dy, const int64_t *idx, T *dx) {
  CU_FOR(e, g.planes * g.h * g.w) max_bwd_at(g, dy, idx, dx, e);
}
template <typename T> __global__ void avg_fwd(pool_geo g, const T *x, T *y) {
  CU_FOR(e, g.planes * g.oh * g.ow) avg_fwd_at(g, x, y, e);
}
template <typename T> __global__ void avg_bwd(pool_geo g, const T *dy, T *dx) {
  CU_FOR(e, g.planes * g.h * g.w) avg_bwd_at(g, dy, dx, e);
}
template <typename T> __global__ void adaptive_fwd(pool_geo g, const T *x, T *y) {
  CU_FOR(e, g.planes * g.oh * g.ow) adaptive_fwd_at(g, x, y, e);
}
template <typename T> __global__ void adaptive_bwd(pool_geo g, const T *dy, T *dx) {
  CU_FOR(e, g.planes * g.h * g.w) adaptive_bwd_at(g, dy, dx, e);
}

/* ---------------- rows ---------------- */

/* ax_nn.c's pool_desc: iv[0..1] kernel, iv[2..3] stride, iv[4..5] pad, iv[6..7] dilation,
** iv[8] ceil_mode, iv[9] count_include_pad */
static ax_status pool_desc(const char *op, int64_t n, int64_t c, int64_t h, int64_t w, const ax_attrs *at,
                           ax_nn_pool2d_desc *d, ax_err *err) {
  *d = ax_nn_pool2d_desc{n, c, h, w, at->iv[0], at->iv[1], at->iv[2], at->iv[3], at->iv[4], at->iv[5],
                         at->iv[6] ? at->iv[6] : 1, at->iv[7] ? at->iv[7] : 1, (int)at->iv[8], (int)at->iv[9]};
  if (d->kh < 1 || d->kw < 1 || d->stride_h < 1 || d->stride_w < 1)
    return ax_err_set(err, AX_E_VALUE, "%s: kernel size and stride must be >= 1", op);
  return AX_OK;
}

template <typename T> static void pool_fwd_launch(ax_cuda_ctx *c, int is_max, const pool_geo &g, ax_tensor *x, ax_tensor **out) {
  unsigned blocks = cu_blocks(g.planes * g.oh * g.ow);
  if (is_max) max_fwd<T><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(T, x), CU_P(T, out[0]), CU_P(int64_t, out[1]));
  else avg_fwd<T><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(T, x), CU_P(T, out[0]));
}

static ax_status pool_fwd(int is_max, ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                          ax_err *err) {
  const char *op = is_max ? "max_pool2d" : "avg_pool2d";
  char sx[96];
  ax_status s = cu_nn_float_inputs(op, in, nin, err);
  if (s) return s;
  ax_tensor *x0 = in[0];
  if (x0->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "%s: input must be [N, C, H, W], got %s", op, ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  ax_nn_pool2d_desc d;
  int64_t oh, ow;
  if ((s = pool_desc(op, x0->shape[0], x0->shape[1], x0->shape[2], x0->shape[3], at, &d, err)) ||
      (s = ax_nn_pool2d_out_size(&d, &oh, &ow, err)))
    return s;
  if (!is_max && (d.dil_h != 1 || d.dil_w != 1)) return ax_err_set(err, AX_E_VALUE, "avg_pool2d: dilation must be 1");
  ax_tensor *x;
  if ((s = cu_nn_packed(c, in, 1, x0->dtype, &x, err))) return s;
  int64_t shape[4] = {d.n, d.c, oh, ow};
  if (!(s = cu_new(shape, 4, x0->dtype, &out[0], err)) && !(is_max && (s = cu_new(shape, 4, AX_INT64, &out[1], err)))) {
    pool_geo g = pool_geo_of(&d, oh, ow);
    if (x0->dtype == AX_FLOAT32) pool_fwd_launch<float>(c, is_max, g, x, out);
    else pool_fwd_launch<double>(c, is_max, g, x, out);
    s = cu_check(err, op);
  }
  ax_tensor_release(x);
  return s;
}

template <typename T>
static void pool_bwd_launch(ax_cuda_ctx *c, int is_max, const pool_geo &g, ax_tensor *dy, ax_tensor *idx, ax_tensor *dx) {
  unsigned blocks = cu_blocks(g.planes * g.h * g.w);
  if (is_max) max_bwd<T><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(T, dy), CU_P(int64_t, idx), CU_P(T, dx));
  else avg_bwd<T><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(T, dy), CU_P(T, dx));
}

/* in: dy [, indices] -> dx [N, C, H, W] with H, W from iv[10..11] */
static ax_status pool_bwd(int is_max, ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                          ax_err *err) {
  const char *op = is_max ? "max_pool2d_backward" : "avg_pool2d_backward";
  ax_status s = cu_nn_float_inputs(op, in, 1, err);
  if (s) return s;
  ax_tensor *dy0 = in[0];
  if (dy0->ndim != 4) return ax_err_set(err, AX_E_SHAPE, "%s: gradient must be 4-d", op);
  ax_nn_pool2d_desc d;
  int64_t oh, ow;
  if ((s = pool_desc(op, dy0->shape[0], dy0->shape[1], at->iv[10], at->iv[11], at, &d, err)) ||
      (s = ax_nn_pool2d_out_size(&d, &oh, &ow, err)))
    return s;
  if (!is_max && (d.dil_h != 1 || d.dil_w != 1)) return ax_err_set(err, AX_E_VALUE, "avg_pool2d: dilation must be 1");
  /* the kernels index dy (and the indices) by the geometry: it must be the forward's output */
  if (dy0->shape[2] != oh || dy0->shape[3] != ow || (is_max && (nin < 2 || ax_numel(in[1]) != ax_numel(dy0))))
    return ax_err_set(err, AX_E_SHAPE, "%s: gradient (and indices) must be [%lld, %lld, %lld, %lld]", op, (long long)d.n,
                      (long long)d.c, (long long)oh, (long long)ow);
  ax_tensor *p[2] = {NULL, NULL};
  if ((s = cu_nn_packed(c, in, 1, dy0->dtype, p, err)) || (is_max && (s = cu_nn_packed(c, in + 1, 1, AX_INT64, p + 1, err)))) {
    cu_nn_release(p, 2);
    return s;
  }
  int64_t shape[4] = {d.n, d.c, d.h, d.w};
  if (!(s = cu_new(shape, 4, dy0->dtype, &out[0], err))) {
    pool_geo g = pool_geo_of(&d, oh, ow);
    if (dy0->dtype == AX_FLOAT32) pool_bwd_launch<float>(c, is_max, g, p[0], p[1], out[0]);
    else pool_bwd_launch<double>(c, is_max, g, p[0], p[1], out[0]);
    s = cu_check(err, op);
  }
  cu_nn_release(p, 2);
  return s;
}

static ax_status max_pool_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return pool_fwd(1, c, in, nin, at, out, err);
}
static ax_status avg_pool_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return pool_fwd(0, c, in, nin, at, out, err);
}
static ax_status max_pool_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                   ax_err *err) {
  return pool_bwd(1, c, in, nin, at, out, err);
}
static ax_status avg_pool_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                   ax_err *err) {
  return pool_bwd(0, c, in, nin, at, out, err);
}

/* pool.c's adaptive_check */
static ax_status adaptive_sizes(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, ax_err *err) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || oh <= 0 || ow <= 0)
    return ax_err_set(err, AX_E_SHAPE,
                      "adaptive_avg_pool2d: sizes must be positive (input %lldx%lldx%lldx%lld, output %lldx%lld)",
                      (long long)n, (long long)c, (long long)h, (long long)w, (long long)oh, (long long)ow);
  return AX_OK;
}

/* iv[0..1] output size */
static ax_status adaptive_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  char sx[96];
  ax_status s = cu_nn_float_inputs("adaptive_avg_pool2d", in, nin, err);
  if (s) return s;
  ax_tensor *x0 = in[0];
  if (x0->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "adaptive_avg_pool2d: input must be [N, C, H, W], got %s",
                      ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  if (at->iv[0] < 1 || at->iv[1] < 1) return ax_err_set(err, AX_E_VALUE, "adaptive_avg_pool2d: output size must be >= 1");
  int64_t shape[4] = {x0->shape[0], x0->shape[1], at->iv[0], at->iv[1]};
  if ((s = adaptive_sizes(shape[0], shape[1], x0->shape[2], x0->shape[3], shape[2], shape[3], err))) return s;
  ax_tensor *x;
  if ((s = cu_nn_packed(c, in, 1, x0->dtype, &x, err))) return s;
  if (!(s = cu_new(shape, 4, x0->dtype, &out[0], err))) {
    pool_geo g{shape[0] * shape[1], x0->shape[2], x0->shape[3], shape[2], shape[3]};
    unsigned blocks = cu_blocks(g.planes * g.oh * g.ow);
    if (x0->dtype == AX_FLOAT32) adaptive_fwd<float><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(float, x), CU_P(float, out[0]));
    else adaptive_fwd<double><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(double, x), CU_P(double, out[0]));
    s = cu_check(err, "adaptive_avg_pool2d");
  }
  ax_tensor_release(x);
  return s;
}

/* in: dy -> dx with H, W from iv[2..3] */
static ax_status adaptive_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                   ax_err *err) {
  ax_status s = cu_nn_float_inputs("adaptive_avg_pool2d_backward", in, nin, err);
  if (s) return s;
  ax_tensor *dy0 = in[0];
  if (dy0->ndim != 4) return ax_err_set(err, AX_E_SHAPE, "adaptive_avg_pool2d_backward: gradient must be 4-d");
  int64_t shape[4] = {dy0->shape[0], dy0->shape[1], at->iv[2], at->iv[3]};
  if ((s = adaptive_sizes(shape[0], shape[1], shape[2], shape[3], dy0->shape[2], dy0->shape[3], err))) return s;
  ax_tensor *dy;
  if ((s = cu_nn_packed(c, in, 1, dy0->dtype, &dy, err))) return s;
  if (!(s = cu_new(shape, 4, dy0->dtype, &out[0], err))) {
    pool_geo g{shape[0] * shape[1], shape[2], shape[3], dy0->shape[2], dy0->shape[3]};
    unsigned blocks = cu_blocks(g.planes * g.h * g.w);
    if (dy0->dtype == AX_FLOAT32) adaptive_bwd<float><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(float, dy), CU_P(float, out[0]));
    else adaptive_bwd<double><<<blocks, CU_THREADS, 0, c->stream>>>(g, CU_P(double, dy), CU_P(double, out[0]));
    s = cu_check(err, "adaptive_avg_pool2d_backward");
  }
  ax_tensor_release(dy);
  return s;
}

extern "C" ax_status cuda_max_pool2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(max_pool_body, in, nin, at, out, 2, err);
}
extern "C" ax_status cuda_max_pool2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(max_pool_bwd_body, in, nin, at, out, 1, err);
}
extern "C" ax_status cuda_avg_pool2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(avg_pool_body, in, nin, at, out, 1, err);
}
extern "C" ax_status cuda_avg_pool2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(avg_pool_bwd_body, in, nin, at, out, 1, err);
}
extern "C" ax_status cuda_adaptive_avg_pool2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(adaptive_body, in, nin, at, out, 1, err);
}
extern "C" ax_status cuda_adaptive_avg_pool2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                                  ax_err *err) {
  return cu_nn_run(adaptive_bwd_body, in, nin, at, out, 1, err);
}
