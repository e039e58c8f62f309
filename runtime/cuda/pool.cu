/* runtime/cuda/pool.cu — max / avg / adaptive-avg 2-d pooling rows on the device, forward and
** backward (the CPU's are runtime/neural/pool.inc via ax_nn.c). Own kernels rather than cuDNN
** pooling: the rows need PyTorch's ceil mode, dilation, count_include_pad and the max indices the
** backward row reads, which cuDNN's pooling does not give. Output sizes come from the runtime's
** ax_nn_pool2d_out_size, so both backends agree on them and on its errors.
** Invariant: forward kernels visit a window in the CPU's order and accumulate in T as it does;
** backward kernels gather (one thread per input cell, windows in ascending output order), so no
** atomics are needed and each dx cell sums the same terms in the same order as the CPU. */
#include "nn.cuh"

struct pool_geo {
  int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  int ceil_mode, count_include_pad;
};

static pool_geo pool_geo_of(const ax_nn_pool2d_desc *d, int64_t oh, int64_t ow) {
  return pool_geo{d->n * d->c, d->h, d->w, oh, ow, d->kh, d->kw, d->stride_h, d->stride_w, d->pad_h,
                  d->pad_w, d->dil_h, d->dil_w, d->ceil_mode, d->count_include_pad};
}

/* pool.inc's max_window: the first maximum wins, a later NaN replaces anything; the index starts
** at the first valid cell (iy * w + ix), -1 for a window with none. */
template <typename T> __global__ void max_fwd(pool_geo g, const T *x, T *y, int64_t *idx) {
  const int64_t ohw = g.oh * g.ow;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < g.planes * ohw; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / ohw, oy = e % ohw / g.ow, ox = e % g.ow;
    const T *xp = x + pl * g.h * g.w;
    const int64_t h0 = oy * g.sh - g.ph, w0 = ox * g.sw - g.pw;
    T m = (T)-INFINITY;
    int64_t best = -1;
    for (int64_t i = 0; i < g.kh; i++) {
      const int64_t iy = h0 + i * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      for (int64_t j = 0; j < g.kw; j++) {
        const int64_t iw = w0 + j * g.dw;
        if (iw < 0 || iw >= g.w) continue;
        const T v = xp[iy * g.w + iw];
        if (best < 0) best = iy * g.w + iw;
        if (v > m || isnan(v)) {
          m = v;
          best = iy * g.w + iw;
        }
      }
    }
    y[e] = m;
    if (idx) idx[e] = best;
  }
}

/* Output cell along one axis whose window reads input cell `in` at kernel offset k, or -1. */
__device__ __forceinline__ int64_t pool_src(int64_t in, int64_t k, int64_t pad, int64_t dil, int64_t stride, int64_t out) {
  const int64_t t = in + pad - k * dil;
  if (t < 0 || t % stride) return -1;
  return t / stride < out ? t / stride : -1;
}

/* dx cell = sum of dy over the windows whose saved index is this cell; kernel offsets descending
** give the windows in ascending output order, the CPU's scatter order. */
template <typename T> __global__ void max_bwd(pool_geo g, const T *dy, const int64_t *idx, T *dx) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < g.planes * hw; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / hw, cell = e % hw, iy = cell / g.w, ix = cell % g.w;
    T acc = 0;
    for (int64_t i = g.kh - 1; i >= 0; i--) {
      const int64_t oy = pool_src(iy, i, g.ph, g.dh, g.sh, g.oh);
      if (oy < 0) continue;
      for (int64_t j = g.kw - 1; j >= 0; j--) {
        const int64_t ox = pool_src(ix, j, g.pw, g.dw, g.sw, g.ow);
        if (ox < 0) continue;
        const int64_t o = pl * ohw + oy * g.ow + ox;
        if (idx[o] == cell) acc += dy[o];
      }
    }
    dx[e] = acc;
  }
}

/* pool.inc's avg_window: [h0, h1) x [w0, w1) summed, divided by the window clipped to the padded
** input (count_include_pad) or by the cells summed. */
__device__ __forceinline__ void avg_window(const pool_geo &g, int64_t oy, int64_t ox, int64_t *h0, int64_t *h1, int64_t *w0,
                                           int64_t *w1, int64_t *div) {
  int64_t hs = oy * g.sh - g.ph, ws = ox * g.sw - g.pw;
  int64_t he = hs + g.kh < g.h + g.ph ? hs + g.kh : g.h + g.ph;
  int64_t we = ws + g.kw < g.w + g.pw ? ws + g.kw : g.w + g.pw;
  int64_t pool = (he - hs) * (we - ws);
  if (hs < 0) hs = 0;
  if (ws < 0) ws = 0;
  if (he > g.h) he = g.h;
  if (we > g.w) we = g.w;
  *h0 = hs, *h1 = he, *w0 = ws, *w1 = we;
  *div = g.count_include_pad ? pool : (he > hs && we > ws ? (he - hs) * (we - ws) : 0);
}

