/* vm/natives_core.c — the prelude: print len range str int float bool type round fmt min max
** abs sum sorted enumerate zip map filter assert error time clock, and the argument helpers.
** Invariant: natives that call back into the VM root what they build (ax_vm_push_root). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_mem.h"
#include "ax_vmint.h"

bool ax_format_values(ax_vm *vm, const char *fn, ax_string *spec, ax_value *args, int argc, const ax_kw *kw, ax_value *out);

/* ---- argument helpers ---- */

bool ax_arg_count(ax_vm *vm, const char *fn, int argc, int min, int max) {
  if (argc >= min && (max < 0 || argc <= max)) return true;
  if (min == max) return ax_vm_raise(vm, "type", "%s() takes %d argument%s but %d %s given", fn, min, min == 1 ? "" : "s", argc, argc == 1 ? "was" : "were");
  if (max < 0) return ax_vm_raise(vm, "type", "%s() takes at least %d argument%s but %d %s given", fn, min, min == 1 ? "" : "s", argc, argc == 1 ? "was" : "were");
  return ax_vm_raise(vm, "type", "%s() takes %d to %d arguments but %d %s given", fn, min, max, argc, argc == 1 ? "was" : "were");
}

bool ax_arg_int(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, int64_t *out) {
  if (i >= argc) return ax_vm_raise(vm, "type", "%s(): missing argument %d", fn, i + 1);
  if (!AX_IS_INT(args[i])) return ax_vm_raise(vm, "type", "%s(): argument %d must be an int, not '%s'", fn, i + 1, ax_type_name(args[i]));
  *out = args[i].as.i;
  return true;
}

bool ax_arg_num(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, double *out) {
  if (i >= argc) return ax_vm_raise(vm, "type", "%s(): missing argument %d", fn, i + 1);
  if (!AX_IS_NUM(args[i])) return ax_vm_raise(vm, "type", "%s(): argument %d must be a number, not '%s'", fn, i + 1, ax_type_name(args[i]));
  *out = ax_num(args[i]);
  return true;
}

bool ax_arg_str(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, ax_string **out) {
  if (i >= argc) return ax_vm_raise(vm, "type", "%s(): missing argument %d", fn, i + 1);
  if (!AX_IS_STRING(args[i])) return ax_vm_raise(vm, "type", "%s(): argument %d must be a string, not '%s'", fn, i + 1, ax_type_name(args[i]));
  *out = AX_AS_STRING(args[i]);
  return true;
}

bool ax_kw_get(const ax_kw *kw, const char *name, ax_value *out) {
  if (!kw) return false;
  for (int i = 0; i < kw->n; i++)
    if (strcmp(kw->names[i]->chars, name) == 0) { *out = kw->vals[i]; return true; }
  return false;
}

bool ax_kw_check(ax_vm *vm, const char *fn, const ax_kw *kw, const char *const *allowed) {
  if (!kw) return true;
  for (int i = 0; i < kw->n; i++) {
    bool ok = false;
    for (const char *const *a = allowed; a && *a; a++)
      if (strcmp(*a, kw->names[i]->chars) == 0) { ok = true; break; }
    if (!ok) return ax_vm_raise(vm, "type", "%s() got an unexpected keyword argument '%s'", fn, kw->names[i]->chars);
  }
  return true;
}

static bool no_kw(ax_vm *vm, const char *fn, const ax_kw *kw) { return ax_kw_check(vm, fn, kw, NULL); }

/* max(x, dim: 1), sum(t), abs(t), round(t) ... on a foreign value call its method of the same
** name with the remaining arguments, so the tensor library needs no duplicate prelude entries. */
static bool foreign_method(ax_vm *vm, const char *fn, ax_value *args, int argc, const ax_kw *kw, ax_value *out,
                           bool *handled) {
  *handled = false;
  if (argc < 1 || !AX_IS_FOREIGN(args[0]) || !AX_AS_FOREIGN(args[0])->cls->get_field) return true;
  ax_string *nm = ax_str_cstr(vm, fn);
  if (!nm) return ax_vm_oom(vm);
  ax_value m;
  int r = AX_AS_FOREIGN(args[0])->cls->get_field(vm, args[0], nm, &m);
  if (r == AX_HOOK_ERR) { *handled = true; return false; }
  if (r != AX_HOOK_OK) return true;
  *handled = true;
  ax_vm_push_root(vm, m);
  bool ok = ax_vm_call(vm, m, argc - 1, args + 1, kw, out);
  ax_vm_pop_root(vm, 1);
  return ok;
}

