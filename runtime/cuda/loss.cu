/* runtime/cuda/loss.cu — the fused cross-entropy rows on the device (the CPU's are
** runtime/neural/loss.inc via ax_nn.c): logits [n, c], class targets [n] int64, optional class
** weights [c]; iv[0] ignore_index, iv[1] reduction (0 none, 1 mean, 2 sum), fv[0] label
** smoothing. Forward saves lse [n] for the backward row. One thread block per row with float64
** sums; the batch reduction is one more single-block pass, so the result does not depend on
** the launch. Targets are checked on the host (one small download) so errors name the row as
** on the CPU. Invariant: lse = max + log(sum exp(x - max)), max taken as the CPU's vmax. */
#include "nn.cuh"
#include "loss.cuh"

/* The CPU's vmax: start from x[0], keep x when x > m, so a NaN in x[0] gives NaN and later NaNs
** are skipped; per-thread maxima combine with the same rule. */
template <typename T> __device__ double row_max(const T *r, int64_t c, double *sh) {
  double m = (double)r[0];
  for (int64_t k = threadIdx.x; k < c; k += blockDim.x) m = (double)r[k] > m ? (double)r[k] : m;
  sh[threadIdx.x] = m;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) sh[threadIdx.x] = sh[threadIdx.x + w] > sh[threadIdx.x] ? sh[threadIdx.x + w] : sh[threadIdx.x];
    __syncthreads();
  }
  double r0 = sh[0];
  __syncthreads();
  return r0;
}

template <typename T> __device__ double row_lse(const T *r, int64_t c, double *sh) {
  double mx = row_max(r, c, sh), s = 0;
  for (int64_t k = threadIdx.x; k < c; k += blockDim.x) s += exp((double)r[k] - mx);
  s = cu_block_sum(s, sh);
  return isinf(mx) ? mx : mx + log(s);
}

/* per row: lse[i], the row loss li[i] and its weight wi[i] (0 when ignored) */
template <typename T>
__global__ void ce_fwd_rows(int64_t n, int64_t c, const T *x, const int64_t *t, const T *w, int64_t ignore, double ls,
                            int none, T *loss, T *lse, double *li, double *wi) {
  __shared__ double sh[CU_THREADS];
  for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
    const T *r = x + i * c;
    const double l = row_lse(r, c, sh);
    double v = 0, wt = 0;
    if (t[i] != ignore) {
      wt = w ? (double)w[t[i]] : 1.0;
      v = -(1 - ls) * wt * ((double)r[t[i]] - l);
      if (ls > 0) {
        double sm = 0;
        for (int64_t k = threadIdx.x; k < c; k += blockDim.x) sm -= (w ? (double)w[k] : 1.0) * ((double)r[k] - l);
        v += ls / (double)c * cu_block_sum(sm, sh);
      }
    }
    if (threadIdx.x == 0) {
      lse[i] = (T)l;
      if (none) loss[i] = (T)v;
      li[i] = v;
      wi[i] = wt;
    }
  }
}

/* one block: sum of the row losses (and weights) in float64, then the reduction */
template <typename T> __global__ void ce_fwd_reduce(int64_t n, const double *li, const double *wi, int mean, T *loss) {
  __shared__ double sh[CU_THREADS];
  double s = 0, ws = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    s += li[i];
    ws += wi[i];
  }
  s = cu_block_sum(s, sh);
  ws = cu_block_sum(ws, sh);
  if (threadIdx.x == 0) loss[0] = (T)(mean ? s / ws : s);   /* 0/0 = NaN when every row is ignored */
}

/* one block: sc[0] = the mean's denominator (weights of the rows not ignored), sc[1] = sum of
** the class weights (c without weights) */
template <typename T>
__global__ void ce_bwd_scalars(int64_t n, int64_t c, const int64_t *t, const T *w, int64_t ignore, double *sc) {
  __shared__ double sh[CU_THREADS];
  double den = 0, ws = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (t[i] != ignore) den += w ? (double)w[t[i]] : 1.0;
  for (int64_t k = threadIdx.x; k < c; k += blockDim.x) ws += w ? (double)w[k] : 1.0;
  den = cu_block_sum(den, sh);
  ws = cu_block_sum(ws, sh);
  if (threadIdx.x == 0) {
    sc[0] = den;
    sc[1] = ws;
  }
}

/* one thread per element: loss.cuh */
template <typename T>
__global__ void ce_bwd(int64_t n, int64_t c, const T *x, const int64_t *t, const T *w, int64_t ignore, double ls, int red,
                       const T *lse, const T *dloss, const double *sc, T *dx) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n * c; e += (int64_t)gridDim.x * blockDim.x)
    ce_bwd_at(c, x, t, w, ignore, ls, red, lse, dloss, sc, dx, e);
}

/* loss.c's ce_check and ce_targets */
static ax_status ce_args(const char *op, int64_t n, int64_t c, double ls, int red, ax_err *err) {
  if (n <= 0 || c <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: logits must be [n, c] with positive sizes, got [%lld, %lld]", op, (long long)n,
                      (long long)c);
  if (!(ls >= 0 && ls <= 1)) return ax_err_set(err, AX_E_VALUE, "%s: label_smoothing must be in [0, 1], got %g", op, ls);
  if (red != AX_NN_REDUCE_NONE && red != AX_NN_REDUCE_MEAN && red != AX_NN_REDUCE_SUM)
    return ax_err_set(err, AX_E_VALUE, "%s: unknown reduction %d", op, red);
  return AX_OK;
}

static ax_status ce_targets(ax_cuda_ctx *c, const char *op, const ax_tensor *t, int64_t classes, int64_t ignore, ax_err *err) {
  int64_t *h, n;
  ax_status s = cu_nn_download_i64(c, op, t, &h, &n, err);
  if (s) return s;
  for (int64_t i = 0; i < n && !s; i++)
    if (h[i] != ignore && (h[i] < 0 || h[i] >= classes))
      s = ax_err_set(err, AX_E_INDEX, "%s: target %lld at row %lld is out of range for %lld classes", op, (long long)h[i],
                     (long long)i, (long long)classes);
  ax_free(h, sizeof(int64_t) * (size_t)(n ? n : 1));
  return s;
}

/* ax_nn.c's ce_check */
static ax_status ce_shapes(const char *op, const ax_tensor *x, const ax_tensor *t, const ax_tensor *w, ax_err *err) {
  char a[96], b[96];
  if (x->ndim != 2) return ax_err_set(err, AX_E_SHAPE, "%s: logits must be [N, C], got %s", op, ax_shape_str(x->shape, x->ndim, a, sizeof a));
  if (t->dtype != AX_INT64 || t->ndim != 1 || t->shape[0] != x->shape[0])
    return ax_err_set(err, AX_E_SHAPE, "%s: target must be int64 [%lld], got %s %s", op, (long long)x->shape[0],
                      ax_dtype_name(t->dtype), ax_shape_str(t->shape, t->ndim, b, sizeof b));
  if (w && (w->ndim != 1 || w->shape[0] != x->shape[1]))
    return ax_err_set(err, AX_E_SHAPE, "%s: weight must have %lld entries (one per class)", op, (long long)x->shape[1]);
  return AX_OK;
}

template <typename T>
static void ce_fwd_launch(ax_cuda_ctx *c, int64_t n, int64_t cl, ax_tensor *const *p, const ax_attrs *at, double *li,
                          double *wi, ax_tensor **out) {
  int red = (int)at->iv[1];
  ce_fwd_rows<T><<<cu_rows_grid(n), CU_THREADS, 0, c->stream>>>(n, cl, CU_P(T, p[0]), CU_P(int64_t, p[1]), CU_PTR(T, p[2]),
                                                                at->iv[0], at->fv[0], red == AX_NN_REDUCE_NONE,
                                                                CU_P(T, out[0]), CU_P(T, out[1]), li, wi);
  if (red != AX_NN_REDUCE_NONE)
    ce_fwd_reduce<T><<<1, CU_THREADS, 0, c->stream>>>(n, li, wi, red == AX_NN_REDUCE_MEAN, CU_P(T, out[0]));
}

