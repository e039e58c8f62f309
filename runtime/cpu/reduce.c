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

/* ---------------- fast paths (no [rows, K] copy) ----------------
** inner: the reduced dims coalesce into one strided run per row; each row is streamed through
**        a small float64 buffer (2 passes for var/std). Rows go to the pool; a single huge row
**        (full reductions) is cut into fixed 64K-element pieces whose partial sums are added
**        in order, so results do not depend on the thread count.
** outer: contiguous input whose reduced dims all come first (bias gradients, sum_to_shape):
**        out[j] = sum_i x[i, j], vectorised over j. */

typedef struct {
  ax_op op;
  const char *base;
  ax_dtype dt;
  size_t es;
  int nkept;
  int64_t kshape[AX_MAX_DIMS], kstride[AX_MAX_DIMS];
  int64_t K, rs;           /* reduced run: length and stride (elements) */
  double p, corr;
  double *res;             /* [rows] results, or partial sums for split rows */
  int64_t *ires;           /* [rows] indices (max/min/argmax/argmin) */
  double mean;             /* split rows, second pass of var */
} fast_ctx;

static double chunk_sum(const double *v, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < n; k++) s += v[k];
  return s;
}
static double chunk_sumsq(const double *v, int64_t n, double m) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < n; k++) s += (v[k] - m) * (v[k] - m);
  return s;
}

/* Contiguous float32 runs accumulate in float64 straight from memory (no buffer pass). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static double f32_sum(const float *v, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < n; k++) s += (double)v[k];
  return s;
}
__attribute__((target_clones("avx512f", "avx2", "default")))
static double f32_sumsq(const float *v, int64_t n, double m) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < n; k++) s += ((double)v[k] - m) * ((double)v[k] - m);
  return s;
}

/* Reduce elements [k0, k1) of the run starting at p; pass 2 of var/std uses mean m. */
static double run_reduce(const fast_ctx *c, const char *p, int64_t k0, int64_t k1, int pass, double m, int64_t *arg) {
  if (c->dt == AX_FLOAT32 && c->rs == 1) {
    const float *f = (const float *)p + k0;
    switch (c->op) {
    case AX_OP_SUM: case AX_OP_MEAN: return f32_sum(f, k1 - k0);
    case AX_OP_VAR: case AX_OP_STD: return pass == 1 ? f32_sum(f, k1 - k0) : f32_sumsq(f, k1 - k0, m);
    case AX_OP_NORM: if (c->p == 2) return f32_sumsq(f, k1 - k0, 0); break;
    default: break;
    }
  }
  double buf[CPU_BLOCK], acc = 0, best = 0;
  int64_t bi = 0;
  int first = 1;
  if (c->op == AX_OP_PROD) acc = 1;
  for (int64_t k = k0; k < k1; k += CPU_BLOCK) {
    int64_t n = k1 - k < CPU_BLOCK ? k1 - k : CPU_BLOCK;
    cpu_load_f64(buf, p + k * c->rs * (int64_t)c->es, c->rs, n, c->dt);
    switch (c->op) {
    case AX_OP_SUM: case AX_OP_MEAN: acc += chunk_sum(buf, n); break;
    case AX_OP_VAR: case AX_OP_STD: acc += pass == 1 ? chunk_sum(buf, n) : chunk_sumsq(buf, n, m); break;
    case AX_OP_PROD: for (int64_t q = 0; q < n; q++) acc *= buf[q]; break;
    case AX_OP_NORM:
      if (isinf(c->p)) { for (int64_t q = 0; q < n; q++) acc = fabs(buf[q]) > acc || buf[q] != buf[q] ? fabs(buf[q]) : acc; }
      else if (c->p == 2) acc += chunk_sumsq(buf, n, 0);
      else if (c->p == 1) { for (int64_t q = 0; q < n; q++) acc += fabs(buf[q]); }
      else { for (int64_t q = 0; q < n; q++) acc += pow(fabs(buf[q]), c->p); }
      break;
    default: {   /* max min argmax argmin: first NaN wins, ties keep the first index */
      int ismax = c->op == AX_OP_MAX || c->op == AX_OP_ARGMAX;
      for (int64_t q = 0; q < n; q++) {
        double v = buf[q];
        if (first) { best = v; bi = k + q; first = 0; continue; }
        if (best != best) break;
        if ((ismax ? v > best : v < best) || v != v) { best = v; bi = k + q; }
      }
      acc = best;
      break;
    }
    }
  }
  if (arg) *arg = bi;
  return acc;
}

