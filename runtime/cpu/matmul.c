/* runtime/cpu/matmul.c — matmul and batched matmul with broadcast batch dims.
** a: [..., M, K] @ b: [..., K, N] -> [..., M, N]; 1-d operands are handled by ax_matmul (views).
** float32 (and halves, through float32) -> cblas_sgemm, float64 -> cblas_dgemm; integers use
** the reference loop. ANX_BLAS=OFF builds use the reference GEMM for floats too. Transposed
** contiguous operands (the backward pass's g @ b^T) go to BLAS as Trans, without a copy. */
#include <pthread.h>
#include <string.h>

#include "cpu.h"
#include "../ax_mem.h"

#ifdef AX_HAVE_BLAS
#include <cblas.h>
void openblas_set_num_threads(int n);
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
/* OpenBLAS always runs on one thread, and big GEMMs are cut into row or column blocks that the
** runtime's pool runs (one sgemm per block). OpenBLAS's own threads spin in sched_yield between
** calls, so between two GEMMs they took the second core from the pool's elementwise kernels
** (25% of a transformer step's samples were sched_yield). */
static void blas_init(void) { openblas_set_num_threads(1); }

void cpu_blas_init(void) { pthread_once(&blas_once, blas_init); }

typedef struct {
  int fp64, ta, tb;
  int64_t M, N, K, lda, ldb, ldc, step;
  int split_m;
  const void *A, *B;
  void *C;
} gemm_job;

/* blocks [b, e) of `step` rows (split_m) or columns of C */
static void gemm_blocks(void *ctx, int64_t b, int64_t e) {
  const gemm_job *j = ctx;
  int64_t lo = b * j->step, hi = e * j->step;
  int64_t lim = j->split_m ? j->M : j->N;
  if (hi > lim) hi = lim;
  if (lo >= hi) return;
  int64_t M = j->M, N = j->N, ao = 0, bo = 0, co;
  if (j->split_m) {
    M = hi - lo;
    ao = j->ta ? lo : lo * j->lda;   /* row lo of op(A) */
    co = lo * j->ldc;
  } else {
    N = hi - lo;
    bo = j->tb ? lo * j->ldb : lo;   /* column lo of op(B) */
    co = lo;
  }
  CBLAS_TRANSPOSE ta = j->ta ? CblasTrans : CblasNoTrans, tb = j->tb ? CblasTrans : CblasNoTrans;
  if (j->fp64)
    cblas_dgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)j->K, 1.0, (const double *)j->A + ao, (int)j->lda,
                (const double *)j->B + bo, (int)j->ldb, 0.0, (double *)j->C + co, (int)j->ldc);
  else
    cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)j->K, 1.0f, (const float *)j->A + ao, (int)j->lda,
                (const float *)j->B + bo, (int)j->ldb, 0.0f, (float *)j->C + co, (int)j->ldc);
}

/* C[M, N] = op(A) @ op(B), row-major, on every core: one block per thread along the longer of M
** and N (blocks a multiple of 16, the kernels' tile), unless the GEMM is too small to pay for
** waking the pool (~10 us). */
static void gemm_par(int fp64, int ta, int tb, int64_t M, int64_t N, int64_t K, const void *A,
                     int64_t lda, const void *B, int64_t ldb, void *C, int64_t ldc) {
  gemm_job j = {fp64, ta, tb, M, N, K, lda, ldb, ldc, 0, M >= N, A, B, C};
  int threads = cpu_num_threads();
  int64_t len = j.split_m ? M : N;
  double macs = (double)M * (double)N * (double)K;
  int parts = threads;
  if (macs < (fp64 ? 2.5e5 : 5e5) || len < 32) parts = 1;
  int64_t step = (len + parts - 1) / parts;
  step = (step + 15) / 16 * 16;
  j.step = step;
  int64_t nblocks = (len + step - 1) / step;
  if (nblocks <= 1) gemm_blocks(&j, 0, 1);
  else cpu_parallel_for(nblocks, 1, gemm_blocks, &j);
}
#else
void cpu_blas_init(void) {}
#endif

/* Reference GEMM, i-k-j order so the inner loop streams rows of B and C (vectorises). */
void cpu_gemm_ref_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    for (int64_t j = 0; j < N; j++) c[j] = 0;
    for (int64_t k = 0; k < K; k++) {
      float a = A[i * lda + k];
      const float *b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
    }
  }
}

void cpu_gemm_ref_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda,
                      const double *B, int64_t ldb, double *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    double *c = C + i * ldc;
    for (int64_t j = 0; j < N; j++) c[j] = 0;
    for (int64_t k = 0; k < K; k++) {
      double a = A[i * lda + k];
      const double *b = B + k * ldb;
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
    }
  }
}

