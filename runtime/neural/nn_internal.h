/* runtime/neural/nn_internal.h — helpers shared by the kernel files of runtime/neural/: the
** type-generic naming macros, the parallel-for and the OpenBLAS thread guard.
** Invariant: nothing here is part of the public API (ax_nn_kernels.h); no global mutable state
** beyond the thread-count override. */
#ifndef NN_INTERNAL_H
#define NN_INTERNAL_H

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

#endif
