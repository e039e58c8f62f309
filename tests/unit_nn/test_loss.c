/* tests/unit_nn/test_loss.c — cross-entropy (class indices with weights, ignore_index, label
** smoothing, every reduction; probability targets) and embedding vs plain float64 references,
** gradient checks, float32, and index errors.
** Invariant: the reference computes log_softmax naively (log(sum exp)) on moderate logits. */
#include "test_nn.h"

#include "nn_internal.h"

typedef struct {
  int64_t n, c, ignore;
  double *x, *w, *soft, ls;
  const int64_t *t;
  ax_nn_reduction red;
} ce_ctx;

/* PyTorch: (1-ls)*nll + ls/c*smooth, both reduced with the same denominator */
static void ref_ce(void *p, double *out) {
  ce_ctx *c = p;
  double tot = 0, den = 0;
  for (int64_t i = 0; i < c->n; i++) {
    double s = 0;
    for (int64_t k = 0; k < c->c; k++) s += exp(c->x[i * c->c + k]);
    double lse = log(s), li = 0;
    if (c->soft) {
      for (int64_t k = 0; k < c->c; k++)
        li -= (c->w ? c->w[k] : 1) * (c->soft[i * c->c + k] * (1 - c->ls) + c->ls / (double)c->c) *
              (c->x[i * c->c + k] - lse);
      den += 1;
    } else if (c->t[i] != c->ignore) {
      double wt = c->w ? c->w[c->t[i]] : 1, sm = 0;
      for (int64_t k = 0; k < c->c; k++) sm -= (c->w ? c->w[k] : 1) * (c->x[i * c->c + k] - lse);
      li = (1 - c->ls) * -wt * (c->x[i * c->c + c->t[i]] - lse) + c->ls / (double)c->c * sm;
      den += wt;
    }
    if (c->red == AX_NN_REDUCE_NONE) out[i] = li;
    tot += li;
  }
  if (c->red == AX_NN_REDUCE_SUM) out[0] = tot;
  if (c->red == AX_NN_REDUCE_MEAN) out[0] = tot / den;
}

static void check_ce(const char *name, int64_t n, int64_t c, int weighted, int64_t ignore,
                     double ls, ax_nn_reduction red, int soft) {
  ax_err e = {0};
  double *x = tn_randv(n * c), *w = weighted ? tn_randv(c) : NULL, *q = NULL;
  for (int64_t i = 0; i < n * c; i++) x[i] *= 3;
  if (w)
    for (int64_t k = 0; k < c; k++) w[k] = 1.25 + w[k];
  int64_t *t = malloc((size_t)n * sizeof *t);
  for (int64_t i = 0; i < n; i++) t[i] = (int64_t)((tn_rand() + 1) / 2 * (double)c) % c;
  if (ignore >= 0) t[1] = ignore;
  if (soft) {
    q = tn_zeros(n * c);
    for (int64_t i = 0; i < n; i++) {
      double s = 0;
      for (int64_t k = 0; k < c; k++) s += q[i * c + k] = tn_rand() + 1.0;
      for (int64_t k = 0; k < c; k++) q[i * c + k] /= s;
    }
  }
  int64_t nout = red == AX_NN_REDUCE_NONE ? n : 1;
  double *ref = tn_zeros(nout), *loss = tn_zeros(nout), *lse = tn_zeros(n), *r = tn_randv(nout);
  ce_ctx ctx = {n, c, ignore, x, w, q, ls, t, red};
  ref_ce(&ctx, ref);
  if (soft) CHECK_OK(ax_nn_cross_entropy_soft_fwd_f64(n, c, x, q, w, ls, red, loss, lse, &e), &e);
  else CHECK_OK(ax_nn_cross_entropy_fwd_f64(n, c, x, t, w, ignore, ls, red, loss, lse, &e), &e);
  char what[96];
  snprintf(what, sizeof what, "cross_entropy %s", name);
  tn_close(what, loss, ref, nout, 1e-12, 1e-10);
  double *dx = tn_zeros(n * c);
  if (soft) CHECK_OK(ax_nn_cross_entropy_soft_bwd_f64(n, c, x, q, w, ls, red, lse, r, dx, &e), &e);
  else CHECK_OK(ax_nn_cross_entropy_bwd_f64(n, c, x, t, w, ignore, ls, red, lse, r, dx, &e), &e);
  snprintf(what, sizeof what, "cross_entropy dx %s", name);
  tn_gradcheck(what, ref_ce, &ctx, x, n * c, dx, r, nout);
  float *xf = tn_to_f32(x, n * c), *wf = w ? tn_to_f32(w, c) : NULL, *qf = q ? tn_to_f32(q, n * c) : NULL;
  float *lf = malloc((size_t)nout * 4), *lsef = malloc((size_t)n * 4), *rf = tn_to_f32(r, nout);
  float *dxf = malloc((size_t)(n * c) * 4);
  if (soft) {
    CHECK_OK(ax_nn_cross_entropy_soft_fwd_f32(n, c, xf, qf, wf, ls, red, lf, lsef, &e), &e);
    CHECK_OK(ax_nn_cross_entropy_soft_bwd_f32(n, c, xf, qf, wf, ls, red, lsef, rf, dxf, &e), &e);
  } else {
    CHECK_OK(ax_nn_cross_entropy_fwd_f32(n, c, xf, t, wf, ignore, ls, red, lf, lsef, &e), &e);
    CHECK_OK(ax_nn_cross_entropy_bwd_f32(n, c, xf, t, wf, ignore, ls, red, lsef, rf, dxf, &e), &e);
  }
  snprintf(what, sizeof what, "cross_entropy f32 %s", name);
  tn_close_f32(what, lf, ref, nout, 1e-5, 1e-5);
  snprintf(what, sizeof what, "cross_entropy dx f32 %s", name);
  tn_close_f32(what, dxf, dx, n * c, 1e-6, 1e-5);
  free(x), free(w), free(q), free(t), free(ref), free(loss), free(lse), free(r), free(dx), free(xf);
  free(wf), free(qf), free(lf), free(lsef), free(rf), free(dxf);
}

