/* runtime/cpu/pool.c — a tiny persistent thread pool (one worker per extra core, at most 3) and
** the strided block iterator that elementwise kernels run on.
** Invariant: the pool never runs during a BLAS call (matmul calls BLAS from the caller's thread
** only and never inside cpu_parallel_for), so OpenBLAS's 2 threads do not oversubscribe. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <pmmintrin.h>
#include <stdlib.h>
#include <xmmintrin.h>
/* Subnormal floats are flushed to zero (FTZ) and read as zero (DAZ), as TensorFlow does in its
** threads: Adam's second moments and ReLU-net gradients drift into the subnormal range during
** training and every op on them then takes ~100 cycles (MLP epochs 1.2 s -> 0.8 s). The flags are
** per thread: set at load in the main thread (threads created later inherit them) and again in each
** pool worker. ANX_FLUSH_DENORMALS=0 keeps IEEE gradual underflow. */
static void fp_flush_denormals(void) {
  const char *e = getenv("ANX_FLUSH_DENORMALS");
  if (e && e[0] == '0') return;
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}
__attribute__((constructor)) static void fp_init_main_thread(void) { fp_flush_denormals(); }
#else
static void fp_flush_denormals(void) {}
#endif

#define MAX_WORKERS 3
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;   /* one parallel_for at a time */
static pthread_cond_t cv_job = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;
static int nworkers;
static uint64_t generation;
static int remaining;
/* A job is cut into `parts` chunks that the caller and the workers claim one at a time, so a
** thread that the OS delays (these machines are shared) does not hold up the whole op. */
static struct { cpu_range_fn fn; void *ctx; int64_t n; int parts; _Atomic int next; } job;
static _Thread_local int in_worker;

static void run_parts(void) {
  for (;;) {
    int part = atomic_fetch_add(&job.next, 1);
    if (part >= job.parts) return;
    int64_t b = job.n * part / job.parts, e = job.n * (part + 1) / job.parts;
    if (b < e) job.fn(job.ctx, b, e);
  }
}

static void *worker(void *arg) {
  (void)arg;
  uint64_t seen = 0;
  in_worker = 1;
  fp_flush_denormals();
  pthread_mutex_lock(&mu);
  for (;;) {
    while (generation == seen) pthread_cond_wait(&cv_job, &mu);
    seen = generation;
    pthread_mutex_unlock(&mu);
    run_parts();
    pthread_mutex_lock(&mu);
    if (--remaining == 0) pthread_cond_signal(&cv_done);
  }
  return NULL;
}

static void pool_init(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  int want = (int)(n > 1 ? n - 1 : 0);
  if (want > MAX_WORKERS) want = MAX_WORKERS;
  for (int i = 0; i < want; i++) {
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &a, worker, NULL) == 0) nworkers++;
    pthread_attr_destroy(&a);
  }
}

int cpu_num_threads(void) {
  pthread_once(&once, pool_init);
  return nworkers + 1;
}

void cpu_parallel_for(int64_t n, int64_t min_per_thread, cpu_range_fn fn, void *ctx) {
  if (n <= 0) return;
  int threads = cpu_num_threads();
  if (min_per_thread < 1) min_per_thread = 1;
  int64_t parts = n / min_per_thread;
  if (parts > 8 * threads) parts = 8 * threads;
  if (parts < 2 || threads < 2 || in_worker || pthread_mutex_trylock(&busy) != 0) {
    fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&mu);
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.parts = (int)parts;
  atomic_store(&job.next, 0);
  remaining = nworkers;
  generation++;
  pthread_cond_broadcast(&cv_job);
  pthread_mutex_unlock(&mu);
  run_parts();
  pthread_mutex_lock(&mu);
  while (remaining > 0) pthread_cond_wait(&cv_done, &mu);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&busy);
}

/* ---------------- block iterator ---------------- */

void cpu_iter_init(cpu_iter *it, const int64_t *shape, int ndim) {
  memset(it, 0, sizeof *it);
  it->ndim = ndim;
  for (int i = 0; i < ndim; i++) it->shape[i] = shape[i];
}

void cpu_iter_add(cpu_iter *it, const ax_tensor *t) {
  int k = it->nops++, lead = it->ndim - t->ndim;
  for (int i = 0; i < it->ndim; i++) {
    int j = i - lead;
    it->stride[k][i] = (j < 0 || t->shape[j] == 1) ? 0 : t->stride[j];
  }
  it->base[k] = cpu_base(t);
  it->esize[k] = (int)ax_dtype_size(t->dtype);
}

/* Drop size-1 dims and merge dims that are contiguous for every operand. */
static void coalesce(cpu_iter *it) {
  int nd = 0;
  for (int i = 0; i < it->ndim; i++) {
    if (it->shape[i] == 1) continue;
    if (nd > 0) {
      int ok = 1;
      for (int k = 0; k < it->nops; k++)
        if (it->stride[k][nd - 1] != it->stride[k][i] * it->shape[i]) { ok = 0; break; }
      if (ok) {
        it->shape[nd - 1] *= it->shape[i];
        for (int k = 0; k < it->nops; k++) it->stride[k][nd - 1] = it->stride[k][i];
        continue;
      }
    }
    it->shape[nd] = it->shape[i];
    for (int k = 0; k < it->nops; k++) it->stride[k][nd] = it->stride[k][i];
    nd++;
  }
  if (nd == 0) {
    it->shape[0] = 1;
    for (int k = 0; k < it->nops; k++) it->stride[k][0] = 0;
    nd = 1;
  }
  it->ndim = nd;
}

typedef struct { const cpu_iter *it; cpu_block_fn fn; void *ctx; int64_t nchunks; } run_ctx;

static void run_range(void *vctx, int64_t b, int64_t e) {
  const run_ctx *r = vctx;
  const cpu_iter *it = r->it;
  int nd = it->ndim, nops = it->nops;
  int64_t inner = it->shape[nd - 1], st[CPU_ITER_MAXOPS];
  for (int k = 0; k < nops; k++) st[k] = it->stride[k][nd - 1];
  for (int64_t u = b; u < e; u++) {
    int64_t o = u / r->nchunks, c = u % r->nchunks;
    char *p[CPU_ITER_MAXOPS];
    int64_t off[CPU_ITER_MAXOPS] = {0};
    for (int d = nd - 2; d >= 0 && o > 0; d--) {
      int64_t i = o % it->shape[d];
      o /= it->shape[d];
      for (int k = 0; k < nops; k++) off[k] += i * it->stride[k][d];
    }
    int64_t start = c * CPU_BLOCK, n = inner - start < CPU_BLOCK ? inner - start : CPU_BLOCK;
    for (int k = 0; k < nops; k++) p[k] = it->base[k] + (off[k] + start * st[k]) * it->esize[k];
    r->fn(r->ctx, p, st, n);
  }
}

/* Short rows ([4096, 10] + [10]): one callback per row would cost more than the work, so R rows
** are packed per callback. Operands whose R rows already lie back to back (unit inner stride)
** are passed in place; the others are gathered into a contiguous buffer first, and operand 0
** (always the output) is scattered back afterwards. */
#define SHORT_ROW 256
#define MAX_PACK 256

static void copy_rows(char *dst, const char *base, const int64_t *off, int64_t rows, int64_t inner,
                      int64_t st, int es, int to_buf) {
  for (int64_t r = 0; r < rows; r++) {
    char *buf = dst + r * inner * es;
    char *mem = (char *)base + off[r] * es;
    if (st == 1) {
      if (to_buf) memcpy(buf, mem, (size_t)(inner * es));
      else memcpy(mem, buf, (size_t)(inner * es));
      continue;
    }
#define STRIDED(T)                                                                    \
  do {                                                                                \
    T *bb = (T *)buf, *mm = (T *)mem;                                                 \
    if (to_buf) for (int64_t i = 0; i < inner; i++) bb[i] = mm[i * st];               \
    else for (int64_t i = 0; i < inner; i++) mm[i * st] = bb[i];                      \
  } while (0)
    switch (es) {
    case 1: STRIDED(uint8_t); break;
    case 2: STRIDED(uint16_t); break;
    case 4: STRIDED(uint32_t); break;
    default: STRIDED(uint64_t); break;
    }
#undef STRIDED
  }
}

