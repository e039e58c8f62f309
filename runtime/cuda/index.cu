/* runtime/cuda/index.cu — gather, scatter (replace/add), index_select, cat and slice_scatter on
** the device, as cpu/index.c. Index tensors are packed into a contiguous int64 device buffer and
** bounds-checked on the host before anything is written (one small download, so errors name the
** bad index exactly as on the CPU). Invariant: scatter is deterministic: with repeated indices
** the last source element in row-major order wins (replace), and add sums in float64/int64. */
#include <string.h>

#include "cuda.cuh"

static ax_tensor hv_slice(const ax_tensor *x, int dim, int64_t start, int64_t len, int64_t step) {
  ax_tensor v = *x;
  v.offset += start * x->stride[dim];
  v.shape[dim] = len;
  v.stride[dim] = x->stride[dim] * step;
  return v;
}

typedef struct { ax_tensor *dev; int64_t n; } index_buf;   /* contiguous int64 on the device */

static ax_status load_index(ax_cuda_ctx *c, const char *op, const ax_tensor *idx, int64_t bound, index_buf *ib, ax_err *err) {
  ib->dev = NULL;
  if (idx->dtype != AX_INT64 && idx->dtype != AX_INT32 && idx->dtype != AX_UINT8)
    return ax_err_set(err, AX_E_DTYPE, "%s: index must be an int64 tensor, got %s", op, ax_dtype_name(idx->dtype));
  ib->n = ax_numel(idx);
  ax_status s = cu_new(idx->shape, idx->ndim, AX_INT64, &ib->dev, err);
  if (s) return s;
  if ((s = cu_copy_into(c, ib->dev, idx, err))) goto fail;
  if (ib->n) {
    size_t nb = sizeof(int64_t) * (size_t)ib->n;
    int64_t *h = (int64_t *)ax_malloc(nb);
    if (!h) {
      s = ax_err_set(err, AX_E_NOMEM, "%s: out of memory for %lld indices", op, (long long)ib->n);
      goto fail;
    }
    if (!(s = cu_download(c, h, ib->dev->storage->data, nb, err)))
      for (int64_t i = 0; i < ib->n; i++)
        if (h[i] < 0 || h[i] >= bound) {
          s = ax_err_set(err, AX_E_INDEX, "%s: index %lld is out of bounds for size %lld", op, (long long)h[i], (long long)bound);
          break;
        }
    ax_free(h, nb);
    if (s) goto fail;
  }
  return AX_OK;
fail:
  ax_tensor_release(ib->dev);
  ib->dev = NULL;
  return s;
}

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

/* Positions walk `shape` (row-major, n elements); dim d's coordinate is replaced by an index. */
typedef struct {
  int ndim, d, es;
  int64_t n;
  int64_t shape[AX_MAX_DIMS];
  int64_t xs[AX_MAX_DIMS];     /* strides of the tensor read (gather) or written (scatter) */
  int64_t ss[AX_MAX_DIMS];     /* strides of the source (scatter) */
} gs_desc;

static gs_desc make_desc(const int64_t *shape, int nd, int d, const ax_tensor *x, const ax_tensor *src) {
  gs_desc g;
  memset(&g, 0, sizeof g);
  g.ndim = nd;
  g.d = d;
  g.es = (int)ax_dtype_size(x->dtype);
  g.n = 1;
  for (int i = 0; i < nd; i++) {
    g.shape[i] = shape[i];
    g.n *= shape[i];
    g.xs[i] = x->stride[i];
    g.ss[i] = src ? src->stride[i] : 0;
  }
  return g;
}

__device__ __forceinline__ void copy_elem(char *dst, const char *src, int es) {
  switch (es) {
  case 1: *dst = *src; break;
  case 2: *(uint16_t *)dst = *(const uint16_t *)src; break;
  case 4: *(uint32_t *)dst = *(const uint32_t *)src; break;
  default: *(uint64_t *)dst = *(const uint64_t *)src; break;
  }
}

/* by_pos 0: gather (index iv[t] per output element); 1: index_select (iv[pos[d]]). Output contiguous. */
__global__ void gather_kernel(gs_desc g, const char *x, const int64_t *iv, char *o, int by_pos) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < g.n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = t, off = 0;
    for (int q = g.ndim - 1; q >= 0; q--) {
      int64_t p = rem % g.shape[q];
      rem /= g.shape[q];
      off += (q == g.d ? iv[by_pos ? p : t] : p) * g.xs[q];
    }
    copy_elem(o + t * g.es, x + off * g.es, g.es);
  }
}

static ax_status finish(ax_status s, ax_tensor *o, index_buf *ib, ax_tensor **out) {
  ax_tensor_release(ib->dev);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

static ax_status cuda_gather_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *x = in[0], *idx = in[1];
  int d;
  if ((s = ax_norm_dim("gather", at->dim, x->ndim, &d, err)) || (s = check_gs("gather", x, idx, d, err))) return s;
  index_buf ib;
  if ((s = load_index(c, "gather", idx, x->ndim ? x->shape[d] : 1, &ib, err))) return s;
  ax_tensor *o = NULL;
  if (!(s = cu_new(idx->shape, idx->ndim, x->dtype, &o, err)) && ib.n) {
    gs_desc g = make_desc(idx->shape, idx->ndim, d, x, NULL);
    int es = g.es;
    gather_kernel<<<cu_blocks(g.n), CU_THREADS, 0, c->stream>>>(g, (const char *)x->storage->data + x->offset * es,
                                                                (const int64_t *)ib.dev->storage->data, (char *)o->storage->data, 0);
    s = cu_check(err, "gather");
  }
  return finish(s, o, &ib, out);
}

static ax_status cuda_index_select_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *x = in[0], *idx = in[1];
  int d;
  char sa[160];
  if ((s = ax_norm_dim("index_select", at->dim, x->ndim, &d, err))) return s;
  if (idx->ndim > 1)
    return ax_err_set(err, AX_E_SHAPE, "index_select: index must be 1-d, got shape %s",
                      ax_shape_str(idx->shape, idx->ndim, sa, sizeof sa));
  if (x->ndim == 0) return ax_err_set(err, AX_E_SHAPE, "index_select: input must have at least 1 dim");
  index_buf ib;
  if ((s = load_index(c, "index_select", idx, x->shape[d], &ib, err))) return s;
  int64_t shape[AX_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  shape[d] = ib.n;
  ax_tensor *o = NULL;
  if (!(s = cu_new(shape, x->ndim, x->dtype, &o, err))) {
    gs_desc g = make_desc(shape, x->ndim, d, x, NULL);
    if (g.n) {
      gather_kernel<<<cu_blocks(g.n), CU_THREADS, 0, c->stream>>>(g, (const char *)x->storage->data + x->offset * g.es,
                                                                  (const int64_t *)ib.dev->storage->data, (char *)o->storage->data, 1);
      s = cu_check(err, "index_select");
    }
  }
  return finish(s, o, &ib, out);
}

/* Target offset in o of idx position k (positions walk idx's shape), and its source offset. */
__device__ __forceinline__ void scatter_offsets(const gs_desc &g, const int64_t *iv, int64_t k, int64_t *off, int64_t *soff) {
  int64_t rem = k;
  *off = 0;
  *soff = 0;
  for (int q = g.ndim - 1; q >= 0; q--) {
    int64_t p = rem % g.shape[q];
    rem /= g.shape[q];
    *off += (q == g.d ? iv[k] : p) * g.xs[q];
    *soff += p * g.ss[q];
  }
}

__global__ void scatter_claim(gs_desc g, const int64_t *iv, unsigned long long *winner) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < g.n; k += (int64_t)gridDim.x * blockDim.x) {
    int64_t off, soff;
    scatter_offsets(g, iv, k, &off, &soff);
    atomicMax(winner + off, (unsigned long long)(k + 1));
  }
}

__global__ void scatter_write(gs_desc g, const int64_t *iv, const unsigned long long *winner, char *o, const char *src) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < g.n; k += (int64_t)gridDim.x * blockDim.x) {
    int64_t off, soff;
    scatter_offsets(g, iv, k, &off, &soff);
    if (winner[off] == (unsigned long long)(k + 1)) copy_elem(o + off * g.es, src + soff * g.es, g.es);
  }
}

