/* runtime/cuda/elementwise.cu — strided operands (cu_iter), unary and binary ops with NumPy
** broadcasting, comparisons, where and masked_fill: the counterpart of cpu/elementwise.c with
** the same dtype rules (compute in float32 for float32/halves, float64, int64 for integers).
** Invariant: one thread per output element, the op switch is uniform across a launch. */
#include <string.h>

#include "cuda.cuh"

/* ---------------- strided operands ---------------- */

void cu_iter_init(cu_iter *it, const int64_t *shape, int ndim) {
  memset(it, 0, sizeof *it);
  it->ndim = ndim;
  it->n = 1;
  for (int d = 0; d < ndim; d++) {
    it->shape[d] = shape[d];
    it->n *= shape[d];
  }
}

void cu_iter_add(cu_iter *it, const ax_tensor *t) {
  int k = it->nops++, off = it->ndim - t->ndim;
  for (int d = 0; d < it->ndim; d++) {
    int td = d - off;
    it->stride[k][d] = td < 0 || t->shape[td] == 1 ? 0 : t->stride[td];
  }
  it->base[k] = (char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(t->dtype);
  it->dt[k] = (int)t->dtype;
}

/* Drop size-1 dims and merge d into d+1 where every operand has stride[d] == shape[d+1] *
** stride[d+1], so the per-element index math runs on as few dims as possible. */
void cu_iter_coalesce(cu_iter *it) {
  int nd = 0;
  for (int d = 0; d < it->ndim; d++) {
    if (it->shape[d] == 1) continue;
    if (nd > 0) {
      int ok = 1;
      for (int k = 0; k < it->nops && ok; k++) ok = it->stride[k][nd - 1] == it->shape[d] * it->stride[k][d];
      if (ok) {
        it->shape[nd - 1] *= it->shape[d];
        for (int k = 0; k < it->nops; k++) it->stride[k][nd - 1] = it->stride[k][d];
        continue;
      }
    }
    it->shape[nd] = it->shape[d];
    for (int k = 0; k < it->nops; k++) it->stride[k][nd] = it->stride[k][d];
    nd++;
  }
  it->ndim = nd;
}

template <typename T> __global__ void copy_kernel(cu_iter it) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < it.n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[CU_MAXOPS];
    cu_offsets(it, i, off);
    cu_st<T>(it.base[0], it.dt[0], off[0], cu_ld<T>(it.base[1], it.dt[1], off[1]));
  }
}

__global__ void copy_bytes_kernel(cu_iter it, int es) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < it.n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[CU_MAXOPS];
    cu_offsets(it, i, off);
    switch (es) {
    case 1: it.base[0][off[0]] = it.base[1][off[1]]; break;
    case 2: ((uint16_t *)it.base[0])[off[0]] = ((const uint16_t *)it.base[1])[off[1]]; break;
    case 4: ((uint32_t *)it.base[0])[off[0]] = ((const uint32_t *)it.base[1])[off[1]]; break;
    default: ((uint64_t *)it.base[0])[off[0]] = ((const uint64_t *)it.base[1])[off[1]]; break;
    }
  }
}

ax_status cu_copy_into(ax_cuda_ctx *c, ax_tensor *dst, const ax_tensor *src, ax_err *err) {
  cu_iter it;
  cu_iter_init(&it, dst->shape, dst->ndim);
  if (it.n == 0) return AX_OK;
  cu_iter_add(&it, dst);
  cu_iter_add(&it, src);
  cu_iter_coalesce(&it);
  ax_dtype sd = src->dtype, dd = dst->dtype;
  if (sd == dd && it.ndim == 1 && it.stride[0][0] == 1 && it.stride[1][0] == 1) {
    cudaError_t e = cudaMemcpyAsync(it.base[0], it.base[1], (size_t)it.n * ax_dtype_size(dd), cudaMemcpyDeviceToDevice, c->stream);
    return e == cudaSuccess ? AX_OK : cu_fail(err, "copy", e);
  }
  if (sd == dd) {
    copy_bytes_kernel<<<cu_blocks(it.n), CU_THREADS, 0, c->stream>>>(it, (int)ax_dtype_size(dd));
  } else {
    /* the compute type of the destination; float -> int goes through float64 (exact truncation) */
    ax_dtype cd = ax_compute_dtype(dd);
    if (ax_dtype_is_float(sd) && !ax_dtype_is_float(dd)) cd = AX_FLOAT64;
    if (cd == AX_FLOAT32) copy_kernel<float><<<cu_blocks(it.n), CU_THREADS, 0, c->stream>>>(it);
    else if (cd == AX_FLOAT64) copy_kernel<double><<<cu_blocks(it.n), CU_THREADS, 0, c->stream>>>(it);
    else copy_kernel<int64_t><<<cu_blocks(it.n), CU_THREADS, 0, c->stream>>>(it);
  }
  return cu_check(err, "copy");
}