static void run_packed(void *vctx, int64_t b, int64_t e) {
  const run_ctx *r = vctx;
  const cpu_iter *it = r->it;
  int nd = it->ndim, nops = it->nops;
  int64_t inner = it->shape[nd - 1], R = r->nchunks, outer = 1;
  for (int d = 0; d < nd - 1; d++) outer *= it->shape[d];
  _Alignas(64) char tmp[CPU_ITER_MAXOPS][CPU_BLOCK * 8];
  int64_t off[CPU_ITER_MAXOPS][MAX_PACK], ones[CPU_ITER_MAXOPS];
  for (int k = 0; k < nops; k++) ones[k] = 1;
  for (int64_t u = b; u < e; u++) {
    int64_t o0 = u * R, rows = outer - o0 < R ? outer - o0 : R;
    /* multi-index of row o0, then step it row by row */
    int64_t idx[AX_MAX_DIMS] = {0}, o = o0;
    for (int d = nd - 2; d >= 0; d--) {
      idx[d] = o % it->shape[d];
      o /= it->shape[d];
    }
    for (int64_t q = 0; q < rows; q++) {
      for (int k = 0; k < nops; k++) {
        int64_t v = 0;
        for (int d = 0; d < nd - 1; d++) v += idx[d] * it->stride[k][d];
        off[k][q] = v;
      }
      for (int d = nd - 2; d >= 0; d--) {
        if (++idx[d] < it->shape[d]) break;
        idx[d] = 0;
      }
    }
    char *p[CPU_ITER_MAXOPS];
    int packed[CPU_ITER_MAXOPS];
    for (int k = 0; k < nops; k++) {
      int64_t st = it->stride[k][nd - 1];
      int direct = st == 1;
      for (int64_t q = 1; direct && q < rows; q++) direct = off[k][q] == off[k][0] + q * inner;
      packed[k] = !direct;
      if (direct) {
        p[k] = it->base[k] + off[k][0] * it->esize[k];
      } else {
        p[k] = tmp[k];
        if (k > 0) copy_rows(tmp[k], it->base[k], off[k], rows, inner, st, it->esize[k], 1);
      }
    }
    r->fn(r->ctx, p, ones, rows * inner);
    if (packed[0]) copy_rows(tmp[0], it->base[0], off[0], rows, inner, it->stride[0][nd - 1], it->esize[0], 0);
  }
}

void cpu_iter_run(cpu_iter *it, cpu_block_fn fn, void *ctx) {
  for (int i = 0; i < it->ndim; i++)
    if (it->shape[i] == 0) return;
  coalesce(it);
  int64_t inner = it->shape[it->ndim - 1], outer = 1;
  for (int i = 0; i < it->ndim - 1; i++) outer *= it->shape[i];
  if (it->ndim >= 2 && inner < SHORT_ROW && outer >= 4) {
    int64_t R = CPU_BLOCK / inner;
    if (R > MAX_PACK) R = MAX_PACK;
    run_ctx pr = {it, fn, ctx, R};   /* nchunks holds rows per callback here */
    int64_t units = (outer + R - 1) / R;
    cpu_parallel_for(units, 1 + 32768 / (R * inner), run_packed, &pr);
    return;
  }
  run_ctx r = {it, fn, ctx, (inner + CPU_BLOCK - 1) / CPU_BLOCK};
  int64_t units = outer * r.nchunks;
  /* ~32K elements per thread before splitting pays for the wake-up (a few microseconds). */
  int64_t per_unit = inner < CPU_BLOCK ? inner : CPU_BLOCK;
  cpu_parallel_for(units, (32768 + per_unit - 1) / per_unit, run_range, &r);
}
