/* runtime/cuda/alloc_cache.c — caching allocator policy (see alloc_cache.h): plain C so that
** tests/cuda/test_alloc_cache.c checks it with a fake raw allocator on CPU-only machines.
** Invariant: st.in_use + st.cached == sum of sizes held from raw_alloc. */
#include "alloc_cache.h"

#include "../ax_mem.h"

void ax_cache_init(ax_cache *c, ax_cache_ops ops) {
  *c = (ax_cache){0};
  c->ops = ops;
}

static int small_class(size_t n) {   /* n already rounded, <= SMALL_MAX */
  int i = 0;
  while (((size_t)AX_CACHE_MIN_BLOCK << i) < n) i++;
  return i;
}

size_t ax_cache_round(size_t n) {
  if (n <= AX_CACHE_MIN_BLOCK) return AX_CACHE_MIN_BLOCK;
  if (n <= AX_CACHE_SMALL_MAX) {
    size_t r = AX_CACHE_MIN_BLOCK;
    while (r < n) r <<= 1;
    return r;
  }
  size_t q = n / AX_CACHE_LARGE_STEP + (n % AX_CACHE_LARGE_STEP != 0), r;
  return ax_size_mul(q, AX_CACHE_LARGE_STEP, &r) ? r : 0;
}

static ax_cache_block *node_get(ax_cache *c) {
  ax_cache_block *b = c->spare;
  if (b) {
    c->spare = b->next;
    return b;
  }
  return ax_malloc(sizeof *b);
}

static void node_put(ax_cache *c, ax_cache_block *b) {
  b->next = c->spare;
  c->spare = b;
}

static void took(ax_cache *c, size_t n) {
  c->st.in_use += n;
  if (c->st.in_use > c->st.peak_in_use) c->st.peak_in_use = c->st.in_use;
}

void *ax_cache_alloc(ax_cache *c, size_t n) {
  size_t r = ax_cache_round(n);
  if (!r) return NULL;
  ax_cache_block **head = r <= AX_CACHE_SMALL_MAX ? &c->small[small_class(r)] : &c->large;
  for (ax_cache_block **pp = head; *pp; pp = &(*pp)->next)
    if ((*pp)->n == r) {
      ax_cache_block *b = *pp;
      void *p = b->p;
      *pp = b->next;
      node_put(c, b);
      c->st.cached -= r;
      c->st.hits++;
      took(c, r);
      return p;
    }
  c->st.misses++;
  void *p = c->ops.raw_alloc(c->ops.user, r);
  if (!p && c->st.cached) {   /* memory tight: give the cache back and retry once */
    ax_cache_trim(c);
    p = c->ops.raw_alloc(c->ops.user, r);
  }
  if (!p) return NULL;
  c->st.raw_allocs++;
  took(c, r);
  return p;
}

void ax_cache_free(ax_cache *c, void *p, size_t n) {
  if (!p) return;
  size_t r = ax_cache_round(n);
  c->st.in_use -= r;
  ax_cache_block *b = node_get(c);
  if (!b) {   /* no host memory for a list node: hand the block back instead of caching it */
    c->ops.raw_free(c->ops.user, p, r);
    c->st.raw_frees++;
    return;
  }
  b->p = p;
  b->n = r;
  ax_cache_block **head = r <= AX_CACHE_SMALL_MAX ? &c->small[small_class(r)] : &c->large;
  b->next = *head;
  *head = b;
  c->st.cached += r;
}

static void drain(ax_cache *c, ax_cache_block **head) {
  while (*head) {
    ax_cache_block *b = *head;
    *head = b->next;
    c->ops.raw_free(c->ops.user, b->p, b->n);
    c->st.raw_frees++;
    c->st.cached -= b->n;
    node_put(c, b);
  }
}

void ax_cache_trim(ax_cache *c) {
  for (int i = 0; i < AX_CACHE_NSMALL; i++) drain(c, &c->small[i]);
  drain(c, &c->large);
  while (c->spare) {   /* the list nodes go too: after a trim the cache holds no host memory */
    ax_cache_block *b = c->spare;
    c->spare = b->next;
    ax_free(b, sizeof *b);
  }
  c->st.trims++;
}

void ax_cache_fini(ax_cache *c) { ax_cache_trim(c); }
