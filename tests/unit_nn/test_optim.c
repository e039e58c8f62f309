/* tests/unit_nn/test_optim.c — optimizer steps vs the PyTorch update formulas written out by hand
** (3 steps each, float64 exact to rounding, float32 close), clipping, and argument errors.
** Invariant: the reference loops restate PyTorch 1.13's documented algorithms independently. */
#include "test_nn.h"

#define NP 37
#define STEPS 3

typedef struct { double p[NP], s0[NP], s1[NP], s2[NP]; } ostate;

static double grads[STEPS][NP], p0[NP];

static void init_data(void) {
  for (int s = 0; s < STEPS; s++)
    for (int i = 0; i < NP; i++) grads[s][i] = tn_rand();
  for (int i = 0; i < NP; i++) p0[i] = tn_rand();
}

/* runs the kernel (f64 and f32) for STEPS steps and compares with ref[] */
typedef void (*step64_fn)(const void *cfg, double *p, const double *g, double *s0, double *s1,
                          double *s2, int64_t t, ax_err *e);
typedef void (*step32_fn)(const void *cfg, float *p, const float *g, float *s0, float *s1,
                          float *s2, int64_t t, ax_err *e);

static void run_compare(const char *name, const void *cfg, step64_fn f64, step32_fn f32,
                        const double *ref, double init_s0) {
  ax_err e = {0};
  double p[NP], s0[NP], s1[NP], s2[NP];
  float pf[NP], s0f[NP], s1f[NP], s2f[NP], gf[NP];
  for (int i = 0; i < NP; i++) {
    p[i] = p0[i], s0[i] = init_s0, s1[i] = 0, s2[i] = 0;
    pf[i] = (float)p0[i], s0f[i] = (float)init_s0, s1f[i] = 0, s2f[i] = 0;
  }
  for (int t = 1; t <= STEPS; t++) {
    f64(cfg, p, grads[t - 1], s0, s1, s2, t, &e);
    for (int i = 0; i < NP; i++) gf[i] = (float)grads[t - 1][i];
    f32(cfg, pf, gf, s0f, s1f, s2f, t, &e);
  }
  char what[96];
  snprintf(what, sizeof what, "%s f64", name);
  tn_close(what, p, ref, NP, 1e-13, 1e-12);
  snprintf(what, sizeof what, "%s f32", name);
  tn_close_f32(what, pf, ref, NP, 1e-5, 1e-5);
}

/* kernel adapters */
static void sgd64(const void *c, double *p, const double *g, double *s0, double *s1, double *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_sgd_step_f64(c, NP, p, g, s0, t, e), e);
}
static void sgd32(const void *c, float *p, const float *g, float *s0, float *s1, float *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_sgd_step_f32(c, NP, p, g, s0, t, e), e);
}
static void adam64(const void *c, double *p, const double *g, double *s0, double *s1, double *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_adam_step_f64(c, NP, p, g, s0, s1, s2, t, e), e);
}
static void adam32(const void *c, float *p, const float *g, float *s0, float *s1, float *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_adam_step_f32(c, NP, p, g, s0, s1, s2, t, e), e);
}
static void rms64(const void *c, double *p, const double *g, double *s0, double *s1, double *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_rmsprop_step_f64(c, NP, p, g, s0, s1, s2, e), e);
}
static void rms32(const void *c, float *p, const float *g, float *s0, float *s1, float *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_rmsprop_step_f32(c, NP, p, g, s0, s1, s2, e), e);
}
static void adagrad64(const void *c, double *p, const double *g, double *s0, double *s1, double *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_adagrad_step_f64(c, NP, p, g, s0, t, e), e);
}
static void adagrad32(const void *c, float *p, const float *g, float *s0, float *s1, float *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_adagrad_step_f32(c, NP, p, g, s0, t, e), e);
}
static void adadelta64(const void *c, double *p, const double *g, double *s0, double *s1, double *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_adadelta_step_f64(c, NP, p, g, s0, s1, e), e);
}
static void adadelta32(const void *c, float *p, const float *g, float *s0, float *s1, float *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_adadelta_step_f32(c, NP, p, g, s0, s1, e), e);
}
static void lamb64(const void *c, double *p, const double *g, double *s0, double *s1, double *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_lamb_step_f64(c, NP, p, g, s0, s1, t, e), e);
}
static void lamb32(const void *c, float *p, const float *g, float *s0, float *s1, float *s2, int64_t t, ax_err *e) {
  CHECK_OK(ax_nn_lamb_step_f32(c, NP, p, g, s0, s1, t, e), e);
}

static void ref_sgd(const ax_nn_sgd_cfg *c, double *out) {
  double p[NP], buf[NP];
  memcpy(p, p0, sizeof p);
  for (int t = 1; t <= STEPS; t++)
    for (int i = 0; i < NP; i++) {
      double d = grads[t - 1][i] + c->weight_decay * p[i];
      if (c->momentum != 0) {
        buf[i] = t == 1 ? d : c->momentum * buf[i] + (1 - c->dampening) * d;
        d = c->nesterov ? d + c->momentum * buf[i] : buf[i];
      }
      p[i] += c->maximize ? c->lr * d : -c->lr * d;
    }
  memcpy(out, p, sizeof p);
}

static void ref_adam(const ax_nn_adam_cfg *c, double *out) {
  double p[NP], m[NP] = {0}, v[NP] = {0}, vmax[NP] = {0};
  memcpy(p, p0, sizeof p);
  for (int t = 1; t <= STEPS; t++)
    for (int i = 0; i < NP; i++) {
      double g = c->maximize ? -grads[t - 1][i] : grads[t - 1][i];
      if (c->decoupled) p[i] *= 1 - c->lr * c->weight_decay;
      else g += c->weight_decay * p[i];
      m[i] = c->beta1 * m[i] + (1 - c->beta1) * g;
      v[i] = c->beta2 * v[i] + (1 - c->beta2) * g * g;
      double mh = m[i] / (1 - pow(c->beta1, t));
      double vu = v[i];
      if (c->amsgrad) vu = vmax[i] = fmax(vmax[i], v[i]);
      double vh = vu / (1 - pow(c->beta2, t));
      p[i] -= c->lr * mh / (sqrt(vh) + c->eps);
    }
  memcpy(out, p, sizeof p);
}

static void ref_rmsprop(const ax_nn_rmsprop_cfg *c, double *out) {
  double p[NP], sq[NP] = {0}, ga[NP] = {0}, b[NP] = {0};
  memcpy(p, p0, sizeof p);
  for (int t = 1; t <= STEPS; t++)
    for (int i = 0; i < NP; i++) {
      double g = grads[t - 1][i] + c->weight_decay * p[i];
      sq[i] = c->alpha * sq[i] + (1 - c->alpha) * g * g;
      double vt = sq[i];
      if (c->centered) {
        ga[i] = c->alpha * ga[i] + (1 - c->alpha) * g;
        vt -= ga[i] * ga[i];
      }
      if (c->momentum > 0) {
        b[i] = c->momentum * b[i] + g / (sqrt(vt) + c->eps);
        p[i] -= c->lr * b[i];
      } else {
        p[i] -= c->lr * g / (sqrt(vt) + c->eps);
      }
    }
  memcpy(out, p, sizeof p);
}

static void ref_adagrad(const ax_nn_adagrad_cfg *c, double init, double *out) {
  double p[NP], s[NP];
  memcpy(p, p0, sizeof p);
  for (int i = 0; i < NP; i++) s[i] = init;
  for (int t = 1; t <= STEPS; t++)
    for (int i = 0; i < NP; i++) {
      double g = grads[t - 1][i] + c->weight_decay * p[i];
      double clr = c->lr / (1 + (t - 1) * c->lr_decay);
      s[i] += g * g;
      p[i] -= clr * g / (sqrt(s[i]) + c->eps);
    }
  memcpy(out, p, sizeof p);
}

static void ref_adadelta(const ax_nn_adadelta_cfg *c, double *out) {
  double p[NP], v[NP] = {0}, u[NP] = {0};
  memcpy(p, p0, sizeof p);
  for (int t = 1; t <= STEPS; t++)
    for (int i = 0; i < NP; i++) {
      double g = grads[t - 1][i] + c->weight_decay * p[i];
      v[i] = c->rho * v[i] + (1 - c->rho) * g * g;
      double dx = sqrt(u[i] + c->eps) / sqrt(v[i] + c->eps) * g;
      u[i] = c->rho * u[i] + (1 - c->rho) * dx * dx;
      p[i] -= c->lr * dx;
    }
  memcpy(out, p, sizeof p);
}

static void ref_lamb(const ax_nn_lamb_cfg *c, double *out) {
  double p[NP], m[NP] = {0}, v[NP] = {0}, r[NP];
  memcpy(p, p0, sizeof p);
  for (int t = 1; t <= STEPS; t++) {
    double pn = 0, rn = 0;
    for (int i = 0; i < NP; i++) {
      double g = grads[t - 1][i];
      m[i] = c->beta1 * m[i] + (1 - c->beta1) * g;
      v[i] = c->beta2 * v[i] + (1 - c->beta2) * g * g;
      r[i] = (m[i] / (1 - pow(c->beta1, t))) / (sqrt(v[i] / (1 - pow(c->beta2, t))) + c->eps) +
             c->weight_decay * p[i];
      pn += p[i] * p[i];
      rn += r[i] * r[i];
    }
    double ratio = pn > 0 && rn > 0 ? sqrt(pn) / sqrt(rn) : 1;
    for (int i = 0; i < NP; i++) p[i] -= c->lr * ratio * r[i];
  }
  memcpy(out, p, sizeof p);
}

