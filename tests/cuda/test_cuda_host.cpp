/* tests/cuda/test_cuda_host.cpp — the element functions of the CUDA kernels (runtime/cuda/pool.cuh, attention_tc.cuh,
** random.cuh, optim.cuh, loss.cuh, act.cuh, attention.cuh, gemm_plan.h), compiled as plain C++ and
** run on the host against the CPU kernels of runtime/neural and runtime/ax_create.c. No GPU and no
** CUDA library is needed, so the index math and formulas of the device code (pool windows and backward gathers, Philox counters,
** optimizer updates, the cross-entropy gradient) are checked on every machine; a GPU run then
** only adds the device's own arithmetic. Pooling and Philox compare bit for bit (NaN matching
** NaN); optimizer steps and the cross-entropy gradient within a few ulp (the CPU kernels contract
** multiply-adds into FMAs on x86-64-v3 machines; loss.inc computes its exp part in T).
** Invariant: the device files are included, not copied. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

extern "C" {
#include "ax_mem.h"
#include "ax_ops.h"
#include "neural/ax_nn_kernels.h"
}

#include "act.cuh"
#include "attention.cuh"
#include "attention_tc.cuh"
#include "loss.cuh"
#include "optim.cuh"
#include "pool.cuh"
#include "random.cuh"

static int nfail, npass;
static uint64_t lcg = 88172645463325252ull;

static double urand(void) {   /* [0, 1) */
  lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(lcg >> 11) * (1.0 / 9007199254740992.0);
}
static int64_t irand(int64_t lo, int64_t hi) { return lo + (int64_t)(urand() * (double)(hi - lo + 1)); }

template <typename T> static T *randv(int64_t n, double nan_rate) {
  T *v = (T *)malloc(sizeof(T) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) v[i] = urand() < nan_rate ? (T)NAN : (T)(urand() * 4 - 2);
  return v;
}

template <typename T> static int same(const T *a, const T *b, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i])) || (a[i] == 0 && b[i] == 0 && signbit(a[i]) != signbit(b[i])))
      return 0;
  return 1;
}

/* max |a - b| / max(|a|, 1) over n values (optimizer steps: FMA contraction differs) */
template <typename T> static double maxrel(const T *a, const T *b, int64_t n) {
  double r = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]) / fmax(fabs((double)a[i]), 1.0);
    r = d > r || d != d ? d : r;
  }
  return r;
}

static void check(int ok, const char *what, const char *detail) {
  if (ok) {
    npass++;
    return;
  }
  nfail++;
  printf("FAIL %s: %s\n", what, detail);
}

/* ---------------- pooling ---------------- */

static pool_geo geo_of(const ax_nn_pool2d_desc &d, int64_t oh, int64_t ow) {
  return pool_geo{d.n * d.c, d.h, d.w, oh, ow, d.kh, d.kw, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.dil_h, d.dil_w,
                  d.ceil_mode, d.count_include_pad};
}

template <typename T> struct pool_ref;
template <> struct pool_ref<float> {
  static ax_status max_f(const ax_nn_pool2d_desc *d, const float *x, float *y, int64_t *i, ax_err *e) { return ax_nn_max_pool2d_fwd_f32(d, x, y, i, e); }
  static ax_status max_b(const ax_nn_pool2d_desc *d, const float *dy, const int64_t *i, float *dx, ax_err *e) { return ax_nn_max_pool2d_bwd_f32(d, dy, i, dx, e); }
  static ax_status avg_f(const ax_nn_pool2d_desc *d, const float *x, float *y, ax_err *e) { return ax_nn_avg_pool2d_fwd_f32(d, x, y, e); }
  static ax_status avg_b(const ax_nn_pool2d_desc *d, const float *dy, float *dx, ax_err *e) { return ax_nn_avg_pool2d_bwd_f32(d, dy, dx, e); }
  static ax_status ad_f(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, const float *x, float *y, ax_err *e) {
    return ax_nn_adaptive_avg_pool2d_fwd_f32(n, c, h, w, oh, ow, x, y, e);
  }
  static ax_status ad_b(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, const float *dy, float *dx, ax_err *e) {
    return ax_nn_adaptive_avg_pool2d_bwd_f32(n, c, h, w, oh, ow, dy, dx, e);
  }
};
template <> struct pool_ref<double> {
  static ax_status max_f(const ax_nn_pool2d_desc *d, const double *x, double *y, int64_t *i, ax_err *e) { return ax_nn_max_pool2d_fwd_f64(d, x, y, i, e); }
  static ax_status max_b(const ax_nn_pool2d_desc *d, const double *dy, const int64_t *i, double *dx, ax_err *e) { return ax_nn_max_pool2d_bwd_f64(d, dy, i, dx, e); }
  static ax_status avg_f(const ax_nn_pool2d_desc *d, const double *x, double *y, ax_err *e) { return ax_nn_avg_pool2d_fwd_f64(d, x, y, e); }
  static ax_status avg_b(const ax_nn_pool2d_desc *d, const double *dy, double *dx, ax_err *e) { return ax_nn_avg_pool2d_bwd_f64(d, dy, dx, e); }
  static ax_status ad_f(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, const double *x, double *y, ax_err *e) {
    return ax_nn_adaptive_avg_pool2d_fwd_f64(n, c, h, w, oh, ow, x, y, e);
  }
  static ax_status ad_b(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow, const double *dy, double *dx, ax_err *e) {
    return ax_nn_adaptive_avg_pool2d_bwd_f64(n, c, h, w, oh, ow, dy, dx, e);
  }
};