#define FOREIGN_DISPATCH(name) do { \
    bool handled_; \
    bool ok_ = foreign_method(vm, name, args, argc, kw, out, &handled_); \
    if (handled_ || !ok_) return ok_; \
  } while (0)

/* ---- builtins ---- */

static bool n_print(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"sep", "end", NULL};
  if (!ax_kw_check(vm, "print", kw, allowed)) return false;
  ax_value sepv = AX_NIL, endv = AX_NIL;
  ax_kw_get(kw, "sep", &sepv);
  ax_kw_get(kw, "end", &endv);
  ax_buf b = {0};
  for (int i = 0; i < argc; i++) {
    if (i) {
      if (AX_IS_STRING(sepv)) ax_buf_add(&b, AX_AS_STRING(sepv)->chars, AX_AS_STRING(sepv)->len);
      else ax_buf_addc(&b, ' ');
    }
    if (!ax_buf_value(vm, &b, args[i], false, 0)) { ax_buf_free(&b); return false; }
  }
  if (AX_IS_STRING(endv)) ax_buf_add(&b, AX_AS_STRING(endv)->chars, AX_AS_STRING(endv)->len);
  else ax_buf_addc(&b, '\n');
  if (b.oom) { ax_buf_free(&b); return ax_vm_oom(vm); }
  fwrite(b.p, 1, b.len, stdout);
  ax_buf_free(&b);
  *out = AX_NIL;
  return true;
}

static int64_t utf8_count(const ax_string *s) {
  int64_t n = 0;
  for (size_t i = 0; i < s->len; i++) n += ((unsigned char)s->chars[i] & 0xC0) != 0x80;
  return n;
}

static bool value_len(ax_vm *vm, ax_value v, int64_t *n) {
  if (v.type == AX_V_OBJ) {
    switch (v.as.o->kind) {
    case AX_O_STRING: *n = utf8_count(AX_AS_STRING(v)); return true;
    case AX_O_LIST: *n = AX_AS_LIST(v)->len; return true;
    case AX_O_MAP: *n = AX_AS_MAP(v)->t.count; return true;
    case AX_O_RANGE: *n = ax_range_len(AX_AS_RANGE(v)); return true;
    case AX_O_FOREIGN: {
      ax_foreign *f = AX_AS_FOREIGN(v);
      if (f->cls->len) {
        int r = f->cls->len(vm, v, n);
        if (r == AX_HOOK_ERR) return false;
        if (r == AX_HOOK_OK) return true;
      }
      break;
    }
    default: break;
    }
  }
  return ax_vm_raise(vm, "type", "len() of a value of type '%s'", ax_type_name(v));
}

static bool n_len(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t n;
  if (!no_kw(vm, "len", kw) || !value_len(vm, args[0], &n)) return false;
  *out = ax_int(n);
  return true;
}

static bool n_range(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t a = 0, b, s = 1;
  if (!no_kw(vm, "range", kw) || !ax_arg_count(vm, "range", argc, 1, 3)) return false;
  if (argc == 1) { if (!ax_arg_int(vm, "range", args, argc, 0, &b)) return false; }
  else {
    if (!ax_arg_int(vm, "range", args, argc, 0, &a) || !ax_arg_int(vm, "range", args, argc, 1, &b)) return false;
    if (argc == 3 && !ax_arg_int(vm, "range", args, argc, 2, &s)) return false;
    if (s == 0) return ax_vm_raise(vm, "value", "range() step must not be zero");
  }
  ax_range *r = ax_range_new(vm, a, b, s);
  if (!r) return ax_vm_oom(vm);
  *out = ax_obj_value(r);
  return true;
}

static bool n_str(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!no_kw(vm, "str", kw) || !ax_arg_count(vm, "str", argc, 0, 1)) return false;
  if (argc == 0) { *out = ax_str_value(vm, ""); return !AX_IS_NIL(*out); }
  ax_string *s = ax_vm_tostr(vm, args[0]);
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

static bool n_int(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!no_kw(vm, "int", kw) || !ax_arg_count(vm, "int", argc, 1, 1)) return false;
  ax_value v = args[0];
  switch (v.type) {
  case AX_V_INT: *out = v; return true;
  case AX_V_BOOL: *out = ax_int(v.as.b); return true;
  case AX_V_FLOAT:
    if (v.as.f != v.as.f || v.as.f >= 9.2233720368547758e18 || v.as.f < -9.2233720368547758e18)
      return ax_vm_raise(vm, "value", "int(): %g cannot be converted to an int", v.as.f);
    *out = ax_int((int64_t)v.as.f);
    return true;
  default: break;
  }
  if (AX_IS_STRING(v)) {
    const char *s = AX_AS_STRING(v)->chars;
    char *end;
    errno = 0;
    while (*s == ' ' || *s == '\t') s++;
    long long r = strtoll(s, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    if (end == s || *end || (size_t)(end - AX_AS_STRING(v)->chars) != AX_AS_STRING(v)->len)
      return ax_vm_raise(vm, "value", "int(): invalid integer \"%s\"", AX_AS_STRING(v)->chars);
    if (errno == ERANGE) return ax_vm_raise(vm, "overflow", "int(): \"%s\" is too large", AX_AS_STRING(v)->chars);
    *out = ax_int(r);
    return true;
  }
  return ax_vm_raise(vm, "type", "int() cannot convert a value of type '%s'", ax_type_name(v));
}

static bool n_float(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!no_kw(vm, "float", kw) || !ax_arg_count(vm, "float", argc, 1, 1)) return false;
  ax_value v = args[0];
  if (AX_IS_NUM(v)) { *out = ax_float(ax_num(v)); return true; }
  if (AX_IS_BOOL(v)) { *out = ax_float(v.as.b); return true; }
  if (AX_IS_STRING(v)) {
    const char *s = AX_AS_STRING(v)->chars;
    char *end;
    double d = strtod(s, &end);
    while (*end == ' ' || *end == '\n') end++;
    if (end == s || *end) return ax_vm_raise(vm, "value", "float(): invalid number \"%s\"", s);
    *out = ax_float(d);
    return true;
  }
  return ax_vm_raise(vm, "type", "float() cannot convert a value of type '%s'", ax_type_name(v));
}

static bool n_bool(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  bool t;
  if (!no_kw(vm, "bool", kw) || !ax_vm_truthy(vm, args[0], &t)) return false;
  *out = ax_bool(t);
  return true;
}

static bool n_type(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_str_value(vm, ax_type_name(args[0]));
  return !AX_IS_NIL(*out);
}

static bool n_round(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  FOREIGN_DISPATCH("round");
  if (!no_kw(vm, "round", kw) || !ax_arg_count(vm, "round", argc, 1, 2)) return false;
  double x;
  if (!ax_arg_num(vm, "round", args, argc, 0, &x)) return false;
  if (argc == 1) {
    if (AX_IS_INT(args[0])) { *out = args[0]; return true; }
    double r = nearbyint(x);   /* banker's rounding like Python (FE_TONEAREST) */
    if (r != r || r >= 9.2233720368547758e18 || r < -9.2233720368547758e18)
      return ax_vm_raise(vm, "value", "round(): cannot convert %g to an int", x);
    *out = ax_int((int64_t)r);
    return true;
  }
  int64_t nd;
  if (!ax_arg_int(vm, "round", args, argc, 1, &nd)) return false;
  char buf[64];
  if (nd > 300) nd = 300;
  if (nd >= 0) {
    snprintf(buf, sizeof buf, "%.*f", (int)nd, x);
    *out = ax_float(strtod(buf, NULL));
  } else {
    double p = pow(10.0, (double)-nd);
    *out = ax_float(nearbyint(x / p) * p);
  }
  return true;
}

static bool n_fmt(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *spec = NULL;
  if (!ax_arg_str(vm, "fmt", args, argc, 0, &spec)) return false;
  return ax_format_values(vm, "fmt", spec, args + 1, argc - 1, kw, out);
}

/* Iterate any iterable into a fresh list (rooted by the caller if it calls back). */
static ax_list *to_list(ax_vm *vm, ax_value v, const char *fn) {
  if (AX_IS_LIST(v)) return AX_AS_LIST(v);
  ax_value st;
  if (v.type == AX_V_OBJ && (v.as.o->kind == AX_O_RANGE || v.as.o->kind == AX_O_STRING || v.as.o->kind == AX_O_MAP ||
                             (v.as.o->kind == AX_O_FOREIGN && AX_AS_FOREIGN(v)->cls->iter))) {
    ax_list *l = ax_list_new(vm, 0);
    if (!l) { ax_vm_oom(vm); return NULL; }
    ax_vm_push_root(vm, ax_obj_value(l));
    if (v.as.o->kind == AX_O_RANGE) st = ax_int(AX_AS_RANGE(v)->start);
    else if (v.as.o->kind == AX_O_FOREIGN) st = AX_NIL;
    else st = ax_int(0);
    for (;;) {
      ax_value x;
      bool done;
      ax_vm_push_root(vm, st);
      bool ok = ax_vm_iter_next(vm, v, &st, &x, &done);
      ax_vm_pop_root(vm, 1);
      if (!ok) { ax_vm_pop_root(vm, 1); return NULL; }
      if (done) break;
      if (!ax_list_push(vm, l, x)) { ax_vm_pop_root(vm, 1); ax_vm_oom(vm); return NULL; }
    }
    ax_vm_pop_root(vm, 1);
    return l;
  }
  ax_vm_raise(vm, "type", "%s(): a value of type '%s' is not iterable", fn, ax_type_name(v));
  return NULL;
}

static bool minmax(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out, bool is_max) {
  const char *fn = is_max ? "max" : "min";
  if (!ax_arg_count(vm, fn, argc, 1, -1)) return false;
  FOREIGN_DISPATCH(fn);
  if (!no_kw(vm, fn, kw)) return false;
  ax_value *xs = args;
  int64_t n = argc;
  if (argc == 1) {
    ax_list *l = to_list(vm, args[0], fn);
    if (!l) return false;
    xs = l->items;
    n = l->len;
    if (!n) return ax_vm_raise(vm, "value", "%s() of an empty sequence", fn);
  }
  ax_value best = xs[0];
  for (int64_t i = 1; i < n; i++) {
    int c;
    if (!ax_vm_compare(vm, xs[i], best, &c)) return false;
    if (c != 2 && (is_max ? c > 0 : c < 0)) best = xs[i];
  }
  *out = best;
  return true;
}

static bool n_max(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return minmax(vm, args, argc, kw, out, true); }
static bool n_min(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return minmax(vm, args, argc, kw, out, false); }

static bool n_abs(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  FOREIGN_DISPATCH("abs");
  ax_value v = args[0];
  if (AX_IS_INT(v)) {
    if (v.as.i == INT64_MIN) return ax_vm_raise(vm, "overflow", "integer overflow");
    *out = ax_int(v.as.i < 0 ? -v.as.i : v.as.i);
    return true;
  }
  if (AX_IS_FLOAT(v)) { *out = ax_float(fabs(v.as.f)); return true; }
  return ax_vm_raise(vm, "type", "abs() of a value of type '%s'", ax_type_name(v));
}

static bool n_sum(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  FOREIGN_DISPATCH("sum");
  if (!no_kw(vm, "sum", kw) || !ax_arg_count(vm, "sum", argc, 1, 2)) return false;
  ax_list *l = to_list(vm, args[0], "sum");
  if (!l) return false;
  ax_value acc = argc == 2 ? args[1] : ax_int(0);
  ax_vm_push_root(vm, ax_obj_value(l));
  for (int64_t i = 0; i < l->len; i++) {
    ax_vm_push_root(vm, acc);
    bool ok = ax_vm_binop(vm, AX_FOP_ADD, acc, l->items[i], &acc);
    ax_vm_pop_root(vm, 1);
    if (!ok) { ax_vm_pop_root(vm, 1); return false; }
  }
  ax_vm_pop_root(vm, 1);
  *out = acc;
  return true;
}

/* merge sort (stable) with an optional key function and reverse flag */
typedef struct { ax_vm *vm; bool failed; bool reverse; } sort_ctx;

static bool sort_less(sort_ctx *sc, ax_value a, ax_value b) {
  int c;
  if (sc->failed) return false;
  if (!ax_vm_compare(sc->vm, a, b, &c)) { sc->failed = true; return false; }
  if (c == 2) return false;
  return sc->reverse ? c > 0 : c < 0;
}

static void merge_sort(sort_ctx *sc, ax_value *keys, ax_value *vals, ax_value *tk, ax_value *tv, int64_t n) {
  if (n < 2 || sc->failed) return;
  int64_t h = n / 2;
  merge_sort(sc, keys, vals, tk, tv, h);
  merge_sort(sc, keys + h, vals + h, tk, tv, n - h);
  int64_t i = 0, j = h, o = 0;
  while (i < h && j < n) {
    if (sort_less(sc, keys[j], keys[i])) { tk[o] = keys[j]; tv[o++] = vals[j++]; }
    else { tk[o] = keys[i]; tv[o++] = vals[i++]; }
  }
  while (i < h) { tk[o] = keys[i]; tv[o++] = vals[i++]; }
  while (j < n) { tk[o] = keys[j]; tv[o++] = vals[j++]; }
  memcpy(keys, tk, sizeof(ax_value) * (size_t)n);
  memcpy(vals, tv, sizeof(ax_value) * (size_t)n);
}

