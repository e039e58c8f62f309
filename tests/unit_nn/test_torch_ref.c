/* tests/unit_nn/test_torch_ref.c — the float64 kernels against values PyTorch 1.13 computed
** (data/<case>.f64, written by gen_ref.py: arrays in the order documented there).
** Invariant: tolerances are 1e-10 relative; a missing data file is a failure, not a skip. */
#include "test_nn.h"

typedef struct {
  double *base, *at;
  int64_t left;
} cursor;

static int open_case(const char *name, cursor *c) {
  int64_t n = 0;
  char file[128];
  snprintf(file, sizeof file, "%s.f64", name);
  c->base = c->at = tn_read_ref(file, &n);
  c->left = n;
  return c->base != NULL;
}

static double *take(cursor *c, int64_t n) {
  if (n > c->left) {
    fprintf(stderr, "  reference file too short\n");
    tn_failures++;
    static double zero[4096];
    return zero;
  }
  double *p = c->at;
  c->at += n;
  c->left -= n;
  return p;
}

static void close_case(const char *name, cursor *c) {
  if (c->left != 0) {
    fprintf(stderr, "  %s: %lld values left over in the reference file\n", name, (long long)c->left);
    tn_failures++;
  }
}

#define CLOSE(what, got, want, n) tn_close(what, got, want, n, 1e-11, 1e-10)

static void conv_case(const char *name, ax_nn_conv2d_desc d) {
  cursor c;
  if (!open_case(name, &c)) return;
  ax_err e = {0};
  int64_t oh, ow;
  CHECK_OK(ax_nn_conv2d_out_size(&d, &oh, &ow, &e), &e);
  int64_t nx = d.n * d.c_in * d.h * d.w, nw = d.c_out * d.c_in / d.groups * d.kh * d.kw;
  int64_t ny = d.n * d.c_out * oh * ow;
  double *x = take(&c, nx), *w = take(&c, nw), *b = take(&c, d.c_out), *dy = take(&c, ny);
  double *y_ref = take(&c, ny), *dx_ref = take(&c, nx), *dw_ref = take(&c, nw), *db_ref = take(&c, d.c_out);
  close_case(name, &c);
  double *y = tn_zeros(ny), *dx = tn_zeros(nx), *dw = tn_zeros(nw), *db = tn_zeros(d.c_out);
  CHECK_OK(ax_nn_conv2d_fwd_f64(&d, x, w, b, y, &e), &e);
  CHECK_OK(ax_nn_conv2d_bwd_f64(&d, x, w, dy, dx, dw, db, &e), &e);
  CLOSE("torch conv2d y", y, y_ref, ny);
  CLOSE("torch conv2d dx", dx, dx_ref, nx);
  CLOSE("torch conv2d dw", dw, dw_ref, nw);
  CLOSE("torch conv2d db", db, db_ref, d.c_out);
  free(y), free(dx), free(dw), free(db), free(c.base);
}

static void convt_case(void) {
  cursor c;
  if (!open_case("conv_transpose2d", &c)) return;
  ax_err e = {0};
  ax_nn_conv_transpose2d_desc d = {2, 3, 4, 5, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  int64_t oh, ow;
  CHECK_OK(ax_nn_conv_transpose2d_out_size(&d, &oh, &ow, &e), &e);
  int64_t nx = 2 * 3 * 4 * 5, nw = 3 * 2 * 9, ny = 2 * 2 * oh * ow;
  double *x = take(&c, nx), *w = take(&c, nw), *b = take(&c, 2), *dy = take(&c, ny);
  double *y_ref = take(&c, ny), *dx_ref = take(&c, nx), *dw_ref = take(&c, nw), *db_ref = take(&c, 2);
  close_case("conv_transpose2d", &c);
  double *y = tn_zeros(ny), *dx = tn_zeros(nx), *dw = tn_zeros(nw), db[2];
  CHECK_OK(ax_nn_conv_transpose2d_fwd_f64(&d, x, w, b, y, &e), &e);
  CHECK_OK(ax_nn_conv_transpose2d_bwd_f64(&d, x, w, dy, dx, dw, db, &e), &e);
  CLOSE("torch conv_transpose2d y", y, y_ref, ny);
  CLOSE("torch conv_transpose2d dx", dx, dx_ref, nx);
  CLOSE("torch conv_transpose2d dw", dw, dw_ref, nw);
  CLOSE("torch conv_transpose2d db", db, db_ref, 2);
  free(y), free(dx), free(dw), free(c.base);
}

static void conv3d_case(void) {
  cursor c;
  if (!open_case("conv3d", &c)) return;
  ax_err e = {0};
  ax_nn_conv3d_desc d = {2, 2, 3, 1, {5, 6, 4}, {3, 2, 3}, {2, 1, 1}, {1, 0, 1}, {1, 0, 1}, {1, 2, 1}};
  int64_t o[3];
  CHECK_OK(ax_nn_conv3d_out_size(&d, o, &e), &e);
  const int64_t nx = 2 * 2 * 120, nw = 3 * 2 * 18, ny = 2 * 3 * o[0] * o[1] * o[2];
  double *x = take(&c, nx), *w = take(&c, nw), *b = take(&c, 3), *dy = take(&c, ny);
  double *y_ref = take(&c, ny), *dx_ref = take(&c, nx), *dw_ref = take(&c, nw), *db_ref = take(&c, 3);
  close_case("conv3d", &c);
  double *y = tn_zeros(ny), *dx = tn_zeros(nx), *dw = tn_zeros(nw), db[3];
  CHECK_OK(ax_nn_conv3d_fwd_f64(&d, x, w, b, y, &e), &e);
  CHECK_OK(ax_nn_conv3d_bwd_f64(&d, x, w, dy, dx, dw, db, &e), &e);
  CLOSE("torch conv3d y", y, y_ref, ny);
  CLOSE("torch conv3d dx", dx, dx_ref, nx);
  CLOSE("torch conv3d dw", dw, dw_ref, nw);
  CLOSE("torch conv3d db", db, db_ref, 3);
  free(y), free(dx), free(dw), free(c.base);
}

static void norm_cases(void) {
  ax_err e = {0};
  cursor c;
  if (open_case("batch_norm", &c)) {
    const int64_t n = 4, ch = 3, hw = 6, nx = n * ch * hw;
    double *x = take(&c, nx), *g = take(&c, ch), *b = take(&c, ch), *rm0 = take(&c, ch), *rv0 = take(&c, ch);
    double *dy = take(&c, nx), *y_ref = take(&c, nx), *rm_ref = take(&c, ch), *rv_ref = take(&c, ch);
    double *dx_ref = take(&c, nx), *dg_ref = take(&c, ch), *db_ref = take(&c, ch);
    close_case("batch_norm", &c);
    double y[72], rm[3], rv[3], m[3], s[3], dx[72], dg[3], db[3];
    memcpy(rm, rm0, sizeof rm);
    memcpy(rv, rv0, sizeof rv);
    CHECK_OK(ax_nn_batch_norm_fwd_train_f64(n, ch, hw, x, g, b, 1e-5, 0.1, rm, rv, y, m, s, &e), &e);
    CHECK_OK(ax_nn_batch_norm_bwd_f64(n, ch, hw, x, dy, g, m, s, dx, dg, db, &e), &e);
    CLOSE("torch batch_norm y", y, y_ref, nx);
    CLOSE("torch batch_norm running_mean", rm, rm_ref, ch);
    CLOSE("torch batch_norm running_var", rv, rv_ref, ch);
    CLOSE("torch batch_norm dx", dx, dx_ref, nx);
    CLOSE("torch batch_norm dgamma", dg, dg_ref, ch);
    CLOSE("torch batch_norm dbeta", db, db_ref, ch);
    free(c.base);
  }
  if (open_case("layer_norm", &c)) {
    const int64_t m = 12, d = 6;
    double *x = take(&c, m * d), *g = take(&c, d), *b = take(&c, d), *dy = take(&c, m * d);
    double *y_ref = take(&c, m * d), *dx_ref = take(&c, m * d), *dg_ref = take(&c, d), *db_ref = take(&c, d);
    close_case("layer_norm", &c);
    double y[72], mu[12], rs[12], dx[72], dg[6], db[6];
    CHECK_OK(ax_nn_layer_norm_fwd_f64(m, d, x, g, b, 1e-5, y, mu, rs, &e), &e);
    CHECK_OK(ax_nn_layer_norm_bwd_f64(m, d, x, dy, g, mu, rs, dx, dg, db, &e), &e);
    CLOSE("torch layer_norm y", y, y_ref, m * d);
    CLOSE("torch layer_norm dx", dx, dx_ref, m * d);
    CLOSE("torch layer_norm dgamma", dg, dg_ref, d);
    CLOSE("torch layer_norm dbeta", db, db_ref, d);
    free(c.base);
  }
  if (open_case("group_norm", &c)) {
    const int64_t n = 2, ch = 6, hw = 5, nx = n * ch * hw;
    double *x = take(&c, nx), *g = take(&c, ch), *b = take(&c, ch), *dy = take(&c, nx);
    double *y_ref = take(&c, nx), *dx_ref = take(&c, nx), *dg_ref = take(&c, ch), *db_ref = take(&c, ch);
    close_case("group_norm", &c);
    double y[60], mu[6], rs[6], dx[60], dg[6], db[6];
    CHECK_OK(ax_nn_group_norm_fwd_f64(n, ch, hw, 3, x, g, b, 1e-5, y, mu, rs, &e), &e);
    CHECK_OK(ax_nn_group_norm_bwd_f64(n, ch, hw, 3, x, dy, g, mu, rs, dx, dg, db, &e), &e);
    CLOSE("torch group_norm y", y, y_ref, nx);
    CLOSE("torch group_norm dx", dx, dx_ref, nx);
    CLOSE("torch group_norm dgamma", dg, dg_ref, ch);
    CLOSE("torch group_norm dbeta", db, db_ref, ch);
    free(c.base);
  }
}

static void to_i64(const double *src, int64_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = (int64_t)src[i];
}

static void loss_cases(void) {
  ax_err e = {0};
  cursor c;
  if (open_case("cross_entropy_a", &c)) {
    double *x = take(&c, 30), *tf = take(&c, 6), *w = take(&c, 5), *l_ref = take(&c, 1), *dx_ref = take(&c, 30);
    close_case("cross_entropy_a", &c);
    int64_t t[6];
    to_i64(tf, t, 6);
    double l, lse[6], one = 1, dx[30];
    CHECK_OK(ax_nn_cross_entropy_fwd_f64(6, 5, x, t, w, 2, 0.1, AX_NN_REDUCE_MEAN, &l, lse, &e), &e);
    CHECK_OK(ax_nn_cross_entropy_bwd_f64(6, 5, x, t, w, 2, 0.1, AX_NN_REDUCE_MEAN, lse, &one, dx, &e), &e);
    CLOSE("torch cross_entropy weighted ignore ls", &l, l_ref, 1);
    CLOSE("torch cross_entropy weighted ignore ls dx", dx, dx_ref, 30);
    free(c.base);
  }
  if (open_case("cross_entropy_b", &c)) {
    double *x = take(&c, 20), *tf = take(&c, 5), *dl = take(&c, 5), *l_ref = take(&c, 5), *dx_ref = take(&c, 20);
    close_case("cross_entropy_b", &c);
    int64_t t[5];
    to_i64(tf, t, 5);
    double l[5], lse[5], dx[20];
    CHECK_OK(ax_nn_cross_entropy_fwd_f64(5, 4, x, t, NULL, -100, 0.2, AX_NN_REDUCE_NONE, l, lse, &e), &e);
    CHECK_OK(ax_nn_cross_entropy_bwd_f64(5, 4, x, t, NULL, -100, 0.2, AX_NN_REDUCE_NONE, lse, dl, dx, &e), &e);
    CLOSE("torch cross_entropy none ls", l, l_ref, 5);
    CLOSE("torch cross_entropy none ls dx", dx, dx_ref, 20);
    free(c.base);
  }
  if (open_case("cross_entropy_soft", &c)) {
    double *x = take(&c, 12), *p = take(&c, 12), *w = take(&c, 3), *l_ref = take(&c, 1), *dx_ref = take(&c, 12);
    close_case("cross_entropy_soft", &c);
    double l, lse[4], one = 1, dx[12];
    CHECK_OK(ax_nn_cross_entropy_soft_fwd_f64(4, 3, x, p, w, 0.1, AX_NN_REDUCE_MEAN, &l, lse, &e), &e);
    CHECK_OK(ax_nn_cross_entropy_soft_bwd_f64(4, 3, x, p, w, 0.1, AX_NN_REDUCE_MEAN, lse, &one, dx, &e), &e);
    CLOSE("torch cross_entropy soft", &l, l_ref, 1);
    CLOSE("torch cross_entropy soft dx", dx, dx_ref, 12);
    free(c.base);
  }
}

static void pool_cases(void) {
  ax_err e = {0};
  cursor c;
  if (open_case("max_pool2d", &c)) {
    ax_nn_pool2d_desc d = {2, 3, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1};
    const int64_t nx = 2 * 3 * 49, ny = 2 * 3 * 16;
    double *x = take(&c, nx), *dy = take(&c, ny), *y_ref = take(&c, ny), *i_ref = take(&c, ny), *dx_ref = take(&c, nx);
    close_case("max_pool2d", &c);
    double y[96], dx[294], id[96];
    int64_t idx[96];
    CHECK_OK(ax_nn_max_pool2d_fwd_f64(&d, x, y, idx, &e), &e);
    CHECK_OK(ax_nn_max_pool2d_bwd_f64(&d, dy, idx, dx, &e), &e);
    for (int64_t i = 0; i < ny; i++) id[i] = (double)idx[i];
    CLOSE("torch max_pool2d y", y, y_ref, ny);
    tn_close("torch max_pool2d indices", id, i_ref, ny, 0, 0);
    CLOSE("torch max_pool2d dx", dx, dx_ref, nx);
    free(c.base);
  }
  if (open_case("avg_pool2d", &c)) {
    ax_nn_pool2d_desc d = {2, 2, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0};
    int64_t oh, ow;
    CHECK_OK(ax_nn_pool2d_out_size(&d, &oh, &ow, &e), &e);
    const int64_t nx = 2 * 2 * 42, ny = 4 * oh * ow;
    double *x = take(&c, nx), *dy = take(&c, ny), *y_ref = take(&c, ny), *dx_ref = take(&c, nx);
    close_case("avg_pool2d", &c);
    double *y = tn_zeros(ny), dx[168];
    CHECK_OK(ax_nn_avg_pool2d_fwd_f64(&d, x, y, &e), &e);
    CHECK_OK(ax_nn_avg_pool2d_bwd_f64(&d, dy, dx, &e), &e);
    CLOSE("torch avg_pool2d ceil excl y", y, y_ref, ny);
    CLOSE("torch avg_pool2d ceil excl dx", dx, dx_ref, nx);
    free(y), free(c.base);
  }
  if (open_case("adaptive_avg_pool2d", &c)) {
    const int64_t nx = 2 * 3 * 35, ny = 2 * 3 * 6;
    double *x = take(&c, nx), *dy = take(&c, ny), *y_ref = take(&c, ny), *dx_ref = take(&c, nx);
    close_case("adaptive_avg_pool2d", &c);
    double y[36], dx[210];
    CHECK_OK(ax_nn_adaptive_avg_pool2d_fwd_f64(2, 3, 7, 5, 3, 2, x, y, &e), &e);
    CHECK_OK(ax_nn_adaptive_avg_pool2d_bwd_f64(2, 3, 7, 5, 3, 2, dy, dx, &e), &e);
    CLOSE("torch adaptive_avg_pool2d y", y, y_ref, ny);
    CLOSE("torch adaptive_avg_pool2d dx", dx, dx_ref, nx);
    free(c.base);
  }
}

static void attention_case(const char *name, ax_nn_attention_desc a, int has_mask) {
  ax_err e = {0};
  cursor c;
  if (!open_case(name, &c)) return;
  int64_t nq = a.b * a.h * a.t * a.d, nk = a.b * a.h * a.s * a.d, nv = a.b * a.h * a.s * a.dv;
  int64_t no = a.b * a.h * a.t * a.dv;
  double *q = take(&c, nq), *k = take(&c, nk), *v = take(&c, nv);
  double *mask = has_mask ? take(&c, a.t * a.s) : NULL;
  double *dout = take(&c, no), *o_ref = take(&c, no), *dq_ref = take(&c, nq), *dk_ref = take(&c, nk);
  double *dv_ref = take(&c, nv);
  close_case(name, &c);
  double *o = tn_zeros(no), *lse = tn_zeros(a.b * a.h * a.t), *dq = tn_zeros(nq), *dk = tn_zeros(nk);
  double *dv = tn_zeros(nv);
  CHECK_OK(ax_nn_attention_fwd_f64(&a, q, k, v, mask, o, lse, &e), &e);
  CHECK_OK(ax_nn_attention_bwd_f64(&a, q, k, v, mask, o, lse, dout, dq, dk, dv, &e), &e);
  CLOSE("torch attention out", o, o_ref, no);
  CLOSE("torch attention dq", dq, dq_ref, nq);
  CLOSE("torch attention dk", dk, dk_ref, nk);
  CLOSE("torch attention dv", dv, dv_ref, nv);
  free(o), free(lse), free(dq), free(dk), free(dv), free(c.base);
}

static void optim_case(const char *name) {
  char file[64];
  snprintf(file, sizeof file, "optim_%s", name);
  cursor c;
  if (!open_case(file, &c)) return;
  double *p0 = take(&c, 10), *g = take(&c, 30), *p_ref = take(&c, 10);
  close_case(file, &c);
  double p[10], s0[10] = {0}, s1[10] = {0}, s2[10] = {0};
  memcpy(p, p0, sizeof p);
  ax_err e = {0};
  for (int t = 1; t <= 3; t++) {
    const double *gt = g + (t - 1) * 10;
    if (!strcmp(name, "sgd")) {
      ax_nn_sgd_cfg cfg = {0.1, 0.9, 0.1, 0.01, 0, 0};
      CHECK_OK(ax_nn_sgd_step_f64(&cfg, 10, p, gt, s0, t, &e), &e);
    } else if (!strcmp(name, "sgd_nesterov")) {
      ax_nn_sgd_cfg cfg = {0.05, 0.8, 0, 0.02, 1, 0};
      CHECK_OK(ax_nn_sgd_step_f64(&cfg, 10, p, gt, s0, t, &e), &e);
    } else if (!strcmp(name, "adam")) {
      ax_nn_adam_cfg cfg = {1e-2, 0.8, 0.99, 1e-6, 0.1, 0, 0, 0};
      CHECK_OK(ax_nn_adam_step_f64(&cfg, 10, p, gt, s0, s1, s2, t, &e), &e);
    } else if (!strcmp(name, "adamw_amsgrad")) {
      ax_nn_adam_cfg cfg = {1e-2, 0.9, 0.999, 1e-8, 0.05, 1, 0, 1};
      CHECK_OK(ax_nn_adam_step_f64(&cfg, 10, p, gt, s0, s1, s2, t, &e), &e);
    } else if (!strcmp(name, "rmsprop")) {
      ax_nn_rmsprop_cfg cfg = {1e-2, 0.9, 1e-6, 0.01, 0.9, 1, 0};
      CHECK_OK(ax_nn_rmsprop_step_f64(&cfg, 10, p, gt, s0, s1, s2, &e), &e);
    } else if (!strcmp(name, "adagrad")) {
      ax_nn_adagrad_cfg cfg = {0.1, 0.01, 0.01, 1e-10, 0};
      if (t == 1)
        for (int i = 0; i < 10; i++) s0[i] = 0.1;
      CHECK_OK(ax_nn_adagrad_step_f64(&cfg, 10, p, gt, s0, t, &e), &e);
    } else if (!strcmp(name, "adadelta")) {
      ax_nn_adadelta_cfg cfg = {1.0, 0.9, 1e-6, 0.01, 0};
      CHECK_OK(ax_nn_adadelta_step_f64(&cfg, 10, p, gt, s0, s1, &e), &e);
    }
  }
  char what[64];
  snprintf(what, sizeof what, "torch %s after 3 steps", name);
  tn_close(what, p, p_ref, 10, 1e-13, 1e-11);
  free(c.base);
}

static void rnn_cases(void) {
  ax_err e = {0};
  cursor c;
  ax_nn_rnn_desc r = {3, 4, 5};
  if (open_case("lstm_cell", &c)) {
    double *x = take(&c, 12), *h = take(&c, 15), *cc = take(&c, 15), *wi = take(&c, 80);
    double *wh = take(&c, 100), *bi = take(&c, 20), *bh = take(&c, 20), *dh2 = take(&c, 15);
    double *dc2 = take(&c, 15), *h2_ref = take(&c, 15), *c2_ref = take(&c, 15);
    double *dx_ref = take(&c, 12), *dh_ref = take(&c, 15), *dc_ref = take(&c, 15);
    double *dwi_ref = take(&c, 80), *dwh_ref = take(&c, 100), *dbi_ref = take(&c, 20), *dbh_ref = take(&c, 20);
    close_case("lstm_cell", &c);
    double h2[15], c2[15], g[60], dx[12], dh[15], dc[15], dwi[80], dwh[100], dbi[20], dbh[20];
    CHECK_OK(ax_nn_lstm_cell_fwd_f64(&r, x, h, cc, wi, wh, bi, bh, h2, c2, g, &e), &e);
    CHECK_OK(ax_nn_lstm_cell_bwd_f64(&r, x, h, cc, wi, wh, c2, g, dh2, dc2, dx, dh, dc, dwi, dwh, dbi, dbh, &e), &e);
    CLOSE("torch lstm h'", h2, h2_ref, 15);
    CLOSE("torch lstm c'", c2, c2_ref, 15);
    CLOSE("torch lstm dx", dx, dx_ref, 12);
    CLOSE("torch lstm dh", dh, dh_ref, 15);
    CLOSE("torch lstm dc", dc, dc_ref, 15);
    CLOSE("torch lstm dw_ih", dwi, dwi_ref, 80);
    CLOSE("torch lstm dw_hh", dwh, dwh_ref, 100);
    CLOSE("torch lstm db_ih", dbi, dbi_ref, 20);
    CLOSE("torch lstm db_hh", dbh, dbh_ref, 20);
    free(c.base);
  }
  if (open_case("gru_cell", &c)) {
    double *x = take(&c, 12), *h = take(&c, 15), *wi = take(&c, 60), *wh = take(&c, 75);
    double *bi = take(&c, 15), *bh = take(&c, 15), *dh2 = take(&c, 15), *h2_ref = take(&c, 15);
    double *dx_ref = take(&c, 12), *dh_ref = take(&c, 15), *dwi_ref = take(&c, 60);
    double *dwh_ref = take(&c, 75), *dbi_ref = take(&c, 15), *dbh_ref = take(&c, 15);
    close_case("gru_cell", &c);
    double h2[15], g[60], dx[12], dh[15], dwi[60], dwh[75], dbi[15], dbh[15];
    CHECK_OK(ax_nn_gru_cell_fwd_f64(&r, x, h, wi, wh, bi, bh, h2, g, &e), &e);
    CHECK_OK(ax_nn_gru_cell_bwd_f64(&r, x, h, wi, wh, g, dh2, dx, dh, dwi, dwh, dbi, dbh, &e), &e);
    CLOSE("torch gru h'", h2, h2_ref, 15);
    CLOSE("torch gru dx", dx, dx_ref, 12);
    CLOSE("torch gru dh", dh, dh_ref, 15);
    CLOSE("torch gru dw_ih", dwi, dwi_ref, 60);
    CLOSE("torch gru dw_hh", dwh, dwh_ref, 75);
    CLOSE("torch gru db_ih", dbi, dbi_ref, 15);
    CLOSE("torch gru db_hh", dbh, dbh_ref, 15);
    free(c.base);
  }
}

void test_torch_ref(void) {
  conv_case("conv2d_a", (ax_nn_conv2d_desc){2, 3, 7, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1});
  conv_case("conv2d_b", (ax_nn_conv2d_desc){2, 4, 9, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2});
  {
    int64_t t, b, l, r;
    ax_nn_same_padding(4, 1, &t, &b);
    ax_nn_same_padding(2, 2, &l, &r);
    conv_case("conv2d_same", (ax_nn_conv2d_desc){1, 2, 6, 5, 3, 4, 2, 1, 1, t, l, b, r, 1, 2, 1});
  }
  convt_case();
  conv3d_case();
  norm_cases();
  loss_cases();
  pool_cases();
  attention_case("attention", (ax_nn_attention_desc){.b = 2, .h = 2, .t = 5, .s = 7, .d = 4, .dv = 3, .scale = 0.5}, 1);
  attention_case("attention_causal",
                 (ax_nn_attention_desc){.b = 1, .h = 2, .t = 6, .s = 6, .d = 4, .dv = 4, .scale = 0.5, .causal = 1}, 0);
  const char *opts[] = {"sgd", "sgd_nesterov", "adam", "adamw_amsgrad", "rmsprop", "adagrad", "adadelta"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) optim_case(opts[i]);
  rnn_cases();
}
