/* runtime/ax_grad_rules.c — one backward rule per differentiable op row, written with forward
** ops so every backend gets them. A rule returns dL/dinput for each input that requires grad;
** broadcasting is undone and dtypes are matched by the engine (ax_autograd.c).
** Invariant: the table has an entry for every row with differentiable = 1 (tests/ops checks). */
#include <math.h>
#include <string.h>

#include "ax_autograd.h"
#if defined(__has_include) && !defined(AX_NO_NN_ROWS)   /* -DAX_NO_NN_ROWS: core rows only */
#if __has_include("neural/ax_nn_dispatch.h")
#include "neural/ax_nn_dispatch.h"
#endif
#endif

/* Expression context: ops return NULL after the first error, temporaries are released at the
** end, so a rule reads like the formula it implements. */
typedef struct {
  ax_err *err;
  ax_status s;
  ax_tensor *tmp[48];
  int n;
} gx;

static ax_tensor *keep(gx *c, ax_tensor *t) {
  if (c->n < 48) c->tmp[c->n++] = t;
  return t;
}

typedef ax_status (*bin_fn)(ax_tensor *, ax_tensor *, ax_tensor **, ax_err *);
typedef ax_status (*un_fn)(ax_tensor *, ax_tensor **, ax_err *);

static ax_tensor *B(gx *c, bin_fn f, ax_tensor *a, ax_tensor *b) {
  ax_tensor *o = NULL;
  if (c->s || !a || !b) return NULL;
  if ((c->s = f(a, b, &o, c->err))) return NULL;
  return keep(c, o);
}

static ax_tensor *U(gx *c, un_fn f, ax_tensor *a) {
  ax_tensor *o = NULL;
  if (c->s || !a) return NULL;
  if ((c->s = f(a, &o, c->err))) return NULL;
  return keep(c, o);
}

static ax_tensor *K(gx *c, double v) {   /* a wrapped number: keeps the other operand's dtype */
  ax_tensor *o = NULL;
  if (c->s) return NULL;
  if ((c->s = ax_scalar_f64(v, &o, c->err))) return NULL;
  return keep(c, o);
}

/* Adopt the result of any call: T(c, ax_f(..., &o, err), &o). The pointer is read after the
** call ran (argument evaluation order is unspecified in C). */
static ax_tensor *T(gx *c, ax_status s, ax_tensor **po) {
  if (c->s) return NULL;
  if ((c->s = s)) return NULL;
  return keep(c, *po);
}

static void give(gx *c, ax_tensor **gin, int i, ax_tensor *t) {
  if (!c->s && t) gin[i] = ax_tensor_retain(t);
}

static ax_status finish(gx *c) {
  for (int i = 0; i < c->n; i++) ax_tensor_release(c->tmp[i]);
  return c->s;
}

#define RULE(name) static ax_status name(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err)
#define BEGIN gx c_ = {err, AX_OK, {0}, 0}; gx *c = &c_; ax_tensor *x = n->in[0]; (void)x;
#define NEED(i) (n->in[i]->requires_grad)
#define END return finish(c);
#define ADD(a, b) B(c, ax_add, a, b)
#define SUB(a, b) B(c, ax_sub, a, b)
#define MUL(a, b) B(c, ax_mul, a, b)
#define DIV(a, b) B(c, ax_div, a, b)

