/* runtime/neural/optim.c — optimizer steps (sgd, adam/adamw, rmsprop, adagrad, adadelta, lamb)
** and gradient clipping over flat buffers; the typed bodies are in optim.inc.
** Invariant: each update follows PyTorch 1.13's single-tensor implementation operation by
** operation, in the element type (coefficients rounded to it), so float32 runs track PyTorch. */
#include <tgmath.h>
#include <string.h>

#include "nn_internal.h"

/* Elementwise updates are memory-bound: split them across threads only for large buffers. */
#define NN_OPTIM_GRAIN ((int64_t)1 << 16)

static ax_status optim_check(const char *op, int64_t n, const void *param, const void *grad,
                             double lr, ax_err *err) {
  if (n < 0) return ax_err_set(err, AX_E_SHAPE, "%s: negative size %lld", op, (long long)n);
  if (n > 0 && (!param || !grad)) return ax_err_set(err, AX_E_VALUE, "%s: NULL buffer", op);
  if (!(lr >= 0)) return ax_err_set(err, AX_E_VALUE, "%s: learning rate must be >= 0, got %g", op, lr);
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#include "optim.inc"
#undef T
#undef NN_SUF

#define T double
#define NN_SUF _f64
#include "optim.inc"
#undef T
#undef NN_SUF
