/* tests/unit_nn/test_conv.c — conv2d and conv_transpose2d vs direct-loop float64 references,
** float32 vs float64, central-difference gradient checks and argument errors.
** Invariant: the references never use im2col or GEMM. */
#include "test_nn.h"

#include "ax_mem.h"

static int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t dil) {
  return (in + p0 + p1 - dil * (k - 1) - 1) / s + 1;
}

/* y[n, co, oy, ox] = b[co] + sum x[n, g*cg+ci, oy*s-pt+i*dil, ox*s-pl+j*dil] * w[co, ci, i, j] */
static void ref_conv(const ax_nn_conv2d_desc *d, const double *x, const double *w,
                     const double *b, double *y) {
  int64_t oh = out_dim(d->h, d->kh, d->stride_h, d->pad_top, d->pad_bottom, d->dil_h);
  int64_t ow = out_dim(d->w, d->kw, d->stride_w, d->pad_left, d->pad_right, d->dil_w);
  int64_t cg = d->c_in / d->groups, coutg = d->c_out / d->groups;
  for (int64_t n = 0; n < d->n; n++)
    for (int64_t co = 0; co < d->c_out; co++)
      for (int64_t oy = 0; oy < oh; oy++)
        for (int64_t ox = 0; ox < ow; ox++) {
          double s = b ? b[co] : 0;
          int64_t g = co / coutg;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t i = 0; i < d->kh; i++)
              for (int64_t j = 0; j < d->kw; j++) {
                int64_t iy = oy * d->stride_h - d->pad_top + i * d->dil_h;
                int64_t ix = ox * d->stride_w - d->pad_left + j * d->dil_w;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                s += x[((n * d->c_in + g * cg + ci) * d->h + iy) * d->w + ix] *
                     w[((co * cg + ci) * d->kh + i) * d->kw + j];
              }
          y[((n * d->c_out + co) * oh + oy) * ow + ox] = s;
        }
}

typedef struct {
  const ax_nn_conv2d_desc *d;
  double *x, *w, *b;
} conv_ctx;

static void conv_fwd_ref(void *p, double *out) {
  conv_ctx *c = p;
  ref_conv(c->d, c->x, c->w, c->b, out);
}

static void check_conv_case(const char *name, ax_nn_conv2d_desc d, int gradcheck) {
  ax_err e = {0};
  int64_t oh, ow;
  CHECK_OK(ax_nn_conv2d_out_size(&d, &oh, &ow, &e), &e);
  CHECK(oh == out_dim(d.h, d.kh, d.stride_h, d.pad_top, d.pad_bottom, d.dil_h));
  CHECK(ow == out_dim(d.w, d.kw, d.stride_w, d.pad_left, d.pad_right, d.dil_w));
  int64_t nx = d.n * d.c_in * d.h * d.w, nw = d.c_out * (d.c_in / d.groups) * d.kh * d.kw;
  int64_t ny = d.n * d.c_out * oh * ow;
  double *x = tn_randv(nx), *w = tn_randv(nw), *b = tn_randv(d.c_out), *r = tn_randv(ny);
  double *yr = tn_zeros(ny), *y = tn_zeros(ny);
  ref_conv(&d, x, w, b, yr);
  CHECK_OK(ax_nn_conv2d_fwd_f64(&d, x, w, b, y, &e), &e);
  char what[128];
  snprintf(what, sizeof what, "conv2d fwd f64 %s", name);
  tn_close(what, y, yr, ny, 1e-12, 1e-10);
  float *xf = tn_to_f32(x, nx), *wf = tn_to_f32(w, nw), *bf = tn_to_f32(b, d.c_out);
  float *rf = tn_to_f32(r, ny), *yf = malloc((size_t)ny * sizeof *yf);
  CHECK_OK(ax_nn_conv2d_fwd_f32(&d, xf, wf, bf, yf, &e), &e);
  snprintf(what, sizeof what, "conv2d fwd f32 %s", name);
  tn_close_f32(what, yf, yr, ny, 1e-4, 1e-4);

  double *dx = tn_zeros(nx), *dw = tn_zeros(nw), *db = tn_zeros(d.c_out);
  CHECK_OK(ax_nn_conv2d_bwd_f64(&d, x, w, r, dx, dw, db, &e), &e);
  if (gradcheck) {
    conv_ctx c = {&d, x, w, b};
    snprintf(what, sizeof what, "conv2d dx %s", name);
    tn_gradcheck(what, conv_fwd_ref, &c, x, nx, dx, r, ny);
    snprintf(what, sizeof what, "conv2d dw %s", name);
    tn_gradcheck(what, conv_fwd_ref, &c, w, nw, dw, r, ny);
    snprintf(what, sizeof what, "conv2d db %s", name);
    tn_gradcheck(what, conv_fwd_ref, &c, b, d.c_out, db, r, ny);
  }
  float *dxf = malloc((size_t)nx * sizeof *dxf), *dwf = malloc((size_t)nw * sizeof *dwf);
  float *dbf = malloc((size_t)d.c_out * sizeof *dbf);
  CHECK_OK(ax_nn_conv2d_bwd_f32(&d, xf, wf, rf, dxf, dwf, dbf, &e), &e);
  snprintf(what, sizeof what, "conv2d bwd f32 dx %s", name);
  tn_close_f32(what, dxf, dx, nx, 1e-4, 1e-4);
  snprintf(what, sizeof what, "conv2d bwd f32 dw %s", name);
  tn_close_f32(what, dwf, dw, nw, 1e-3, 1e-4);
  snprintf(what, sizeof what, "conv2d bwd f32 db %s", name);
  tn_close_f32(what, dbf, db, d.c_out, 1e-3, 1e-4);
  /* each gradient alone gives the same values */
  double *dx2 = tn_zeros(nx), *dw2 = tn_zeros(nw);
  CHECK_OK(ax_nn_conv2d_bwd_f64(&d, NULL, w, r, dx2, NULL, NULL, &e), &e);
  CHECK_OK(ax_nn_conv2d_bwd_f64(&d, x, NULL, r, NULL, dw2, NULL, &e), &e);
  snprintf(what, sizeof what, "conv2d dx only %s", name);
  tn_close(what, dx2, dx, nx, 1e-12, 1e-10);
  snprintf(what, sizeof what, "conv2d dw only %s", name);
  tn_close(what, dw2, dw, nw, 1e-12, 1e-10);
  free(x), free(w), free(b), free(r), free(yr), free(y), free(xf), free(wf), free(bf), free(rf);
  free(yf), free(dx), free(dw), free(db), free(dxf), free(dwf), free(dbf), free(dx2), free(dw2);
}

