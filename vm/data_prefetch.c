/* vm/data_prefetch.c — the loader's background batch gatherer: while the main thread trains on
** batch i, a thread copies the rows of batches i+1..i+depth into tensors and runs the compiled
** data.* transform on them.
** Invariant (thread safety): the runtime is not thread-safe (tensor refcounts, the allocator's
** counters, the VM), so the worker touches raw memory only: the source rows (retained here, read
** only), the row order (made before the start), the compiled plan and scratch buffers it owns,
** and the data of tensors the main thread allocated for it. Every tensor is created, retained and
** released on the main thread; a slot changes hands under `mu` (armed -> busy -> filled).
** The main thread never waits for a batch the worker has not started: it claims and fills that
** batch itself (same code, its own scratch), so a worker the OS does not schedule (shared cores)
** costs nothing but the batches it would have hidden. */
#define _GNU_SOURCE   /* SCHED_BATCH */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "ax_mem.h"
#include "data_prefetch.h"

/* Gatherers alive in the process and the bytes of the batches they may hold ahead: a loop left by
** `break` keeps its gatherer until the collector finds the pass, so such passes cannot pile up
** threads or memory without bound; past either cap a pass makes its batches on demand. */
#define MAX_LIVE 16
#define MAX_AHEAD_BYTES ((size_t)1 << 30)
static _Atomic int live;
static _Atomic size_t ahead_bytes;

enum { SLOT_FREE, SLOT_ARMED, SLOT_BUSY, SLOT_FILLED };

typedef struct {
  ax_tensor *x, *y;   /* the batch's tensors (main thread) */
  uint8_t *xd, *yd;   /* their data: whoever claimed the slot (BUSY) writes it */
  int64_t b;          /* the batch they are for */
  int state;
} slot;

struct ax_prefetch {
  /* fixed before the thread starts; the worker only reads these */
  ax_tensor *x, *y, *order;   /* retained */
  const uint8_t *xsrc, *ysrc;
  const int64_t *ord;
  size_t xrow, yrow;          /* bytes per row */
  int64_t count, batch, nbatches;
  int depth;
  size_t reserved;            /* bytes of ahead_bytes this gatherer holds */
  bool has_plan;
  ax_aug_plan plan;
  float *scratch[2][2];       /* transform scratch of the worker [0] and the main thread [1] (lazy) */
  size_t scratch_bytes;       /* each: batch * plan.max_sample floats */
  int64_t seed, epoch;
  uint64_t xver, yver;        /* source storage versions at the start */
  /* shared, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_done;
  slot slots[AX_PREFETCH_MAX_DEPTH];
  int64_t fill_next;          /* the next batch nobody has claimed yet */
  bool stop;
  /* main thread only */
  int64_t armed;              /* batches [0, armed) have had tensors allocated */
  int64_t taken;              /* batches [0, taken) have been handed out */
  bool started;
  pthread_t th;
};

static int64_t batch_len(const ax_prefetch *p, int64_t b) {
  int64_t start = b * p->batch;
  return p->count - start < p->batch ? p->count - start : p->batch;
}

/* Transform scratch of the worker (0, made before it starts) or the main thread (1, made at its
** first steal): a, and b when the plan resamples more than once. */
static bool scratch_new(ax_prefetch *p, int who) {
  if (!p->plan.resizes) return true;
  float *a = ax_malloc_aligned(p->scratch_bytes), *b = p->plan.resizes > 1 ? ax_malloc_aligned(p->scratch_bytes) : NULL;
  if (!a || (p->plan.resizes > 1 && !b)) {
    if (a) ax_free_aligned(a, p->scratch_bytes);
    if (b) ax_free_aligned(b, p->scratch_bytes);
    return false;
  }
  p->scratch[who][0] = a;
  p->scratch[who][1] = b;
  return true;
}

static const uint8_t *data_of(const ax_tensor *t) {
  return (const uint8_t *)t->storage->data + (size_t)t->offset * ax_dtype_size(t->dtype);
}

/* Copy batch b's rows of one source into dst (row order or a contiguous range). */
static void gather(const ax_prefetch *p, const uint8_t *src, size_t row, int64_t b, uint8_t *dst) {
  int64_t start = b * p->batch, len = batch_len(p, b);
  if (!p->ord) {
    memcpy(dst, src + (size_t)start * row, (size_t)len * row);
    return;
  }
  for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * row, src + (size_t)p->ord[start + i] * row, row);
}

/* Batch b into slot s, by the worker (who = 0) or the main thread (1): raw memory only. */
static void fill(ax_prefetch *p, slot *s, int64_t b, int who) {
  float *a = p->scratch[who][0], *c = p->scratch[who][1];
  gather(p, p->xsrc, p->xrow, b, p->has_plan && p->plan.resizes ? (uint8_t *)a : s->xd);
  if (p->ysrc) gather(p, p->ysrc, p->yrow, b, s->yd);
  if (p->has_plan) {
    uint64_t rs = ax_data_batch_stream(p->seed, p->epoch, b);
    ax_data_plan_run(&p->plan, batch_len(p, b), a, c, (float *)s->xd, &rs);
  }
}