ax_status cu_inputs(ax_tensor *const *in, int nin, ax_tensor **dev, ax_err *err) {
  for (int i = 0; i < nin; i++) dev[i] = NULL;
  for (int i = 0; i < nin; i++) {
    ax_tensor *t = in[i];
    if (t->storage->device.type == AX_DEV_CUDA) {
      dev[i] = ax_tensor_retain(t);
      continue;
    }
    /* a CPU 0-d tensor (a script number, or a constant of a backward rule): one element up */
    ax_tensor *d;
    ax_status s = cu_new(NULL, 0, t->dtype, &d, err);
    if (!s) s = d->storage->be->upload(d->storage->data, (const char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(t->dtype),
                                       ax_dtype_size(t->dtype), err);
    if (s) {
      ax_tensor_release(d);
      cu_inputs_free(dev, nin);
      return s;
    }
    d->wrapped = t->wrapped;   /* keeps type promotion identical to the CPU's */
    dev[i] = d;
  }
  return AX_OK;
}

void cu_inputs_free(ax_tensor **dev, int nin) {
  for (int i = 0; i < nin; i++) {
    ax_tensor_release(dev[i]);
    dev[i] = NULL;
  }
}

/* ---------------- unary ---------------- */

struct un_args { int op, has_lo, has_hi; double lo, hi; };

__device__ __forceinline__ float cu_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678f)); }
__device__ __forceinline__ double cu_gelu(double x) { return 0.5 * x * (1.0 + erf(x * 0.70710678118654752)); }

template <typename T> __device__ __forceinline__ T unary_op(const un_args &a, T x) {
  switch (a.op) {
  case AX_OP_NEG: return -x;
  case AX_OP_ABS: return x < 0 ? -x : x;
  case AX_OP_EXP: return exp(x);
  case AX_OP_LOG: return log(x);
  case AX_OP_SQRT: return sqrt(x);
  case AX_OP_RSQRT: return (T)1 / sqrt(x);
  case AX_OP_SIN: return sin(x);
  case AX_OP_COS: return cos(x);
  case AX_OP_TANH: return tanh(x);
  case AX_OP_SIGMOID: return (T)1 / ((T)1 + exp(-x));
  case AX_OP_RELU: return x > 0 ? x : (x != x ? x : (T)0);
  case AX_OP_GELU: return cu_gelu(x);
  case AX_OP_SILU: return x / ((T)1 + exp(-x));
  case AX_OP_ERF: return erf(x);
  case AX_OP_FLOOR: return floor(x);
  case AX_OP_CEIL: return ceil(x);
  case AX_OP_ROUND: return rint(x);
  case AX_OP_SIGN: return (T)((x > 0) - (x < 0)) + (x - x);
  case AX_OP_CLAMP: {
    T v = x;
    if (a.has_lo && v < (T)a.lo) v = (T)a.lo;
    if (a.has_hi && v > (T)a.hi) v = (T)a.hi;
    return v;
  }
  case AX_OP_LOGICAL_NOT: return (T)(x == 0);
  default: return x;
  }
}

template <> __device__ __forceinline__ int64_t unary_op<int64_t>(const un_args &a, int64_t x) {
  switch (a.op) {
  case AX_OP_NEG: return (int64_t)(0 - (uint64_t)x);
  case AX_OP_ABS: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
  case AX_OP_RELU: return x > 0 ? x : 0;
  case AX_OP_SIGN: return (x > 0) - (x < 0);
  case AX_OP_CLAMP: {
    int64_t v = x;
    if (a.has_lo && v < (int64_t)a.lo) v = (int64_t)a.lo;
    if (a.has_hi && v > (int64_t)a.hi) v = (int64_t)a.hi;
    return v;
  }
  case AX_OP_LOGICAL_NOT: return x == 0;
  default: return x;   /* floor, ceil, round of integers */
  }
}

