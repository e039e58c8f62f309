/* tests/unit_nn/test_pool.c — max / avg / adaptive-avg pooling vs plain float64 references,
** float32 vs float64, gradient checks and size rules (padding, dilation, ceil_mode).
** Invariant: references restate PyTorch's window rules directly. */
#include "test_nn.h"

static int64_t ref_dim(int64_t in, int64_t k, int64_t s, int64_t p, int64_t dil, int ceil_mode) {
  double v = (double)(in + 2 * p - dil * (k - 1) - 1) / (double)s;
  int64_t o = (int64_t)(ceil_mode ? ceil(v) : floor(v)) + 1;
  if (ceil_mode && (o - 1) * s >= in + p) o--;
  return o;
}

typedef struct {
  ax_nn_pool2d_desc d;
  int64_t oh, ow;
  int avg;
  double *x;
} pool_ctx;

static void ref_pool(void *p, double *y) {
  pool_ctx *c = p;
  const ax_nn_pool2d_desc *d = &c->d;
  for (int64_t pl = 0; pl < d->n * d->c; pl++)
    for (int64_t oy = 0; oy < c->oh; oy++)
      for (int64_t ox = 0; ox < c->ow; ox++) {
        double m = -INFINITY, s = 0;
        int64_t cnt = 0, padded = 0;
        for (int64_t i = 0; i < d->kh; i++)
          for (int64_t j = 0; j < d->kw; j++) {
            int64_t iy = oy * d->stride_h - d->pad_h + i * d->dil_h;
            int64_t ix = ox * d->stride_w - d->pad_w + j * d->dil_w;
            if (iy < d->h + d->pad_h && ix < d->w + d->pad_w) padded++;
            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
            double v = c->x[(pl * d->h + iy) * d->w + ix];
            m = v > m ? v : m;
            s += v;
            cnt++;
          }
        y[(pl * c->oh + oy) * c->ow + ox] =
            c->avg ? s / (double)(d->count_include_pad ? padded : cnt) : m;
      }
}

static void check_pool(const char *name, ax_nn_pool2d_desc d, int avg) {
  ax_err e = {0};
  int64_t oh = 0, ow = 0;
  CHECK_OK(ax_nn_pool2d_out_size(&d, &oh, &ow, &e), &e);
  CHECK(oh == ref_dim(d.h, d.kh, d.stride_h, d.pad_h, d.dil_h, d.ceil_mode));
  CHECK(ow == ref_dim(d.w, d.kw, d.stride_w, d.pad_w, d.dil_w, d.ceil_mode));
  int64_t nx = d.n * d.c * d.h * d.w, ny = d.n * d.c * oh * ow;
  double *x = tn_randv(nx), *r = tn_randv(ny), *yr = tn_zeros(ny), *y = tn_zeros(ny);
  double *dx = tn_zeros(nx);
  int64_t *idx = malloc((size_t)ny * sizeof *idx);
  pool_ctx c = {d, oh, ow, avg, x};
  ref_pool(&c, yr);
  char what[96];
  if (avg) {
    CHECK_OK(ax_nn_avg_pool2d_fwd_f64(&d, x, y, &e), &e);
    CHECK_OK(ax_nn_avg_pool2d_bwd_f64(&d, r, dx, &e), &e);
  } else {
    CHECK_OK(ax_nn_max_pool2d_fwd_f64(&d, x, y, idx, &e), &e);
    CHECK_OK(ax_nn_max_pool2d_bwd_f64(&d, r, idx, dx, &e), &e);
    for (int64_t i = 0; i < ny; i++) {   /* the index points at the maximum */
      int64_t pl = i / (oh * ow);
      CHECK(idx[i] >= 0 && idx[i] < d.h * d.w && x[pl * d.h * d.w + idx[i]] == y[i]);
    }
  }
  snprintf(what, sizeof what, "%s fwd", name);
  tn_close(what, y, yr, ny, 1e-14, 1e-12);
  snprintf(what, sizeof what, "%s dx", name);
  tn_gradcheck(what, ref_pool, &c, x, nx, dx, r, ny);
  float *xf = tn_to_f32(x, nx), *rf = tn_to_f32(r, ny), *yf = malloc((size_t)ny * sizeof *yf);
  float *dxf = malloc((size_t)nx * sizeof *dxf);
  if (avg) {
    CHECK_OK(ax_nn_avg_pool2d_fwd_f32(&d, xf, yf, &e), &e);
    CHECK_OK(ax_nn_avg_pool2d_bwd_f32(&d, rf, dxf, &e), &e);
  } else {
    CHECK_OK(ax_nn_max_pool2d_fwd_f32(&d, xf, yf, idx, &e), &e);
    CHECK_OK(ax_nn_max_pool2d_bwd_f32(&d, rf, idx, dxf, &e), &e);
  }
  snprintf(what, sizeof what, "%s fwd f32", name);
  tn_close_f32(what, yf, yr, ny, 1e-6, 1e-6);
  snprintf(what, sizeof what, "%s dx f32", name);
  tn_close_f32(what, dxf, dx, nx, 1e-6, 1e-6);
  free(x), free(r), free(yr), free(y), free(dx), free(idx), free(xf), free(rf), free(yf), free(dxf);
}

typedef struct {
  int64_t n, c, h, w, oh, ow;
  double *x;
} adapt_ctx;

static void ref_adaptive(void *p, double *y) {
  adapt_ctx *a = p;
  for (int64_t pl = 0; pl < a->n * a->c; pl++)
    for (int64_t i = 0; i < a->oh; i++)
      for (int64_t j = 0; j < a->ow; j++) {
        int64_t h0 = (int64_t)floor((double)(i * a->h) / (double)a->oh);
        int64_t h1 = (int64_t)ceil((double)((i + 1) * a->h) / (double)a->oh);
        int64_t w0 = (int64_t)floor((double)(j * a->w) / (double)a->ow);
        int64_t w1 = (int64_t)ceil((double)((j + 1) * a->w) / (double)a->ow);
        double s = 0;
        for (int64_t iy = h0; iy < h1; iy++)
          for (int64_t ix = w0; ix < w1; ix++) s += a->x[(pl * a->h + iy) * a->w + ix];
        y[(pl * a->oh + i) * a->ow + j] = s / (double)((h1 - h0) * (w1 - w0));
      }
}

static void check_adaptive(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  ax_err e = {0};
  int64_t nx = n * c * h * w, ny = n * c * oh * ow;
  double *x = tn_randv(nx), *r = tn_randv(ny), *yr = tn_zeros(ny), *y = tn_zeros(ny);
  double *dx = tn_zeros(nx);
  adapt_ctx a = {n, c, h, w, oh, ow, x};
  ref_adaptive(&a, yr);
  CHECK_OK(ax_nn_adaptive_avg_pool2d_fwd_f64(n, c, h, w, oh, ow, x, y, &e), &e);
  tn_close("adaptive fwd", y, yr, ny, 1e-14, 1e-12);
  CHECK_OK(ax_nn_adaptive_avg_pool2d_bwd_f64(n, c, h, w, oh, ow, r, dx, &e), &e);
  tn_gradcheck("adaptive dx", ref_adaptive, &a, x, nx, dx, r, ny);
  float *xf = tn_to_f32(x, nx), *yf = malloc((size_t)ny * sizeof *yf);
  CHECK_OK(ax_nn_adaptive_avg_pool2d_fwd_f32(n, c, h, w, oh, ow, xf, yf, &e), &e);
  tn_close_f32("adaptive fwd f32", yf, yr, ny, 1e-6, 1e-6);
  free(x), free(r), free(yr), free(y), free(dx), free(xf), free(yf);
}

static ax_nn_pool2d_desc pd(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s,
                            int64_t p, int64_t dil, int ceil_mode, int cip) {
  return (ax_nn_pool2d_desc){n, c, h, w, k, k, s, s, p, p, dil, dil, ceil_mode, cip};
}

