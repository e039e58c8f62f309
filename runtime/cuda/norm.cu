/* runtime/cuda/norm.cu — layer_norm and batch_norm rows (forward and backward) on the device; the
** CPU's are runtime/neural/norm.inc via ax_nn.c. layer_norm: x [m, d] normalised over its last
** iv[0] dims with eps fv[0]. batch_norm: x [N, C, ...] per channel, iv[0] training, iv[1] update
** the running statistics in place, fv[0] eps, fv[1] momentum. Statistics accumulate in float64,
** one thread block per row (layer) or channel (batch), so results do not depend on the launch.
** Invariant: same shapes, dtypes (float32/float64), saved tensors and error texts as the CPU rows. */
#include "nn.cuh"

/* ---------------- layer norm ---------------- */

static ax_status ln_sizes(const ax_tensor *x, const ax_tensor *w, int nd, int64_t *m, int64_t *d, ax_err *err) {
  char sx[96], sw[96];
  if (nd < 1 || nd > x->ndim)
    return ax_err_set(err, AX_E_SHAPE, "layer_norm: cannot normalise %d dims of %s", nd, ax_shape_str(x->shape, x->ndim, sx, sizeof sx));
  *d = 1;
  for (int i = x->ndim - nd; i < x->ndim; i++) *d *= x->shape[i];
  *m = *d ? ax_numel(x) / *d : 0;
  if (ax_numel(w) != *d)
    return ax_err_set(err, AX_E_SHAPE, "layer_norm: weight %s does not match the normalised shape of input %s",
                      ax_shape_str(w->shape, w->ndim, sw, sizeof sw), ax_shape_str(x->shape, x->ndim, sx, sizeof sx));
  return AX_OK;
}

/* one block per row */
template <typename T>
__global__ void ln_fwd(int64_t m, int64_t d, const T *x, const T *g, const T *b, double eps, T *y, T *mean, T *rstd) {
  __shared__ double sh[CU_THREADS];
  for (int64_t r = blockIdx.x; r < m; r += gridDim.x) {
    const T *xr = x + r * d;
    double s = 0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += (double)xr[i];
    double mu = cu_block_sum(s, sh) / (double)d, q = 0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) q += ((double)xr[i] - mu) * ((double)xr[i] - mu);
    double rs = 1.0 / sqrt(cu_block_sum(q, sh) / (double)d + eps);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) y[r * d + i] = (T)(((double)xr[i] - mu) * rs * (double)g[i] + (double)b[i]);
    if (threadIdx.x == 0) {
      mean[r] = (T)mu;
      rstd[r] = (T)rs;
    }
  }
}

/* dx = rstd * (ge - mean(ge) - xhat * mean(ge * xhat)), ge = dy * gamma; one block per row */
template <typename T>
__global__ void ln_bwd_dx(int64_t m, int64_t d, const T *x, const T *dy, const T *g, const T *mean, const T *rstd, T *dx) {
  __shared__ double sh[CU_THREADS];
  for (int64_t r = blockIdx.x; r < m; r += gridDim.x) {
    const T *xr = x + r * d, *dyr = dy + r * d;
    double mu = (double)mean[r], rs = (double)rstd[r], sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
      double ge = (double)dyr[i] * (double)g[i];
      sg += ge;
      sgx += ge * ((double)xr[i] - mu) * rs;
    }
    sg = cu_block_sum(sg, sh) / (double)d;
    sgx = cu_block_sum(sgx, sh) / (double)d;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
      double xh = ((double)xr[i] - mu) * rs;
      dx[r * d + i] = (T)(rs * ((double)dyr[i] * (double)g[i] - sg - xh * sgx));
    }
  }
}

