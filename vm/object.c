/* vm/object.c — allocation of heap objects (the GC's choke point), interned strings, lists,
** maps, ranges, prototypes, closures, modules and errors.
** Invariant: vm->heap_bytes equals the bytes of every live object and the arrays it owns. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_vmint.h"

void *ax_gc_alloc(ax_vm *vm, size_t size, ax_okind kind) {
  ax_obj *o = ax_malloc(size);
  if (!o) return NULL;
  memset(o, 0, size);
  o->kind = (uint8_t)kind;
  o->next = vm->objects;
  vm->objects = o;
  vm->heap_bytes += size;
  return o;
}

/* ---- strings: FNV-1a, interned in an open-addressing set ---- */

static uint32_t hash_bytes(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) { h ^= (uint8_t)s[i]; h *= 16777619u; }
  return h;
}

static bool intern_grow(ax_vm *vm) {
  uint32_t ncap = vm->strings.cap ? vm->strings.cap * 2 : 256;
  ax_string **ns = ax_calloc(ncap, sizeof(ax_string *));
  if (!ns) return false;
  for (uint32_t i = 0; i < vm->strings.cap; i++) {
    ax_string *s = vm->strings.slots[i];
    if (!s || s == (ax_string *)1) continue;
    uint32_t j = s->hash & (ncap - 1);
    while (ns[j]) j = (j + 1) & (ncap - 1);
    ns[j] = s;
  }
  ax_free(vm->strings.slots, sizeof(ax_string *) * vm->strings.cap);
  vm->strings.slots = ns;
  vm->strings.cap = ncap;
  /* tombstones are gone now */
  uint32_t cnt = 0;
  for (uint32_t i = 0; i < ncap; i++) cnt += ns[i] != NULL;
  vm->strings.count = cnt;
  return true;
}

ax_string *ax_str_new(ax_vm *vm, const char *s, size_t len) {
  uint32_t h = hash_bytes(s, len);
  if (vm->strings.cap) {
    uint32_t mask = vm->strings.cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
      ax_string *e = vm->strings.slots[i];
      if (!e) break;
      if (e != (ax_string *)1 && e->hash == h && e->len == len && memcmp(e->chars, s, len) == 0) {
        e->obj.marked = e->obj.marked;   /* found */
        return e;
      }
    }
  }
  if ((vm->strings.count + 1) * 4 > vm->strings.cap * 3 && !intern_grow(vm)) return NULL;
  ax_string *str = ax_gc_alloc(vm, sizeof(ax_string) + len + 1, AX_O_STRING);
  if (!str) return NULL;
  memcpy(str->chars, s, len);
  str->chars[len] = 0;
  str->len = len;
  str->hash = h;
  uint32_t mask = vm->strings.cap - 1, i = h & mask;
  while (vm->strings.slots[i] && vm->strings.slots[i] != (ax_string *)1) i = (i + 1) & mask;
  if (!vm->strings.slots[i]) vm->strings.count++;
  vm->strings.slots[i] = str;
  return str;
}

/* Called by the sweep for an unmarked string: leave a tombstone in the intern set. */
void ax_intern_forget(ax_vm *vm, ax_string *s);
void ax_intern_forget(ax_vm *vm, ax_string *s) {
  uint32_t mask = vm->strings.cap - 1;
  for (uint32_t i = s->hash & mask;; i = (i + 1) & mask) {
    ax_string *e = vm->strings.slots[i];
    if (!e) return;
    if (e == s) { vm->strings.slots[i] = (ax_string *)1; return; }
  }
}

ax_string *ax_str_cstr(ax_vm *vm, const char *s) { return ax_str_new(vm, s, strlen(s)); }

ax_value ax_str_value(ax_vm *vm, const char *s) {
  ax_string *str = ax_str_cstr(vm, s);
  if (!str) { ax_vm_oom(vm); return AX_NIL; }
  return ax_obj_value(str);
}

ax_string *ax_str_fmt(ax_vm *vm, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  if ((size_t)n < sizeof small) return ax_str_new(vm, small, (size_t)n);
  char *big = ax_malloc((size_t)n + 1);
  if (!big) return NULL;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  ax_string *s = ax_str_new(vm, big, (size_t)n);
  ax_free(big, (size_t)n + 1);
  return s;
}

/* ---- lists, maps, ranges, slices ---- */

