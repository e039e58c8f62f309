/* runtime/cuda/norm.cu — layer_norm forward and backward rows on the device (the CPU's are
** runtime/neural/norm.inc via ax_nn.c): x [m, d] normalised over its last iv[0] dims with eps
** fv[0]; forward saves mean and rstd [m] for the backward row. Statistics accumulate in float64.
** Invariant: same shapes, dtypes (float32/float64) and error texts as ax_nn_k_layer_norm[_bwd]. */
#include "cuda.cuh"

static ax_status float_inputs(const char *op, ax_tensor *const *in, int nin, ax_err *err) {
  ax_dtype dt = in[0]->dtype;
  if (dt != AX_FLOAT32 && dt != AX_FLOAT64)
    return ax_err_set(err, AX_E_DTYPE, "%s: input must be float32 or float64, got %s", op, ax_dtype_name(dt));
  for (int i = 1; i < nin; i++)
    if (in[i]->dtype != dt && (in[i]->dtype == AX_FLOAT32 || in[i]->dtype == AX_FLOAT64))
      return ax_err_set(err, AX_E_DTYPE, "%s: input is %s but argument %d is %s", op, ax_dtype_name(dt), i + 1,
                        ax_dtype_name(in[i]->dtype));
  return AX_OK;
}

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

/* Contiguous copies of the inputs in dtype dt (the inputs themselves when they already are). */
static ax_status packed(ax_cuda_ctx *c, ax_tensor *const *in, int n, ax_dtype dt, ax_tensor **p, ax_err *err) {
  for (int i = 0; i < n; i++) p[i] = NULL;
  for (int i = 0; i < n; i++) {
    ax_status s = AX_OK;
    if (in[i]->dtype == dt && ax_is_contiguous(in[i])) {
      p[i] = ax_tensor_retain(in[i]);
    } else if (!(s = cu_new(in[i]->shape, in[i]->ndim, dt, &p[i], err))) {
      s = cu_copy_into(c, p[i], in[i], err);
    }
    if (s) {
      for (int k = 0; k <= i; k++) ax_tensor_release(p[k]);
      return s;
    }
  }
  return AX_OK;
}

__device__ double ln_block_sum(double v, double *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();
  return r;
}

/* one block per row */
template <typename T>
__global__ void ln_fwd(int64_t m, int64_t d, const T *x, const T *g, const T *b, double eps, T *y, T *mean, T *rstd) {
  __shared__ double sh[CU_THREADS];
  for (int64_t r = blockIdx.x; r < m; r += gridDim.x) {
    const T *xr = x + r * d;
    double s = 0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += (double)xr[i];
    double mu = ln_block_sum(s, sh) / (double)d, q = 0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) q += ((double)xr[i] - mu) * ((double)xr[i] - mu);
    double rs = 1.0 / sqrt(ln_block_sum(q, sh) / (double)d + eps);
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
    sg = ln_block_sum(sg, sh) / (double)d;
    sgx = ln_block_sum(sgx, sh) / (double)d;
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

static unsigned rows_grid(int64_t m) { return (unsigned)(m < 65535 * 16 ? (m < 1 ? 1 : m) : 65535 * 16); }
#define P(T, t) ((T *)(t)->storage->data + (t)->offset)

static ax_status cuda_layer_norm_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s || (s = float_inputs("layer_norm", in, nin, err))) return s;
  int64_t m, d;
  if ((s = ln_sizes(in[0], in[1], (int)at->iv[0], &m, &d, err))) return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[3];
  if ((s = packed(c, in, 3, dt, p, err))) return s;
  int64_t ms[1] = {m};
  if (!(s = cu_new(in[0]->shape, in[0]->ndim, dt, &out[0], err)) && !(s = cu_new(ms, 1, dt, &out[1], err)) &&
      !(s = cu_new(ms, 1, dt, &out[2], err)) && m > 0) {
    if (dt == AX_FLOAT32)
      ln_fwd<float><<<rows_grid(m), CU_THREADS, 0, c->stream>>>(m, d, P(float, p[0]), P(float, p[1]), P(float, p[2]), at->fv[0],
                                                                P(float, out[0]), P(float, out[1]), P(float, out[2]));
    else
      ln_fwd<double><<<rows_grid(m), CU_THREADS, 0, c->stream>>>(m, d, P(double, p[0]), P(double, p[1]), P(double, p[2]), at->fv[0],
                                                                 P(double, out[0]), P(double, out[1]), P(double, out[2]));
    s = cu_check(err, "layer_norm");
  }
  for (int i = 0; i < 3; i++) ax_tensor_release(p[i]);
  if (s)
    for (int i = 0; i < 3; i++) {
      ax_tensor_release(out[i]);
      out[i] = NULL;
    }
  return s;
}

/* in: x, dy, w, mean, rstd -> dx, dw, db */
static ax_status cuda_layer_norm_bwd_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s || (s = float_inputs("layer_norm_backward", in, nin, err))) return s;
  int64_t m, d;
  if ((s = ln_sizes(in[0], in[2], (int)at->iv[0], &m, &d, err))) return s;
  ax_dtype dt = in[0]->dtype;
  ax_tensor *p[5];
  if ((s = packed(c, in, 5, dt, p, err))) return s;
  if (!(s = cu_new(in[0]->shape, in[0]->ndim, dt, &out[0], err)) && !(s = cu_new(in[2]->shape, in[2]->ndim, dt, &out[1], err)) &&
      !(s = cu_new(in[2]->shape, in[2]->ndim, dt, &out[2], err)) && d > 0) {
    if (dt == AX_FLOAT32) {
      if (m > 0)
        ln_bwd_dx<float><<<rows_grid(m), CU_THREADS, 0, c->stream>>>(m, d, P(float, p[0]), P(float, p[1]), P(float, p[2]),
                                                                     P(float, p[3]), P(float, p[4]), P(float, out[0]));
      ln_bwd_dw<float><<<cu_blocks(d), CU_THREADS, 0, c->stream>>>(m, d, P(float, p[0]), P(float, p[1]), P(float, p[3]),
                                                                   P(float, p[4]), P(float, out[1]), P(float, out[2]));
    } else {
      if (m > 0)
        ln_bwd_dx<double><<<rows_grid(m), CU_THREADS, 0, c->stream>>>(m, d, P(double, p[0]), P(double, p[1]), P(double, p[2]),
                                                                      P(double, p[3]), P(double, p[4]), P(double, out[0]));
      ln_bwd_dw<double><<<cu_blocks(d), CU_THREADS, 0, c->stream>>>(m, d, P(double, p[0]), P(double, p[1]), P(double, p[3]),
                                                                    P(double, p[4]), P(double, out[1]), P(double, out[2]));
    }
    s = cu_check(err, "layer_norm_backward");
  }
  for (int i = 0; i < 5; i++) ax_tensor_release(p[i]);
  if (s)
    for (int i = 0; i < 3; i++) {
      ax_tensor_release(out[i]);
      out[i] = NULL;
    }
  return s;
}

extern "C" ax_status cuda_layer_norm(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[3];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_layer_norm_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}

extern "C" ax_status cuda_layer_norm_bwd(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[5];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_layer_norm_bwd_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}