/* one random geometry of kind 0 max, 1 avg, 2 adaptive; returns 0 when the geometry is invalid */
template <typename T> static int pool_trial(int kind, char *desc, size_t dn) {
  ax_nn_pool2d_desc d = {irand(1, 2), irand(1, 3), irand(1, 9), irand(1, 9), irand(1, 4), irand(1, 4), irand(1, 3),
                         irand(1, 3), 0, 0, kind == 0 ? irand(1, 2) : 1, kind == 0 ? irand(1, 2) : 1, (int)irand(0, 1),
                         (int)irand(0, 1)};
  d.pad_h = irand(0, d.kh / 2);
  d.pad_w = irand(0, d.kw / 2);
  int64_t oh = 0, ow = 0;
  ax_err e;
  if (kind == 2) {
    oh = irand(1, d.h + 2);
    ow = irand(1, d.w + 2);
  } else if (ax_nn_pool2d_out_size(&d, &oh, &ow, &e)) {
    return 0;
  }
  snprintf(desc, dn, "%s %s n%lld c%lld %lldx%lld k%lldx%lld s%lldx%lld p%lldx%lld d%lldx%lld ceil%d cip%d -> %lldx%lld",
           kind == 0 ? "max" : kind == 1 ? "avg" : "adaptive", sizeof(T) == 4 ? "f32" : "f64", (long long)d.n, (long long)d.c,
           (long long)d.h, (long long)d.w, (long long)d.kh, (long long)d.kw, (long long)d.stride_h, (long long)d.stride_w,
           (long long)d.pad_h, (long long)d.pad_w, (long long)d.dil_h, (long long)d.dil_w, d.ceil_mode, d.count_include_pad,
           (long long)oh, (long long)ow);
  pool_geo g = geo_of(d, oh, ow);
  const int64_t nin = g.planes * d.h * d.w, nout = g.planes * oh * ow;
  T *x = randv<T>(nin, kind == 0 ? 0.05 : 0), *dy = randv<T>(nout, 0);
  T *y = (T *)calloc((size_t)nout, sizeof(T)), *y2 = (T *)calloc((size_t)nout, sizeof(T));
  T *dx = (T *)calloc((size_t)nin, sizeof(T)), *dx2 = (T *)calloc((size_t)nin, sizeof(T));
  int64_t *idx = (int64_t *)calloc((size_t)nout, sizeof(int64_t)), *idx2 = (int64_t *)calloc((size_t)nout, sizeof(int64_t));
  ax_status st;
  if (kind == 0) {
    st = pool_ref<T>::max_f(&d, x, y, idx, &e);
    if (!st) st = pool_ref<T>::max_b(&d, dy, idx, dx, &e);
    for (int64_t o = 0; o < nout; o++) max_fwd_at(g, x, y2, idx2, o);
    for (int64_t i = 0; i < nin; i++) max_bwd_at(g, dy, idx, dx2, i);   /* the CPU's indices, as the row passes them */
  } else if (kind == 1) {
    st = pool_ref<T>::avg_f(&d, x, y, &e);
    if (!st) st = pool_ref<T>::avg_b(&d, dy, dx, &e);
    for (int64_t o = 0; o < nout; o++) avg_fwd_at(g, x, y2, o);
    for (int64_t i = 0; i < nin; i++) avg_bwd_at(g, dy, dx2, i);
  } else {
    st = pool_ref<T>::ad_f(d.n, d.c, d.h, d.w, oh, ow, x, y, &e);
    if (!st) st = pool_ref<T>::ad_b(d.n, d.c, d.h, d.w, oh, ow, dy, dx, &e);
    for (int64_t o = 0; o < nout; o++) adaptive_fwd_at(g, x, y2, o);
    for (int64_t i = 0; i < nin; i++) adaptive_bwd_at(g, dy, dx2, i);
  }
  if (st) {
    check(0, desc, e.msg);
  } else {
    check(same(y, y2, nout), desc, "forward values differ");
    if (kind == 0) check(!memcmp(idx, idx2, sizeof(int64_t) * (size_t)nout), desc, "max indices differ");
    check(same(dx, dx2, nin), desc, "backward values differ");
  }
  free(x), free(dy), free(y), free(y2), free(dx), free(dx2), free(idx), free(idx2);
  return 1;
}

/* ---------------- Philox ---------------- */

static void random_checks(void) {
  const char *names[3] = {"uniform", "normal", "bernoulli"};
  for (int kind = 0; kind < 3; kind++)
    for (int64_t n = 1; n <= 9; n += 4) {
      ax_err e;
      ax_tensor *x = NULL, *a = NULL;
      int64_t sh[1] = {n};
      if (ax_zeros(sh, 1, AX_FLOAT64, &x, &e)) return check(0, "random setup", e.msg);
      ax_seed(1000 + (uint64_t)n);
      ax_tensor *skip = NULL;
      ax_rand_like(x, &skip, &e);   /* a nonzero offset: the counters continue across calls */
      ax_tensor_release(skip);
      ax_rng_state st = ax_rng_get_state();
      ax_status s = kind == 0 ? ax_rand_like(x, &a, &e) : kind == 1 ? ax_randn_like(x, &a, &e) : ax_dropout_mask(x, 0.3, &a, &e);
      char what[64];
      snprintf(what, sizeof what, "philox %s n=%lld", names[kind], (long long)n);
      if (s) {
        check(0, what, e.msg);
      } else {
        double *ref = (double *)a->storage->data + a->offset, got[16];
        for (int64_t k = 0; k < (n + 1) / 2; k++) random_pair(kind, st.seed, st.offset + (uint64_t)k, 0.3, got + 2 * k);
        check(same(ref, got, n), what, "values differ from ax_create.c's");
      }
      ax_tensor_release(x);
      ax_tensor_release(a);
    }
}

/* ---------------- cross-entropy backward ---------------- */

template <typename T> struct ce_ref;
template <> struct ce_ref<float> {
  static ax_status f(int64_t n, int64_t c, const float *x, const int64_t *t, const float *w, int64_t ig, double ls, ax_nn_reduction r,
                     float *loss, float *lse, ax_err *e) { return ax_nn_cross_entropy_fwd_f32(n, c, x, t, w, ig, ls, r, loss, lse, e); }
  static ax_status b(int64_t n, int64_t c, const float *x, const int64_t *t, const float *w, int64_t ig, double ls, ax_nn_reduction r,
                     const float *lse, const float *dl, float *dx, ax_err *e) { return ax_nn_cross_entropy_bwd_f32(n, c, x, t, w, ig, ls, r, lse, dl, dx, e); }
};
template <> struct ce_ref<double> {
  static ax_status f(int64_t n, int64_t c, const double *x, const int64_t *t, const double *w, int64_t ig, double ls, ax_nn_reduction r,
                     double *loss, double *lse, ax_err *e) { return ax_nn_cross_entropy_fwd_f64(n, c, x, t, w, ig, ls, r, loss, lse, e); }
  static ax_status b(int64_t n, int64_t c, const double *x, const int64_t *t, const double *w, int64_t ig, double ls, ax_nn_reduction r,
                     const double *lse, const double *dl, double *dx, ax_err *e) { return ax_nn_cross_entropy_bwd_f64(n, c, x, t, w, ig, ls, r, lse, dl, dx, e); }
};

/* loss.cuh's element against loss.inc, with the CPU's lse; the two scalars as ce_bwd_scalars
** sums them (float64). Within a few ulp: loss.inc computes the exp part in T. */
template <typename T> static void ce_checks(void) {
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
  for (int trial = 0; trial < 60; trial++) {
    const int64_t n = irand(1, 7), c = irand(1, 9), ignore = trial % 3 ? irand(0, c - 1) : -100;
    const int red = (int)irand(0, 2), weighted = trial % 2;
    const double ls = trial % 4 ? 0.0 : 0.15;
    T *x = randv<T>(n * c, 0), *w = weighted ? randv<T>(c, 0) : NULL, *dl = randv<T>(n, 0);
    int64_t *t = (int64_t *)malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) t[i] = irand(0, c - 1);
    if (w)
      for (int64_t k = 0; k < c; k++) w[k] = (T)(fabs((double)w[k]) + 0.1);
    T *loss = (T *)calloc((size_t)n, sizeof(T)), *lse = (T *)calloc((size_t)n, sizeof(T));
    T *dx = (T *)calloc((size_t)(n * c), sizeof(T)), *dx2 = (T *)calloc((size_t)(n * c), sizeof(T));
    ax_err e;
    ax_status st = ce_ref<T>::f(n, c, x, t, w, ignore, ls, (ax_nn_reduction)red, loss, lse, &e);
    if (!st) st = ce_ref<T>::b(n, c, x, t, w, ignore, ls, (ax_nn_reduction)red, lse, dl, dx, &e);
    double sc[2] = {0, 0};
    for (int64_t i = 0; i < n; i++)
      if (t[i] != ignore) sc[0] += w ? (double)w[t[i]] : 1.0;
    for (int64_t k = 0; k < c; k++) sc[1] += w ? (double)w[k] : 1.0;
    for (int64_t el = 0; el < n * c; el++) ce_bwd_at(c, x, t, w, ignore, ls, red, lse, dl, sc, dx2, el);
    char what[160];
    snprintf(what, sizeof what, "cross_entropy backward %s n%lld c%lld red%d ignore%lld ls%g%s", sizeof(T) == 4 ? "f32" : "f64",
             (long long)n, (long long)c, red, (long long)ignore, ls, w ? " weighted" : "");
    check(!st && maxrel(dx, dx2, n * c) <= tol, what, st ? e.msg : "gradients differ");
    free(x), free(w), free(dl), free(t), free(loss), free(lse), free(dx), free(dx2);
  }
}

