/* tests/ops/test_ops.c — loops over AX_OP_LIST: every op against a naive float64 reference on
** random inputs (several shapes, broadcasting, non-contiguous views, float32/float64/halves), and
** for differentiable ops a central-difference gradient check in float64.
** `test_ops complete` instead checks that every row has a CPU kernel (or a view implementation),
** a backward rule when differentiable, and a case in this file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"
#include "ax_ops.h"
#include "cpu/cpu.h"

static int failures, checks;
#define FAIL(...) do { failures++; printf("FAIL "); printf(__VA_ARGS__); printf("\n"); } while (0)

/* ---------------- test-side helpers (independent of the runtime's kernels) ---------------- */

static uint64_t lcg = 0x2545F4914F6CDD1DULL;
static double urand(void) {
  lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(lcg >> 11) / 9007199254740992.0;
}

typedef struct { int ndim; int64_t shape[AX_MAX_DIMS]; int64_t n; double *v; } dbuf;

static int64_t prod(const int64_t *s, int n) { int64_t p = 1; for (int i = 0; i < n; i++) p *= s[i]; return p; }

static dbuf dload(ax_tensor *t) {
  dbuf d = {t->ndim, {0}, ax_numel(t), NULL};
  memcpy(d.shape, t->shape, sizeof d.shape);
  d.v = malloc(sizeof(double) * (size_t)(d.n + 1));
  ax_err e;
  ax_to_f64_buffer(t, d.v, &e);
  return d;
}
static dbuf dnew(const int64_t *shape, int nd) {
  dbuf d = {nd, {0}, prod(shape, nd), NULL};
  memcpy(d.shape, shape, sizeof(int64_t) * (size_t)nd);
  d.v = calloc((size_t)(d.n + 1), sizeof(double));
  return d;
}
static void dfree(dbuf *d) { free(d->v); d->v = NULL; }

static ax_tensor *mk(const int64_t *shape, int nd, ax_dtype dt, double lo, double hi, int integral) {
  int64_t n = prod(shape, nd);
  double *v = malloc(sizeof(double) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    double x = lo + (hi - lo) * urand();
    v[i] = integral ? floor(x) : x;
  }
  ax_tensor *t = NULL;
  ax_err e;
  if (ax_tensor_from_f64(v, shape, nd, dt, &t, &e)) printf("mk: %s\n", e.msg);
  free(v);
  return t;
}

/* Same values, but stored transposed (a non-contiguous view). */
static ax_tensor *noncontig(ax_tensor *t) {
  if (t->ndim < 2) return t;
  ax_err e;
  int64_t rev[AX_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) rev[i] = t->ndim - 1 - i;
  ax_tensor *p, *c, *v;
  ax_permute(t, rev, t->ndim, &p, &e);
  ax_copy(p, &c, &e);
  ax_permute(c, rev, t->ndim, &v, &e);
  ax_tensor_release(p);
  ax_tensor_release(c);
  ax_tensor_release(t);
  return v;
}

/* Row-major multi-index <-> offset with broadcasting of a source shape into out's shape. */
static int64_t bcast_off(const dbuf *src, const int64_t *idx, int ond) {
  int64_t off = 0, lead = ond - src->ndim;
  for (int i = 0; i < src->ndim; i++) off = off * src->shape[i] + (src->shape[i] == 1 ? 0 : idx[i + lead]);
  return off;
}
static void unravel(int64_t k, const int64_t *shape, int nd, int64_t *idx) {
  for (int i = nd - 1; i >= 0; i--) { idx[i] = shape[i] ? k % shape[i] : 0; k = shape[i] ? k / shape[i] : 0; }
}
static void bshape(const dbuf *a, const dbuf *b, int64_t *out, int *nd) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
    int64_t da = ia < 0 ? 1 : a->shape[ia], db = ib < 0 ? 1 : b->shape[ib];
    out[i] = da == 1 ? db : da;
  }
  *nd = n;
}

/* ---------------- cases ---------------- */

typedef struct {
  int nin;
  ax_tensor *in[4];
  ax_attrs at;
  unsigned diff;   /* inputs to gradient-check */
} tcase;

static void case_free(tcase *c) {
  for (int i = 0; i < c->nin; i++) ax_tensor_release(c->in[i]);
  memset(c, 0, sizeof *c);
}

typedef enum { K_NONE, K_UNARY, K_BINARY, K_COMPARE, K_WHERE, K_MASKED, K_REDUCE, K_INDEXRED, K_SCAN,
               K_MATMUL, K_GATHER, K_SCATTER, K_ISEL, K_CAT, K_SSCAT, K_CAST, K_COPY, K_RESHAPE,
               K_PERMUTE, K_SLICE, K_EXPAND } kind;

