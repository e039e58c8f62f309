/* runtime/cpu/index.c — gather, scatter (replace/add), index_select, cat and slice_scatter.
** Index tensors are int64/int32, read once into a contiguous int64 buffer and bounds-checked
** before anything is written. Negative indices are not wrapped (as PyTorch gather/scatter). */
#include <string.h>

#include "cpu.h"
#include "../ax_mem.h"

/* Header-only narrow/step view (no refcounts) for copies inside one kernel call. */
static ax_tensor hv_slice(const ax_tensor *x, int dim, int64_t start, int64_t len, int64_t step) {
  ax_tensor v = *x;
  v.offset += start * x->stride[dim];
  v.shape[dim] = len;
  v.stride[dim] = x->stride[dim] * step;
  return v;
}

static ax_status need_index(const char *op, const ax_tensor *idx, ax_err *err) {
  if (idx->dtype == AX_INT64 || idx->dtype == AX_INT32 || idx->dtype == AX_UINT8) return AX_OK;
  return ax_err_set(err, AX_E_DTYPE, "%s: index must be an int64 tensor, got %s", op, ax_dtype_name(idx->dtype));
}

static ax_status load_index(const char *op, const ax_tensor *idx, int64_t bound, int64_t **out,
                            int64_t *n, ax_err *err) {
  ax_status s = need_index(op, idx, err);
  if (s) return s;
  *n = ax_numel(idx);
  int64_t *v = ax_malloc(sizeof(int64_t) * (size_t)(*n ? *n : 1));
  if (!v) return ax_err_set(err, AX_E_NOMEM, "%s: out of memory for %lld indices", op, (long long)*n);
  ax_to_i64_buffer(idx, v, err);
  for (int64_t i = 0; i < *n; i++)
    if (v[i] < 0 || v[i] >= bound) {
      int64_t bad = v[i];
      ax_free(v, sizeof(int64_t) * (size_t)(*n ? *n : 1));
      return ax_err_set(err, AX_E_INDEX, "%s: index %lld is out of bounds for size %lld", op, (long long)bad,
                        (long long)bound);
    }
  *out = v;
  return AX_OK;
}

static void free_index(int64_t *v, int64_t n) { ax_free(v, sizeof(int64_t) * (size_t)(n ? n : 1)); }

static void copy_elem(char *dst, const char *src, size_t es) {
  switch (es) {
  case 1: *dst = *src; break;
  case 2: memcpy(dst, src, 2); break;
  case 4: memcpy(dst, src, 4); break;
  default: memcpy(dst, src, 8); break;
  }
}

