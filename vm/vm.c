/* vm/vm.c — the dispatch loop: one body, computed goto on GCC/Clang (switch otherwise).
** Calls push an ax_frame without heap allocation; errors unwind to the innermost try handler of
** the current run or return false to the caller (a native or the embedder).
** Invariant: ip is saved into the frame (STORE) before anything that can raise or collect. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_vmint.h"

volatile sig_atomic_t ax_interrupted;

enum { CALL_ERR = 0, CALL_DONE, CALL_FRAME };
static int call_value(ax_vm *vm, int argc, ax_list *kwnames, int nkw);
static bool run(ax_vm *vm, int stop_at);

/* ---- errors ---- */

static void build_trace(ax_vm *vm, ax_error *e) {
  ax_buf b = {0};
  int n = vm->nframes;
  for (int i = n - 1; i >= 0; i--) {
    if (n > 24 && i < n - 12 && i >= 12) {
      if (i == n - 13) {
        char tmp[64];
        int w = snprintf(tmp, sizeof tmp, "  ... %d more calls ...\n", n - 24);
        ax_buf_add(&b, tmp, (size_t)w);
      }
      continue;
    }
    ax_frame *f = &vm->frames[i];
    ax_proto *p = f->closure->proto;
    int pc = (int)(f->ip - p->code) - 1;
    if (pc < 0) pc = 0;
    int line = ax_proto_line(p, pc, NULL);
    const char *file = p->module->path ? p->module->path->chars : p->module->name->chars;
    char tmp[512];
    int w = snprintf(tmp, sizeof tmp, "  at %s (%s:%d)\n", p->name->chars, file, line);
    ax_buf_add(&b, tmp, (size_t)(w < (int)sizeof tmp ? w : (int)sizeof tmp - 1));
  }
  if (!b.oom && b.len) e->trace = ax_str_new(vm, b.p, b.len);
  ax_buf_free(&b);
}

/* Attach the location of the innermost frame (its saved ip) and the stack trace. */
static void locate_at(ax_vm *vm, ax_error *e, bool trace) {
  if (e->line > 0 || vm->nframes == 0) return;
  ax_frame *f = &vm->frames[vm->nframes - 1];
  ax_proto *p = f->closure->proto;
  int pc = (int)(f->ip - p->code) - 1;
  if (pc < 0) pc = 0;
  int col = 0;
  e->line = ax_proto_line(p, pc, &col);
  e->col = col;
  e->file = p->module->path ? p->module->path : p->module->name;
  if (trace) build_trace(vm, e);
}

static void locate(ax_vm *vm, ax_error *e) { locate_at(vm, e, true); }

/* When not even the error object can be allocated: one static error with preallocated strings
** (never swept: it is not on the object list), located at the script line (file:line:col and the
** source line, no stack trace: building one allocates). */
static ax_value preallocated_oom(ax_vm *vm) {
  static ax_error oom;
  oom.obj.kind = AX_O_ERROR;
  oom.obj.marked = 1;
  oom.message = vm->s_oom;
  oom.kind = vm->s_memory;
  oom.file = NULL;
  oom.trace = NULL;
  oom.line = oom.col = 0;
  oom.value = AX_NIL;
  locate_at(vm, &oom, false);
  return ax_obj_value(&oom);
}

bool ax_vm_raise(ax_vm *vm, const char *kind, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ax_value e = ax_error_new(vm, kind, msg);
  if (AX_IS_NIL(e)) e = preallocated_oom(vm);
  else locate(vm, AX_AS_ERROR(e));
  vm->error = e;
  if (vm->debugger) ax_debug_error(vm);   /* stops there when nothing will catch it */
  return false;
}

bool ax_vm_oom(ax_vm *vm) { return ax_vm_raise(vm, "memory", "out of memory"); }

bool ax_vm_raise_value(ax_vm *vm, ax_value v) {
  if (ax_is_kind(v, AX_O_ERROR)) {
    locate(vm, AX_AS_ERROR(v));
    vm->error = v;
    if (vm->debugger) ax_debug_error(vm);
    return false;
  }
  ax_string *msg = AX_IS_STRING(v) ? AX_AS_STRING(v) : ax_vm_tostr(vm, v);
  if (!msg) return false;
  ax_error *e = ax_error_obj_new(vm, ax_str_cstr(vm, "error"), msg);
  if (!e || !e->kind) return ax_vm_oom(vm);
  if (!AX_IS_STRING(v)) e->value = v;
  locate(vm, e);
  vm->error = ax_obj_value(e);
  if (vm->debugger) ax_debug_error(vm);
  return false;
}

/* ---- upvalues ---- */

static ax_upval *capture(ax_vm *vm, ax_value *slot) {
  ax_upval *prev = NULL, *u = vm->open_upvals;
  while (u && u->loc > slot) { prev = u; u = u->next_open; }
  if (u && u->loc == slot) return u;
  ax_upval *nu = ax_upval_new(vm, slot);
  if (!nu) return NULL;
  nu->next_open = u;
  if (prev) prev->next_open = nu; else vm->open_upvals = nu;
  return nu;
}

static void close_upvals(ax_vm *vm, ax_value *last) {
  while (vm->open_upvals && vm->open_upvals->loc >= last) {
    ax_upval *u = vm->open_upvals;
    u->closed = *u->loc;
    u->loc = &u->closed;
    vm->open_upvals = u->next_open;
  }
}

/* ---- calls ---- */

