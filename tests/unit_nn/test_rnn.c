/* tests/unit_nn/test_rnn.c — LSTM / GRU cells vs direct-loop float64 references with gradient
** checks of every input, weight and bias; dropout with a mask.
** Invariant: references follow PyTorch's LSTMCell / GRUCell equations literally. */
#include "test_nn.h"

typedef struct {
  ax_nn_rnn_desc r;
  int gru;
  double *x, *h, *c, *wi, *wh, *bi, *bh;
} rnn_ctx;

static double sg(double v) { return 1 / (1 + exp(-v)); }

/* out = [h' (b*hid), c' (b*hid, LSTM only)] */
static void ref_cell(void *p, double *out) {
  rnn_ctx *c = p;
  const int64_t B = c->r.b, I = c->r.in, H = c->r.hid, G = c->gru ? 3 : 4;
  for (int64_t i = 0; i < B; i++)
    for (int64_t j = 0; j < H; j++) {
      double a[4], b[4];
      for (int64_t q = 0; q < G; q++) {
        a[q] = c->bi[q * H + j];
        b[q] = c->bh[q * H + j];
        for (int64_t k = 0; k < I; k++) a[q] += c->x[i * I + k] * c->wi[(q * H + j) * I + k];
        for (int64_t k = 0; k < H; k++) b[q] += c->h[i * H + k] * c->wh[(q * H + j) * H + k];
      }
      if (c->gru) {
        double rg = sg(a[0] + b[0]), zg = sg(a[1] + b[1]), ng = tanh(a[2] + rg * b[2]);
        out[i * H + j] = (1 - zg) * ng + zg * c->h[i * H + j];
      } else {
        double ig = sg(a[0] + b[0]), fg = sg(a[1] + b[1]), gg = tanh(a[2] + b[2]), og = sg(a[3] + b[3]);
        double cn = fg * c->c[i * H + j] + ig * gg;
        out[i * H + j] = og * tanh(cn);
        out[B * H + i * H + j] = cn;
      }
    }
}

static void check_cell(int gru, int64_t B, int64_t I, int64_t H) {
  ax_err e = {0};
  const int64_t G = gru ? 3 : 4, nout = gru ? B * H : 2 * B * H;
  ax_nn_rnn_desc r = {B, I, H};
  double *x = tn_randv(B * I), *h = tn_randv(B * H), *c = tn_randv(B * H);
  double *wi = tn_randv(G * H * I), *wh = tn_randv(G * H * H), *bi = tn_randv(G * H), *bh = tn_randv(G * H);
  rnn_ctx ctx = {r, gru, x, h, c, wi, wh, bi, bh};
  double *ref = tn_zeros(nout), *out = tn_zeros(nout), *gates = tn_zeros(B * 4 * H), *rr = tn_randv(nout);
  ref_cell(&ctx, ref);
  const char *nm = gru ? "gru" : "lstm";
  char what[64];
  if (gru) CHECK_OK(ax_nn_gru_cell_fwd_f64(&r, x, h, wi, wh, bi, bh, out, gates, &e), &e);
  else CHECK_OK(ax_nn_lstm_cell_fwd_f64(&r, x, h, c, wi, wh, bi, bh, out, out + B * H, gates, &e), &e);
  snprintf(what, sizeof what, "%s cell fwd", nm);
  tn_close(what, out, ref, nout, 1e-12, 1e-10);
  double *dx = tn_zeros(B * I), *dh = tn_zeros(B * H), *dc = tn_zeros(B * H);
  double *dwi = tn_zeros(G * H * I), *dwh = tn_zeros(G * H * H), *dbi = tn_zeros(G * H), *dbh = tn_zeros(G * H);
  if (gru) CHECK_OK(ax_nn_gru_cell_bwd_f64(&r, x, h, wi, wh, gates, rr, dx, dh, dwi, dwh, dbi, dbh, &e), &e);
  else CHECK_OK(ax_nn_lstm_cell_bwd_f64(&r, x, h, c, wi, wh, out + B * H, gates, rr, rr + B * H, dx, dh, dc,
                                        dwi, dwh, dbi, dbh, &e), &e);
  struct { const char *n; double *buf, *grad; int64_t len; } g[] = {
      {"dx", x, dx, B * I}, {"dh", h, dh, B * H}, {"dc", c, dc, B * H}, {"dw_ih", wi, dwi, G * H * I},
      {"dw_hh", wh, dwh, G * H * H}, {"db_ih", bi, dbi, G * H}, {"db_hh", bh, dbh, G * H}};
  for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
    if (gru && !strcmp(g[k].n, "dc")) continue;
    snprintf(what, sizeof what, "%s cell %s", nm, g[k].n);
    tn_gradcheck(what, ref_cell, &ctx, g[k].buf, g[k].len, g[k].grad, rr, nout);
  }
  /* float32 forward */
  float *xf = tn_to_f32(x, B * I), *hf = tn_to_f32(h, B * H), *cf = tn_to_f32(c, B * H);
  float *wif = tn_to_f32(wi, G * H * I), *whf = tn_to_f32(wh, G * H * H), *bif = tn_to_f32(bi, G * H);
  float *bhf = tn_to_f32(bh, G * H), *of = malloc((size_t)nout * 4), *gf = malloc((size_t)(B * 4 * H) * 4);
  if (gru) CHECK_OK(ax_nn_gru_cell_fwd_f32(&r, xf, hf, wif, whf, bif, bhf, of, gf, &e), &e);
  else CHECK_OK(ax_nn_lstm_cell_fwd_f32(&r, xf, hf, cf, wif, whf, bif, bhf, of, of + B * H, gf, &e), &e);
  snprintf(what, sizeof what, "%s cell fwd f32", nm);
  tn_close_f32(what, of, ref, nout, 1e-5, 1e-5);
  free(x), free(h), free(c), free(wi), free(wh), free(bi), free(bh), free(ref), free(out), free(gates);
  free(rr), free(dx), free(dh), free(dc), free(dwi), free(dwh), free(dbi), free(dbh), free(xf), free(hf);
  free(cf), free(wif), free(whf), free(bif), free(bhf), free(of), free(gf);
}

void test_rnn(void) {
  check_cell(0, 3, 4, 5);
  check_cell(1, 3, 4, 5);
  check_cell(0, 2, 7, 3);
  check_cell(1, 1, 2, 6);
  ax_err e = {0};
  float x[5] = {1, -2, 3, 4, 5}, y[5], dx[5];
  uint8_t m[5] = {1, 0, 1, 1, 0};
  CHECK_OK(ax_nn_dropout_fwd_f32(5, x, m, 2.0, y, &e), &e);
  CHECK(y[0] == 2 && y[1] == 0 && y[2] == 6 && y[4] == 0);
  CHECK_OK(ax_nn_dropout_bwd_f32(5, x, m, 2.0, dx, &e), &e);
  CHECK(dx[3] == 8 && dx[1] == 0);
  m[2] = 7;
  CHECK(ax_nn_dropout_fwd_f32(5, x, m, 2.0, y, &e) == AX_E_VALUE);
  ax_nn_rnn_desc bad = {0, 1, 1};
  CHECK(ax_nn_gru_cell_fwd_f32(&bad, x, x, x, x, NULL, NULL, y, y, &e) == AX_E_SHAPE);
}