template <typename T> __global__ void unary_kernel(cu_iter it, un_args a) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < it.n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[CU_MAXOPS];
    cu_offsets(it, i, off);
    cu_st<T>(it.base[0], it.dt[0], off[0], unary_op<T>(a, cu_ld<T>(it.base[1], it.dt[1], off[1])));
  }
}

static int is_float_op(ax_op op) {
  switch (op) {
  case AX_OP_EXP: case AX_OP_LOG: case AX_OP_SQRT: case AX_OP_RSQRT: case AX_OP_SIN:
  case AX_OP_COS: case AX_OP_TANH: case AX_OP_SIGMOID: case AX_OP_GELU: case AX_OP_SILU:
  case AX_OP_ERF:
    return 1;
  default:
    return 0;
  }
}

#define LAUNCH(KERNEL, T, ...) KERNEL<T><<<cu_blocks(it.n), CU_THREADS, 0, c->stream>>>(__VA_ARGS__)

extern "C" ax_status cuda_unary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  const ax_tensor *x = in[0];
  ax_dtype din = x->dtype, dout = din, cd;
  un_args a = {(int)op, 0, 0, 0, 0};
  if (op == AX_OP_LOGICAL_NOT) {
    dout = AX_BOOL;
    cd = AX_FLOAT64;
  } else if (is_float_op(op)) {
    if (!ax_dtype_is_float(din)) dout = AX_DEFAULT_FLOAT;
    cd = ax_compute_dtype(dout);
  } else {
    if (din == AX_BOOL && op != AX_OP_CLAMP)
      return ax_err_set(err, AX_E_DTYPE, "%s: not supported for bool tensors", ax_op_name(op));
    if (op == AX_OP_CLAMP) {
      a.lo = at->a; a.has_lo = at->has_a; a.hi = at->b; a.has_hi = at->has_b;
      if (!ax_dtype_is_float(din) && ((a.has_lo && a.lo != floor(a.lo)) || (a.has_hi && a.hi != floor(a.hi))))
        dout = AX_DEFAULT_FLOAT;   /* int tensor clamped to float bounds: float32 as PyTorch */
      if (din == AX_BOOL) dout = AX_INT64;
    }
    cd = ax_compute_dtype(dout);
  }
  ax_tensor *o;
  if ((s = cu_new(x->shape, x->ndim, dout, &o, err))) return s;
  cu_iter it;
  cu_iter_init(&it, x->shape, x->ndim);
  cu_iter_add(&it, o);
  cu_iter_add(&it, x);
  if (it.n > 0) {
    cu_iter_coalesce(&it);
    if (cd == AX_FLOAT32) LAUNCH(unary_kernel, float, it, a);
    else if (cd == AX_FLOAT64) LAUNCH(unary_kernel, double, it, a);
    else LAUNCH(unary_kernel, int64_t, it, a);
  }
  if ((s = cu_check(err, ax_op_name(op)))) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

/* ---------------- binary ---------------- */

__device__ __forceinline__ int64_t cu_ipow(int64_t base, int64_t e) {
  if (e < 0) return base == 1 ? 1 : (base == -1 ? ((e & 1) ? -1 : 1) : 0);
  uint64_t r = 1, b = (uint64_t)base;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}

template <typename T> __device__ __forceinline__ T binary_op(int op, T a, T b) {
  switch (op) {
  case AX_OP_ADD: return a + b;
  case AX_OP_SUB: return a - b;
  case AX_OP_MUL: return a * b;
  case AX_OP_DIV: return a / b;
  case AX_OP_POW: return pow(a, b);
  case AX_OP_MAXIMUM: return (a > b || a != a) ? a : b;
  case AX_OP_MINIMUM: return (a < b || a != a) ? a : b;
  default: return a;
  }
}