/* ---- elementwise ---- */
RULE(g_neg) { BEGIN give(c, gin, 0, U(c, ax_neg, g)); END }
RULE(g_abs) { BEGIN give(c, gin, 0, MUL(g, U(c, ax_sign, x))); END }
RULE(g_exp) { BEGIN give(c, gin, 0, MUL(g, n->out)); END }
RULE(g_log) { BEGIN give(c, gin, 0, DIV(g, x)); END }
RULE(g_sqrt) { BEGIN give(c, gin, 0, DIV(g, MUL(n->out, K(c, 2)))); END }
RULE(g_rsqrt) { BEGIN give(c, gin, 0, MUL(g, MUL(MUL(n->out, MUL(n->out, n->out)), K(c, -0.5)))); END }
RULE(g_sin) { BEGIN give(c, gin, 0, MUL(g, U(c, ax_cos, x))); END }
RULE(g_cos) { BEGIN give(c, gin, 0, U(c, ax_neg, MUL(g, U(c, ax_sin, x)))); END }
RULE(g_tanh) { BEGIN give(c, gin, 0, MUL(g, SUB(K(c, 1), MUL(n->out, n->out)))); END }
RULE(g_sigmoid) { BEGIN give(c, gin, 0, MUL(g, MUL(n->out, SUB(K(c, 1), n->out)))); END }
/* relu, gelu and silu go through the activation_backward row (one pass) on backends that have
** it; the compositions below are the fallback and the definition. */
static int act_bwd_row(const ax_node *n, ax_tensor *g, ax_tensor **gin, int kind, ax_status *st, ax_err *err) {
  ax_tensor *x = n->in[0];
  if (g->dtype != x->dtype || g->ndim != x->ndim || memcmp(g->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim) ||
      (x->dtype != AX_FLOAT32 && x->dtype != AX_FLOAT64))
    return 0;
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = kind;
  ax_tensor *in[2] = {x, g}, *out[AX_MAX_OUTPUTS] = {0};
  ax_err e;
  ax_status s = ax_op_call(AX_OP_ACT_BWD, in, 2, &at, out, &e);
  if (s == AX_E_UNSUPPORTED) return 0;
  if (s) *err = e;
  else gin[0] = out[0];
  *st = s;
  return 1;
}

RULE(g_relu) {
  ax_status st;
  if (act_bwd_row(n, g, gin, 0, &st, err)) return st;
  BEGIN give(c, gin, 0, MUL(g, B(c, ax_gt, x, K(c, 0)))); END
}
RULE(g_gelu) {
  ax_status st;
  if (act_bwd_row(n, g, gin, 1, &st, err)) return st;
  BEGIN
  /* d/dx x*Phi(x) = Phi(x) + x*phi(x) */
  ax_tensor *cdf = MUL(ADD(U(c, ax_erf, MUL(x, K(c, M_SQRT1_2))), K(c, 1)), K(c, 0.5));
  ax_tensor *pdf = MUL(U(c, ax_exp, MUL(MUL(x, x), K(c, -0.5))), K(c, 0.3989422804014327));
  give(c, gin, 0, MUL(g, ADD(cdf, MUL(x, pdf))));
  END
}
RULE(g_silu) {
  ax_status st;
  if (act_bwd_row(n, g, gin, 2, &st, err)) return st;
  BEGIN
  ax_tensor *sg = U(c, ax_sigmoid, x);
  give(c, gin, 0, MUL(g, MUL(sg, ADD(K(c, 1), MUL(x, SUB(K(c, 1), sg))))));
  END
}
RULE(g_erf) { BEGIN give(c, gin, 0, MUL(g, MUL(U(c, ax_exp, U(c, ax_neg, MUL(x, x))), K(c, 1.1283791670955126)))); END }
RULE(g_zero) { BEGIN give(c, gin, 0, MUL(g, K(c, 0))); END }   /* floor ceil round sign */
RULE(g_clamp) {
  BEGIN
  const ax_attrs *a = &n->attrs;
  ax_tensor *m = NULL;
  if (a->has_a) m = B(c, ax_ge, x, K(c, a->a));
  if (a->has_b) {
    ax_tensor *hi = B(c, ax_le, x, K(c, a->b));
    m = m ? B(c, ax_logical_and, m, hi) : hi;
  }
  give(c, gin, 0, m ? MUL(g, m) : g);
  END
}

