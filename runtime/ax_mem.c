/* runtime/ax_mem.c — counting allocator with a limit and failure injection (see ax_mem.h).
** Counters are atomics because loader threads allocate too. */
#include "ax_mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

size_t ax_mem_live_bytes_;   /* only through __atomic builtins (ax_mem.h reads it inline) */
static _Atomic size_t peak_bytes;
static _Atomic size_t limit_bytes;
static _Atomic uint64_t fail_countdown;   /* 0: off */
static _Atomic int fail_fired;
static _Atomic int env_read;

static void read_env(void) {
  if (atomic_exchange(&env_read, 1)) return;
  const char *s = getenv("ANX_FAIL_ALLOC");
  if (s && *s) atomic_store(&fail_countdown, strtoull(s, NULL, 10));
}

static int admit(size_t size) {
  if (!atomic_load_explicit(&env_read, memory_order_relaxed)) read_env();
  uint64_t c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  if (c) {
    if (c == 1) {
      atomic_store(&fail_countdown, 0);
      atomic_store(&fail_fired, 1);
      return 0;
    }
    atomic_fetch_sub(&fail_countdown, 1);
  }
  size_t lim = atomic_load_explicit(&limit_bytes, memory_order_relaxed);
  if (lim && __atomic_load_n(&ax_mem_live_bytes_, __ATOMIC_RELAXED) + size > lim) return 0;
  return 1;
}

static void count_add(size_t size) {
  size_t now = __atomic_add_fetch(&ax_mem_live_bytes_, size, __ATOMIC_RELAXED);
  size_t pk = atomic_load_explicit(&peak_bytes, memory_order_relaxed);
  while (now > pk && !atomic_compare_exchange_weak(&peak_bytes, &pk, now)) {}
}

static void count_sub(size_t size) { __atomic_sub_fetch(&ax_mem_live_bytes_, size, __ATOMIC_RELAXED); }

void *ax_malloc(size_t size) {
  if (size == 0) size = 1;
  if (!admit(size)) return NULL;
  void *p = malloc(size);
  if (p) count_add(size);
  return p;
}

void *ax_calloc(size_t n, size_t size) {
  size_t total;
  if (!ax_size_mul(n, size, &total)) return NULL;
  if (total == 0) total = 1;
  if (!admit(total)) return NULL;
  void *p = calloc(1, total);
  if (p) count_add(total);
  return p;
}

void *ax_realloc(void *p, size_t old_size, size_t new_size) {
  if (!p) return ax_malloc(new_size);
  if (new_size == 0) new_size = 1;
  if (new_size > old_size && !admit(new_size - old_size)) return NULL;
  void *q = realloc(p, new_size);
  if (!q) return NULL;
  if (new_size > old_size) count_add(new_size - old_size);
  else count_sub(old_size - new_size);
  return q;
}

void ax_free(void *p, size_t size) {
  if (!p) return;
  if (size == 0) size = 1;
  count_sub(size);
  free(p);
}

void *ax_malloc_aligned(size_t size) {
  if (size == 0) size = 1;
  size_t rounded;
  if (!ax_size_add(size, 63, &rounded)) return NULL;
  rounded &= ~(size_t)63;
  if (!admit(rounded)) return NULL;
  void *p = aligned_alloc(64, rounded);
  if (p) count_add(rounded);
  return p;
}

void ax_free_aligned(void *p, size_t size) {
  if (!p) return;
  if (size == 0) size = 1;
  count_sub((size + 63) & ~(size_t)63);
  free(p);
}

size_t ax_mem_live(void) { return ax_mem_live_now(); }
size_t ax_mem_peak(void) { return atomic_load(&peak_bytes); }
void ax_mem_set_limit(size_t bytes) { atomic_store(&limit_bytes, bytes); }
size_t ax_mem_limit(void) { return atomic_load(&limit_bytes); }
void ax_mem_fail_at(uint64_t n) {
  atomic_store(&env_read, 1);
  atomic_store(&fail_fired, 0);
  atomic_store(&fail_countdown, n);
}
int ax_mem_injected_failure(void) { return atomic_load(&fail_fired); }
