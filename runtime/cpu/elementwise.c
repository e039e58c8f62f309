/* runtime/cpu/elementwise.c — unary, binary (broadcasting), where and masked_fill kernels.
** Each block is loaded into float32/float64/int64 compute buffers (zero-copy when the operand is
** already contiguous in the compute type), computed by a tight per-op loop, then stored.
** Invariant: NaN propagates through maximum/minimum/clamp like PyTorch. */
#include <math.h>
#include <string.h>

#include "cpu.h"

/* erf for float32 without a libm call, so loops over it vectorise: a Taylor series below 0.5 and
** Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7) above, chosen branch-free. Relative error
** stays under 4e-7 (a few float32 ulps); float64 keeps libm's erf. */

static inline double gelu_d(double x) { return 0.5 * x * (1.0 + erf(x * 0.70710678118654752)); }
static inline float gelu_f(float x) { return 0.5f * x * (1.0f + cpu_verff(x * 0.70710678f)); }

/* ---------------- unary ---------------- */

#define UNARY_FLOAT_BODY(T, EXP, LOG, SQRT, SIN, COS, TANH, ERF, FLOOR, CEIL, RINT, GELU)    \
  switch (op) {                                                                             \
  case AX_OP_NEG: for (int64_t i = 0; i < n; i++) o[i] = -x[i]; break;                      \
  case AX_OP_ABS: for (int64_t i = 0; i < n; i++) o[i] = x[i] < 0 ? -x[i] : x[i]; break;    \
  case AX_OP_EXP: for (int64_t i = 0; i < n; i++) o[i] = EXP(x[i]); break;                  \
  case AX_OP_LOG: for (int64_t i = 0; i < n; i++) o[i] = LOG(x[i]); break;                  \
  case AX_OP_SQRT: for (int64_t i = 0; i < n; i++) o[i] = SQRT(x[i]); break;                \
  case AX_OP_RSQRT: for (int64_t i = 0; i < n; i++) o[i] = (T)1 / SQRT(x[i]); break;        \
  case AX_OP_SIN: for (int64_t i = 0; i < n; i++) o[i] = SIN(x[i]); break;                  \
  case AX_OP_COS: for (int64_t i = 0; i < n; i++) o[i] = COS(x[i]); break;                  \
  case AX_OP_TANH: for (int64_t i = 0; i < n; i++) o[i] = TANH(x[i]); break;                \
  case AX_OP_SIGMOID: for (int64_t i = 0; i < n; i++) o[i] = (T)1 / ((T)1 + EXP(-x[i])); break; \
  case AX_OP_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0 ? x[i] : (x[i] != x[i] ? x[i] : 0); break; \
  case AX_OP_GELU: for (int64_t i = 0; i < n; i++) o[i] = GELU(x[i]); break;                \
  case AX_OP_SILU: for (int64_t i = 0; i < n; i++) o[i] = x[i] / ((T)1 + EXP(-x[i])); break; \
  case AX_OP_ERF: for (int64_t i = 0; i < n; i++) o[i] = ERF(x[i]); break;                  \
  case AX_OP_FLOOR: for (int64_t i = 0; i < n; i++) o[i] = FLOOR(x[i]); break;              \
  case AX_OP_CEIL: for (int64_t i = 0; i < n; i++) o[i] = CEIL(x[i]); break;                \
  case AX_OP_ROUND: for (int64_t i = 0; i < n; i++) o[i] = RINT(x[i]); break;               \
  case AX_OP_SIGN: for (int64_t i = 0; i < n; i++) o[i] = (T)((x[i] > 0) - (x[i] < 0)) + (x[i] - x[i]); break; \
  case AX_OP_CLAMP:                                                                         \
    for (int64_t i = 0; i < n; i++) {                                                       \
      T v = x[i];                                                                           \
      if (has_lo && v < lo) v = lo;                                                         \
      if (has_hi && v > hi) v = hi;                                                         \
      o[i] = v;                                                                             \
    }                                                                                       \
    break;                                                                                  \
  default: break;                                                                           \
  }

__attribute__((target_clones("avx512f", "avx2", "default")))
static void unary_f32(ax_op op, float *restrict o, const float *restrict x, int64_t n,
                      float lo, int has_lo, float hi, int has_hi) {
  UNARY_FLOAT_BODY(float, cpu_vexpf, logf, sqrtf, sinf, cosf, tanhf, cpu_verff, floorf, ceilf, rintf, gelu_f)
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void unary_f64(ax_op op, double *restrict o, const double *restrict x, int64_t n,
                      double lo, int has_lo, double hi, int has_hi) {
  UNARY_FLOAT_BODY(double, exp, log, sqrt, sin, cos, tanh, erf, floor, ceil, rint, gelu_d)
}

static void unary_i64(ax_op op, int64_t *restrict o, const int64_t *restrict x, int64_t n,
                      int64_t lo, int has_lo, int64_t hi, int has_hi) {
  switch (op) {
  case AX_OP_NEG: for (int64_t i = 0; i < n; i++) o[i] = (int64_t)(0 - (uint64_t)x[i]); break;
  case AX_OP_ABS: for (int64_t i = 0; i < n; i++) o[i] = x[i] < 0 ? (int64_t)(0 - (uint64_t)x[i]) : x[i]; break;
  case AX_OP_RELU: for (int64_t i = 0; i < n; i++) o[i] = x[i] > 0 ? x[i] : 0; break;
  case AX_OP_SIGN: for (int64_t i = 0; i < n; i++) o[i] = (x[i] > 0) - (x[i] < 0); break;
  case AX_OP_FLOOR: case AX_OP_CEIL: case AX_OP_ROUND: memcpy(o, x, (size_t)n * 8); break;
  case AX_OP_CLAMP:
    for (int64_t i = 0; i < n; i++) {
      int64_t v = x[i];
      if (has_lo && v < lo) v = lo;
      if (has_hi && v > hi) v = hi;
      o[i] = v;
    }
    break;
  case AX_OP_LOGICAL_NOT: for (int64_t i = 0; i < n; i++) o[i] = x[i] == 0; break;
  default: break;
  }
}

typedef struct { ax_op op; ax_dtype cd, din, dout; double lo, hi; int has_lo, has_hi; } un_ctx;

static void unary_block(void *vctx, char **p, const int64_t *st, int64_t n) {
  const un_ctx *c = vctx;
  if (c->cd == AX_FLOAT32) {
    float bx[CPU_BLOCK], bo[CPU_BLOCK];
    const float *x = c->din == AX_FLOAT32 && st[1] == 1 ? (const float *)p[1] : bx;
    if (x == bx) cpu_load_f32(bx, p[1], st[1], n, c->din);
    int direct = c->dout == AX_FLOAT32 && st[0] == 1;
    float *o = direct ? (float *)p[0] : bo;
    unary_f32(c->op, o, x, n, (float)c->lo, c->has_lo, (float)c->hi, c->has_hi);
    if (!direct) cpu_store_f32(p[0], st[0], o, n, c->dout);
  } else if (c->cd == AX_FLOAT64) {
    double bx[CPU_BLOCK], bo[CPU_BLOCK];
    const double *x = c->din == AX_FLOAT64 && st[1] == 1 ? (const double *)p[1] : bx;
    if (x == bx) cpu_load_f64(bx, p[1], st[1], n, c->din);
    int direct = c->dout == AX_FLOAT64 && st[0] == 1;
    double *o = direct ? (double *)p[0] : bo;
    if (c->op == AX_OP_LOGICAL_NOT) {
      for (int64_t i = 0; i < n; i++) o[i] = x[i] == 0;
    } else {
      unary_f64(c->op, o, x, n, c->lo, c->has_lo, c->hi, c->has_hi);
    }
    if (!direct) cpu_store_f64(p[0], st[0], o, n, c->dout);
  } else {
    int64_t bx[CPU_BLOCK], bo[CPU_BLOCK];
    cpu_load_i64(bx, p[1], st[1], n, c->din);
    unary_i64(c->op, bo, bx, n, (int64_t)c->lo, c->has_lo, (int64_t)c->hi, c->has_hi);
    cpu_store_i64(p[0], st[0], bo, n, c->dout);
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

ax_status cpu_unary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0];
  ax_dtype din = x->dtype, dout = din;
  un_ctx c = {op, 0, din, 0, 0, 0, 0, 0};
  if (op == AX_OP_LOGICAL_NOT) {
    dout = AX_BOOL;
    c.cd = AX_FLOAT64;
  } else if (is_float_op(op)) {
    if (!ax_dtype_is_float(din)) dout = AX_DEFAULT_FLOAT;
    c.cd = ax_compute_dtype(dout);
  } else {
    if (din == AX_BOOL && op != AX_OP_CLAMP)
      return ax_err_set(err, AX_E_DTYPE, "%s: not supported for bool tensors", ax_op_name(op));
    if (op == AX_OP_CLAMP) {
      c.lo = at->a; c.has_lo = at->has_a; c.hi = at->b; c.has_hi = at->has_b;
      if (!ax_dtype_is_float(din) && ((c.has_lo && c.lo != floor(c.lo)) || (c.has_hi && c.hi != floor(c.hi))))
        dout = AX_DEFAULT_FLOAT;   /* int tensor clamped to float bounds: float32 as PyTorch */
      if (din == AX_BOOL) dout = AX_INT64;
    }
    c.cd = ax_compute_dtype(dout);
  }
  c.dout = dout;
  ax_tensor *o;
  ax_status s = cpu_new(x->shape, x->ndim, dout, &o, err);
  if (s) return s;
  cpu_iter it;
  cpu_iter_init(&it, x->shape, x->ndim);
  cpu_iter_add(&it, o);
  cpu_iter_add(&it, x);
  cpu_iter_run(&it, unary_block, &c);
  *out = o;
  return AX_OK;
}

/* op(x) written over x (contiguous, a float dtype, on the CPU): the caller has checked that nothing
** else can see x (ax_relu_reuse). Same element code and threading as cpu_unary. */
ax_status cpu_unary_inplace(ax_op op, ax_tensor *x, ax_err *err) {
  if (!ax_dtype_is_float(x->dtype) || !ax_is_contiguous(x))
    return ax_err_set(err, AX_E_UNSUPPORTED, "%s: in place needs a contiguous float tensor", ax_op_name(op));
  un_ctx c = {op, 0, x->dtype, 0, 0, 0, 0, 0};
  c.cd = ax_compute_dtype(x->dtype);
  c.dout = x->dtype;
  cpu_iter it;
  cpu_iter_init(&it, x->shape, x->ndim);
  cpu_iter_add(&it, x);
  cpu_iter_add(&it, x);
  cpu_iter_run(&it, unary_block, &c);
  return AX_OK;
}

/* ---------------- binary ---------------- */

static inline double ipow_d(double a, double b) { return pow(a, b); }

#define BINARY_FLOAT_BODY(T, POW)                                                         \
  switch (op) {                                                                           \
  case AX_OP_ADD: for (int64_t i = 0; i < n; i++) o[i] = a[i] + b[i]; break;              \
  case AX_OP_SUB: for (int64_t i = 0; i < n; i++) o[i] = a[i] - b[i]; break;              \
  case AX_OP_MUL: for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i]; break;              \
  case AX_OP_DIV: for (int64_t i = 0; i < n; i++) o[i] = a[i] / b[i]; break;              \
  case AX_OP_POW: for (int64_t i = 0; i < n; i++) o[i] = POW(a[i], b[i]); break;          \
  case AX_OP_MAXIMUM: for (int64_t i = 0; i < n; i++) o[i] = (a[i] > b[i] || a[i] != a[i]) ? a[i] : b[i]; break; \
  case AX_OP_MINIMUM: for (int64_t i = 0; i < n; i++) o[i] = (a[i] < b[i] || a[i] != a[i]) ? a[i] : b[i]; break; \
  default: break;                                                                         \
  }

