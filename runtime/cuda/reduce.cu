/* runtime/cuda/reduce.cu — reductions (sum mean var std max min argmax argmin norm prod) over
** any dims and the scans along one dim (cumsum, softmax, log_softmax), as cpu/reduce.c: the
** reduced dims are permuted last and packed into a [rows, K] float64 (int64 for exact integer
** sum/prod/max/min/cumsum) buffer on the device, then one thread block reduces each row.
** Invariant: float results accumulate in float64; max/min propagate NaN and take the first index. */
#include <math.h>
#include <string.h>

#include "cuda.cuh"

static ax_tensor header_view(const ax_tensor *x, const int *perm, int nd) {
  ax_tensor v = *x;
  for (int i = 0; i < nd; i++) {
    v.shape[i] = x->shape[perm[i]];
    v.stride[i] = x->stride[perm[i]];
  }
  v.ndim = nd;
  return v;
}

typedef struct {
  ax_tensor *buf;                   /* [rows, K] on the device */
  int64_t rows, K;
  int64_t oshape[AX_MAX_DIMS];
  int ond;
} rowset;

static ax_status make_rows(ax_cuda_ctx *c, const ax_tensor *x, const int *mask, int keepdim, ax_dtype bufdt, rowset *r,
                           ax_err *err) {
  int perm[AX_MAX_DIMS], np = 0, nd = x->ndim;
  r->rows = 1;
  r->K = 1;
  r->ond = 0;
  r->buf = NULL;
  for (int d = 0; d < nd; d++)
    if (!mask[d]) { perm[np++] = d; r->rows *= x->shape[d]; }
  for (int d = 0; d < nd; d++)
    if (mask[d]) { perm[np++] = d; r->K *= x->shape[d]; }
  for (int d = 0; d < nd; d++) {
    if (!mask[d]) r->oshape[r->ond++] = x->shape[d];
    else if (keepdim) r->oshape[r->ond++] = 1;
  }
  ax_tensor v = header_view(x, perm, nd);
  int64_t shp[2] = {r->rows, r->K};
  ax_status s = cu_new(shp, 2, bufdt, &r->buf, err);
  if (s) return s;
  ax_tensor bv = *r->buf;   /* the [rows, K] buffer seen with v's shape */
  bv.ndim = nd;
  int64_t acc = 1;
  for (int d = nd - 1; d >= 0; d--) {
    bv.shape[d] = v.shape[d];
    bv.stride[d] = acc;
    acc *= v.shape[d] ? v.shape[d] : 1;
  }
  if ((s = cu_copy_into(c, &bv, &v, err))) {
    ax_tensor_release(r->buf);
    r->buf = NULL;
  }
  return s;
}

static ax_status reduce_mask(const char *op, const ax_tensor *x, const ax_attrs *at, int *mask, ax_err *err) {
  memset(mask, 0, sizeof(int) * AX_MAX_DIMS);
  if (at->ndims == 0) {
    for (int d = 0; d < x->ndim; d++) mask[d] = 1;
    return AX_OK;
  }
  for (int i = 0; i < at->ndims; i++) {
    int d;
    ax_status s = ax_norm_dim(op, at->dims[i], x->ndim, &d, err);
    if (s) return s;
    if (x->ndim == 0) continue;
    if (mask[d]) return ax_err_set(err, AX_E_VALUE, "%s: dim %d appears twice in the reduction dims", op, d);
    mask[d] = 1;
  }
  return AX_OK;
}

/* ---------------- block reductions ---------------- */

__device__ double block_sum(double v, double *sh) {
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

template <typename T> __device__ T block_prod(T v, T *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) sh[threadIdx.x] *= sh[threadIdx.x + w];
    __syncthreads();
  }
  T r = sh[0];
  __syncthreads();
  return r;
}

/* (value, index) candidates: NaN wins, then the larger (max) / smaller (min), then the lower index */
template <typename T> __device__ __forceinline__ bool better(T v, int64_t i, T bv, int64_t bi, bool is_max) {
  bool vn = v != v, bn = bv != bv;
  if (vn || bn) return vn && (!bn || i < bi);
  if (v == bv) return i < bi;
  return is_max ? v > bv : v < bv;
}

template <typename T> __device__ void block_arg(T &v, int64_t &i, bool is_max, T *shv, int64_t *shi) {
  shv[threadIdx.x] = v;
  shi[threadIdx.x] = i;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w && better(shv[threadIdx.x + w], shi[threadIdx.x + w], shv[threadIdx.x], shi[threadIdx.x], is_max)) {
      shv[threadIdx.x] = shv[threadIdx.x + w];
      shi[threadIdx.x] = shi[threadIdx.x + w];
    }
    __syncthreads();
  }
  v = shv[0];
  i = shi[0];
  __syncthreads();
}

/* One block per row (grid-stride over rows); blockDim.x == CU_THREADS (a power of two). */
__global__ void reduce_rows_f64(const double *buf, int64_t rows, int64_t K, int op, double p, double corr, double *res,
                                int64_t *ires) {
  __shared__ double sh[CU_THREADS];
  __shared__ int64_t shi[CU_THREADS];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const double *v = buf + r * K;
    double acc = 0;
    switch (op) {
    case AX_OP_SUM: case AX_OP_MEAN: case AX_OP_VAR: case AX_OP_STD: {
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc += v[k];
      double sum = block_sum(acc, sh);
      if (op == AX_OP_SUM || op == AX_OP_MEAN) {
        if (threadIdx.x == 0) res[r] = op == AX_OP_SUM ? sum : sum / (double)K;
        break;
      }
      double m = sum / (double)K, sq = 0;
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) sq += (v[k] - m) * (v[k] - m);
      sq = block_sum(sq, sh);
      double den = (double)K - corr, var = den > 0 ? sq / den : NAN;
      if (threadIdx.x == 0) res[r] = op == AX_OP_STD ? sqrt(var) : var;
      break;
    }
    case AX_OP_PROD: {
      acc = 1;
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc *= v[k];
      acc = block_prod(acc, sh);
      if (threadIdx.x == 0) res[r] = acc;
      break;
    }
    case AX_OP_NORM: {
      if (isinf(p)) {   /* max |v|, NaN propagates */
        for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc = fabs(v[k]) > acc || v[k] != v[k] ? fabs(v[k]) : acc;
        int64_t i = 0;
        block_arg(acc, i, true, sh, shi);
        if (threadIdx.x == 0) res[r] = acc;
      } else {
        for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
          acc += p == 2 ? v[k] * v[k] : (p == 1 ? fabs(v[k]) : pow(fabs(v[k]), p));
        acc = block_sum(acc, sh);
        if (threadIdx.x == 0) res[r] = p == 2 ? sqrt(acc) : (p == 1 ? acc : pow(acc, 1.0 / p));
      }
      break;
    }
    default: {   /* max min argmax argmin */
      bool is_max = op == AX_OP_MAX || op == AX_OP_ARGMAX;
      double bv = K > 0 ? v[0] : 0;
      int64_t bi = 0;
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
        if (better(v[k], k, bv, bi, is_max) || k == 0) { bv = v[k]; bi = k; }
      if ((int64_t)threadIdx.x >= K) bi = INT64_MAX;   /* idle threads never win a tie */
      block_arg(bv, bi, is_max, sh, shi);
      if (threadIdx.x == 0) {
        if (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) ires[r] = bi;
        else {
          res[r] = bv;
          if (ires) ires[r] = bi;
        }
      }
      break;
    }
    }
  }
}