static bool push_frame(ax_vm *vm, ax_closure *cl, ax_value *callee_slot) {
  if (vm->nframes >= AX_MAX_FRAMES || callee_slot + cl->proto->max_stack + 8 >= vm->stack_end)
    return ax_vm_raise(vm, "stack", "stack overflow");
  ax_frame *f = &vm->frames[vm->nframes++];
  f->closure = cl;
  f->ip = cl->proto->code;
  f->slots = callee_slot;
  return true;
}

/* Bind arguments of a closure call that is not the plain "argc == nparams" case. */
static bool bind_args(ax_vm *vm, ax_proto *p, ax_value *args, int argc, ax_list *kwnames, int nkw) {
  int np = p->nparams;
  if (argc > np)
    return ax_vm_raise(vm, "type", "%s() takes %d argument%s but %d %s given", p->name->chars, np,
                       np == 1 ? "" : "s", argc + nkw, argc + nkw == 1 ? "was" : "were");
  if (args + np + 8 >= vm->stack_end) return ax_vm_raise(vm, "stack", "stack overflow");
  ax_value tmp[256];
  for (int i = 0; i < np; i++) tmp[i] = i < argc ? args[i] : AX_UNDEF;
  for (int j = 0; j < nkw; j++) {
    ax_string *name = AX_AS_STRING(kwnames->items[j]);
    int idx = -1;
    for (int i = 0; i < np; i++)
      if (p->param_names[i] == name) { idx = i; break; }
    if (idx < 0)
      return ax_vm_raise(vm, "type", "%s() got an unexpected keyword argument '%s'", p->name->chars, name->chars);
    if (!AX_IS_UNDEF(tmp[idx]))
      return ax_vm_raise(vm, "type", "%s() got two values for argument '%s'", p->name->chars, name->chars);
    tmp[idx] = args[argc + j];
  }
  for (int i = 0; i < np; i++) {
    if (AX_IS_UNDEF(tmp[i]) && !p->param_has_default[i])
      return ax_vm_raise(vm, "type", "%s() missing argument '%s'", p->name->chars, p->param_names[i]->chars);
    args[i] = tmp[i];
  }
  vm->sp = args + np;
  return true;
}

bool ax_vm_check_steps(ax_vm *vm) {
  /* Under the debugger, Ctrl-C is the debugger's: its hook runs before the next instruction and
  ** pauses there. Raising here instead lost the pause whenever the signal landed between the hook
  ** and this check (debugger/interrupt failed about one run in fifteen). */
  if (ax_interrupted && !vm->debugger) {
    vm->error_uncatchable = true;
    return ax_vm_raise(vm, "interrupt", "interrupted");
  }
  if (vm->steps_left >= 0) return true;
  if (!vm->max_steps) {   /* no limit: the counter only wrapped its budget */
    vm->steps_left = INT64_MAX;
    return true;
  }
  vm->steps_left = 0;     /* stays exhausted: every later step raises again */
  vm->error_uncatchable = true;
  return ax_vm_raise(vm, "limit", "step limit of %lld exceeded", (long long)vm->max_steps);
}

/* Callee and arguments are at vm->sp[-(argc+nkw)-1 ..]; kw values follow the positionals. */
static int call_value(ax_vm *vm, int argc, ax_list *kwnames, int nkw) {
  ax_value *slot = vm->sp - argc - nkw - 1;
  ax_value f = *slot;
  if ((--vm->steps_left < 0 || ax_interrupted) && !ax_vm_check_steps(vm)) return CALL_ERR;
  if (f.type != AX_V_OBJ) goto not_callable;
  switch (f.as.o->kind) {
  case AX_O_CLOSURE: {
    ax_closure *cl = AX_AS_CLOSURE(f);
    ax_proto *p = cl->proto;
    if (nkw || argc != p->nparams) {
      if (!bind_args(vm, p, slot + 1, argc, kwnames, nkw)) return CALL_ERR;
    }
    return push_frame(vm, cl, slot) ? CALL_FRAME : CALL_ERR;
  }
  case AX_O_NATIVE: {
    ax_native *n = AX_AS_NATIVE(f);
    if (n->arity >= 0 && argc != n->arity) {
      ax_vm_raise(vm, "type", "%s() takes %d argument%s but %d %s given", n->name->chars, n->arity,
                  n->arity == 1 ? "" : "s", argc, argc == 1 ? "was" : "were");
      return CALL_ERR;
    }
    ax_kw kw;
    ax_string *names[256];
    if (nkw) {
      for (int i = 0; i < nkw; i++) names[i] = AX_AS_STRING(kwnames->items[i]);
      kw.n = nkw; kw.names = names; kw.vals = slot + 1 + argc;
    }
    ax_value out = AX_NIL;
    void *saved_ud = vm->native_ud;
    vm->native_ud = n->ud;
    bool ok = n->fn(vm, slot + 1, argc, nkw ? &kw : NULL, &out);
    vm->native_ud = saved_ud;
    if (!ok) return CALL_ERR;
    *slot = out;
    vm->sp = slot + 1;
    return CALL_DONE;
  }
  case AX_O_BOUND: {
    ax_bound *b = (ax_bound *)f.as.o;
    if (vm->sp + 1 >= vm->stack_end) { ax_vm_raise(vm, "stack", "stack overflow"); return CALL_ERR; }
    memmove(slot + 2, slot + 1, sizeof(ax_value) * (size_t)(argc + nkw));
    slot[0] = b->method;
    slot[1] = b->self;
    vm->sp++;
    if (ax_is_kind(b->method, AX_O_NATIVE)) {
      /* a method native: arity does not count self */
      ax_native *n = AX_AS_NATIVE(b->method);
      if (n->arity >= 0 && argc != n->arity) {
        ax_vm_raise(vm, "type", "%s() takes %d argument%s but %d %s given", n->name->chars, n->arity,
                    n->arity == 1 ? "" : "s", argc, argc == 1 ? "was" : "were");
        return CALL_ERR;
      }
      ax_kw kw;
      ax_string *names[256];
      if (nkw) {
        for (int i = 0; i < nkw; i++) names[i] = AX_AS_STRING(kwnames->items[i]);
        kw.n = nkw; kw.names = names; kw.vals = slot + 2 + argc;
      }
      ax_value out = AX_NIL;
      void *saved_ud = vm->native_ud;
      vm->native_ud = n->ud;
      bool ok = n->fn(vm, slot + 1, argc + 1, nkw ? &kw : NULL, &out);
      vm->native_ud = saved_ud;
      if (!ok) return CALL_ERR;
      *slot = out;
      vm->sp = slot + 1;
      return CALL_DONE;
    }
    return call_value(vm, argc + 1, kwnames, nkw);
  }
  case AX_O_FOREIGN: {
    ax_foreign *fo = AX_AS_FOREIGN(f);
    if (!fo->cls->call) goto not_callable;
    ax_kw kw;
    ax_string *names[256];
    if (nkw) {
      for (int i = 0; i < nkw; i++) names[i] = AX_AS_STRING(kwnames->items[i]);
      kw.n = nkw; kw.names = names; kw.vals = slot + 1 + argc;
    }
    ax_value out = AX_NIL;
    int r = fo->cls->call(vm, f, slot + 1, argc, nkw ? &kw : NULL, &out);
    if (r == AX_HOOK_ERR) return CALL_ERR;
    if (r != AX_HOOK_OK) goto not_callable;
    *slot = out;
    vm->sp = slot + 1;
    return CALL_DONE;
  }
  default: break;
  }
not_callable:
  ax_vm_raise(vm, "type", "a value of type '%s' is not callable", ax_type_name(f));
  return CALL_ERR;
}

