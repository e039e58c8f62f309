/* tests/unit_runtime/test_amp.c — mixed precision in the runtime: the autocast policy of ax_op_call
** (PyTorch's lists: lower precision, float32, input type), float32 gradients into float32 leaves,
** autocast off during backward, neural rows computing half types in float32, and the gradient
** scaler (scale, unscale with inf/nan detection, skipped steps, backoff and growth). */
#include "ax_nn.h"
#include "ax_optim.h"
#include "rt_test.h"

static ax_tensor *randn_t(const int64_t *shape, int nd) {
  ax_tensor *t = NULL;
  ax_err e;
  if (ax_randn(shape, nd, AX_FLOAT32, &t, &e)) printf("randn: %s\n", e.msg);
  return t;
}

/* ||a - b|| / ||b|| over every element, a and b of any float dtype. */
static double nerr(const ax_tensor *a, const ax_tensor *b) {
  int64_t n = ax_numel(b);
  double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n), num = 0, den = 0;
  ax_err e;
  if (ax_numel(a) != n || ax_to_f64_buffer(a, x, &e) || ax_to_f64_buffer(b, y, &e)) num = NAN;
  for (int64_t i = 0; i < n && !isnan(num); i++) {
    num += (x[i] - y[i]) * (x[i] - y[i]);
    den += y[i] * y[i];
  }
  free(x);
  free(y);
  return sqrt(num) / sqrt(den > 0 ? den : 1);
}

static double item(const ax_tensor *t) {
  double v = NAN;
  ax_err e;
  if (ax_item_f64(t, &v, &e)) printf("item: %s\n", e.msg);
  return v;
}

static void rel(ax_tensor **ts, int n) {
  for (int i = 0; i < n; i++) ax_tensor_release(ts[i]);
}

static void test_policy(void) {
  ax_seed(1);
  ax_tensor *a = randn_t(SHP(8, 16)), *b = randn_t(SHP(16, 4)), *d = NULL, *h = NULL, *r[12] = {0};
  CHECK(ax_autocast_dtype() == AX_NDTYPES);
  ax_autocast_set(AX_BFLOAT16);
  CHECK(ax_autocast_dtype() == AX_BFLOAT16);
  CHECK(ax_autocast_policy(AX_OP_MATMUL) == AX_AUTOCAST_LOWER && ax_autocast_policy(AX_OP_CONV2D) == AX_AUTOCAST_LOWER);
  CHECK(ax_autocast_policy(AX_OP_SOFTMAX) == AX_AUTOCAST_FP32 && ax_autocast_policy(AX_OP_CROSS_ENTROPY) == AX_AUTOCAST_FP32);
  CHECK(ax_autocast_policy(AX_OP_RELU) == AX_AUTOCAST_NONE && ax_autocast_policy(AX_OP_CAST) == AX_AUTOCAST_NONE);
  OK(ax_matmul(a, b, &h, &e_));
  CHECK(h->dtype == AX_BFLOAT16);
  OK(ax_relu(h, &r[0], &e_));
  CHECK(r[0]->dtype == AX_BFLOAT16);             /* not listed: the input's type */
  OK(ax_sum(h, NULL, 0, 0, &r[1], &e_));
  CHECK(r[1]->dtype == AX_FLOAT32);              /* float32 list */
  OK(ax_softmax(h, 1, &r[2], &e_));
  CHECK(r[2]->dtype == AX_FLOAT32);
  OK(ax_exp(h, &r[3], &e_));
  CHECK(r[3]->dtype == AX_FLOAT32);
  OK(ax_mean(h, NULL, 0, 0, &r[4], &e_));
  CHECK(r[4]->dtype == AX_BFLOAT16);             /* mean is in neither list (PyTorch) */
  OK(ax_cast(a, AX_FLOAT64, &d, &e_));
  ax_tensor *dt = NULL;
  OK(ax_transpose(d, 0, 1, &dt, &e_));
  OK(ax_matmul(d, dt, &r[6], &e_));
  CHECK(r[6]->dtype == AX_FLOAT64);              /* float64 is never cast */
  ax_tensor *two = NULL;
  OK(ax_scalar_f64(2.0, &two, &e_));
  OK(ax_mul(h, two, &r[7], &e_));
  CHECK(r[7]->dtype == AX_BFLOAT16);             /* a wrapped number keeps the tensor's type */
  /* values: within bfloat16's precision of float32 */
  ax_autocast_set(AX_NDTYPES);
  ax_tensor *ref = NULL;
  OK(ax_matmul(a, b, &ref, &e_));
  CHECK(ref->dtype == AX_FLOAT32);
  double e1 = nerr(h, ref);
  CHECK(e1 > 0 && e1 < 1e-2);
  ax_autocast_set(AX_FLOAT16);
  OK(ax_matmul(a, b, &r[8], &e_));
  CHECK(r[8]->dtype == AX_FLOAT16 && nerr(r[8], ref) < 2e-3);
  ax_autocast_set(AX_NDTYPES);
  rel(r, 12);
  ax_tensor *rest[] = {a, b, d, h, dt, two, ref};
  rel(rest, 7);
}

