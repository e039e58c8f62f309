/* runtime/ax_api.c — typed convenience functions over ax_op_call, and composite ops built from
** op rows (select, narrow, squeeze, unsqueeze, flatten, transpose, stack, split, chunk, 1-d
** matmul). Composites record autograd through the rows they call. */
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"

static ax_status call1(ax_op op, ax_tensor *x, const ax_attrs *a, ax_tensor **out, ax_err *err) {
  return ax_op_call(op, &x, 1, a, out, err);
}
static ax_status call2(ax_op op, ax_tensor *x, ax_tensor *y, const ax_attrs *a, ax_tensor **out, ax_err *err) {
  ax_tensor *in[2] = {x, y};
  return ax_op_call(op, in, 2, a, out, err);
}

#define DEF_UNARY(f, E) \
  ax_status ax_##f(ax_tensor *x, ax_tensor **out, ax_err *err) { return call1(AX_OP_##E, x, NULL, out, err); }
#define DEF_BINARY(f, E) \
  ax_status ax_##f(ax_tensor *a, ax_tensor *b, ax_tensor **out, ax_err *err) { return call2(AX_OP_##E, a, b, NULL, out, err); }
DEF_UNARY(neg, NEG) DEF_UNARY(abs, ABS) DEF_UNARY(exp, EXP) DEF_UNARY(log, LOG) DEF_UNARY(sqrt, SQRT)
DEF_UNARY(rsqrt, RSQRT) DEF_UNARY(sin, SIN) DEF_UNARY(cos, COS) DEF_UNARY(tanh, TANH)
DEF_UNARY(sigmoid, SIGMOID) DEF_UNARY(relu, RELU) DEF_UNARY(gelu, GELU) DEF_UNARY(silu, SILU)
DEF_UNARY(erf, ERF) DEF_UNARY(floor, FLOOR) DEF_UNARY(ceil, CEIL) DEF_UNARY(round, ROUND)
DEF_UNARY(sign, SIGN) DEF_UNARY(logical_not, LOGICAL_NOT)
DEF_BINARY(add, ADD) DEF_BINARY(sub, SUB) DEF_BINARY(mul, MUL) DEF_BINARY(div, DIV) DEF_BINARY(pow, POW)
DEF_BINARY(maximum, MAXIMUM) DEF_BINARY(minimum, MINIMUM) DEF_BINARY(eq, EQ) DEF_BINARY(ne, NE)
DEF_BINARY(lt, LT) DEF_BINARY(le, LE) DEF_BINARY(gt, GT) DEF_BINARY(ge, GE)
DEF_BINARY(logical_and, LOGICAL_AND) DEF_BINARY(logical_or, LOGICAL_OR)

ax_status ax_clamp(ax_tensor *x, double lo, int has_lo, double hi, int has_hi, ax_tensor **out, ax_err *err) {
  if (!has_lo && !has_hi) return ax_err_set(err, AX_E_VALUE, "clamp: at least one of min and max must be given");
  ax_attrs a = {.a = lo, .has_a = has_lo, .b = hi, .has_b = has_hi};
  return call1(AX_OP_CLAMP, x, &a, out, err);
}

ax_status ax_where(ax_tensor *cond, ax_tensor *a, ax_tensor *b, ax_tensor **out, ax_err *err) {
  ax_tensor *in[3] = {cond, a, b};
  return ax_op_call(AX_OP_WHERE, in, 3, NULL, out, err);
}

ax_status ax_masked_fill(ax_tensor *x, ax_tensor *mask, double value, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.a = value};
  return call2(AX_OP_MASKED_FILL, x, mask, &a, out, err);
}

/* ---- reductions ---- */

static ax_status reduce(ax_op op, ax_tensor *x, const int64_t *dims, int ndims, int keepdim, double p,
                        ax_tensor **out, ax_err *err) {
  if (ndims < 0 || ndims > AX_MAX_DIMS) return ax_err_set(err, AX_E_VALUE, "%s: bad number of dims %d", ax_op_name(op), ndims);
  ax_attrs a = {.ndims = ndims, .keepdim = keepdim, .a = p};
  if (ndims) memcpy(a.dims, dims, sizeof(int64_t) * (size_t)ndims);
  return call1(op, x, &a, out, err);
}