#define COMPARE_BODY                                                                      \
  switch (op) {                                                                           \
  case AX_OP_EQ: for (int64_t i = 0; i < n; i++) o[i] = a[i] == b[i]; break;              \
  case AX_OP_NE: for (int64_t i = 0; i < n; i++) o[i] = a[i] != b[i]; break;              \
  case AX_OP_LT: for (int64_t i = 0; i < n; i++) o[i] = a[i] < b[i]; break;               \
  case AX_OP_LE: for (int64_t i = 0; i < n; i++) o[i] = a[i] <= b[i]; break;              \
  case AX_OP_GT: for (int64_t i = 0; i < n; i++) o[i] = a[i] > b[i]; break;               \
  case AX_OP_GE: for (int64_t i = 0; i < n; i++) o[i] = a[i] >= b[i]; break;              \
  case AX_OP_LOGICAL_AND: for (int64_t i = 0; i < n; i++) o[i] = (a[i] != 0) & (b[i] != 0); break; \
  case AX_OP_LOGICAL_OR: for (int64_t i = 0; i < n; i++) o[i] = (a[i] != 0) | (b[i] != 0); break; \
  default: break;                                                                         \
  }

__attribute__((target_clones("avx512f", "avx2", "default")))
static void binary_f32(ax_op op, float *restrict o, const float *restrict a, const float *restrict b, int64_t n) {
  BINARY_FLOAT_BODY(float, powf)
}
__attribute__((target_clones("avx512f", "avx2", "default")))
static void binary_f64(ax_op op, double *restrict o, const double *restrict a, const double *restrict b, int64_t n) {
  BINARY_FLOAT_BODY(double, ipow_d)
}
static void compare_f32(ax_op op, uint8_t *restrict o, const float *restrict a, const float *restrict b, int64_t n) {
  COMPARE_BODY
}
static void compare_f64(ax_op op, uint8_t *restrict o, const double *restrict a, const double *restrict b, int64_t n) {
  COMPARE_BODY
}
static void compare_i64(ax_op op, uint8_t *restrict o, const int64_t *restrict a, const int64_t *restrict b, int64_t n) {
  COMPARE_BODY
}