/* Checks gather/scatter shapes: idx has x's rank and, off dim, no larger sizes than other. */
static ax_status check_gs(const char *op, const ax_tensor *x, const ax_tensor *idx, int d, ax_err *err) {
  char sa[160], sb[160];
  if (idx->ndim != x->ndim)
    return ax_err_set(err, AX_E_SHAPE, "%s: index %s must have the same number of dims as the input %s", op,
                      ax_shape_str(idx->shape, idx->ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
  for (int i = 0; i < x->ndim; i++)
    if (i != d && idx->shape[i] > x->shape[i])
      return ax_err_set(err, AX_E_SHAPE, "%s: index %s is larger than the input %s outside dim %d", op,
                        ax_shape_str(idx->shape, idx->ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb), d);
  return AX_OK;
}

/* Walk the positions of idx in row-major order; BODY sees pos[] and linear k. */
#define FOR_POSITIONS(shape, nd, total, ...)                       \
  do {                                                              \
    int64_t pos[AX_MAX_DIMS] = {0};                                  \
    for (int64_t k = 0; k < (total); k++) {                         \
      __VA_ARGS__;                                                  \
      for (int q = (nd) - 1; q >= 0; q--) {                          \
        if (++pos[q] < (shape)[q]) break;                            \
        pos[q] = 0;                                                 \
      }                                                             \
    }                                                               \
  } while (0)

ax_status cpu_gather(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0], *idx = in[1];
  int d;
  ax_status s = ax_norm_dim("gather", at->dim, x->ndim, &d, err);
  if (s || (s = check_gs("gather", x, idx, d, err))) return s;
  int64_t *iv, n;
  if ((s = load_index("gather", idx, x->ndim ? x->shape[d] : 1, &iv, &n, err))) return s;
  ax_tensor *o;
  if ((s = cpu_new(idx->shape, idx->ndim, x->dtype, &o, err))) { free_index(iv, n); return s; }
  size_t es = ax_dtype_size(x->dtype);
  const char *xb = cpu_base(x);
  char *ob = cpu_base(o);
  FOR_POSITIONS(idx->shape, idx->ndim, n, {
    int64_t off = 0;
    for (int q = 0; q < x->ndim; q++) off += (q == d ? iv[k] : pos[q]) * x->stride[q];
    copy_elem(ob + k * (int64_t)es, xb + off * (int64_t)es, es);
  });
  free_index(iv, n);
  *out = o;
  return AX_OK;
}

ax_status cpu_scatter(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0], *idx = in[1], *src = in[2];
  int d;
  char sa[160], sb[160];
  ax_status s = ax_norm_dim("scatter", at->dim, x->ndim, &d, err);
  if (s || (s = check_gs("scatter", x, idx, d, err))) return s;
  for (int i = 0; i < idx->ndim; i++)
    if (src->ndim != idx->ndim || idx->shape[i] > src->shape[i])
      return ax_err_set(err, AX_E_SHAPE, "scatter: index %s is larger than the source %s",
                        ax_shape_str(idx->shape, idx->ndim, sa, sizeof sa), ax_shape_str(src->shape, src->ndim, sb, sizeof sb));
  int64_t *iv, n;
  if ((s = load_index("scatter", idx, x->ndim ? x->shape[d] : 1, &iv, &n, err))) return s;
  ax_tensor *o = NULL, *sc = NULL;
  /* src converted to x's dtype so replacement is a byte copy; add accumulates in float64/int64 */
  if ((s = cpu_new(x->shape, x->ndim, x->dtype, &o, err)) ||
      (s = cpu_new(src->shape, src->ndim, x->dtype, &sc, err))) {
    ax_tensor_release(o);
    free_index(iv, n);
    return s;
  }
  cpu_copy_into(o, x, err);
  cpu_copy_into(sc, src, err);
  size_t es = ax_dtype_size(x->dtype);
  char *ob = cpu_base(o);
  const char *sbp = cpu_base(sc);
  int isf = ax_dtype_is_float(x->dtype);
  FOR_POSITIONS(idx->shape, idx->ndim, n, {
    int64_t off = 0, soff = 0;
    for (int q = 0; q < x->ndim; q++) {
      off += (q == d ? iv[k] : pos[q]) * o->stride[q];
      soff += pos[q] * sc->stride[q];
    }
    char *dp = ob + off * (int64_t)es;
    const char *sp = sbp + soff * (int64_t)es;
    if (!at->reduce) copy_elem(dp, sp, es);
    else if (isf) {
      double a, b;
      cpu_load_f64(&a, dp, 1, 1, x->dtype);
      cpu_load_f64(&b, sp, 1, 1, x->dtype);
      a += b;
      cpu_store_f64(dp, 1, &a, 1, x->dtype);
    } else {
      int64_t a, b;
      cpu_load_i64(&a, dp, 1, 1, x->dtype);
      cpu_load_i64(&b, sp, 1, 1, x->dtype);
      a += b;
      cpu_store_i64(dp, 1, &a, 1, x->dtype);
    }
  });
  free_index(iv, n);
  ax_tensor_release(sc);
  *out = o;
  return AX_OK;
}

ax_status cpu_index_select(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0], *idx = in[1];
  int d;
  char sa[160];
  ax_status s = ax_norm_dim("index_select", at->dim, x->ndim, &d, err);
  if (s) return s;
  if (idx->ndim > 1)
    return ax_err_set(err, AX_E_SHAPE, "index_select: index must be 1-d, got shape %s",
                      ax_shape_str(idx->shape, idx->ndim, sa, sizeof sa));
  if (x->ndim == 0) return ax_err_set(err, AX_E_SHAPE, "index_select: input must have at least 1 dim");
  int64_t *iv, n;
  if ((s = load_index("index_select", idx, x->shape[d], &iv, &n, err))) return s;
  int64_t shape[AX_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  shape[d] = n;
  ax_tensor *o;
  if ((s = cpu_new(shape, x->ndim, x->dtype, &o, err))) { free_index(iv, n); return s; }
  for (int64_t i = 0; i < n; i++) {
    ax_tensor ov = hv_slice(o, d, i, 1, 1), xv = hv_slice(x, d, iv[i], 1, 1);
    cpu_copy_into(&ov, &xv, err);
  }
  free_index(iv, n);
  *out = o;
  return AX_OK;
}