ax_status ax_sum(ax_tensor *x, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err) {
  return reduce(AX_OP_SUM, x, dims, ndims, keepdim, 0, out, err);
}
ax_status ax_mean(ax_tensor *x, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err) {
  return reduce(AX_OP_MEAN, x, dims, ndims, keepdim, 0, out, err);
}
ax_status ax_var(ax_tensor *x, const int64_t *dims, int ndims, double correction, int keepdim, ax_tensor **out, ax_err *err) {
  return reduce(AX_OP_VAR, x, dims, ndims, keepdim, correction, out, err);
}
ax_status ax_std(ax_tensor *x, const int64_t *dims, int ndims, double correction, int keepdim, ax_tensor **out, ax_err *err) {
  return reduce(AX_OP_STD, x, dims, ndims, keepdim, correction, out, err);
}
ax_status ax_prod(ax_tensor *x, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err) {
  return reduce(AX_OP_PROD, x, dims, ndims, keepdim, 0, out, err);
}
ax_status ax_norm(ax_tensor *x, double p, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err) {
  if (!(p > 0)) return ax_err_set(err, AX_E_VALUE, "norm: p must be positive, got %g", p);
  return reduce(AX_OP_NORM, x, dims, ndims, keepdim, p, out, err);
}

static ax_status with_dim(ax_op op, ax_tensor *x, int64_t dim, int has_dim, int keepdim, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.dim = dim, .has_dim = has_dim, .keepdim = keepdim};
  return call1(op, x, &a, out, err);
}
ax_status ax_max_all(ax_tensor *x, ax_tensor **out, ax_err *err) {
  ax_tensor *o[2];
  ax_status s = with_dim(AX_OP_MAX, x, 0, 0, 0, o, err);
  if (!s) *out = o[0];
  return s;
}
ax_status ax_min_all(ax_tensor *x, ax_tensor **out, ax_err *err) {
  ax_tensor *o[2];
  ax_status s = with_dim(AX_OP_MIN, x, 0, 0, 0, o, err);
  if (!s) *out = o[0];
  return s;
}
static ax_status mm_dim(ax_op op, ax_tensor *x, int64_t dim, int keepdim, ax_tensor **v, ax_tensor **i, ax_err *err) {
  ax_tensor *o[2];
  ax_status s = with_dim(op, x, dim, 1, keepdim, o, err);
  if (s) return s;
  *v = o[0];
  *i = o[1];
  return AX_OK;
}
ax_status ax_max_dim(ax_tensor *x, int64_t dim, int keepdim, ax_tensor **v, ax_tensor **i, ax_err *err) {
  return mm_dim(AX_OP_MAX, x, dim, keepdim, v, i, err);
}
ax_status ax_min_dim(ax_tensor *x, int64_t dim, int keepdim, ax_tensor **v, ax_tensor **i, ax_err *err) {
  return mm_dim(AX_OP_MIN, x, dim, keepdim, v, i, err);
}
ax_status ax_argmax(ax_tensor *x, int64_t dim, int has_dim, int keepdim, ax_tensor **out, ax_err *err) {
  return with_dim(AX_OP_ARGMAX, x, dim, has_dim, keepdim, out, err);
}
ax_status ax_argmin(ax_tensor *x, int64_t dim, int has_dim, int keepdim, ax_tensor **out, ax_err *err) {
  return with_dim(AX_OP_ARGMIN, x, dim, has_dim, keepdim, out, err);
}
ax_status ax_cumsum(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err) {
  return with_dim(AX_OP_CUMSUM, x, dim, 1, 0, out, err);
}
ax_status ax_softmax(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err) {
  return with_dim(AX_OP_SOFTMAX, x, dim, 1, 0, out, err);
}
ax_status ax_log_softmax(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err) {
  return with_dim(AX_OP_LOG_SOFTMAX, x, dim, 1, 0, out, err);
}