static void test_grad(void) {
  ax_seed(2);
  ax_tensor *x = randn_t(SHP(6, 5)), *w0 = randn_t(SHP(5, 3)), *w = NULL, *y = NULL, *l = NULL, *g32 = NULL;
  OK(ax_param(w0, &w, &e_));
  OK(ax_matmul(x, w, &y, &e_));
  OK(ax_sum(y, NULL, 0, 0, &l, &e_));
  OK(ax_backward(l, NULL, &e_));
  g32 = ax_tensor_retain(w->grad);
  ax_zero_grad(w);
  ax_tensor_release(y);
  ax_tensor_release(l);
  ax_autocast_set(AX_BFLOAT16);
  OK(ax_matmul(x, w, &y, &e_));
  OK(ax_sum(y, NULL, 0, 0, &l, &e_));
  CHECK(y->dtype == AX_BFLOAT16 && l->dtype == AX_FLOAT32 && w->dtype == AX_FLOAT32);
  /* backward inside an autocast region: the rules run in the forward's types, autocast comes back */
  OK(ax_backward(l, NULL, &e_));
  CHECK(ax_autocast_dtype() == AX_BFLOAT16);
  ax_autocast_set(AX_NDTYPES);
  CHECK(w->grad && w->grad->dtype == AX_FLOAT32);
  CHECK(nerr(w->grad, g32) < 1e-2);
  ax_tensor *ts[] = {x, w0, w, y, l, g32};
  rel(ts, 6);
}