__device__ __forceinline__ void atomic_add(double *p, double v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(int64_t *p, int64_t v) { atomicAdd((unsigned long long *)p, (unsigned long long)v); }

template <typename T> __global__ void scatter_add(gs_desc g, const int64_t *iv, T *o, const T *src) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < g.n; k += (int64_t)gridDim.x * blockDim.x) {
    int64_t off, soff;
    scatter_offsets(g, iv, k, &off, &soff);
    atomic_add(o + off, src[soff]);
  }
}

static ax_status cuda_scatter_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *x = in[0], *idx = in[1], *src = in[2];
  int d;
  char sa[160], sb[160];
  if ((s = ax_norm_dim("scatter", at->dim, x->ndim, &d, err)) || (s = check_gs("scatter", x, idx, d, err))) return s;
  for (int i = 0; i < idx->ndim; i++)
    if (src->ndim != idx->ndim || idx->shape[i] > src->shape[i])
      return ax_err_set(err, AX_E_SHAPE, "scatter: index %s is larger than the source %s",
                        ax_shape_str(idx->shape, idx->ndim, sa, sizeof sa), ax_shape_str(src->shape, src->ndim, sb, sizeof sb));
  index_buf ib;
  if ((s = load_index(c, "scatter", idx, x->ndim ? x->shape[d] : 1, &ib, err))) return s;
  /* replace: o and src in x's dtype, byte copies; add: both in float64 (int64 for integers),
  ** atomics, then converted to x's dtype */
  ax_dtype wd = !at->reduce ? x->dtype : (ax_dtype_is_float(x->dtype) ? AX_FLOAT64 : AX_INT64);
  ax_tensor *o = NULL, *w = NULL, *sc = NULL;
  void *winner = NULL;
  size_t wn = 0;
  if ((s = cu_new(x->shape, x->ndim, x->dtype, &o, err))) goto done;
  if ((s = cu_new(x->shape, x->ndim, wd, &w, err)) || (s = cu_new(src->shape, src->ndim, wd, &sc, err))) goto done;
  if ((s = cu_copy_into(c, w, x, err)) || (s = cu_copy_into(c, sc, src, err))) goto done;
  if (ib.n) {
    gs_desc g = make_desc(idx->shape, idx->ndim, d, w, sc);
    const int64_t *iv = (const int64_t *)ib.dev->storage->data;
    if (!at->reduce) {
      wn = sizeof(unsigned long long) * (size_t)ax_numel(x);
      if (!(winner = cu_scratch(c, wn))) {
        s = ax_err_set(err, AX_E_NOMEM, "scatter: out of device memory (%zu bytes)", wn);
        goto done;
      }
      cudaError_t e = cudaMemsetAsync(winner, 0, wn, c->stream);
      if (e != cudaSuccess) { s = cu_fail(err, "scatter", e); goto done; }
      scatter_claim<<<cu_blocks(g.n), CU_THREADS, 0, c->stream>>>(g, iv, (unsigned long long *)winner);
      scatter_write<<<cu_blocks(g.n), CU_THREADS, 0, c->stream>>>(g, iv, (const unsigned long long *)winner, (char *)w->storage->data,
                                                                  (const char *)sc->storage->data);
    } else if (wd == AX_FLOAT64) {
      scatter_add<double><<<cu_blocks(g.n), CU_THREADS, 0, c->stream>>>(g, iv, (double *)w->storage->data, (const double *)sc->storage->data);
    } else {
      scatter_add<int64_t><<<cu_blocks(g.n), CU_THREADS, 0, c->stream>>>(g, iv, (int64_t *)w->storage->data, (const int64_t *)sc->storage->data);
    }
    if ((s = cu_check(err, "scatter"))) goto done;
  }
  s = cu_copy_into(c, o, w, err);
done:
  if (winner) cu_scratch_free(c, winner, wn);
  ax_tensor_release(w);
  ax_tensor_release(sc);
  return finish(s, o, &ib, out);
}

