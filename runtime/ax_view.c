/* runtime/ax_view.c — view ops (reshape, permute, slice, expand) shared by every backend: they
** only build a new header on the same storage. reshape falls back to a copy (the backend's COPY
** kernel) when the strides cannot express the new shape. Invariant: views never copy data. */
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"
#include "ax_ops.h"

static ax_status new_header(const ax_tensor *x, ax_tensor **out, ax_err *err) {
  ax_tensor *t = ax_header_alloc();
  if (!t) return ax_err_set(err, AX_E_NOMEM, "out of memory for a tensor header");
  memset(t, 0, sizeof *t);
  t->refc = 1;
  t->storage = x->storage;
  t->storage->refc++;
  t->offset = x->offset;
  t->dtype = x->dtype;
  *out = t;
  return AX_OK;
}

int ax_view_strides(const ax_tensor *x, const int64_t *shape, int ndim, int64_t *stride) {
  int64_t numel = ax_numel(x);
  if (x->ndim == 0 || numel == 0) {   /* any contiguous layout works */
    int64_t acc = 1;
    for (int i = ndim - 1; i >= 0; i--) { stride[i] = acc; acc *= shape[i] ? shape[i] : 1; }
    return 1;
  }
  /* torch computeStride: match chunks of contiguous old dims with runs of new dims */
  int view_d = ndim - 1;
  int64_t chunk = x->stride[x->ndim - 1], tnumel = 1, vnumel = 1;
  for (int td = x->ndim - 1; td >= 0; td--) {
    tnumel *= x->shape[td];
    if (td == 0 || (x->shape[td - 1] != 1 && x->stride[td - 1] != tnumel * chunk)) {
      while (view_d >= 0 && (vnumel < tnumel || shape[view_d] == 1)) {
        stride[view_d] = vnumel * chunk;
        vnumel *= shape[view_d];
        view_d--;
      }
      if (vnumel != tnumel) return 0;
      if (td > 0) {
        chunk = x->stride[td - 1];
        tnumel = 1;
        vnumel = 1;
      }
    }
  }
  return view_d == -1;
}

