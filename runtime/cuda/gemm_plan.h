/* runtime/cuda/gemm_plan.h — how a row-major batched matmul C = A @ B over strided operands maps
** onto one column-major cuBLAS strided-batched GEMM (matmul.cu), in plain C so that
** tests/cuda/test_cuda_host.cpp runs the same derivation on the host against a reference.
** Row-major C [M, N] is column-major C^T, so cuBLAS computes C^T = op(B') op(A') with cuBLAS's
** m = N, n = M, k = K; its first matrix is our B, its second our A. A row-major operand (column
** stride 1) is passed untransposed with ld = its row stride; a column-major one (row stride 1: a
** transposed view) with CUBLAS_OP_T and ld = its column stride; anything else is packed.
** Invariant: a plan is only "usable" when every element cuBLAS reads is the operand's own. */
#ifndef AX_CUDA_GEMM_PLAN_H
#define AX_CUDA_GEMM_PLAN_H

#include <stdint.h>

/* One operand as cuBLAS reads it: trans (0 = CUBLAS_OP_N, 1 = CUBLAS_OP_T), leading dimension
** and batch stride in elements (0: the same matrix for every batch). */
typedef struct {
  int trans;
  int64_t ld, bstride;
} cu_gemm_operand;

/* The layout of the operand x (shape/stride of nd >= 2 dims; its last two are rows x cols) as a
** cuBLAS operand when the batch dims are broadcast to bsh[0..bnd): 1 and *op when cuBLAS can
** read x where it lies, 0 when x must be packed (a batch layout with no single stride, zero or
** negative strides in the matrix, rows that overlap). */
static inline int cu_gemm_operand_of(const int64_t *shape, const int64_t *stride, int nd, const int64_t *bsh, int bnd,
                                     cu_gemm_operand *op) {
  const int64_t r = shape[nd - 2], c = shape[nd - 1], sr = stride[nd - 2], sc = stride[nd - 1];
  const int64_t r1 = r > 1 ? r : 1, c1 = c > 1 ? c : 1;
  /* a dim of size 1 has no meaningful stride: such a dim never disqualifies a layout */
  if ((c == 1 || sc == 1) && (r == 1 || sr >= c1)) {          /* row-major: rows of c at stride sr */
    op->trans = 0;
    op->ld = r == 1 ? c1 : sr;
  } else if ((r == 1 || sr == 1) && (c == 1 || sc >= r1)) {   /* column-major: a transposed view */
    op->trans = 1;
    op->ld = c == 1 ? r1 : sc;
  } else {
    return 0;
  }
  /* batch: offset(b) must be b * S for the flattened (row-major) batch index b over bsh */
  int own = nd - 2;
  int64_t e[16], inner = 1, s = -1;
  if (bnd > 16) return 0;
  for (int i = 0; i < bnd; i++) {
    int j = i - (bnd - own);
    e[i] = j >= 0 && shape[j] != 1 ? stride[j] : 0;   /* broadcast dims read the same matrix */
    if (j >= 0 && shape[j] != 1 && shape[j] != bsh[i]) return 0;
  }
  for (int i = bnd - 1; i >= 0; i--) {
    if (bsh[i] != 1) {
      if (e[i] < 0 || e[i] % inner) return 0;
      int64_t si = e[i] / inner;
      if (s < 0) s = si;
      else if (si != s) return 0;
    }
    inner *= bsh[i];
  }
  op->bstride = s < 0 ? 0 : s;
  return 1;
}

/* The whole call: cuBLAS's (m, n, k, batch), its two operands and the output's ld and stride. */
typedef struct {
  int64_t m, n, k, batch;
  cu_gemm_operand a, b;   /* cuBLAS's A (our B) and B (our A) */
  int64_t ldc, cstride;
} cu_gemm_plan;

/* Plan C [bsh..., M, N] (contiguous) = A @ B from the two operand layouts: ob of our B [K, N],
** oa of our A [M, K]. When B is the same matrix for every batch and A's batches are one row-major
** [batch * M, K] block, the batches fold into one GEMM with n = batch * M (a linear layer's
** [B, T, C] @ [C, D]), as PyTorch does. */
static inline void cu_gemm_plan_make(int64_t M, int64_t N, int64_t K, int64_t batch, const cu_gemm_operand *oa,
                                     const cu_gemm_operand *ob, cu_gemm_plan *p) {
  p->m = N, p->n = M, p->k = K, p->batch = batch;
  p->a = *ob, p->b = *oa;
  p->ldc = N > 1 ? N : 1;
  p->cstride = M * N;
  if (batch > 1 && (ob->bstride == 0) && !oa->trans && oa->bstride == M * oa->ld && batch * M <= INT32_MAX) {
    p->n = batch * M;
    p->batch = 1;
    p->b.bstride = 0;
    p->a.bstride = 0;
  }
}

#endif
