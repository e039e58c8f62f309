/* runtime/neural/parallel.c — thread count, parallel-for (on the runtime's persistent CPU pool)
** and the OpenBLAS thread guard.
** Invariant: a parallel region never runs while OpenBLAS is multi-threaded (callers bracket it
** with nn_blas_threads_set(1)); every tid of a region runs exactly once before the call returns. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <sched.h>
#include <unistd.h>

#include <cblas.h>

#include "cpu/cpu.h"
#include "nn_internal.h"

/* 0: use the affinity mask (set only by tests and benches). Atomics: a kernel may ask for the
** count from any thread; the cache is filled once (every filler computes the same value). */
static atomic_int thread_override;
static atomic_int cached;

int ax_nn_num_threads(void) {
  const int o = atomic_load(&thread_override);
  if (o > 0) return o;
  const int c = atomic_load(&cached);
  if (c > 0) return c;
  int n = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0) n = 1;
  if (n > 64) n = 64;
  atomic_store(&cached, n);
  return n;
}

void ax_nn_set_num_threads(int n) { atomic_store(&thread_override, n > 0 ? n : 0); }

int nn_threads_for(int64_t work, int64_t grain) {
  int nt = ax_nn_num_threads();
  if (grain < 1) grain = 1;
  int64_t useful = work / grain;
  if (useful < 1) useful = 1;
  return useful < nt ? (int)useful : nt;
}

/* Regions run on the runtime's persistent pool (runtime/cpu/pool.c): one part per thread index,
** so a task's tid still names its private scratch. Creating threads per call cost a clone and a
** join per kernel (hundreds per training step). */
typedef struct {
  nn_task_fn fn;
  void *ctx;
  int64_t n;
  int nthreads;
} nn_region;

static void nn_region_run(void *arg, int64_t t0, int64_t t1) {
  nn_region *r = arg;
  for (int64_t t = t0; t < t1; t++)
    r->fn(r->ctx, (int)t, r->n * t / r->nthreads, r->n * (t + 1) / r->nthreads);
}

void nn_parallel_for(int64_t n, int nthreads, nn_task_fn fn, void *ctx) {
  if (n <= 0) return;
  if (nthreads > n) nthreads = (int)n;
  if (nthreads <= 1) {
    fn(ctx, 0, 0, n);
    return;
  }
  if (nthreads > 64) nthreads = 64;
  nn_region r = {fn, ctx, n, nthreads};
  cpu_parallel_for(nthreads, 1, nn_region_run, &r);   /* runs every tid, inline when the pool is busy */
}

/* OpenBLAS runs on one thread for the whole process (runtime/cpu/matmul.c splits big GEMMs over
** the pool instead), so the guard only makes sure that policy is in force before a region's GEMMs. */
int nn_blas_threads_set(int n) {
  (void)n;
  cpu_blas_init();
  return 1;
}

void nn_blas_threads_restore(int prev) { (void)prev; }

void *nn_alloc(size_t count, size_t elem, const char *what, ax_err *err) {
  size_t bytes;
  if (!ax_size_mul(count, elem, &bytes)) {
    ax_err_set(err, AX_E_NOMEM, "%s: workspace size overflows", what);
    return NULL;
  }
  void *p = ax_malloc(bytes ? bytes : 1);
  if (!p) ax_err_set(err, AX_E_NOMEM, "%s: out of memory allocating %zu bytes of workspace", what, bytes);
  return p;
}

void nn_free(void *p, size_t count, size_t elem) {
  if (p) ax_free(p, (count * elem) != 0 ? count * elem : 1);
}

typedef struct {
  nn_task_fn fn;
  void *ctx;
  int64_t n;
  atomic_llong next;
} nn_units;

static void nn_units_task(void *p, int tid, int64_t begin, int64_t end) {
  nn_units *u = p;
  (void)begin, (void)end;
  for (;;) {
    const int64_t k = (int64_t)atomic_fetch_add(&u->next, 1);
    if (k >= u->n) break;
    u->fn(u->ctx, tid, k, k + 1);
  }
}

void nn_parallel_units(int64_t n, int nthreads, nn_task_fn fn, void *ctx) {
  if (n <= 0) return;
  if (nthreads <= 1 || n == 1) {
    for (int64_t k = 0; k < n; k++) fn(ctx, 0, k, k + 1);
    return;
  }
  nn_units u = {fn, ctx, n, 0};
  /* each thread runs nn_units_task once: the static split is over threads, not units */
  nn_parallel_for(nthreads, nthreads, nn_units_task, &u);
}
