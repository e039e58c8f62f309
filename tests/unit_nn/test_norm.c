/* tests/unit_nn/test_norm.c — batch/layer/group/instance/RMS norm vs plain float64 references
** (forward, saved statistics, running-stat updates), gradient checks of every backward, float32.
** Invariant: the references compute mean and biased variance with textbook two-pass loops. */
#include "test_nn.h"

/* generic normaliser over "sets" of elements: element e of set s is at x[idx(s, e)];
** channel(s, e) picks gamma/beta */
typedef struct {
  int kind;   /* 0 batch, 1 layer, 2 group, 3 rms */
  int64_t n, c, hw, groups, m, d;
  double eps;
  double *x, *gamma, *beta;   /* gamma/beta may be NULL */
} nctx;

static void ref_norm(void *p, double *y) {
  nctx *c = p;
  if (c->kind == 0) {
    for (int64_t ch = 0; ch < c->c; ch++) {
      double s = 0, ss = 0, cnt = (double)(c->n * c->hw);
      for (int64_t i = 0; i < c->n; i++)
        for (int64_t k = 0; k < c->hw; k++) s += c->x[(i * c->c + ch) * c->hw + k];
      double mean = s / cnt;
      for (int64_t i = 0; i < c->n; i++)
        for (int64_t k = 0; k < c->hw; k++) {
          double dd = c->x[(i * c->c + ch) * c->hw + k] - mean;
          ss += dd * dd;
        }
      double rstd = 1 / sqrt(ss / cnt + c->eps);
      for (int64_t i = 0; i < c->n; i++)
        for (int64_t k = 0; k < c->hw; k++) {
          int64_t o = (i * c->c + ch) * c->hw + k;
          y[o] = (c->x[o] - mean) * rstd * (c->gamma ? c->gamma[ch] : 1) + (c->beta ? c->beta[ch] : 0);
        }
    }
  } else if (c->kind == 1 || c->kind == 3) {
    for (int64_t r = 0; r < c->m; r++) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < c->d; i++) s += c->x[r * c->d + i];
      double mean = c->kind == 1 ? s / (double)c->d : 0;
      for (int64_t i = 0; i < c->d; i++) ss += (c->x[r * c->d + i] - mean) * (c->x[r * c->d + i] - mean);
      double rstd = 1 / sqrt(ss / (double)c->d + c->eps);
      for (int64_t i = 0; i < c->d; i++)
        y[r * c->d + i] = (c->x[r * c->d + i] - mean) * rstd * (c->gamma ? c->gamma[i] : 1) +
                          (c->beta ? c->beta[i] : 0);
    }
  } else {
    int64_t cg = c->c / c->groups, len = cg * c->hw;
    for (int64_t u = 0; u < c->n * c->groups; u++) {
      double s = 0, ss = 0;
      for (int64_t i = 0; i < len; i++) s += c->x[u * len + i];
      double mean = s / (double)len;
      for (int64_t i = 0; i < len; i++) ss += (c->x[u * len + i] - mean) * (c->x[u * len + i] - mean);
      double rstd = 1 / sqrt(ss / (double)len + c->eps);
      for (int64_t i = 0; i < len; i++) {
        int64_t ch = (u % c->groups) * cg + i / c->hw;
        y[u * len + i] = (c->x[u * len + i] - mean) * rstd * (c->gamma ? c->gamma[ch] : 1) +
                         (c->beta ? c->beta[ch] : 0);
      }
    }
  }
}

