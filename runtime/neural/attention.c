/* runtime/neural/attention.c — scaled dot-product attention, streaming forward (online softmax,
** FlashAttention-style) and tile-recomputing backward; checks here, kernels in attention.inc.
** Invariant: no buffer of T x S scores is ever allocated: workspace is one query tile x key tile
** per thread, so memory is O(tile) whatever the sequence lengths. */
#include <string.h>
#include <tgmath.h>

#include <cblas.h>

#include "nn_internal.h"

#define NN_ATT_BQ 64    /* query rows per tile */
#define NN_ATT_BK 128   /* key columns per tile */

static ax_status att_check(const ax_nn_attention_desc *a, const char *op, ax_err *err) {
  if (!a) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (a->b <= 0 || a->h <= 0 || a->t <= 0 || a->s <= 0 || a->d <= 0 || a->dv <= 0)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: sizes must be positive (b %lld, h %lld, t %lld, s %lld, d %lld, dv %lld)",
                      op, (long long)a->b, (long long)a->h, (long long)a->t, (long long)a->s,
                      (long long)a->d, (long long)a->dv);
  if (!(a->scale == a->scale) || isinf(a->scale))
    return ax_err_set(err, AX_E_VALUE, "%s: scale must be finite", op);
  if (a->mask_strided && (a->mask_sb < 0 || a->mask_sh < 0 || a->mask_st < 0))
    return ax_err_set(err, AX_E_VALUE, "%s: mask strides must be >= 0", op);
  if (a->d > (1 << 20) || a->dv > (1 << 20) || a->t > ((int64_t)1 << 30) || a->s > ((int64_t)1 << 30))
    return ax_err_set(err, AX_E_LIMIT, "%s: sizes too large", op);
  return AX_OK;
}

#define T float
#define NN_SUF _f32
#define NN_GEMM cblas_sgemm
#include "attention.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM

#define T double
#define NN_SUF _f64
#define NN_GEMM cblas_dgemm
#include "attention.inc"
#undef T
#undef NN_SUF
#undef NN_GEMM