static int64_t ipow(int64_t base, int64_t e) {
  if (e < 0) return base == 1 ? 1 : (base == -1 ? ((e & 1) ? -1 : 1) : 0);
  uint64_t r = 1, b = (uint64_t)base;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}

static void binary_i64(ax_op op, int64_t *restrict o, const int64_t *restrict a, const int64_t *restrict b, int64_t n) {
  switch (op) {
  case AX_OP_ADD: for (int64_t i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] + (uint64_t)b[i]); break;
  case AX_OP_SUB: for (int64_t i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] - (uint64_t)b[i]); break;
  case AX_OP_MUL: for (int64_t i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] * (uint64_t)b[i]); break;
  case AX_OP_POW: for (int64_t i = 0; i < n; i++) o[i] = ipow(a[i], b[i]); break;
  case AX_OP_MAXIMUM: for (int64_t i = 0; i < n; i++) o[i] = a[i] > b[i] ? a[i] : b[i]; break;
  case AX_OP_MINIMUM: for (int64_t i = 0; i < n; i++) o[i] = a[i] < b[i] ? a[i] : b[i]; break;
  default: break;
  }
}

static int is_compare(ax_op op) {
  return op == AX_OP_EQ || op == AX_OP_NE || op == AX_OP_LT || op == AX_OP_LE || op == AX_OP_GT ||
         op == AX_OP_GE || op == AX_OP_LOGICAL_AND || op == AX_OP_LOGICAL_OR;
}

typedef struct { ax_op op; ax_dtype cd, da, db, dout; int cmp; } bin_ctx;

#define LOAD_OPERAND(T, TD, buf, var, k, dt)                                          \
  const T *var = (dt) == TD && st[k] == 1 ? (const T *)p[k] : buf;                      \
  if (var == buf) LOAD_##T(buf, p[k], st[k], n, dt);
#define LOAD_float cpu_load_f32
#define LOAD_double cpu_load_f64
#define LOAD_int64_t cpu_load_i64

static void store_bool(char *dst, int64_t stride, const uint8_t *src, int64_t n) {
  if (stride == 1) memcpy(dst, src, (size_t)n);
  else for (int64_t i = 0; i < n; i++) dst[i * stride] = (char)src[i];
}

