/* runtime/neural/conv_geom.h — derived conv2d geometry shared by conv.c and conv.inc.
** Invariant: an nn_conv_geom exists only after nn_conv_geom_init accepted its desc, so every
** size in it is positive. */
#ifndef NN_CONV_GEOM_H
#define NN_CONV_GEOM_H

#include "nn_internal.h"

typedef struct {
  ax_nn_conv2d_desc d;
  int64_t cg, coutg;   /* input / output channels per group */
  int64_t oh, ow, ohw, hw;
  int64_t kg;          /* rows of the im2col matrix per group: cg*kh*kw */
  int direct;          /* 1x1, stride 1, no padding: the input itself is the column matrix */
} nn_conv_geom;

/* Output positions o in [*lo, *hi) read input o*s + off inside [0, in): the rest is padding. */
static inline void nn_valid_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo,
                                  int64_t *hi) {
  int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t b = in - 1 - off >= 0 ? (in - 1 - off) / s + 1 : 0;
  if (a > out) a = out;
  if (b > out) b = out;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

ax_status nn_conv_geom_init(const ax_nn_conv2d_desc *d, nn_conv_geom *g, const char *op,
                            ax_err *err);
ax_status nn_conv_transpose_as_conv(const ax_nn_conv_transpose2d_desc *t, ax_nn_conv2d_desc *c,
                                    ax_err *err);

#endif
