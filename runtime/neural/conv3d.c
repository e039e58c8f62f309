/* runtime/neural/conv3d.c — conv3d forward/backward by vol2col + one GEMM per image and group;
** checks and geometry here, typed kernels in conv3d.inc.
** Invariant: like conv.c — validated desc, batch split across threads with OpenBLAS at 1 thread,
** weight/bias gradients summed per fixed image chunk in order (thread-count independent). */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "conv_geom.h"

typedef struct {
  ax_nn_conv3d_desc d;
  int64_t cg, coutg, out[3], osz, isz, kg;
} nn_conv3_geom;

static ax_status conv3_geom(const ax_nn_conv3d_desc *d, nn_conv3_geom *g, ax_err *err) {
  const char *op = "conv3d";
  static const char *axis[3] = {"depth", "height", "width"};
  if (!d) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (d->n <= 0 || d->c_in <= 0 || d->c_out <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: sizes must be positive (n %lld, c_in %lld, c_out %lld)",
                      op, (long long)d->n, (long long)d->c_in, (long long)d->c_out);
  if (d->groups <= 0 || d->c_in % d->groups || d->c_out % d->groups)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: groups %lld must divide both input channels %lld and output channels %lld",
                      op, (long long)d->groups, (long long)d->c_in, (long long)d->c_out);
  g->d = *d;
  g->osz = 1, g->isz = 1;
  g->cg = d->c_in / d->groups;
  g->coutg = d->c_out / d->groups;
  g->kg = g->cg;
  for (int a = 0; a < 3; a++) {
    if (d->in[a] <= 0 || d->k[a] <= 0)
      return ax_err_set(err, AX_E_SHAPE, "%s: %s size and kernel must be positive", op, axis[a]);
    if (d->stride[a] <= 0 || d->dil[a] <= 0)
      return ax_err_set(err, AX_E_VALUE, "%s: %s stride and dilation must be positive", op, axis[a]);
    if (d->pad_lo[a] < 0 || d->pad_hi[a] < 0)
      return ax_err_set(err, AX_E_VALUE, "%s: padding must be non-negative", op);
    const int64_t ek = d->dil[a] * (d->k[a] - 1) + 1, pin = d->in[a] + d->pad_lo[a] + d->pad_hi[a];
    if (pin < ek)
      return ax_err_set(err, AX_E_SHAPE, "%s: output size would be 0 for input %lld with kernel %lld (%s)",
                        op, (long long)d->in[a], (long long)d->k[a], axis[a]);
    g->out[a] = (pin - ek) / d->stride[a] + 1;
    g->osz *= g->out[a];
    g->isz *= d->in[a];
    g->kg *= d->k[a];
  }
  if (g->osz > INT_MAX || g->isz > INT_MAX || g->kg > INT_MAX || d->c_out > INT_MAX / g->kg)
    return ax_err_set(err, AX_E_LIMIT, "%s: sizes too large for one GEMM", op);
  return AX_OK;
}

ax_status ax_nn_conv3d_out_size(const ax_nn_conv3d_desc *d, int64_t out[3], ax_err *err) {
  nn_conv3_geom g;
  ax_status st = conv3_geom(d, &g, err);
  if (st) return st;
  if (out)
    for (int a = 0; a < 3; a++) out[a] = g.out[a];
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#define NN_GEMM cblas_sgemm
#include "conv3d.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM

#define T double
#define NN_SUF _f64
#define NN_GEMM cblas_dgemm
#include "conv3d.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM
