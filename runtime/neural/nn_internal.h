/* runtime/neural/nn_internal.h — helpers shared by the kernel files of runtime/neural/: the
** type-generic naming macros, the parallel-for and the OpenBLAS thread guard.
** Invariant: nothing here is part of the public API (ax_nn_kernels.h); no global mutable state
** beyond the thread-count override. */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ax_error.h"
#include "ax_mem.h"
#include "ax_nn_kernels.h"

/* Each kernel family is written once in <family>.inc with the element type T and the name
** suffix NN_SUF (_f32 / _f64); <family>.c includes it twice. NN_FN(foo) is foo_f32 or foo_f64. */
#define NN_CAT2(a, b) a##b
#define NN_CAT(a, b) NN_CAT2(a, b)
#define NN_FN(name) NN_CAT(name, NN_SUF)

/* NN_HOT marks the hot loops: on x86-64 with GCC they are compiled for AVX-512, AVX2+FMA and the
** baseline, and the loader picks the best the CPU has (ifunc), so the library stays portable
** and still uses the wide units. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define NN_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_HOT
#endif

/* Work split: fn(ctx, tid, begin, end) runs on nthreads threads over contiguous chunks of
** [0, n); thread 0 is the caller. A thread that cannot be created has its chunk run by the
** caller, so the call cannot fail. */
typedef void (*nn_task_fn)(void *ctx, int tid, int64_t begin, int64_t end);
void nn_parallel_for(int64_t n, int nthreads, nn_task_fn fn, void *ctx);

/* Dynamic split: fn(ctx, tid, u, u + 1) for every unit u of [0, n), units handed out one at a time
** to whichever of the nthreads threads is free (balances load when another process holds a
** core). fn may use tid only for scratch space: which thread runs a unit is not deterministic. */
void nn_parallel_units(int64_t n, int nthreads, nn_task_fn fn, void *ctx);

/* Threads to use for `work` units of roughly `grain` units each worth running in parallel. */
int nn_threads_for(int64_t work, int64_t grain);

/* OpenBLAS thread guard: set the BLAS thread count for a region, restore it afterwards. */
int nn_blas_threads_set(int n);      /* returns the previous count */
void nn_blas_threads_restore(int prev);

/* Workspace through the choke point; NULL (and err filled, naming `what`) on failure. */
void *nn_alloc(size_t count, size_t elem, const char *what, ax_err *err);
void nn_free(void *p, size_t count, size_t elem);

/* exp for float written so loops over it vectorize (libm's expf is a call per element):
** Cephes' range reduction and polynomial, within 2 ulp of expf on its domain; exp(x) = 0 below
** -86.5 (so -inf gives exactly 0, as softmax masks need), +inf above 88.38, NaN stays NaN.
** The low cut keeps every intermediate a normal number: a denormal product, even one thrown
** away by the final select, costs a microcode assist of ~100 cycles per element on Intel. */
static inline float nn_expf(float x) {
  const float hi = 88.3762626647949f, lo = -86.5f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  const float fn = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round(x/ln2) */
  float r = xc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { int32_t i; float f; } u;
  u.i = ((int32_t)(fn == fn ? fn : 0.0f) + 127) << 23;   /* NaN: no float->int UB; p is NaN */
  float y = p * u.f;
  y = x < lo ? 0.0f : y;
  return x > hi ? (float)__builtin_inff() : y;
}

#endif