static void check_batch_norm(int64_t n, int64_t c, int64_t hw, int affine) {
  ax_err e = {0};
  int64_t nx = n * c * hw;
  double *x = tn_randv(nx), *g = affine ? tn_randv(c) : NULL, *b = affine ? tn_randv(c) : NULL;
  double *r = tn_randv(nx), *y = tn_zeros(nx), *yr = tn_zeros(nx), *mean = tn_zeros(c), *rstd = tn_zeros(c);
  double *rm = tn_randv(c), *rv = tn_zeros(c), *rm0 = tn_zeros(c), *rv0 = tn_zeros(c);
  for (int64_t i = 0; i < c; i++) rv[i] = 0.5 + 0.25 * tn_rand(), rm0[i] = rm[i], rv0[i] = rv[i];
  nctx ctx = {0, n, c, hw, 0, 0, 0, 1e-5, x, g, b};
  ref_norm(&ctx, yr);
  const double mom = 0.1;
  CHECK_OK(ax_nn_batch_norm_fwd_train_f64(n, c, hw, x, g, b, 1e-5, mom, rm, rv, y, mean, rstd, &e), &e);
  tn_close("batch_norm fwd", y, yr, nx, 1e-12, 1e-10);
  for (int64_t ch = 0; ch < c; ch++) {   /* running stats: unbiased variance, momentum */
    double s = 0, ss = 0, m = (double)(n * hw);
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < hw; k++) s += x[(i * c + ch) * hw + k];
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < hw; k++) ss += pow(x[(i * c + ch) * hw + k] - s / m, 2);
    CHECK(fabs(rm[ch] - ((1 - mom) * rm0[ch] + mom * s / m)) < 1e-12);
    CHECK(fabs(rv[ch] - ((1 - mom) * rv0[ch] + mom * ss / (m - 1))) < 1e-12);
    CHECK(fabs(mean[ch] - s / m) < 1e-12 && fabs(rstd[ch] - 1 / sqrt(ss / m + 1e-5)) < 1e-9);
  }
  double *dx = tn_zeros(nx), *dg = tn_zeros(c), *db = tn_zeros(c);
  CHECK_OK(ax_nn_batch_norm_bwd_f64(n, c, hw, x, r, g, mean, rstd, dx, affine ? dg : NULL,
                                    affine ? db : NULL, &e), &e);
  tn_gradcheck("batch_norm dx", ref_norm, &ctx, x, nx, dx, r, nx);
  if (affine) {
    tn_gradcheck("batch_norm dgamma", ref_norm, &ctx, g, c, dg, r, nx);
    tn_gradcheck("batch_norm dbeta", ref_norm, &ctx, b, c, db, r, nx);
  }
  /* float32 */
  float *xf = tn_to_f32(x, nx), *gf = affine ? tn_to_f32(g, c) : NULL, *bf = affine ? tn_to_f32(b, c) : NULL;
  float *rf = tn_to_f32(r, nx), *yf = malloc((size_t)nx * 4), *mf = malloc((size_t)c * 4), *sf = malloc((size_t)c * 4);
  float *dxf = malloc((size_t)nx * 4);
  CHECK_OK(ax_nn_batch_norm_fwd_train_f32(n, c, hw, xf, gf, bf, 1e-5, mom, NULL, NULL, yf, mf, sf, &e), &e);
  tn_close_f32("batch_norm fwd f32", yf, yr, nx, 1e-5, 1e-5);
  CHECK_OK(ax_nn_batch_norm_bwd_f32(n, c, hw, xf, rf, gf, mf, sf, dxf, NULL, NULL, &e), &e);
  tn_close_f32("batch_norm dx f32", dxf, dx, nx, 1e-4, 1e-4);
  /* eval mode: statistics are constants */
  double *ye = tn_zeros(nx);
  CHECK_OK(ax_nn_batch_norm_fwd_eval_f64(n, c, hw, x, g, b, rm, rv, 1e-5, ye, &e), &e);
  for (int64_t i = 0; i < n; i++)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t k = 0; k < hw; k++) {
        int64_t o = (i * c + ch) * hw + k;
        double want = (x[o] - rm[ch]) / sqrt(rv[ch] + 1e-5) * (g ? g[ch] : 1) + (b ? b[ch] : 0);
        if (fabs(ye[o] - want) > 1e-12) { CHECK(fabs(ye[o] - want) <= 1e-12); i = n; break; }
      }
  CHECK_OK(ax_nn_batch_norm_bwd_eval_f64(n, c, hw, x, r, g, rm, rv, 1e-5, dx, dg, db, &e), &e);
  CHECK(fabs(dx[0] - r[0] * (g ? g[0] : 1) / sqrt(rv[0] + 1e-5)) < 1e-12);
  double sdb = 0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < hw; k++) sdb += r[(i * c + 1) * hw + k];
  CHECK(fabs(db[1] - sdb) < 1e-10);
  free(x), free(g), free(b), free(r), free(y), free(yr), free(mean), free(rstd), free(rm), free(rv);
  free(rm0), free(rv0), free(dx), free(dg), free(db), free(xf), free(gf), free(bf), free(rf), free(yf);
  free(mf), free(sf), free(dxf), free(ye);
}

