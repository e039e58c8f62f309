/* tests/unit_nn/test_conv3d.c — conv3d vs a direct-loop float64 reference: forward, gradient
** checks of dx, dweight, dbias (stride, asymmetric padding, dilation, groups), float32, errors.
** Invariant: the reference never uses vol2col or GEMM. */
#include "test_nn.h"

typedef struct {
  ax_nn_conv3d_desc d;
  int64_t o[3];
  double *x, *w, *b;
} c3_ctx;

static void ref_conv3(void *p, double *y) {
  c3_ctx *c = p;
  const ax_nn_conv3d_desc *d = &c->d;
  int64_t cg = d->c_in / d->groups, coutg = d->c_out / d->groups;
  for (int64_t n = 0; n < d->n; n++)
    for (int64_t co = 0; co < d->c_out; co++)
      for (int64_t z = 0; z < c->o[0]; z++)
        for (int64_t yy = 0; yy < c->o[1]; yy++)
          for (int64_t xx = 0; xx < c->o[2]; xx++) {
            double s = c->b ? c->b[co] : 0;
            for (int64_t ci = 0; ci < cg; ci++)
              for (int64_t a = 0; a < d->k[0]; a++)
                for (int64_t i = 0; i < d->k[1]; i++)
                  for (int64_t j = 0; j < d->k[2]; j++) {
                    int64_t iz = z * d->stride[0] - d->pad_lo[0] + a * d->dil[0];
                    int64_t iy = yy * d->stride[1] - d->pad_lo[1] + i * d->dil[1];
                    int64_t ix = xx * d->stride[2] - d->pad_lo[2] + j * d->dil[2];
                    if (iz < 0 || iz >= d->in[0] || iy < 0 || iy >= d->in[1] || ix < 0 || ix >= d->in[2])
                      continue;
                    s += c->x[(((n * d->c_in + co / coutg * cg + ci) * d->in[0] + iz) * d->in[1] + iy) * d->in[2] + ix] *
                         c->w[(((co * cg + ci) * d->k[0] + a) * d->k[1] + i) * d->k[2] + j];
                  }
            y[(((n * d->c_out + co) * c->o[0] + z) * c->o[1] + yy) * c->o[2] + xx] = s;
          }
}

static void check_c3(const char *name, ax_nn_conv3d_desc d) {
  ax_err e = {0};
  c3_ctx c = {.d = d};
  CHECK_OK(ax_nn_conv3d_out_size(&d, c.o, &e), &e);
  int64_t nx = d.n * d.c_in * d.in[0] * d.in[1] * d.in[2];
  int64_t nw = d.c_out * d.c_in / d.groups * d.k[0] * d.k[1] * d.k[2];
  int64_t ny = d.n * d.c_out * c.o[0] * c.o[1] * c.o[2];
  c.x = tn_randv(nx), c.w = tn_randv(nw), c.b = tn_randv(d.c_out);
  double *r = tn_randv(ny), *yr = tn_zeros(ny), *y = tn_zeros(ny);
  double *dx = tn_zeros(nx), *dw = tn_zeros(nw), *db = tn_zeros(d.c_out);
  ref_conv3(&c, yr);
  CHECK_OK(ax_nn_conv3d_fwd_f64(&d, c.x, c.w, c.b, y, &e), &e);
  char what[96];
  snprintf(what, sizeof what, "conv3d fwd %s", name);
  tn_close(what, y, yr, ny, 1e-12, 1e-10);
  CHECK_OK(ax_nn_conv3d_bwd_f64(&d, c.x, c.w, r, dx, dw, db, &e), &e);
  snprintf(what, sizeof what, "conv3d dx %s", name);
  tn_gradcheck(what, ref_conv3, &c, c.x, nx, dx, r, ny);
  snprintf(what, sizeof what, "conv3d dw %s", name);
  tn_gradcheck(what, ref_conv3, &c, c.w, nw, dw, r, ny);
  snprintf(what, sizeof what, "conv3d db %s", name);
  tn_gradcheck(what, ref_conv3, &c, c.b, d.c_out, db, r, ny);
  float *xf = tn_to_f32(c.x, nx), *wf = tn_to_f32(c.w, nw), *bf = tn_to_f32(c.b, d.c_out);
  float *yf = malloc((size_t)ny * 4);
  CHECK_OK(ax_nn_conv3d_fwd_f32(&d, xf, wf, bf, yf, &e), &e);
  snprintf(what, sizeof what, "conv3d fwd f32 %s", name);
  tn_close_f32(what, yf, yr, ny, 1e-4, 1e-4);
  free(c.x), free(c.w), free(c.b), free(r), free(yr), free(y), free(dx), free(dw), free(db);
  free(xf), free(wf), free(bf), free(yf);
}

void test_conv3d(void) {
  check_c3("basic", (ax_nn_conv3d_desc){2, 2, 3, 1, {4, 5, 4}, {3, 3, 2}, {1, 1, 1}, {1, 1, 0}, {1, 1, 1}, {1, 1, 1}});
  check_c3("stride dil groups", (ax_nn_conv3d_desc){1, 4, 4, 2, {5, 6, 7}, {2, 3, 3}, {2, 1, 2}, {0, 2, 1}, {1, 2, 1}, {1, 2, 1}});
  ax_err e = {0};
  ax_nn_conv3d_desc bad = {1, 1, 1, 1, {2, 5, 5}, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}};
  int64_t o[3];
  CHECK(ax_nn_conv3d_out_size(&bad, o, &e) == AX_E_SHAPE);
  tn_msg_has(e.msg, "output size would be 0 for input 2 with kernel 3 (depth)");
}
