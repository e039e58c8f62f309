/* runtime/cpu/cpu.h — internals shared by the CPU kernels: dtype load/store of strided rows into
** compute buffers, the strided N-d block iterator, the 2-thread pool and the kernel prototypes.
** Invariant: per-element work never goes through a function pointer; callbacks run per block. */
#ifndef AX_CPU_H
#define AX_CPU_H

#include <math.h>

#include "../ax_ops.h"

/* Element pointer of t at its offset (CPU storage). */
static inline char *cpu_base(const ax_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(t->dtype);
}

/* Convert n elements of dtype dt at src (stride in elements) to the compute buffer. */
void cpu_load_f32(float *dst, const char *src, int64_t stride, int64_t n, ax_dtype dt);
void cpu_load_f64(double *dst, const char *src, int64_t stride, int64_t n, ax_dtype dt);
void cpu_load_i64(int64_t *dst, const char *src, int64_t stride, int64_t n, ax_dtype dt);
/* Convert n compute values into dtype dt at dst (stride in elements). */
void cpu_store_f32(char *dst, int64_t stride, const float *src, int64_t n, ax_dtype dt);
void cpu_store_f64(char *dst, int64_t stride, const double *src, int64_t n, ax_dtype dt);
void cpu_store_i64(char *dst, int64_t stride, const int64_t *src, int64_t n, ax_dtype dt);
/* Strided copy with dtype conversion between any two tensors of the same shape. */
ax_status cpu_copy_into(ax_tensor *dst, const ax_tensor *src, ax_err *err);

/* ---- block iterator over an output shape with up to 4 operands (broadcast strides 0) ---- */
#define CPU_ITER_MAXOPS 4
#define CPU_BLOCK 2048   /* elements per callback: compute buffers stay in L1/L2 */
typedef struct {
  int nops, ndim;
  int64_t shape[AX_MAX_DIMS];
  int64_t stride[CPU_ITER_MAXOPS][AX_MAX_DIMS];  /* elements */
  char *base[CPU_ITER_MAXOPS];
  int esize[CPU_ITER_MAXOPS];
} cpu_iter;
/* fn(ctx, ptrs, inner strides in elements, n): process n elements along the inner dim. */
typedef void (*cpu_block_fn)(void *ctx, char **p, const int64_t *st, int64_t n);
/* Operand k's strides are t's strides broadcast to shape (0 where t has size 1 / no dim).
** Operand 0 is the one written (the output); the others are only read. */
void cpu_iter_init(cpu_iter *it, const int64_t *shape, int ndim);
void cpu_iter_add(cpu_iter *it, const ax_tensor *t);
/* Coalesces dims and runs fn over all elements, on 2 threads when the tensor is large. */
void cpu_iter_run(cpu_iter *it, cpu_block_fn fn, void *ctx);

/* ---- pool: fn(ctx, begin, end) over [0, n) split across the cores ---- */
typedef void (*cpu_range_fn)(void *ctx, int64_t begin, int64_t end);
void cpu_parallel_for(int64_t n, int64_t min_per_thread, cpu_range_fn fn, void *ctx);
int cpu_num_threads(void);
/* Pin OpenBLAS to one thread (once; GEMMs are split over the pool by cpu_matmul). No-op without BLAS. */
void cpu_blas_init(void);

/* exp that vectorises (no libm call): Cody-Waite range reduction + degree-6 polynomial,
** max error ~2 ulp; NaN stays NaN, overflow gives inf, underflow flushes to 0. */
static inline float cpu_vexpf(float x) {
  float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
  float r = xc - n * 0.693145751953125f;
  r = r - n * 1.428606765330187045e-06f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666666666f + r * (0.041666666f +
                 r * (0.0083333333f + r * 0.0013888889f)))));
  union { float f; int32_t i; } s = {.i = ((int32_t)n + 127) << 23};
  float y = p * s.f;
  y = x > 88.7f ? INFINITY : y;
  y = x < -87.3f ? 0.0f : y;
  return x != x ? x : y;
}

/* erf that vectorises: odd Taylor series below 0.5, Abramowitz-Stegun 7.1.26 above (abs error
** ~1e-7 near 0.5, less elsewhere). */
static inline float cpu_verff(float x) {
  float a = x < 0 ? -x : x, a2 = a * a;
  float small = a * (1.1283791671f + a2 * (-0.3761263890f + a2 * (0.1128379167f + a2 * (-0.0268661706f + a2 * 0.0052239776f))));
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  float large = 1.0f - poly * cpu_vexpf(-a2);
  float r = a < 0.5f ? small : large;
  r = a > 9.0f ? 1.0f : r;
  return x < 0 ? -r : r;
}

/* New contiguous output on x's device. */
ax_status cpu_new(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err);

/* Kernels (one family per file). */
ax_status cpu_unary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_unary_inplace(ax_op op, ax_tensor *x, ax_err *err);   /* x over itself: float, contiguous */
ax_status cpu_binary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_where(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_masked_fill(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_reduce(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_scan(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_matmul(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_gather(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_scatter(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_index_select(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_cat(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_slice_scatter(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_cast(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cpu_copy(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);

/* Reference GEMM (row-major, C = A[M,K] @ B[K,N], leading dims given): tests and ANX_BLAS=OFF. */
void cpu_gemm_ref_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float *C, int64_t ldc);
void cpu_gemm_ref_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda,
                      const double *B, int64_t ldb, double *C, int64_t ldc);

#endif