RULE(g_add) { BEGIN give(c, gin, 0, g); give(c, gin, 1, g); END }
RULE(g_sub) { BEGIN give(c, gin, 0, g); if (NEED(1)) give(c, gin, 1, U(c, ax_neg, g)); END }
RULE(g_mul) {
  BEGIN
  if (NEED(0)) give(c, gin, 0, MUL(g, n->in[1]));
  if (NEED(1)) give(c, gin, 1, MUL(g, x));
  END
}
RULE(g_div) {
  BEGIN
  ax_tensor *b = n->in[1];
  if (NEED(0)) give(c, gin, 0, DIV(g, b));
  if (NEED(1)) give(c, gin, 1, U(c, ax_neg, DIV(MUL(g, x), MUL(b, b))));
  END
}
RULE(g_pow) {
  BEGIN
  ax_tensor *b = n->in[1];
  if (NEED(0)) give(c, gin, 0, MUL(g, MUL(b, B(c, ax_pow, x, SUB(b, K(c, 1))))));
  if (NEED(1)) {   /* d/db a^b = a^b log a, taken as 0 where a == 0 (as PyTorch) */
    ax_tensor *t = MUL(g, MUL(n->out, U(c, ax_log, x)));
    ax_tensor *w = NULL, *z = B(c, ax_eq, x, K(c, 0));
    if (!c->s) w = T(c, ax_masked_fill(t, z, 0, &w, c->err), &w);
    give(c, gin, 1, w);
  }
  END
}
static ax_status minmax_rule(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err, bin_fn win) {
  BEGIN
  ax_tensor *b = n->in[1];
  ax_tensor *half = MUL(MUL(g, B(c, ax_eq, x, b)), K(c, 0.5));   /* ties split evenly */
  if (NEED(0)) give(c, gin, 0, ADD(MUL(g, B(c, win, x, b)), half));
  if (NEED(1)) give(c, gin, 1, ADD(MUL(g, B(c, win, b, x)), half));
  END
}
RULE(g_maximum) { return minmax_rule(n, g, gin, err, ax_gt); }
RULE(g_minimum) { return minmax_rule(n, g, gin, err, ax_lt); }
RULE(g_where) {
  BEGIN
  ax_tensor *cond = n->in[0], *z = K(c, 0), *o1 = NULL, *o2 = NULL;
  if (NEED(1) && !c->s) give(c, gin, 1, T(c, ax_where(cond, g, z, &o1, err), &o1));
  if (NEED(2) && !c->s) give(c, gin, 2, T(c, ax_where(cond, z, g, &o2, err), &o2));
  END
}
RULE(g_masked_fill) {
  BEGIN
  ax_tensor *o = NULL;
  if (!c->s) o = T(c, ax_masked_fill(g, n->in[1], 0, &o, err), &o);
  give(c, gin, 0, o);
  END
}

/* ---- reductions ---- */

/* g reshaped to the keepdim shape of the reduction, then expanded to x's shape. */
static ax_tensor *expand_back(gx *c, const ax_node *n, ax_tensor *g, int single_dim) {
  const ax_tensor *x = n->in[0];
  const ax_attrs *a = &n->attrs;
  int mask[AX_MAX_DIMS] = {0};
  if (single_dim) {
    int d;
    if (a->has_dim && x->ndim && !ax_norm_dim("backward", a->dim, x->ndim, &d, NULL)) mask[d] = 1;
    else for (int i = 0; i < x->ndim; i++) mask[i] = 1;
  } else if (a->ndims == 0) {
    for (int i = 0; i < x->ndim; i++) mask[i] = 1;
  } else {
    for (int i = 0; i < a->ndims; i++) {
      int d;
      if (!ax_norm_dim("backward", a->dims[i], x->ndim, &d, NULL) && x->ndim) mask[d] = 1;
    }
  }
  int64_t ks[AX_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) ks[i] = mask[i] ? 1 : x->shape[i];
  ax_tensor *r = NULL, *e = NULL;
  if (c->s || !g) return NULL;
  r = T(c, ax_reshape(g, ks, x->ndim, &r, c->err), &r);
  if (!r) return NULL;
  return T(c, ax_expand(r, x->shape, x->ndim, &e, c->err), &e);
}