template <> __device__ __forceinline__ int64_t binary_op<int64_t>(int op, int64_t a, int64_t b) {
  switch (op) {
  case AX_OP_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
  case AX_OP_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
  case AX_OP_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
  case AX_OP_POW: return cu_ipow(a, b);
  case AX_OP_MAXIMUM: return a > b ? a : b;
  case AX_OP_MINIMUM: return a < b ? a : b;
  default: return a;
  }
}

template <typename T> __device__ __forceinline__ bool compare_op(int op, T a, T b) {
  switch (op) {
  case AX_OP_EQ: return a == b;
  case AX_OP_NE: return a != b;
  case AX_OP_LT: return a < b;
  case AX_OP_LE: return a <= b;
  case AX_OP_GT: return a > b;
  case AX_OP_GE: return a >= b;
  case AX_OP_LOGICAL_AND: return (a != 0) & (b != 0);
  case AX_OP_LOGICAL_OR: return (a != 0) | (b != 0);
  default: return false;
  }
}

template <typename T> __global__ void binary_kernel(cu_iter it, int op, int cmp) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < it.n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[CU_MAXOPS];
    cu_offsets(it, i, off);
    T a = cu_ld<T>(it.base[1], it.dt[1], off[1]), b = cu_ld<T>(it.base[2], it.dt[2], off[2]);
    if (cmp) ((uint8_t *)it.base[0])[off[0]] = compare_op<T>(op, a, b);
    else cu_st<T>(it.base[0], it.dt[0], off[0], binary_op<T>(op, a, b));
  }
}

static int is_compare(ax_op op) {
  return op == AX_OP_EQ || op == AX_OP_NE || op == AX_OP_LT || op == AX_OP_LE || op == AX_OP_GT ||
         op == AX_OP_GE || op == AX_OP_LOGICAL_AND || op == AX_OP_LOGICAL_OR;
}

extern "C" ax_status cuda_binary(ax_op op, ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  ax_tensor *in[2];
  if ((s = cu_inputs(in0, 2, in, err))) return s;
  /* output dtype exactly as cpu/elementwise.c: result_type, true division gives float,
  ** comparisons bool; logical ops compare in float64 */
  ax_dtype rt = ax_result_type(in, 2), cd, dout;
  int cmp = is_compare(op);
  ax_tensor *o = NULL;
  if (op == AX_OP_LOGICAL_AND || op == AX_OP_LOGICAL_OR) {
    cd = AX_FLOAT64;
    dout = AX_BOOL;
  } else {
    if (op == AX_OP_DIV && !ax_dtype_is_float(rt)) rt = AX_DEFAULT_FLOAT;
    if (rt == AX_BOOL && (op == AX_OP_SUB || op == AX_OP_POW)) {
      s = ax_err_set(err, AX_E_DTYPE, "%s: not supported for bool tensors (use logical_xor / logical ops)", ax_op_name(op));
      goto done;
    }
    cd = ax_compute_dtype(rt);
    dout = cmp ? AX_BOOL : rt;
  }
  {
    int64_t shape[AX_MAX_DIMS];
    int nd;
    if ((s = ax_broadcast_shapes(ax_op_name(op), in[0]->shape, in[0]->ndim, in[1]->shape, in[1]->ndim, shape, &nd, err)))
      goto done;
    if ((s = cu_new(shape, nd, dout, &o, err))) goto done;
    cu_iter it;
    cu_iter_init(&it, shape, nd);
    cu_iter_add(&it, o);
    cu_iter_add(&it, in[0]);
    cu_iter_add(&it, in[1]);
    if (it.n > 0) {
      cu_iter_coalesce(&it);
      if (cd == AX_FLOAT32) LAUNCH(binary_kernel, float, it, (int)op, cmp);
      else if (cd == AX_FLOAT64) LAUNCH(binary_kernel, double, it, (int)op, cmp);
      else LAUNCH(binary_kernel, int64_t, it, (int)op, cmp);
    }
    s = cu_check(err, ax_op_name(op));
  }
done:
  cu_inputs_free(in, 2);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

/* ---------------- where / masked_fill ---------------- */

/* operands: 0 out, 1 cond/mask, 2 a (x for masked_fill), 3 b (absent for masked_fill) */
template <typename T> __global__ void select_kernel(cu_iter it, int masked_fill, double fill) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < it.n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[CU_MAXOPS];
    cu_offsets(it, i, off);
    int64_t m = cu_ld<int64_t>(it.base[1], it.dt[1], off[1]);
    T a = cu_ld<T>(it.base[2], it.dt[2], off[2]);
    T v = masked_fill ? (m ? (T)fill : a) : (m ? a : cu_ld<T>(it.base[3], it.dt[3], off[3]));
    cu_st<T>(it.base[0], it.dt[0], off[0], v);
  }
}