/* ---------------- optimizer steps ---------------- */

template <typename T> static ax_status sgd_ref(const ax_nn_sgd_cfg *c, int64_t n, T *p, const T *g, T *b, int64_t s, ax_err *e);
template <> ax_status sgd_ref<float>(const ax_nn_sgd_cfg *c, int64_t n, float *p, const float *g, float *b, int64_t s, ax_err *e) {
  return ax_nn_sgd_step_f32(c, n, p, g, b, s, e);
}
template <> ax_status sgd_ref<double>(const ax_nn_sgd_cfg *c, int64_t n, double *p, const double *g, double *b, int64_t s, ax_err *e) {
  return ax_nn_sgd_step_f64(c, n, p, g, b, s, e);
}
template <typename T>
static ax_status adam_ref(const ax_nn_adam_cfg *c, int64_t n, T *p, const T *g, T *m, T *v, T *vm, int64_t s, ax_err *e);
template <>
ax_status adam_ref<float>(const ax_nn_adam_cfg *c, int64_t n, float *p, const float *g, float *m, float *v, float *vm, int64_t s, ax_err *e) {
  return ax_nn_adam_step_f32(c, n, p, g, m, v, vm, s, e);
}
template <>
ax_status adam_ref<double>(const ax_nn_adam_cfg *c, int64_t n, double *p, const double *g, double *m, double *v, double *vm, int64_t s,
                           ax_err *e) {
  return ax_nn_adam_step_f64(c, n, p, g, m, v, vm, s, e);
}

template <typename T> static void optim_checks(void) {
  const int64_t n = 37;
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-14;   /* a few ulp after three steps */
  const char *tn = sizeof(T) == 4 ? "f32" : "f64";
  for (int v = 0; v < 4; v++) {   /* sgd: plain, momentum + dampening + decay, nesterov, maximize */
    ax_nn_sgd_cfg c = {0.1, v ? 0.9 : 0, v == 1 ? 0.2 : 0, v == 1 ? 0.01 : 0, v == 2, v == 3};
    T *p = randv<T>(n, 0), *p2 = (T *)malloc(sizeof(T) * n), *b = (T *)calloc(n, sizeof(T)), *b2 = (T *)calloc(n, sizeof(T));
    memcpy(p2, p, sizeof(T) * n);
    ax_err e;
    ax_status st = AX_OK;
    for (int64_t step = 1; step <= 3 && !st; step++) {
      T *g = randv<T>(n, 0);
      st = sgd_ref<T>(&c, n, p, g, b, step, &e);
      sgd_k k = sgd_make(n, c.lr, c.momentum, c.dampening, c.weight_decay, c.nesterov, c.maximize, step);
      for (int64_t i = 0; i < n; i++) sgd_at(k, p2, g, b2, i);
      free(g);
    }
    char what[48];
    snprintf(what, sizeof what, "sgd variant %d %s", v, tn);
    check(!st && maxrel(p, p2, n) <= tol && maxrel(b, b2, n) <= tol, what, st ? e.msg : "parameters or momentum differ");
    free(p), free(p2), free(b), free(b2);
  }
  for (int v = 0; v < 4; v++) {   /* adam, adam + L2, amsgrad + maximize, adamw */
    ax_nn_adam_cfg c = {1e-2, 0.9, 0.999, 1e-8, v == 1 || v == 3 ? 0.05 : 0, v == 2, v == 2, v == 3};
    T *p = randv<T>(n, 0), *p2 = (T *)malloc(sizeof(T) * n);
    T *s[3], *s2[3];
    for (int k = 0; k < 3; k++) s[k] = (T *)calloc(n, sizeof(T)), s2[k] = (T *)calloc(n, sizeof(T));
    memcpy(p2, p, sizeof(T) * n);
    ax_err e;
    ax_status st = AX_OK;
    for (int64_t step = 1; step <= 3 && !st; step++) {
      T *g = randv<T>(n, 0);
      st = adam_ref<T>(&c, n, p, g, s[0], s[1], s[2], step, &e);
      adam_k k = adam_make(n, c.lr, c.beta1, c.beta2, c.eps, c.weight_decay, c.amsgrad, c.maximize, c.decoupled, step);
      for (int64_t i = 0; i < n; i++) adam_at(k, p2, g, s2[0], s2[1], s2[2], i);
      free(g);
    }
    char what[48];
    snprintf(what, sizeof what, "adam variant %d %s", v, tn);
    int ok = !st && maxrel(p, p2, n) <= tol;
    for (int k = 0; k < 3; k++) ok = ok && maxrel(s[k], s2[k], n) <= tol;
    check(ok, what, st ? e.msg : "parameters or state differ");
    free(p), free(p2);
    for (int k = 0; k < 3; k++) free(s[k]), free(s2[k]);
  }
}

/* ---------------- attention ---------------- */

/* attention.cuh's executor on the host: the block's 256 threads one after another, step by step.
** The steps' invariant (no thread reads a shared cell another thread writes in the same step) makes
** this what the device computes. Shared memory, registers and the outputs start as NaN, so a
** read of anything no step wrote, or an element no block writes, shows up in the comparison. */
template <typename T> struct att_host {
  att_regs<T> r[ATT_THREADS];
  template <class F> void each(F &&f) {
    for (int t = 0; t < ATT_THREADS; t++) f(t, r[t]);
  }
};

template <typename T> static void nan_fill(T *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (T)NAN;
}

/* a block's shared memory and registers before it starts (both hold T fields only) */
template <typename T> static void att_poison(att_smem<T> *sh, att_host<T> *x) {
  const size_t nr = sizeof x->r;
  nan_fill((T *)sh, sizeof *sh / sizeof(T));
  nan_fill((T *)x->r, nr / sizeof(T));
}

/* every block of the three kernels, in launch order, over all (unit, y) pairs of the grids */
template <typename T> static void att_emulate_fwd(const att_args<T> &a) {
  att_smem<T> *sh = new att_smem<T>;
  att_host<T> *x = new att_host<T>;
  for (int y = 0; y < att_fwd_ychunks(a); y++)
    for (int64_t u = 0; u < att_fwd_units(a); u++) {
      att_poison(sh, x);
      att_fwd_block(*x, *sh, a, u, y);
    }
  delete sh;
  delete x;
}

