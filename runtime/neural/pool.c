/* runtime/neural/pool.c — max / avg / adaptive-avg 2-d pooling: output-size rule and argument
** checks shared by both element types; the kernels are in pool.inc.
** Invariant: sizes follow PyTorch's pooling_output_shape exactly (floor or ceil mode, the last
** window starting inside the input or left padding), so outputs line up with PyTorch's. */
#include <string.h>
#include <tgmath.h>

#include "nn_internal.h"

/* planes of at least this many window reads justify a second thread */
#define NN_POOL_GRAIN ((int64_t)1 << 16)

static int64_t pool_dim(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t dil, int ceil_mode) {
  int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;   /* floor division */
  if (ceil_mode && (o - 1) * s >= in + pad) o--;
  return o;
}

static ax_status pool_check(const ax_nn_pool2d_desc *d, const char *op, int64_t *oh, int64_t *ow,
                            ax_err *err) {
  if (!d) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (d->n <= 0 || d->c <= 0 || d->h <= 0 || d->w <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: sizes must be positive (n %lld, c %lld, h %lld, w %lld)",
                      op, (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w);
  if (d->kh <= 0 || d->kw <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: kernel size must be positive, got %lldx%lld", op,
                      (long long)d->kh, (long long)d->kw);
  if (d->stride_h <= 0 || d->stride_w <= 0 || d->dil_h <= 0 || d->dil_w <= 0)
    return ax_err_set(err, AX_E_VALUE, "%s: stride and dilation must be positive", op);
  if (d->pad_h < 0 || d->pad_w < 0 || d->pad_h > d->kh / 2 || d->pad_w > d->kw / 2)
    return ax_err_set(err, AX_E_VALUE,
                      "%s: padding %lldx%lld must be non-negative and at most half the kernel "
                      "%lldx%lld", op, (long long)d->pad_h, (long long)d->pad_w,
                      (long long)d->kh, (long long)d->kw);
  int64_t h = pool_dim(d->h, d->kh, d->stride_h, d->pad_h, d->dil_h, d->ceil_mode);
  int64_t w = pool_dim(d->w, d->kw, d->stride_w, d->pad_w, d->dil_w, d->ceil_mode);
  if (h <= 0 || w <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: output size would be %lldx%lld for input %lldx%lld with "
                      "kernel %lldx%lld", op, (long long)h, (long long)w, (long long)d->h,
                      (long long)d->w, (long long)d->kh, (long long)d->kw);
  *oh = h;
  *ow = w;
  return AX_OK;
}

ax_status ax_nn_pool2d_out_size(const ax_nn_pool2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err) {
  int64_t h = 0, w = 0;
  ax_status st = pool_check(d, "pool2d", &h, &w, err);
  if (st) return st;
  if (oh) *oh = h;
  if (ow) *ow = w;
  return AX_OK;
}

static ax_status adaptive_check(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                const void *a, const void *b, ax_err *err) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || oh <= 0 || ow <= 0)
    return ax_err_set(err, AX_E_SHAPE,
                      "adaptive_avg_pool2d: sizes must be positive (input %lldx%lldx%lldx%lld, "
                      "output %lldx%lld)", (long long)n, (long long)c, (long long)h, (long long)w,
                      (long long)oh, (long long)ow);
  if (!a || !b) return ax_err_set(err, AX_E_VALUE, "adaptive_avg_pool2d: NULL buffer");
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#include "pool.inc"
#undef T
#undef NN_SUF

#define T double
#define NN_SUF _f64
#include "pool.inc"
#undef T
#undef NN_SUF