static void binary_block(void *vctx, char **p, const int64_t *st, int64_t n) {
  const bin_ctx *c = vctx;
  uint8_t b8[CPU_BLOCK];
  if (c->cd == AX_FLOAT32) {
    float ba[CPU_BLOCK], bb[CPU_BLOCK], bo[CPU_BLOCK];
    LOAD_OPERAND(float, AX_FLOAT32, ba, a, 1, c->da)
    LOAD_OPERAND(float, AX_FLOAT32, bb, b, 2, c->db)
    if (c->cmp) {
      compare_f32(c->op, b8, a, b, n);
      store_bool(p[0], st[0], b8, n);
      return;
    }
    int direct = c->dout == AX_FLOAT32 && st[0] == 1;
    float *o = direct ? (float *)p[0] : bo;
    binary_f32(c->op, o, a, b, n);
    if (!direct) cpu_store_f32(p[0], st[0], o, n, c->dout);
  } else if (c->cd == AX_FLOAT64) {
    double ba[CPU_BLOCK], bb[CPU_BLOCK], bo[CPU_BLOCK];
    LOAD_OPERAND(double, AX_FLOAT64, ba, a, 1, c->da)
    LOAD_OPERAND(double, AX_FLOAT64, bb, b, 2, c->db)
    if (c->cmp) {
      compare_f64(c->op, b8, a, b, n);
      store_bool(p[0], st[0], b8, n);
      return;
    }
    int direct = c->dout == AX_FLOAT64 && st[0] == 1;
    double *o = direct ? (double *)p[0] : bo;
    binary_f64(c->op, o, a, b, n);
    if (!direct) cpu_store_f64(p[0], st[0], o, n, c->dout);
  } else {
    int64_t ba[CPU_BLOCK], bb[CPU_BLOCK], bo[CPU_BLOCK];
    LOAD_OPERAND(int64_t, AX_INT64, ba, a, 1, c->da)
    LOAD_OPERAND(int64_t, AX_INT64, bb, b, 2, c->db)
    if (c->cmp) {
      compare_i64(c->op, b8, a, b, n);
      store_bool(p[0], st[0], b8, n);
      return;
    }
    binary_i64(c->op, bo, a, b, n);
    cpu_store_i64(p[0], st[0], bo, n, c->dout);
  }
}

/* Output dtype of a binary op: result_type, true division gives float, comparisons bool. */
static ax_status binary_types(ax_op op, ax_tensor *const *in, bin_ctx *c, ax_err *err) {
  ax_dtype rt = ax_result_type(in, 2);
  c->op = op;
  c->da = in[0]->dtype;
  c->db = in[1]->dtype;
  c->cmp = is_compare(op);
  if (op == AX_OP_LOGICAL_AND || op == AX_OP_LOGICAL_OR) {
    c->cd = AX_FLOAT64;
    c->dout = AX_BOOL;
    return AX_OK;
  }
  if (op == AX_OP_DIV && !ax_dtype_is_float(rt)) rt = AX_DEFAULT_FLOAT;
  if (rt == AX_BOOL && (op == AX_OP_SUB || op == AX_OP_POW))
    return ax_err_set(err, AX_E_DTYPE, "%s: not supported for bool tensors (use logical_xor / logical ops)", ax_op_name(op));
  c->cd = ax_compute_dtype(rt);
  c->dout = c->cmp ? AX_BOOL : rt;
  return AX_OK;
}

ax_status cpu_binary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  bin_ctx c;
  ax_status s = binary_types(op, in, &c, err);
  if (s) return s;
  int64_t shape[AX_MAX_DIMS];
  int nd;
  if ((s = ax_broadcast_shapes(ax_op_name(op), in[0]->shape, in[0]->ndim, in[1]->shape, in[1]->ndim, shape, &nd, err)))
    return s;
  ax_tensor *o;
  if ((s = cpu_new(shape, nd, c.dout, &o, err))) return s;
  cpu_iter it;
  cpu_iter_init(&it, shape, nd);
  cpu_iter_add(&it, o);
  cpu_iter_add(&it, in[0]);
  cpu_iter_add(&it, in[1]);
  cpu_iter_run(&it, binary_block, &c);
  *out = o;
  return AX_OK;
}

/* ---------------- where / masked_fill ---------------- */

typedef struct { ax_dtype cd, da, db, dout, dm; double fill; int masked_fill; } sel_ctx;

