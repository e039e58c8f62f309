/* runtime/neural/loss.c — fused softmax + cross-entropy (class-index and probability targets),
** forward and backward; argument checks here, typed kernels in loss.inc.
** Invariant: log-softmax is computed as x - lse with lse = max + log(sum exp(x - max)), so no
** logit overflows; targets are validated before any output is written. */
#include <string.h>
#include <tgmath.h>

#include "nn_internal.h"

#define NN_LOSS_GRAIN ((int64_t)1 << 14)

static ax_status ce_check(const char *op, int64_t n, int64_t c, const void *logits,
                          const void *target, double ls, ax_nn_reduction red, ax_err *err) {
  if (n <= 0 || c <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: logits must be [n, c] with positive sizes, got [%lld, %lld]",
                      op, (long long)n, (long long)c);
  if (!logits || !target) return ax_err_set(err, AX_E_VALUE, "%s: NULL buffer", op);
  if (!(ls >= 0 && ls <= 1))
    return ax_err_set(err, AX_E_VALUE, "%s: label_smoothing must be in [0, 1], got %g", op, ls);
  if (red != AX_NN_REDUCE_NONE && red != AX_NN_REDUCE_MEAN && red != AX_NN_REDUCE_SUM)
    return ax_err_set(err, AX_E_VALUE, "%s: unknown reduction %d", op, (int)red);
  return AX_OK;
}

static ax_status ce_targets(const char *op, int64_t n, int64_t c, const int64_t *target,
                            int64_t ignore_index, ax_err *err) {
  for (int64_t i = 0; i < n; i++)
    if (target[i] != ignore_index && (target[i] < 0 || target[i] >= c))
      return ax_err_set(err, AX_E_INDEX, "%s: target %lld at row %lld is out of range for %lld classes",
                        op, (long long)target[i], (long long)i, (long long)c);
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#include "loss.inc"
#undef T
#undef NN_SUF

#define T double
#define NN_SUF _f64
#include "loss.inc"
#undef T
#undef NN_SUF