void test_pool(void) {
  check_pool("max 2x2/2", pd(2, 3, 8, 6, 2, 2, 0, 1, 0, 1), 0);
  check_pool("max 2x2/2 odd", pd(2, 3, 7, 9, 2, 2, 0, 1, 0, 1), 0);
  check_pool("max 3x3/2 pad 1", pd(2, 2, 7, 8, 3, 2, 1, 1, 0, 1), 0);
  check_pool("max dil 2", pd(1, 2, 9, 9, 3, 1, 1, 2, 0, 1), 0);
  check_pool("max ceil", pd(1, 2, 8, 7, 3, 2, 1, 1, 1, 1), 0);
  ax_nn_pool2d_desc rect = {2, 2, 7, 10, 2, 3, 1, 2, 1, 1, 1, 1, 0, 1};
  check_pool("max rect", rect, 0);
  check_pool("max threaded", pd(8, 16, 32, 32, 2, 2, 0, 1, 0, 1), 0);
  check_pool("avg 2x2/2", pd(2, 3, 8, 6, 2, 2, 0, 1, 0, 1), 1);
  check_pool("avg 3x3/2 pad 1 incl", pd(2, 2, 7, 8, 3, 2, 1, 1, 0, 1), 1);
  check_pool("avg 3x3/2 pad 1 excl", pd(2, 2, 7, 8, 3, 2, 1, 1, 0, 0), 1);
  check_pool("avg ceil incl", pd(1, 2, 8, 7, 3, 2, 1, 1, 1, 1), 1);
  check_pool("avg ceil excl", pd(1, 2, 6, 6, 2, 4, 1, 1, 1, 0), 1);
  check_adaptive(2, 3, 7, 5, 3, 2);
  check_adaptive(2, 2, 5, 6, 5, 6);
  check_adaptive(1, 3, 6, 4, 4, 5);   /* output larger than input */
  check_adaptive(2, 4, 5, 7, 1, 1);   /* global average pool */
  {
    ax_err e = {0};
    double *x = tn_randv(2 * 3 * 35), y[6], ya[6], *dx = tn_zeros(210), *dxa = tn_zeros(210), dy[6];
    for (int i = 0; i < 6; i++) dy[i] = tn_rand();
    CHECK_OK(ax_nn_global_avg_pool2d_fwd_f64(2, 3, 7, 5, x, y, &e), &e);
    CHECK_OK(ax_nn_adaptive_avg_pool2d_fwd_f64(2, 3, 7, 5, 1, 1, x, ya, &e), &e);
    tn_close("global_avg_pool fwd", y, ya, 6, 1e-15, 1e-13);
    CHECK_OK(ax_nn_global_avg_pool2d_bwd_f64(2, 3, 7, 5, dy, dx, &e), &e);
    CHECK_OK(ax_nn_adaptive_avg_pool2d_bwd_f64(2, 3, 7, 5, 1, 1, dy, dxa, &e), &e);
    tn_close("global_avg_pool bwd", dx, dxa, 210, 1e-15, 1e-13);
    free(x), free(dx), free(dxa);
  }

  ax_err e = {0};
  float buf[16] = {0};
  int64_t ib[16];
  ax_nn_pool2d_desc bad = pd(1, 1, 4, 4, 2, 2, 2, 1, 0, 1);
  CHECK(ax_nn_max_pool2d_fwd_f32(&bad, buf, buf, ib, &e) == AX_E_VALUE);
  tn_msg_has(e.msg, "at most half the kernel");
  bad = pd(1, 1, 2, 2, 3, 1, 0, 1, 0, 1);
  CHECK(ax_nn_avg_pool2d_fwd_f32(&bad, buf, buf, &e) == AX_E_SHAPE);
  tn_msg_has(e.msg, "output size would be");
  bad = pd(1, 1, 4, 4, 2, 2, 0, 2, 0, 1);
  CHECK(ax_nn_avg_pool2d_fwd_f32(&bad, buf, buf, &e) == AX_E_VALUE);
  /* NaN propagates through max pooling */
  float xn[4] = {1.0f, NAN, 3.0f, 2.0f}, yn[1];
  ax_nn_pool2d_desc one = pd(1, 1, 2, 2, 2, 2, 0, 1, 0, 1);
  CHECK_OK(ax_nn_max_pool2d_fwd_f32(&one, xn, yn, ib, &e), &e);
  CHECK(isnan(yn[0]) && ib[0] == 1);
}