/* Resolve one -1 and check the element count. */
ax_status ax_infer_shape(const char *op, const ax_tensor *x, const int64_t *shape, int ndim,
                         int64_t *res, ax_err *err) {
  char sa[160], sb[160];
  if (ndim > AX_MAX_DIMS) return ax_err_set(err, AX_E_SHAPE, "%s: at most %d dims", op, AX_MAX_DIMS);
  int neg = -1;
  int64_t known = 1, n = ax_numel(x);
  for (int i = 0; i < ndim; i++) {
    res[i] = shape[i];
    if (shape[i] == -1) {
      if (neg >= 0) return ax_err_set(err, AX_E_SHAPE, "%s: only one dimension can be -1", op);
      neg = i;
    } else if (shape[i] < 0) {
      return ax_err_set(err, AX_E_SHAPE, "%s: invalid size %lld in shape %s", op, (long long)shape[i],
                        ax_shape_str(shape, ndim, sa, sizeof sa));
    } else if (__builtin_mul_overflow(known, shape[i], &known)) {
      return ax_err_set(err, AX_E_SHAPE, "%s: shape %s is too large", op, ax_shape_str(shape, ndim, sa, sizeof sa));
    }
  }
  if (neg >= 0) {
    if (known == 0 || n % known)
      return ax_err_set(err, AX_E_SHAPE, "%s: shape %s is invalid for input of shape %s", op,
                        ax_shape_str(shape, ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
    res[neg] = n / known;
    known = n;
  }
  if (known != n)
    return ax_err_set(err, AX_E_SHAPE, "%s: shape %s is invalid for input of shape %s (%lld elements)", op,
                      ax_shape_str(shape, ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb),
                      (long long)n);
  return AX_OK;
}

static ax_status v_reshape(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *x = in[0];
  int64_t shape[AX_MAX_DIMS], stride[AX_MAX_DIMS];
  ax_status s = ax_infer_shape("reshape", x, at->dims, at->ndims, shape, err);
  if (s) return s;
  ax_tensor *src = x, *copy = NULL;
  if (!ax_view_strides(x, shape, at->ndims, stride)) {
    const ax_kernel_table *kt = ax_backend_kernels(x->storage->device);
    ax_attrs ca = {.device = x->storage->device};
    if (!kt || !kt->fn[AX_OP_COPY]) return ax_err_set(err, AX_E_UNSUPPORTED, "reshape: no copy kernel on this device");
    if ((s = kt->fn[AX_OP_COPY](&x, 1, &ca, &copy, err))) return s;
    src = copy;
    ax_view_strides(src, shape, at->ndims, stride);
  }
  ax_tensor *t;
  s = new_header(src, &t, err);
  ax_tensor_release(copy);
  if (s) return s;
  t->ndim = at->ndims;
  memcpy(t->shape, shape, sizeof(int64_t) * (size_t)at->ndims);
  memcpy(t->stride, stride, sizeof(int64_t) * (size_t)at->ndims);
  *out = t;
  return AX_OK;
}

static ax_status v_permute(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *x = in[0];
  char sa[160], sb[160];
  if (at->ndims != x->ndim)
    return ax_err_set(err, AX_E_SHAPE, "permute: %d dims %s given for a %d-d tensor of shape %s", at->ndims,
                      ax_shape_str(at->dims, at->ndims, sa, sizeof sa), x->ndim, ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
  int seen[AX_MAX_DIMS] = {0}, p[AX_MAX_DIMS];
  for (int i = 0; i < at->ndims; i++) {
    ax_status s = ax_norm_dim("permute", at->dims[i], x->ndim, &p[i], err);
    if (s) return s;
    if (seen[p[i]]++) return ax_err_set(err, AX_E_VALUE, "permute: dim %d repeated in %s", p[i],
                                        ax_shape_str(at->dims, at->ndims, sa, sizeof sa));
  }
  ax_tensor *t;
  ax_status s = new_header(x, &t, err);
  if (s) return s;
  t->ndim = x->ndim;
  for (int i = 0; i < x->ndim; i++) {
    t->shape[i] = x->shape[p[i]];
    t->stride[i] = x->stride[p[i]];
  }
  *out = t;
  return AX_OK;
}

void ax_slice_bounds(int64_t size, int64_t *start, int64_t *stop, int64_t step, int64_t *len) {
  int64_t b = *start, e = *stop;
  if (b == AX_SLICE_NONE) b = 0;
  if (e == AX_SLICE_NONE) e = size;
  if (b < 0) b += size;
  if (e < 0) e += size;
  b = b < 0 ? 0 : (b > size ? size : b);
  e = e < 0 ? 0 : (e > size ? size : e);
  *start = b;
  *stop = e < b ? b : e;
  *len = e > b ? (e - b + step - 1) / step : 0;
}

static ax_status v_slice(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *x = in[0];
  int d;
  ax_status s = ax_norm_dim("slice", at->dim, x->ndim, &d, err);
  if (s) return s;
  if (x->ndim == 0) return ax_err_set(err, AX_E_INDEX, "slice: cannot slice a 0-d tensor");
  if (at->step <= 0) return ax_err_set(err, AX_E_VALUE, "slice: step must be positive, got %lld", (long long)at->step);
  int64_t b = at->start, e = at->stop, len;
  ax_slice_bounds(x->shape[d], &b, &e, at->step, &len);
  ax_tensor *t;
  if ((s = new_header(x, &t, err))) return s;
  t->ndim = x->ndim;
  memcpy(t->shape, x->shape, sizeof t->shape);
  memcpy(t->stride, x->stride, sizeof t->stride);
  t->offset = x->offset + b * x->stride[d];
  t->shape[d] = len;
  t->stride[d] = x->stride[d] * at->step;
  *out = t;
  return AX_OK;
}

static ax_status v_expand(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *x = in[0];
  char sa[160], sb[160];
  int nd = at->ndims, lead = nd - x->ndim;
  if (lead < 0)
    return ax_err_set(err, AX_E_SHAPE, "expand: target %s has fewer dims than the input %s",
                      ax_shape_str(at->dims, nd, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
  int64_t shape[AX_MAX_DIMS], stride[AX_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    int j = i - lead;
    int64_t want = at->dims[i];
    if (j < 0) {
      if (want < 0) return ax_err_set(err, AX_E_SHAPE, "expand: -1 is not allowed for new leading dim %d", i);
      shape[i] = want;
      stride[i] = 0;
    } else if (want == -1 || want == x->shape[j]) {
      shape[i] = x->shape[j];
      stride[i] = x->stride[j];
    } else if (x->shape[j] == 1 && want >= 0) {
      shape[i] = want;
      stride[i] = 0;
    } else {
      return ax_err_set(err, AX_E_SHAPE, "expand: cannot expand %s to %s (dim %d: %lld vs %lld)",
                        ax_shape_str(x->shape, x->ndim, sa, sizeof sa), ax_shape_str(at->dims, nd, sb, sizeof sb), i,
                        (long long)x->shape[j], (long long)want);
    }
  }
  ax_tensor *t;
  ax_status s = new_header(x, &t, err);
  if (s) return s;
  t->ndim = nd;
  memcpy(t->shape, shape, sizeof(int64_t) * (size_t)nd);
  memcpy(t->stride, stride, sizeof(int64_t) * (size_t)nd);
  *out = t;
  return AX_OK;
}

const ax_kernel_fn ax_view_kernels[AX_OP_COUNT] = {
    [AX_OP_RESHAPE] = v_reshape,
    [AX_OP_PERMUTE] = v_permute,
    [AX_OP_SLICE] = v_slice,
    [AX_OP_EXPAND] = v_expand,
};