static void gemm_ref_i64(int64_t M, int64_t N, int64_t K, const int64_t *A, const int64_t *B, int64_t *C) {
  for (int64_t i = 0; i < M; i++) {
    int64_t *c = C + i * N;
    for (int64_t j = 0; j < N; j++) c[j] = 0;
    for (int64_t k = 0; k < K; k++) {
      uint64_t a = (uint64_t)A[i * K + k];
      const int64_t *b = B + k * N;
      for (int64_t j = 0; j < N; j++) c[j] = (int64_t)((uint64_t)c[j] + a * (uint64_t)b[j]);
    }
  }
}

/* 1 when x (dtype cd, exactly `shape`) is a contiguous tensor of shape [..., C, R] with its last
** two dims swapped (x.transpose(-1, -2) of a contiguous tensor): BLAS reads it as "trans". */
static int is_transposed(const ax_tensor *x, ax_dtype cd, const int64_t *shape, int nd) {
#ifdef AX_HAVE_BLAS
  if (x->dtype != cd || x->ndim != nd || memcmp(x->shape, shape, sizeof(int64_t) * (size_t)nd)) return 0;
  if (cd != AX_FLOAT32 && cd != AX_FLOAT64) return 0;
  int64_t R = shape[nd - 2], C = shape[nd - 1];
  if (R < 2 || C < 2 || x->stride[nd - 2] != 1 || x->stride[nd - 1] != R) return 0;
  int64_t expect = R * C;
  for (int i = nd - 3; i >= 0; i--) {
    if (shape[i] != 1 && x->stride[i] != expect) return 0;
    expect *= shape[i];
  }
  return 1;
#else
  (void)x; (void)cd; (void)shape; (void)nd;
  return 0;
#endif
}

/* Make x (already broadcast to shape bshape+[R, C]) a contiguous tensor of dtype cd unless it
** already is one (or is a transposed contiguous one: *trans = 1, used in place); *own says
** whether the caller must release it. */
static ax_status as_compute(ax_tensor *x, ax_dtype cd, const int64_t *shape, int nd,
                            ax_tensor **out, int *own, int *trans, ax_err *err) {
  *trans = 0;
  if (is_transposed(x, cd, shape, nd)) {
    *out = x;
    *own = 0;
    *trans = 1;
    return AX_OK;
  }
  ax_tensor v = *x;   /* header view broadcast to shape */
  int lead = nd - x->ndim;
  v.ndim = nd;
  for (int i = 0; i < nd; i++) {
    int j = i - lead;
    v.shape[i] = shape[i];
    v.stride[i] = (j < 0 || x->shape[j] == 1) ? 0 : x->stride[j];
  }
  if (x->dtype == cd && x->ndim == nd && ax_is_contiguous(x) &&
      !memcmp(x->shape, shape, sizeof(int64_t) * (size_t)nd)) {
    *out = x;
    *own = 0;
    return AX_OK;
  }
  ax_status s = cpu_new(shape, nd, cd, out, err);
  if (s) return s;
  *own = 1;
  return cpu_copy_into(*out, &v, err);
}

typedef struct {
  ax_dtype cd;
  int ta, tb;
  int64_t M, N, K, bstep;
  size_t es;
  char *pa, *pb, *pc;
} batch_ctx;

/* GEMMs [b, e) of a batched matmul, one single-threaded GEMM each (the pool splits the batch) */
static void batch_gemms(void *ctx, int64_t b, int64_t e) {
  const batch_ctx *c = ctx;
  int64_t M = c->M, N = c->N, K = c->K;
  size_t es = c->es;
  for (int64_t i = b; i < e; i++) {
    char *A = c->pa + i * M * K * es, *B = c->pb + i * c->bstep * es, *C = c->pc + i * M * N * es;
    if (c->cd == AX_FLOAT32) {
#ifdef AX_HAVE_BLAS
      cblas_sgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                  (int)K, 1.0f, (const float *)A, c->ta ? (int)M : (int)K, (const float *)B, c->tb ? (int)K : (int)N,
                  0.0f, (float *)C, (int)N);
#else
      cpu_gemm_ref_f32(M, N, K, (const float *)A, K, (const float *)B, N, (float *)C, N);
#endif
    } else if (c->cd == AX_FLOAT64) {
#ifdef AX_HAVE_BLAS
      cblas_dgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans, c->tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                  (int)K, 1.0, (const double *)A, c->ta ? (int)M : (int)K, (const double *)B, c->tb ? (int)K : (int)N,
                  0.0, (double *)C, (int)N);
#else
      cpu_gemm_ref_f64(M, N, K, (const double *)A, K, (const double *)B, N, (double *)C, N);
#endif
    } else {
      gemm_ref_i64(M, N, K, (const int64_t *)A, (const int64_t *)B, (int64_t *)C);
    }
  }
}

ax_status cpu_matmul(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
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
  ax_status s = ax_broadcast_shapes("matmul", a->shape, a->ndim - 2, b->shape, b->ndim - 2, bsh, &bnd, err);
  if (s) {
    return ax_err_set(err, AX_E_SHAPE, "matmul: batch dims of %s and %s cannot be broadcast",
                      ax_shape_str(a->shape, a->ndim, sa, sizeof sa), ax_shape_str(b->shape, b->ndim, sb, sizeof sb));
  }
  ax_dtype rt = ax_result_type(in, 2);
  if (rt == AX_BOOL) rt = AX_INT64;
  ax_dtype cd = ax_compute_dtype(rt);
  int64_t batch = 1;
  for (int i = 0; i < bnd; i++) batch *= bsh[i];
  int64_t ash[AX_MAX_DIMS], bshp[AX_MAX_DIMS], osh[AX_MAX_DIMS];
  memcpy(ash, bsh, sizeof(int64_t) * (size_t)bnd);
  memcpy(bshp, bsh, sizeof(int64_t) * (size_t)bnd);
  memcpy(osh, bsh, sizeof(int64_t) * (size_t)bnd);
  ash[bnd] = M; ash[bnd + 1] = K;
  bshp[bnd] = K; bshp[bnd + 1] = N;
  osh[bnd] = M; osh[bnd + 1] = N;
  ax_tensor *ca = NULL, *cb = NULL, *co = NULL, *o = NULL;
  int own_a = 0, own_b = 0, ta = 0, tb = 0;
  /* [..., M, K] @ [K, N] (a linear layer on batched input): b is not copied per batch, and the
  ** batch folds into M, one GEMM of (batch*M) x K @ K x N, when a's rows are contiguous */
  int fold = b->ndim == 2 && bnd > 0;
  if ((s = as_compute(a, cd, ash, bnd + 2, &ca, &own_a, &ta, err))) goto done;
  if (fold && ta) {   /* a transposed per batch: its rows do not run across batches, copy it */
    ax_tensor *cc;
    if ((s = cpu_new(ash, bnd + 2, cd, &cc, err))) goto done;
    cpu_copy_into(cc, ca, err);
    if (own_a) ax_tensor_release(ca);
    ca = cc;
    own_a = 1;
    ta = 0;
  }
  if ((s = as_compute(b, cd, fold ? b->shape : bshp, fold ? 2 : bnd + 2, &cb, &own_b, &tb, err))) goto done;
  int64_t Mrun = M, nbatch = batch, bstep = K * N;
  if (fold) {
    Mrun = M * batch;
    nbatch = 1;
    bstep = 0;
  }
  if ((s = cpu_new(osh, bnd + 2, rt, &o, err))) goto done;
  co = o;
  if (rt != cd && (s = cpu_new(osh, bnd + 2, cd, &co, err))) goto done;
  {
    size_t es = ax_dtype_size(cd);
    char *pa = cpu_base(ca), *pb = cpu_base(cb), *pc = cpu_base(co);
    if (M * N > 0 && K == 0) memset(pc, 0, (size_t)(batch * M * N) * es);
    else if (M * N > 0) {
#ifdef AX_HAVE_BLAS
      cpu_blas_init();
#endif
      if (nbatch == 1 && (cd == AX_FLOAT32 || cd == AX_FLOAT64)) {
#ifdef AX_HAVE_BLAS
        gemm_par(cd == AX_FLOAT64, ta, tb, Mrun, N, K, pa, ta ? Mrun : K, pb, tb ? K : N, pc, N);
#else
        if (cd == AX_FLOAT32) cpu_gemm_ref_f32(Mrun, N, K, (const float *)pa, K, (const float *)pb, N, (float *)pc, N);
        else cpu_gemm_ref_f64(Mrun, N, K, (const double *)pa, K, (const double *)pb, N, (double *)pc, N);
#endif
      } else {
        batch_ctx bc = {cd, ta, tb, Mrun, N, K, bstep, es, pa, pb, pc};
        double macs = (double)nbatch * (double)Mrun * (double)N * (double)K;
        if (macs < 5e5) batch_gemms(&bc, 0, nbatch);
        else cpu_parallel_for(nbatch, 1, batch_gemms, &bc);
      }
    }
  }
  if (co != o) cpu_copy_into(o, co, err);
done:
  if (own_a) ax_tensor_release(ca);
  if (own_b) ax_tensor_release(cb);
  if (co != o) ax_tensor_release(co);
  if (s) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}