/* p[0] out, p[1] cond/mask, p[2] a (x for masked_fill), p[3] b. */
static void select_block(void *vctx, char **p, const int64_t *st, int64_t n) {
  const sel_ctx *c = vctx;
  int64_t m[CPU_BLOCK];
  cpu_load_i64(m, p[1], st[1], n, c->dm);
  if (c->cd == AX_FLOAT32) {
    float a[CPU_BLOCK], b[CPU_BLOCK];
    cpu_load_f32(a, p[2], st[2], n, c->da);
    if (c->masked_fill) for (int64_t i = 0; i < n; i++) b[i] = (float)c->fill;
    else cpu_load_f32(b, p[3], st[3], n, c->db);
    if (c->masked_fill) for (int64_t i = 0; i < n; i++) a[i] = m[i] ? b[i] : a[i];
    else for (int64_t i = 0; i < n; i++) a[i] = m[i] ? a[i] : b[i];
    cpu_store_f32(p[0], st[0], a, n, c->dout);
  } else if (c->cd == AX_FLOAT64) {
    double a[CPU_BLOCK], b[CPU_BLOCK];
    cpu_load_f64(a, p[2], st[2], n, c->da);
    if (c->masked_fill) for (int64_t i = 0; i < n; i++) b[i] = c->fill;
    else cpu_load_f64(b, p[3], st[3], n, c->db);
    if (c->masked_fill) for (int64_t i = 0; i < n; i++) a[i] = m[i] ? b[i] : a[i];
    else for (int64_t i = 0; i < n; i++) a[i] = m[i] ? a[i] : b[i];
    cpu_store_f64(p[0], st[0], a, n, c->dout);
  } else {
    int64_t a[CPU_BLOCK], b[CPU_BLOCK];
    cpu_load_i64(a, p[2], st[2], n, c->da);
    if (c->masked_fill) for (int64_t i = 0; i < n; i++) b[i] = (int64_t)c->fill;
    else cpu_load_i64(b, p[3], st[3], n, c->db);
    if (c->masked_fill) for (int64_t i = 0; i < n; i++) a[i] = m[i] ? b[i] : a[i];
    else for (int64_t i = 0; i < n; i++) a[i] = m[i] ? a[i] : b[i];
    cpu_store_i64(p[0], st[0], a, n, c->dout);
  }
}

static ax_status need_bool(const char *op, const char *what, const ax_tensor *t, ax_err *err) {
  if (t->dtype == AX_BOOL || t->dtype == AX_UINT8) return AX_OK;
  return ax_err_set(err, AX_E_DTYPE, "%s: %s must be a bool tensor, got %s", op, what, ax_dtype_name(t->dtype));
}

ax_status cpu_where(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_status s = need_bool("where", "condition", in[0], err);
  if (s) return s;
  int64_t sh1[AX_MAX_DIMS], shape[AX_MAX_DIMS];
  int n1, nd;
  if ((s = ax_broadcast_shapes("where", in[1]->shape, in[1]->ndim, in[2]->shape, in[2]->ndim, sh1, &n1, err)))
    return s;
  if ((s = ax_broadcast_shapes("where", in[0]->shape, in[0]->ndim, sh1, n1, shape, &nd, err))) return s;
  sel_ctx c = {0};
  c.dout = ax_result_type(in + 1, 2);
  c.cd = ax_compute_dtype(c.dout);
  c.dm = in[0]->dtype;
  c.da = in[1]->dtype;
  c.db = in[2]->dtype;
  ax_tensor *o;
  if ((s = cpu_new(shape, nd, c.dout, &o, err))) return s;
  cpu_iter it;
  cpu_iter_init(&it, shape, nd);
  cpu_iter_add(&it, o);
  cpu_iter_add(&it, in[0]);
  cpu_iter_add(&it, in[1]);
  cpu_iter_add(&it, in[2]);
  cpu_iter_run(&it, select_block, &c);
  *out = o;
  return AX_OK;
}

ax_status cpu_masked_fill(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const ax_tensor *x = in[0], *mask = in[1];
  ax_status s = need_bool("masked_fill", "mask", mask, err);
  if (s) return s;
  int64_t shape[AX_MAX_DIMS];
  int nd;
  char sa[160], sb[160];
  if ((s = ax_broadcast_shapes("masked_fill", x->shape, x->ndim, mask->shape, mask->ndim, shape, &nd, err)))
    return s;
  if (nd != x->ndim || memcmp(shape, x->shape, sizeof(int64_t) * (size_t)nd))
    return ax_err_set(err, AX_E_SHAPE, "masked_fill: mask of shape %s does not broadcast to the input shape %s",
                      ax_shape_str(mask->shape, mask->ndim, sa, sizeof sa), ax_shape_str(x->shape, x->ndim, sb, sizeof sb));
  sel_ctx c = {0};
  c.dout = x->dtype;
  c.cd = ax_compute_dtype(c.dout);
  c.dm = mask->dtype;
  c.da = x->dtype;
  c.fill = at->a;
  c.masked_fill = 1;
  ax_tensor *o;
  if ((s = cpu_new(shape, nd, c.dout, &o, err))) return s;
  cpu_iter it;
  cpu_iter_init(&it, shape, nd);
  cpu_iter_add(&it, o);
  cpu_iter_add(&it, mask);
  cpu_iter_add(&it, x);
  cpu_iter_run(&it, select_block, &c);
  *out = o;
  return AX_OK;
}