ax_list *ax_list_new(ax_vm *vm, int64_t cap) {
  ax_list *l = ax_gc_alloc(vm, sizeof(ax_list), AX_O_LIST);
  if (!l) return NULL;
  /* items is never NULL (even empty lists own a small array), so copies of 0 items are valid */
  if (!ax_list_reserve(vm, l, cap > 0 ? cap : 1)) return NULL;
  return l;
}

bool ax_list_reserve(ax_vm *vm, ax_list *l, int64_t cap) {
  if (cap <= l->cap) return true;
  int64_t ncap = l->cap ? l->cap : 4;
  while (ncap < cap) ncap *= 2;
  size_t bytes;
  if (!ax_size_mul((size_t)ncap, sizeof(ax_value), &bytes)) return false;
  ax_value *ni = ax_realloc(l->items, sizeof(ax_value) * (size_t)l->cap, bytes);
  if (!ni) return false;
  vm->heap_bytes += bytes - sizeof(ax_value) * (size_t)l->cap;
  l->items = ni;
  l->cap = ncap;
  return true;
}

bool ax_list_push(ax_vm *vm, ax_list *l, ax_value v) {
  if (l->len == l->cap && !ax_list_reserve(vm, l, l->len + 1)) return false;
  l->items[l->len++] = v;
  return true;
}

ax_map *ax_map_new(ax_vm *vm) {
  ax_map *m = ax_gc_alloc(vm, sizeof(ax_map), AX_O_MAP);
  if (m) ax_table_init(&m->t);
  return m;
}

bool ax_map_set(ax_vm *vm, ax_map *m, ax_value key, ax_value val) {
  size_t before = ax_table_bytes(&m->t);
  if (ax_table_set(&m->t, key, val) < 0) return false;
  vm->heap_bytes += ax_table_bytes(&m->t) - before;
  return true;
}

bool ax_map_set_str(ax_vm *vm, ax_map *m, const char *key, ax_value val) {
  ax_string *k = ax_str_cstr(vm, key);
  return k && ax_map_set(vm, m, ax_obj_value(k), val);
}

bool ax_map_get_str(ax_vm *vm, ax_map *m, const char *key, ax_value *out) {
  ax_string *k = ax_str_cstr(vm, key);
  return k && ax_table_get_str(&m->t, k, out);
}

ax_range *ax_range_new(ax_vm *vm, int64_t a, int64_t b, int64_t step) {
  ax_range *r = ax_gc_alloc(vm, sizeof(ax_range), AX_O_RANGE);
  if (r) { r->start = a; r->stop = b; r->step = step; }
  return r;
}

/* Number of values in a range, computed without signed overflow (saturates at INT64_MAX). */
int64_t ax_range_len(const ax_range *r) {
  uint64_t span, step;
  if (r->step > 0) {
    if (r->stop <= r->start) return 0;
    span = (uint64_t)r->stop - (uint64_t)r->start;
    step = (uint64_t)r->step;
  } else {
    if (r->start <= r->stop) return 0;
    span = (uint64_t)r->start - (uint64_t)r->stop;
    step = (uint64_t)0 - (uint64_t)r->step;
  }
  uint64_t n = span / step + (span % step != 0);
  return n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n;
}

ax_slice_obj *ax_slice_new(ax_vm *vm, ax_value a, ax_value b, ax_value c) {
  ax_slice_obj *s = ax_gc_alloc(vm, sizeof(ax_slice_obj), AX_O_SLICE);
  if (s) { s->start = a; s->stop = b; s->step = c; }
  return s;
}

bool ax_slice_parts(ax_value v, ax_value *start, ax_value *stop, ax_value *step) {
  if (!ax_is_kind(v, AX_O_SLICE)) return false;
  ax_slice_obj *s = (ax_slice_obj *)v.as.o;
  *start = s->start; *stop = s->stop; *step = s->step;
  return true;
}

/* ---- functions ---- */

ax_proto *ax_proto_new(ax_vm *vm, ax_module *m, ax_string *name) {
  ax_proto *p = ax_gc_alloc(vm, sizeof(ax_proto), AX_O_PROTO);
  if (p) { p->name = name; p->module = m; }
  return p;
}

ax_closure *ax_closure_new(ax_vm *vm, ax_proto *p) {
  ax_closure *c = ax_gc_alloc(vm, sizeof(ax_closure) + sizeof(ax_upval *) * (size_t)p->nupvals, AX_O_CLOSURE);
  if (c) { c->proto = p; c->nupvals = p->nupvals; }
  return c;
}

ax_upval *ax_upval_new(ax_vm *vm, ax_value *slot) {
  ax_upval *u = ax_gc_alloc(vm, sizeof(ax_upval), AX_O_UPVAL);
  if (u) { u->loc = slot; u->closed = AX_NIL; }
  return u;
}

int ax_proto_line(const ax_proto *p, int pc, int *col) {
  int lo = 0, hi = p->nlines - 1, best = 0;
  if (hi < 0) { if (col) *col = 0; return 0; }
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (p->lines[mid].pc <= pc) { best = mid; lo = mid + 1; }
    else hi = mid - 1;
  }
  if (col) *col = p->lines[best].col;
  return p->lines[best].line;
}

ax_value ax_native_new(ax_vm *vm, const char *name, ax_native_fn fn, int arity, void *ud) {
  ax_string *nm = ax_str_cstr(vm, name);
  if (!nm) return AX_NIL;
  ax_native *n = ax_gc_alloc(vm, sizeof(ax_native), AX_O_NATIVE);
  if (!n) return AX_NIL;
  n->fn = fn; n->arity = arity; n->name = nm; n->ud = ud;
  return ax_obj_value(n);
}

ax_value ax_bound_new(ax_vm *vm, ax_value self, ax_value method) {
  ax_bound *b = ax_gc_alloc(vm, sizeof(ax_bound), AX_O_BOUND);
  if (!b) return AX_NIL;
  b->self = self;
  b->method = method;
  return ax_obj_value(b);
}

ax_value ax_foreign_new(ax_vm *vm, const ax_foreign_class *cls, void *data) {
  ax_foreign *f = ax_gc_alloc(vm, sizeof(ax_foreign), AX_O_FOREIGN);
  if (!f) { ax_vm_oom(vm); return AX_NIL; }
  f->cls = cls;
  f->data = data;
  return ax_obj_value(f);
}

void *ax_foreign_data(ax_value v, const ax_foreign_class *cls) {
  if (!AX_IS_FOREIGN(v)) return NULL;
  ax_foreign *f = AX_AS_FOREIGN(v);
  return f->cls == cls ? f->data : NULL;
}

/* ---- modules ---- */

ax_module *ax_module_new(ax_vm *vm, ax_string *name) {
  ax_module *m = ax_gc_alloc(vm, sizeof(ax_module), AX_O_MODULE);
  if (!m) return NULL;
  m->name = name;
  ax_table_init(&m->names);
  return m;
}

int ax_module_find(ax_module *m, ax_string *name) {
  ax_value v;
  if (!ax_table_get_str(&m->names, name, &v)) return -1;
  return (int)v.as.i;
}

int ax_module_declare(ax_vm *vm, ax_module *m, ax_string *name, bool is_const) {
  int slot = ax_module_find(m, name);
  if (slot >= 0) return slot;
  if (m->nvars >= 65535) return -1;
  if (m->nvars == m->vars_cap) {
    /* grow both arrays or neither, so vars_cap always describes both */
    int32_t ncap = m->vars_cap ? m->vars_cap * 2 : 16;
    ax_value *nv = ax_malloc(sizeof(ax_value) * (size_t)ncap);
    uint8_t *nc = ax_malloc((size_t)ncap);
    if (!nv || !nc) {
      ax_free(nv, sizeof(ax_value) * (size_t)ncap);
      ax_free(nc, (size_t)ncap);
      return -1;
    }
    if (m->nvars) {
      memcpy(nv, m->vars, sizeof(ax_value) * (size_t)m->nvars);
      memcpy(nc, m->var_const, (size_t)m->nvars);
    }
    ax_free(m->vars, sizeof(ax_value) * (size_t)m->vars_cap);
    ax_free(m->var_const, (size_t)m->vars_cap);
    m->vars = nv;
    m->var_const = nc;
    vm->heap_bytes += (sizeof(ax_value) + 1) * (size_t)(ncap - m->vars_cap);
    m->vars_cap = ncap;
  }
  size_t before = ax_table_bytes(&m->names);
  if (ax_table_set(&m->names, ax_obj_value(name), ax_int(m->nvars)) < 0) return -1;
  vm->heap_bytes += ax_table_bytes(&m->names) - before;
  m->vars[m->nvars] = AX_UNDEF;
  m->var_const[m->nvars] = is_const;
  return m->nvars++;
}

ax_error *ax_error_obj_new(ax_vm *vm, ax_string *kind, ax_string *msg) {
  ax_error *e = ax_gc_alloc(vm, sizeof(ax_error), AX_O_ERROR);
  if (!e) return NULL;
  e->kind = kind;
  e->message = msg;
  e->value = AX_NIL;
  return e;
}

ax_value ax_error_new(ax_vm *vm, const char *kind, const char *msg) {
  ax_string *k = ax_str_cstr(vm, kind), *m = ax_str_cstr(vm, msg);
  ax_error *e = k && m ? ax_error_obj_new(vm, k, m) : NULL;
  return e ? ax_obj_value(e) : AX_NIL;
}

/* ---- freeing (GC sweep and VM teardown) ---- */

void ax_obj_free(ax_vm *vm, ax_obj *o) {
  size_t sz = 0;
  switch ((ax_okind)o->kind) {
  case AX_O_STRING: sz = sizeof(ax_string) + ((ax_string *)o)->len + 1; break;
  case AX_O_LIST: {
    ax_list *l = (ax_list *)o;
    ax_free(l->items, sizeof(ax_value) * (size_t)l->cap);
    vm->heap_bytes -= sizeof(ax_value) * (size_t)l->cap;
    sz = sizeof(ax_list);
    break;
  }
  case AX_O_MAP: {
    ax_map *m = (ax_map *)o;
    vm->heap_bytes -= ax_table_bytes(&m->t);
    ax_table_fini(&m->t);
    sz = sizeof(ax_map);
    break;
  }
  case AX_O_RANGE: sz = sizeof(ax_range); break;
  case AX_O_SLICE: sz = sizeof(ax_slice_obj); break;
  case AX_O_PROTO: {
    ax_proto *p = (ax_proto *)o;
    size_t np = (size_t)(p->nparams ? p->nparams : 1);
    ax_free(p->code, (size_t)p->code_cap);
    ax_free(p->consts, sizeof(ax_value) * (size_t)p->consts_cap);
    ax_free(p->lines, sizeof(ax_lineinfo) * (size_t)p->lines_cap);
    vm->heap_bytes -= (size_t)p->code_cap + sizeof(ax_value) * (size_t)p->consts_cap +
                      sizeof(ax_lineinfo) * (size_t)p->lines_cap;
    if (p->param_names) { ax_free(p->param_names, np * sizeof(ax_string *)); vm->heap_bytes -= np * sizeof(ax_string *); }
    if (p->param_has_default) { ax_free(p->param_has_default, np); vm->heap_bytes -= np; }
    for (int32_t i = 0; i < p->nlocvars; i++) ax_free(p->locvars[i].name, strlen(p->locvars[i].name) + 1);
    ax_free(p->locvars, sizeof(ax_locvar) * (size_t)p->locvars_cap);
    sz = sizeof(ax_proto);
    break;
  }
  case AX_O_CLOSURE: sz = sizeof(ax_closure) + sizeof(ax_upval *) * (size_t)((ax_closure *)o)->nupvals; break;
  case AX_O_UPVAL: sz = sizeof(ax_upval); break;
  case AX_O_NATIVE: sz = sizeof(ax_native); break;
  case AX_O_BOUND: sz = sizeof(ax_bound); break;
  case AX_O_ERROR: sz = sizeof(ax_error); break;
  case AX_O_MODULE: {
    ax_module *m = (ax_module *)o;
    vm->heap_bytes -= ax_table_bytes(&m->names) + (sizeof(ax_value) + 1) * (size_t)m->vars_cap;
    ax_table_fini(&m->names);
    ax_free(m->vars, sizeof(ax_value) * (size_t)m->vars_cap);
    ax_free(m->var_const, (size_t)m->vars_cap);
    if (m->source) ax_free(m->source, m->srclen + 1);
    sz = sizeof(ax_module);
    break;
  }
  case AX_O_FOREIGN: {
    ax_foreign *f = (ax_foreign *)o;
    if (f->cls && f->cls->finalize) f->cls->finalize(vm, f->data);
    sz = sizeof(ax_foreign);
    break;
  }
  }
  vm->heap_bytes -= sz;
  ax_free(o, sz);
}
