/* runtime/neural/dropout.c — dropout applied with a mask the caller drew (forward and backward
** are the same elementwise map). Invariant: mask values are 0 or 1; anything else is an error
** reported before any output is written. */
#include "nn_internal.h"

static ax_status dropout_check(const char *op, int64_t n, const void *a, const uint8_t *mask,
                               const void *b, double scale, ax_err *err) {
  if (n < 0) return ax_err_set(err, AX_E_SHAPE, "%s: negative size %lld", op, (long long)n);
  if (n > 0 && (!a || !mask || !b)) return ax_err_set(err, AX_E_VALUE, "%s: NULL buffer", op);
  if (!(scale >= 0) || scale > 1e30)
    return ax_err_set(err, AX_E_VALUE, "%s: scale must be finite and >= 0, got %g", op, scale);
  for (int64_t i = 0; i < n; i++)
    if (mask[i] > 1)
      return ax_err_set(err, AX_E_VALUE, "%s: mask value %u at %lld is not 0 or 1", op,
                        (unsigned)mask[i], (long long)i);
  return AX_OK;
}

#define NN_DROPOUT(T, SUF)                                                                     \
  ax_status ax_nn_dropout_fwd##SUF(int64_t n, const T *x, const uint8_t *mask, double scale,   \
                                   T *y, ax_err *err) {                                        \
    ax_status st = dropout_check("dropout", n, x, mask, y, scale, err);                        \
    if (st) return st;                                                                         \
    const T s = (T)scale;                                                                      \
    for (int64_t i = 0; i < n; i++) y[i] = mask[i] ? x[i] * s : (T)0;                          \
    return AX_OK;                                                                              \
  }                                                                                            \
  ax_status ax_nn_dropout_bwd##SUF(int64_t n, const T *dy, const uint8_t *mask, double scale,  \
                                   T *dx, ax_err *err) {                                       \
    ax_status st = dropout_check("dropout backward", n, dy, mask, dx, scale, err);             \
    if (st) return st;                                                                         \
    const T s = (T)scale;                                                                      \
    for (int64_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * s : (T)0;                        \
    return AX_OK;                                                                              \
  }

NN_DROPOUT(float, _f32)
NN_DROPOUT(double, _f64)
