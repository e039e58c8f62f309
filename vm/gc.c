/* vm/gc.c — precise mark-sweep collector.  Roots: the value stack, frames, open upvalues,
** handlers' error value, the prelude, loaded modules, method tables, the native root stack.
** Invariant: runs only at safe points (dispatch loop), never inside a native; a gray stack
** (not recursion) keeps deep structures from overflowing the C stack. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "ax_mem.h"
#include "ax_vmint.h"

void ax_intern_forget(ax_vm *vm, ax_string *s);

static void blacken(ax_vm *vm, ax_obj *o);

static void mark_obj(ax_vm *vm, ax_obj *o) {
  if (!o || o->marked) return;
  o->marked = 1;
  if (o->kind == AX_O_STRING || o->kind == AX_O_RANGE) return;
  if (vm->ngray == vm->gray_cap) {
    int ncap = vm->gray_cap ? vm->gray_cap * 2 : 256;
    /* the gray stack is the collector's own bookkeeping: plain realloc keeps it out of the
    ** failure injection so a collection can always finish */
    ax_obj **ng = realloc(vm->gray, sizeof(ax_obj *) * (size_t)ncap);
    if (!ng) { blacken(vm, o); return; }   /* no room: mark this one recursively */
    vm->gray = ng;
    vm->gray_cap = ncap;
  }
  vm->gray[vm->ngray++] = o;
}

void ax_vm_mark_value(ax_vm *vm, ax_value v) {
  if (v.type == AX_V_OBJ) mark_obj(vm, v.as.o);
}

static void mark_table(ax_vm *vm, ax_table *t) {
  for (uint32_t i = 0; i < t->used; i++) {
    ax_entry *e = &t->entries[i];
    if (e->key.type == AX_V_UNDEF) continue;
    ax_vm_mark_value(vm, e->key);
    ax_vm_mark_value(vm, e->val);
  }
}

static void blacken(ax_vm *vm, ax_obj *o) {
  switch ((ax_okind)o->kind) {
  case AX_O_STRING: case AX_O_RANGE: break;
  case AX_O_LIST: {
    ax_list *l = (ax_list *)o;
    for (int64_t i = 0; i < l->len; i++) ax_vm_mark_value(vm, l->items[i]);
    break;
  }
  case AX_O_MAP: mark_table(vm, &((ax_map *)o)->t); break;
  case AX_O_SLICE: {
    ax_slice_obj *s = (ax_slice_obj *)o;
    ax_vm_mark_value(vm, s->start); ax_vm_mark_value(vm, s->stop); ax_vm_mark_value(vm, s->step);
    break;
  }
  case AX_O_PROTO: {
    ax_proto *p = (ax_proto *)o;
    for (int i = 0; i < p->nconsts; i++) ax_vm_mark_value(vm, p->consts[i]);
    mark_obj(vm, (ax_obj *)p->name);
    mark_obj(vm, (ax_obj *)p->module);
    if (p->param_names)
      for (int i = 0; i < p->nparams; i++) mark_obj(vm, (ax_obj *)p->param_names[i]);
    break;
  }
  case AX_O_CLOSURE: {
    ax_closure *c = (ax_closure *)o;
    mark_obj(vm, (ax_obj *)c->proto);
    for (int i = 0; i < c->nupvals; i++) mark_obj(vm, (ax_obj *)c->upvals[i]);
    break;
  }
  case AX_O_UPVAL: ax_vm_mark_value(vm, ((ax_upval *)o)->closed); break;
  case AX_O_NATIVE: mark_obj(vm, (ax_obj *)((ax_native *)o)->name); break;
  case AX_O_BOUND: ax_vm_mark_value(vm, ((ax_bound *)o)->self); ax_vm_mark_value(vm, ((ax_bound *)o)->method); break;
  case AX_O_ERROR: {
    ax_error *e = (ax_error *)o;
    mark_obj(vm, (ax_obj *)e->message); mark_obj(vm, (ax_obj *)e->kind);
    mark_obj(vm, (ax_obj *)e->file); mark_obj(vm, (ax_obj *)e->trace);
    ax_vm_mark_value(vm, e->value);
    break;
  }
  case AX_O_MODULE: {
    ax_module *m = (ax_module *)o;
    mark_obj(vm, (ax_obj *)m->name);
    mark_obj(vm, (ax_obj *)m->path);
    mark_table(vm, &m->names);
    for (int i = 0; i < m->nvars; i++) ax_vm_mark_value(vm, m->vars[i]);
    break;
  }
  case AX_O_FOREIGN: {
    ax_foreign *f = (ax_foreign *)o;
    if (f->cls && f->cls->mark) f->cls->mark(vm, f->data);
    break;
  }
  }
}

void ax_gc_collect(ax_vm *vm) {
  /* roots */
  for (ax_value *v = vm->stack; v < vm->sp; v++) ax_vm_mark_value(vm, *v);
  for (int i = 0; i < vm->nframes; i++) mark_obj(vm, (ax_obj *)vm->frames[i].closure);
  for (ax_upval *u = vm->open_upvals; u; u = u->next_open) mark_obj(vm, (ax_obj *)u);
  for (int i = 0; i < vm->nroots; i++) ax_vm_mark_value(vm, vm->roots[i]);
  ax_vm_mark_value(vm, vm->error);
  mark_obj(vm, (ax_obj *)vm->builtins);
  mark_obj(vm, (ax_obj *)vm->main_module);
  mark_obj(vm, (ax_obj *)vm->argv);
  mark_table(vm, &vm->modules);
  for (int k = 0; k <= AX_O_SLICE; k++) mark_table(vm, &vm->methods[k]);
  ax_string **names[] = {&vm->s_init, &vm->s_message, &vm->s_kind, &vm->s_line, &vm->s_col,
                         &vm->s_file, &vm->s_trace, &vm->s_main, &vm->s_name,
                         &vm->s_oom, &vm->s_memory};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) mark_obj(vm, (ax_obj *)*names[i]);
  while (vm->ngray > 0) blacken(vm, vm->gray[--vm->ngray]);
  /* sweep */
  ax_obj **link = &vm->objects;
  while (*link) {
    ax_obj *o = *link;
    if (o->marked) {
      o->marked = 0;
      link = &o->next;
    } else {
      *link = o->next;
      if (o->kind == AX_O_STRING) ax_intern_forget(vm, (ax_string *)o);
      ax_obj_free(vm, o);
    }
  }
  size_t live = vm->heap_bytes + (vm->pressure > 0 ? (size_t)vm->pressure : 0);
  ax_cpu_cache_trim();   /* blocks no allocation took since the last collection go back */
  size_t all = ax_gc_tensor_bytes();   /* tensors (host and device) and autograd graphs too */
  if (all > live) live = all;
  /* Collect again after as many new bytes as the GC heap holds (at least 2 MB). A collection's
  ** cost is the marking and sweeping of heap objects, so this keeps it O(1) per allocated byte,
  ** while the bytes that matter with tensors (datasets, parameters: big buffers behind a few small
  ** objects) no longer scale the slack: with 220 MB of Fashion-MNIST live, a live/4 slack let 55 MB
  ** of dead batches wait for a collection. The 2 MB floor (8 MB before) bounds the dead batches a
  ** training loop holds; with a small heap a collection costs tens of microseconds. */
  size_t slack = vm->heap_bytes < ((size_t)2 << 20) ? ((size_t)2 << 20) : vm->heap_bytes;
  vm->next_gc = live + slack;
  vm->gc_base = live;
  /* under a memory limit, collect before garbage alone could exhaust it */
  size_t lim = ax_mem_limit();
  if (lim && vm->next_gc > lim / 2) vm->next_gc = lim / 2;
  if (vm->gc_stress) vm->next_gc = 0;
}

void ax_gc_phase(ax_vm *vm) {
  size_t used = vm->heap_bytes + (vm->pressure > 0 ? (size_t)vm->pressure : 0);
  size_t all = ax_gc_tensor_bytes();
  if (all > used) used = all;
  if (used > vm->gc_base + ((size_t)1 << 20) && !vm->gc_paused) ax_gc_collect(vm);
  ax_cpu_cache_clear();   /* the blocks cached for the last phase's sizes (training's, at an evaluation) */
#ifdef __GLIBC__
  malloc_trim(0);         /* and the pages they leave free inside malloc's heap go back to the system */
#endif
}

void ax_vm_add_pressure(ax_vm *vm, long long bytes) {
  vm->pressure += bytes;   /* compared with next_gc at the next safe point */
}
