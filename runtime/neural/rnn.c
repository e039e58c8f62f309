/* runtime/neural/rnn.c — LSTM and GRU cells (one time step), forward and backward; checks here,
** typed kernels in rnn.inc. Invariant: the gate pre-activations come from two GEMMs
** (x W_ih^T and h W_hh^T) and everything after them is elementwise per (row, unit). */
#include <string.h>
#include <tgmath.h>

#include <cblas.h>

#include "nn_internal.h"

static ax_status rnn_check(const char *op, const ax_nn_rnn_desc *r, ax_err *err) {
  if (!r) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (r->b <= 0 || r->in <= 0 || r->hid <= 0)
    return ax_err_set(err, AX_E_SHAPE, "%s: sizes must be positive (batch %lld, input %lld, hidden %lld)",
                      op, (long long)r->b, (long long)r->in, (long long)r->hid);
  if (r->in > (1 << 28) || r->hid > (1 << 26) || r->b > (1 << 28))
    return ax_err_set(err, AX_E_LIMIT, "%s: sizes too large", op);
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#define NN_GEMM cblas_sgemm
#include "rnn.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM

#define T double
#define NN_SUF _f64
#define NN_GEMM cblas_dgemm
#include "rnn.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM
