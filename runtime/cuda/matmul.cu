/* runtime/cuda/matmul.cu — matmul with broadcast batch dims: float32 (and the half types through
** float32) via cublasSgemmStridedBatched, float64 via cublasDgemmStridedBatched, integers via a
** plain kernel. Row-major C = A @ B is column-major C^T = B^T A^T, so B goes first.
** Invariant: operands are packed contiguous in the compute type; an operand without batch dims
** is not copied per batch (batch stride 0). No TF32: results match the CPU's float32 GEMM. */
#include <limits.h>
#include <string.h>

#include "cuda.cuh"

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
  ax_dtype cd = ax_compute_dtype(rt);
  int64_t batch = 1;
  for (int i = 0; i < bnd; i++) batch *= bsh[i];
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || batch > INT_MAX)
    return ax_err_set(err, AX_E_LIMIT, "matmul: %s @ %s is too large for one cuBLAS call",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb));
  /* an operand whose batch dims are all 1 (or absent) is packed once and reused: stride 0 */
  int64_t abatch = 1, bbatch = 1;
  for (int i = 0; i < a->ndim - 2; i++) abatch *= a->shape[i];
  for (int i = 0; i < b->ndim - 2; i++) bbatch *= b->shape[i];
  int64_t ash[AX_MAX_DIMS], bshp[AX_MAX_DIMS], osh[AX_MAX_DIMS];
  memcpy(ash, bsh, sizeof(int64_t) * (size_t)bnd);
  memcpy(bshp, bsh, sizeof(int64_t) * (size_t)bnd);
  memcpy(osh, bsh, sizeof(int64_t) * (size_t)bnd);
  ash[bnd] = M; ash[bnd + 1] = K;
  bshp[bnd] = K; bshp[bnd + 1] = N;
  osh[bnd] = M; osh[bnd + 1] = N;
  int a1 = abatch == 1, b1 = bbatch == 1;
  ax_tensor *ca = NULL, *cb = NULL, *co = NULL, *o = NULL;
  if ((s = pack(c, a, cd, a1 ? ash + bnd : ash, a1 ? 2 : bnd + 2, &ca, err))) goto done;
  if ((s = pack(c, b, cd, b1 ? bshp + bnd : bshp, b1 ? 2 : bnd + 2, &cb, err))) goto done;
  if ((s = cu_new(osh, bnd + 2, rt, &o, err))) goto done;
  co = rt == cd ? ax_tensor_retain(o) : NULL;
  if (!co && (s = cu_new(osh, bnd + 2, cd, &co, err))) goto done;
  {
    size_t es = ax_dtype_size(cd);
    const char *pa = (const char *)ca->storage->data + ca->offset * (int64_t)es;
    const char *pb = (const char *)cb->storage->data + cb->offset * (int64_t)es;
    char *pc = (char *)co->storage->data + co->offset * (int64_t)es;
    long long stA = a1 ? 0 : M * K, stB = b1 ? 0 : K * N, stC = M * N;
    if (M * N * batch == 0) {
    } else if (K == 0) {
      cudaError_t e = cudaMemsetAsync(pc, 0, (size_t)(batch * M * N) * es, c->stream);
      if (e != cudaSuccess) { s = cu_fail(err, "matmul", e); goto done; }
    } else if (cd == AX_FLOAT32) {
      const float one = 1.0f, zero = 0.0f;
      cublasStatus_t bs = cublasSgemmStridedBatched(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one,
                                                    (const float *)pb, (int)N, stB, (const float *)pa, (int)K, stA, &zero,
                                                    (float *)pc, (int)N, stC, (int)batch);
      if (bs != CUBLAS_STATUS_SUCCESS) { s = cu_blas_fail(err, "matmul", bs); goto done; }
    } else if (cd == AX_FLOAT64) {
      const double one = 1.0, zero = 0.0;
      cublasStatus_t bs = cublasDgemmStridedBatched(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one,
                                                    (const double *)pb, (int)N, stB, (const double *)pa, (int)K, stA, &zero,
                                                    (double *)pc, (int)N, stC, (int)batch);
      if (bs != CUBLAS_STATUS_SUCCESS) { s = cu_blas_fail(err, "matmul", bs); goto done; }
    } else {
      gemm_i64<<<cu_blocks(batch * M * N), CU_THREADS, 0, c->stream>>>((const int64_t *)pa, (const int64_t *)pb, (int64_t *)pc, M, N,
                                                                         K, stA, stB, batch);
      if ((s = cu_check(err, "matmul"))) goto done;
    }
  }
  if (co != o) s = cu_copy_into(c, o, co, err);
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