static void test_nn_rows(void) {
  ax_err err;
  ax_seed(3);
  ax_tensor *x = randn_t(SHP(2, 3, 7, 7)), *w = randn_t(SHP(4, 3, 3, 3)), *xb = NULL, *wb = NULL, *ref = NULL, *o = NULL;
  int64_t stride[2] = {1, 1}, pad[4] = {1, 1, 1, 1}, dil[2] = {1, 1}, k2[2] = {2, 2}, p0[2] = {0, 0};
  OK(ax_conv2d(x, w, NULL, stride, pad, dil, 1, &ref, &e_));
  OK(ax_cast(x, AX_BFLOAT16, &xb, &e_));
  OK(ax_cast(w, AX_BFLOAT16, &wb, &e_));
  /* half inputs without autocast: computed in float32 from the half values, the result in the half type */
  OK(ax_conv2d(xb, wb, NULL, stride, pad, dil, 1, &o, &e_));
  CHECK(o && o->dtype == AX_BFLOAT16 && nerr(o, ref) < 1e-2);
  ax_tensor *mp = NULL, *mp32 = NULL;
  OK(ax_max_pool2d(o, k2, k2, p0, (int64_t[]){1, 1}, 0, &mp, &e_));
  OK(ax_max_pool2d(ref, k2, k2, p0, (int64_t[]){1, 1}, 0, &mp32, &e_));
  CHECK(mp && mp->dtype == AX_BFLOAT16 && nerr(mp, mp32) < 1e-2);
  /* a float32 weight with a half input (batch norm under autocast): the output keeps the input's type;
  ** float32 running statistics are updated in place */
  ax_tensor *rm = NULL, *rv = NULL, *bn = NULL;
  OK(ax_zeros(SHP(4), AX_FLOAT32, &rm, &e_));
  OK(ax_ones(SHP(4), AX_FLOAT32, &rv, &e_));
  OK(ax_batch_norm(o, rm, rv, NULL, NULL, 1, 0.1, 1e-5, &bn, &e_));
  CHECK(bn && bn->dtype == AX_BFLOAT16 && rm->dtype == AX_FLOAT32);
  double rm_abs = 0;
  for (int64_t i = 0; i < 4; i++) rm_abs += fabs(rt_at(rm, i, 0, 0));
  CHECK(rm_abs > 0);
  /* half running statistics would be updated in a float32 copy: refused */
  ax_tensor *rmh = NULL, *rvh = NULL, *bad = NULL;
  OK(ax_cast(rm, AX_BFLOAT16, &rmh, &e_));
  OK(ax_cast(rv, AX_BFLOAT16, &rvh, &e_));
  ERR(ax_batch_norm(o, rmh, rvh, NULL, NULL, 1, 0.1, 1e-5, &bad, &err), AX_E_DTYPE, "running statistics");
  /* cross-entropy of half logits: the loss in the logits' type; under autocast in float32 */
  ax_tensor *lg = randn_t(SHP(4, 5)), *lgb = NULL, *tg = NULL, *ce = NULL, *ce32 = NULL, *cea = NULL;
  OK(ax_tensor_from_i64((int64_t[]){0, 4, 2, 1}, SHP(4), AX_INT64, &tg, &e_));
  OK(ax_cast(lg, AX_BFLOAT16, &lgb, &e_));
  OK(ax_cross_entropy(lg, tg, NULL, -100, 1, 0, &ce32, &e_));
  OK(ax_cross_entropy(lgb, tg, NULL, -100, 1, 0, &ce, &e_));
  CHECK(ce && ce->dtype == AX_BFLOAT16 && fabs(item(ce) - item(ce32)) < 0.05);
  ax_autocast_set(AX_BFLOAT16);
  OK(ax_cross_entropy(lgb, tg, NULL, -100, 1, 0, &cea, &e_));
  ax_autocast_set(AX_NDTYPES);
  CHECK(cea && cea->dtype == AX_FLOAT32);
  /* attention under autocast: half q/k/v, half output, close to float32 */
  ax_tensor *q = randn_t(SHP(1, 2, 5, 8)), *at32 = NULL, *ath = NULL;
  OK(ax_attention(q, q, q, NULL, 1, 0, &at32, &e_));
  ax_autocast_set(AX_FLOAT16);
  OK(ax_attention(q, q, q, NULL, 1, 0, &ath, &e_));
  ax_autocast_set(AX_NDTYPES);
  CHECK(ath && ath->dtype == AX_FLOAT16 && nerr(ath, at32) < 2e-3);
  ax_tensor *ts[] = {x, w, xb, wb, ref, o, mp, mp32, rm, rv, bn, rmh, rvh, lg, lgb, tg, ce, ce32, cea, q, at32, ath};
  rel(ts, (int)(sizeof ts / sizeof ts[0]));
}

/* One scaled step of loss = sum(p * c) with the given coefficients: the gradient is c * scale. */
static void scaled_backward(ax_grad_scaler *s, ax_tensor *p, const double *c) {
  ax_tensor *ct = rt_vals(c, SHP(2), AX_FLOAT32), *m = NULL, *l = NULL, *sl = NULL;
  OK(ax_mul(p, ct, &m, &e_));
  OK(ax_sum(m, NULL, 0, 0, &l, &e_));
  OK(ax_grad_scaler_scale(s, l, &sl, &e_));
  OK(ax_backward(sl, NULL, &e_));
  ax_tensor *ts[] = {ct, m, l, sl};
  rel(ts, 4);
}