typedef struct {
  int64_t v, d, m;
  double *w;
  const int64_t *ids;
} emb_ctx;

static void ref_emb(void *p, double *y) {
  emb_ctx *c = p;
  for (int64_t i = 0; i < c->m; i++)
    for (int64_t k = 0; k < c->d; k++) y[i * c->d + k] = c->w[c->ids[i] * c->d + k];
}

static void test_embedding_kernels(void) {
  ax_err e = {0};
  int64_t v = 7, d = 5, m = 9, ids[9] = {0, 3, 3, 6, 1, 2, 3, 0, 5};
  double *w = tn_randv(v * d), *y = tn_zeros(m * d), *yr = tn_zeros(m * d), *r = tn_randv(m * d);
  double *dw = tn_zeros(v * d);
  emb_ctx c = {v, d, m, w, ids};
  ref_emb(&c, yr);
  CHECK_OK(ax_nn_embedding_fwd_f64(v, d, m, w, ids, y, &e), &e);
  tn_close("embedding fwd", y, yr, m * d, 0, 0);
  CHECK_OK(ax_nn_embedding_bwd_f64(v, d, m, ids, r, -1, dw, &e), &e);
  tn_gradcheck("embedding dweight", ref_emb, &c, w, v * d, dw, r, m * d);
  CHECK_OK(ax_nn_embedding_bwd_f64(v, d, m, ids, r, 3, dw, &e), &e);
  for (int64_t k = 0; k < d; k++) CHECK(dw[3 * d + k] == 0);
  CHECK(fabs(dw[0] - (r[0] + r[7 * d])) < 1e-15);
  float *wf = tn_to_f32(w, v * d), *yf = malloc((size_t)(m * d) * 4);
  CHECK_OK(ax_nn_embedding_fwd_f32(v, d, m, wf, ids, yf, &e), &e);
  tn_close_f32("embedding fwd f32", yf, yr, m * d, 1e-7, 1e-7);
  int64_t bad[2] = {1, 7};
  CHECK(ax_nn_embedding_fwd_f32(v, d, 2, wf, bad, yf, &e) == AX_E_INDEX);
  tn_msg_has(e.msg, "index 7 (position 1) is out of range for a vocabulary of 7");
  bad[1] = -1;
  CHECK(ax_nn_embedding_bwd_f64(v, d, 2, bad, r, -1, dw, &e) == AX_E_INDEX);
  free(w), free(y), free(yr), free(r), free(dw), free(wf), free(yf);
}

/* the vectorizable exp used by softmax, cross-entropy and attention */
static void test_expf(void) {
  double worst = 0;
  for (int i = 0; i <= 200000; i++) {
    const float x = -86.4f + 174.7f * (float)i / 200000.0f;
    const double want = exp((double)x), got = nn_expf(x);
    const double rel = fabs(got - want) / want;
    if (rel > worst) worst = rel;
  }
  if (worst > 3e-7) fprintf(stderr, "  nn_expf: worst relative error %g\n", worst);
  CHECK(worst <= 3e-7);
  CHECK(nn_expf(-INFINITY) == 0.0f && nn_expf(-1000.0f) == 0.0f && nn_expf(0.0f) == 1.0f);
  CHECK(isinf(nn_expf(INFINITY)) && isnan(nn_expf(NAN)));
}

typedef struct {
  int64_t n, c, ignore;
  double *lp, *w;
  const int64_t *t;
  ax_nn_reduction red;
} nll_ctx;

