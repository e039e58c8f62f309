/* tests/cuda/test_alloc_cache.c — the CUDA caching allocator's policy (runtime/cuda/alloc_cache.c)
** over a fake raw allocator, so it runs on machines without a GPU: size classes, reuse without new
** raw allocations in a repeated "training step", counters, trim and retry on raw failure.
** Invariant checked after every step: in_use + cached == bytes held from the fake allocator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_cache.h"
#include "ax_mem.h"

typedef struct { size_t held; int fail_next, fail_always; uint64_t calls; } fake;

static void *fake_alloc(void *u, size_t n) {
  fake *f = u;
  f->calls++;
  if (f->fail_always || f->fail_next) {
    f->fail_next = 0;
    return NULL;
  }
  f->held += n;
  return malloc(n);
}
static void fake_free(void *u, void *p, size_t n) {
  fake *f = u;
  f->held -= n;
  free(p);
}

static int fails;
#define CHECK(c)                                                      \
  do {                                                                \
    if (!(c)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      fails++;                                                        \
    }                                                                 \
  } while (0)

static void invariant(const ax_cache *c, const fake *f) { CHECK(c->st.in_use + c->st.cached == f->held); }

int main(void) {
  /* rounding: 512-byte minimum, powers of two to 1 MiB, then 2 MiB steps */
  CHECK(ax_cache_round(0) == 512);
  CHECK(ax_cache_round(1) == 512);
  CHECK(ax_cache_round(513) == 1024);
  CHECK(ax_cache_round(4096) == 4096);
  CHECK(ax_cache_round((1 << 20)) == (1 << 20));
  CHECK(ax_cache_round((1 << 20) + 1) == (size_t)2 << 20);
  CHECK(ax_cache_round((size_t)5 << 20) == (size_t)6 << 20);
  CHECK(ax_cache_round(SIZE_MAX - 5) == 0);   /* overflow is an error, not a wrap */

  fake f = {0};
  ax_cache c;
  ax_cache_init(&c, (ax_cache_ops){fake_alloc, fake_free, &f});
  CHECK(ax_cache_alloc(&c, SIZE_MAX - 5) == NULL);

  /* a "training step": the same sizes allocated and freed in a different order each time */
  static const size_t sizes[] = {4, 100, 3000, 3000, 65536, 1 << 20, (3 << 20) + 7, 9 << 20, 512, 700};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  void *p[NS];
  uint64_t raw_after_first = 0;
  for (int step = 0; step < 5; step++) {
    for (int i = 0; i < NS; i++) {
      p[i] = ax_cache_alloc(&c, sizes[i]);
      CHECK(p[i] != NULL);
      memset(p[i], step, sizes[i]);   /* the block really has the requested size */
      invariant(&c, &f);
    }
    for (int i = 0; i < NS; i++)
      for (int j = i + 1; j < NS; j++) CHECK(p[i] != p[j]);
    for (int i = 0; i < NS; i++) {
      int k = (i * 7 + step) % NS;   /* permutation of 0..NS-1 (7 and 10 are coprime) */
      ax_cache_free(&c, p[k], sizes[k]);
      invariant(&c, &f);
    }
    if (step == 0) raw_after_first = c.st.raw_allocs;
    CHECK(c.st.in_use == 0);
  }
  CHECK(raw_after_first == NS);
  CHECK(c.st.raw_allocs == NS);            /* steady state: no new raw allocation */
  CHECK(c.st.hits == 4 * NS);
  size_t total = 0;
  for (int i = 0; i < NS; i++) total += ax_cache_round(sizes[i]);
  CHECK(c.st.cached == total);
  CHECK(c.st.peak_in_use == total);

  /* a raw failure empties the cache and retries once */
  void *big = ax_cache_alloc(&c, 64 << 20);
  CHECK(big != NULL);
  ax_cache_free(&c, big, 64 << 20);
  f.fail_next = 1;
  uint64_t trims = c.st.trims;
  void *q = ax_cache_alloc(&c, 33 << 20);   /* no cached block of this class: raw, fails, trim, retry */
  CHECK(q != NULL);
  CHECK(c.st.trims == trims + 1);
  CHECK(c.st.cached == 0);
  invariant(&c, &f);
  ax_cache_free(&c, q, 33 << 20);
  /* raw failure with nothing to give back: NULL, counters unchanged */
  ax_cache_trim(&c);
  f.fail_always = 1;
  size_t in_use = c.st.in_use;
  CHECK(ax_cache_alloc(&c, 1000) == NULL);
  CHECK(c.st.in_use == in_use);
  f.fail_always = 0;
  invariant(&c, &f);
  CHECK(ax_mem_live() == 0);   /* after a trim with nothing in use, no host bookkeeping is left */

  ax_cache_fini(&c);
  CHECK(f.held == 0);
  CHECK(ax_mem_live() == 0);   /* list nodes go back too */
  if (fails) {
    fprintf(stderr, "test_alloc_cache: %d check(s) failed\n", fails);
    return 1;
  }
  printf("test_alloc_cache: ok (%llu raw allocations, %llu hits)\n", (unsigned long long)c.st.raw_allocs,
         (unsigned long long)c.st.hits);
  return 0;
}