bool ax_vm_call(ax_vm *vm, ax_value fn, int argc, const ax_value *args, const ax_kw *kw, ax_value *out) {
  int nkw = kw ? kw->n : 0;
  if (vm->cdepth >= AX_MAX_CDEPTH) return ax_vm_raise(vm, "stack", "stack overflow");
  if (vm->sp + argc + nkw + 1 >= vm->stack_end) return ax_vm_raise(vm, "stack", "stack overflow");
  ax_value *base = vm->sp;
  *vm->sp++ = fn;
  for (int i = 0; i < argc; i++) *vm->sp++ = args[i];
  ax_list *names = NULL;
  if (nkw) {
    names = ax_list_new(vm, nkw);
    if (!names) { vm->sp = base; return ax_vm_oom(vm); }
    for (int i = 0; i < nkw; i++) {
      names->items[names->len++] = ax_obj_value(kw->names[i]);
      *vm->sp++ = kw->vals[i];
    }
    ax_vm_push_root(vm, ax_obj_value(names));
  }
  int stop = vm->nframes;
  int r = call_value(vm, argc, names, nkw);
  if (names) ax_vm_pop_root(vm, 1);
  if (r == CALL_ERR) { vm->sp = base; return false; }
  if (r == CALL_FRAME) {
    vm->cdepth++;
    bool ok = run(vm, stop);
    vm->cdepth--;
    if (!ok) { vm->sp = base; vm->nframes = stop; return false; }
  }
  *out = vm->sp[-1];
  vm->sp = base;
  return true;
}

bool ax_vm_call_value(ax_vm *vm, int argc) {
  int stop = vm->nframes;
  int r = call_value(vm, argc, NULL, 0);
  if (r == CALL_ERR) return false;
  if (r == CALL_FRAME) return run(vm, stop);
  return true;
}

void ax_vm_push_root(ax_vm *vm, ax_value v) {
  if (vm->nroots == vm->roots_cap) {
    int ncap = vm->roots_cap ? vm->roots_cap * 2 : 64;
    ax_value *nr = realloc(vm->roots, sizeof(ax_value) * (size_t)ncap);
    if (!nr) {   /* no room to root v: keep everything alive instead, until the matching pop */
      vm->roots_unrooted++;
      vm->gc_paused++;
      return;
    }
    vm->roots = nr;
    vm->roots_cap = ncap;
  }
  vm->roots[vm->nroots++] = v;
}

void ax_vm_pop_root(ax_vm *vm, int n) {
  for (; n > 0; n--) {
    if (vm->roots_unrooted) { vm->roots_unrooted--; vm->gc_paused--; }
    else if (vm->nroots > 0) vm->nroots--;
  }
}
void *ax_vm_native_ud(ax_vm *vm) { return vm->native_ud; }

/* ---- arithmetic and comparison (slow paths) ---- */

static const char *op_sym(int op) {
  static const char *const s[] = {"?", "+", "-", "*", "/", "%", "**", "@", "==", "!=", "<", "<=", ">", ">="};
  return op >= 1 && op <= 13 ? s[op] : "?";
}

static bool foreign_binop(ax_vm *vm, int op, ax_value a, ax_value b, ax_value *out, bool *handled) {
  *handled = false;
  for (int side = 0; side < 2; side++) {
    ax_value f = side ? b : a;
    if (!AX_IS_FOREIGN(f) || !AX_AS_FOREIGN(f)->cls->binop) continue;
    int r = AX_AS_FOREIGN(f)->cls->binop(vm, op, a, b, side, out);
    if (r == AX_HOOK_ERR) { *handled = true; return false; }
    if (r == AX_HOOK_OK) { *handled = true; return true; }
  }
  return false;
}