template <typename T> static void att_emulate_bwd(const att_args<T> &a) {
  att_smem<T> *sh = new att_smem<T>;
  att_host<T> *x = new att_host<T>;
  for (int64_t i = 0; i < a.b * a.h * a.t; i++) att_delta_at(a.dout, a.o, a.dv, (T *)a.delta, i);
  for (int y = 0; y < att_kv_ychunks(a); y++)
    for (int64_t u = 0; u < att_kv_units(a); u++) {
      att_poison(sh, x);
      att_bwd_kv_block(*x, *sh, a, u, y);
    }
  for (int y = 0; y < att_q_ychunks(a); y++)
    for (int64_t u = 0; u < att_fwd_units(a); u++) {
      att_poison(sh, x);
      att_bwd_q_block(*x, *sh, a, u, y);
    }
  delete sh;
  delete x;
}

template <typename T> struct att_ref;
template <> struct att_ref<float> {
  static ax_status f(const ax_nn_attention_desc *d, const float *q, const float *k, const float *v, const float *m, float *o, float *l,
                     ax_err *e) { return ax_nn_attention_fwd_f32(d, q, k, v, m, o, l, e); }
  static ax_status b(const ax_nn_attention_desc *d, const float *q, const float *k, const float *v, const float *m, const float *o,
                     const float *l, const float *dout, float *dq, float *dk, float *dv, ax_err *e) {
    return ax_nn_attention_bwd_f32(d, q, k, v, m, o, l, dout, dq, dk, dv, e);
  }
};
template <> struct att_ref<double> {
  static ax_status f(const ax_nn_attention_desc *d, const double *q, const double *k, const double *v, const double *m, double *o,
                     double *l, ax_err *e) { return ax_nn_attention_fwd_f64(d, q, k, v, m, o, l, e); }
  static ax_status b(const ax_nn_attention_desc *d, const double *q, const double *k, const double *v, const double *m,
                     const double *o, const double *l, const double *dout, double *dq, double *dk, double *dv, ax_err *e) {
    return ax_nn_attention_bwd_f64(d, q, k, v, m, o, l, dout, dq, dk, dv, e);
  }
};

/* test_cuda_ops's measure: ||a - b|| / max(||b||, 1e-30); NaN must meet NaN and inf the same inf
** (infinite: they do not) */
template <typename T, typename U> static double nerr_v(const T *a, const U *b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    const double x = (double)a[i], y = (double)b[i];
    if (x != x || y != y) {
      if ((x != x) != (y != y)) return INFINITY;
      continue;
    }
    if (isinf(x) || isinf(y)) {
      if (x != y) return INFINITY;
      continue;
    }
    num += (x - y) * (x - y);
    den += y * y;
  }
  return sqrt(num) / fmax(sqrt(den), 1e-30);
}

struct att_case {
  int64_t b, h, t, s, d, dv;
  int causal;
  int mask;   /* 0 none, 1 [t, s], 2 strided [b, h, t, s], 3 key padding [b, s], 4 [b, 1, t, s] */
  double scale;
};

static double att_worst[2][2];   /* [f64][backward]: the largest error seen */
static double att_f32_exact[2][2];   /* [emulation][backward]: float32 results against float64 on the same inputs */

/* float32 only: the CPU row's and the emulation's results against the float64 CPU row on the
** same (float-valued) inputs, to tell float32 rounding apart from a difference of algorithm */
static void att_vs_f64(const ax_nn_attention_desc &d, int64_t mn, const float *const *in, const float *const *cpu,
                       const float *const *emu) {
  const int64_t bh = d.b * d.h, n[5] = {bh * d.t * d.d, bh * d.s * d.d, bh * d.s * d.dv, bh * d.t * d.dv, mn};
  const int64_t nr[5] = {bh * d.t * d.dv, bh * d.t, n[0], n[1], n[2]};   /* out lse dq dk dv */
  double *x[5], *r[5];
  for (int i = 0; i < 5; i++) {
    x[i] = (double *)malloc(sizeof(double) * (size_t)(n[i] ? n[i] : 1));
    r[i] = (double *)malloc(sizeof(double) * (size_t)nr[i]);
    for (int64_t j = 0; j < n[i]; j++) x[i][j] = in[i][j];
  }
  ax_err e;
  if (!ax_nn_attention_fwd_f64(&d, x[0], x[1], x[2], mn ? x[4] : NULL, r[0], r[1], &e) &&
      !ax_nn_attention_bwd_f64(&d, x[0], x[1], x[2], mn ? x[4] : NULL, r[0], r[1], x[3], r[2], r[3], r[4], &e))
    for (int w = 0; w < 2; w++) {
      const float *const *f = w ? emu : cpu;
      for (int i = 0; i < 5; i++) att_f32_exact[w][i >= 2] = fmax(att_f32_exact[w][i >= 2], nerr_v(f[i], r[i], nr[i]));
    }
  for (int i = 0; i < 5; i++) free(x[i]), free(r[i]);
}