static void *worker(void *arg) {
  ax_prefetch *p = arg;
  /* SCHED_BATCH: waking up does not preempt the training threads (main, the op pool, BLAS);
  ** the worker runs on cycles they leave. No privilege needed; without it nothing changes. */
  struct sched_param sp = {0};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
  pthread_mutex_lock(&p->mu);
  for (;;) {
    slot *s = NULL;
    while (!p->stop && p->fill_next < p->nbatches) {
      s = &p->slots[p->fill_next % p->depth];
      if (s->state == SLOT_ARMED && s->b == p->fill_next) break;
      s = NULL;
      pthread_cond_wait(&p->cv_work, &p->mu);
    }
    if (!s) break;   /* stopped, or every batch is done */
    int64_t b = p->fill_next++;
    s->state = SLOT_BUSY;
    pthread_mutex_unlock(&p->mu);
    fill(p, s, b, 0);
    pthread_mutex_lock(&p->mu);
    s->state = SLOT_FILLED;
    pthread_cond_signal(&p->cv_done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Allocate batch b's tensors and hand them to the worker (main thread). */
static ax_status arm(ax_prefetch *p, int64_t b, ax_err *err) {
  slot *s = &p->slots[b % p->depth];
  int64_t len = batch_len(p, b), shape[AX_MAX_DIMS];
  ax_tensor *x = NULL, *y = NULL;
  ax_status st;
  if (p->has_plan) {
    int64_t s4[4] = {len, p->plan.c, p->plan.oh, p->plan.ow}, s3[3] = {len, p->plan.oh, p->plan.ow};
    st = p->plan.rank3 ? ax_tensor_empty(s3, 3, AX_FLOAT32, AX_CPU, &x, err) : ax_tensor_empty(s4, 4, AX_FLOAT32, AX_CPU, &x, err);
  } else {
    memcpy(shape, p->x->shape, sizeof(int64_t) * (size_t)p->x->ndim);
    shape[0] = len;
    st = ax_tensor_empty(shape, p->x->ndim, p->x->dtype, AX_CPU, &x, err);
  }
  if (!st && p->ysrc) {
    memcpy(shape, p->y->shape, sizeof(int64_t) * (size_t)p->y->ndim);
    shape[0] = len;
    st = ax_tensor_empty(shape, p->y->ndim, p->y->dtype, AX_CPU, &y, err);
  }
  if (st) {
    ax_tensor_release(x);
    return st;
  }
  pthread_mutex_lock(&p->mu);
  s->x = x;
  s->y = y;
  s->xd = (uint8_t *)data_of(x);
  s->yd = y ? (uint8_t *)data_of(y) : NULL;
  s->b = b;
  s->state = SLOT_ARMED;
  pthread_cond_signal(&p->cv_work);
  pthread_mutex_unlock(&p->mu);
  p->armed = b + 1;
  return AX_OK;
}

/* Arm batches ahead up to the depth; a batch that cannot be allocated now is armed when taken. */
static void arm_ahead(ax_prefetch *p, int64_t taken) {
  ax_err e;
  while (p->armed < p->nbatches && p->armed < taken + p->depth)
    if (arm(p, p->armed, &e)) break;
}

static size_t row_bytes(const ax_tensor *t) {
  return t->shape[0] ? (size_t)(ax_numel(t) / t->shape[0]) * ax_dtype_size(t->dtype) : 0;
}

/* Reserve room for `depth` batches of `per` bytes ahead, fewer when the budget is short: the depth. */
static int reserve_ahead(int depth, size_t per) {
  size_t cur = atomic_load(&ahead_bytes);
  for (;;) {
    size_t room = MAX_AHEAD_BYTES > cur ? MAX_AHEAD_BYTES - cur : 0;
    size_t fit = per ? room / per : (size_t)depth;
    int d = fit < (size_t)depth ? (int)fit : depth;
    if (d < 1) return 0;
    if (atomic_compare_exchange_weak(&ahead_bytes, &cur, cur + (size_t)d * per)) return d;
  }
}

ax_prefetch *ax_prefetch_start(ax_prefetch_cfg *cfg) {
  size_t per = (size_t)cfg->batch * (cfg->y ? row_bytes(cfg->y) : 0);
  size_t xper = cfg->plan ? (size_t)(cfg->plan->c * cfg->plan->oh * cfg->plan->ow) * sizeof(float) : row_bytes(cfg->x);
  int depth = cfg->depth < 1 ? 1 : cfg->depth > AX_PREFETCH_MAX_DEPTH ? AX_PREFETCH_MAX_DEPTH : cfg->depth;
  if (!ax_size_mul((size_t)cfg->batch, xper, &xper) || !ax_size_add(per, xper, &per)) return NULL;
  if (atomic_fetch_add(&live, 1) >= MAX_LIVE) {
    atomic_fetch_sub(&live, 1);
    return NULL;
  }
  depth = reserve_ahead(depth, per);
  ax_prefetch *p = depth ? ax_calloc(1, sizeof *p) : NULL;
  if (!p) {
    if (depth) atomic_fetch_sub(&ahead_bytes, (size_t)depth * per);
    atomic_fetch_sub(&live, 1);
    return NULL;
  }
  p->reserved = (size_t)depth * per;
  p->x = ax_tensor_retain(cfg->x);
  p->y = ax_tensor_retain(cfg->y);
  p->order = ax_tensor_retain(cfg->order);
  p->xsrc = data_of(cfg->x);
  p->ysrc = cfg->y ? data_of(cfg->y) : NULL;
  p->ord = cfg->order ? (const int64_t *)data_of(cfg->order) : NULL;
  p->xrow = row_bytes(cfg->x);
  p->yrow = cfg->y ? row_bytes(cfg->y) : 0;
  p->count = cfg->count;
  p->batch = cfg->batch;
  p->nbatches = cfg->nbatches;
  p->depth = depth;
  p->seed = cfg->seed;
  p->epoch = cfg->epoch;
  p->xver = cfg->x->storage->version;
  p->yver = cfg->y ? cfg->y->storage->version : 0;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv_work, NULL);
  pthread_cond_init(&p->cv_done, NULL);
  bool ok = true;
  if (cfg->plan) {
    p->has_plan = true;
    p->plan = *cfg->plan;
    if (p->plan.resizes) {
      ok = ax_size_mul((size_t)p->batch, p->plan.max_sample * sizeof(float), &p->scratch_bytes) &&
           scratch_new(p, 0);
    }
  }
  if (ok) {
    /* the worker takes no signals (SIGINT stays with the main thread, where train() handles it);
    ** it inherits the main thread's floating-point mode (FTZ/DAZ), so transforms round alike */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ok = pthread_create(&p->th, NULL, worker, p) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  if (!ok) {
    p->has_plan = false;   /* the plan stays with the caller */
    ax_prefetch_free(p);
    return NULL;
  }
  p->started = true;
  if (cfg->plan) memset(cfg->plan, 0, sizeof *cfg->plan);
  arm_ahead(p, 0);
  return p;
}

ax_status ax_prefetch_take(ax_prefetch *p, int64_t b, ax_tensor **x, ax_tensor **y, ax_err *err) {
  /* out of order would wait for a batch nobody fills */
  if (b != p->taken || b >= p->nbatches)
    return ax_err_set(err, AX_E_VALUE, "data.loader: batch %lld asked for out of order", (long long)b);
  if (p->armed == b) {
    ax_status st = arm(p, b, err);
    if (st) return st;
  }
  slot *s = &p->slots[b % p->depth];
  pthread_mutex_lock(&p->mu);
  if (s->state == SLOT_ARMED && (!p->has_plan || p->scratch[1][0] || scratch_new(p, 1))) {
    /* not started: the worker fills in order and b is the oldest batch armed, so fill_next == b */
    s->state = SLOT_BUSY;
    p->fill_next = b + 1;
    pthread_mutex_unlock(&p->mu);
    fill(p, s, b, 1);
    pthread_mutex_lock(&p->mu);
    s->state = SLOT_FILLED;
  }
  while (s->state != SLOT_FILLED) pthread_cond_wait(&p->cv_done, &p->mu);
  *x = s->x;
  *y = s->y;
  s->x = s->y = NULL;
  s->state = SLOT_FREE;
  pthread_mutex_unlock(&p->mu);
  p->taken = b + 1;
  arm_ahead(p, b + 1);
  return AX_OK;
}

bool ax_prefetch_stale(const ax_prefetch *p) {
  return p->x->storage->version != p->xver || (p->y && p->y->storage->version != p->yver);
}

void ax_prefetch_free(ax_prefetch *p) {
  if (!p) return;
  if (p->started) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
  }
  for (int i = 0; i < AX_PREFETCH_MAX_DEPTH; i++) {
    ax_tensor_release(p->slots[i].x);
    ax_tensor_release(p->slots[i].y);
  }
  ax_tensor_release(p->x);
  ax_tensor_release(p->y);
  ax_tensor_release(p->order);
  for (int i = 0; i < 4; i++)
    if (p->scratch[i / 2][i % 2]) ax_free_aligned(p->scratch[i / 2][i % 2], p->scratch_bytes);
  if (p->has_plan) ax_data_plan_free(&p->plan);
  pthread_cond_destroy(&p->cv_work);
  pthread_cond_destroy(&p->cv_done);
  pthread_mutex_destroy(&p->mu);
  atomic_fetch_sub(&ahead_bytes, p->reserved);
  ax_free(p, sizeof *p);
  atomic_fetch_sub(&live, 1);
}