static bool pow_int(ax_vm *vm, int64_t base, int64_t e, ax_value *out) {
  int64_t r = 1;
  while (e > 0) {
    if (e & 1) { if (__builtin_mul_overflow(r, base, &r)) return ax_vm_raise(vm, "overflow", "integer overflow"); }
    e >>= 1;
    if (e && __builtin_mul_overflow(base, base, &base)) return ax_vm_raise(vm, "overflow", "integer overflow");
  }
  *out = ax_int(r);
  return true;
}

static double py_fmod(double x, double y) {
  double m = fmod(x, y);
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  return m;
}

bool ax_vm_binop(ax_vm *vm, int op, ax_value a, ax_value b, ax_value *out) {
  if (AX_IS_FOREIGN(a) || AX_IS_FOREIGN(b)) {
    bool handled;
    bool ok = foreign_binop(vm, op, a, b, out, &handled);
    if (handled) return ok;
    if (op == AX_FOP_EQ || op == AX_FOP_NE) { *out = ax_bool((a.as.o == b.as.o && a.type == b.type) == (op == AX_FOP_EQ)); return true; }
    return ax_vm_raise(vm, "type", "unsupported operand types for %s: '%s' and '%s'", op_sym(op), ax_type_name(a), ax_type_name(b));
  }
  if (op >= AX_FOP_EQ) {
    if (op == AX_FOP_EQ || op == AX_FOP_NE) {
      bool eq;
      if (!ax_vm_equal(vm, a, b, &eq)) return false;
      *out = ax_bool(eq == (op == AX_FOP_EQ));
      return true;
    }
    int c;
    if (!ax_vm_compare(vm, a, b, &c)) return false;
    /* c == 2: unordered (NaN): every ordering is false, as in IEEE */
    bool r = c != 2 && (op == AX_FOP_LT ? c < 0 : op == AX_FOP_LE ? c <= 0 : op == AX_FOP_GT ? c > 0 : c >= 0);
    *out = ax_bool(r);
    return true;
  }
  if (AX_IS_INT(a) && AX_IS_INT(b)) {
    int64_t x = a.as.i, y = b.as.i, r;
    switch (op) {
    case AX_FOP_ADD: if (__builtin_add_overflow(x, y, &r)) goto ovf; *out = ax_int(r); return true;
    case AX_FOP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto ovf; *out = ax_int(r); return true;
    case AX_FOP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto ovf; *out = ax_int(r); return true;
    case AX_FOP_DIV: if (y == 0) goto divz; *out = ax_float((double)x / (double)y); return true;
    case AX_FOP_MOD:
      if (y == 0) goto divz;
      if (y == -1) { *out = ax_int(0); return true; }
      r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) r += y;
      *out = ax_int(r);
      return true;
    case AX_FOP_POW:
      if (y < 0) { if (x == 0) goto divz; *out = ax_float(pow((double)x, (double)y)); return true; }
      return pow_int(vm, x, y, out);
    default: break;
    }
  } else if (AX_IS_NUM(a) && AX_IS_NUM(b)) {
    double x = ax_num(a), y = ax_num(b);
    switch (op) {
    case AX_FOP_ADD: *out = ax_float(x + y); return true;
    case AX_FOP_SUB: *out = ax_float(x - y); return true;
    case AX_FOP_MUL: *out = ax_float(x * y); return true;
    case AX_FOP_DIV: if (y == 0) goto divz; *out = ax_float(x / y); return true;
    case AX_FOP_MOD: if (y == 0) goto divz; *out = ax_float(py_fmod(x, y)); return true;
    case AX_FOP_POW:
      if (x == 0 && y < 0) goto divz;
      if (x < 0 && y != floor(y)) return ax_vm_raise(vm, "value", "negative number raised to a fractional power");
      *out = ax_float(pow(x, y));
      return true;
    default: break;
    }
  } else if (op == AX_FOP_ADD && AX_IS_STRING(a)) {
    ax_string *sb = AX_IS_STRING(b) ? AX_AS_STRING(b) : ax_vm_tostr(vm, b);
    if (!sb) return false;
    ax_string *sa = AX_AS_STRING(a);
    size_t n = sa->len + sb->len;
    char small[512];
    char *buf = n < sizeof small ? small : ax_malloc(n);
    if (!buf) return ax_vm_oom(vm);
    memcpy(buf, sa->chars, sa->len);
    memcpy(buf + sa->len, sb->chars, sb->len);
    ax_string *s = ax_str_new(vm, buf, n);
    if (buf != small) ax_free(buf, n);
    if (!s) return ax_vm_oom(vm);
    *out = ax_obj_value(s);
    return true;
  } else if (op == AX_FOP_ADD && AX_IS_LIST(a) && AX_IS_LIST(b)) {
    ax_list *la = AX_AS_LIST(a), *lb = AX_AS_LIST(b);
    ax_list *l = ax_list_new(vm, la->len + lb->len);
    if (!l) return ax_vm_oom(vm);
    memcpy(l->items, la->items, sizeof(ax_value) * (size_t)la->len);
    memcpy(l->items + la->len, lb->items, sizeof(ax_value) * (size_t)lb->len);
    l->len = la->len + lb->len;
    *out = ax_obj_value(l);
    return true;
  } else if (op == AX_FOP_MUL && ((AX_IS_STRING(a) && AX_IS_INT(b)) || (AX_IS_LIST(a) && AX_IS_INT(b)))) {
    int64_t times = b.as.i < 0 ? 0 : b.as.i;
    if (AX_IS_STRING(a)) {
      ax_string *s = AX_AS_STRING(a);
      size_t n;
      if (!ax_size_mul(s->len, (size_t)times, &n) || n > ((size_t)1 << 31)) return ax_vm_oom(vm);
      char *buf = ax_malloc(n + 1);
      if (!buf) return ax_vm_oom(vm);
      for (int64_t i = 0; i < times; i++) memcpy(buf + (size_t)i * s->len, s->chars, s->len);
      ax_string *r = ax_str_new(vm, buf, n);
      ax_free(buf, n + 1);
      if (!r) return ax_vm_oom(vm);
      *out = ax_obj_value(r);
      return true;
    }
    ax_list *src = AX_AS_LIST(a);
    if (src->len && times > (int64_t)1 << 28) return ax_vm_oom(vm);
    ax_list *l = ax_list_new(vm, src->len * times);
    if (!l) return ax_vm_oom(vm);
    for (int64_t i = 0; i < times; i++)
      for (int64_t j = 0; j < src->len; j++) l->items[l->len++] = src->items[j];
    *out = ax_obj_value(l);
    return true;
  }
  return ax_vm_raise(vm, "type", "unsupported operand types for %s: '%s' and '%s'", op_sym(op),
                     ax_type_name(a), ax_type_name(b));
