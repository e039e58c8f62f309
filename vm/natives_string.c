/* vm/natives_string.c — string methods (len split join find replace upper lower strip
** startswith endswith format contains) and the format-spec engine shared by fmt() and format().
** Invariant: methods receive the string as args[0]; results are new interned strings. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_vmint.h"

#define SELF AX_AS_STRING(args[0])

static bool ret_str(ax_vm *vm, const char *s, size_t n, ax_value *out) {
  ax_string *r = ax_str_new(vm, s, n);
  if (!r) return ax_vm_oom(vm);
  *out = ax_obj_value(r);
  return true;
}

static bool s_len(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t n = 0;
  for (size_t i = 0; i < SELF->len; i++) n += ((unsigned char)SELF->chars[i] & 0xC0) != 0x80;
  *out = ax_int(n);
  return true;
}

static bool s_split(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "split", argc - 1, 0, 1)) return false;
  ax_string *s = SELF;
  ax_list *l = ax_list_new(vm, 0);
  if (!l) return ax_vm_oom(vm);
  if (argc == 1 || AX_IS_NIL(args[1])) {
    size_t i = 0;
    while (i < s->len) {
      while (i < s->len && isspace((unsigned char)s->chars[i])) i++;
      if (i >= s->len) break;
      size_t j = i;
      while (j < s->len && !isspace((unsigned char)s->chars[j])) j++;
      ax_string *p = ax_str_new(vm, s->chars + i, j - i);
      if (!p || !ax_list_push(vm, l, ax_obj_value(p))) return ax_vm_oom(vm);
      i = j;
    }
  } else {
    ax_string *sep;
    if (!ax_arg_str(vm, "split", args, argc, 1, &sep)) return false;
    if (sep->len == 0) return ax_vm_raise(vm, "value", "split(): empty separator");
    size_t i = 0;
    for (;;) {
      const char *hit = NULL;
      for (size_t j = i; j + sep->len <= s->len; j++)
        if (memcmp(s->chars + j, sep->chars, sep->len) == 0) { hit = s->chars + j; break; }
      size_t end = hit ? (size_t)(hit - s->chars) : s->len;
      ax_string *p = ax_str_new(vm, s->chars + i, end - i);
      if (!p || !ax_list_push(vm, l, ax_obj_value(p))) return ax_vm_oom(vm);
      if (!hit) break;
      i = end + sep->len;
    }
  }
  *out = ax_obj_value(l);
  return true;
}

static bool s_join(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!AX_IS_LIST(args[1])) return ax_vm_raise(vm, "type", "join(): argument must be a list, not '%s'", ax_type_name(args[1]));
  ax_list *l = AX_AS_LIST(args[1]);
  ax_buf b = {0};
  for (int64_t i = 0; i < l->len; i++) {
    if (i) ax_buf_add(&b, SELF->chars, SELF->len);
    if (!ax_buf_value(vm, &b, l->items[i], false, 0)) { ax_buf_free(&b); return false; }
  }
  if (b.oom) { ax_buf_free(&b); return ax_vm_oom(vm); }
  bool ok = ret_str(vm, b.p ? b.p : "", b.len, out);
  ax_buf_free(&b);
  return ok;
}

static int64_t find_bytes(const ax_string *s, const ax_string *sub, size_t from) {
  if (sub->len == 0) return (int64_t)from;
  for (size_t j = from; j + sub->len <= s->len; j++)
    if (memcmp(s->chars + j, sub->chars, sub->len) == 0) return (int64_t)j;
  return -1;
}

static bool s_find(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *sub;
  if (!ax_arg_str(vm, "find", args, argc, 1, &sub)) return false;
  int64_t b = find_bytes(SELF, sub, 0);
  if (b < 0) { *out = ax_int(-1); return true; }
  int64_t cp = 0;   /* report a code-point index */
  for (int64_t i = 0; i < b; i++) cp += ((unsigned char)SELF->chars[i] & 0xC0) != 0x80;
  *out = ax_int(cp);
  return true;
}