bool ax_sort_values(ax_vm *vm, ax_list *l, ax_value key, bool reverse);
bool ax_sort_values(ax_vm *vm, ax_list *l, ax_value key, bool reverse) {
  int64_t n = l->len;
  if (n < 2) return true;
  size_t bytes = sizeof(ax_value) * (size_t)n;
  ax_list *keys = ax_list_new(vm, n);
  if (!keys) return ax_vm_oom(vm);
  ax_vm_push_root(vm, ax_obj_value(keys));
  for (int64_t i = 0; i < n; i++) {
    ax_value k = l->items[i];
    if (!AX_IS_NIL(key) && !ax_vm_call(vm, key, 1, &l->items[i], NULL, &k)) { ax_vm_pop_root(vm, 1); return false; }
    keys->items[keys->len++] = k;
  }
  ax_value *tk = ax_malloc(bytes), *tv = ax_malloc(bytes);
  if (!tk || !tv) { ax_free(tk, bytes); ax_free(tv, bytes); ax_vm_pop_root(vm, 1); return ax_vm_oom(vm); }
  sort_ctx sc = {vm, false, reverse};
  merge_sort(&sc, keys->items, l->items, tk, tv, n);
  ax_free(tk, bytes);
  ax_free(tv, bytes);
  ax_vm_pop_root(vm, 1);
  return !sc.failed;
}

static bool n_sorted(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"key", "reverse", NULL};
  if (!ax_kw_check(vm, "sorted", kw, allowed)) return false;
  ax_value key = AX_NIL, rev = AX_NIL;
  ax_kw_get(kw, "key", &key);
  ax_kw_get(kw, "reverse", &rev);
  ax_list *src = to_list(vm, args[0], "sorted");
  if (!src) return false;
  ax_list *l = ax_list_new(vm, src->len);
  if (!l) return ax_vm_oom(vm);
  memcpy(l->items, src->items, sizeof(ax_value) * (size_t)src->len);
  l->len = src->len;
  ax_vm_push_root(vm, ax_obj_value(l));
  bool ok = ax_sort_values(vm, l, key, ax_truthy_plain(rev));
  ax_vm_pop_root(vm, 1);
  if (!ok) return false;
  *out = ax_obj_value(l);
  return true;
}

static bool pair(ax_vm *vm, ax_value a, ax_value b, ax_value *out) {
  ax_list *p = ax_list_new(vm, 2);
  if (!p) return ax_vm_oom(vm);
  p->items[0] = a;
  p->items[1] = b;
  p->len = 2;
  *out = ax_obj_value(p);
  return true;
}

static bool n_enumerate(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"start", NULL};
  if (!ax_kw_check(vm, "enumerate", kw, allowed) || !ax_arg_count(vm, "enumerate", argc, 1, 2)) return false;
  int64_t start = 0;
  ax_value sv;
  if (argc == 2 && !ax_arg_int(vm, "enumerate", args, argc, 1, &start)) return false;
  if (ax_kw_get(kw, "start", &sv)) {
    if (!AX_IS_INT(sv)) return ax_vm_raise(vm, "type", "enumerate(): start must be an int");
    start = sv.as.i;
  }
  ax_list *src = to_list(vm, args[0], "enumerate");
  if (!src) return false;
  ax_vm_push_root(vm, ax_obj_value(src));
  ax_list *l = ax_list_new(vm, src->len);
  if (!l) { ax_vm_pop_root(vm, 1); return ax_vm_oom(vm); }
  for (int64_t i = 0; i < src->len; i++) {
    if (!pair(vm, ax_int(start + i), src->items[i], &l->items[i])) { ax_vm_pop_root(vm, 1); return false; }
    l->len++;
  }
  ax_vm_pop_root(vm, 1);
  *out = ax_obj_value(l);
  return true;
}