ovf:
  return ax_vm_raise(vm, "overflow", "integer overflow");
divz:
  return ax_vm_raise(vm, "zero_division", "division by zero");
}

static bool compare_depth(ax_vm *vm, ax_value a, ax_value b, int *out, int depth);
static bool equal_depth(ax_vm *vm, ax_value a, ax_value b, bool *out, int depth);

bool ax_vm_compare(ax_vm *vm, ax_value a, ax_value b, int *out) { return compare_depth(vm, a, b, out, 0); }
bool ax_vm_equal(ax_vm *vm, ax_value a, ax_value b, bool *out) { return equal_depth(vm, a, b, out, 0); }

static bool compare_depth(ax_vm *vm, ax_value a, ax_value b, int *out, int depth) {
  if (AX_IS_INT(a) && AX_IS_INT(b)) { *out = (a.as.i > b.as.i) - (a.as.i < b.as.i); return true; }
  if (AX_IS_NUM(a) && AX_IS_NUM(b)) {
    double x = ax_num(a), y = ax_num(b);
    if (x != x || y != y) { *out = 2; return true; }   /* NaN: every ordering is false */
    *out = (x > y) - (x < y);
    return true;
  }
  if (AX_IS_STRING(a) && AX_IS_STRING(b)) {
    ax_string *x = AX_AS_STRING(a), *y = AX_AS_STRING(b);
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->chars, y->chars, n);
    *out = c ? (c > 0) - (c < 0) : (x->len > y->len) - (x->len < y->len);
    return true;
  }
  if (AX_IS_LIST(a) && AX_IS_LIST(b)) {
    ax_list *x = AX_AS_LIST(a), *y = AX_AS_LIST(b);
    for (int64_t i = 0; i < x->len && i < y->len; i++) {
      int c;
      if (depth > 200) return ax_vm_raise(vm, "value", "comparison nested too deeply (a list that contains itself?)");
      if (!compare_depth(vm, x->items[i], y->items[i], &c, depth + 1)) return false;
      if (c) { *out = c; return true; }
    }
    *out = (x->len > y->len) - (x->len < y->len);
    return true;
  }
  return ax_vm_raise(vm, "type", "cannot compare '%s' with '%s'", ax_type_name(a), ax_type_name(b));
}

static bool equal_depth(ax_vm *vm, ax_value a, ax_value b, bool *out, int depth) {
  if (a.type == AX_V_OBJ && b.type == AX_V_OBJ && a.as.o == b.as.o && !AX_IS_FOREIGN(a)) { *out = true; return true; }
  if (depth > 200) return ax_vm_raise(vm, "value", "comparison nested too deeply (a container that contains itself?)");
  if (AX_IS_FOREIGN(a) || AX_IS_FOREIGN(b)) {
    ax_value r;
    bool handled;
    bool ok = foreign_binop(vm, AX_FOP_EQ, a, b, &r, &handled);
    if (handled) {
      if (!ok) return false;
      return ax_vm_truthy(vm, r, out);
    }
    *out = a.type == b.type && a.as.o == b.as.o;
    return true;
  }
  if (AX_IS_LIST(a) && AX_IS_LIST(b)) {
    ax_list *x = AX_AS_LIST(a), *y = AX_AS_LIST(b);
    if (x->len != y->len) { *out = false; return true; }
    for (int64_t i = 0; i < x->len; i++) {
      if (!equal_depth(vm, x->items[i], y->items[i], out, depth + 1)) return false;
      if (!*out) return true;
    }
    *out = true;
    return true;
  }
  if (AX_IS_MAP(a) && AX_IS_MAP(b)) {
    ax_map *x = AX_AS_MAP(a), *y = AX_AS_MAP(b);
    if (x->t.count != y->t.count) { *out = false; return true; }
    uint32_t pos = 0;
    ax_entry *e;
    while (ax_table_next(&x->t, &pos, &e)) {
      ax_value v;
      if (!ax_table_get(&y->t, e->key, &v)) { *out = false; return true; }
      if (!equal_depth(vm, e->val, v, out, depth + 1)) return false;
      if (!*out) return true;
    }
    *out = true;
    return true;
  }
  if (ax_is_kind(a, AX_O_RANGE) && ax_is_kind(b, AX_O_RANGE)) {
    ax_range *x = AX_AS_RANGE(a), *y = AX_AS_RANGE(b);
    *out = x->start == y->start && x->stop == y->stop && x->step == y->step;
    return true;
  }
  *out = ax_key_equal(a, b);
  return true;
}