static bool s_contains(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *sub;
  if (!ax_arg_str(vm, "contains", args, argc, 1, &sub)) return false;
  *out = ax_bool(find_bytes(SELF, sub, 0) >= 0);
  return true;
}

static bool s_replace(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *a, *b;
  if (!ax_arg_str(vm, "replace", args, argc, 1, &a) || !ax_arg_str(vm, "replace", args, argc, 2, &b)) return false;
  if (a->len == 0) { *out = args[0]; return true; }
  ax_buf buf = {0};
  size_t i = 0;
  for (;;) {
    int64_t h = find_bytes(SELF, a, i);
    if (h < 0) { ax_buf_add(&buf, SELF->chars + i, SELF->len - i); break; }
    ax_buf_add(&buf, SELF->chars + i, (size_t)h - i);
    ax_buf_add(&buf, b->chars, b->len);
    i = (size_t)h + a->len;
  }
  if (buf.oom) { ax_buf_free(&buf); return ax_vm_oom(vm); }
  bool ok = ret_str(vm, buf.p ? buf.p : "", buf.len, out);
  ax_buf_free(&buf);
  return ok;
}

static bool s_case(ax_vm *vm, ax_value *args, ax_value *out, bool upper) {
  ax_string *s = SELF;
  char *tmp = ax_malloc(s->len + 1);
  if (!tmp) return ax_vm_oom(vm);
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->chars[i];
    tmp[i] = (char)(c < 0x80 ? (upper ? toupper(c) : tolower(c)) : c);
  }
  bool ok = ret_str(vm, tmp, s->len, out);
  ax_free(tmp, s->len + 1);
  return ok;
}
static bool s_upper(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return s_case(vm, args, out, true); }
static bool s_lower(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return s_case(vm, args, out, false); }

static bool s_strip(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s = SELF;
  size_t a = 0, b = s->len;
  while (a < b && isspace((unsigned char)s->chars[a])) a++;
  while (b > a && isspace((unsigned char)s->chars[b - 1])) b--;
  return ret_str(vm, s->chars + a, b - a, out);
}

static bool s_startswith(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *p;
  if (!ax_arg_str(vm, "startswith", args, argc, 1, &p)) return false;
  *out = ax_bool(p->len <= SELF->len && memcmp(SELF->chars, p->chars, p->len) == 0);
  return true;
}

static bool s_endswith(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *p;
  if (!ax_arg_str(vm, "endswith", args, argc, 1, &p)) return false;
  *out = ax_bool(p->len <= SELF->len && memcmp(SELF->chars + SELF->len - p->len, p->chars, p->len) == 0);
  return true;
}

/* ---- format specs: {} {0} {name} {:.2f} {:5d} {:>8} {:<8} {:^8} {:08.3f} {:e} {:%} {:,} ---- */