/* conv_transpose2d reference: scatter x[n, ci, iy, ix] * w[ci, co_l, i, j] into
** y[n, g*coutg + co_l, iy*s - pt + i*dil, ix*s - pl + j*dil] */
static void ref_convt(const ax_nn_conv_transpose2d_desc *d, int64_t oh, int64_t ow,
                      const double *x, const double *w, const double *b, double *y) {
  int64_t cg = d->c_in / d->groups, coutg = d->c_out / d->groups;
  for (int64_t n = 0; n < d->n; n++)
    for (int64_t co = 0; co < d->c_out; co++)
      for (int64_t i = 0; i < oh * ow; i++) y[(n * d->c_out + co) * oh * ow + i] = b ? b[co] : 0;
  for (int64_t n = 0; n < d->n; n++)
    for (int64_t ci = 0; ci < d->c_in; ci++) {
      int64_t g = ci / cg;
      for (int64_t iy = 0; iy < d->h; iy++)
        for (int64_t ix = 0; ix < d->w; ix++)
          for (int64_t cl = 0; cl < coutg; cl++)
            for (int64_t i = 0; i < d->kh; i++)
              for (int64_t j = 0; j < d->kw; j++) {
                int64_t oy = iy * d->stride_h - d->pad_top + i * d->dil_h;
                int64_t ox = ix * d->stride_w - d->pad_left + j * d->dil_w;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                y[((n * d->c_out + g * coutg + cl) * oh + oy) * ow + ox] +=
                    x[((n * d->c_in + ci) * d->h + iy) * d->w + ix] *
                    w[((ci * coutg + cl) * d->kh + i) * d->kw + j];
              }
    }
}

typedef struct {
  const ax_nn_conv_transpose2d_desc *d;
  int64_t oh, ow;
  double *x, *w, *b;
} convt_ctx;

static void convt_fwd_ref(void *p, double *out) {
  convt_ctx *c = p;
  ref_convt(c->d, c->oh, c->ow, c->x, c->w, c->b, out);
}