static const char *row_ptr(const fast_ctx *c, int64_t i) {
  int64_t off = 0;
  for (int d = c->nkept - 1; d >= 0; d--) {
    int64_t q = i % c->kshape[d];
    i /= c->kshape[d];
    off += q * c->kstride[d];
  }
  return c->base + off * (int64_t)c->es;
}

static double finish_row(const fast_ctx *c, double acc, double sumsq) {
  double K = (double)c->K;
  switch (c->op) {
  case AX_OP_MEAN: return acc / K;
  case AX_OP_VAR: case AX_OP_STD: {
    double den = K - c->corr, var = den > 0 ? sumsq / den : NAN;
    return c->op == AX_OP_STD ? sqrt(var) : var;
  }
  case AX_OP_NORM:
    if (isinf(c->p) || c->p == 1) return acc;
    return c->p == 2 ? sqrt(acc) : pow(acc, 1.0 / c->p);
  default: return acc;
  }
}

static void fast_rows(void *vctx, int64_t b, int64_t e) {
  const fast_ctx *c = vctx;
  for (int64_t i = b; i < e; i++) {
    const char *p = row_ptr(c, i);
    int64_t arg = 0;
    double acc = run_reduce(c, p, 0, c->K, 1, 0, &arg), sq = 0;
    if (c->op == AX_OP_VAR || c->op == AX_OP_STD) sq = run_reduce(c, p, 0, c->K, 2, acc / (double)c->K, NULL);
    c->res[i] = finish_row(c, acc, sq);
    if (c->ires) c->ires[i] = arg;
  }
}

#define PIECE 65536
static void fast_pieces(void *vctx, int64_t b, int64_t e) {
  const fast_ctx *c = vctx;
  for (int64_t i = b; i < e; i++) {
    int64_t k0 = i * PIECE, k1 = k0 + PIECE < c->K ? k0 + PIECE : c->K;
    int pass = (c->op == AX_OP_VAR || c->op == AX_OP_STD) && c->mean == c->mean ? 2 : 1;
    c->res[i] = run_reduce(c, c->base, k0, k1, pass, c->mean, NULL);
  }
}

/* The reduced dims of x (mask) as one run (length, stride), or 0 when they do not coalesce. */
static int reduced_run(const ax_tensor *x, const int *mask, int64_t *K, int64_t *rs) {
  int64_t len = 1, st = 1;
  int have = 0;
  for (int d = x->ndim - 1; d >= 0; d--) {
    if (!mask[d] || x->shape[d] == 1) continue;
    if (!have) { len = x->shape[d]; st = x->stride[d]; have = 1; continue; }
    if (x->stride[d] != st * len) return 0;
    len *= x->shape[d];
  }
  *K = len;
  *rs = have ? st : 1;
  return 1;
}

typedef struct { const char *base; ax_dtype dt; size_t es; int64_t R, inner; double *res; } outer_ctx;

static void outer_cols(void *vctx, int64_t b, int64_t e) {
  const outer_ctx *c = vctx;
  for (int64_t j0 = b; j0 < e; j0 += CPU_BLOCK) {
    int64_t n = e - j0 < CPU_BLOCK ? e - j0 : CPU_BLOCK;
    double acc[CPU_BLOCK], row[CPU_BLOCK];
    for (int64_t q = 0; q < n; q++) acc[q] = 0;
    if (c->dt == AX_FLOAT32) {   /* the common case (bias gradients): widen in the loop, no call per row */
      for (int64_t i = 0; i < c->R; i++) {
        const float *src = (const float *)c->base + (i * c->inner + j0);
        for (int64_t q = 0; q < n; q++) acc[q] += (double)src[q];
      }
    } else {
      for (int64_t i = 0; i < c->R; i++) {
        cpu_load_f64(row, c->base + (i * c->inner + j0) * (int64_t)c->es, 1, n, c->dt);
        for (int64_t q = 0; q < n; q++) acc[q] += row[q];
      }
    }
    memcpy(c->res + j0, acc, sizeof(double) * (size_t)n);
  }
}

/* Returns 1 when handled (status in *st), 0 to fall back to the copying path. */
static int reduce_fast(ax_op op, const ax_tensor *x, const int *mask, int keepdim, const ax_attrs *at,
                       ax_dtype dout, int idx_out, ax_tensor **out, ax_status *st, ax_err *err) {
  if (x->dtype != AX_FLOAT32 && x->dtype != AX_FLOAT64) return 0;
  int64_t oshape[AX_MAX_DIMS], rows = 1;
  int ond = 0;
  fast_ctx c = {.op = op, .base = cpu_base(x), .dt = x->dtype, .es = ax_dtype_size(x->dtype), .p = at->a, .corr = at->a};
  for (int d = 0; d < x->ndim; d++) {
    if (!mask[d]) {
      oshape[ond++] = x->shape[d];
      c.kshape[c.nkept] = x->shape[d];
      c.kstride[c.nkept++] = x->stride[d];
      rows *= x->shape[d];
    } else if (keepdim) {
      oshape[ond++] = 1;
    }
  }
  if (!reduced_run(x, mask, &c.K, &c.rs)) return 0;
  if (c.K == 0 || rows == 0) return 0;   /* empty: the general path has the rules */
  int outer = 0;
  if ((op == AX_OP_SUM || op == AX_OP_MEAN) && ax_is_contiguous(x) && rows > 1) {
    int seen_kept = 0;
    outer = 1;
    for (int d = 0; d < x->ndim; d++) {
      if (x->shape[d] == 1) continue;
      if (!mask[d]) seen_kept = 1;
      else if (seen_kept) outer = 0;
    }
    outer = outer && c.rs != 1;
  }
  size_t rb = sizeof(double) * (size_t)rows;
  ax_tensor *res = NULL, *idx = NULL, *o = NULL;
  int64_t one = rows;
  if ((*st = cpu_new(&one, 1, AX_FLOAT64, &res, err))) return 1;
  if (idx_out || op == AX_OP_ARGMAX || op == AX_OP_ARGMIN)
    if ((*st = cpu_new(oshape, ond, AX_INT64, &idx, err))) { ax_tensor_release(res); return 1; }
  c.res = res->storage->data;
  c.ires = idx ? idx->storage->data : NULL;
  (void)rb;
  if (outer) {
    outer_ctx oc = {c.base, c.dt, c.es, c.K, rows, c.res};
    cpu_parallel_for(rows, 4096, outer_cols, &oc);
    if (op == AX_OP_MEAN) for (int64_t j = 0; j < rows; j++) c.res[j] /= (double)c.K;
  } else if (rows == 1 && c.K >= 4 * PIECE &&
             (op == AX_OP_SUM || op == AX_OP_MEAN || op == AX_OP_VAR || op == AX_OP_STD || (op == AX_OP_NORM && c.p == 2))) {
    int64_t np = (c.K + PIECE - 1) / PIECE;
    double *part = ax_malloc(sizeof(double) * (size_t)np);
    if (!part) {
      ax_tensor_release(res);
      *st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", ax_op_name(op));
      return 1;
    }
    double *keep = c.res;
    c.res = part;
    c.mean = NAN;
    cpu_parallel_for(np, 2, fast_pieces, &c);
    double acc = 0, sq = 0;
    for (int64_t i = 0; i < np; i++) acc += part[i];
    if (op == AX_OP_VAR || op == AX_OP_STD) {
      c.mean = acc / (double)c.K;
      cpu_parallel_for(np, 2, fast_pieces, &c);
      for (int64_t i = 0; i < np; i++) sq += part[i];
    }
    ax_free(part, sizeof(double) * (size_t)np);
    c.res = keep;
    c.res[0] = finish_row(&c, acc, sq);
  } else {
    cpu_parallel_for(rows, 1 + 32768 / c.K, fast_rows, &c);
  }
  if (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) {
    ax_tensor_release(res);
    out[0] = idx;
    if (ax_op_table[op].nout > 1) out[1] = NULL;
    *st = AX_OK;
    return 1;
  }
  if ((*st = cpu_new(oshape, ond, dout, &o, err))) {
    ax_tensor_release(res);
    ax_tensor_release(idx);
    return 1;
  }
  cpu_store_f64(o->storage->data, 1, c.res, rows, dout);
  ax_tensor_release(res);
  out[0] = o;
  if (ax_op_table[op].nout > 1) out[1] = idx;
  *st = AX_OK;
  return 1;
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
  int idx_out = (op == AX_OP_MAX || op == AX_OP_MIN) && at->has_dim;
  if (!isint && reduce_fast(op, x, mask, keepdim, at, dout, idx_out, out, &s, err)) return s;
  rowset r;
  if ((s = make_rows(x, mask, keepdim, isint ? AX_INT64 : AX_FLOAT64, &r, err))) return s;
  if (r.K == 0 && with_index) {
    ax_tensor_release(r.buf);
    return ax_err_set(err, AX_E_VALUE, "%s: cannot reduce over an empty dimension", name);
  }
  /* results in the buffer dtype, then converted into the output */
  ax_tensor *res = NULL, *o = NULL, *idx = NULL;
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

/* float32 softmax / log_softmax along a unit-stride dim: straight from x into the output,
** exp by the vectorised polynomial, the row sum in float64. */
typedef struct { const ax_tensor *x; float *o; int d; int64_t K; int logsm; } sm_ctx;

__attribute__((target_clones("avx512f", "avx2", "default")))
static void softmax_row_f32(const float *restrict x, float *restrict o, int64_t K, int logsm) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t k = 0; k < K; k++) m = x[k] > m ? x[k] : m;
  if (isinf(m)) m = 0;   /* all -inf: 0/0 = NaN below, as PyTorch */
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t k = 0; k < K; k++) {
    float e = cpu_vexpf(x[k] - m);
    o[k] = e;
    s += e;
  }
  if (logsm) {
    float ls = m + (float)log(s);
    for (int64_t k = 0; k < K; k++) o[k] = x[k] - ls;
  } else {
    float inv = (float)(1.0 / s);
    for (int64_t k = 0; k < K; k++) o[k] *= inv;
  }
}

static void softmax_rows(void *vctx, int64_t b, int64_t e) {
  const sm_ctx *c = vctx;
  const ax_tensor *x = c->x;
  for (int64_t i = b; i < e; i++) {
    int64_t off = 0, r = i;
    for (int q = x->ndim - 1; q >= 0; q--) {
      if (q == c->d) continue;
      off += (r % x->shape[q]) * x->stride[q];
      r /= x->shape[q];
    }
    softmax_row_f32((const float *)cpu_base(x) + off, c->o + i * c->K, c->K, c->logsm);
  }
}

ax_status cpu_scan(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0];
  int d, mask[AX_MAX_DIMS] = {0};
  ax_status s = ax_norm_dim(ax_op_name(op), at->dim, x->ndim, &d, err);
  if (s) return s;
  if (op != AX_OP_CUMSUM && x->dtype == AX_FLOAT32 && x->ndim > 0 && d == x->ndim - 1 &&
      (x->stride[d] == 1 || x->shape[d] == 1) && ax_numel(x) > 0) {
    ax_tensor *o;
    if ((s = cpu_new(x->shape, x->ndim, AX_FLOAT32, &o, err))) return s;
    sm_ctx c = {x, o->storage->data, d, x->shape[d], op == AX_OP_LOG_SOFTMAX};
    cpu_parallel_for(ax_numel(x) / c.K, 1 + 32768 / c.K, softmax_rows, &c);
    *out = o;
    return AX_OK;
  }
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