static void ref_nll(void *p, double *out) {
  nll_ctx *c = p;
  double s = 0, ws = 0;
  for (int64_t i = 0; i < c->n; i++) {
    double li = 0;
    if (c->t[i] != c->ignore) {
      li = -(c->w ? c->w[c->t[i]] : 1) * c->lp[i * c->c + c->t[i]];
      ws += c->w ? c->w[c->t[i]] : 1;
    }
    if (c->red == AX_NN_REDUCE_NONE) out[i] = li;
    s += li;
  }
  if (c->red == AX_NN_REDUCE_SUM) out[0] = s;
  if (c->red == AX_NN_REDUCE_MEAN) out[0] = s / ws;
}

static void check_nll(ax_nn_reduction red, int weighted) {
  ax_err e = {0};
  int64_t n = 6, c = 4, t[6] = {0, 3, 1, 1, 2, 3};
  double *lp = tn_randv(n * c), *w = weighted ? tn_randv(c) : NULL, *dl = tn_zeros(n * c);
  if (w)
    for (int k = 0; k < c; k++) w[k] += 1.5;
  int64_t nout = red == AX_NN_REDUCE_NONE ? n : 1;
  double *r = tn_randv(nout), *got = tn_zeros(nout), *want = tn_zeros(nout);
  nll_ctx ctx = {n, c, 1, lp, w, t, red};
  ref_nll(&ctx, want);
  CHECK_OK(ax_nn_nll_loss_fwd_f64(n, c, lp, t, w, 1, red, got, &e), &e);
  tn_close("nll_loss fwd", got, want, nout, 1e-14, 1e-12);
  CHECK_OK(ax_nn_nll_loss_bwd_f64(n, c, t, w, 1, red, r, dl, &e), &e);
  tn_gradcheck("nll_loss dlogp", ref_nll, &ctx, lp, n * c, dl, r, nout);
  free(lp), free(w), free(dl), free(r), free(got), free(want);
}

void test_loss(void) {
  test_expf();
  check_nll(AX_NN_REDUCE_MEAN, 1);
  check_nll(AX_NN_REDUCE_SUM, 0);
  check_nll(AX_NN_REDUCE_NONE, 1);
  check_ce("mean", 6, 5, 0, -100, 0, AX_NN_REDUCE_MEAN, 0);
  check_ce("sum", 6, 5, 0, -100, 0, AX_NN_REDUCE_SUM, 0);
  check_ce("none", 6, 5, 0, -100, 0, AX_NN_REDUCE_NONE, 0);
  check_ce("weighted mean", 7, 4, 1, -100, 0, AX_NN_REDUCE_MEAN, 0);
  check_ce("ignore mean", 7, 4, 0, 2, 0, AX_NN_REDUCE_MEAN, 0);
  check_ce("ignore weighted ls mean", 7, 4, 1, 2, 0.1, AX_NN_REDUCE_MEAN, 0);
  check_ce("ls none", 5, 6, 0, -100, 0.2, AX_NN_REDUCE_NONE, 0);
  check_ce("ls weighted sum", 5, 6, 1, -100, 0.3, AX_NN_REDUCE_SUM, 0);
  check_ce("soft mean", 5, 4, 0, -100, 0, AX_NN_REDUCE_MEAN, 1);
  check_ce("soft weighted ls none", 5, 4, 1, -100, 0.1, AX_NN_REDUCE_NONE, 1);
  check_ce("threaded", 700, 33, 1, 2, 0.1, AX_NN_REDUCE_MEAN, 0);
  /* stability: huge logits do not overflow */
  ax_err e = {0};
  float big[3] = {1000.0f, 0.0f, -1000.0f}, l, lse, dl = 1, dx[3];
  int64_t t = 0;
  CHECK_OK(ax_nn_cross_entropy_fwd_f32(1, 3, big, &t, NULL, -100, 0, AX_NN_REDUCE_MEAN, &l, &lse, &e), &e);
  CHECK(l == 0.0f && lse == 1000.0f);
  CHECK_OK(ax_nn_cross_entropy_bwd_f32(1, 3, big, &t, NULL, -100, 0, AX_NN_REDUCE_MEAN, &lse, &dl, dx, &e), &e);
  CHECK(dx[0] == 0.0f && dx[1] == 0.0f);
  /* all targets ignored: mean is NaN (PyTorch) */
  t = 1;
  CHECK_OK(ax_nn_cross_entropy_fwd_f32(1, 3, big, &t, NULL, 1, 0, AX_NN_REDUCE_MEAN, &l, &lse, &e), &e);
  CHECK(isnan(l));
  t = 3;
  CHECK(ax_nn_cross_entropy_fwd_f32(1, 3, big, &t, NULL, -100, 0, AX_NN_REDUCE_MEAN, &l, &lse, &e) == AX_E_INDEX);
  tn_msg_has(e.msg, "target 3 at row 0 is out of range for 3 classes");
  test_embedding_kernels();
}
