/* runtime/cpu/reduce.c — reductions (sum mean var std max min argmax argmin norm prod) and
** scans along one dim (cumsum softmax log_softmax).
** Method: permute the reduced dims last, copy into a [rows, K] float64 (int64 for exact integer
** sum/prod/max/min/cumsum) buffer, reduce each row. Floats accumulate in float64. */
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "../ax_mem.h"

typedef struct {
  ax_tensor *buf;     /* [rows, K] contiguous, float64 or int64 */
  int64_t rows, K;
  int64_t oshape[AX_MAX_DIMS];   /* output shape (keepdim applied) */
  int ond;
} rowset;

/* A header-only view (no refcounts): used for permuted access inside one kernel call. */
static ax_tensor header_view(const ax_tensor *x, const int *perm, int nd) {
  ax_tensor v = *x;
  for (int i = 0; i < nd; i++) {
    v.shape[i] = x->shape[perm[i]];
    v.stride[i] = x->stride[perm[i]];
  }
  v.ndim = nd;
  return v;
}

/* mask[d] = 1 for reduced dims. */
static ax_status make_rows(const ax_tensor *x, const int *mask, int keepdim, ax_dtype bufdt,
                           rowset *r, ax_err *err) {
  int perm[AX_MAX_DIMS], np = 0, nd = x->ndim;
  r->rows = 1;
  r->K = 1;
  r->ond = 0;
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
  ax_status s = cpu_new(shp, 2, bufdt, &r->buf, err);
  if (s) return s;
  ax_tensor bv = *r->buf;   /* view the [rows, K] buffer with v's shape */
  bv.ndim = nd;
  int64_t acc = 1;
  for (int d = nd - 1; d >= 0; d--) {
    bv.shape[d] = v.shape[d];
    bv.stride[d] = acc;
    acc *= v.shape[d] ? v.shape[d] : 1;
  }
  return cpu_copy_into(&bv, &v, err);
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

typedef struct { ax_op op; const rowset *r; void *res; int64_t *idx; double p, corr; int isint; } red_ctx;

static double row_sum(const double *v, int64_t K) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = 0;
  for (; k + 4 <= K; k += 4) { s0 += v[k]; s1 += v[k + 1]; s2 += v[k + 2]; s3 += v[k + 3]; }
  for (; k < K; k++) s0 += v[k];
  return (s0 + s1) + (s2 + s3);
}

static void reduce_rows(void *vctx, int64_t b, int64_t e) {
  const red_ctx *c = vctx;
  int64_t K = c->r->K;
  for (int64_t i = b; i < e; i++) {
    if (c->isint) {
      const int64_t *v = (const int64_t *)c->r->buf->storage->data + i * K;
      int64_t *o = c->res, acc = 0, best = 0, bi = 0;
      switch (c->op) {
      case AX_OP_SUM: for (int64_t k = 0; k < K; k++) acc += v[k]; o[i] = acc; break;
      case AX_OP_PROD: acc = 1; for (int64_t k = 0; k < K; k++) acc *= v[k]; o[i] = acc; break;
      case AX_OP_MAX: case AX_OP_ARGMAX:
        best = v[0];
        for (int64_t k = 1; k < K; k++) if (v[k] > best) { best = v[k]; bi = k; }
        o[i] = c->op == AX_OP_MAX ? best : bi;
        if (c->idx) c->idx[i] = bi;
        break;
      case AX_OP_MIN: case AX_OP_ARGMIN:
        best = v[0];
        for (int64_t k = 1; k < K; k++) if (v[k] < best) { best = v[k]; bi = k; }
        o[i] = c->op == AX_OP_MIN ? best : bi;
        if (c->idx) c->idx[i] = bi;
        break;
      default: break;
      }
      continue;
    }
    const double *v = (const double *)c->r->buf->storage->data + i * K;
    double *o = c->res, acc = 0;
    int64_t bi = 0;
    switch (c->op) {
    case AX_OP_SUM: o[i] = row_sum(v, K); break;
    case AX_OP_MEAN: o[i] = row_sum(v, K) / (double)K; break;
    case AX_OP_VAR: case AX_OP_STD: {
      double m = row_sum(v, K) / (double)K;
      for (int64_t k = 0; k < K; k++) acc += (v[k] - m) * (v[k] - m);
      double den = (double)K - c->corr;
      double var = den > 0 ? acc / den : NAN;
      o[i] = c->op == AX_OP_STD ? sqrt(var) : var;
      break;
    }
    case AX_OP_PROD: acc = 1; for (int64_t k = 0; k < K; k++) acc *= v[k]; o[i] = acc; break;
    case AX_OP_NORM:
      if (isinf(c->p)) { for (int64_t k = 0; k < K; k++) acc = fabs(v[k]) > acc || v[k] != v[k] ? fabs(v[k]) : acc; }
      else if (c->p == 2) { for (int64_t k = 0; k < K; k++) acc += v[k] * v[k]; acc = sqrt(acc); }
      else if (c->p == 1) { for (int64_t k = 0; k < K; k++) acc += fabs(v[k]); }
      else { for (int64_t k = 0; k < K; k++) acc += pow(fabs(v[k]), c->p); acc = pow(acc, 1.0 / c->p); }
      o[i] = acc;
      break;
    case AX_OP_MAX: case AX_OP_ARGMAX: case AX_OP_MIN: case AX_OP_ARGMIN: {
      int ismax = c->op == AX_OP_MAX || c->op == AX_OP_ARGMAX;
      double best = v[0];
      for (int64_t k = 1; k < K && best == best; k++)   /* stop at the first NaN: it wins */
        if ((ismax ? v[k] > best : v[k] < best) || v[k] != v[k]) { best = v[k]; bi = k; }
      if (c->op == AX_OP_MAX || c->op == AX_OP_MIN) o[i] = best;
      else ((int64_t *)c->res)[i] = bi;
      if (c->idx) c->idx[i] = bi;
      break;
    }
    default: break;
    }
  }
}