static kind kind_of(ax_op op) {
  switch (op) {
  case AX_OP_NEG: case AX_OP_ABS: case AX_OP_EXP: case AX_OP_LOG: case AX_OP_SQRT: case AX_OP_RSQRT:
  case AX_OP_SIN: case AX_OP_COS: case AX_OP_TANH: case AX_OP_SIGMOID: case AX_OP_RELU: case AX_OP_GELU:
  case AX_OP_SILU: case AX_OP_ERF: case AX_OP_FLOOR: case AX_OP_CEIL: case AX_OP_ROUND: case AX_OP_SIGN:
  case AX_OP_CLAMP: case AX_OP_LOGICAL_NOT:
    return K_UNARY;
  case AX_OP_ADD: case AX_OP_SUB: case AX_OP_MUL: case AX_OP_DIV: case AX_OP_POW: case AX_OP_MAXIMUM:
  case AX_OP_MINIMUM:
    return K_BINARY;
  case AX_OP_EQ: case AX_OP_NE: case AX_OP_LT: case AX_OP_LE: case AX_OP_GT: case AX_OP_GE:
  case AX_OP_LOGICAL_AND: case AX_OP_LOGICAL_OR:
    return K_COMPARE;
  case AX_OP_WHERE: return K_WHERE;
  case AX_OP_MASKED_FILL: return K_MASKED;
  case AX_OP_SUM: case AX_OP_MEAN: case AX_OP_VAR: case AX_OP_STD: case AX_OP_NORM: case AX_OP_PROD:
    return K_REDUCE;
  case AX_OP_MAX: case AX_OP_MIN: case AX_OP_ARGMAX: case AX_OP_ARGMIN: return K_INDEXRED;
  case AX_OP_CUMSUM: case AX_OP_SOFTMAX: case AX_OP_LOG_SOFTMAX: return K_SCAN;
  case AX_OP_MATMUL: return K_MATMUL;
  case AX_OP_GATHER: return K_GATHER;
  case AX_OP_SCATTER: return K_SCATTER;
  case AX_OP_INDEX_SELECT: return K_ISEL;
  case AX_OP_CAT: return K_CAT;
  case AX_OP_SLICE_SCATTER: return K_SSCAT;
  case AX_OP_CAST: return K_CAST;
  case AX_OP_COPY: return K_COPY;
  case AX_OP_RESHAPE: return K_RESHAPE;
  case AX_OP_PERMUTE: return K_PERMUTE;
  case AX_OP_SLICE: return K_SLICE;
  case AX_OP_EXPAND: return K_EXPAND;
  default: return K_NONE;
  }
}

static void domain(ax_op op, int which, double *lo, double *hi) {
  *lo = -2.5;
  *hi = 2.5;
  if (op == AX_OP_LOG || op == AX_OP_SQRT || op == AX_OP_RSQRT) { *lo = 0.2; *hi = 3; }
  if (op == AX_OP_POW && which == 0) { *lo = 0.5; *hi = 2; }
  if (op == AX_OP_DIV && which == 1) { *lo = 0.5; *hi = 2; }
  if (op == AX_OP_PROD) { *lo = 0.5; *hi = 1.5; }
}