ax_status cpu_cat(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *ref = NULL;
  for (int i = 0; i < nin; i++)   /* legacy: 1-d empty tensors are skipped, as in PyTorch */
    if (!(in[i]->ndim == 1 && in[i]->shape[0] == 0)) { ref = in[i]; break; }
  if (!ref) ref = in[0];
  if (ref->ndim == 0) return ax_err_set(err, AX_E_SHAPE, "cat: zero-dimensional tensors cannot be concatenated");
  int d;
  ax_status s = ax_norm_dim("cat", at->dim, ref->ndim, &d, err);
  if (s) return s;
  int64_t shape[AX_MAX_DIMS];
  memcpy(shape, ref->shape, sizeof shape);
  shape[d] = 0;
  char sa[160], sb[160];
  for (int i = 0; i < nin; i++) {
    const ax_tensor *t = in[i];
    if (t->ndim == 1 && t->shape[0] == 0 && ref->ndim != 1) continue;
    int bad = t->ndim != ref->ndim;
    for (int q = 0; !bad && q < ref->ndim; q++) bad = q != d && t->shape[q] != ref->shape[q];
    if (bad)
      return ax_err_set(err, AX_E_SHAPE, "cat: shapes %s and %s differ outside dim %d",
                        ax_shape_str(ref->shape, ref->ndim, sa, sizeof sa), ax_shape_str(t->shape, t->ndim, sb, sizeof sb), d);
    shape[d] += t->shape[d];
  }
  ax_tensor *o;
  if ((s = cpu_new(shape, ref->ndim, ax_result_type(in, nin), &o, err))) return s;
  int64_t at_ = 0;
  for (int i = 0; i < nin; i++) {
    const ax_tensor *t = in[i];
    if (t->ndim != ref->ndim) continue;
    ax_tensor ov = hv_slice(o, d, at_, t->shape[d], 1);
    cpu_copy_into(&ov, t, err);
    at_ += t->shape[d];
  }
  *out = o;
  return AX_OK;
}

ax_status cpu_slice_scatter(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *base = in[0], *src = in[1];
  int d;
  char sa[160], sb[160];
  ax_status s = ax_norm_dim("slice_scatter", at->dim, base->ndim, &d, err);
  if (s) return s;
  if (base->ndim == 0) return ax_err_set(err, AX_E_SHAPE, "slice_scatter: input must have at least 1 dim");
  int64_t step = at->step > 0 ? at->step : 1, len = at->stop > at->start ? (at->stop - at->start + step - 1) / step : 0;
  if (at->start < 0 || at->stop > base->shape[d])
    return ax_err_set(err, AX_E_INDEX, "slice_scatter: range %lld:%lld out of bounds for size %lld",
                      (long long)at->start, (long long)at->stop, (long long)base->shape[d]);
  ax_tensor *o;
  if ((s = cpu_new(base->shape, base->ndim, base->dtype, &o, err))) return s;
  cpu_copy_into(o, base, err);
  ax_tensor ov = hv_slice(o, d, at->start, len, step);
  int same = src->ndim == ov.ndim;
  for (int q = 0; same && q < ov.ndim; q++) same = src->shape[q] == ov.shape[q];
  if (!same) {
    ax_tensor_release(o);
    return ax_err_set(err, AX_E_SHAPE, "slice_scatter: source %s does not match the slice %s",
                      ax_shape_str(src->shape, src->ndim, sa, sizeof sa), ax_shape_str(ov.shape, ov.ndim, sb, sizeof sb));
  }
  cpu_copy_into(&ov, src, err);
  *out = o;
  return AX_OK;
}