template <typename T> __global__ void avg_fwd(pool_geo g, const T *x, T *y) {
  const int64_t ohw = g.oh * g.ow;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < g.planes * ohw; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / ohw, oy = e % ohw / g.ow, ox = e % g.ow;
    int64_t h0, h1, w0, w1, div;
    avg_window(g, oy, ox, &h0, &h1, &w0, &w1, &div);
    if (h0 >= h1 || w0 >= w1) {
      y[e] = 0;
      continue;
    }
    const T *xp = x + pl * g.h * g.w;
    T s = 0;
    for (int64_t iy = h0; iy < h1; iy++)
      for (int64_t ix = w0; ix < w1; ix++) s += xp[iy * g.w + ix];
    y[e] = s / (T)div;
  }
}

template <typename T> __global__ void avg_bwd(pool_geo g, const T *dy, T *dx) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < g.planes * hw; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / hw, iy = e % hw / g.w, ix = e % g.w;
    T acc = 0;
    for (int64_t i = g.kh - 1; i >= 0; i--) {
      const int64_t oy = pool_src(iy, i, g.ph, 1, g.sh, g.oh);
      if (oy < 0) continue;
      for (int64_t j = g.kw - 1; j >= 0; j--) {
        const int64_t ox = pool_src(ix, j, g.pw, 1, g.sw, g.ow);
        if (ox < 0) continue;
        int64_t h0, h1, w0, w1, div;
        avg_window(g, oy, ox, &h0, &h1, &w0, &w1, &div);
        if (h0 >= h1 || w0 >= w1 || iy < h0 || iy >= h1 || ix < w0 || ix >= w1) continue;
        acc += dy[pl * ohw + oy * g.ow + ox] / (T)div;
      }
    }
    dx[e] = acc;
  }
}

/* adaptive: output cell i covers [floor(i*in/out), ceil((i+1)*in/out)) */
__device__ __forceinline__ int64_t ad_lo(int64_t i, int64_t in, int64_t out) { return i * in / out; }
__device__ __forceinline__ int64_t ad_hi(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

template <typename T> __global__ void adaptive_fwd(pool_geo g, const T *x, T *y) {
  const int64_t ohw = g.oh * g.ow;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < g.planes * ohw; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / ohw, i = e % ohw / g.ow, j = e % g.ow;
    const int64_t h0 = ad_lo(i, g.h, g.oh), h1 = ad_hi(i, g.h, g.oh), w0 = ad_lo(j, g.w, g.ow), w1 = ad_hi(j, g.w, g.ow);
    const T *xp = x + pl * g.h * g.w;
    T s = 0;
    for (int64_t iy = h0; iy < h1; iy++)
      for (int64_t ix = w0; ix < w1; ix++) s += xp[iy * g.w + ix];
    y[e] = s / (T)((h1 - h0) * (w1 - w0));
  }
}

template <typename T> __global__ void adaptive_bwd(pool_geo g, const T *dy, T *dx) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < g.planes * hw; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / hw, iy = e % hw / g.w, ix = e % g.w;
    /* the cells whose ranges can hold iy / ix, checked exactly below */
    const int64_t i0 = iy * g.oh / g.h > 0 ? iy * g.oh / g.h - 1 : 0, j0 = ix * g.ow / g.w > 0 ? ix * g.ow / g.w - 1 : 0;
    const int64_t i1 = (iy + 1) * g.oh / g.h + 1 < g.oh ? (iy + 1) * g.oh / g.h + 1 : g.oh - 1;
    const int64_t j1 = (ix + 1) * g.ow / g.w + 1 < g.ow ? (ix + 1) * g.ow / g.w + 1 : g.ow - 1;
    T acc = 0;
    for (int64_t i = i0; i <= i1; i++) {
      const int64_t h0 = ad_lo(i, g.h, g.oh), h1 = ad_hi(i, g.h, g.oh);
      if (iy < h0 || iy >= h1) continue;
      for (int64_t j = j0; j <= j1; j++) {
        const int64_t w0 = ad_lo(j, g.w, g.ow), w1 = ad_hi(j, g.w, g.ow);
        if (ix < w0 || ix >= w1) continue;
        acc += dy[pl * ohw + i * g.ow + j] / (T)((h1 - h0) * (w1 - w0));
      }
    }
    dx[e] = acc;
  }
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
