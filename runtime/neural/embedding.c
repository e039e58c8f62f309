/* runtime/neural/embedding.c — embedding lookup (row gather) and its backward (scatter-add).
** Invariant: every id is checked against the vocabulary before any output row is written, so
** a bad id leaves the outputs untouched and names itself in the error. */
#include <string.h>

#include "nn_internal.h"

static ax_status emb_check(const char *op, int64_t vocab, int64_t dim, int64_t m,
                           const int64_t *ids, const void *a, const void *b, ax_err *err) {
  if (vocab <= 0 || dim <= 0 || m < 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: bad sizes (vocabulary %lld, dim %lld, %lld ids)", op,
                      (long long)vocab, (long long)dim, (long long)m);
  if ((m > 0 && (!ids || !a)) || !b) return ax_err_set(err, AX_E_VALUE, "%s: NULL buffer", op);
  for (int64_t i = 0; i < m; i++)
    if (ids[i] < 0 || ids[i] >= vocab)
      return ax_err_set(err, AX_E_INDEX, "%s: index %lld (position %lld) is out of range for a "
                        "vocabulary of %lld", op, (long long)ids[i], (long long)i, (long long)vocab);
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#include "embedding.inc"
#undef T
#undef NN_SUF

#define T double
#define NN_SUF _f64
#include "embedding.inc"
#undef T
#undef NN_SUF
