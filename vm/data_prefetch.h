/* vm/data_prefetch.h — the loader's background batch gatherer (vm/data_prefetch.c).
** One thread per pass over a loader gathers the next batches' rows (and runs data.* transforms)
** into tensors the main thread allocated; the main thread takes them in order. */
#ifndef AX_DATA_PREFETCH_H
#define AX_DATA_PREFETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "ax_tensor.h"
#include "data_aug.h"

#define AX_PREFETCH_MAX_DEPTH 8

typedef struct ax_prefetch ax_prefetch;

typedef struct {
  ax_tensor *x, *y;        /* sources: contiguous CPU tensors; y NULL: y is not gathered */
  ax_tensor *order;        /* int64 [count]: the epoch's row order, or NULL: rows in sequence */
  int64_t count;           /* rows per epoch */
  int64_t batch, nbatches; /* the last batch may be short */
  int depth;               /* batches gathered ahead, 1..AX_PREFETCH_MAX_DEPTH */
  ax_aug_plan *plan;       /* data.* transform run on x (float32 sources only), or NULL */
  int64_t seed, epoch;     /* the transform's streams: ax_data_batch_stream(seed, epoch, b) */
} ax_prefetch_cfg;

/* Start gathering batches 0.. of cfg; NULL when no thread can be had (no memory, too many live
** gatherers, pthread_create failed): the caller then makes batches itself. On success the
** gatherer retains the tensors and takes over *cfg->plan (emptied); main thread only. */
ax_prefetch *ax_prefetch_start(ax_prefetch_cfg *cfg);
/* Batch b, which must be the next one in order: *x (transformed when a plan was given) and *y
** (NULL when y is not gathered), both owned by the caller now. A batch the gatherer has not
** started is made here; one it is making is waited for. Fails only when a batch's tensors cannot
** be allocated (or b is out of order). Main thread. */
ax_status ax_prefetch_take(ax_prefetch *p, int64_t b, ax_tensor **x, ax_tensor **y, ax_err *err);
/* true when a source tensor was written since the start: batches gathered ahead may be stale
** (or read while being written) and must be dropped. */
bool ax_prefetch_stale(const ax_prefetch *p);
/* Stop the thread (after the batch it is gathering, if any), join it and release everything. NULL ok. */
void ax_prefetch_free(ax_prefetch *p);

#endif