static ax_status need_bool(const char *op, const char *what, const ax_tensor *t, ax_err *err) {
  if (t->dtype == AX_BOOL || t->dtype == AX_UINT8) return AX_OK;
  return ax_err_set(err, AX_E_DTYPE, "%s: %s must be a bool tensor, got %s", op, what, ax_dtype_name(t->dtype));
}

extern "C" ax_status cuda_where(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s || (s = need_bool("where", "condition", in0[0], err))) return s;
  ax_tensor *in[3], *o = NULL;
  if ((s = cu_inputs(in0, 3, in, err))) return s;
  int64_t sh1[AX_MAX_DIMS], shape[AX_MAX_DIMS];
  int n1, nd;
  if (!(s = ax_broadcast_shapes("where", in[1]->shape, in[1]->ndim, in[2]->shape, in[2]->ndim, sh1, &n1, err)) &&
      !(s = ax_broadcast_shapes("where", in[0]->shape, in[0]->ndim, sh1, n1, shape, &nd, err))) {
    ax_dtype dout = ax_result_type(in + 1, 2), cd = ax_compute_dtype(dout);
    if (!(s = cu_new(shape, nd, dout, &o, err))) {
      cu_iter it;
      cu_iter_init(&it, shape, nd);
      cu_iter_add(&it, o);
      cu_iter_add(&it, in[0]);
      cu_iter_add(&it, in[1]);
      cu_iter_add(&it, in[2]);
      if (it.n > 0) {
        cu_iter_coalesce(&it);
        if (cd == AX_FLOAT32) LAUNCH(select_kernel, float, it, 0, 0.0);
        else if (cd == AX_FLOAT64) LAUNCH(select_kernel, double, it, 0, 0.0);
        else LAUNCH(select_kernel, int64_t, it, 0, 0.0);
      }
      s = cu_check(err, "where");
    }
  }
  cu_inputs_free(in, 3);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

extern "C" ax_status cuda_masked_fill(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s || (s = need_bool("masked_fill", "mask", in0[1], err))) return s;
  ax_tensor *in[2], *o = NULL;
  if ((s = cu_inputs(in0, 2, in, err))) return s;
  const ax_tensor *x = in[0], *mask = in[1];
  int64_t shape[AX_MAX_DIMS];
  int nd;
  char sa[160], sb[160];
  if (!(s = ax_broadcast_shapes("masked_fill", x->shape, x->ndim, mask->shape, mask->ndim, shape, &nd, err))) {
    if (nd != x->ndim || memcmp(shape, x->shape, sizeof(int64_t) * (size_t)nd)) {
      s = ax_err_set(err, AX_E_SHAPE, "masked_fill: mask of shape %s does not broadcast to the input shape %s",
                     ax_shape_str(mask->shape, mask->ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
    } else if (!(s = cu_new(shape, nd, x->dtype, &o, err))) {
      ax_dtype cd = ax_compute_dtype(x->dtype);
      cu_iter it;
      cu_iter_init(&it, shape, nd);
      cu_iter_add(&it, o);
      cu_iter_add(&it, mask);
      cu_iter_add(&it, x);
      if (it.n > 0) {
        cu_iter_coalesce(&it);
        if (cd == AX_FLOAT32) LAUNCH(select_kernel, float, it, 1, at->a);
        else if (cd == AX_FLOAT64) LAUNCH(select_kernel, double, it, 1, at->a);
        else LAUNCH(select_kernel, int64_t, it, 1, at->a);
      }
      s = cu_check(err, "masked_fill");
    }
  }
  cu_inputs_free(in, 2);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}