static double count_reduced(const ax_node *n) {
  int64_t on = 1;
  for (int i = 0; i < n->ndim; i++) on *= n->shape[i];
  int64_t xn = ax_numel(n->in[0]);
  return on ? (double)xn / (double)on : 0;
}

RULE(g_sum) { BEGIN give(c, gin, 0, expand_back(c, n, g, 0)); END }
RULE(g_mean) { BEGIN give(c, gin, 0, DIV(expand_back(c, n, g, 0), K(c, count_reduced(n)))); END }
static ax_status var_std_rule(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err, int is_std) {
  BEGIN
  const ax_attrs *a = &n->attrs;
  double den = count_reduced(n) - a->a;
  ax_tensor *m = NULL;
  if (!c->s) m = T(c, ax_mean(x, a->dims, a->ndims, 1, &m, err), &m);
  ax_tensor *d = SUB(x, m);
  if (!is_std) give(c, gin, 0, MUL(MUL(d, expand_back(c, n, g, 0)), K(c, 2.0 / den)));
  else give(c, gin, 0, MUL(MUL(d, expand_back(c, n, DIV(g, n->out), 0)), K(c, 1.0 / den)));
  END
}
RULE(g_var) { return var_std_rule(n, g, gin, err, 0); }
RULE(g_std) { return var_std_rule(n, g, gin, err, 1); }
static ax_status max_min_rule(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  BEGIN
  if (n->attrs.has_dim) {   /* route g to the recorded indices */
    ax_tensor *idx = NULL, *z = NULL, *o = NULL;
    const ax_tensor *xx = n->in[0];
    int64_t ks[AX_MAX_DIMS];
    int d = 0;
    if (xx->ndim) ax_norm_dim("backward", n->attrs.dim, xx->ndim, &d, NULL);
    for (int i = 0; i < xx->ndim; i++) ks[i] = i == d ? 1 : xx->shape[i];
    ax_tensor *gk = NULL;
    if (!c->s) gk = T(c, ax_reshape(g, ks, xx->ndim, &gk, err), &gk);
    if (!c->s) idx = T(c, ax_reshape(n->aux[0], ks, xx->ndim, &idx, err), &idx);
    if (!c->s) z = T(c, ax_zeros_like(x, &z, err), &z);
    if (!c->s) o = T(c, xx->ndim ? ax_scatter_add(z, d, idx, gk, &o, err) : ax_add(z, g, &o, err), &o);
    give(c, gin, 0, o);
  } else {   /* whole-tensor max: split among ties */
    ax_tensor *m = B(c, ax_eq, x, n->out), *cnt = NULL;
    if (!c->s) cnt = T(c, ax_sum(m, NULL, 0, 0, &cnt, err), &cnt);
    give(c, gin, 0, MUL(m, DIV(g, cnt)));
  }
  END
}
RULE(g_max) { return max_min_rule(n, g, gin, err); }
RULE(g_min) { return max_min_rule(n, g, gin, err); }
RULE(g_norm) {
  BEGIN
  double p = n->attrs.a;
  ax_tensor *ge = expand_back(c, n, g, 0), *oe = expand_back(c, n, n->out, 0);
  if (isinf(p)) {   /* gradient goes to the entries at max |x| (split among ties) */
    ax_tensor *ax_ = U(c, ax_abs, x), *m = B(c, ax_eq, ax_, oe), *cnt = NULL;
    if (!c->s) cnt = T(c, ax_sum(m, n->attrs.dims, n->attrs.ndims, 1, &cnt, err), &cnt);
    give(c, gin, 0, MUL(MUL(U(c, ax_sign, x), m), DIV(ge, cnt)));
  } else if (p == 2) {   /* x / |x|, taken as 0 where the norm is 0 (as PyTorch) */
    ax_tensor *q = DIV(x, oe), *z = B(c, ax_eq, oe, K(c, 0)), *qz = NULL;
    if (!c->s) qz = T(c, ax_masked_fill(q, z, 0, &qz, err), &qz);
    give(c, gin, 0, MUL(ge, qz));
  } else {
    ax_tensor *num = MUL(U(c, ax_sign, x), B(c, ax_pow, U(c, ax_abs, x), K(c, p - 1)));
    give(c, gin, 0, MUL(ge, DIV(num, B(c, ax_pow, oe, K(c, p - 1)))));
  }
  END
}
RULE(g_prod) {
  /* d out / d x_i = product of the other elements: prod(x with zeros as 1) / x_i, kept only where
  ** the group has no zero, or for the single zero of a group with exactly one */
  BEGIN
  const ax_attrs *a = &n->attrs;
  ax_tensor *z = B(c, ax_eq, x, K(c, 0)), *one = K(c, 1), *xs = NULL, *pn = NULL, *nz = NULL;
  if (!c->s) xs = T(c, ax_where(z, one, x, &xs, err), &xs);
  if (!c->s) pn = T(c, ax_prod(xs, a->dims, a->ndims, 1, &pn, err), &pn);
  if (!c->s) nz = T(c, ax_sum(z, a->dims, a->ndims, 1, &nz, err), &nz);
  ax_tensor *ok = B(c, ax_logical_or, B(c, ax_eq, nz, K(c, 0)), B(c, ax_logical_and, B(c, ax_eq, nz, K(c, 1)), z));
  give(c, gin, 0, MUL(MUL(expand_back(c, n, g, 0), DIV(pn, xs)), ok));
  END
}
RULE(g_cumsum) {   /* reverse cumsum: sum(g) - cumsum(g) + g */
  BEGIN
  ax_tensor *tot = NULL, *cs = NULL;
  int64_t d = n->attrs.dim;
  if (!c->s) tot = T(c, ax_sum(g, &d, 1, 1, &tot, err), &tot);
  if (!c->s) cs = T(c, ax_cumsum(g, d, &cs, err), &cs);
  give(c, gin, 0, ADD(SUB(tot, cs), g));
  END
}
RULE(g_softmax) {
  BEGIN
  ax_tensor *s = NULL;
  int64_t d = n->attrs.dim;
  ax_tensor *go = MUL(g, n->out);
  if (!c->s) s = T(c, ax_sum(go, &d, 1, 1, &s, err), &s);
  give(c, gin, 0, MUL(n->out, SUB(g, s)));
  END
}
RULE(g_log_softmax) {
  BEGIN
  ax_tensor *s = NULL;
  int64_t d = n->attrs.dim;
  if (!c->s) s = T(c, ax_sum(g, &d, 1, 1, &s, err), &s);
  give(c, gin, 0, SUB(g, MUL(U(c, ax_exp, n->out), s)));
  END
}

