/* runtime/cuda/alloc_cache.h — the caching device allocator's policy, in plain C (no CUDA):
** size classes, free lists, counters. The raw allocator is a callback (cudaMalloc in
** runtime/cuda/backend.cu, a fake in tests/cuda/test_alloc_cache.c), so the bookkeeping is
** tested on machines without a GPU. Invariant: in_use + cached == bytes held from the raw
** allocator; a block is either handed out or on exactly one free list. Not thread-safe: the
** caller holds a lock. */
#ifndef AX_ALLOC_CACHE_H
#define AX_ALLOC_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Size classes: powers of two from 512 B to 1 MiB (waste < 2x on small tensors, 12 lists);
** above 1 MiB, multiples of 2 MiB on one list searched for an exact size (training steps
** re-request the same sizes, so exact reuse hits; no block splitting). */
#define AX_CACHE_MIN_BLOCK 512u
#define AX_CACHE_SMALL_MAX ((size_t)1 << 20)
#define AX_CACHE_LARGE_STEP ((size_t)2 << 20)
#define AX_CACHE_NSMALL 12

typedef struct ax_cache_block { void *p; size_t n; struct ax_cache_block *next; } ax_cache_block;

typedef struct {
  void *(*raw_alloc)(void *user, size_t n);       /* NULL when the memory is not there */
  void (*raw_free)(void *user, void *p, size_t n);
  void *user;
} ax_cache_ops;

typedef struct {
  size_t in_use;        /* bytes handed out (rounded sizes) */
  size_t cached;        /* bytes on the free lists */
  size_t peak_in_use;
  uint64_t raw_allocs, raw_frees, hits, misses, trims;
} ax_cache_stats;

typedef struct {
  ax_cache_ops ops;
  ax_cache_block *small[AX_CACHE_NSMALL];   /* free blocks of class i: 512 << i bytes */
  ax_cache_block *large;                    /* free blocks above 1 MiB, any order */
  ax_cache_block *spare;                    /* unused list nodes (no host malloc in steady state) */
  ax_cache_stats st;
} ax_cache;

void ax_cache_init(ax_cache *c, ax_cache_ops ops);
/* Rounded size of a request (the class it belongs to); 0 on overflow. */
size_t ax_cache_round(size_t n);
/* A block of at least n bytes: from a free list, else from raw_alloc; when raw_alloc fails the
** cache is emptied (ax_cache_trim) and raw_alloc is tried once more. NULL when out of memory. */
void *ax_cache_alloc(ax_cache *c, size_t n);
/* Give back a block from ax_cache_alloc with the same n: it goes on its free list. */
void ax_cache_free(ax_cache *c, void *p, size_t n);
/* Return every cached block to raw_free and free the list nodes (memory pressure, shutdown,
** leak checks: afterwards the cache holds no host memory). */
void ax_cache_trim(ax_cache *c);
/* The same as trim; blocks still in use are the caller's (a leak). */
void ax_cache_fini(ax_cache *c);

#endif