bool ax_vm_truthy(ax_vm *vm, ax_value v, bool *out) {
  if (AX_IS_FOREIGN(v) && AX_AS_FOREIGN(v)->cls->truthy) {
    int r = AX_AS_FOREIGN(v)->cls->truthy(vm, v, out);
    if (r == AX_HOOK_ERR) return false;
    if (r == AX_HOOK_OK) return true;
  }
  *out = ax_truthy_plain(v);
  return true;
}

/* ---- fields and indexing ---- */

static bool method_lookup(ax_vm *vm, ax_okind kind, ax_string *name, ax_value *out) {
  return ax_table_get_str(&vm->methods[kind], name, out);
}

bool ax_vm_get_field(ax_vm *vm, ax_value obj, ax_string *name, ax_value *out) {
  if (obj.type == AX_V_OBJ) {
    ax_obj *o = obj.as.o;
    ax_value m;
    switch ((ax_okind)o->kind) {
    case AX_O_MAP:
      if (ax_table_get_str(&((ax_map *)o)->t, name, out)) return true;
      if (method_lookup(vm, AX_O_MAP, name, &m)) goto bind;
      return ax_vm_raise(vm, "key", "map has no key \"%s\"", name->chars);
    case AX_O_MODULE: {
      ax_module *mod = (ax_module *)o;
      int slot = ax_module_find(mod, name);
      if (slot >= 0 && !AX_IS_UNDEF(mod->vars[slot])) { *out = mod->vars[slot]; return true; }
      return ax_vm_raise(vm, "name", "module '%s' has no member '%s'", mod->name->chars, name->chars);
    }
    case AX_O_ERROR: {
      ax_error *e = (ax_error *)o;
      if (name == vm->s_message) { *out = ax_obj_value(e->message); return true; }
      if (name == vm->s_kind) { *out = ax_obj_value(e->kind); return true; }
      if (name == vm->s_line) { *out = ax_int(e->line); return true; }
      if (name == vm->s_col) { *out = ax_int(e->col); return true; }
      if (name == vm->s_file) { *out = e->file ? ax_obj_value(e->file) : AX_NIL; return true; }
      if (name == vm->s_trace) { *out = e->trace ? ax_obj_value(e->trace) : AX_NIL; return true; }
      if (strcmp(name->chars, "value") == 0) { *out = e->value; return true; }
      break;
    }
    case AX_O_FOREIGN: {
      ax_foreign *f = (ax_foreign *)o;
      if (f->cls->get_field) {
        int r = f->cls->get_field(vm, obj, name, out);
        if (r == AX_HOOK_ERR) return false;
        if (r == AX_HOOK_OK) return true;
      }
      return ax_vm_raise(vm, "attribute", "'%s' has no member '%s'", f->cls->name, name->chars);
    }
    default:
      if (method_lookup(vm, (ax_okind)o->kind, name, &m)) goto bind;
      break;
    }
    return ax_vm_raise(vm, "attribute", "'%s' has no member '%s'", ax_type_name(obj), name->chars);
  bind:
    *out = ax_bound_new(vm, obj, m);
    if (AX_IS_NIL(*out)) return ax_vm_oom(vm);
    return true;
  }
  return ax_vm_raise(vm, "attribute", "'%s' has no member '%s'", ax_type_name(obj), name->chars);
}

static bool set_field(ax_vm *vm, ax_value obj, ax_string *name, ax_value v) {
  if (AX_IS_MAP(obj)) return ax_map_set(vm, AX_AS_MAP(obj), ax_obj_value(name), v) || ax_vm_oom(vm);
  if (AX_IS_FOREIGN(obj) && AX_AS_FOREIGN(obj)->cls->set_field) {
    int r = AX_AS_FOREIGN(obj)->cls->set_field(vm, obj, name, v);
    if (r == AX_HOOK_ERR) return false;
    if (r == AX_HOOK_OK) return true;
  }
  return ax_vm_raise(vm, "attribute", "cannot set member '%s' on a value of type '%s'", name->chars, ax_type_name(obj));
}

static bool norm_index(ax_vm *vm, ax_value i, int64_t len, int64_t *out, const char *what) {
  if (!AX_IS_INT(i)) {
    if (AX_IS_BOOL(i)) return ax_vm_raise(vm, "type", "%s index must be an int, not bool", what);
    return ax_vm_raise(vm, "type", "%s index must be an int, not '%s'", what, ax_type_name(i));
  }
  int64_t k = i.as.i;
  if (k < 0) k += len;
  if (k < 0 || k >= len)
    return ax_vm_raise(vm, "index", "%s index out of range: %lld (length %lld)", what, (long long)i.as.i, (long long)len);
  *out = k;
  return true;
}