/* ---- matmul with PyTorch's 1-d rules: [K] @ [K, N] -> [N], [M, K] @ [K] -> [M], [K] @ [K] -> [] ---- */
ax_status ax_matmul(ax_tensor *a, ax_tensor *b, ax_tensor **out, ax_err *err) {
  char sa[160], sb[160];
  if (a->ndim == 0 || b->ndim == 0)
    return ax_err_set(err, AX_E_SHAPE, "matmul: both operands need at least 1 dim, got %s @ %s",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb));
  int a1 = a->ndim == 1, b1 = b->ndim == 1;
  if (a1 && b1 && a->shape[0] != b->shape[0])
    return ax_err_set(err, AX_E_SHAPE, "matmul: shape mismatch %s @ %s", ax_shape_str(a->shape, 1, sa, sizeof sa),
                      ax_shape_str(b->shape, 1, sb, sizeof sb));
  ax_tensor *av = NULL, *bv = NULL, *o = NULL;
  ax_status s = AX_OK;
  if (a1) s = ax_unsqueeze(a, 0, &av, err);
  else av = ax_tensor_retain(a);
  if (!s && b1) s = ax_unsqueeze(b, 1, &bv, err);
  else if (!s) bv = ax_tensor_retain(b);
  if (!s) s = call2(AX_OP_MATMUL, av, bv, NULL, &o, err);
  ax_tensor_release(av);
  ax_tensor_release(bv);
  if (s) return s;
  if (a1 || b1) {   /* drop the dims that were added */
    int64_t sh[AX_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < o->ndim; i++) {
      if (a1 && i == o->ndim - 2) continue;
      if (b1 && i == o->ndim - 1) continue;
      sh[nd++] = o->shape[i];
    }
    ax_tensor *r;
    s = ax_reshape(o, sh, nd, &r, err);
    ax_tensor_release(o);
    if (s) return s;
    o = r;
  }
  *out = o;
  return AX_OK;
}

/* ---- indexing and joining ---- */

ax_status ax_gather(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.dim = dim};
  return call2(AX_OP_GATHER, x, idx, &a, out, err);
}
static ax_status scatter(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor *src, int reduce_, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.dim = dim, .reduce = reduce_};
  ax_tensor *in[3] = {x, idx, src};
  return ax_op_call(AX_OP_SCATTER, in, 3, &a, out, err);
}
ax_status ax_scatter(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor *src, ax_tensor **out, ax_err *err) {
  return scatter(x, dim, idx, src, 0, out, err);
}
ax_status ax_scatter_add(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor *src, ax_tensor **out, ax_err *err) {
  return scatter(x, dim, idx, src, 1, out, err);
}
ax_status ax_index_select(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.dim = dim};
  return call2(AX_OP_INDEX_SELECT, x, idx, &a, out, err);
}
ax_status ax_cat(ax_tensor *const *xs, int n, int64_t dim, ax_tensor **out, ax_err *err) {
  if (n < 1) return ax_err_set(err, AX_E_VALUE, "cat: expected a non-empty list of tensors");
  ax_attrs a = {.dim = dim};
  return ax_op_call(AX_OP_CAT, xs, n, &a, out, err);
}
ax_status ax_stack(ax_tensor *const *xs, int n, int64_t dim, ax_tensor **out, ax_err *err) {
  if (n < 1) return ax_err_set(err, AX_E_VALUE, "stack: expected a non-empty list of tensors");
  char sa[160], sb[160];
  for (int i = 1; i < n; i++)
    if (xs[i]->ndim != xs[0]->ndim || memcmp(xs[i]->shape, xs[0]->shape, sizeof(int64_t) * (size_t)xs[0]->ndim))
      return ax_err_set(err, AX_E_SHAPE, "stack: all tensors must have the same shape, got %s and %s",
                        ax_shape_str(xs[0]->shape, xs[0]->ndim, sa, sizeof sa), ax_shape_str(xs[i]->shape, xs[i]->ndim, sb, sizeof sb));
  int d;
  ax_status s = ax_norm_dim("stack", dim, xs[0]->ndim + 1, &d, err);
  if (s) return s;
  ax_tensor **us = ax_malloc(sizeof *us * (size_t)n);
  if (!us) return ax_err_set(err, AX_E_NOMEM, "stack: out of memory");
  int k = 0;
  for (; k < n && !s; k++) s = ax_unsqueeze(xs[k], d, &us[k], err);
  if (s) k--;
  if (!s) s = ax_cat(us, n, d, out, err);
  for (int i = 0; i < k; i++) ax_tensor_release(us[i]);
  ax_free(us, sizeof *us * (size_t)n);
  return s;
}
ax_status ax_slice_scatter(ax_tensor *base, ax_tensor *src, int64_t dim, int64_t start, int64_t stop,
                           int64_t step, ax_tensor **out, ax_err *err) {
  int d;
  ax_status s = ax_norm_dim("slice_scatter", dim, base->ndim, &d, err);
  if (s) return s;
  if (step <= 0) return ax_err_set(err, AX_E_VALUE, "slice_scatter: step must be positive");
  int64_t len;
  if (base->ndim) ax_slice_bounds(base->shape[d], &start, &stop, step, &len);
  ax_attrs a = {.dim = d, .start = start, .stop = stop, .step = step};
  return call2(AX_OP_SLICE_SCATTER, base, src, &a, out, err);
}