/* One shape: the CPU rows' out, lse, dq, dk, dv against the emulated kernels'. The backward runs
** on the CPU's out and lse, so each pass is checked on its own. Masks hide about one cell in
** five (-inf) and, for the [t, s] and strided kinds, every key of query row 1 (lse = -inf). */
template <typename T> static void att_trial(const att_case &c) {
  const double tol = sizeof(T) == 4 ? 1e-6 : 1e-12;
  ax_nn_attention_desc d = {c.b, c.h, c.t, c.s, c.d, c.dv, c.scale, c.causal, c.mask >= 2, 0, 0, 0};
  int64_t mn = 0;
  switch (c.mask) {
  case 1: mn = c.t * c.s; break;
  case 2: d.mask_sb = c.h * c.t * c.s, d.mask_sh = c.t * c.s, d.mask_st = c.s, mn = c.b * c.h * c.t * c.s; break;
  case 3: d.mask_sb = c.s, mn = c.b * c.s; break;
  case 4: d.mask_sb = c.t * c.s, d.mask_st = c.s, mn = c.b * c.t * c.s; break;
  }
  const int64_t bh = c.b * c.h, nq = bh * c.t * c.d, nk = bh * c.s * c.d, nv = bh * c.s * c.dv, no = bh * c.t * c.dv, nl = bh * c.t;
  T *q = randv<T>(nq, 0), *k = randv<T>(nk, 0), *v = randv<T>(nv, 0), *dout = randv<T>(no, 0);
  T *mask = mn ? randv<T>(mn, 0) : NULL;
  for (int64_t i = 0; i < mn; i++)
    if (urand() < 0.2) mask[i] = (T)-INFINITY;
  if (c.mask == 1 || c.mask == 2)
    for (int64_t j = 0; j < c.s && c.t > 1; j++) mask[c.s + j] = (T)-INFINITY;   /* row 1 of (b, h) = (0, 0) */
  T *out = (T *)malloc(sizeof(T) * no), *lse = (T *)malloc(sizeof(T) * nl);
  T *gq = (T *)malloc(sizeof(T) * nq), *gk = (T *)malloc(sizeof(T) * nk), *gv = (T *)malloc(sizeof(T) * nv);
  T *out2 = (T *)malloc(sizeof(T) * no), *lse2 = (T *)malloc(sizeof(T) * nl), *delta = (T *)malloc(sizeof(T) * nl);
  T *gq2 = (T *)malloc(sizeof(T) * nq), *gk2 = (T *)malloc(sizeof(T) * nk), *gv2 = (T *)malloc(sizeof(T) * nv);
  nan_fill(out2, (size_t)no), nan_fill(lse2, (size_t)nl), nan_fill(delta, (size_t)nl);
  nan_fill(gq2, (size_t)nq), nan_fill(gk2, (size_t)nk), nan_fill(gv2, (size_t)nv);
  ax_err e;
  ax_status st = att_ref<T>::f(&d, q, k, v, mask, out, lse, &e);
  if (!st) st = att_ref<T>::b(&d, q, k, v, mask, out, lse, dout, gq, gk, gv, &e);
  att_args<T> a = att_args_of<T>(d);
  a.q = q, a.k = k, a.v = v, a.mask = mask, a.o = out, a.lse_in = lse, a.dout = dout, a.delta = delta;
  a.out = out2, a.lse = lse2, a.gq = gq2, a.gk = gk2, a.gv = gv2;
  if (!st) {
    ax_err e2;
    st = att_check(&d, "attention", &e2);   /* the same checks pass */
    if (!st) att_emulate_fwd(a);
    if (!st) att_emulate_bwd(a);
  }
  const double ef = st ? INFINITY : fmax(nerr_v(out2, out, no), nerr_v(lse2, lse, nl));
  const double eb = st ? INFINITY : fmax(nerr_v(gq2, gq, nq), fmax(nerr_v(gk2, gk, nk), nerr_v(gv2, gv, nv)));
  const int f64 = sizeof(T) == 8;
  if constexpr (sizeof(T) == 4) {
    if (!st) {
      const float *in[5] = {q, k, v, dout, mask}, *cpu[5] = {out, lse, gq, gk, gv}, *emu[5] = {out2, lse2, gq2, gk2, gv2};
      att_vs_f64(d, mn, in, cpu, emu);
    }
  }
  att_worst[f64][0] = fmax(att_worst[f64][0], ef);
  att_worst[f64][1] = fmax(att_worst[f64][1], eb);
  char what[200], detail[96];
  snprintf(what, sizeof what, "attention %s b%lld h%lld t%lld s%lld d%lld dv%lld%s mask%d scale %g", f64 ? "f64" : "f32",
           (long long)c.b, (long long)c.h, (long long)c.t, (long long)c.s, (long long)c.d, (long long)c.dv,
           c.causal ? " causal" : "", c.mask, c.scale);
  snprintf(detail, sizeof detail, "forward error %.3g, backward error %.3g (limit %g)", ef, eb, tol);
  check(!st && ef <= tol && eb <= tol, what, st ? e.msg : detail);
  if (getenv("ATT_VERBOSE")) printf("%s: %s\n", what, detail);
  free(q), free(k), free(v), free(dout), free(mask), free(out), free(lse), free(gq), free(gk), free(gv);
  free(out2), free(lse2), free(delta), free(gq2), free(gk2), free(gv2);
}

/* attention.cuh's att_check against the CPU rows' checks, status and message */
static void att_check_checks(void) {
  const ax_nn_attention_desc ok = {2, 2, 5, 7, 4, 3, 0.5, 0, 0, 0, 0, 0};
  ax_nn_attention_desc bad[6] = {ok, ok, ok, ok, ok, ok};
  bad[0].s = 0;
  bad[1].dv = -1;
  bad[2].scale = NAN;
  bad[3].scale = INFINITY;
  bad[4].mask_strided = 1, bad[4].mask_sh = -1;
  bad[5].d = (1 << 20) + 1;
  for (int i = 0; i < 6; i++) {
    ax_err e1, e2, e3, e4;
    ax_status s1 = ax_nn_attention_fwd_f32(&bad[i], NULL, NULL, NULL, NULL, NULL, NULL, &e1);
    ax_status s2 = att_check(&bad[i], "attention", &e2);
    ax_status s3 = ax_nn_attention_bwd_f64(&bad[i], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &e3);
    ax_status s4 = att_check(&bad[i], "attention backward", &e4);
    char what[48];
    snprintf(what, sizeof what, "attention check %d", i);
    check(s1 && s1 == s2 && !strcmp(e1.msg, e2.msg) && s3 && s3 == s4 && !strcmp(e3.msg, e4.msg), what, s2 ? e2.msg : "accepted");
  }
  ax_err e;
  check(att_check(&ok, "attention", &e) == AX_OK, "attention check ok", "a valid descriptor is refused");
}

static void att_checks(void) {
  /* tiles: 32 rows x 64 columns; float LC = OC = 64, double 32 (attention.cuh) */
  static const att_case cases[] = {
      {1, 1, 1, 1, 1, 1, 0, 0, 1.0},          /* one query, one key */
      {2, 3, 37, 53, 16, 24, 0, 0, 0.25},     /* t != s, d != dv, neither a tile multiple */
      {1, 2, 70, 70, 64, 64, 1, 0, 0.125},    /* causal, square */
      {1, 1, 100, 33, 65, 7, 0, 1, 0.3},      /* d over one contraction chunk; [t, s] mask, a row with no key */
      {2, 1, 33, 129, 8, 70, 0, 3, 0.35},     /* dv over one output chunk (several grid.y blocks); key padding */
      {2, 2, 50, 20, 12, 12, 1, 2, 0.3},      /* causal with t > s; strided [b, h, t, s] mask */
      {1, 2, 20, 90, 12, 40, 1, 4, 0.3},      /* causal with t < s; [b, 1, t, s] mask */
      {1, 1, 130, 200, 33, 97, 1, 1, 0.2},    /* causal + mask, several tiles both ways, d and dv odd */
      {1, 1, 5, 300, 3, 2, 0, 0, -0.7},       /* negative scale, a long key sequence */
      {1, 1, 9, 9, 4, 4, 0, 0, 0.0},          /* scale 0: uniform attention */
      {1, 1, 64, 128, 32, 32, 1, 0, 0.2},     /* exact tile multiples */
      {1, 2, 65, 80, 100, 10, 1, 1, 0.2},     /* causal: the last query tile is one row that sees key tile 64;
                                                 d over one output chunk, dv not (dK-only blocks) */
  };
  for (const att_case &c : cases) {
    att_trial<float>(c);
    att_trial<double>(c);
  }
  att_check_checks();
  printf("attention (host emulation of attention.cu): worst normalised error f32 forward %.3g backward %.3g, f64 forward %.3g "
         "backward %.3g\n",
         att_worst[0][0], att_worst[0][1], att_worst[1][0], att_worst[1][1]);
  printf("attention float32 against float64 on the same inputs: CPU row forward %.3g backward %.3g, emulation forward %.3g "
         "backward %.3g\n",
         att_f32_exact[0][0], att_f32_exact[0][1], att_f32_exact[1][0], att_f32_exact[1][1]);
}