/* Python slice semantics: resolve start/stop/step against len. Returns count. */
static bool slice_bounds(ax_vm *vm, int64_t len, ax_value a, ax_value b, ax_value c, int64_t *start, int64_t *step, int64_t *count) {
  int64_t st = 1;
  if (!AX_IS_NIL(c)) {
    if (!AX_IS_INT(c)) return ax_vm_raise(vm, "type", "slice step must be an int");
    st = c.as.i;
    if (st == 0) return ax_vm_raise(vm, "value", "slice step cannot be zero");
  }
  int64_t lo, hi;
  if (AX_IS_NIL(a)) lo = st > 0 ? 0 : len - 1;
  else {
    if (!AX_IS_INT(a)) return ax_vm_raise(vm, "type", "slice bounds must be ints");
    lo = a.as.i;
    if (lo < 0) lo += len;
    if (lo < 0) lo = st > 0 ? 0 : -1;
    if (lo >= len) lo = st > 0 ? len : len - 1;
  }
  if (AX_IS_NIL(b)) hi = st > 0 ? len : -1;
  else {
    if (!AX_IS_INT(b)) return ax_vm_raise(vm, "type", "slice bounds must be ints");
    hi = b.as.i;
    if (hi < 0) hi += len;
    if (hi < 0) hi = st > 0 ? 0 : -1;
    if (hi >= len) hi = st > 0 ? len : len - 1;
  }
  int64_t n = 0;
  if (st > 0 && hi > lo) n = (hi - lo + st - 1) / st;
  if (st < 0 && lo > hi) n = (lo - hi + (-st) - 1) / (-st);
  *start = lo; *step = st; *count = n;
  return true;
}

ax_value ax_vm_list_slice(ax_vm *vm, ax_list *l, ax_value a, ax_value b, ax_value c) {
  int64_t start, step, n;
  if (!slice_bounds(vm, l->len, a, b, c, &start, &step, &n)) return AX_UNDEF;
  ax_list *r = ax_list_new(vm, n);
  if (!r) { ax_vm_oom(vm); return AX_UNDEF; }
  for (int64_t i = 0; i < n; i++) r->items[i] = l->items[start + i * step];
  r->len = n;
  return ax_obj_value(r);
}