#define SH(...) (int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* Case k of op in dtype dt; returns 0 when there are no more cases. small: gradient-check sizes. */
static int make_case(ax_op op, int k, ax_dtype dt, tcase *c) {
  memset(c, 0, sizeof *c);
  double lo, hi;
  kind kd = kind_of(op);
  switch (kd) {
  case K_UNARY: {
    if (k > 2) return 0;
    domain(op, 0, &lo, &hi);
    int integral = op == AX_OP_LOGICAL_NOT;
    if (integral) { lo = -1; hi = 2; }
    c->nin = 1;
    if (k == 0) c->in[0] = mk(SH(2, 3, 4), dt, lo, hi, integral);
    if (k == 1) c->in[0] = noncontig(mk(SH(3, 5), dt, lo, hi, integral));
    if (k == 2) c->in[0] = mk(SH(7), dt, lo, hi, integral);
    if (op == AX_OP_CLAMP) { c->at.a = -0.5; c->at.has_a = 1; c->at.b = 0.7; c->at.has_b = k != 2; }
    c->diff = 1;
    return 1;
  }
  case K_BINARY: case K_COMPARE: {
    static const int64_t sa[][3] = {{2, 3, 4}, {3, 1}, {4}, {2, 3}};
    static const int na[] = {3, 2, 1, 2};
    static const int64_t sb[][3] = {{2, 3, 4}, {1, 5}, {2, 3, 4}, {0}};
    static const int nb[] = {3, 2, 3, 0};
    if (k > 4) return 0;
    int j = k == 4 ? 0 : k;
    double lo2, hi2;
    domain(op, 0, &lo, &hi);
    domain(op, 1, &lo2, &hi2);
    int integral = kd == K_COMPARE;
    if (integral) { lo = lo2 = -1; hi = hi2 = 2; }
    c->nin = 2;
    c->in[0] = mk(sa[j], na[j], dt, lo, hi, integral);
    c->in[1] = mk(sb[j], nb[j], dt, lo2, hi2, integral);
    if (k == 4) { c->in[0] = noncontig(c->in[0]); c->in[1] = noncontig(c->in[1]); }
    c->diff = 3;
    return 1;
  }
  case K_WHERE: {
    if (k > 1) return 0;
    c->nin = 3;
    c->in[0] = mk(SH(3, 4), AX_BOOL, 0, 2, 1);
    c->in[1] = k ? mk(SH(4), dt, -2, 2, 0) : mk(SH(3, 4), dt, -2, 2, 0);
    c->in[2] = k ? mk(SH(3, 1), dt, -2, 2, 0) : noncontig(mk(SH(3, 4), dt, -2, 2, 0));
    c->diff = 6;
    return 1;
  }
  case K_MASKED: {
    if (k > 1) return 0;
    c->nin = 2;
    c->in[0] = k ? noncontig(mk(SH(3, 4), dt, -2, 2, 0)) : mk(SH(2, 3, 4), dt, -2, 2, 0);
    c->in[1] = mk(SH(3, 4), AX_BOOL, 0, 2, 1);
    c->at.a = 0.25;
    c->diff = 1;
    return 1;
  }
  case K_REDUCE: {
    if (k > 5) return 0;
    domain(op, 0, &lo, &hi);
    c->nin = 1;
    c->in[0] = k == 3 ? noncontig(mk(SH(3, 4, 2), dt, lo, hi, 0)) : mk(SH(3, 4, 2), dt, lo, hi, 0);
    static const int64_t dims[][2] = {{0}, {1}, {0, 2}, {-1}, {2, 0}, {1}};
    static const int nds[] = {0, 1, 2, 1, 2, 1};
    c->at.ndims = nds[k];
    memcpy(c->at.dims, dims[k], sizeof dims[k]);
    c->at.keepdim = k & 1;
    if (op == AX_OP_VAR || op == AX_OP_STD) c->at.a = k == 2 ? 0 : 1;
    if (op == AX_OP_NORM) { static const double ps[] = {2, 1, 3, INFINITY, 2, 0.5}; c->at.a = ps[k]; }
    c->diff = 1;
    return 1;
  }
  case K_INDEXRED: {
    if (k > 3) return 0;
    c->nin = 1;
    c->in[0] = k == 2 ? noncontig(mk(SH(4, 5), dt, -3, 3, 0)) : mk(SH(3, 4, 5), dt, -3, 3, 0);
    c->at.has_dim = k != 3;
    c->at.dim = k == 0 ? 1 : -1;
    c->at.keepdim = k == 1;
    c->diff = 1;
    return 1;
  }
  case K_SCAN: {
    if (k > 2) return 0;
    c->nin = 1;
    c->in[0] = k == 2 ? noncontig(mk(SH(4, 5), dt, -3, 3, 0)) : mk(SH(3, 4, 5), dt, -3, 3, 0);
    c->at.dim = k == 0 ? 1 : -1;
    c->diff = 1;
    return 1;
  }
  case K_MATMUL: {
    if (k > 5) return 0;
    c->nin = 2;
    if (k == 5) {   /* batch folded into M ([..., M, K] @ [K, N]) with a per-batch transposed a */
      ax_tensor *t = mk(SH(2, 4, 3), dt, -1, 1, 0);
      ax_err e;
      ax_transpose(t, -1, -2, &c->in[0], &e);
      ax_tensor_release(t);
      c->in[1] = mk(SH(4, 5), dt, -1, 1, 0);
    }
    if (k == 4) {   /* batched operand with only its last two dims swapped (BLAS "trans") */
      ax_tensor *t = mk(SH(2, 5, 4), dt, -1, 1, 0);
      ax_err e;
      c->in[0] = mk(SH(2, 3, 4), dt, -1, 1, 0);
      ax_transpose(t, -1, -2, &c->in[1], &e);
      ax_tensor_release(t);
    }
    if (k == 0) { c->in[0] = mk(SH(3, 4), dt, -1, 1, 0); c->in[1] = mk(SH(4, 5), dt, -1, 1, 0); }
    if (k == 1) { c->in[0] = mk(SH(2, 3, 4), dt, -1, 1, 0); c->in[1] = mk(SH(4, 2), dt, -1, 1, 0); }
    if (k == 2) { c->in[0] = mk(SH(2, 1, 3, 4), dt, -1, 1, 0); c->in[1] = noncontig(mk(SH(3, 4, 2), dt, -1, 1, 0)); }
    if (k == 3) { c->in[0] = noncontig(mk(SH(5, 3), dt, -1, 1, 0)); c->in[1] = mk(SH(3, 6), dt, -1, 1, 0); }
    c->diff = 3;
    return 1;
  }
  case K_GATHER: {
    if (k > 1) return 0;
    c->nin = 2;
    c->in[0] = k ? noncontig(mk(SH(3, 4), dt, -2, 2, 0)) : mk(SH(3, 4), dt, -2, 2, 0);
    c->at.dim = k ? 0 : 1;
    c->in[1] = k ? mk(SH(5, 4), AX_INT64, 0, 3, 1) : mk(SH(3, 6), AX_INT64, 0, 4, 1);
    c->diff = 1;
    return 1;
  }
  case K_SCATTER: {
    if (k > 1) return 0;
    /* index rows are permutations per column: no duplicates, so replace is deterministic */
    int64_t iv[2 * 4];
    for (int col = 0; col < 4; col++) {
      int64_t a = (int64_t)(urand() * 4), b = (a + 1 + (int64_t)(urand() * 3)) % 4;
      iv[col] = a;
      iv[4 + col] = b;
    }
    c->nin = 3;
    c->in[0] = mk(SH(4, 4), dt, -2, 2, 0);
    ax_err e;
    ax_tensor_from_i64(iv, SH(2, 4), AX_INT64, &c->in[1], &e);
    c->in[2] = mk(SH(2, 4), dt, -2, 2, 0);
    c->at.dim = 0;
    c->at.reduce = k;
    c->diff = 5;
    return 1;
  }
  case K_ISEL: {
    if (k > 1) return 0;
    c->nin = 2;
    c->in[0] = k ? noncontig(mk(SH(4, 3), dt, -2, 2, 0)) : mk(SH(4, 3), dt, -2, 2, 0);
    c->in[1] = mk(SH(5), AX_INT64, 0, k ? 3 : 4, 1);
    c->at.dim = k;
    c->diff = 1;
    return 1;
  }
  case K_CAT: {
    if (k > 1) return 0;
    c->nin = 3;
    if (k == 0) {
      c->in[0] = mk(SH(2, 3), dt, -2, 2, 0);
      c->in[1] = mk(SH(1, 3), dt, -2, 2, 0);
      c->in[2] = noncontig(mk(SH(4, 3), dt, -2, 2, 0));
    } else {
      c->in[0] = mk(SH(2, 1), dt, -2, 2, 0);
      c->in[1] = mk(SH(2, 3), dt, -2, 2, 0);
      c->in[2] = mk(SH(2, 2), dt, -2, 2, 0);
    }
    c->at.dim = k ? -1 : 0;
    c->diff = 7;
    return 1;
  }
  case K_SSCAT: {
    if (k > 0) return 0;
    c->nin = 2;
    c->in[0] = mk(SH(5, 4), dt, -2, 2, 0);
    c->in[1] = mk(SH(2, 4), dt, -2, 2, 0);
    c->at.dim = 0; c->at.start = 1; c->at.stop = 5; c->at.step = 2;
    c->diff = 3;
    return 1;
  }
  case K_CAST: case K_COPY: {
    if (k > 1) return 0;
    c->nin = 1;
    c->in[0] = k ? noncontig(mk(SH(3, 4), dt, -3, 3, 0)) : mk(SH(3, 4), dt, -3, 3, 0);
    c->at.dtype = dt;
    c->at.device = AX_CPU;
    c->diff = 1;
    return 1;
  }
  case K_RESHAPE: {
    if (k > 1) return 0;
    c->nin = 1;
    c->in[0] = k ? noncontig(mk(SH(2, 3, 4), dt, -2, 2, 0)) : mk(SH(2, 3, 4), dt, -2, 2, 0);
    c->at.ndims = 2; c->at.dims[0] = 4; c->at.dims[1] = -1;
    c->diff = 1;
    return 1;
  }
  case K_PERMUTE: {
    if (k > 0) return 0;
    c->nin = 1;
    c->in[0] = mk(SH(2, 3, 4), dt, -2, 2, 0);
    c->at.ndims = 3; c->at.dims[0] = 2; c->at.dims[1] = 0; c->at.dims[2] = 1;
    c->diff = 1;
    return 1;
  }
  case K_SLICE: {
    if (k > 1) return 0;
    c->nin = 1;
    c->in[0] = k ? noncontig(mk(SH(4, 6), dt, -2, 2, 0)) : mk(SH(4, 6), dt, -2, 2, 0);
    c->at.dim = 1;
    c->at.start = k ? AX_SLICE_NONE : -5;
    c->at.stop = k ? -1 : AX_SLICE_NONE;
    c->at.step = k ? 1 : 2;
    c->diff = 1;
    return 1;
  }
  case K_EXPAND: {
    if (k > 0) return 0;
    c->nin = 1;
    c->in[0] = mk(SH(3, 1), dt, -2, 2, 0);
    c->at.ndims = 3; c->at.dims[0] = 2; c->at.dims[1] = -1; c->at.dims[2] = 4;
    c->diff = 1;
    return 1;
  }
  case K_NONE: return 0;
  }
  return 0;
}

/* ---------------- references (float64, naive) ---------------- */

static double ref_unary(ax_op op, double x, const ax_attrs *a) {
  switch (op) {
  case AX_OP_NEG: return -x;
  case AX_OP_ABS: return fabs(x);
  case AX_OP_EXP: return exp(x);
  case AX_OP_LOG: return log(x);
  case AX_OP_SQRT: return sqrt(x);
  case AX_OP_RSQRT: return 1 / sqrt(x);
  case AX_OP_SIN: return sin(x);
  case AX_OP_COS: return cos(x);
  case AX_OP_TANH: return tanh(x);
  case AX_OP_SIGMOID: return 1 / (1 + exp(-x));
  case AX_OP_RELU: return x > 0 ? x : 0;
  case AX_OP_GELU: return 0.5 * x * (1 + erf(x / sqrt(2)));
  case AX_OP_SILU: return x / (1 + exp(-x));
  case AX_OP_ERF: return erf(x);
  case AX_OP_FLOOR: return floor(x);
  case AX_OP_CEIL: return ceil(x);
  case AX_OP_ROUND: return nearbyint(x);
  case AX_OP_SIGN: return (x > 0) - (x < 0);
  case AX_OP_CLAMP: return a->has_b && x > a->b ? a->b : (a->has_a && x < a->a ? a->a : x);
  case AX_OP_LOGICAL_NOT: return x == 0;
  default: return NAN;
  }
}

static double ref_binary(ax_op op, double x, double y) {
  switch (op) {
  case AX_OP_ADD: return x + y;
  case AX_OP_SUB: return x - y;
  case AX_OP_MUL: return x * y;
  case AX_OP_DIV: return x / y;
  case AX_OP_POW: return pow(x, y);
  case AX_OP_MAXIMUM: return x > y ? x : y;
  case AX_OP_MINIMUM: return x < y ? x : y;
  case AX_OP_EQ: return x == y;
  case AX_OP_NE: return x != y;
  case AX_OP_LT: return x < y;
  case AX_OP_LE: return x <= y;
  case AX_OP_GT: return x > y;
  case AX_OP_GE: return x >= y;
  case AX_OP_LOGICAL_AND: return x != 0 && y != 0;
  case AX_OP_LOGICAL_OR: return x != 0 || y != 0;
  default: return NAN;
  }
}

/* Reduced-dims mask from attrs (ndims 0: all). */
static void rmask(const dbuf *x, const int64_t *dims, int nd, int *mask) {
  memset(mask, 0, sizeof(int) * AX_MAX_DIMS);
  if (nd == 0) for (int i = 0; i < x->ndim; i++) mask[i] = 1;
  for (int i = 0; i < nd; i++) mask[dims[i] < 0 ? dims[i] + x->ndim : dims[i]] = 1;
}

