/* runtime/neural/norm.c — batch, layer, group, instance and RMS normalisation, forward and
** backward; argument checks here, typed kernels in norm.inc.
** Invariant: statistics are accumulated in double and saved as rstd = 1/sqrt(var + eps) with the
** biased variance; only batch_norm's running_var uses the unbiased one (as PyTorch). */
#include <string.h>
#include <tgmath.h>

#include "nn_internal.h"

/* elements per thread below which a second thread does not pay */
#define NN_NORM_GRAIN ((int64_t)1 << 15)

static ax_status norm_sizes(const char *op, int64_t a, int64_t b, int64_t c, double eps,
                            ax_err *err) {
  if (a <= 0 || b <= 0 || c <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: sizes must be positive, got %lld x %lld x %lld", op,
                      (long long)a, (long long)b, (long long)c);
  if (!(eps >= 0)) return ax_err_set(err, AX_E_VALUE, "%s: eps must be >= 0, got %g", op, eps);
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#include "norm.inc"
#undef T
#undef NN_SUF

#define T double
#define NN_SUF _f64
#include "norm.inc"
#undef T
#undef NN_SUF