/* dgamma[i] = sum_r dy * xhat, dbeta[i] = sum_r dy: one thread per column */
template <typename T>
__global__ void ln_bwd_dw(int64_t m, int64_t d, const T *x, const T *dy, const T *mean, const T *rstd, T *dg, T *db) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < d; i += (int64_t)gridDim.x * blockDim.x) {
    double sg = 0, sb = 0;
    for (int64_t r = 0; r < m; r++) {
      double v = (double)dy[r * d + i];
      sg += v * ((double)x[r * d + i] - (double)mean[r]) * (double)rstd[r];
      sb += v;
    }
    dg[i] = (T)sg;
    db[i] = (T)sb;
  }
}

template <typename T>
static void ln_fwd_launch(ax_cuda_ctx *c, int64_t m, int64_t d, ax_tensor *const *p, double eps, ax_tensor **out) {
  ln_fwd<T><<<cu_rows_grid(m), CU_THREADS, 0, c->stream>>>(m, d, CU_P(T, p[0]), CU_P(T, p[1]), CU_P(T, p[2]), eps,
                                                           CU_P(T, out[0]), CU_P(T, out[1]), CU_P(T, out[2]));
}

static ax_status layer_norm_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                 ax_err *err) {
  ax_status s = cu_nn_float_inputs("layer_norm", in, nin, err);
  int64_t m = 0, d = 0;
  if (s || (s = ln_sizes(in[0], in[1], (int)at->iv[0], &m, &d, err))) return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[3];
  if ((s = cu_nn_packed(c, in, 3, dt, p, err))) return s;
  int64_t ms[1] = {m};
  if (!(s = cu_new(in[0]->shape, in[0]->ndim, dt, &out[0], err)) && !(s = cu_new(ms, 1, dt, &out[1], err)) &&
      !(s = cu_new(ms, 1, dt, &out[2], err)) && m > 0) {
    if (dt == AX_FLOAT32) ln_fwd_launch<float>(c, m, d, p, at->fv[0], out);
    else ln_fwd_launch<double>(c, m, d, p, at->fv[0], out);
    s = cu_check(err, "layer_norm");
  }
  cu_nn_release(p, 3);
  return s;
}

template <typename T>
static void ln_bwd_launch(ax_cuda_ctx *c, int64_t m, int64_t d, ax_tensor *const *p, ax_tensor **out) {
  if (m > 0)
    ln_bwd_dx<T><<<cu_rows_grid(m), CU_THREADS, 0, c->stream>>>(m, d, CU_P(T, p[0]), CU_P(T, p[1]), CU_P(T, p[2]),
                                                                CU_P(T, p[3]), CU_P(T, p[4]), CU_P(T, out[0]));
  ln_bwd_dw<T><<<cu_blocks(d), CU_THREADS, 0, c->stream>>>(m, d, CU_P(T, p[0]), CU_P(T, p[1]), CU_P(T, p[3]), CU_P(T, p[4]),
                                                           CU_P(T, out[1]), CU_P(T, out[2]));
}

/* in: x, dy, w, mean, rstd -> dx, dw, db */
static ax_status layer_norm_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                     ax_err *err) {
  ax_status s = cu_nn_float_inputs("layer_norm_backward", in, nin, err);
  int64_t m = 0, d = 0;
  if (s || (s = ln_sizes(in[0], in[2], (int)at->iv[0], &m, &d, err))) return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[5];
  if ((s = cu_nn_packed(c, in, 5, dt, p, err))) return s;
  if (!(s = cu_new(in[0]->shape, in[0]->ndim, dt, &out[0], err)) && !(s = cu_new(in[2]->shape, in[2]->ndim, dt, &out[1], err)) &&
      !(s = cu_new(in[2]->shape, in[2]->ndim, dt, &out[2], err)) && d > 0) {
    if (dt == AX_FLOAT32) ln_bwd_launch<float>(c, m, d, p, out);
    else ln_bwd_launch<double>(c, m, d, p, out);
    s = cu_check(err, "layer_norm_backward");
  }
  cu_nn_release(p, 5);
  return s;
}

extern "C" ax_status cuda_layer_norm(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(layer_norm_body, in, nin, at, out, 3, err);
}

extern "C" ax_status cuda_layer_norm_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(layer_norm_bwd_body, in, nin, at, out, 3, err);
}

/* ---------------- batch norm ---------------- */

/* Element j of channel ch (j over N*HW) in x [N, C, HW]. */
__device__ __forceinline__ int64_t bn_at(int64_t j, int64_t ch, int64_t c, int64_t hw) {
  return (j / hw * c + ch) * hw + j % hw;
}

/* Training forward, one block per channel: biased variance for rstd, the unbiased one for the
** running variance (as PyTorch); y = x*scale + shift with scale, shift rounded to T as the CPU. */
template <typename T>
__global__ void bn_fwd_train(int64_t n, int64_t c, int64_t hw, const T *x, const T *g, const T *b, double eps, double mom,
                             T *rmean, T *rvar, T *y, T *mean, T *rstd) {
  __shared__ double sh[CU_THREADS];
  const int64_t m = n * hw;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    double s = 0;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) s += (double)x[bn_at(j, ch, c, hw)];
    const double mu = cu_block_sum(s, sh) / (double)m;
    double q = 0;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      double v = (double)x[bn_at(j, ch, c, hw)] - mu;
      q += v * v;
    }
    const double ss = cu_block_sum(q, sh), rs = 1.0 / sqrt(ss / (double)m + eps);
    if (threadIdx.x == 0) {
      mean[ch] = (T)mu;
      rstd[ch] = (T)rs;
      if (rmean) rmean[ch] = (T)((1 - mom) * (double)rmean[ch] + mom * mu);
      if (rvar) rvar[ch] = (T)((1 - mom) * (double)rvar[ch] + mom * ss / (double)(m - 1));
    }
    const T scale = (T)(rs * (double)g[ch]), shift = (T)((double)b[ch] - mu * (double)scale);
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      int64_t k = bn_at(j, ch, c, hw);
      y[k] = x[k] * scale + shift;
    }
  }
}

/* Evaluation forward with the running statistics: one thread per element. */
template <typename T>
__global__ void bn_fwd_eval(int64_t total, int64_t c, int64_t hw, const T *x, const T *g, const T *b, const T *rmean,
                            const T *rvar, double eps, T *y) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    int64_t ch = k / hw % c;
    const double rs = 1.0 / sqrt((double)rvar[ch] + eps);
    const T scale = (T)(rs * (double)g[ch]), shift = (T)((double)b[ch] - (double)rmean[ch] * (double)scale);
    y[k] = x[k] * scale + shift;
  }
}

/* Backward, one block per channel. training: s1/s2 are the saved mean/rstd and
** dx = k1*dy + k2*x + k3 (norm.inc's folding); evaluation: s1/s2 are the running mean/var and
** dx = dy * gamma*rstd. dgamma = sum dy*xhat, dbeta = sum dy in both. */
template <typename T>
__global__ void bn_bwd(int training, int64_t n, int64_t c, int64_t hw, const T *x, const T *dy, const T *g, const T *s1,
                       const T *s2, double eps, T *dx, T *dg, T *db) {
  __shared__ double sh[CU_THREADS];
  const int64_t m = n * hw;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const double mean = (double)s1[ch], rstd = training ? (double)s2[ch] : 1.0 / sqrt((double)s2[ch] + eps);
    double a = 0, bx = 0;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      int64_t k = bn_at(j, ch, c, hw);
      a += (double)dy[k];
      bx += (double)dy[k] * (double)x[k];
    }
    const double sdy = cu_block_sum(a, sh), sdyx = cu_block_sum(bx, sh), sdyxhat = (sdyx - mean * sdy) * rstd;
    if (threadIdx.x == 0) {
      dg[ch] = (T)sdyxhat;
      db[ch] = (T)sdy;
    }
    const double gc = (double)g[ch];
    if (training) {
      const double k1 = gc * rstd, k2 = -gc * rstd * rstd * sdyxhat / (double)m;
      const double k3 = -gc * rstd * sdy / (double)m - k2 * mean;
      const T a1 = (T)k1, a2 = (T)k2, a3 = (T)k3;
      for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
        int64_t k = bn_at(j, ch, c, hw);
        dx[k] = a1 * dy[k] + a2 * x[k] + a3;
      }
    } else {
      const T kk = (T)(rstd * gc);
      for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
        int64_t k = bn_at(j, ch, c, hw);
        dx[k] = dy[k] * kk;
      }
    }
  }
}

/* norm.c's norm_sizes */
static ax_status bn_sizes(const char *op, int64_t n, int64_t c, int64_t hw, double eps, ax_err *err) {
  if (n <= 0 || c <= 0 || hw <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: sizes must be positive, got %lld x %lld x %lld", op, (long long)n, (long long)c,
                      (long long)hw);
  if (!(eps >= 0)) return ax_err_set(err, AX_E_VALUE, "%s: eps must be >= 0, got %g", op, eps);
  return AX_OK;
}

template <typename T>
static void bn_fwd_launch(ax_cuda_ctx *c, int training, int64_t n, int64_t ch, int64_t hw, ax_tensor *const *p, T *rm,
                          T *rv, const ax_attrs *at, ax_tensor **out) {
  if (training)
    bn_fwd_train<T><<<cu_rows_grid(ch), CU_THREADS, 0, c->stream>>>(n, ch, hw, CU_P(T, p[0]), CU_P(T, p[1]), CU_P(T, p[2]),
                                                                    at->fv[0], at->fv[1], rm, rv, CU_P(T, out[0]),
                                                                    CU_P(T, out[1]), CU_P(T, out[2]));
  else
    bn_fwd_eval<T><<<cu_blocks(n * ch * hw), CU_THREADS, 0, c->stream>>>(n * ch * hw, ch, hw, CU_P(T, p[0]), CU_P(T, p[1]),
                                                                         CU_P(T, p[2]), CU_P(T, p[3]), CU_P(T, p[4]),
                                                                         at->fv[0], CU_P(T, out[0]));
}

