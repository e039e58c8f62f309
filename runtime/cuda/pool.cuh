/* runtime/cuda/pool.cuh — the per-element bodies of the pooling kernels (pool.cu): one output
** cell forward, one input cell backward. Shared with tests/cuda/test_cuda_host.cpp, which runs
** them on the host against runtime/neural/pool.inc.
** Invariant: forward visits a window in pool.inc's order and accumulates in T as it does;
** backward gathers the windows that read a cell in ascending output order, the order pool.inc
** scatters them in, so every dx cell sums the same terms in the same order. */
#ifndef AX_CUDA_POOL_CUH
#define AX_CUDA_POOL_CUH

#include "cuda_hd.h"

struct pool_geo {
  int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  int ceil_mode, count_include_pad;
};

/* pool.inc's max_window: the first maximum wins, a later NaN replaces anything; the index starts
** at the first valid cell (iy * w + ix), -1 for a window with none. e: output cell. */
template <typename T> CU_HD void max_fwd_at(const pool_geo &g, const T *x, T *y, int64_t *idx, int64_t e) {
  const int64_t ohw = g.oh * g.ow, pl = e / ohw, oy = e % ohw / g.ow, ox = e % g.ow;
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

/* Output cell along one axis whose window reads input cell `in` at kernel offset k, or -1. */
CU_HD int64_t pool_src(int64_t in, int64_t k, int64_t pad, int64_t dil, int64_t stride, int64_t out) {
  const int64_t t = in + pad - k * dil;
  if (t < 0 || t % stride) return -1;
  return t / stride < out ? t / stride : -1;
}

/* dx cell e = sum of dy over the windows whose saved index is this cell; kernel offsets descending
** give the windows in ascending output order. */
template <typename T> CU_HD void max_bwd_at(const pool_geo &g, const T *dy, const int64_t *idx, T *dx, int64_t e) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, pl = e / hw, cell = e % hw, iy = cell / g.w, ix = cell % g.w;
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

/* pool.inc's avg_window: [h0, h1) x [w0, w1) summed, divided by the window clipped to the padded
** input (count_include_pad) or by the cells summed. */
CU_HD void avg_window(const pool_geo &g, int64_t oy, int64_t ox, int64_t *h0, int64_t *h1, int64_t *w0, int64_t *w1,
                      int64_t *div) {
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

template <typename T> CU_HD void avg_fwd_at(const pool_geo &g, const T *x, T *y, int64_t e) {
  const int64_t ohw = g.oh * g.ow, pl = e / ohw, oy = e % ohw / g.ow, ox = e % g.ow;
  int64_t h0, h1, w0, w1, div;
  avg_window(g, oy, ox, &h0, &h1, &w0, &w1, &div);
  if (h0 >= h1 || w0 >= w1) {
    y[e] = 0;
    return;
  }
  const T *xp = x + pl * g.h * g.w;
  T s = 0;
  for (int64_t iy = h0; iy < h1; iy++)
    for (int64_t ix = w0; ix < w1; ix++) s += xp[iy * g.w + ix];
  y[e] = s / (T)div;
}

template <typename T> CU_HD void avg_bwd_at(const pool_geo &g, const T *dy, T *dx, int64_t e) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, pl = e / hw, iy = e % hw / g.w, ix = e % g.w;
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

/* adaptive: output cell i covers [floor(i*in/out), ceil((i+1)*in/out)) */
CU_HD int64_t ad_lo(int64_t i, int64_t in, int64_t out) { return i * in / out; }
CU_HD int64_t ad_hi(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

template <typename T> CU_HD void adaptive_fwd_at(const pool_geo &g, const T *x, T *y, int64_t e) {
  const int64_t ohw = g.oh * g.ow, pl = e / ohw, i = e % ohw / g.ow, j = e % g.ow;
  const int64_t h0 = ad_lo(i, g.h, g.oh), h1 = ad_hi(i, g.h, g.oh), w0 = ad_lo(j, g.w, g.ow), w1 = ad_hi(j, g.w, g.ow);
  const T *xp = x + pl * g.h * g.w;
  T s = 0;
  for (int64_t iy = h0; iy < h1; iy++)
    for (int64_t ix = w0; ix < w1; ix++) s += xp[iy * g.w + ix];
  y[e] = s / (T)((h1 - h0) * (w1 - w0));
}

template <typename T> CU_HD void adaptive_bwd_at(const pool_geo &g, const T *dy, T *dx, int64_t e) {
  const int64_t hw = g.h * g.w, ohw = g.oh * g.ow, pl = e / hw, iy = e % hw / g.w, ix = e % g.w;
  /* the cells whose ranges can hold iy / ix (checked exactly below), ascending as pool.inc adds */
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

#endif
