/* runtime/cuda/matmul.cu — matmul with broadcast batch dims. Floating types go through one
** cublasGemmEx / cublasGemmStridedBatchedEx call in their own type: float32 (CUBLAS_COMPUTE_32F, or
** CUBLAS_COMPUTE_32F_FAST_TF32 when ax_float32_matmul_precision() allows TF32), float16 and bfloat16
** operands and output with float32 accumulation (CUBLAS_COMPUTE_32F, tensor cores; the CPU also
** computes half inputs in float32 and rounds the result once), float64 (CUBLAS_COMPUTE_64F).
** Integers use a plain kernel. Row-major C = A @ B is column-major C^T = B^T A^T (gemm_plan.h).
** Invariant: an operand cuBLAS can read where it lies (row-major, or a transposed view passed with
** CUBLAS_OP_T, with one batch stride) is not copied; others are packed contiguous in the compute
** type, an operand without batch dims once (batch stride 0). With the default precision "highest"
** float32 results match the CPU's GEMM within 1e-6. */
#include <limits.h>
#include <string.h>

#include "cuda.cuh"
#include "gemm_plan.h"

/* The first element of t (offset in elements, scaled by the dtype's size). */
static inline void *cu_data(const ax_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(t->dtype);
}

/* x as a contiguous tensor of dtype cd and shape (batch..., r, c): x itself when it already is,
** else a packed copy (broadcasting the batch dims). */
static ax_status pack(ax_cuda_ctx *c, ax_tensor *x, ax_dtype cd, const int64_t *shape, int nd, ax_tensor **out, ax_err *err) {
  int same = x->dtype == cd && x->ndim == nd && ax_is_contiguous(x);
  for (int i = 0; same && i < nd; i++) same = x->shape[i] == shape[i];
  if (same) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  ax_tensor *o;
  ax_status s = cu_new(shape, nd, cd, &o, err);
  if (s) return s;
  if ((s = cu_copy_into(c, o, x, err))) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

/* x as cuBLAS reads it for a batch of shape bsh[0..bnd): x itself (retained) when its dtype is cd
** and its layout fits (gemm_plan.h), else a contiguous copy in cd: [r, c] when x has no batch
** of its own (read with batch stride 0), else [bsh..., r, c]. */
static ax_status operand(ax_cuda_ctx *c, ax_tensor *x, ax_dtype cd, const int64_t *bsh, int bnd, ax_tensor **out,
                         cu_gemm_operand *op, ax_err *err) {
  if (x->dtype == cd && cu_gemm_operand_of(x->shape, x->stride, x->ndim, bsh, bnd, op) && op->ld <= INT_MAX) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  int64_t own = 1, shape[AX_MAX_DIMS];
  for (int i = 0; i < x->ndim - 2; i++) own *= x->shape[i];
  int nd = own == 1 ? 2 : bnd + 2;
  if (nd > 2) memcpy(shape, bsh, sizeof(int64_t) * (size_t)bnd);
  shape[nd - 2] = x->shape[x->ndim - 2];
  shape[nd - 1] = x->shape[x->ndim - 1];
  ax_status s = pack(c, x, cd, shape, nd, out, err);
  if (s) return s;
  if (!cu_gemm_operand_of((*out)->shape, (*out)->stride, (*out)->ndim, bsh, bnd, op) || op->ld > INT_MAX) {
    ax_tensor_release(*out);   /* a contiguous operand always fits, unless a dim exceeds cuBLAS's int */
    *out = NULL;
    return ax_err_set(err, AX_E_LIMIT, "matmul: an operand of %lld x %lld is too large for cuBLAS", (long long)shape[nd - 2],
                      (long long)shape[nd - 1]);
  }
  return AX_OK;
}

static cudaDataType cu_blas_type(ax_dtype dt) {
  switch (dt) {
  case AX_FLOAT64: return CUDA_R_64F;
  case AX_FLOAT16: return CUDA_R_16F;
  case AX_BFLOAT16: return CUDA_R_16BF;
  default: return CUDA_R_32F;
  }
}

/* C = A @ B through cuBLAS in dtype dt (float32, float64, float16, bfloat16), per plan p. */
static ax_status gemm_float(ax_cuda_ctx *c, ax_dtype dt, const cu_gemm_plan &p, const void *pa, const void *pb, void *pc,
                            ax_err *err) {
  const float one_f = 1.0f, zero_f = 0.0f;
  const double one_d = 1.0, zero_d = 0.0;
  const void *one = dt == AX_FLOAT64 ? (const void *)&one_d : (const void *)&one_f;
  const void *zero = dt == AX_FLOAT64 ? (const void *)&zero_d : (const void *)&zero_f;
  cublasComputeType_t ct = CUBLAS_COMPUTE_32F;   /* half types: float32 accumulation, as PyTorch */
  if (dt == AX_FLOAT64) ct = CUBLAS_COMPUTE_64F;
  else if (dt == AX_FLOAT32 && ax_float32_matmul_precision() != AX_PRECISION_HIGHEST) ct = CUBLAS_COMPUTE_32F_FAST_TF32;
  cudaDataType ty = cu_blas_type(dt);
  cublasOperation_t ta = p.a.trans ? CUBLAS_OP_T : CUBLAS_OP_N, tb = p.b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasStatus_t bs;
  /* cuBLAS's A is our B (pb), its B our A (pa) */
  if (p.batch == 1)
    bs = cublasGemmEx(c->blas, ta, tb, (int)p.m, (int)p.n, (int)p.k, one, pb, ty, (int)p.a.ld, pa, ty, (int)p.b.ld, zero, pc,
                      ty, (int)p.ldc, ct, CUBLAS_GEMM_DEFAULT);
  else
    bs = cublasGemmStridedBatchedEx(c->blas, ta, tb, (int)p.m, (int)p.n, (int)p.k, one, pb, ty, (int)p.a.ld,
                                    (long long)p.a.bstride, pa, ty, (int)p.b.ld, (long long)p.b.bstride, zero, pc, ty,
                                    (int)p.ldc, (long long)p.cstride, (int)p.batch, ct, CUBLAS_GEMM_DEFAULT);
  return bs == CUBLAS_STATUS_SUCCESS ? AX_OK : cu_blas_fail(err, "matmul", bs);
}

__global__ void gemm_i64(const int64_t *A, const int64_t *B, int64_t *C, int64_t M, int64_t N, int64_t K, int64_t sa, int64_t sb,
                         int64_t batch) {
  int64_t total = batch * M * N;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t b = t / (M * N), i = (t / N) % M, j = t % N;
    const int64_t *a = A + b * sa + i * K, *bb = B + b * sb + j;
    uint64_t acc = 0;
    for (int64_t k = 0; k < K; k++) acc += (uint64_t)a[k] * (uint64_t)bb[k * N];
    C[t] = (int64_t)acc;
  }
}