/* ---------------- tensor-core attention forward (attention_tc.cuh) ----------------
** The block algorithm run with an emulated MMA: 16x16x16 fragments holding the half-type values
** (inputs rounded as the device stores them), float products summed in float, P rounded to the
** half type before P V as on the device. The accumulator's element-to-lane map is a scrambled
** permutation, so the kernel's row map (read from an iota matrix) is exercised, not assumed. */
template <int KIND> struct tc_hh {   /* KIND 0: float16, 1: bfloat16; the bits as in memory */
  uint16_t bits;
};
static float tc_f(tc_hh<0> h) {
  _Float16 f;
  memcpy(&f, &h.bits, 2);
  return (float)f;
}
static float tc_f(tc_hh<1> h) {
  const uint32_t u = (uint32_t)h.bits << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static tc_hh<0> tc_h0(float v) {   /* round to nearest even (soft-fp __truncsfhf2) */
  const _Float16 f = (_Float16)v;
  tc_hh<0> h;
  memcpy(&h.bits, &f, 2);
  return h;
}
static tc_hh<1> tc_h1(float v) {   /* round to nearest even, as __float2bfloat16_rn */
  uint32_t u;
  memcpy(&u, &v, 4);
  tc_hh<1> h;
  h.bits = v != v ? (uint16_t)0x7fc0 : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  return h;
}

template <int KIND> struct tc_emu {
  typedef tc_hh<KIND> H;
  struct fa {
    float m[256];   /* element (row, col) at row * 16 + col */
  };
  typedef fa fbc;
  typedef fa fbr;
  struct fc {
    float m[256];
  };
  static constexpr int NE = 8;
  static int map(int lane, int i) { return ((lane * 8 + i) * 37 + 11) & 255; }   /* a bijection of 32 x 8 onto 256 */
  static H to_h(float v) {
    if constexpr (KIND == 0) return tc_h0(v);
    else return tc_h1(v);
  }
  static void zero(fc &f) {
    for (float &x : f.m) x = 0;
  }
  static void load_a(fa &f, const H *p, int ld) {
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 16; c++) f.m[r * 16 + c] = tc_f(p[r * ld + c]);
  }
  static void load_bc(fbc &f, const H *p, int ld) {   /* col_major: element (k, n) at p[n * ld + k] */
    for (int k = 0; k < 16; k++)
      for (int n = 0; n < 16; n++) f.m[k * 16 + n] = tc_f(p[n * ld + k]);
  }
  static void load_br(fbr &f, const H *p, int ld) { load_a(f, p, ld); }
  static void load_c(fc &f, const float *p, int ld) {
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 16; c++) f.m[r * 16 + c] = p[r * ld + c];
  }
  static void store_c(float *p, const fc &f, int ld) {
    for (int r = 0; r < 16; r++)
      for (int c = 0; c < 16; c++) p[r * ld + c] = f.m[r * 16 + c];
  }
  static void mma(fc &d, const fa &a, const fa &b, const fc &c) {
    fc t;
    for (int r = 0; r < 16; r++)
      for (int n = 0; n < 16; n++) {
        float acc = c.m[r * 16 + n];
        for (int k = 0; k < 16; k++) acc += a.m[r * 16 + k] * b.m[k * 16 + n];
        t.m[r * 16 + n] = acc;
      }
    d = t;
  }
  static float &el(fc &f, int lane, int i) { return f.m[map(lane, i)]; }
  static void cp16(H *dst, const H *src) { memcpy(dst, src, 16); }
  static void zero16(H *dst) { memset(dst, 0, 16); }
  static void commit(void) {}
  template <int N> static void wait(void) {}
};

/* attention_tc.cuh's executor on the host: the 4 warps one after another, a warp's 32 lanes
** one after another per step (the steps' invariant makes this the device's result) */
template <class P, int D> struct tc_host {
  struct warp {
    tc_lane<P> r[32];
    template <class F> void lanes(F &&f) {
      for (int l = 0; l < 32; l++) f(l, r[l]);
    }
    void sync(void) {}
  } w[TC_WARPS];
  tc_warp_state<P, D> st[TC_WARPS];
  template <class F> void threads(F &&f) {
    for (int t = 0; t < TC_THREADS; t++) f(t);
  }
  void sync(void) {}
  template <class F> void warps(F &&f) {
    for (int i = 0; i < TC_WARPS; i++) f(i, w[i], st[i]);
  }
};

struct tc_case {
  int64_t b, h, t, s, d;
  int causal;
  double scale;   /* 0: 1 / sqrt(d) */
};

static double tc_worst[2][2], tc_floor[2];   /* [bf16][lse]; the output's own rounding error */

template <int KIND, int D> static void tc_emulate(const tc_args<tc_hh<KIND>> &a) {
  typedef tc_emu<KIND> P;
  tc_smem<tc_hh<KIND>, D> *sh = new tc_smem<tc_hh<KIND>, D>;
  tc_host<P, D> *x = new tc_host<P, D>;
  for (int64_t u = 0; u < tc_units<D>(a.b, a.h, a.t); u++) {
    memset((void *)sh, 0xff, sizeof *sh);   /* NaN in every half and float cell */
    memset((void *)x->st, 0xff, sizeof x->st);
    tc_fwd_block<P, D>(*x, *sh, a, u);
  }
  delete sh;
  delete x;
}

/* One shape: inputs rounded to the half type; the CPU row in float32 on the rounded values
** against the emulated kernel (out rounded to the half type, lse float32). */
template <int KIND> static void tc_trial(const tc_case &c) {
  typedef tc_hh<KIND> H;
  const double tol = KIND ? 1e-2 : 2e-3, ltol = 1e-5;
  const double scale = c.scale ? c.scale : 1 / sqrt((double)c.d);
  ax_nn_attention_desc d = {c.b, c.h, c.t, c.s, c.d, c.d, scale, c.causal, 0, 0, 0, 0};
  const int64_t bh = c.b * c.h, nq = bh * c.t * c.d, nk = bh * c.s * c.d, nl = bh * c.t;
  std::vector<float> qf((size_t)nq), kf((size_t)nk), vf((size_t)nk), out((size_t)nq), lse((size_t)nl), outh((size_t)nq),
      out2((size_t)nq), lse2((size_t)nl, NAN);
  std::vector<H> qh((size_t)nq), kh((size_t)nk), vh((size_t)nk), oh((size_t)nq);
  const struct {
    std::vector<float> *f;
    std::vector<H> *h;
  } in[3] = {{&qf, &qh}, {&kf, &kh}, {&vf, &vh}};
  for (const auto &x : in)
    for (size_t i = 0; i < x.f->size(); i++) {
      (*x.h)[i] = tc_emu<KIND>::to_h((float)(urand() * 4 - 2));
      (*x.f)[i] = tc_f((*x.h)[i]);
    }
  memset(oh.data(), 0xff, sizeof(H) * (size_t)nq);   /* NaN: an element no block writes fails */
  ax_err e;
  ax_status st = ax_nn_attention_fwd_f32(&d, qf.data(), kf.data(), vf.data(), NULL, out.data(), lse.data(), &e);
  tc_args<H> a = {c.b, c.h, c.t, c.s, (float)scale, c.causal, qh.data(), kh.data(), vh.data(), oh.data(), lse2.data()};
  if (!st) {
    if (c.d == 64) tc_emulate<KIND, 64>(a);
    else tc_emulate<KIND, 128>(a);
  }
  for (int64_t i = 0; i < nq; i++) out2[(size_t)i] = tc_f(oh[(size_t)i]), outh[(size_t)i] = tc_f(tc_emu<KIND>::to_h(out[(size_t)i]));
  const double eo = st ? INFINITY : nerr_v(out2.data(), out.data(), nq), el = st ? INFINITY : nerr_v(lse2.data(), lse.data(), nl);
  tc_worst[KIND][0] = fmax(tc_worst[KIND][0], eo);
  tc_worst[KIND][1] = fmax(tc_worst[KIND][1], el);
  tc_floor[KIND] = fmax(tc_floor[KIND], nerr_v(outh.data(), out.data(), nq));
  char what[160], detail[120];
  snprintf(what, sizeof what, "tensor-core attention %s b%lld h%lld t%lld s%lld d%lld%s scale %g", KIND ? "bf16" : "fp16", (long long)c.b,
           (long long)c.h, (long long)c.t, (long long)c.s, (long long)c.d, c.causal ? " causal" : "", scale);
  snprintf(detail, sizeof detail, "out error %.3g (limit %g), lse error %.3g (limit %g)", eo, tol, el, ltol);
  check(!st && eo <= tol && el <= ltol, what, st ? e.msg : detail);
  if (getenv("ATT_VERBOSE")) printf("%s: %s\n", what, detail);
}

static void tc_checks(void) {
  static const tc_case cases[] = {
      {1, 1, 1, 1, 64, 0, 0},         /* one query, one key */
      {2, 3, 37, 53, 64, 0, 0},       /* t != s, neither a tile multiple, b * h = 6 */
      {1, 2, 100, 100, 128, 1, 0},    /* causal, square, d 128 */
      {2, 1, 50, 130, 64, 1, 0},      /* causal with t < s */
      {1, 2, 150, 40, 128, 1, 0},     /* causal with t > s */
      {1, 1, 64, 128, 128, 0, 0},     /* exact tile multiples */
      {2, 2, 129, 77, 64, 0, -0.3},   /* negative scale; a last query tile of one row */
      {1, 1, 70, 200, 128, 1, 0.2},   /* causal, several key tiles, warps that skip tiles */
      {1, 1, 33, 65, 64, 0, 0.0001},  /* nearly uniform attention */
  };
  for (const tc_case &c : cases) {
    tc_trial<0>(c);
    tc_trial<1>(c);
  }
  printf("tensor-core attention (host emulation of attention_tc.cuh): worst normalised error out fp16 %.3g bf16 %.3g "
         "(rounding the CPU's out alone: %.3g / %.3g), lse fp16 %.3g bf16 %.3g\n",
         tc_worst[0][0], tc_worst[1][0], tc_floor[0], tc_floor[1], tc_worst[0][1], tc_worst[1][1]);
  printf("tensor-core attention shared memory per block: d 64 %zu B, d 128 %zu B\n", sizeof(tc_smem<tc_hh<0>, 64>),
         sizeof(tc_smem<tc_hh<0>, 128>));
}

/* ==== GEMM operand plans (gemm_plan.h, used by matmul.cu) ==========================================
** Random batched matmuls over strided operands (row-major, transposed views, sliced rows, permuted or
** broadcast batch dims, expanded rows): where cu_gemm_operand_of says cuBLAS can read an operand in
** place, a reference that reads memory exactly as cublasGemmStridedBatchedEx does (column-major,
** CUBLAS_OP_N/T, ld, batch strides) must give the naive matmul of the strided operands, and the
** plan must satisfy cuBLAS's ld rules; layouts that are plain, transposed or sliced must be usable. */
#include "gemm_plan.h"

struct gemm_operand_t {
  std::vector<double> buf;
  int nd;
  int64_t shape[6], stride[6];
  int must_fit;   /* plain, transposed or sliced with one batch stride: never packed */
};

/* element (batch index over bsh, row r, col c) of an operand broadcast to bsh */
static double gemm_at(const gemm_operand_t &o, const int64_t *bidx, int bnd, int64_t r, int64_t c) {
  int64_t off = 0, own = o.nd - 2;
  for (int i = 0; i < bnd; i++) {
    int j = i - (bnd - (int)own);
    if (j >= 0 && o.shape[j] != 1) off += bidx[i] * o.stride[j];
  }
  off += r * o.stride[o.nd - 2] + c * o.stride[o.nd - 1];
  return o.buf[(size_t)off];
}

/* an operand of shape (own batch..., rows, cols) in one of five layouts */
static gemm_operand_t gemm_make(const int64_t *own, int nown, int64_t rows, int64_t cols, int layout) {
  gemm_operand_t o;
  o.nd = nown + 2;
  for (int i = 0; i < nown; i++) o.shape[i] = own[i];
  o.shape[nown] = rows, o.shape[nown + 1] = cols;
  int64_t pad = layout == 2 ? 3 : 0;   /* 2: sliced (row stride > cols) */
  int64_t mat;
  if (layout == 1) {   /* transposed view: column-major matrix */
    o.stride[nown] = 1, o.stride[nown + 1] = rows;
    mat = rows * cols;
  } else if (layout == 4) {   /* expanded rows: row stride 0 */
    o.stride[nown] = 0, o.stride[nown + 1] = 1;
    mat = cols;
  } else {
    o.stride[nown] = cols + pad, o.stride[nown + 1] = 1;
    mat = rows * (cols + pad);
  }
  /* batch dims: contiguous over the matrices, or (layout 3) the outer two swapped */
  int64_t s = mat;
  for (int i = nown - 1; i >= 0; i--) {
    o.stride[i] = s;
    s *= own[i];
  }
  if (layout == 3 && nown >= 2 && own[nown - 1] > 1 && own[nown - 2] > 1) {
    o.stride[nown - 2] = mat;
    o.stride[nown - 1] = mat * own[nown - 2];
  }
  o.buf.resize((size_t)(s > 0 ? s : 1));
  for (auto &v : o.buf) v = urand() * 2 - 1;
  o.must_fit = layout <= 2;
  return o;
}