/* ---- matmul: a [..., M, K] @ b [..., K, N] ---- */
RULE(g_matmul) {
  BEGIN
  ax_tensor *b = n->in[1], *bt = NULL, *at = NULL;
  if (NEED(0) && !c->s) bt = T(c, ax_transpose(b, -1, -2, &bt, err), &bt);
  if (NEED(0)) give(c, gin, 0, B(c, ax_matmul, g, bt));
  if (NEED(1) && b->ndim == 2 && x->ndim > 2 && g->ndim == x->ndim) {
    /* b shared by every batch: dL/db = a^T g over all rows at once, [K, B*M] @ [B*M, N] */
    int64_t K = x->shape[x->ndim - 1], N = g->shape[g->ndim - 1];
    ax_tensor *a2 = NULL, *g2 = NULL, *a2t = NULL;
    if (!c->s) a2 = T(c, ax_reshape(x, (int64_t[]){-1, K}, 2, &a2, err), &a2);
    if (!c->s) g2 = T(c, ax_reshape(g, (int64_t[]){-1, N}, 2, &g2, err), &g2);
    if (!c->s) a2t = T(c, ax_transpose(a2, 0, 1, &a2t, err), &a2t);
    give(c, gin, 1, B(c, ax_matmul, a2t, g2));
  } else if (NEED(1)) {
    if (!c->s) at = T(c, ax_transpose(x, -1, -2, &at, err), &at);
    give(c, gin, 1, B(c, ax_matmul, at, g));
  }
  END
}

/* ---- indexing ---- */
RULE(g_gather) {
  BEGIN
  ax_tensor *z = NULL, *o = NULL;
  if (!c->s) z = T(c, ax_zeros_like(x, &z, err), &z);
  if (!c->s) o = T(c, ax_scatter_add(z, n->attrs.dim, n->in[1], g, &o, err), &o);
  give(c, gin, 0, o);
  END
}
RULE(g_scatter) {
  BEGIN
  ax_tensor *idx = n->in[1], *src = n->in[2], *o = NULL, *zs = NULL, *gs = NULL;
  if (NEED(0)) {
    if (n->attrs.reduce) give(c, gin, 0, g);
    else {   /* overwritten positions get no gradient */
      if (!c->s) zs = T(c, ax_zeros_like(src, &zs, err), &zs);
      if (!c->s) o = T(c, ax_scatter(g, n->attrs.dim, idx, zs, &o, err), &o);
      give(c, gin, 0, o);
    }
  }
  if (NEED(2)) {   /* gather(g) covers the index's extent of src; the rest of src is unused: 0 */
    if (!c->s) gs = T(c, ax_gather(g, n->attrs.dim, idx, &gs, err), &gs);
    for (int i = 0; i < src->ndim && gs; i++) {
      if (gs->shape[i] == src->shape[i]) continue;
      int64_t zsh[AX_MAX_DIMS];
      memcpy(zsh, gs->shape, sizeof(int64_t) * (size_t)gs->ndim);
      zsh[i] = src->shape[i] - gs->shape[i];
      ax_tensor *zp = NULL, *cat = NULL;
      if (!c->s) zp = T(c, ax_full_on(zsh, gs->ndim, 0, gs->dtype, gs->storage->device, &zp, err), &zp);
      if (!c->s) cat = T(c, ax_cat((ax_tensor *[]){gs, zp}, 2, i, &cat, err), &cat);
      gs = cat;
    }
    give(c, gin, 2, gs);
  }
  END
}
RULE(g_index_select) {
  BEGIN
  /* index_add: the 1-d index is laid along dim and expanded to g's shape for scatter_add */
  ax_tensor *idx = n->in[1], *ir = NULL, *ie = NULL, *z = NULL, *o = NULL;
  int d = 0;
  if (x->ndim) ax_norm_dim("backward", n->attrs.dim, x->ndim, &d, NULL);
  int64_t sh[AX_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) sh[i] = i == d ? ax_numel(idx) : 1;
  if (!c->s) ir = T(c, ax_reshape(idx, sh, x->ndim, &ir, err), &ir);
  if (!c->s) ie = T(c, ax_expand(ir, g->shape, g->ndim, &ie, err), &ie);
  if (!c->s) z = T(c, ax_zeros_like(x, &z, err), &z);
  if (!c->s) o = T(c, ax_scatter_add(z, d, ie, g, &o, err), &o);
  give(c, gin, 0, o);
  END
}
RULE(g_cat) {
  BEGIN
  int d = 0;
  const ax_tensor *ref = NULL;
  for (int i = 0; i < n->nin; i++)
    if (!(n->in[i]->ndim == 1 && n->in[i]->shape[0] == 0)) { ref = n->in[i]; break; }
  if (ref) ax_norm_dim("backward", n->attrs.dim, ref->ndim, &d, NULL);
  int64_t off = 0;
  for (int i = 0; i < n->nin && ref; i++) {
    const ax_tensor *t = n->in[i];
    if (t->ndim != ref->ndim) continue;
    ax_tensor *v = NULL;
    if (NEED(i) && !c->s) v = T(c, ax_narrow(g, d, off, t->shape[d], &v, err), &v);
    give(c, gin, i, v);
    off += t->shape[d];
  }
  END
}
RULE(g_slice_scatter) {
  BEGIN
  const ax_attrs *a = &n->attrs;
  ax_tensor *src = n->in[1], *z = NULL, *o = NULL, *v = NULL;
  if (NEED(0)) {
    if (!c->s) z = T(c, ax_zeros_like(src, &z, err), &z);
    if (!c->s) o = T(c, ax_slice_scatter(g, z, a->dim, a->start, a->stop, a->step, &o, err), &o);
    give(c, gin, 0, o);
  }
  if (NEED(1) && !c->s) v = T(c, ax_slice(g, a->dim, a->start, a->stop, a->step, &v, err), &v);
  give(c, gin, 1, v);
  END
}