static ax_status cuda_matmul_dev(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  ax_tensor *a = in[0], *b = in[1];
  char sa[160], sb[160];
  if (a->ndim < 2 || b->ndim < 2)
    return ax_err_set(err, AX_E_SHAPE, "matmul: kernel needs 2-d or batched operands, got %s @ %s",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb));
  int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1], N = b->shape[b->ndim - 1];
  if (b->shape[b->ndim - 2] != K)
    return ax_err_set(err, AX_E_SHAPE, "matmul: shape mismatch %s @ %s (inner dims %lld and %lld differ)",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb),
                      (long long)K, (long long)b->shape[b->ndim - 2]);
  int64_t bsh[AX_MAX_DIMS];
  int bnd;
  if (ax_broadcast_shapes("matmul", a->shape, a->ndim - 2, b->shape, b->ndim - 2, bsh, &bnd, err))
    return ax_err_set(err, AX_E_SHAPE, "matmul: batch dims of %s and %s cannot be broadcast",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb));
  ax_dtype rt = ax_result_type(in, 2);
  if (rt == AX_BOOL) rt = AX_INT64;
  int64_t batch = 1;
  for (int i = 0; i < bnd; i++) batch *= bsh[i];
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || batch > INT_MAX)
    return ax_err_set(err, AX_E_LIMIT, "matmul: %s @ %s is too large for one cuBLAS call",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb));
  int64_t osh[AX_MAX_DIMS];
  memcpy(osh, bsh, sizeof(int64_t) * (size_t)bnd);
  osh[bnd] = M;
  osh[bnd + 1] = N;
  ax_tensor *o = NULL;
  if ((s = cu_new(osh, bnd + 2, rt, &o, err))) return s;
  if (M * N * batch == 0) {
    *out = o;
    return AX_OK;
  }
  if (K == 0) {   /* an empty sum: zeros (all-zero bytes in every type) */
    cudaError_t e = cudaMemsetAsync(cu_data(o), 0, (size_t)ax_numel(o) * ax_dtype_size(rt), c->stream);
    if (e != cudaSuccess) {
      ax_tensor_release(o);
      return cu_fail(err, "matmul", e);
    }
    *out = o;
    return AX_OK;
  }
  ax_tensor *ca = NULL, *cb = NULL, *co = NULL;
  if (ax_dtype_is_float(rt)) {   /* one cuBLAS call in rt: operands read in place where they fit */
    cu_gemm_operand oa, ob;
    cu_gemm_plan p;
    if (!(s = operand(c, a, rt, bsh, bnd, &ca, &oa, err)) && !(s = operand(c, b, rt, bsh, bnd, &cb, &ob, err))) {
      cu_gemm_plan_make(M, N, K, batch, &oa, &ob, &p);
      s = gemm_float(c, rt, p, cu_data(ca), cu_data(cb), cu_data(o), err);
    }
  } else {   /* integers: packed contiguous int64, a plain kernel, the result converted to rt */
    ax_dtype cd = ax_compute_dtype(rt);
    int64_t abatch = 1, bbatch = 1, ash[AX_MAX_DIMS], bshp[AX_MAX_DIMS];
    for (int i = 0; i < a->ndim - 2; i++) abatch *= a->shape[i];
    for (int i = 0; i < b->ndim - 2; i++) bbatch *= b->shape[i];
    memcpy(ash, bsh, sizeof(int64_t) * (size_t)bnd);
    memcpy(bshp, bsh, sizeof(int64_t) * (size_t)bnd);
    ash[bnd] = M, ash[bnd + 1] = K;
    bshp[bnd] = K, bshp[bnd + 1] = N;
    int a1 = abatch == 1, b1 = bbatch == 1;   /* packed once and reused: batch stride 0 */
    if ((s = pack(c, a, cd, a1 ? ash + bnd : ash, a1 ? 2 : bnd + 2, &ca, err)) ||
        (s = pack(c, b, cd, b1 ? bshp + bnd : bshp, b1 ? 2 : bnd + 2, &cb, err)))
      goto done;
    co = rt == cd ? ax_tensor_retain(o) : NULL;
    if (!co && (s = cu_new(osh, bnd + 2, cd, &co, err))) goto done;
    gemm_i64<<<cu_blocks(batch * M * N), CU_THREADS, 0, c->stream>>>((const int64_t *)cu_data(ca), (const int64_t *)cu_data(cb),
                                                                       (int64_t *)cu_data(co), M, N, K, a1 ? 0 : M * K,
                                                                       b1 ? 0 : K * N, batch);
    if (!(s = cu_check(err, "matmul")) && co != o) s = cu_copy_into(c, o, co, err);
  }
done:
  ax_tensor_release(ca);
  ax_tensor_release(cb);
  ax_tensor_release(co);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}

extern "C" ax_status cuda_matmul(ax_tensor *const *in0, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *in[2];   /* a CPU 0-d input (allowed by the dispatcher) is moved to the device first */
  ax_status s = cu_inputs(in0, nin, in, err);
  if (s) return s;
  s = cuda_matmul_dev(in, nin, at, out, err);
  cu_inputs_free(in, nin);
  return s;
}