ax_status cpu_reduce(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0];
  const char *name = ax_op_name(op);
  int mask[AX_MAX_DIMS];
  ax_attrs a1 = *at;
  int with_index = op == AX_OP_MAX || op == AX_OP_MIN || op == AX_OP_ARGMAX || op == AX_OP_ARGMIN;
  if (with_index) {   /* these take one optional dim */
    a1.ndims = at->has_dim ? 1 : 0;
    a1.dims[0] = at->dim;
  }
  ax_status s = reduce_mask(name, x, &a1, mask, err);
  if (s) return s;
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
  rowset r;
  if ((s = make_rows(x, mask, keepdim, isint ? AX_INT64 : AX_FLOAT64, &r, err))) return s;
  if (r.K == 0 && with_index) {
    ax_tensor_release(r.buf);
    return ax_err_set(err, AX_E_VALUE, "%s: cannot reduce over an empty dimension", name);
  }
  /* results in the buffer dtype, then converted into the output */
  ax_tensor *res = NULL, *o = NULL, *idx = NULL;
  int idx_out = (op == AX_OP_MAX || op == AX_OP_MIN) && at->has_dim;
  ax_dtype resdt = (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) ? AX_INT64 : (isint ? AX_INT64 : AX_FLOAT64);
  if ((s = cpu_new(r.oshape, r.ond, resdt, &res, err))) goto fail;
  if (idx_out && (s = cpu_new(r.oshape, r.ond, AX_INT64, &idx, err))) goto fail;
  red_ctx c = {op, &r, res->storage->data, idx ? idx->storage->data : NULL, at->a, at->a, isint};
  cpu_parallel_for(r.rows, r.K > 0 ? 1 + 65536 / (r.K + 1) : 1 << 20, reduce_rows, &c);
  if (dout == resdt) {
    o = res;
    res = NULL;
  } else {
    if ((s = cpu_new(r.oshape, r.ond, dout, &o, err))) goto fail;
    cpu_copy_into(o, res, err);
  }
  ax_tensor_release(res);
  ax_tensor_release(r.buf);
  out[0] = o;
  if (ax_op_table[op].nout > 1) out[1] = idx;
  return AX_OK;
fail:
  ax_tensor_release(res);
  ax_tensor_release(idx);
  ax_tensor_release(r.buf);
  return s;
}

/* ---------------- scans along one dim ---------------- */

typedef struct { ax_op op; void *data; int64_t K; int isint; } scan_ctx;

static void scan_rows(void *vctx, int64_t b, int64_t e) {
  const scan_ctx *c = vctx;
  int64_t K = c->K;
  for (int64_t i = b; i < e; i++) {
    if (c->isint) {
      int64_t *v = (int64_t *)c->data + i * K, acc = 0;
      for (int64_t k = 0; k < K; k++) { acc += v[k]; v[k] = acc; }
      continue;
    }
    double *v = (double *)c->data + i * K;
    if (c->op == AX_OP_CUMSUM) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) { acc += v[k]; v[k] = acc; }
      continue;
    }
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < K; k++) m = v[k] > m || v[k] != v[k] ? v[k] : m;
    if (isinf(m)) m = 0;   /* all -inf row: softmax gives NaN like PyTorch via 0/0 below */
    for (int64_t k = 0; k < K; k++) sum += exp(v[k] - m);
    if (c->op == AX_OP_SOFTMAX) {
      for (int64_t k = 0; k < K; k++) v[k] = exp(v[k] - m) / sum;
    } else {
      double ls = m + log(sum);
      for (int64_t k = 0; k < K; k++) v[k] -= ls;
    }
  }
}

ax_status cpu_scan(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0];
  int d, mask[AX_MAX_DIMS] = {0};
  ax_status s = ax_norm_dim(ax_op_name(op), at->dim, x->ndim, &d, err);
  if (s) return s;
  if (x->ndim) mask[d] = 1;
  int isint = !ax_dtype_is_float(x->dtype) && op == AX_OP_CUMSUM;
  ax_dtype dout = ax_dtype_is_float(x->dtype) ? x->dtype : (op == AX_OP_CUMSUM ? AX_INT64 : AX_DEFAULT_FLOAT);
  rowset r;
  if ((s = make_rows(x, mask, 1, isint ? AX_INT64 : AX_FLOAT64, &r, err))) return s;
  scan_ctx c = {op, r.buf->storage->data, r.K, isint};
  cpu_parallel_for(r.rows, 1 + 65536 / (r.K + 1), scan_rows, &c);
  ax_tensor *o;
  if ((s = cpu_new(x->shape, x->ndim, dout, &o, err))) {
    ax_tensor_release(r.buf);
    return s;
  }
  /* buffer is [rows, K] in the permuted order (kept dims, then d): write back through a view
  ** of o with the same permutation */
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
  cpu_copy_into(&ov, &bv, err);
  ax_tensor_release(r.buf);
  *out = o;
  return AX_OK;
}