/* in: logits, target [, weight] -> loss, lse */
static ax_status ce_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 2 || nin > 3) return ax_err_set(err, AX_E_VALUE, "cross_entropy: expects logits, target and an optional weight");
  ax_tensor *w = nin > 2 ? in[2] : NULL, *const fl[2] = {in[0], w};
  ax_status s = cu_nn_float_inputs("cross_entropy", fl, w ? 2 : 1, err);
  if (s || (s = ce_shapes("cross_entropy", in[0], in[1], w, err))) return s;
  int64_t n = in[0]->shape[0], cl = in[0]->shape[1], ns[1] = {n};
  int red = (int)at->iv[1];
  if ((s = ce_args("cross_entropy", n, cl, at->fv[0], red, err)) ||
      (s = ce_targets(c, "cross_entropy", in[1], cl, at->iv[0], err)))
    return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[3] = {NULL, NULL, NULL};
  ax_tensor *const pin[3] = {in[0], in[1], w};
  if ((s = cu_nn_packed(c, pin, 1, dt, p, err))) return s;
  if ((s = cu_nn_packed(c, pin + 1, 1, AX_INT64, p + 1, err)) || (s = cu_nn_packed(c, pin + 2, 1, dt, p + 2, err))) {
    cu_nn_release(p, 3);
    return s;
  }
  size_t nb = sizeof(double) * (size_t)n;
  double *li = (double *)cu_scratch(c, 2 * nb);
  if (!li) s = ax_err_set(err, AX_E_NOMEM, "cross_entropy: out of device memory for %lld rows", (long long)n);
  if (!s && !(s = cu_new(ns, red == AX_NN_REDUCE_NONE ? 1 : 0, dt, &out[0], err)) && !(s = cu_new(ns, 1, dt, &out[1], err))) {
    if (dt == AX_FLOAT32) ce_fwd_launch<float>(c, n, cl, p, at, li, li + n, out);
    else ce_fwd_launch<double>(c, n, cl, p, at, li, li + n, out);
    s = cu_check(err, "cross_entropy");
  }
  if (li) cu_scratch_free(c, li, 2 * nb);   /* stream-ordered: the next user runs after these kernels */
  cu_nn_release(p, 3);
  return s;
}

template <typename T>
static void ce_bwd_launch(ax_cuda_ctx *c, int64_t n, int64_t cl, ax_tensor *const *p, const ax_attrs *at, double *sc,
                          ax_tensor **out) {
  ce_bwd_scalars<T><<<1, CU_THREADS, 0, c->stream>>>(n, cl, CU_P(int64_t, p[1]), CU_PTR(T, p[4]), at->iv[0], sc);
  ce_bwd<T><<<cu_blocks(n * cl), CU_THREADS, 0, c->stream>>>(n, cl, CU_P(T, p[0]), CU_P(int64_t, p[1]), CU_PTR(T, p[4]),
                                                             at->iv[0], at->fv[0], (int)at->iv[1], CU_P(T, p[3]),
                                                             CU_P(T, p[2]), sc, CU_P(T, out[0]));
}

/* in: logits, target, dloss, lse [, weight] -> dlogits */
static ax_status ce_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 4 || nin > 5) return ax_err_set(err, AX_E_VALUE, "cross_entropy_backward: expects 4 or 5 inputs");
  ax_tensor *const fl[3] = {in[0], in[2], in[3]};
  ax_status s = cu_nn_float_inputs("cross_entropy_backward", fl, 3, err);
  if (s) return s;
  if (in[0]->ndim != 2 || in[1]->ndim != 1 || in[1]->shape[0] != in[0]->shape[0])
    return ax_err_set(err, AX_E_SHAPE, "cross_entropy backward: logits must be [n, c] and target [n]");
  int64_t n = in[0]->shape[0], cl = in[0]->shape[1];
  int red = (int)at->iv[1];
  if ((s = ce_args("cross_entropy backward", n, cl, at->fv[0], red, err)) ||
      (s = ce_targets(c, "cross_entropy backward", in[1], cl, at->iv[0], err)))
    return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[5];
  ax_tensor *const pin[5] = {in[0], NULL, in[2], in[3], nin > 4 ? in[4] : NULL};
  if ((s = cu_nn_packed(c, pin, 5, dt, p, err))) return s;
  if ((s = cu_nn_packed(c, in + 1, 1, AX_INT64, p + 1, err))) {
    cu_nn_release(p, 5);
    return s;
  }
  double *sc = (double *)cu_scratch(c, 2 * sizeof(double));
  if (!sc) s = ax_err_set(err, AX_E_NOMEM, "cross_entropy backward: out of device memory");
  if (!s && !(s = cu_new(in[0]->shape, 2, dt, &out[0], err))) {
    if (dt == AX_FLOAT32) ce_bwd_launch<float>(c, n, cl, p, at, sc, out);
    else ce_bwd_launch<double>(c, n, cl, p, at, sc, out);
    s = cu_check(err, "cross_entropy_backward");
  }
  if (sc) cu_scratch_free(c, sc, 2 * sizeof(double));
  cu_nn_release(p, 5);
  return s;
}

extern "C" ax_status cuda_cross_entropy(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(ce_body, in, nin, at, out, 2, err);
}

extern "C" ax_status cuda_cross_entropy_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(ce_bwd_body, in, nin, at, out, 1, err);
}