static void test_clip(void) {
  ax_err e = {0};
  double a[5] = {3, -4, 0, 1, 2}, b[3] = {-2, 2, 1};
  double *bufs[2] = {a, b};
  int64_t lens[2] = {5, 3};
  double total = 0;
  double sq = 9 + 16 + 1 + 4 + 4 + 4 + 1;
  CHECK_OK(ax_nn_clip_grad_norm_f64(2, bufs, lens, 1.0, 2.0, &total, &e), &e);
  CHECK(fabs(total - sqrt(sq)) < 1e-12);
  double coef = 1.0 / (sqrt(sq) + 1e-6);
  CHECK(fabs(a[0] - 3 * coef) < 1e-12 && fabs(b[0] + 2 * coef) < 1e-12);
  /* no clipping when under the limit */
  float fa[3] = {0.1f, 0.2f, -0.2f};
  float *fb[1] = {fa};
  int64_t fl[1] = {3};
  CHECK_OK(ax_nn_clip_grad_norm_f32(1, fb, fl, 10.0, 2.0, &total, &e), &e);
  CHECK(fa[0] == 0.1f && fabs(total - 0.3) < 1e-6);
  CHECK_OK(ax_nn_clip_grad_norm_f32(1, fb, fl, 0.1, INFINITY, &total, &e), &e);
  CHECK(fabs(total - 0.2) < 1e-6 && fabsf(fa[1] - 0.2f * (float)(0.1 / (0.2 + 1e-6))) < 1e-7);
  double v[4] = {-3, 0.5, 2, -0.1};
  CHECK_OK(ax_nn_clip_grad_value_f64(4, v, 1.0, &e), &e);
  CHECK(v[0] == -1 && v[1] == 0.5 && v[2] == 1 && v[3] == -0.1);
  CHECK(ax_nn_clip_grad_value_f64(4, v, -1.0, &e) == AX_E_VALUE);
}

void test_optim(void) {
  init_data();
  double ref[NP];
  ax_nn_sgd_cfg sgds[] = {{0.1, 0, 0, 0, 0, 0},      {0.1, 0.9, 0, 0, 0, 0},
                          {0.05, 0.9, 0.3, 0.01, 0, 0}, {0.1, 0.8, 0, 0.02, 1, 0},
                          {0.1, 0.5, 0, 0, 0, 1}};
  for (size_t i = 0; i < sizeof sgds / sizeof sgds[0]; i++) {
    ref_sgd(&sgds[i], ref);
    char n[32];
    snprintf(n, sizeof n, "sgd %zu", i);
    run_compare(n, &sgds[i], sgd64, sgd32, ref, 0);
  }
  ax_nn_adam_cfg adams[] = {{1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0},
                            {1e-2, 0.8, 0.99, 1e-6, 0.1, 0, 0, 0},
                            {1e-2, 0.9, 0.999, 1e-8, 0.01, 1, 0, 1},
                            {1e-2, 0.9, 0.999, 1e-8, 0.05, 0, 1, 1}};
  for (size_t i = 0; i < sizeof adams / sizeof adams[0]; i++) {
    ref_adam(&adams[i], ref);
    char n[32];
    snprintf(n, sizeof n, "adam %zu", i);
    run_compare(n, &adams[i], adam64, adam32, ref, 0);
  }
  ax_nn_rmsprop_cfg rms[] = {{1e-2, 0.99, 1e-8, 0, 0, 0, 0},
                             {1e-2, 0.9, 1e-6, 0.01, 0.9, 1, 0},
                             {1e-2, 0.95, 1e-8, 0, 0.5, 0, 0}};
  for (size_t i = 0; i < sizeof rms / sizeof rms[0]; i++) {
    ref_rmsprop(&rms[i], ref);
    char n[32];
    snprintf(n, sizeof n, "rmsprop %zu", i);
    run_compare(n, &rms[i], rms64, rms32, ref, 0);
  }
  ax_nn_adagrad_cfg ag = {0.1, 0.01, 0.01, 1e-10, 0};
  ref_adagrad(&ag, 0.1, ref);
  run_compare("adagrad", &ag, adagrad64, adagrad32, ref, 0.1);
  ax_nn_adadelta_cfg ad = {1.0, 0.9, 1e-6, 0.01, 0};
  ref_adadelta(&ad, ref);
  run_compare("adadelta", &ad, adadelta64, adadelta32, ref, 0);
  ax_nn_lamb_cfg lb = {1e-2, 0.9, 0.999, 1e-6, 0.01};
  ref_lamb(&lb, ref);
  run_compare("lamb", &lb, lamb64, lamb32, ref, 0);
  test_clip();

  /* errors */
  ax_err e = {0};
  double p[2] = {0}, g[2] = {0};
  ax_nn_sgd_cfg bad = {0.1, 0.9, 0, 0, 0, 0};
  CHECK(ax_nn_sgd_step_f64(&bad, 2, p, g, NULL, 1, &e) == AX_E_VALUE);
  tn_msg_has(e.msg, "momentum buffer");
  ax_nn_adam_cfg badb = {1e-3, 1.0, 0.999, 1e-8, 0, 0, 0, 0};
  CHECK(ax_nn_adam_step_f64(&badb, 2, p, g, p, g, NULL, 1, &e) == AX_E_VALUE);
  tn_msg_has(e.msg, "betas");
}
