/* tests/cuda/test_cuda_host.cpp — the element functions of the CUDA kernels (runtime/cuda/pool.cuh,
** random.cuh, optim.cuh, loss.cuh), compiled as plain C++ and run on the host against the CPU
** kernels of runtime/neural and runtime/ax_create.c. No GPU and no CUDA library is needed, so the
** index math and formulas of the device code (pool windows and backward gathers, Philox counters,
** optimizer updates, the cross-entropy gradient) are checked on every machine; a GPU run then
** only adds the device's own arithmetic. Pooling and Philox compare bit for bit (NaN matching
** NaN); optimizer steps and the cross-entropy gradient within a few ulp (the CPU kernels contract
** multiply-adds into FMAs on x86-64-v3 machines; loss.inc computes its exp part in T).
** Invariant: the device files are included, not copied. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "ax_mem.h"
#include "ax_ops.h"
#include "neural/ax_nn_kernels.h"
}

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
  printf("test_cuda_host: %d passed, %d failed (%d max, %d avg, %d adaptive pooling geometries)\n", npass, nfail, tried[0],
         tried[1], tried[2]);
  return nfail ? 1 : 0;
}