static void check_rowwise(int rms, int64_t m, int64_t d, int affine) {
  ax_err e = {0};
  int64_t nx = m * d;
  double *x = tn_randv(nx), *g = affine ? tn_randv(d) : NULL, *b = affine && !rms ? tn_randv(d) : NULL;
  double *r = tn_randv(nx), *y = tn_zeros(nx), *yr = tn_zeros(nx), *mean = tn_zeros(m), *rstd = tn_zeros(m);
  nctx ctx = {rms ? 3 : 1, 0, 0, 0, 0, m, d, 1e-5, x, g, b};
  ref_norm(&ctx, yr);
  const char *nm = rms ? "rms_norm" : "layer_norm";
  char what[64];
  if (rms) CHECK_OK(ax_nn_rms_norm_fwd_f64(m, d, x, g, 1e-5, y, rstd, &e), &e);
  else CHECK_OK(ax_nn_layer_norm_fwd_f64(m, d, x, g, b, 1e-5, y, mean, rstd, &e), &e);
  snprintf(what, sizeof what, "%s fwd", nm);
  tn_close(what, y, yr, nx, 1e-12, 1e-10);
  double *dx = tn_zeros(nx), *dg = tn_zeros(d), *db = tn_zeros(d);
  if (rms) CHECK_OK(ax_nn_rms_norm_bwd_f64(m, d, x, r, g, rstd, dx, affine ? dg : NULL, &e), &e);
  else CHECK_OK(ax_nn_layer_norm_bwd_f64(m, d, x, r, g, mean, rstd, dx, affine ? dg : NULL, affine ? db : NULL, &e), &e);
  snprintf(what, sizeof what, "%s dx", nm);
  tn_gradcheck(what, ref_norm, &ctx, x, nx, dx, r, nx);
  if (affine) {
    snprintf(what, sizeof what, "%s dgamma", nm);
    tn_gradcheck(what, ref_norm, &ctx, g, d, dg, r, nx);
    if (!rms) tn_gradcheck("layer_norm dbeta", ref_norm, &ctx, b, d, db, r, nx);
  }
  float *xf = tn_to_f32(x, nx), *gf = g ? tn_to_f32(g, d) : NULL, *bf = b ? tn_to_f32(b, d) : NULL;
  float *rf = tn_to_f32(r, nx), *yf = malloc((size_t)nx * 4), *mf = malloc((size_t)m * 4), *sf = malloc((size_t)m * 4);
  float *dxf = malloc((size_t)nx * 4), *dgf = malloc((size_t)d * 4);
  if (rms) {
    CHECK_OK(ax_nn_rms_norm_fwd_f32(m, d, xf, gf, 1e-5, yf, sf, &e), &e);
    CHECK_OK(ax_nn_rms_norm_bwd_f32(m, d, xf, rf, gf, sf, dxf, dgf, &e), &e);
  } else {
    CHECK_OK(ax_nn_layer_norm_fwd_f32(m, d, xf, gf, bf, 1e-5, yf, mf, sf, &e), &e);
    CHECK_OK(ax_nn_layer_norm_bwd_f32(m, d, xf, rf, gf, mf, sf, dxf, dgf, NULL, &e), &e);
  }
  snprintf(what, sizeof what, "%s fwd f32", nm);
  tn_close_f32(what, yf, yr, nx, 1e-5, 1e-5);
  snprintf(what, sizeof what, "%s dx f32", nm);
  tn_close_f32(what, dxf, dx, nx, 1e-4, 1e-4);
  if (affine) {
    snprintf(what, sizeof what, "%s dgamma f32", nm);
    tn_close_f32(what, dgf, dg, d, 1e-4, 1e-4);
  }
  free(x), free(g), free(b), free(r), free(y), free(yr), free(mean), free(rstd), free(dx), free(dg);
  free(db), free(xf), free(gf), free(bf), free(rf), free(yf), free(mf), free(sf), free(dxf), free(dgf);
}