__global__ void reduce_rows_i64(const int64_t *buf, int64_t rows, int64_t K, int op, int64_t *res, int64_t *ires) {
  __shared__ int64_t sh[CU_THREADS];
  __shared__ int64_t shi[CU_THREADS];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t *v = buf + r * K;
    if (op == AX_OP_SUM) {
      uint64_t acc = 0;
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc += (uint64_t)v[k];
      sh[threadIdx.x] = (int64_t)acc;
      __syncthreads();
      for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] = (int64_t)((uint64_t)sh[threadIdx.x] + (uint64_t)sh[threadIdx.x + w]);
        __syncthreads();
      }
      if (threadIdx.x == 0) res[r] = sh[0];
      __syncthreads();
    } else if (op == AX_OP_PROD) {
      uint64_t acc = 1;
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc *= (uint64_t)v[k];
      uint64_t pr = (uint64_t)block_prod((int64_t)acc, sh);
      if (threadIdx.x == 0) res[r] = (int64_t)pr;
    } else {
      bool is_max = op == AX_OP_MAX || op == AX_OP_ARGMAX;
      int64_t bv = K > 0 ? v[0] : 0, bi = 0;
      for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
        if (better(v[k], k, bv, bi, is_max) || k == 0) { bv = v[k]; bi = k; }
      if ((int64_t)threadIdx.x >= K) bi = INT64_MAX;
      block_arg(bv, bi, is_max, sh, shi);
      if (threadIdx.x == 0) {
        if (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) res[r] = bi;
        else {
          res[r] = bv;
          if (ires) ires[r] = bi;
        }
      }
    }
  }
}

static unsigned row_blocks(int64_t rows) { return (unsigned)(rows < 65535 * 16 ? (rows < 1 ? 1 : rows) : 65535 * 16); }

extern "C" ax_status cuda_reduce(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *x = in[0];
  const char *name = ax_op_name(op);
  int mask[AX_MAX_DIMS];
  ax_attrs a1 = *at;
  int with_index = op == AX_OP_MAX || op == AX_OP_MIN || op == AX_OP_ARGMAX || op == AX_OP_ARGMIN;
  if (with_index) {
    a1.ndims = at->has_dim ? 1 : 0;
    a1.dims[0] = at->dim;
  }
  if ((s = reduce_mask(name, x, &a1, mask, err))) return s;
  int keepdim = with_index && !at->has_dim ? 0 : at->keepdim;
  ax_dtype dt = x->dtype, dout;
  int isint = !ax_dtype_is_float(dt);
  int float_result = op == AX_OP_MEAN || op == AX_OP_VAR || op == AX_OP_STD || op == AX_OP_NORM;
  if (float_result) {
    dout = isint ? AX_DEFAULT_FLOAT : dt;
    isint = 0;
  } else if (op == AX_OP_SUM || op == AX_OP_PROD) {
    dout = isint ? AX_INT64 : dt;
  } else if (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) {
    dout = AX_INT64;
  } else {
    dout = dt;
  }
  int idx_out = (op == AX_OP_MAX || op == AX_OP_MIN) && at->has_dim;
  rowset r;
  if ((s = make_rows(c, x, mask, keepdim, isint ? AX_INT64 : AX_FLOAT64, &r, err))) return s;
  if (r.K == 0 && with_index) {
    ax_tensor_release(r.buf);
    return ax_err_set(err, AX_E_VALUE, "%s: cannot reduce over an empty dimension", name);
  }
  ax_tensor *res = NULL, *o = NULL, *idx = NULL;
  ax_dtype resdt = (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) ? AX_INT64 : (isint ? AX_INT64 : AX_FLOAT64);
  if ((s = cu_new(r.oshape, r.ond, resdt, &res, err))) goto fail;
  if (idx_out && (s = cu_new(r.oshape, r.ond, AX_INT64, &idx, err))) goto fail;
  if (r.rows > 0) {
    int64_t *ip = idx ? (int64_t *)idx->storage->data : NULL;
    if (isint)
      reduce_rows_i64<<<row_blocks(r.rows), CU_THREADS, 0, c->stream>>>((const int64_t *)r.buf->storage->data, r.rows, r.K, (int)op,
                                                                        (int64_t *)res->storage->data, ip);
    else if (resdt == AX_INT64)
      reduce_rows_f64<<<row_blocks(r.rows), CU_THREADS, 0, c->stream>>>((const double *)r.buf->storage->data, r.rows, r.K, (int)op,
                                                                        at->a, at->a, NULL, (int64_t *)res->storage->data);
    else
      reduce_rows_f64<<<row_blocks(r.rows), CU_THREADS, 0, c->stream>>>((const double *)r.buf->storage->data, r.rows, r.K, (int)op,
                                                                        at->a, at->a, (double *)res->storage->data, ip);
    if ((s = cu_check(err, name))) goto fail;
  }
  if (dout == resdt) {
    o = res;
    res = NULL;
  } else {
    if ((s = cu_new(r.oshape, r.ond, dout, &o, err))) goto fail;
    if ((s = cu_copy_into(c, o, res, err))) goto fail;
  }
  ax_tensor_release(res);
  ax_tensor_release(r.buf);
  out[0] = o;
  if (cu_op_info(op)->nout > 1) out[1] = idx;
  return AX_OK;
fail:
  ax_tensor_release(o);
  ax_tensor_release(res);
  ax_tensor_release(idx);
  ax_tensor_release(r.buf);
  return s;
}