void ax_tensor_list_free(ax_tensor **ts, int n) {
  if (!ts) return;
  for (int i = 0; i < n; i++) ax_tensor_release(ts[i]);
  ax_free(ts, sizeof *ts * (size_t)(n ? n : 1));
}

static ax_status split_sizes(ax_tensor *x, int64_t size, int64_t dim, int chunks, ax_tensor ***outs, int *nout, ax_err *err) {
  const char *op = chunks ? "chunk" : "split";
  int d;
  ax_status s = ax_norm_dim(op, dim, x->ndim, &d, err);
  if (s) return s;
  if (x->ndim == 0) return ax_err_set(err, AX_E_SHAPE, "%s: cannot split a 0-d tensor", op);
  if (size <= 0) return ax_err_set(err, AX_E_VALUE, "%s: %s must be positive, got %lld", op, chunks ? "chunks" : "split size", (long long)size);
  int64_t len = x->shape[d];
  if (chunks) size = len ? (len + size - 1) / size : 1;   /* PyTorch: chunk size = ceil(len / chunks) */
  int64_t n = len ? (len + size - 1) / size : 1;
  ax_tensor **ts = ax_malloc(sizeof *ts * (size_t)n);
  if (!ts) return ax_err_set(err, AX_E_NOMEM, "%s: out of memory", op);
  int k = 0;
  for (; k < n; k++) {
    int64_t b = k * size, e = b + size < len ? b + size : len;
    if ((s = ax_narrow(x, d, b, e - b, &ts[k], err))) break;
  }
  if (s) {
    ax_tensor_list_free(ts, k);
    return s;
  }
  *outs = ts;
  *nout = (int)n;
  return AX_OK;
}
ax_status ax_split(ax_tensor *x, int64_t size, int64_t dim, ax_tensor ***outs, int *n, ax_err *err) {
  return split_sizes(x, size, dim, 0, outs, n, err);
}
ax_status ax_chunk(ax_tensor *x, int64_t chunks, int64_t dim, ax_tensor ***outs, int *n, ax_err *err) {
  return split_sizes(x, chunks, dim, 1, outs, n, err);
}

/* ---- conversion ---- */

ax_status ax_cast(ax_tensor *x, ax_dtype dt, ax_tensor **out, ax_err *err) {
  if ((unsigned)dt >= AX_NDTYPES) return ax_err_set(err, AX_E_DTYPE, "cast: invalid dtype %d", (int)dt);
  if (x->dtype == dt) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  ax_attrs a = {.dtype = dt};
  return call1(AX_OP_CAST, x, &a, out, err);
}
ax_status ax_copy(ax_tensor *x, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.device = x->storage->device};
  return call1(AX_OP_COPY, x, &a, out, err);
}
ax_status ax_to(ax_tensor *x, ax_device dev, ax_tensor **out, ax_err *err) {
  if (ax_device_eq(dev, x->storage->device)) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  const ax_backend *be;
  ax_status s = ax_backend_get(dev, &be, err);
  if (s) return s;
  ax_attrs a = {.device = dev};
  return call1(AX_OP_COPY, x, &a, out, err);
}
ax_status ax_host_copy(ax_tensor *x, ax_tensor **out, ax_err *err) {
  if (x->storage->device.type == AX_DEV_CPU) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  /* a download, not an op of the program: no autograd node, no autocast */
  int grad = ax_grad_enabled();
  ax_dtype ac = ax_autocast_dtype();
  ax_set_grad_enabled(0);
  ax_autocast_set(AX_NDTYPES);
  ax_attrs a = {.device = AX_CPU};
  ax_status s = call1(AX_OP_COPY, x, &a, out, err);
  ax_set_grad_enabled(grad);
  ax_autocast_set(ac);
  return s;
}
ax_status ax_contiguous(ax_tensor *x, ax_tensor **out, ax_err *err) {
  if (ax_is_contiguous(x)) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  return ax_copy(x, out, err);
}

