/* vm/print.c — turning values into text: str(), repr inside containers, Python-style shortest
** round-trip floats (0.1, 1.0, 1e-07, 1e+20), type names.
** Invariant: strings print bare at top level and double-quoted (escaped) inside containers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_vmint.h"

void ax_buf_add(ax_buf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < b->len + n + 1) ncap *= 2;
    char *np = ax_realloc(b->p, b->cap, ncap);
    if (!np) { b->oom = true; return; }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void ax_buf_addc(ax_buf *b, char c) { ax_buf_add(b, &c, 1); }

void ax_buf_free(ax_buf *b) {
  ax_free(b->p, b->cap);
  b->p = NULL;
  b->len = b->cap = 0;
}

void ax_format_float(double f, char *buf, size_t n) {
  if (isnan(f)) { snprintf(buf, n, "nan"); return; }
  if (isinf(f)) { snprintf(buf, n, f < 0 ? "-inf" : "inf"); return; }
  if (f == 0) { snprintf(buf, n, signbit(f) ? "-0.0" : "0.0"); return; }
  char tmp[40];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
    if (strtod(tmp, NULL) == f) break;
  }
  /* tmp = [-]d.ddde[+-]XX: split digits and exponent */
  char digits[24];
  int nd = 0, exp10;
  const char *p = tmp;
  bool neg = *p == '-';
  if (neg) p++;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  char out[64];
  size_t o = 0;
  if (neg) out[o++] = '-';
  if (exp10 < -4 || exp10 >= 16) {
    out[o++] = digits[0];
    if (nd > 1) { out[o++] = '.'; for (int i = 1; i < nd; i++) out[o++] = digits[i]; }
    o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
  } else if (exp10 < 0) {
    out[o++] = '0'; out[o++] = '.';
    for (int i = 0; i < -exp10 - 1; i++) out[o++] = '0';
    for (int i = 0; i < nd; i++) out[o++] = digits[i];
    out[o] = 0;
  } else {
    for (int i = 0; i <= exp10; i++) out[o++] = i < nd ? digits[i] : '0';
    out[o++] = '.';
    if (nd > exp10 + 1) for (int i = exp10 + 1; i < nd; i++) out[o++] = digits[i];
    else out[o++] = '0';
    out[o] = 0;
  }
  snprintf(buf, n, "%s", out);
}

const char *ax_type_name(ax_value v) {
  switch (v.type) {
  case AX_V_NIL: return "nil";
  case AX_V_BOOL: return "bool";
  case AX_V_INT: return "int";
  case AX_V_FLOAT: return "float";
  case AX_V_UNDEF: return "undefined";
  default: break;
  }
  switch ((ax_okind)v.as.o->kind) {
  case AX_O_STRING: return "string";
  case AX_O_LIST: return "list";
  case AX_O_MAP: return "map";
  case AX_O_RANGE: return "range";
  case AX_O_PROTO: return "proto";
  case AX_O_CLOSURE: return "function";
  case AX_O_UPVAL: return "upvalue";
  case AX_O_NATIVE: return "native";
  case AX_O_BOUND: return "method";
  case AX_O_ERROR: return "error";
  case AX_O_MODULE: return "module";
  case AX_O_FOREIGN: return ((ax_foreign *)v.as.o)->cls->name;
  case AX_O_SLICE: return "slice";
  }
  return "?";
}

static void add_quoted(ax_buf *b, const ax_string *s) {
  ax_buf_addc(b, '"');
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->chars[i];
    switch (c) {
    case '"': ax_buf_add(b, "\\\"", 2); break;
    case '\\': ax_buf_add(b, "\\\\", 2); break;
    case '\n': ax_buf_add(b, "\\n", 2); break;
    case '\t': ax_buf_add(b, "\\t", 2); break;
    case '\r': ax_buf_add(b, "\\r", 2); break;
    case 0: ax_buf_add(b, "\\0", 2); break;
    default:
      if (c < 0x20) {
        char tmp[12];
        int w = snprintf(tmp, sizeof tmp, "\\u{%x}", c);
        ax_buf_add(b, tmp, (size_t)w);
      } else {
        ax_buf_addc(b, (char)c);
      }
    }
  }
  ax_buf_addc(b, '"');
}