static bool n_zip(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!no_kw(vm, "zip", kw)) return false;
  if (argc > 16) return ax_vm_raise(vm, "type", "zip() takes at most 16 sequences");
  ax_list *ls[16];
  int64_t n = argc ? INT64_MAX : 0;
  for (int i = 0; i < argc; i++) {
    ls[i] = to_list(vm, args[i], "zip");
    if (!ls[i]) { ax_vm_pop_root(vm, i); return false; }
    ax_vm_push_root(vm, ax_obj_value(ls[i]));
    if (ls[i]->len < n) n = ls[i]->len;
  }
  ax_list *l = ax_list_new(vm, n);
  if (!l) { ax_vm_pop_root(vm, argc); return ax_vm_oom(vm); }
  for (int64_t j = 0; j < n; j++) {
    ax_list *t = ax_list_new(vm, argc);
    if (!t) { ax_vm_pop_root(vm, argc); return ax_vm_oom(vm); }
    for (int i = 0; i < argc; i++) t->items[i] = ls[i]->items[j];
    t->len = argc;
    l->items[l->len++] = ax_obj_value(t);
  }
  ax_vm_pop_root(vm, argc);
  *out = ax_obj_value(l);
  return true;
}

static bool map_filter(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out, bool is_map) {
  const char *fn = is_map ? "map" : "filter";
  if (!no_kw(vm, fn, kw)) return false;
  ax_value f = args[0];
  ax_list *src = to_list(vm, args[1], fn);
  if (!src) return false;
  ax_vm_push_root(vm, ax_obj_value(src));
  ax_list *l = ax_list_new(vm, is_map ? src->len : 0);
  if (!l) { ax_vm_pop_root(vm, 1); return ax_vm_oom(vm); }
  ax_vm_push_root(vm, ax_obj_value(l));
  for (int64_t i = 0; i < src->len; i++) {
    ax_value r;
    ax_value x = src->items[i];
    if (!ax_vm_call(vm, f, 1, &x, NULL, &r)) { ax_vm_pop_root(vm, 2); return false; }
    if (is_map) {
      l->items[l->len++] = r;
    } else {
      bool t;
      if (!ax_vm_truthy(vm, r, &t)) { ax_vm_pop_root(vm, 2); return false; }
      if (t && !ax_list_push(vm, l, x)) { ax_vm_pop_root(vm, 2); return ax_vm_oom(vm); }
    }
  }
  ax_vm_pop_root(vm, 2);
  *out = ax_obj_value(l);
  return true;
}

static bool n_map(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return map_filter(vm, args, argc, kw, out, true); }
static bool n_filter(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return map_filter(vm, args, argc, kw, out, false); }

static bool n_assert(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!no_kw(vm, "assert", kw) || !ax_arg_count(vm, "assert", argc, 1, 2)) return false;
  bool t;
  if (!ax_vm_truthy(vm, args[0], &t)) return false;
  if (t) { *out = AX_NIL; return true; }
  if (argc == 2) {
    ax_string *m = ax_vm_tostr(vm, args[1]);
    if (!m) return false;
    return ax_vm_raise(vm, "assert", "assertion failed: %s", m->chars);
  }
  return ax_vm_raise(vm, "assert", "assertion failed");
}

static bool n_error(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!no_kw(vm, "error", kw) || !ax_arg_count(vm, "error", argc, 1, 2)) return false;
  ax_string *kind, *msg;
  if (argc == 1) {
    if (!ax_arg_str(vm, "error", args, argc, 0, &msg)) return false;
    kind = ax_str_cstr(vm, "error");
  } else {
    if (!ax_arg_str(vm, "error", args, argc, 0, &kind)) return false;
    msg = ax_vm_tostr(vm, args[1]);
  }
  ax_error *e = kind && msg ? ax_error_obj_new(vm, kind, msg) : NULL;
  if (!e) return ax_vm_oom(vm);
  *out = ax_obj_value(e);
  return true;
}

static bool n_time(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  *out = ax_float((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return true;
}

static bool n_clock(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  *out = ax_float((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return true;
}

static const ax_native_reg core[] = {
  {"print", n_print, -1}, {"len", n_len, 1}, {"range", n_range, -1}, {"str", n_str, -1},
  {"int", n_int, -1}, {"float", n_float, -1}, {"bool", n_bool, 1}, {"type", n_type, 1},
  {"round", n_round, -1}, {"fmt", n_fmt, -1}, {"min", n_min, -1}, {"max", n_max, -1},
  {"abs", n_abs, 1}, {"sum", n_sum, -1}, {"sorted", n_sorted, 1}, {"enumerate", n_enumerate, -1},
  {"zip", n_zip, -1}, {"map", n_map, 2}, {"filter", n_filter, 2}, {"assert", n_assert, -1},
  {"error", n_error, -1}, {"time", n_time, 0}, {"clock", n_clock, 0},
  {NULL, NULL, 0}};

bool ax_natives_core_init(ax_vm *vm) { return ax_vm_register_globals(vm, core); }