/* ---- conversion and views ---- */
RULE(g_identity) { BEGIN give(c, gin, 0, g); END }   /* cast: the engine casts back */
RULE(g_copy) {
  BEGIN
  ax_tensor *o = NULL;
  if (!c->s) o = T(c, ax_to(g, x->storage->device, &o, err), &o);
  give(c, gin, 0, o);
  END
}
RULE(g_reshape) {
  BEGIN
  ax_tensor *o = NULL;
  if (!c->s) o = T(c, ax_reshape(g, x->shape, x->ndim, &o, err), &o);
  give(c, gin, 0, o);
  END
}
RULE(g_permute) {
  BEGIN
  int64_t inv[AX_MAX_DIMS];
  for (int i = 0; i < n->attrs.ndims; i++) {
    int d = 0;
    ax_norm_dim("backward", n->attrs.dims[i], x->ndim, &d, NULL);
    inv[d] = i;
  }
  ax_tensor *o = NULL;
  if (!c->s) o = T(c, ax_permute(g, inv, x->ndim, &o, err), &o);
  give(c, gin, 0, o);
  END
}
RULE(g_slice) {
  BEGIN
  const ax_attrs *a = &n->attrs;
  int d = 0;
  ax_norm_dim("backward", a->dim, x->ndim, &d, NULL);
  int64_t b = a->start, e = a->stop, len;
  ax_slice_bounds(x->shape[d], &b, &e, a->step, &len);
  ax_tensor *z = NULL, *o = NULL;
  if (!c->s) z = T(c, ax_full_on(x->shape, x->ndim, 0, g->dtype, g->storage->device, &z, err), &z);
  if (!c->s) o = T(c, ax_slice_scatter(z, g, d, b, e, a->step, &o, err), &o);
  give(c, gin, 0, o);
  END
}
RULE(g_expand) { BEGIN give(c, gin, 0, g); END }   /* the engine sums g down to x's shape */