/* ---- views ---- */

ax_status ax_reshape(ax_tensor *x, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err) {
  if (ndim < 0 || ndim > AX_MAX_DIMS) return ax_err_set(err, AX_E_SHAPE, "reshape: at most %d dims", AX_MAX_DIMS);
  ax_attrs a = {.ndims = ndim};
  if (ndim) memcpy(a.dims, shape, sizeof(int64_t) * (size_t)ndim);
  return call1(AX_OP_RESHAPE, x, &a, out, err);
}
ax_status ax_view(ax_tensor *x, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err) {
  int64_t res[AX_MAX_DIMS], st[AX_MAX_DIMS];
  ax_status s = ax_infer_shape("view", x, shape, ndim, res, err);
  if (s) return s;
  if (!ax_view_strides(x, res, ndim, st)) {
    char sa[160], sb[160];
    return ax_err_set(err, AX_E_SHAPE, "view: shape %s is not compatible with the strides of input %s (use reshape)",
                      ax_shape_str(res, ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
  }
  return ax_reshape(x, res, ndim, out, err);
}
ax_status ax_permute(ax_tensor *x, const int64_t *dims, int ndim, ax_tensor **out, ax_err *err) {
  if (ndim < 0 || ndim > AX_MAX_DIMS) return ax_err_set(err, AX_E_SHAPE, "permute: at most %d dims", AX_MAX_DIMS);
  ax_attrs a = {.ndims = ndim};
  if (ndim) memcpy(a.dims, dims, sizeof(int64_t) * (size_t)ndim);
  return call1(AX_OP_PERMUTE, x, &a, out, err);
}
ax_status ax_transpose(ax_tensor *x, int64_t d0, int64_t d1, ax_tensor **out, ax_err *err) {
  int a0, a1;
  ax_status s;
  if ((s = ax_norm_dim("transpose", d0, x->ndim, &a0, err)) || (s = ax_norm_dim("transpose", d1, x->ndim, &a1, err)))
    return s;
  if (x->ndim < 2) return ax_reshape(x, x->shape, x->ndim, out, err);   /* a view of itself */
  int64_t p[AX_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) p[i] = i;
  p[a0] = a1;
  p[a1] = a0;
  return ax_permute(x, p, x->ndim, out, err);
}
ax_status ax_slice(ax_tensor *x, int64_t dim, int64_t start, int64_t stop, int64_t step, ax_tensor **out, ax_err *err) {
  ax_attrs a = {.dim = dim, .start = start, .stop = stop, .step = step};
  return call1(AX_OP_SLICE, x, &a, out, err);
}
ax_status ax_narrow(ax_tensor *x, int64_t dim, int64_t start, int64_t len, ax_tensor **out, ax_err *err) {
  int d;
  ax_status s = ax_norm_dim("narrow", dim, x->ndim, &d, err);
  if (s) return s;
  if (x->ndim == 0 || start < 0 || len < 0 || start + len > x->shape[d])
    return ax_err_set(err, AX_E_INDEX, "narrow: range [%lld, %lld) out of bounds for dim %d of size %lld", (long long)start,
                      (long long)(start + len), d, (long long)(x->ndim ? x->shape[d] : 0));
  return ax_slice(x, d, start, start + len, 1, out, err);
}
ax_status ax_select(ax_tensor *x, int64_t dim, int64_t index, ax_tensor **out, ax_err *err) {
  int d;
  ax_status s = ax_norm_dim("select", dim, x->ndim, &d, err);
  if (s) return s;
  if (x->ndim == 0) return ax_err_set(err, AX_E_INDEX, "index: cannot index a 0-d tensor");
  int64_t size = x->shape[d], i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    return ax_err_set(err, AX_E_INDEX, "index %lld is out of bounds for dim %d with size %lld", (long long)index, d,
                      (long long)size);
  ax_tensor *v;
  if ((s = ax_slice(x, d, i, i + 1, 1, &v, err))) return s;
  int64_t sh[AX_MAX_DIMS];
  int nd = 0;
  for (int k = 0; k < x->ndim; k++)
    if (k != d) sh[nd++] = x->shape[k];
  s = ax_reshape(v, sh, nd, out, err);
  ax_tensor_release(v);
  return s;
}
ax_status ax_expand(ax_tensor *x, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err) {
  if (ndim < 0 || ndim > AX_MAX_DIMS) return ax_err_set(err, AX_E_SHAPE, "expand: at most %d dims", AX_MAX_DIMS);
  ax_attrs a = {.ndims = ndim};
  if (ndim) memcpy(a.dims, shape, sizeof(int64_t) * (size_t)ndim);
  return call1(AX_OP_EXPAND, x, &a, out, err);
}
ax_status ax_squeeze(ax_tensor *x, const int64_t *dims, int ndims, ax_tensor **out, ax_err *err) {
  int drop[AX_MAX_DIMS] = {0};
  for (int i = 0; i < ndims; i++) {
    int d;
    ax_status s = ax_norm_dim("squeeze", dims[i], x->ndim, &d, err);
    if (s) return s;
    if (x->ndim && x->shape[d] == 1) drop[d] = 1;   /* PyTorch: squeezing a non-1 dim is a no-op */
  }
  int64_t sh[AX_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < x->ndim; i++)
    if (!(ndims ? drop[i] : x->shape[i] == 1)) sh[nd++] = x->shape[i];
  return ax_reshape(x, sh, nd, out, err);
}
ax_status ax_unsqueeze(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err) {
  int d;
  ax_status s = ax_norm_dim("unsqueeze", dim, x->ndim + 1, &d, err);
  if (s) return s;
  if (x->ndim >= AX_MAX_DIMS) return ax_err_set(err, AX_E_SHAPE, "unsqueeze: at most %d dims", AX_MAX_DIMS);
  int64_t sh[AX_MAX_DIMS];
  for (int i = 0, k = 0; i <= x->ndim; i++) sh[i] = i == d ? 1 : x->shape[k++];
  return ax_reshape(x, sh, x->ndim + 1, out, err);
}
ax_status ax_flatten(ax_tensor *x, int64_t start, int64_t end, ax_tensor **out, ax_err *err) {
  if (x->ndim == 0) {
    int64_t one = 1;
    return ax_reshape(x, &one, 1, out, err);
  }
  int b, e;
  ax_status s;
  if ((s = ax_norm_dim("flatten", start, x->ndim, &b, err)) || (s = ax_norm_dim("flatten", end, x->ndim, &e, err))) return s;
  if (b > e) return ax_err_set(err, AX_E_VALUE, "flatten: start dim %d must not come after end dim %d", b, e);
  int64_t sh[AX_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (i > b && i <= e) sh[nd - 1] *= x->shape[i];
    else sh[nd++] = x->shape[i];
  }
  return ax_reshape(x, sh, nd, out, err);
}

/* Sum g over the dims that broadcasting added or stretched, so it has shape `shape`. */
ax_status ax_sum_to_shape(ax_tensor *g, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err) {
  char sa[160], sb[160];
  int lead = g->ndim - ndim;
  if (lead < 0)
    return ax_err_set(err, AX_E_SHAPE, "sum_to_shape: %s cannot be reduced to %s", ax_shape_str(g->shape, g->ndim, sa, sizeof sa),
                      ax_shape_str(shape, ndim, sb, sizeof sb));
  int64_t dims[AX_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < g->ndim; i++) {
    if (i < lead) dims[nd++] = i;
    else if (shape[i - lead] == 1 && g->shape[i] != 1) dims[nd++] = i;
    else if (shape[i - lead] != g->shape[i])
      return ax_err_set(err, AX_E_SHAPE, "sum_to_shape: %s cannot be reduced to %s", ax_shape_str(g->shape, g->ndim, sa, sizeof sa),
                        ax_shape_str(shape, ndim, sb, sizeof sb));
  }
  if (nd == 0) return ax_reshape(g, shape, ndim, out, err);
  ax_tensor *r;
  ax_status s = ax_sum(g, dims, nd, 1, &r, err);
  if (s) return s;
  s = ax_reshape(r, shape, ndim, out, err);
  ax_tensor_release(r);
  return s;
}