static size_t utf8_len_at(const ax_string *s, size_t i) {
  uint8_t c = (uint8_t)s->chars[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  return i + n <= s->len ? n : 1;
}

bool ax_vm_index(ax_vm *vm, ax_value obj, int n, ax_value *idx, ax_value *out) {
  if (AX_IS_FOREIGN(obj)) {
    ax_foreign *f = AX_AS_FOREIGN(obj);
    if (f->cls->index) {
      int r = f->cls->index(vm, obj, n, idx, out);
      if (r == AX_HOOK_ERR) return false;
      if (r == AX_HOOK_OK) return true;
    }
    return ax_vm_raise(vm, "type", "'%s' cannot be indexed", f->cls->name);
  }
  if (n != 1) return ax_vm_raise(vm, "type", "a '%s' takes one index, not %d", ax_type_name(obj), n);
  ax_value i = idx[0];
  if (AX_IS_LIST(obj)) {
    ax_list *l = AX_AS_LIST(obj);
    ax_value a, b, c;
    if (ax_slice_parts(i, &a, &b, &c)) {
      *out = ax_vm_list_slice(vm, l, a, b, c);
      return !AX_IS_UNDEF(*out);
    }
    int64_t k;
    if (!norm_index(vm, i, l->len, &k, "list")) return false;
    *out = l->items[k];
    return true;
  }
  if (AX_IS_MAP(obj)) {
    if (ax_table_get(&AX_AS_MAP(obj)->t, i, out)) return true;
    ax_string *ks = ax_vm_repr(vm, i);
    return ax_vm_raise(vm, "key", "key %s not found in map", ks ? ks->chars : "?");
  }
  if (AX_IS_STRING(obj)) {
    ax_string *s = AX_AS_STRING(obj);
    ax_value a, b, c;
    if (ax_slice_parts(i, &a, &b, &c)) {
      /* byte-wise slicing over code points: index by code point */
      int64_t ncp = 0;
      for (size_t p = 0; p < s->len; p += utf8_len_at(s, p)) ncp++;
      int64_t start, step, cnt;
      if (!slice_bounds(vm, ncp, a, b, c, &start, &step, &cnt)) return false;
      size_t *offs = ax_malloc(sizeof(size_t) * (size_t)(ncp + 1));
      if (!offs) return ax_vm_oom(vm);
      int64_t k = 0;
      for (size_t p = 0; p < s->len; p += utf8_len_at(s, p)) offs[k++] = p;
      offs[ncp] = s->len;
      ax_buf buf = {0};
      for (int64_t j = 0; j < cnt; j++) {
        int64_t cp = start + j * step;
        ax_buf_add(&buf, s->chars + offs[cp], offs[cp + 1] - offs[cp]);
      }
      ax_free(offs, sizeof(size_t) * (size_t)(ncp + 1));
      ax_string *r = buf.oom ? NULL : ax_str_new(vm, buf.p ? buf.p : "", buf.len);
      ax_buf_free(&buf);
      if (!r) return ax_vm_oom(vm);
      *out = ax_obj_value(r);
      return true;
    }
    int64_t ncp = 0;
    for (size_t p = 0; p < s->len; p += utf8_len_at(s, p)) ncp++;
    int64_t k;
    if (!norm_index(vm, i, ncp, &k, "string")) return false;
    size_t p = 0;
    for (int64_t j = 0; j < k; j++) p += utf8_len_at(s, p);
    ax_string *r = ax_str_new(vm, s->chars + p, utf8_len_at(s, p));
    if (!r) return ax_vm_oom(vm);
    *out = ax_obj_value(r);
    return true;
  }
  if (ax_is_kind(obj, AX_O_RANGE)) {
    ax_range *r = AX_AS_RANGE(obj);
    int64_t k;
    if (!norm_index(vm, i, ax_range_len(r), &k, "range")) return false;
    *out = ax_int((int64_t)((uint64_t)r->start + (uint64_t)k * (uint64_t)r->step));
    return true;
  }
  return ax_vm_raise(vm, "type", "a value of type '%s' cannot be indexed", ax_type_name(obj));
}

static bool set_index(ax_vm *vm, ax_value obj, int n, ax_value *idx, ax_value v) {
  if (AX_IS_FOREIGN(obj)) {
    ax_foreign *f = AX_AS_FOREIGN(obj);
    if (f->cls->set_index) {
      int r = f->cls->set_index(vm, obj, n, idx, v);
      if (r == AX_HOOK_ERR) return false;
      if (r == AX_HOOK_OK) return true;
    }
    return ax_vm_raise(vm, "type", "'%s' does not support item assignment", f->cls->name);
  }
  if (n != 1) return ax_vm_raise(vm, "type", "a '%s' takes one index, not %d", ax_type_name(obj), n);
  if (AX_IS_LIST(obj)) {
    ax_list *l = AX_AS_LIST(obj);
    int64_t k;
    if (ax_is_kind(idx[0], AX_O_SLICE)) return ax_vm_raise(vm, "type", "assigning to a list slice is not supported");
    if (!norm_index(vm, idx[0], l->len, &k, "list")) return false;
    l->items[k] = v;
    return true;
  }
  if (AX_IS_MAP(obj)) return ax_map_set(vm, AX_AS_MAP(obj), idx[0], v) || ax_vm_oom(vm);
  if (AX_IS_STRING(obj)) return ax_vm_raise(vm, "type", "strings are immutable: build a new string instead");
  return ax_vm_raise(vm, "type", "a value of type '%s' does not support item assignment", ax_type_name(obj));
}

/* ---- iteration ---- */

static bool iter_prep(ax_vm *vm, ax_value it, ax_value *state) {
  if (it.type == AX_V_OBJ) {
    switch (it.as.o->kind) {
    case AX_O_RANGE: *state = ax_int(AX_AS_RANGE(it)->start); return true;
    case AX_O_LIST: case AX_O_STRING: case AX_O_MAP: *state = ax_int(0); return true;
    case AX_O_FOREIGN:
      if (AX_AS_FOREIGN(it)->cls->iter) { *state = AX_NIL; return true; }
      break;
    default: break;
    }
  }
  return ax_vm_raise(vm, "type", "a value of type '%s' is not iterable", ax_type_name(it));
}

bool ax_vm_iter_next(ax_vm *vm, ax_value it, ax_value *state, ax_value *out, bool *done) {
  *done = false;
  switch (it.as.o->kind) {
  case AX_O_RANGE: {
    ax_range *r = AX_AS_RANGE(it);
    int64_t i = state->as.i, next;
    if (r->step > 0 ? i >= r->stop : i <= r->stop) { *done = true; return true; }
    *out = ax_int(i);
    if (__builtin_add_overflow(i, r->step, &next)) next = r->stop;   /* past the end: done next time */
    state->as.i = next;
    return true;
  }
  case AX_O_LIST: {
    ax_list *l = AX_AS_LIST(it);
    if (state->as.i >= l->len) { *done = true; return true; }
    *out = l->items[state->as.i++];
    return true;
  }
  case AX_O_STRING: {
    ax_string *s = AX_AS_STRING(it);
    size_t p = (size_t)state->as.i;
    if (p >= s->len) { *done = true; return true; }
    size_t n = utf8_len_at(s, p);
    ax_string *c = ax_str_new(vm, s->chars + p, n);
    if (!c) return ax_vm_oom(vm);
    *out = ax_obj_value(c);
    state->as.i = (int64_t)(p + n);
    return true;
  }
  case AX_O_MAP: {
    uint32_t pos = (uint32_t)state->as.i;
    ax_entry *e;
    if (!ax_table_next(&AX_AS_MAP(it)->t, &pos, &e)) { *done = true; return true; }
    state->as.i = pos;
    *out = e->key;
    return true;
  }
  case AX_O_FOREIGN: {
    int r = AX_AS_FOREIGN(it)->cls->iter(vm, it, state, out);
    if (r == AX_HOOK_ERR) return false;
    if (r != AX_HOOK_OK) *done = true;
    return true;
  }
  default:
    return ax_vm_raise(vm, "type", "a value of type '%s' is not iterable", ax_type_name(it));
  }
}

static bool unpack(ax_vm *vm, ax_value seq, int n, ax_value *dst) {
  if (AX_IS_LIST(seq)) {
    ax_list *l = AX_AS_LIST(seq);
    if (l->len != n)
      return ax_vm_raise(vm, "value", "cannot unpack %lld value%s into %d names", (long long)l->len, l->len == 1 ? "" : "s", n);
    memcpy(dst, l->items, sizeof(ax_value) * (size_t)n);
    return true;
  }
  if (AX_IS_FOREIGN(seq) && AX_AS_FOREIGN(seq)->cls->len && AX_AS_FOREIGN(seq)->cls->index) {
    int64_t len;
    int r = AX_AS_FOREIGN(seq)->cls->len(vm, seq, &len);
    if (r == AX_HOOK_ERR) return false;
    if (r == AX_HOOK_OK) {
      if (len != n) return ax_vm_raise(vm, "value", "cannot unpack %lld values into %d names", (long long)len, n);
      for (int i = 0; i < n; i++) {
        ax_value k = ax_int(i);
        if (!ax_vm_index(vm, seq, 1, &k, &dst[i])) return false;
      }
      return true;
    }
  }
  return ax_vm_raise(vm, "type", "cannot unpack a value of type '%s' into %d names", ax_type_name(seq), n);
}

/* ---- the dispatch loop ---- */

#include "vm_loop.h"