/* in: x [N, C, ...], w [C], b [C], running_mean [C], running_var [C] -> y, mean, rstd (training) */
static ax_status batch_norm_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                 ax_err *err) {
  char sx[96];
  ax_status s = cu_nn_float_inputs("batch_norm", in, nin, err);
  if (s) return s;
  ax_tensor *x0 = in[0];
  if (x0->ndim < 2)
    return ax_err_set(err, AX_E_SHAPE, "batch_norm: input must have a channel dim [N, C, ...], got %s",
                      ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  int64_t n = x0->shape[0], ch = x0->shape[1], hw = 1;
  for (int i = 2; i < x0->ndim; i++) hw *= x0->shape[i];
  for (int i = 1; i < 5; i++)
    if (in[i]->ndim != 1 || in[i]->shape[0] != ch)
      return ax_err_set(err, AX_E_SHAPE, "batch_norm: input has %lld channels but a parameter has shape %s", (long long)ch,
                        ax_shape_str(in[i]->shape, in[i]->ndim, sx, sizeof sx));
  int training = (int)at->iv[0], update = training && (int)at->iv[1];
  if (training && n * hw <= 1)
    return ax_err_set(err, AX_E_VALUE, "batch_norm: training needs more than one value per channel, got input %s",
                      ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  if ((int)at->iv[1] && (!ax_is_contiguous(in[3]) || !ax_is_contiguous(in[4]) || in[3]->dtype != x0->dtype ||
                         in[4]->dtype != x0->dtype))
    return ax_err_set(err, AX_E_VALUE, "batch_norm: running statistics must be contiguous %s tensors", ax_dtype_name(x0->dtype));
  if ((s = bn_sizes("batch_norm", n, ch, hw, at->fv[0], err))) return s;
  if (training && !(at->fv[1] >= 0 && at->fv[1] <= 1))
    return ax_err_set(err, AX_E_VALUE, "batch_norm: momentum must be in [0, 1], got %g", at->fv[1]);
  ax_dtype dt = x0->dtype;
  ax_tensor *p[5];
  /* the running statistics are packed only when they are read, not updated in place */
  ax_tensor *const pin[5] = {in[0], in[1], in[2], training ? NULL : in[3], training ? NULL : in[4]};
  if ((s = cu_nn_packed(c, pin, 5, dt, p, err))) return s;
  int64_t cs[1] = {ch};
  if (!(s = cu_new(x0->shape, x0->ndim, dt, &out[0], err)) &&
      !(training && ((s = cu_new(cs, 1, dt, &out[1], err)) || (s = cu_new(cs, 1, dt, &out[2], err))))) {
    if (dt == AX_FLOAT32)
      bn_fwd_launch<float>(c, training, n, ch, hw, p, update ? CU_P(float, in[3]) : NULL, update ? CU_P(float, in[4]) : NULL,
                           at, out);
    else
      bn_fwd_launch<double>(c, training, n, ch, hw, p, update ? CU_P(double, in[3]) : NULL,
                            update ? CU_P(double, in[4]) : NULL, at, out);
    s = cu_check(err, "batch_norm");
  }
  cu_nn_release(p, 5);
  return s;
}

/* in: x, dy, w, s1, s2 (training: saved mean/rstd; evaluation: running mean/var) -> dx, dw, db */
static ax_status batch_norm_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                     ax_err *err) {
  ax_status s = cu_nn_float_inputs("batch_norm_backward", in, nin, err);
  if (s) return s;
  ax_tensor *x0 = in[0];
  int training = (int)at->iv[0];
  int64_t n = x0->ndim > 0 ? x0->shape[0] : 0, ch = x0->ndim > 1 ? x0->shape[1] : 0, hw = 1, cs[1] = {ch};
  for (int i = 2; i < x0->ndim; i++) hw *= x0->shape[i];
  if ((s = bn_sizes("batch_norm backward", n, ch, hw, training ? 0 : at->fv[0], err))) return s;
  ax_dtype dt = x0->dtype;
  ax_tensor *p[5];
  if ((s = cu_nn_packed(c, in, 5, dt, p, err))) return s;
  if (!(s = cu_new(x0->shape, x0->ndim, dt, &out[0], err)) && !(s = cu_new(cs, 1, dt, &out[1], err)) &&
      !(s = cu_new(cs, 1, dt, &out[2], err))) {
    if (dt == AX_FLOAT32)
      bn_bwd<float><<<cu_rows_grid(ch), CU_THREADS, 0, c->stream>>>(training, n, ch, hw, CU_P(float, p[0]), CU_P(float, p[1]),
                                                                    CU_P(float, p[2]), CU_P(float, p[3]), CU_P(float, p[4]),
                                                                    at->fv[0], CU_P(float, out[0]), CU_P(float, out[1]),
                                                                    CU_P(float, out[2]));
    else
      bn_bwd<double><<<cu_rows_grid(ch), CU_THREADS, 0, c->stream>>>(training, n, ch, hw, CU_P(double, p[0]),
                                                                     CU_P(double, p[1]), CU_P(double, p[2]),
                                                                     CU_P(double, p[3]), CU_P(double, p[4]), at->fv[0],
                                                                     CU_P(double, out[0]), CU_P(double, out[1]),
                                                                     CU_P(double, out[2]));
    s = cu_check(err, "batch_norm_backward");
  }
  cu_nn_release(p, 5);
  return s;
}

extern "C" ax_status cuda_batch_norm(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(batch_norm_body, in, nin, at, out, 3, err);
}

extern "C" ax_status cuda_batch_norm_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(batch_norm_bwd_body, in, nin, at, out, 3, err);
}
