/* runtime/neural/conv.c — conv2d and conv_transpose2d forward/backward: argument checks and the
** geometry shared by both element types; the kernels themselves are in conv.inc.
** Invariant: the desc is validated (positive sizes, groups dividing channels, output >= 1) before
** any buffer is touched; all outputs are overwritten. */
#include <limits.h>
#include <string.h>

#include <cblas.h>

#include "conv_geom.h"

ax_status nn_conv_geom_init(const ax_nn_conv2d_desc *d, nn_conv_geom *g, const char *op,
                            ax_err *err) {
  if (!d) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (d->n <= 0 || d->c_in <= 0 || d->h <= 0 || d->w <= 0 || d->c_out <= 0)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: sizes must be positive (n %lld, c_in %lld, h %lld, w %lld, c_out %lld)",
                      op, (long long)d->n, (long long)d->c_in, (long long)d->h, (long long)d->w,
                      (long long)d->c_out);
  if (d->kh <= 0 || d->kw <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: kernel size must be positive, got %lldx%lld", op,
                      (long long)d->kh, (long long)d->kw);
  if (d->stride_h <= 0 || d->stride_w <= 0)
    return ax_err_set(err, AX_E_VALUE, "%s: stride must be positive, got %lldx%lld", op,
                      (long long)d->stride_h, (long long)d->stride_w);
  if (d->dil_h <= 0 || d->dil_w <= 0)
    return ax_err_set(err, AX_E_VALUE, "%s: dilation must be positive, got %lldx%lld", op,
                      (long long)d->dil_h, (long long)d->dil_w);
  if (d->pad_top < 0 || d->pad_left < 0 || d->pad_bottom < 0 || d->pad_right < 0)
    return ax_err_set(err, AX_E_VALUE, "%s: padding must be non-negative", op);
  if (d->groups <= 0 || d->c_in % d->groups || d->c_out % d->groups)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: groups %lld must divide both input channels %lld and output channels %lld",
                      op, (long long)d->groups, (long long)d->c_in, (long long)d->c_out);
  int64_t ekh = d->dil_h * (d->kh - 1) + 1, ekw = d->dil_w * (d->kw - 1) + 1;
  int64_t ph = d->h + d->pad_top + d->pad_bottom, pw = d->w + d->pad_left + d->pad_right;
  if (ph < ekh)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: output size would be 0 for input %lld with kernel %lld (padded input %lld, "
                      "dilated kernel %lld)",
                      op, (long long)d->h, (long long)d->kh, (long long)ph, (long long)ekh);
  if (pw < ekw)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: output size would be 0 for input %lld with kernel %lld (padded input %lld, "
                      "dilated kernel %lld)",
                      op, (long long)d->w, (long long)d->kw, (long long)pw, (long long)ekw);
  g->d = *d;
  g->cg = d->c_in / d->groups;
  g->coutg = d->c_out / d->groups;
  g->oh = (ph - ekh) / d->stride_h + 1;
  g->ow = (pw - ekw) / d->stride_w + 1;
  g->ohw = g->oh * g->ow;
  g->hw = d->h * d->w;
  g->kg = g->cg * d->kh * d->kw;
  g->direct = d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 &&
              d->pad_top == 0 && d->pad_left == 0 && d->pad_bottom == 0 && d->pad_right == 0;
  /* BLAS takes int sizes: every GEMM dimension and leading dimension must fit */
  if (g->ohw > INT_MAX || g->hw > INT_MAX || g->kg > INT_MAX || g->coutg > INT_MAX ||
      d->c_out > INT_MAX / g->kg)
    return ax_err_set(err, AX_E_LIMIT, "%s: sizes too large for one GEMM", op);
  return AX_OK;
}

ax_status ax_nn_conv2d_out_size(const ax_nn_conv2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err) {
  nn_conv_geom g;
  ax_status st = nn_conv_geom_init(d, &g, "conv2d", err);
  if (st) return st;
  if (oh) *oh = g.oh;
  if (ow) *ow = g.ow;
  return AX_OK;
}

void ax_nn_same_padding(int64_t k, int64_t dil, int64_t *lo, int64_t *hi) {
  const int64_t total = dil * (k - 1) > 0 ? dil * (k - 1) : 0;
  if (lo) *lo = total / 2;
  if (hi) *hi = total - total / 2;
}

/* The conv2d whose backward-data is this transposed conv: it maps the transposed output
** [n, c_out, oh, ow] to the transposed input [n, c_in, h, w]. */
ax_status nn_conv_transpose_as_conv(const ax_nn_conv_transpose2d_desc *t, ax_nn_conv2d_desc *c,
                                    ax_err *err) {
  const char *op = "conv_transpose2d";
  if (!t) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (t->n <= 0 || t->c_in <= 0 || t->h <= 0 || t->w <= 0 || t->c_out <= 0 || t->kh <= 0 ||
      t->kw <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: sizes must be positive", op);
  if (t->stride_h <= 0 || t->stride_w <= 0 || t->dil_h <= 0 || t->dil_w <= 0)
    return ax_err_set(err, AX_E_VALUE, "%s: stride and dilation must be positive", op);
  if (t->out_pad_h < 0 || t->out_pad_w < 0 ||
      (t->out_pad_h >= t->stride_h && t->out_pad_h >= t->dil_h) ||
      (t->out_pad_w >= t->stride_w && t->out_pad_w >= t->dil_w))
    return ax_err_set(err, AX_E_VALUE,
                      "%s: output padding %lldx%lld must be smaller than stride or dilation", op,
                      (long long)t->out_pad_h, (long long)t->out_pad_w);
  int64_t oh = (t->h - 1) * t->stride_h - t->pad_top - t->pad_bottom + t->dil_h * (t->kh - 1) +
               t->out_pad_h + 1;
  int64_t ow = (t->w - 1) * t->stride_w - t->pad_left - t->pad_right + t->dil_w * (t->kw - 1) +
               t->out_pad_w + 1;
  if (oh <= 0 || ow <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: output size would be %lldx%lld for input %lldx%lld",
                      op, (long long)oh, (long long)ow, (long long)t->h, (long long)t->w);
  *c = (ax_nn_conv2d_desc){.n = t->n, .c_in = t->c_out, .h = oh, .w = ow, .c_out = t->c_in,
                           .kh = t->kh, .kw = t->kw, .stride_h = t->stride_h,
                           .stride_w = t->stride_w, .pad_top = t->pad_top,
                           .pad_left = t->pad_left, .pad_bottom = t->pad_bottom,
                           .pad_right = t->pad_right, .dil_h = t->dil_h, .dil_w = t->dil_w,
                           .groups = t->groups};
  nn_conv_geom g;
  ax_status st = nn_conv_geom_init(c, &g, op, err);
  if (st) return st;
  if (g.oh != t->h || g.ow != t->w)   /* cannot happen for valid sizes; guards the algebra */
    return ax_err_set(err, AX_E_SHAPE, "%s: inconsistent geometry", op);
  return AX_OK;
}

ax_status ax_nn_conv_transpose2d_out_size(const ax_nn_conv_transpose2d_desc *d, int64_t *oh,
                                          int64_t *ow, ax_err *err) {
  ax_nn_conv2d_desc c;
  ax_status st = nn_conv_transpose_as_conv(d, &c, err);
  if (st) return st;
  if (oh) *oh = c.h;
  if (ow) *ow = c.w;
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#define NN_GEMM cblas_sgemm
#include "conv.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM

#define T double
#define NN_SUF _f64
#define NN_GEMM cblas_dgemm
#include "conv.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM
