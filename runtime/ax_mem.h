/* runtime/ax_mem.h — the one allocation choke point for the runtime and the VM.
** Counts live bytes, enforces an optional limit (--max-memory) and can be told to fail the Nth
** allocation (tests: allocation-failure injection, as in Lua's memerr tests).
** Invariant: every heap block of anx goes through these functions, sized by the caller on free. */
#ifndef AX_MEM_H
#define AX_MEM_H

#include <stddef.h>
#include <stdint.h>

void *ax_malloc(size_t size);                 /* NULL on failure (never aborts) */
void *ax_calloc(size_t n, size_t size);       /* overflow-checked */
void *ax_realloc(void *p, size_t old_size, size_t new_size);
void ax_free(void *p, size_t size);

/* Aligned (64-byte) blocks for tensor data. */
void *ax_malloc_aligned(size_t size);
void ax_free_aligned(void *p, size_t size);

size_t ax_mem_live(void);                      /* bytes currently allocated */
/* The same count read inline (the VM's loop back-edge compares it with the GC trigger). */
extern size_t ax_mem_live_bytes_;
static inline size_t ax_mem_live_now(void) { return __atomic_load_n(&ax_mem_live_bytes_, __ATOMIC_RELAXED); }
size_t ax_mem_peak(void);
void ax_mem_set_limit(size_t bytes);          /* 0 = no limit */
size_t ax_mem_limit(void);
/* Fail the n-th allocation from now on (1 = the next one); 0 turns injection off.
** Also read from the environment variable ANX_FAIL_ALLOC at first use. */
void ax_mem_fail_at(uint64_t n);
int ax_mem_injected_failure(void);             /* 1 once an injected failure has fired */

/* Overflow-checked size arithmetic: return 0 on overflow. */
static inline int ax_size_mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline int ax_size_add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

#endif