static void test_scaler(void) {
  ax_err err;
  ax_grad_scaler s;
  ax_grad_scaler_init(&s);
  CHECK(s.scale == 65536.0 && s.growth_factor == 2.0 && s.backoff_factor == 0.5 && s.growth_interval == 2000 &&
        s.growth_tracker == 0 && s.enabled);
  s.growth_interval = 2;
  OK(ax_grad_scaler_check(&s, &e_));
  ax_tensor *p0 = rt_vals((double[]){1, 2}, SHP(2), AX_FLOAT32), *p = NULL;
  OK(ax_param(p0, &p, &e_));
  ax_optim_cfg cfg;
  ax_optim_defaults(AX_OPTIM_SGD, &cfg);
  cfg.lr = 0.5;
  ax_optim *opt = NULL;
  OK(ax_optim_new(&cfg, &p, 1, &opt, &e_));
  int stepped = -1;
  /* good step: grad [1, -2] * 65536 unscaled to [1, -2] */
  scaled_backward(&s, p, (double[]){1, -2});
  CHECK(rt_at(p->grad, 0, 0, 0) == 65536.0);
  OK(ax_grad_scaler_step(&s, opt, &stepped, &e_));
  CHECK(stepped == 1 && rt_at(p, 0, 0, 0) == 0.5 && rt_at(p, 1, 0, 0) == 3.0 && rt_at(p->grad, 1, 0, 0) == -2.0);
  ERR(ax_grad_scaler_step(&s, opt, &stepped, &err), AX_E_VALUE, "step() was already called");
  OK(ax_grad_scaler_update(&s, &e_));
  CHECK(s.scale == 65536.0 && s.growth_tracker == 1);
  ERR(ax_grad_scaler_update(&s, &err), AX_E_VALUE, "update() needs a step()");
  /* inf gradient: skipped, parameters untouched, scale halved, tracker reset */
  ax_optim_zero_grad(opt);
  scaled_backward(&s, p, (double[]){INFINITY, 1});
  OK(ax_grad_scaler_step(&s, opt, &stepped, &e_));
  CHECK(stepped == 0 && s.found_inf && rt_at(p, 0, 0, 0) == 0.5 && rt_at(p, 1, 0, 0) == 3.0);
  OK(ax_grad_scaler_update(&s, &e_));
  CHECK(s.scale == 32768.0 && s.growth_tracker == 0 && !s.found_inf);
  /* nan too */
  ax_optim_zero_grad(opt);
  scaled_backward(&s, p, (double[]){1, NAN});
  OK(ax_grad_scaler_step(&s, opt, &stepped, &e_));
  CHECK(stepped == 0);
  OK(ax_grad_scaler_update(&s, &e_));
  CHECK(s.scale == 16384.0);
  /* growth after growth_interval (2) good steps */
  for (int i = 0; i < 2; i++) {
    ax_optim_zero_grad(opt);
    scaled_backward(&s, p, (double[]){0.5, 0.25});
    OK(ax_grad_scaler_step(&s, opt, &stepped, &e_));
    CHECK(stepped == 1);
    OK(ax_grad_scaler_update(&s, &e_));
  }
  CHECK(s.scale == 32768.0 && s.growth_tracker == 0);
  CHECK(rt_at(p, 0, 0, 0) == 0.0 && rt_at(p, 1, 0, 0) == 2.75);
  /* unscale then step: divided once */
  ax_optim_zero_grad(opt);
  scaled_backward(&s, p, (double[]){2, 4});
  OK(ax_grad_scaler_unscale(&s, opt, &e_));
  CHECK(rt_at(p->grad, 0, 0, 0) == 2.0 && rt_at(p->grad, 1, 0, 0) == 4.0);
  ERR(ax_grad_scaler_unscale(&s, opt, &err), AX_E_VALUE, "unscale() was already called");
  OK(ax_grad_scaler_step(&s, opt, &stepped, &e_));
  CHECK(stepped == 1 && rt_at(p, 0, 0, 0) == -1.0 && rt_at(p, 1, 0, 0) == 0.75);
  OK(ax_grad_scaler_update(&s, &e_));
  /* no gradient at all */
  ax_optim_zero_grad(opt);
  ERR(ax_grad_scaler_step(&s, opt, &stepped, &err), AX_E_VALUE, "no parameter of the optimizer has a gradient");
  /* a growth that would overflow float32 (the scale's type, as PyTorch's) keeps the scale */
  ax_grad_scaler big;
  ax_grad_scaler_init(&big);
  big.scale = ldexp(1.0, 127);
  big.growth_interval = 1;
  scaled_backward(&big, p, (double[]){0, 0});
  OK(ax_grad_scaler_step(&big, opt, &stepped, &e_));
  OK(ax_grad_scaler_update(&big, &e_));
  CHECK(big.scale == ldexp(1.0, 127));
  ax_optim_zero_grad(opt);
  /* hyperparameter checks */
  ax_grad_scaler bad;
  ax_grad_scaler_init(&bad);
  bad.backoff_factor = 1.0;
  ERR(ax_grad_scaler_check(&bad, &err), AX_E_VALUE, "backoff_factor must be in (0, 1)");
  /* disabled: scale is the identity, step always steps */
  ax_grad_scaler off;
  ax_grad_scaler_init(&off);
  off.enabled = 0;
  ax_tensor *l = NULL, *sl = NULL;
  OK(ax_scalar_f64(3.0, &l, &e_));
  OK(ax_grad_scaler_scale(&off, l, &sl, &e_));
  CHECK(sl == l);
  ax_tensor_release(sl);
  ax_tensor_release(l);
  ax_optim_free(opt);
  ax_tensor_release(p);
  ax_tensor_release(p0);
}

int main(void) {
  test_policy();
  test_grad();
  test_nn_rows();
  test_scaler();
  return RT_DONE();
}