const ax_grad_rule ax_grad_rules[AX_OP_COUNT] = {
    [AX_OP_NEG] = g_neg, [AX_OP_ABS] = g_abs, [AX_OP_EXP] = g_exp, [AX_OP_LOG] = g_log,
    [AX_OP_SQRT] = g_sqrt, [AX_OP_RSQRT] = g_rsqrt, [AX_OP_SIN] = g_sin, [AX_OP_COS] = g_cos,
    [AX_OP_TANH] = g_tanh, [AX_OP_SIGMOID] = g_sigmoid, [AX_OP_RELU] = g_relu,
    [AX_OP_GELU] = g_gelu, [AX_OP_SILU] = g_silu, [AX_OP_ERF] = g_erf, [AX_OP_FLOOR] = g_zero,
    [AX_OP_CEIL] = g_zero, [AX_OP_ROUND] = g_zero, [AX_OP_SIGN] = g_zero, [AX_OP_CLAMP] = g_clamp,
    [AX_OP_ADD] = g_add, [AX_OP_SUB] = g_sub, [AX_OP_MUL] = g_mul, [AX_OP_DIV] = g_div,
    [AX_OP_POW] = g_pow, [AX_OP_MAXIMUM] = g_maximum, [AX_OP_MINIMUM] = g_minimum,
    [AX_OP_WHERE] = g_where, [AX_OP_MASKED_FILL] = g_masked_fill,
    [AX_OP_SUM] = g_sum, [AX_OP_MEAN] = g_mean, [AX_OP_VAR] = g_var, [AX_OP_STD] = g_std,
    [AX_OP_MAX] = g_max, [AX_OP_MIN] = g_min, [AX_OP_NORM] = g_norm, [AX_OP_PROD] = g_prod,
    [AX_OP_CUMSUM] = g_cumsum, [AX_OP_SOFTMAX] = g_softmax, [AX_OP_LOG_SOFTMAX] = g_log_softmax,
    [AX_OP_MATMUL] = g_matmul, [AX_OP_GATHER] = g_gather, [AX_OP_SCATTER] = g_scatter,
    [AX_OP_INDEX_SELECT] = g_index_select, [AX_OP_CAT] = g_cat,
    [AX_OP_SLICE_SCATTER] = g_slice_scatter, [AX_OP_CAST] = g_identity, [AX_OP_COPY] = g_copy,
    [AX_OP_RESHAPE] = g_reshape, [AX_OP_PERMUTE] = g_permute, [AX_OP_SLICE] = g_slice,
    [AX_OP_EXPAND] = g_expand,
#ifdef AX_NN_GRAD_RULES
    AX_NN_GRAD_RULES
#endif
};

/* Inputs whose values the rule reads (an in-place write to them before backward is an error).
** Rules that only need shapes, the output, or nothing are 0; integer index/mask inputs count. */
unsigned ax_grad_saved_inputs(ax_op op) {
  switch (op) {
  case AX_OP_ADD: case AX_OP_SUB: case AX_OP_NEG: case AX_OP_SUM: case AX_OP_MEAN: case AX_OP_CUMSUM:
  case AX_OP_EXP: case AX_OP_SQRT: case AX_OP_RSQRT: case AX_OP_TANH: case AX_OP_SIGMOID:
  case AX_OP_SOFTMAX: case AX_OP_LOG_SOFTMAX: case AX_OP_FLOOR: case AX_OP_CEIL: case AX_OP_ROUND:
  case AX_OP_SIGN: case AX_OP_CAT: case AX_OP_SLICE_SCATTER: case AX_OP_CAST: case AX_OP_COPY:
  case AX_OP_RESHAPE: case AX_OP_PERMUTE: case AX_OP_SLICE: case AX_OP_EXPAND:
    return 0;
  case AX_OP_WHERE: case AX_OP_MASKED_FILL: return op == AX_OP_WHERE ? 1u : 2u;
  case AX_OP_GATHER: case AX_OP_INDEX_SELECT: return 2u;
  case AX_OP_SCATTER: return 2u;
  case AX_OP_MAX: case AX_OP_MIN: return 1u;   /* whole-tensor max compares x with the result */
  default: return ~0u;
  }
}

int ax_grad_saves_output(ax_op op) {
  switch (op) {
  case AX_OP_EXP: case AX_OP_SQRT: case AX_OP_RSQRT: case AX_OP_TANH: case AX_OP_SIGMOID:
  case AX_OP_POW: case AX_OP_STD: case AX_OP_MAX: case AX_OP_MIN: case AX_OP_NORM:
  case AX_OP_SOFTMAX: case AX_OP_LOG_SOFTMAX:
#ifdef AX_NN_GRAD_RULES
  case AX_OP_ATTENTION:   /* the streaming backward reads the forward's output */
#endif
    return 1;
  default:
    return 0;
  }
}
