/* vm/table.c — insertion-ordered hash table for maps, module names and method tables.
** Invariant: index[] holds positions into entries[] (-1 empty); deleted entries keep their
** index slot (key UNDEF) as a tombstone until the next rebuild. Sizes go through ax_mem. */
#include "ax_object.h"

#include <math.h>
#include <string.h>

#include "ax_mem.h"

void ax_table_init(ax_table *t) { memset(t, 0, sizeof *t); }

void ax_table_fini(ax_table *t) {
  ax_free(t->entries, sizeof(ax_entry) * t->ecap);
  ax_free(t->index, sizeof(int32_t) * t->icap);
  ax_table_init(t);
}

size_t ax_table_bytes(const ax_table *t) { return sizeof(ax_entry) * t->ecap + sizeof(int32_t) * t->icap; }

static uint32_t mix64(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL; x ^= x >> 33;
  return (uint32_t)x;
}

uint32_t ax_value_hash(ax_value v) {
  switch (v.type) {
  case AX_V_NIL: return 0x9e3779b9u;
  case AX_V_BOOL: return v.as.b ? 0x85ebca6bu : 0xc2b2ae35u;
  case AX_V_INT: return mix64((uint64_t)v.as.i);
  case AX_V_FLOAT: {
    double f = v.as.f;
    /* 1.0 and 1 are the same key (they compare equal) */
    if (f == floor(f) && f >= -9.2e18 && f <= 9.2e18) return mix64((uint64_t)(int64_t)f);
    uint64_t bits; memcpy(&bits, &f, sizeof bits);
    return mix64(bits);
  }
  case AX_V_OBJ:
    if (v.as.o->kind == AX_O_STRING) return ((ax_string *)v.as.o)->hash;
    return mix64((uint64_t)(uintptr_t)v.as.o);
  default: return 0;
  }
}

bool ax_key_equal(ax_value a, ax_value b) {
  if (a.type == b.type) {
    switch (a.type) {
    case AX_V_NIL: return true;
    case AX_V_BOOL: return a.as.b == b.as.b;
    case AX_V_INT: return a.as.i == b.as.i;
    case AX_V_FLOAT: return a.as.f == b.as.f;
    case AX_V_OBJ: return a.as.o == b.as.o;   /* strings are interned */
    default: return false;
    }
  }
  if (a.type == AX_V_INT && b.type == AX_V_FLOAT) return (double)a.as.i == b.as.f;
  if (a.type == AX_V_FLOAT && b.type == AX_V_INT) return a.as.f == (double)b.as.i;
  return false;
}

static int32_t find_slot(const ax_table *t, ax_value key, uint32_t h) {
  if (!t->icap) return -1;
  uint32_t mask = t->icap - 1;
  for (uint32_t i = h & mask;; i = (i + 1) & mask) {
    int32_t e = t->index[i];
    if (e < 0) return -1;
    const ax_entry *en = &t->entries[e];
    if (en->hash == h && en->key.type != AX_V_UNDEF && ax_key_equal(en->key, key)) return e;
  }
}

bool ax_table_get(const ax_table *t, ax_value key, ax_value *out) {
  int32_t e = find_slot(t, key, ax_value_hash(key));
  if (e < 0) return false;
  if (out) *out = t->entries[e].val;
  return true;
}

bool ax_table_get_str(const ax_table *t, ax_string *key, ax_value *out) {
  if (!t->icap) return false;
  uint32_t h = key->hash, mask = t->icap - 1;
  for (uint32_t i = h & mask;; i = (i + 1) & mask) {
    int32_t e = t->index[i];
    if (e < 0) return false;
    const ax_entry *en = &t->entries[e];
    if (en->key.type == AX_V_OBJ && en->key.as.o == (ax_obj *)key) {
      if (out) *out = en->val;
      return true;
    }
  }
}

/* Rebuild: drop deleted entries, size the index for `want` live entries. */
static int rebuild(ax_table *t, uint32_t want) {
  uint32_t icap = 8;
  while (icap * 3 / 4 <= want) icap *= 2;
  uint32_t ecap = icap * 3 / 4 + 1;
  ax_entry *ne = ax_malloc(sizeof(ax_entry) * ecap);
  int32_t *ni = ax_malloc(sizeof(int32_t) * icap);
  if (!ne || !ni) {
    ax_free(ne, sizeof(ax_entry) * ecap);
    ax_free(ni, sizeof(int32_t) * icap);
    return -1;
  }
  memset(ni, 0xff, sizeof(int32_t) * icap);
  uint32_t n = 0, mask = icap - 1;
  for (uint32_t k = 0; k < t->used; k++) {
    ax_entry *e = &t->entries[k];
    if (e->key.type == AX_V_UNDEF) continue;
    ne[n] = *e;
    uint32_t i = e->hash & mask;
    while (ni[i] >= 0) i = (i + 1) & mask;
    ni[i] = (int32_t)n++;
  }
  ax_free(t->entries, sizeof(ax_entry) * t->ecap);
  ax_free(t->index, sizeof(int32_t) * t->icap);
  t->entries = ne; t->index = ni; t->ecap = ecap; t->icap = icap; t->used = n; t->count = n;
  return 0;
}

int ax_table_set(ax_table *t, ax_value key, ax_value val) {
  uint32_t h = ax_value_hash(key);
  int32_t e = find_slot(t, key, h);
  if (e >= 0) { t->entries[e].val = val; return 0; }
  if (t->used + 1 > t->ecap || t->used + 1 > t->icap * 3 / 4) {
    if (rebuild(t, t->count + 1) < 0) return -1;
  }
  uint32_t mask = t->icap - 1, i = h & mask;
  while (t->index[i] >= 0) i = (i + 1) & mask;
  t->entries[t->used] = (ax_entry){key, val, h};
  t->index[i] = (int32_t)t->used++;
  t->count++;
  return 1;
}

bool ax_table_remove(ax_table *t, ax_value key) {
  int32_t e = find_slot(t, key, ax_value_hash(key));
  if (e < 0) return false;
  t->entries[e].key = AX_UNDEF;
  t->entries[e].val = AX_NIL;
  t->count--;
  return true;
}

bool ax_table_next(const ax_table *t, uint32_t *pos, ax_entry **out) {
  while (*pos < t->used) {
    ax_entry *e = &t->entries[(*pos)++];
    if (e->key.type != AX_V_UNDEF) { *out = e; return true; }
  }
  return false;
}