static void check_group_norm(int64_t n, int64_t c, int64_t hw, int64_t groups, int affine) {
  ax_err e = {0};
  int64_t nx = n * c * hw;
  double *x = tn_randv(nx), *g = affine ? tn_randv(c) : NULL, *b = affine ? tn_randv(c) : NULL;
  double *r = tn_randv(nx), *y = tn_zeros(nx), *yr = tn_zeros(nx);
  double *mean = tn_zeros(n * groups), *rstd = tn_zeros(n * groups);
  nctx ctx = {2, n, c, hw, groups, 0, 0, 1e-5, x, g, b};
  ref_norm(&ctx, yr);
  if (groups == c) CHECK_OK(ax_nn_instance_norm_fwd_f64(n, c, hw, x, g, b, 1e-5, y, mean, rstd, &e), &e);
  else CHECK_OK(ax_nn_group_norm_fwd_f64(n, c, hw, groups, x, g, b, 1e-5, y, mean, rstd, &e), &e);
  tn_close("group_norm fwd", y, yr, nx, 1e-12, 1e-10);
  double *dx = tn_zeros(nx), *dg = tn_zeros(c), *db = tn_zeros(c);
  if (groups == c) CHECK_OK(ax_nn_instance_norm_bwd_f64(n, c, hw, x, r, g, mean, rstd, dx, dg, db, &e), &e);
  else CHECK_OK(ax_nn_group_norm_bwd_f64(n, c, hw, groups, x, r, g, mean, rstd, dx, dg, db, &e), &e);
  tn_gradcheck("group_norm dx", ref_norm, &ctx, x, nx, dx, r, nx);
  if (affine) {
    tn_gradcheck("group_norm dgamma", ref_norm, &ctx, g, c, dg, r, nx);
    tn_gradcheck("group_norm dbeta", ref_norm, &ctx, b, c, db, r, nx);
  }
  float *xf = tn_to_f32(x, nx), *gf = g ? tn_to_f32(g, c) : NULL, *bf = b ? tn_to_f32(b, c) : NULL;
  float *yf = malloc((size_t)nx * 4), *mf = malloc((size_t)(n * groups) * 4), *sf = malloc((size_t)(n * groups) * 4);
  CHECK_OK(ax_nn_group_norm_fwd_f32(n, c, hw, groups, xf, gf, bf, 1e-5, yf, mf, sf, &e), &e);
  tn_close_f32("group_norm fwd f32", yf, yr, nx, 1e-5, 1e-5);
  free(x), free(g), free(b), free(r), free(y), free(yr), free(mean), free(rstd), free(dx), free(dg);
  free(db), free(xf), free(gf), free(bf), free(yf), free(mf), free(sf);
}

void test_norm(void) {
  check_batch_norm(3, 4, 5, 1);
  check_batch_norm(5, 3, 1, 0);    /* [n, c] input */
  check_batch_norm(4, 6, 33, 1);   /* odd tails in the 8-wide sums */
  check_rowwise(0, 5, 7, 1);
  check_rowwise(0, 3, 19, 0);
  check_rowwise(1, 5, 7, 1);
  check_rowwise(1, 4, 10, 0);
  check_group_norm(2, 6, 5, 3, 1);
  check_group_norm(3, 4, 3, 4, 1);   /* instance norm */
  check_group_norm(2, 4, 7, 1, 0);
  /* threaded paths */
  check_batch_norm(16, 8, 300, 1);
  check_rowwise(0, 600, 64, 1);
  ax_err e = {0};
  double x[4] = {1, 2, 3, 4}, y[4], m[4], s[4];
  CHECK(ax_nn_batch_norm_fwd_train_f64(1, 4, 1, x, NULL, NULL, 1e-5, 0.1, NULL, NULL, y, m, s, &e) == AX_E_VALUE);
  tn_msg_has(e.msg, "more than 1 value per channel");
  CHECK(ax_nn_group_norm_fwd_f64(1, 4, 1, 3, x, NULL, NULL, 1e-5, y, m, s, &e) == AX_E_SHAPE);
  tn_msg_has(e.msg, "3 groups do not divide 4 channels");
}