static bool format_one(ax_vm *vm, ax_buf *b, ax_value v, const char *spec, size_t slen) {
  char fill = ' ', align = 0, type = 0, sign = 0;
  int width = -1, prec = -1;
  bool zero = false, comma = false;
  size_t i = 0;
  if (slen >= 2 && (spec[1] == '<' || spec[1] == '>' || spec[1] == '^')) { fill = spec[0]; align = spec[1]; i = 2; }
  else if (slen >= 1 && (spec[0] == '<' || spec[0] == '>' || spec[0] == '^')) { align = spec[0]; i = 1; }
  if (i < slen && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
  if (i < slen && spec[i] == '0') { zero = true; i++; }
  if (i < slen && isdigit((unsigned char)spec[i])) { width = 0; while (i < slen && isdigit((unsigned char)spec[i])) width = width * 10 + (spec[i++] - '0'); }
  if (i < slen && spec[i] == ',') { comma = true; i++; }
  if (i < slen && spec[i] == '.') { i++; prec = 0; while (i < slen && isdigit((unsigned char)spec[i])) prec = prec * 10 + (spec[i++] - '0'); }
  if (i < slen) type = spec[i++];
  if (i != slen) return ax_vm_raise(vm, "value", "format: bad format spec '%.*s'", (int)slen, spec);
  if (type == 0 && AX_IS_INT(v) && (comma || zero || sign)) type = 'd';
  char tmp[512];
  const char *body = NULL;
  size_t blen = 0;
  ax_buf vb = {0};
  char sgn[2] = {sign == '+' || sign == ' ' ? sign : 0, 0};
  switch (type) {
  case 'd':
    if (!AX_IS_INT(v) && !AX_IS_BOOL(v)) return ax_vm_raise(vm, "value", "format: '{:d}' needs an int, not '%s'", ax_type_name(v));
    blen = (size_t)snprintf(tmp, sizeof tmp, sign == '+' ? "%+lld" : sign == ' ' ? "% lld" : "%lld", (long long)(AX_IS_INT(v) ? v.as.i : v.as.b));
    body = tmp;
    break;
  case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case '%': {
    if (!AX_IS_NUM(v)) return ax_vm_raise(vm, "value", "format: '{:%c}' needs a number, not '%s'", type, ax_type_name(v));
    double d = ax_num(v);
    char f[16];
    if (type == '%') d *= 100;
    snprintf(f, sizeof f, "%%%s.%d%c", sgn[0] == '+' ? "+" : sgn[0] == ' ' ? " " : "", prec < 0 ? 6 : prec, type == '%' ? 'f' : type);
    blen = (size_t)snprintf(tmp, sizeof tmp, f, d);
    if (type == '%' && blen + 1 < sizeof tmp) { tmp[blen++] = '%'; tmp[blen] = 0; }
    body = tmp;
    break;
  }
  case 'x': case 'X': case 'o': case 'b':
    if (!AX_IS_INT(v)) return ax_vm_raise(vm, "value", "format: '{:%c}' needs an int", type);
    if (type == 'b') {
      uint64_t u = (uint64_t)v.as.i;
      char bits[70];
      int n = 0;
      do { bits[n++] = (char)('0' + (u & 1)); u >>= 1; } while (u);
      for (int j = 0; j < n; j++) tmp[j] = bits[n - 1 - j];
      blen = (size_t)n;
      tmp[blen] = 0;
    } else {
      char f[8] = {'%', 'l', 'l', type, 0};
      blen = (size_t)snprintf(tmp, sizeof tmp, f, (long long)v.as.i);
    }
    body = tmp;
    break;
  case 's': case 0:
    if (prec >= 0 && AX_IS_FLOAT(v) && type == 0) {
      blen = (size_t)snprintf(tmp, sizeof tmp, "%.*f", prec, v.as.f);
      body = tmp;
      break;
    }
    if (!ax_buf_value(vm, &vb, v, false, 0)) { ax_buf_free(&vb); return false; }
    body = vb.p ? vb.p : "";
    blen = vb.len;
    if (prec >= 0 && AX_IS_STRING(v) && (size_t)prec < blen) blen = (size_t)prec;
    if (!align && AX_IS_NUM(v)) align = '>';
    break;
  default:
    return ax_vm_raise(vm, "value", "format: unknown format type '%c'", type);
  }
  if (comma && body == tmp) {
    /* group the integer digits with commas */
    char g[600];
    size_t start = (tmp[0] == '-' || tmp[0] == '+') ? 1 : 0, intend = start;
    while (intend < blen && isdigit((unsigned char)tmp[intend])) intend++;
    size_t o = 0;
    for (size_t j = 0; j < start; j++) g[o++] = tmp[j];
    for (size_t j = start; j < intend; j++) {
      g[o++] = tmp[j];
      size_t left = intend - j - 1;
      if (left && left % 3 == 0) g[o++] = ',';
    }
    for (size_t j = intend; j < blen; j++) g[o++] = tmp[j];
    memcpy(tmp, g, o);
    blen = o;
  }
  if (!align) align = (type && type != 's') ? '>' : '<';
  size_t pad = width > 0 && (size_t)width > blen ? (size_t)width - blen : 0;
  if (zero && (type == 'd' || type == 'f' || type == 'e' || type == 'g' || type == 0) && AX_IS_NUM(v)) {
    size_t s0 = (body[0] == '-' || body[0] == '+') ? 1 : 0;
    ax_buf_add(b, body, s0);
    for (size_t j = 0; j < pad; j++) ax_buf_addc(b, '0');
    ax_buf_add(b, body + s0, blen - s0);
  } else {
    size_t left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
    for (size_t j = 0; j < left; j++) ax_buf_addc(b, fill);
    ax_buf_add(b, body, blen);
    for (size_t j = left; j < pad; j++) ax_buf_addc(b, fill);
  }
  ax_buf_free(&vb);
  return true;
}

bool ax_format_values(ax_vm *vm, const char *fn, ax_string *spec, ax_value *args, int argc, const ax_kw *kw, ax_value *out);
bool ax_format_values(ax_vm *vm, const char *fn, ax_string *spec, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_buf b = {0};
  const char *s = spec->chars;
  size_t n = spec->len;
  int next = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '{' && i + 1 < n && s[i + 1] == '{') { ax_buf_addc(&b, '{'); i++; continue; }
    if (c == '}' && i + 1 < n && s[i + 1] == '}') { ax_buf_addc(&b, '}'); i++; continue; }
    if (c != '{') { ax_buf_addc(&b, c); continue; }
    size_t j = i + 1;
    while (j < n && s[j] != '}') j++;
    if (j >= n) { ax_buf_free(&b); return ax_vm_raise(vm, "value", "%s(): unclosed '{' in format string", fn); }
    const char *field = s + i + 1;
    size_t flen = j - i - 1;
    const char *colon = memchr(field, ':', flen);
    size_t nlen = colon ? (size_t)(colon - field) : flen;
    ax_value v;
    if (nlen == 0) {
      if (next >= argc) { ax_buf_free(&b); return ax_vm_raise(vm, "index", "%s(): not enough arguments for the format string", fn); }
      v = args[next++];
    } else if (isdigit((unsigned char)field[0])) {
      int idx = atoi(field);
      if (idx >= argc) { ax_buf_free(&b); return ax_vm_raise(vm, "index", "%s(): no argument %d for the format string", fn, idx); }
      v = args[idx];
    } else {
      char name[128];
      snprintf(name, sizeof name, "%.*s", (int)(nlen < 127 ? nlen : 127), field);
      if (!ax_kw_get(kw, name, &v)) { ax_buf_free(&b); return ax_vm_raise(vm, "key", "%s(): no keyword argument '%s' for the format string", fn, name); }
    }
    if (!format_one(vm, &b, v, colon ? colon + 1 : "", colon ? flen - nlen - 1 : 0)) { ax_buf_free(&b); return false; }
    i = j;
  }
  if (b.oom) { ax_buf_free(&b); return ax_vm_oom(vm); }
  bool ok = ret_str(vm, b.p ? b.p : "", b.len, out);
  ax_buf_free(&b);
  return ok;
}

static bool s_format(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ax_format_values(vm, "format", SELF, args + 1, argc - 1, kw, out);
}

static const struct { const char *name; ax_native_fn fn; int arity; } methods[] = {
  {"len", s_len, 0}, {"split", s_split, -1}, {"join", s_join, 1}, {"find", s_find, 1},
  {"index", s_find, 1}, {"contains", s_contains, 1}, {"replace", s_replace, 2}, {"upper", s_upper, 0},
  {"lower", s_lower, 0}, {"strip", s_strip, 0}, {"startswith", s_startswith, 1}, {"endswith", s_endswith, 1},
  {"format", s_format, -1}};

bool ax_natives_string_init(ax_vm *vm) {
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (!ax_vm_register_method(vm, AX_O_STRING, methods[i].name, methods[i].fn, methods[i].arity)) return false;
  return true;
}