extern "C" ax_status cuda_cat(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  ax_tensor **in = (ax_tensor **)ax_malloc(sizeof(ax_tensor *) * (size_t)nin);
  if (!in) return ax_err_set(err, AX_E_NOMEM, "cat: out of memory");
  if ((s = cu_inputs(in0, nin, in, err))) {
    ax_free(in, sizeof(ax_tensor *) * (size_t)nin);
    return s;
  }
  const ax_tensor *ref = NULL;
  ax_tensor *o = NULL;
  int d;
  int64_t shape[AX_MAX_DIMS];
  char sa[160], sb[160];
  for (int i = 0; i < nin; i++)   /* legacy: 1-d empty tensors are skipped, as in PyTorch */
    if (!(in[i]->ndim == 1 && in[i]->shape[0] == 0)) { ref = in[i]; break; }
  if (!ref) ref = in[0];
  if (ref->ndim == 0) {
    s = ax_err_set(err, AX_E_SHAPE, "cat: zero-dimensional tensors cannot be concatenated");
    goto done;
  }
  if ((s = ax_norm_dim("cat", at->dim, ref->ndim, &d, err))) goto done;
  memcpy(shape, ref->shape, sizeof shape);
  shape[d] = 0;
  for (int i = 0; i < nin; i++) {
    const ax_tensor *t = in[i];
    if (t->ndim == 1 && t->shape[0] == 0 && ref->ndim != 1) continue;
    int bad = t->ndim != ref->ndim;
    for (int q = 0; !bad && q < ref->ndim; q++) bad = q != d && t->shape[q] != ref->shape[q];
    if (bad) {
      s = ax_err_set(err, AX_E_SHAPE, "cat: shapes %s and %s differ outside dim %d", ax_shape_str(ref->shape, ref->ndim, sa, sizeof sa),
                     ax_shape_str(t->shape, t->ndim, sb, sizeof sb), d);
      goto done;
    }
    shape[d] += t->shape[d];
  }
  if ((s = cu_new(shape, ref->ndim, ax_result_type(in, nin), &o, err))) goto done;
  {
    int64_t at_ = 0;
    for (int i = 0; i < nin && !s; i++) {
      const ax_tensor *t = in[i];
      if (t->ndim != ref->ndim) continue;
      ax_tensor ov = hv_slice(o, d, at_, t->shape[d], 1);
      s = cu_copy_into(c, &ov, t, err);
      at_ += t->shape[d];
    }
  }
done:
  cu_inputs_free(in, nin);
  ax_free(in, sizeof(ax_tensor *) * (size_t)nin);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

static ax_status cuda_slice_scatter_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *base = in[0], *src = in[1];
  int d;
  char sa[160], sb[160];
  if ((s = ax_norm_dim("slice_scatter", at->dim, base->ndim, &d, err))) return s;
  if (base->ndim == 0) return ax_err_set(err, AX_E_SHAPE, "slice_scatter: input must have at least 1 dim");
  int64_t step = at->step > 0 ? at->step : 1, len = at->stop > at->start ? (at->stop - at->start + step - 1) / step : 0;
  if (at->start < 0 || at->stop > base->shape[d])
    return ax_err_set(err, AX_E_INDEX, "slice_scatter: range %lld:%lld out of bounds for size %lld", (long long)at->start,
                      (long long)at->stop, (long long)base->shape[d]);
  ax_tensor *o;
  if ((s = cu_new(base->shape, base->ndim, base->dtype, &o, err))) return s;
  ax_tensor ov = hv_slice(o, d, at->start, len, step);
  int same = src->ndim == ov.ndim;
  for (int q = 0; same && q < ov.ndim; q++) same = src->shape[q] == ov.shape[q];
  if (!same) {
    ax_tensor_release(o);
    return ax_err_set(err, AX_E_SHAPE, "slice_scatter: source %s does not match the slice %s",
                      ax_shape_str(src->shape, src->ndim, sa, sizeof sa), ax_shape_str(ov.shape, ov.ndim, sb, sizeof sb));
  }
  if ((s = cu_copy_into(c, o, base, err)) || (s = cu_copy_into(c, &ov, src, err))) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

extern "C" ax_status cuda_gather(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[2];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_gather_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}

extern "C" ax_status cuda_index_select(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[2];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_index_select_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}

extern "C" ax_status cuda_scatter(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[3];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_scatter_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}

extern "C" ax_status cuda_slice_scatter(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[2];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_slice_scatter_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}