/* ---------------- scans along one dim ---------------- */

__global__ void softmax_rows(double *buf, int64_t rows, int64_t K, int log_) {
  __shared__ double sh[CU_THREADS];
  __shared__ int64_t shi[CU_THREADS];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    double *v = buf + r * K;
    double m = -INFINITY;
    int64_t mi = 0;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) m = v[k] > m || v[k] != v[k] ? v[k] : m;
    block_arg(m, mi, true, sh, shi);
    double acc = 0;
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc += exp(v[k] - m);
    double sum = block_sum(acc, sh);
    double ls = log(sum);
    for (int64_t k = threadIdx.x; k < K; k += blockDim.x) v[k] = log_ ? v[k] - m - ls : exp(v[k] - m) / sum;
  }
}

template <typename T> __global__ void cumsum_rows(T *buf, int64_t rows, int64_t K) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows; r += (int64_t)gridDim.x * blockDim.x) {
    T *v = buf + r * K, acc = 0;
    for (int64_t k = 0; k < K; k++) {
      acc += v[k];
      v[k] = acc;
    }
  }
}

extern "C" ax_status cuda_scan(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *x = in[0];
  int d, mask[AX_MAX_DIMS] = {0};
  if ((s = ax_norm_dim(ax_op_name(op), at->dim, x->ndim, &d, err))) return s;
  if (x->ndim) mask[d] = 1;
  int isint = !ax_dtype_is_float(x->dtype) && op == AX_OP_CUMSUM;
  ax_dtype dout = ax_dtype_is_float(x->dtype) ? x->dtype : (op == AX_OP_CUMSUM ? AX_INT64 : AX_DEFAULT_FLOAT);
  rowset r;
  if ((s = make_rows(c, x, mask, 1, isint ? AX_INT64 : AX_FLOAT64, &r, err))) return s;
  if (r.rows > 0 && r.K > 0) {
    if (op != AX_OP_CUMSUM)
      softmax_rows<<<row_blocks(r.rows), CU_THREADS, 0, c->stream>>>((double *)r.buf->storage->data, r.rows, r.K,
                                                                     op == AX_OP_LOG_SOFTMAX);
    else if (isint)
      cumsum_rows<int64_t><<<cu_blocks(r.rows), CU_THREADS, 0, c->stream>>>((int64_t *)r.buf->storage->data, r.rows, r.K);
    else
      cumsum_rows<double><<<cu_blocks(r.rows), CU_THREADS, 0, c->stream>>>((double *)r.buf->storage->data, r.rows, r.K);
    if ((s = cu_check(err, ax_op_name(op)))) {
      ax_tensor_release(r.buf);
      return s;
    }
  }
  ax_tensor *o;
  if ((s = cu_new(x->shape, x->ndim, dout, &o, err))) {
    ax_tensor_release(r.buf);
    return s;
  }
  /* the buffer is [rows, K] in the permuted order (kept dims, then d): write back through a
  ** view of o with the same permutation */
  int perm[AX_MAX_DIMS], np = 0;
  for (int i = 0; i < x->ndim; i++) if (i != d) perm[np++] = i;
  if (x->ndim) perm[np++] = d;
  ax_tensor ov = header_view(o, perm, x->ndim), bv = *r.buf;
  bv.ndim = x->ndim;
  int64_t acc = 1;
  for (int i = x->ndim - 1; i >= 0; i--) {
    bv.shape[i] = ov.shape[i];
    bv.stride[i] = acc;
    acc *= ov.shape[i] ? ov.shape[i] : 1;
  }
  s = cu_copy_into(c, &ov, &bv, err);
  ax_tensor_release(r.buf);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}