static void check_convt_case(const char *name, ax_nn_conv_transpose2d_desc d) {
  ax_err e = {0};
  int64_t oh = 0, ow = 0;
  CHECK_OK(ax_nn_conv_transpose2d_out_size(&d, &oh, &ow, &e), &e);
  CHECK(oh == (d.h - 1) * d.stride_h - d.pad_top - d.pad_bottom + d.dil_h * (d.kh - 1) +
                 d.out_pad_h + 1);
  int64_t nx = d.n * d.c_in * d.h * d.w, nw = d.c_in * (d.c_out / d.groups) * d.kh * d.kw;
  int64_t ny = d.n * d.c_out * oh * ow;
  double *x = tn_randv(nx), *w = tn_randv(nw), *b = tn_randv(d.c_out), *r = tn_randv(ny);
  double *yr = tn_zeros(ny), *y = tn_zeros(ny);
  ref_convt(&d, oh, ow, x, w, b, yr);
  CHECK_OK(ax_nn_conv_transpose2d_fwd_f64(&d, x, w, b, y, &e), &e);
  char what[128];
  snprintf(what, sizeof what, "conv_transpose2d fwd %s", name);
  tn_close(what, y, yr, ny, 1e-12, 1e-10);
  float *xf = tn_to_f32(x, nx), *wf = tn_to_f32(w, nw), *bf = tn_to_f32(b, d.c_out);
  float *yf = malloc((size_t)ny * sizeof *yf);
  CHECK_OK(ax_nn_conv_transpose2d_fwd_f32(&d, xf, wf, bf, yf, &e), &e);
  snprintf(what, sizeof what, "conv_transpose2d fwd f32 %s", name);
  tn_close_f32(what, yf, yr, ny, 1e-4, 1e-4);
  double *dx = tn_zeros(nx), *dw = tn_zeros(nw), *db = tn_zeros(d.c_out);
  CHECK_OK(ax_nn_conv_transpose2d_bwd_f64(&d, x, w, r, dx, dw, db, &e), &e);
  convt_ctx c = {&d, oh, ow, x, w, b};
  snprintf(what, sizeof what, "conv_transpose2d dx %s", name);
  tn_gradcheck(what, convt_fwd_ref, &c, x, nx, dx, r, ny);
  snprintf(what, sizeof what, "conv_transpose2d dw %s", name);
  tn_gradcheck(what, convt_fwd_ref, &c, w, nw, dw, r, ny);
  snprintf(what, sizeof what, "conv_transpose2d db %s", name);
  tn_gradcheck(what, convt_fwd_ref, &c, b, d.c_out, db, r, ny);
  free(x), free(w), free(b), free(r), free(yr), free(y), free(xf), free(wf), free(bf), free(yf);
  free(dx), free(dw), free(db);
}

static ax_nn_conv2d_desc cd(int64_t n, int64_t ci, int64_t h, int64_t w, int64_t co, int64_t kh,
                            int64_t kw, int64_t s, int64_t pt, int64_t pl, int64_t pb, int64_t pr,
                            int64_t dil, int64_t g) {
  return (ax_nn_conv2d_desc){n, ci, h, w, co, kh, kw, s, s, pt, pl, pb, pr, dil, dil, g};
}

void test_conv(void) {
  check_conv_case("basic 3x3", cd(2, 3, 7, 6, 4, 3, 3, 1, 0, 0, 0, 0, 1, 1), 1);
  check_conv_case("pad 1", cd(2, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1), 1);
  check_conv_case("stride 2 odd", cd(2, 3, 9, 7, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1), 1);
  check_conv_case("asym pad even kernel", cd(1, 2, 6, 5, 3, 4, 2, 1, 1, 0, 2, 1, 1, 1), 1);
  check_conv_case("dilation 2", cd(2, 2, 9, 8, 3, 3, 3, 1, 2, 2, 2, 2, 2, 1), 1);
  check_conv_case("groups 2", cd(2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2), 1);
  check_conv_case("depthwise", cd(2, 3, 6, 7, 6, 3, 3, 2, 1, 1, 1, 1, 1, 3), 1);
  check_conv_case("1x1 direct", cd(2, 4, 5, 3, 5, 1, 1, 1, 0, 0, 0, 0, 1, 1), 1);
  check_conv_case("1x1 stride 2", cd(2, 4, 5, 5, 6, 1, 1, 2, 0, 0, 0, 0, 1, 2), 1);
  check_conv_case("conv1d", cd(3, 2, 1, 11, 4, 1, 3, 2, 0, 1, 0, 1, 1, 1), 1);
  check_conv_case("kernel > input + pad", cd(1, 1, 3, 3, 2, 5, 5, 1, 1, 1, 1, 1, 1, 1), 1);
  /* big enough to run on several threads (batch split + per-thread weight partials) */
  check_conv_case("threaded", cd(5, 16, 20, 18, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1), 0);
  check_conv_case("threaded groups", cd(4, 16, 24, 24, 32, 3, 3, 2, 1, 1, 1, 1, 1, 4), 0);

  /* "same" padding with an even kernel keeps the size (extra padding after, as PyTorch) */
  {
    int64_t t, l, b, r;
    ax_nn_same_padding(4, 1, &t, &b);
    ax_nn_same_padding(2, 3, &l, &r);
    CHECK(t == 1 && b == 2 && l == 1 && r == 2);
    ax_nn_conv2d_desc d = {2, 3, 7, 6, 2, 4, 2, 1, 1, t, l, b, r, 1, 3, 1};
    int64_t oh, ow;
    ax_err e = {0};
    CHECK_OK(ax_nn_conv2d_out_size(&d, &oh, &ow, &e), &e);
    CHECK(oh == 7 && ow == 6);
    check_conv_case("same even kernel", d, 1);
  }

  /* gradients do not depend on the thread count: fixed chunks summed in order */
  {
    ax_err e = {0};
    ax_nn_conv2d_desc d = cd(12, 8, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    int64_t nx = 12 * 8 * 256, nw = 16 * 72, ny = 12 * 16 * 256;
    double *xd = tn_randv(nx), *wd = tn_randv(nw), *rd = tn_randv(ny);
    float *x = tn_to_f32(xd, nx), *w = tn_to_f32(wd, nw), *r = tn_to_f32(rd, ny);
    float *dw1 = malloc((size_t)nw * 4), *dw3 = malloc((size_t)nw * 4), db1[16], db3[16];
    ax_nn_set_num_threads(1);
    CHECK_OK(ax_nn_conv2d_bwd_f32(&d, x, w, r, NULL, dw1, db1, &e), &e);
    ax_nn_set_num_threads(3);
    CHECK_OK(ax_nn_conv2d_bwd_f32(&d, x, w, r, NULL, dw3, db3, &e), &e);
    ax_nn_set_num_threads(0);
    CHECK(memcmp(dw1, dw3, (size_t)nw * 4) == 0 && memcmp(db1, db3, sizeof db1) == 0);
    free(xd), free(wd), free(rd), free(x), free(w), free(r), free(dw1), free(dw3);
  }

  ax_nn_conv_transpose2d_desc t1 = {2, 3, 4, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  check_convt_case("stride 2 out_pad 1", t1);
  ax_nn_conv_transpose2d_desc t2 = {1, 4, 3, 3, 2, 2, 3, 1, 1, 0, 1, 1, 0, 0, 0, 2, 1, 2};
  check_convt_case("groups 2 dil 2", t2);

  /* errors */
  ax_err e = {0};
  ax_nn_conv2d_desc bad = cd(1, 1, 5, 5, 1, 7, 7, 1, 0, 0, 0, 0, 1, 1);
  float buf[64] = {0};
  CHECK(ax_nn_conv2d_fwd_f32(&bad, buf, buf, NULL, buf, &e) == AX_E_SHAPE);
  tn_msg_has(e.msg, "conv2d: output size would be 0 for input 5 with kernel 7");
  bad = cd(1, 3, 5, 5, 4, 3, 3, 1, 0, 0, 0, 0, 1, 2);
  CHECK(ax_nn_conv2d_fwd_f32(&bad, buf, buf, NULL, buf, &e) == AX_E_SHAPE);
  tn_msg_has(e.msg, "groups 2 must divide");
  bad = cd(0, 3, 5, 5, 4, 3, 3, 1, 0, 0, 0, 0, 1, 1);
  CHECK(ax_nn_conv2d_fwd_f32(&bad, buf, buf, NULL, buf, &e) == AX_E_SHAPE);
  bad = cd(1, 1, 5, 5, 1, 3, 3, 0, 0, 0, 0, 0, 1, 1);
  CHECK(ax_nn_conv2d_fwd_f32(&bad, buf, buf, NULL, buf, &e) == AX_E_VALUE);
  /* workspace allocation failure is a clean AX_E_NOMEM (the choke point fails on request) */
  {
    ax_nn_conv2d_desc ok = cd(1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    float xb[25] = {0}, wb[9] = {0}, yb[25];
    ax_mem_fail_at(1);
    CHECK(ax_nn_conv2d_fwd_f32(&ok, xb, wb, NULL, yb, &e) == AX_E_NOMEM);
    tn_msg_has(e.msg, "conv2d: out of memory");
    ax_mem_fail_at(0);
    CHECK(ax_nn_conv2d_fwd_f32(&ok, xb, wb, NULL, yb, &e) == AX_OK);
    ax_nn_attention_desc ad = {.b = 1, .h = 1, .t = 2, .s = 2, .d = 2, .dv = 2, .scale = 1};
    ax_mem_fail_at(1);
    CHECK(ax_nn_attention_fwd_f32(&ad, xb, xb, xb, NULL, yb, yb + 8, &e) == AX_E_NOMEM);
    ax_mem_fail_at(0);
  }
  ax_nn_conv_transpose2d_desc tb = t1;
  tb.out_pad_h = 2;
  CHECK(ax_nn_conv_transpose2d_fwd_f32(&tb, buf, buf, NULL, buf, &e) == AX_E_VALUE);
}