static void gemm_plan_checks(void) {
  int usable = 0, packed = 0, folded = 0;
  for (int t = 0; t < 3000; t++) {
    int bnd = (int)irand(0, 3);
    int64_t bsh[3], M = irand(1, 7), N = irand(1, 7), K = irand(1, 9), batch = 1;
    for (int i = 0; i < bnd; i++) batch *= (bsh[i] = irand(1, 3));
    /* each operand's own batch dims: a suffix of bsh, some of them 1 (broadcast) */
    int64_t own[2][3];
    int nown[2];
    for (int k = 0; k < 2; k++) {
      nown[k] = (int)irand(0, bnd);
      for (int i = 0; i < nown[k]; i++) own[k][i] = urand() < 0.3 ? 1 : bsh[bnd - nown[k] + i];
    }
    int la = (int)irand(0, 4), lb = (int)irand(0, 4);
    gemm_operand_t A = gemm_make(own[0], nown[0], M, K, la), B = gemm_make(own[1], nown[1], K, N, lb);
    cu_gemm_operand oa, ob;
    int fa = cu_gemm_operand_of(A.shape, A.stride, A.nd, bsh, bnd, &oa), fb = cu_gemm_operand_of(B.shape, B.stride, B.nd, bsh, bnd, &ob);
    char what[160];
    snprintf(what, sizeof what, "gemm plan M%lld N%lld K%lld batch %lld layouts %d/%d", (long long)M, (long long)N, (long long)K,
             (long long)batch, la, lb);
    /* a single batch stride exists whenever the own batch dims are not broadcast against a larger bsh */
    int one_stride_a = 1, one_stride_b = 1;
    for (int i = 0; i < nown[0]; i++) one_stride_a &= own[0][i] == bsh[bnd - nown[0] + i] || batch == 1;
    for (int i = 0; i < nown[1]; i++) one_stride_b &= own[1][i] == bsh[bnd - nown[1] + i] || batch == 1;
    one_stride_a &= nown[0] == bnd || nown[0] == 0 || batch == 1;
    one_stride_b &= nown[1] == bnd || nown[1] == 0 || batch == 1;
    if ((A.must_fit && one_stride_a && !fa) || (B.must_fit && one_stride_b && !fb)) {
      check(0, what, "a plain, transposed or sliced operand with one batch stride was refused");
      continue;
    }
    if (!fa || !fb) {
      packed++;
      continue;
    }
    usable++;
    cu_gemm_plan p;
    cu_gemm_plan_make(M, N, K, batch, &oa, &ob, &p);
    folded += p.batch == 1 && batch > 1;
    /* cuBLAS's rules: lda >= (transa ? k : m), ldb >= (transb ? n : k), ldc >= m, all >= 1 */
    int ok = p.a.ld >= (p.a.trans ? p.k : p.m) && p.b.ld >= (p.b.trans ? p.n : p.k) && p.ldc >= p.m && p.a.ld >= 1 && p.b.ld >= 1;
    /* the reference: memory read as cuBLAS reads it; cuBLAS's A is our B, its B our A */
    std::vector<double> C((size_t)(batch * M * N), NAN);
    for (int64_t bi = 0; bi < p.batch && ok; bi++)
      for (int64_t i = 0; i < p.m && ok; i++)
        for (int64_t j = 0; j < p.n && ok; j++) {
          double s = 0;
          for (int64_t k = 0; k < p.k; k++) {
            int64_t ia = bi * p.a.bstride + (p.a.trans ? k + i * p.a.ld : i + k * p.a.ld);
            int64_t ib = bi * p.b.bstride + (p.b.trans ? j + k * p.b.ld : k + j * p.b.ld);
            if (ia < 0 || ia >= (int64_t)B.buf.size() || ib < 0 || ib >= (int64_t)A.buf.size()) {
              ok = 0;
              break;
            }
            s += B.buf[(size_t)ia] * A.buf[(size_t)ib];
          }
          C[(size_t)(bi * p.cstride + i + j * p.ldc)] = s;
        }
    double worst = 0;
    int64_t bidx[3] = {0, 0, 0};
    for (int64_t b = 0; b < batch && ok; b++) {
      for (int64_t r = 0, q = b; r < bnd; r++) {   /* b as an index over bsh, row-major */
        int i = bnd - 1 - (int)r;
        bidx[i] = q % bsh[i];
        q /= bsh[i];
      }
      for (int64_t r = 0; r < M; r++)
        for (int64_t c = 0; c < N; c++) {
          double s = 0;
          for (int64_t k = 0; k < K; k++) s += gemm_at(A, bidx, bnd, r, k) * gemm_at(B, bidx, bnd, k, c);
          double d = fabs(C[(size_t)((b * M + r) * N + c)] - s);
          if (!(d <= worst)) worst = d;   /* NaN (an element never written) counts */
        }
    }
    check(ok && worst <= 1e-12, what, ok ? "the planned GEMM differs from the matmul" : "cuBLAS's ld rules broken or a read out of bounds");
  }
  printf("gemm plans: %d in place (%d batches folded into one GEMM), %d packed\n", usable, folded, packed);
  check(usable > 1000 && folded > 50, "gemm plan coverage", "too few in-place or folded plans were drawn");
}
/* ==== end of GEMM operand plans ==== */

/* activation_backward: act.cuh's element function against activation.c (relu exactly; gelu and
** silu within an ulp or two in float64, the CPU's vector erf/exp in float32), NaN for NaN. */
template <typename T> static void act_checks_t(const char *tname, double tol) {
  const int64_t n = 4099;
  T *x = randv<T>(n, 0.01), *dy = randv<T>(n, 0.01), *cpu = (T *)malloc(sizeof(T) * n), *dev = (T *)malloc(sizeof(T) * n);
  for (int64_t i = 0; i < n; i += 7) x[i] = (T)(x[i] * 12);   /* tails: erf and exp saturate */
  x[1] = 0;
  x[2] = (T)-0.0;
  for (int kind = 0; kind < 3; kind++) {
    if (sizeof(T) == 4) ax_nn_act_bwd_f32(kind, n, (const float *)x, (const float *)dy, (float *)cpu);
    else ax_nn_act_bwd_f64(kind, n, (const double *)x, (const double *)dy, (double *)cpu);
    double worst = 0;
    int nan_ok = 1;
    for (int64_t i = 0; i < n; i++) {
      dev[i] = act_bwd_at<T>(kind, x[i], dy[i]);
      if (cpu[i] != cpu[i] || dev[i] != dev[i]) {
        nan_ok &= (cpu[i] != cpu[i]) == (dev[i] != dev[i]);
        continue;
      }
      double d = fabs((double)cpu[i] - (double)dev[i]) / fmax(fabs((double)cpu[i]), 1.0);
      if (d > worst) worst = d;
    }
    char what[96], detail[96];
    snprintf(what, sizeof what, "activation_backward %s kind %d", tname, kind);
    snprintf(detail, sizeof detail, "max normalised error %.3g (tolerance %.3g), NaN positions %s", worst, tol,
             nan_ok ? "match" : "differ");
    check(nan_ok && worst <= (kind == 0 ? 0.0 : tol), what, detail);
  }
  free(x);
  free(dy);
  free(cpu);
  free(dev);
}

static void act_checks(void) {
  act_checks_t<float>("float32", 1e-6);
  act_checks_t<double>("float64", 1e-14);
}

int main(void) {
  char desc[256];
  int tried[3] = {0, 0, 0};
  for (int kind = 0; kind < 3; kind++)
    for (int t = 0; t < 400; t++) tried[kind] += pool_trial<double>(kind, desc, sizeof desc) + pool_trial<float>(kind, desc, sizeof desc);
  random_checks();
  optim_checks<float>();
  optim_checks<double>();
  ce_checks<float>();
  ce_checks<double>();
  att_checks();
  tc_checks();
  act_checks();
  gemm_plan_checks();
  printf("test_cuda_host: %d passed, %d failed (%d max, %d avg, %d adaptive pooling geometries)\n", npass, nfail, tried[0],
         tried[1], tried[2]);
  return nfail ? 1 : 0;
}