bool ax_buf_value(ax_vm *vm, ax_buf *b, ax_value v, bool quote, int depth) {
  char tmp[64];
  switch (v.type) {
  case AX_V_NIL: ax_buf_add(b, "nil", 3); return true;
  case AX_V_BOOL: if (v.as.b) ax_buf_add(b, "true", 4); else ax_buf_add(b, "false", 5); return true;
  case AX_V_INT: ax_buf_add(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v.as.i)); return true;
  case AX_V_FLOAT: ax_format_float(v.as.f, tmp, sizeof tmp); ax_buf_add(b, tmp, strlen(tmp)); return true;
  case AX_V_UNDEF: ax_buf_add(b, "<undefined>", 11); return true;
  default: break;
  }
  if (depth > 64) { ax_buf_add(b, "...", 3); return true; }
  ax_obj *o = v.as.o;
  switch ((ax_okind)o->kind) {
  case AX_O_STRING:
    if (quote) add_quoted(b, (ax_string *)o);
    else ax_buf_add(b, ((ax_string *)o)->chars, ((ax_string *)o)->len);
    return true;
  case AX_O_LIST: {
    ax_list *l = (ax_list *)o;
    ax_buf_addc(b, '[');
    for (int64_t i = 0; i < l->len; i++) {
      if (i) ax_buf_add(b, ", ", 2);
      if (l->items[i].type == AX_V_OBJ && l->items[i].as.o == o) ax_buf_add(b, "[...]", 5);
      else if (!ax_buf_value(vm, b, l->items[i], true, depth + 1)) return false;
    }
    ax_buf_addc(b, ']');
    return true;
  }
  case AX_O_MAP: {
    ax_map *m = (ax_map *)o;
    ax_buf_addc(b, '{');
    uint32_t pos = 0;
    ax_entry *e;
    bool first = true;
    while (ax_table_next(&m->t, &pos, &e)) {
      if (!first) ax_buf_add(b, ", ", 2);
      first = false;
      if (!ax_buf_value(vm, b, e->key, true, depth + 1)) return false;
      ax_buf_add(b, ": ", 2);
      if (e->val.type == AX_V_OBJ && e->val.as.o == o) ax_buf_add(b, "{...}", 5);
      else if (!ax_buf_value(vm, b, e->val, true, depth + 1)) return false;
    }
    ax_buf_addc(b, '}');
    return true;
  }
  case AX_O_RANGE: {
    ax_range *r = (ax_range *)o;
    int w = r->step == 1 ? snprintf(tmp, sizeof tmp, "%lld..%lld", (long long)r->start, (long long)r->stop)
                         : snprintf(tmp, sizeof tmp, "range(%lld, %lld, %lld)", (long long)r->start,
                                    (long long)r->stop, (long long)r->step);
    ax_buf_add(b, tmp, (size_t)w);
    return true;
  }
  case AX_O_SLICE: ax_buf_add(b, "<slice>", 7); return true;
  case AX_O_PROTO:
  case AX_O_CLOSURE: {
    ax_proto *p = o->kind == AX_O_PROTO ? (ax_proto *)o : ((ax_closure *)o)->proto;
    ax_buf_add(b, "<fn ", 4);
    ax_buf_add(b, p->name->chars, p->name->len);
    ax_buf_addc(b, '>');
    return true;
  }
  case AX_O_UPVAL: ax_buf_add(b, "<upvalue>", 9); return true;
  case AX_O_NATIVE:
    ax_buf_add(b, "<native ", 8);
    ax_buf_add(b, ((ax_native *)o)->name->chars, ((ax_native *)o)->name->len);
    ax_buf_addc(b, '>');
    return true;
  case AX_O_BOUND: {
    ax_bound *bd = (ax_bound *)o;
    ax_buf_add(b, "<method ", 8);
    if (ax_is_kind(bd->method, AX_O_NATIVE)) ax_buf_add(b, AX_AS_NATIVE(bd->method)->name->chars, AX_AS_NATIVE(bd->method)->name->len);
    else if (ax_is_kind(bd->method, AX_O_CLOSURE)) ax_buf_add(b, AX_AS_CLOSURE(bd->method)->proto->name->chars, AX_AS_CLOSURE(bd->method)->proto->name->len);
    ax_buf_add(b, " of ", 4);
    const char *tn = ax_type_name(bd->self);
    ax_buf_add(b, tn, strlen(tn));
    ax_buf_addc(b, '>');
    return true;
  }
  case AX_O_ERROR: {
    ax_error *e = (ax_error *)o;
    if (quote) {
      ax_buf_add(b, "error(", 6);
      add_quoted(b, e->kind);
      ax_buf_add(b, ", ", 2);
      add_quoted(b, e->message);
      ax_buf_addc(b, ')');
    } else {
      ax_buf_add(b, e->kind->chars, e->kind->len);
      ax_buf_add(b, ": ", 2);
      ax_buf_add(b, e->message->chars, e->message->len);
    }
    return true;
  }
  case AX_O_MODULE:
    ax_buf_add(b, "<module ", 8);
    ax_buf_add(b, ((ax_module *)o)->name->chars, ((ax_module *)o)->name->len);
    ax_buf_addc(b, '>');
    return true;
  case AX_O_FOREIGN: {
    ax_foreign *f = (ax_foreign *)o;
    if (f->cls->tostring) {
      ax_value s;
      if (!f->cls->tostring(vm, v, &s)) return false;
      if (AX_IS_STRING(s)) { ax_buf_add(b, AX_AS_STRING(s)->chars, AX_AS_STRING(s)->len); return true; }
    }
    ax_buf_addc(b, '<');
    ax_buf_add(b, f->cls->name, strlen(f->cls->name));
    ax_buf_addc(b, '>');
    return true;
  }
  }
  return true;
}

static ax_string *to_string(ax_vm *vm, ax_value v, bool quote) {
  if (AX_IS_STRING(v) && !quote) return AX_AS_STRING(v);
  ax_buf b = {0};
  if (!ax_buf_value(vm, &b, v, quote, 0)) { ax_buf_free(&b); return NULL; }
  if (b.oom) { ax_buf_free(&b); ax_vm_oom(vm); return NULL; }
  ax_string *s = ax_str_new(vm, b.p ? b.p : "", b.len);
  ax_buf_free(&b);
  if (!s) ax_vm_oom(vm);
  return s;
}

ax_string *ax_vm_tostr(ax_vm *vm, ax_value v) { return to_string(vm, v, false); }
ax_string *ax_vm_repr(ax_vm *vm, ax_value v) { return to_string(vm, v, true); }