/* For each output position (kept dims), collect the reduced values in row-major order. */
static void reduce_ref(ax_op op, const dbuf *x, const int *mask, int keepdim, const ax_attrs *a, dbuf *out, dbuf *idx) {
  int64_t os[AX_MAX_DIMS];
  int ond = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (!mask[i]) os[ond++] = x->shape[i];
    else if (keepdim) os[ond++] = 1;
  }
  *out = dnew(os, ond);
  if (idx) *idx = dnew(os, ond);
  double *vals = malloc(sizeof(double) * (size_t)(x->n + 1));
  for (int64_t o = 0; o < out->n; o++) {
    int64_t cnt = 0, xi[AX_MAX_DIMS];
    for (int64_t k = 0; k < x->n; k++) {   /* naive: scan all, keep those mapping to o */
      unravel(k, x->shape, x->ndim, xi);
      int64_t oo = 0;
      for (int i = 0; i < x->ndim; i++)
        if (!mask[i]) oo = oo * x->shape[i] + xi[i];
      if (oo == o) vals[cnt++] = x->v[k];
    }
    double r = 0, m = 0;
    int64_t bi = 0;
    switch (op) {
    case AX_OP_SUM: for (int64_t i = 0; i < cnt; i++) r += vals[i]; break;
    case AX_OP_MEAN: for (int64_t i = 0; i < cnt; i++) r += vals[i]; r /= (double)cnt; break;
    case AX_OP_PROD: r = 1; for (int64_t i = 0; i < cnt; i++) r *= vals[i]; break;
    case AX_OP_VAR: case AX_OP_STD:
      for (int64_t i = 0; i < cnt; i++) m += vals[i];
      m /= (double)cnt;
      for (int64_t i = 0; i < cnt; i++) r += (vals[i] - m) * (vals[i] - m);
      r /= (double)cnt - a->a;
      if (op == AX_OP_STD) r = sqrt(r);
      break;
    case AX_OP_NORM:
      if (isinf(a->a)) for (int64_t i = 0; i < cnt; i++) r = fmax(r, fabs(vals[i]));
      else { for (int64_t i = 0; i < cnt; i++) r += pow(fabs(vals[i]), a->a); r = pow(r, 1 / a->a); }
      break;
    case AX_OP_MAX: case AX_OP_ARGMAX: case AX_OP_MIN: case AX_OP_ARGMIN:
      r = vals[0];
      for (int64_t i = 1; i < cnt; i++)
        if ((op == AX_OP_MAX || op == AX_OP_ARGMAX) ? vals[i] > r : vals[i] < r) { r = vals[i]; bi = i; }
      if (op == AX_OP_ARGMAX || op == AX_OP_ARGMIN) r = (double)bi;
      break;
    default: break;
    }
    out->v[o] = r;
    if (idx) idx->v[o] = (double)bi;
  }
  free(vals);
}

/* Compute the reference outputs (nout of them) for case c. */
static int reference(ax_op op, const tcase *c, dbuf *ref) {
  dbuf in[4];
  for (int i = 0; i < c->nin; i++) in[i] = dload(c->in[i]);
  const ax_attrs *a = &c->at;
  int nout = 1;
  int64_t xi[AX_MAX_DIMS];
  switch (kind_of(op)) {
  case K_UNARY:
    ref[0] = dnew(in[0].shape, in[0].ndim);
    for (int64_t k = 0; k < in[0].n; k++) ref[0].v[k] = ref_unary(op, in[0].v[k], a);
    break;
  case K_BINARY: case K_COMPARE: {
    int64_t os[AX_MAX_DIMS];
    int nd;
    bshape(&in[0], &in[1], os, &nd);
    ref[0] = dnew(os, nd);
    for (int64_t k = 0; k < ref[0].n; k++) {
      unravel(k, os, nd, xi);
      ref[0].v[k] = ref_binary(op, in[0].v[bcast_off(&in[0], xi, nd)], in[1].v[bcast_off(&in[1], xi, nd)]);
    }
    break;
  }
  case K_WHERE: case K_MASKED: {
    int64_t s1[AX_MAX_DIMS], os[AX_MAX_DIMS];
    int n1, nd;
    if (op == AX_OP_WHERE) {
      bshape(&in[1], &in[2], s1, &n1);
      dbuf t = {n1, {0}, 0, NULL};
      memcpy(t.shape, s1, sizeof s1);
      bshape(&in[0], &t, os, &nd);
    } else {
      bshape(&in[0], &in[1], os, &nd);
    }
    ref[0] = dnew(os, nd);
    for (int64_t k = 0; k < ref[0].n; k++) {
      unravel(k, os, nd, xi);
      if (op == AX_OP_WHERE)
        ref[0].v[k] = in[0].v[bcast_off(&in[0], xi, nd)] != 0 ? in[1].v[bcast_off(&in[1], xi, nd)] : in[2].v[bcast_off(&in[2], xi, nd)];
      else
        ref[0].v[k] = in[1].v[bcast_off(&in[1], xi, nd)] != 0 ? a->a : in[0].v[bcast_off(&in[0], xi, nd)];
    }
    break;
  }
  case K_REDUCE: {
    int mask[AX_MAX_DIMS];
    rmask(&in[0], a->dims, a->ndims, mask);
    reduce_ref(op, &in[0], mask, a->keepdim, a, &ref[0], NULL);
    break;
  }
  case K_INDEXRED: {
    int mask[AX_MAX_DIMS];
    int64_t d = a->dim;
    rmask(&in[0], &d, a->has_dim ? 1 : 0, mask);
    int with_idx = (op == AX_OP_MAX || op == AX_OP_MIN) && a->has_dim;
    reduce_ref(op, &in[0], mask, a->has_dim && a->keepdim, a, &ref[0], with_idx ? &ref[1] : NULL);
    nout = with_idx ? 2 : 1;
    break;
  }
  case K_SCAN: {
    int d = (int)(a->dim < 0 ? a->dim + in[0].ndim : a->dim);
    ref[0] = dnew(in[0].shape, in[0].ndim);
    int64_t K = in[0].shape[d], st = 1;
    for (int i = d + 1; i < in[0].ndim; i++) st *= in[0].shape[i];
    for (int64_t k = 0; k < in[0].n; k++) {
      unravel(k, in[0].shape, in[0].ndim, xi);
      if (xi[d] != 0) continue;   /* k is the start of a line along d */
      double acc = 0, mx = -INFINITY, s = 0;
      for (int64_t j = 0; j < K; j++) mx = fmax(mx, in[0].v[k + j * st]);
      for (int64_t j = 0; j < K; j++) s += exp(in[0].v[k + j * st] - mx);
      for (int64_t j = 0; j < K; j++) {
        double v = in[0].v[k + j * st];
        acc += v;
        ref[0].v[k + j * st] = op == AX_OP_CUMSUM ? acc : op == AX_OP_SOFTMAX ? exp(v - mx) / s : v - mx - log(s);
      }
    }
    break;
  }
  case K_MATMUL: {
    dbuf *A = &in[0], *B = &in[1];
    int64_t M = A->shape[A->ndim - 2], K = A->shape[A->ndim - 1], N = B->shape[B->ndim - 1];
    dbuf ab = {A->ndim - 2, {0}, 0, NULL}, bb = {B->ndim - 2, {0}, 0, NULL};
    memcpy(ab.shape, A->shape, sizeof(int64_t) * (size_t)ab.ndim);
    memcpy(bb.shape, B->shape, sizeof(int64_t) * (size_t)bb.ndim);
    int64_t os[AX_MAX_DIMS];
    int nd;
    bshape(&ab, &bb, os, &nd);
    int64_t nb = prod(os, nd);
    os[nd] = M;
    os[nd + 1] = N;
    ref[0] = dnew(os, nd + 2);
    for (int64_t bi = 0; bi < nb; bi++) {
      unravel(bi, os, nd, xi);
      int64_t oa = bcast_off(&ab, xi, nd) * M * K, ob = bcast_off(&bb, xi, nd) * K * N;
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          double s = 0;
          for (int64_t q = 0; q < K; q++) s += A->v[oa + i * K + q] * B->v[ob + q * N + j];
          ref[0].v[bi * M * N + i * N + j] = s;
        }
    }
    break;
  }
  case K_GATHER: case K_SCATTER: {
    dbuf *x = &in[0], *ix = &in[1];
    int d = (int)a->dim;
    if (op == AX_OP_GATHER) {
      ref[0] = dnew(ix->shape, ix->ndim);
      for (int64_t k = 0; k < ix->n; k++) {
        unravel(k, ix->shape, ix->ndim, xi);
        xi[d] = (int64_t)ix->v[k];
        int64_t off = 0;
        for (int q = 0; q < x->ndim; q++) off = off * x->shape[q] + xi[q];
        ref[0].v[k] = x->v[off];
      }
    } else {
      ref[0] = dnew(x->shape, x->ndim);
      memcpy(ref[0].v, x->v, sizeof(double) * (size_t)x->n);
      for (int64_t k = 0; k < ix->n; k++) {
        unravel(k, ix->shape, ix->ndim, xi);
        int64_t soff = 0;
        for (int q = 0; q < ix->ndim; q++) soff = soff * in[2].shape[q] + xi[q];
        xi[d] = (int64_t)ix->v[k];
        int64_t off = 0;
        for (int q = 0; q < x->ndim; q++) off = off * x->shape[q] + xi[q];
        ref[0].v[off] = a->reduce ? ref[0].v[off] + in[2].v[soff] : in[2].v[soff];
      }
    }
    break;
  }
  case K_ISEL: {
    dbuf *x = &in[0];
    int d = (int)a->dim;
    int64_t os[AX_MAX_DIMS];
    memcpy(os, x->shape, sizeof os);
    os[d] = in[1].n;
    ref[0] = dnew(os, x->ndim);
    for (int64_t k = 0; k < ref[0].n; k++) {
      unravel(k, os, x->ndim, xi);
      xi[d] = (int64_t)in[1].v[xi[d]];
      int64_t off = 0;
      for (int q = 0; q < x->ndim; q++) off = off * x->shape[q] + xi[q];
      ref[0].v[k] = x->v[off];
    }
    break;
  }
  case K_CAT: {
    int d = (int)(a->dim < 0 ? a->dim + in[0].ndim : a->dim);
    int64_t os[AX_MAX_DIMS];
    memcpy(os, in[0].shape, sizeof os);
    os[d] = 0;
    for (int i = 0; i < c->nin; i++) os[d] += in[i].shape[d];
    ref[0] = dnew(os, in[0].ndim);
    for (int64_t k = 0; k < ref[0].n; k++) {
      unravel(k, os, in[0].ndim, xi);
      int i = 0;
      while (xi[d] >= in[i].shape[d]) xi[d] -= in[i++].shape[d];
      int64_t off = 0;
      for (int q = 0; q < in[i].ndim; q++) off = off * in[i].shape[q] + xi[q];
      ref[0].v[k] = in[i].v[off];
    }
    break;
  }
  case K_SSCAT: {
    ref[0] = dnew(in[0].shape, in[0].ndim);
    memcpy(ref[0].v, in[0].v, sizeof(double) * (size_t)in[0].n);
    int64_t W = in[0].shape[1];
    for (int64_t r = 0; r < in[1].shape[0]; r++)
      for (int64_t j = 0; j < W; j++) ref[0].v[(a->start + r * a->step) * W + j] = in[1].v[r * W + j];
    break;
  }
  case K_CAST: case K_COPY:
    ref[0] = dnew(in[0].shape, in[0].ndim);
    memcpy(ref[0].v, in[0].v, sizeof(double) * (size_t)in[0].n);
    break;
  case K_RESHAPE:
    ref[0] = dnew(SH(4, in[0].n / 4));
    memcpy(ref[0].v, in[0].v, sizeof(double) * (size_t)in[0].n);
    break;
  case K_PERMUTE: {
    int64_t os[3] = {in[0].shape[2], in[0].shape[0], in[0].shape[1]};
    ref[0] = dnew(os, 3);
    for (int64_t k = 0; k < ref[0].n; k++) {
      unravel(k, os, 3, xi);   /* out[i, j, l] = x[j, l, i] */
      ref[0].v[k] = in[0].v[(xi[1] * in[0].shape[1] + xi[2]) * in[0].shape[2] + xi[0]];
    }
    break;
  }
  case K_SLICE: {
    int64_t W = in[0].shape[1], b = a->start == AX_SLICE_NONE ? 0 : (a->start < 0 ? a->start + W : a->start);
    int64_t e = a->stop == AX_SLICE_NONE ? W : (a->stop < 0 ? a->stop + W : a->stop);
    int64_t len = (e - b + a->step - 1) / a->step;
    ref[0] = dnew(SH(in[0].shape[0], len));
    for (int64_t r = 0; r < in[0].shape[0]; r++)
      for (int64_t j = 0; j < len; j++) ref[0].v[r * len + j] = in[0].v[r * W + b + j * a->step];
    break;
  }
  case K_EXPAND:
    ref[0] = dnew(SH(2, 3, 4));
    for (int64_t k = 0; k < ref[0].n; k++) ref[0].v[k] = in[0].v[(k / 4) % 3];
    break;
  case K_NONE: break;
  }
  for (int i = 0; i < c->nin; i++) dfree(&in[i]);
  return nout;
}

/* ---------------- checks ---------------- */

static double tol_for(ax_dtype dt) {
  switch (dt) {
  case AX_FLOAT64: return 1e-10;
  case AX_FLOAT32: return 2e-5;
  case AX_FLOAT16: return 4e-3;
  case AX_BFLOAT16: return 3e-2;
  default: return 0;
  }
}

static void compare(const char *what, const dbuf *ref, ax_tensor *got, double tol) {
  checks++;
  char sa[160], sb[160];
  if (got->ndim != ref->ndim || memcmp(got->shape, ref->shape, sizeof(int64_t) * (size_t)ref->ndim)) {
    FAIL("%s: shape %s, expected %s", what, ax_shape_str(got->shape, got->ndim, sa, sizeof sa),
         ax_shape_str(ref->shape, ref->ndim, sb, sizeof sb));
    return;
  }
  dbuf g = dload(got);
  for (int64_t k = 0; k < g.n; k++) {
    double r = ref->v[k], v = g.v[k];
    if (isnan(r) && isnan(v)) continue;
    if (fabs(r - v) > tol * (1 + fabs(r))) {
      FAIL("%s: element %lld = %.10g, expected %.10g", what, (long long)k, v, r);
      break;
    }
  }
  dfree(&g);
}

/* The reference of halves is taken on the rounded inputs, so only output rounding counts;
** transcendental float32 results get a slightly looser bound. */
static void check_forward(ax_op op, ax_dtype dt) {
  tcase c;
  for (int k = 0; make_case(op, k, dt, &c); k++) {
    ax_tensor *out[2] = {0};
    ax_err e;
    char what[128];
    snprintf(what, sizeof what, "%s/%s case %d", ax_op_name(op), ax_dtype_name(dt), k);
    if (ax_op_call(op, c.in, c.nin, &c.at, out, &e)) {
      FAIL("%s: error %s", what, e.msg);
      case_free(&c);
      continue;
    }
    dbuf ref[2] = {0};
    int nout = reference(op, &c, ref);
    ax_dtype odt = out[0]->dtype;
    double tol = tol_for(ax_dtype_is_float(odt) ? odt : AX_INT64);
    if (op == AX_OP_POW || op == AX_OP_EXP) tol *= 4;
    if (kind_of(op) == K_CAST) { ax_tensor *t; ax_cast(c.in[0], dt, &t, &e); ax_tensor_release(t); }
    compare(what, &ref[0], out[0], tol);
    if (nout > 1) {
      if (!out[1]) FAIL("%s: missing indices output", what);
      else compare(what, &ref[1], out[1], 0);
    }
    for (int i = 0; i < nout; i++) dfree(&ref[i]);
    ax_tensor_release(out[0]);
    ax_tensor_release(out[1]);
    case_free(&c);
  }
}

/* loss(x) = sum(op(x) * w) in float64; central differences vs. ax_backward. */
static double loss_of(ax_op op, tcase *c, ax_tensor *w, ax_err *e) {
  ax_tensor *out[2] = {0}, *m = NULL;
  double v = NAN;
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);
  if (!ax_op_call(op, c->in, c->nin, &c->at, out, e) && !ax_mul(out[0], w, &m, e)) {
    dbuf d = dload(m);
    v = 0;
    for (int64_t k = 0; k < d.n; k++) v += d.v[k];
    dfree(&d);
  }
  ax_set_grad_enabled(was);
  ax_tensor_release(m);
  ax_tensor_release(out[0]);
  ax_tensor_release(out[1]);
  return v;
}

static void check_grad(ax_op op) {
  tcase c;
  for (int k = 0; make_case(op, k, AX_FLOAT64, &c); k++) {
    char what[128];
    snprintf(what, sizeof what, "grad %s case %d", ax_op_name(op), k);
    ax_err e;
    ax_tensor *params[4] = {0};
    /* differentiable inputs become contiguous float64 leaves (so they can be perturbed) */
    for (int i = 0; i < c.nin; i++) {
      if (!(c.diff >> i & 1) || !ax_dtype_is_float(c.in[i]->dtype)) continue;
      ax_tensor *cp;
      ax_copy(c.in[i], &cp, &e);
      ax_param(cp, &params[i], &e);
      ax_tensor_release(cp);
      ax_tensor_release(c.in[i]);
      c.in[i] = params[i];
    }
    ax_tensor *out[2] = {0}, *w = NULL, *m = NULL, *l = NULL;
    if (ax_op_call(op, c.in, c.nin, &c.at, out, &e)) {
      FAIL("%s: forward error %s", what, e.msg);
      case_free(&c);
      continue;
    }
    w = mk(out[0]->shape, out[0]->ndim, AX_FLOAT64, -1, 1, 0);
    if (ax_mul(out[0], w, &m, &e) || ax_sum(m, NULL, 0, 0, &l, &e) || ax_backward(l, NULL, &e)) {
      FAIL("%s: backward error %s", what, e.msg);
    } else {
      for (int i = 0; i < c.nin; i++) {
        if (!params[i]) continue;
        checks++;
        if (!params[i]->grad) { FAIL("%s: input %d got no gradient", what, i); continue; }
        dbuf ga = dload(params[i]->grad);
        double *data = (double *)params[i]->storage->data + params[i]->offset;
        for (int64_t j = 0; j < ga.n; j++) {
          double x0 = data[j], h = 1e-6;
          data[j] = x0 + h;
          double lp = loss_of(op, &c, w, &e);
          data[j] = x0 - h;
          double lm = loss_of(op, &c, w, &e);
          data[j] = x0;
          double num = (lp - lm) / (2 * h);
          if (fabs(num - ga.v[j]) > 1e-5 * (1 + fabs(num))) {
            FAIL("%s: d/dinput%d[%lld] = %.8g, numeric %.8g", what, i, (long long)j, ga.v[j], num);
            break;
          }
        }
        dfree(&ga);
      }
    }
    ax_tensor_release(l);
    ax_tensor_release(m);
    ax_tensor_release(w);
    ax_tensor_release(out[0]);
    ax_tensor_release(out[1]);
    case_free(&c);
  }
}

/* The reference GEMM (ANX_BLAS=OFF builds) against a float64 triple loop, with leading
** dimensions larger than the matrices. */
static void check_gemm_ref(void) {
  static const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {64, 64, 64}};
  for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
    int64_t M = sizes[t][0], N = sizes[t][1], K = sizes[t][2], lda = K + 3, ldb = N + 2, ldc = N + 1;
    float *A = malloc(sizeof(float) * (size_t)(M * lda)), *B = malloc(sizeof(float) * (size_t)(K * ldb));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc));
    double *A64 = malloc(sizeof(double) * (size_t)(M * lda)), *B64 = malloc(sizeof(double) * (size_t)(K * ldb));
    double *C64 = malloc(sizeof(double) * (size_t)(M * ldc));
    for (int64_t i = 0; i < M * lda; i++) A64[i] = A[i] = (float)(urand() * 2 - 1);
    for (int64_t i = 0; i < K * ldb; i++) B64[i] = B[i] = (float)(urand() * 2 - 1);
    cpu_gemm_ref_f32(M, N, K, A, lda, B, ldb, C, ldc);
    cpu_gemm_ref_f64(M, N, K, A64, lda, B64, ldb, C64, ldc);
    checks++;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double r = 0;
        for (int64_t q = 0; q < K; q++) r += A64[i * lda + q] * B64[q * ldb + j];
        if (fabs(C64[i * ldc + j] - r) > 1e-12 * (1 + fabs(r)) || fabs(C[i * ldc + j] - r) > 1e-4 * (1 + fabs(r))) {
          FAIL("gemm_ref %lldx%lldx%lld: C[%lld, %lld] = %g / %g, expected %g", (long long)M, (long long)N,
               (long long)K, (long long)i, (long long)j, C[i * ldc + j], C64[i * ldc + j], r);
          i = M;
          break;
        }
      }
    free(A); free(B); free(C); free(A64); free(B64); free(C64);
  }
}

static int completeness(void) {
  int bad = 0;
  for (int op = 0; op < AX_OP_COUNT; op++) {
    const ax_op_info *r = &ax_op_table[op];
    if (!ax_cpu_kernel((ax_op)op)) { printf("MISSING cpu kernel: %s\n", r->name); bad++; }
    if (r->differentiable && !ax_grad_rule_of((ax_op)op)) { printf("MISSING backward rule: %s\n", r->name); bad++; }
    /* neural rows (>= AX_OP_CORE_END) are checked against references in tests/unit_nn */
    if (op < AX_OP_CORE_END && kind_of((ax_op)op) == K_NONE) { printf("MISSING test case: %s\n", r->name); bad++; }
  }
  printf("%d ops, %d missing\n", AX_OP_COUNT, bad);
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "complete")) return completeness();
  const char *only = argc > 1 ? argv[1] : NULL;
  for (int op = 0; op < AX_OP_CORE_END; op++) {
    if (only && strcmp(only, ax_op_table[op].name)) continue;
    kind kd = kind_of((ax_op)op);
    check_forward((ax_op)op, AX_FLOAT32);
    check_forward((ax_op)op, AX_FLOAT64);
    if (kd != K_CAST) {   /* halves: every family (compute in float32, rounded on store) */
      check_forward((ax_op)op, AX_FLOAT16);
      check_forward((ax_op)op, AX_BFLOAT16);
    }
    if (ax_op_table[op].differentiable) check_grad((ax_op)op);
  }
  if (!only) check_gemm_ref();
  ax_cpu_cache_clear();
  if (ax_mem_live() != 0) FAIL("leak: %zu bytes still allocated after all ops", ax_mem_live());
  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
