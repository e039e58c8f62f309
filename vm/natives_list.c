/* vm/natives_list.c — list methods (push append pop insert remove extend index contains sort
** reverse copy len) and map methods (keys values items get has remove len copy).
** Invariant: methods receive the receiver as args[0]. */
#include <string.h>

#include "ax_vmint.h"

bool ax_sort_values(ax_vm *vm, ax_list *l, ax_value key, bool reverse);

#define LIST AX_AS_LIST(args[0])
#define MAP AX_AS_MAP(args[0])

static bool l_push(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_list_push(vm, LIST, args[1])) return ax_vm_oom(vm);
  *out = AX_NIL;
  return true;
}

static bool l_pop(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = LIST;
  if (!ax_arg_count(vm, "pop", argc - 1, 0, 1)) return false;
  if (l->len == 0) return ax_vm_raise(vm, "index", "pop() from an empty list");
  int64_t i = l->len - 1;
  if (argc == 2) {
    if (!ax_arg_int(vm, "pop", args, argc, 1, &i)) return false;
    if (i < 0) i += l->len;
    if (i < 0 || i >= l->len) return ax_vm_raise(vm, "index", "pop() index out of range");
  }
  *out = l->items[i];
  memmove(l->items + i, l->items + i + 1, sizeof(ax_value) * (size_t)(l->len - i - 1));
  l->len--;
  return true;
}

static bool l_insert(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = LIST;
  int64_t i;
  if (!ax_arg_int(vm, "insert", args, argc, 1, &i)) return false;
  if (i < 0) i += l->len;
  if (i < 0) i = 0;
  if (i > l->len) i = l->len;
  if (!ax_list_reserve(vm, l, l->len + 1)) return ax_vm_oom(vm);
  memmove(l->items + i + 1, l->items + i, sizeof(ax_value) * (size_t)(l->len - i));
  l->items[i] = args[2];
  l->len++;
  *out = AX_NIL;
  return true;
}

static bool find_index(ax_vm *vm, ax_list *l, ax_value v, int64_t *out) {
  for (int64_t i = 0; i < l->len; i++) {
    bool eq;
    if (!ax_vm_equal(vm, l->items[i], v, &eq)) return false;
    if (eq) { *out = i; return true; }
  }
  *out = -1;
  return true;
}

static bool l_remove(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = LIST;
  int64_t i;
  if (!find_index(vm, l, args[1], &i)) return false;
  if (i < 0) {
    ax_string *s = ax_vm_repr(vm, args[1]);
    return ax_vm_raise(vm, "value", "remove(): %s not in list", s ? s->chars : "value");
  }
  memmove(l->items + i, l->items + i + 1, sizeof(ax_value) * (size_t)(l->len - i - 1));
  l->len--;
  *out = AX_NIL;
  return true;
}

static bool l_extend(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = LIST;
  if (!AX_IS_LIST(args[1])) return ax_vm_raise(vm, "type", "extend(): argument must be a list, not '%s'", ax_type_name(args[1]));
  ax_list *o = AX_AS_LIST(args[1]);
  int64_t n = o->len;
  if (!ax_list_reserve(vm, l, l->len + n)) return ax_vm_oom(vm);
  memmove(l->items + l->len, o->items, sizeof(ax_value) * (size_t)n);
  l->len += n;
  *out = AX_NIL;
  return true;
}

static bool l_index(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t i;
  if (!find_index(vm, LIST, args[1], &i)) return false;
  if (i < 0) {
    ax_string *s = ax_vm_repr(vm, args[1]);
    return ax_vm_raise(vm, "value", "index(): %s not in list", s ? s->chars : "value");
  }
  *out = ax_int(i);
  return true;
}

static bool l_contains(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t i;
  if (!find_index(vm, LIST, args[1], &i)) return false;
  *out = ax_bool(i >= 0);
  return true;
}

static bool l_sort(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"key", "reverse", NULL};
  if (!ax_kw_check(vm, "sort", kw, allowed)) return false;
  ax_value key = AX_NIL, rev = AX_NIL;
  ax_kw_get(kw, "key", &key);
  ax_kw_get(kw, "reverse", &rev);
  if (!ax_sort_values(vm, LIST, key, ax_truthy_plain(rev))) return false;
  *out = AX_NIL;
  return true;
}

static bool l_reverse(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = LIST;
  for (int64_t i = 0, j = l->len - 1; i < j; i++, j--) {
    ax_value t = l->items[i];
    l->items[i] = l->items[j];
    l->items[j] = t;
  }
  *out = AX_NIL;
  return true;
}

static bool l_copy(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_list *l = LIST;
  ax_list *c = ax_list_new(vm, l->len);
  if (!c) return ax_vm_oom(vm);
  memcpy(c->items, l->items, sizeof(ax_value) * (size_t)l->len);
  c->len = l->len;
  *out = ax_obj_value(c);
  return true;
}

static bool l_len(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_int(LIST->len);
  return true;
}

/* ---- maps ---- */

static bool m_collect(ax_vm *vm, ax_value *args, ax_value *out, int what) {
  ax_map *m = MAP;
  ax_list *l = ax_list_new(vm, m->t.count);
  if (!l) return ax_vm_oom(vm);
  *out = ax_obj_value(l);
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&m->t, &pos, &e)) {
    ax_value v = what == 0 ? e->key : e->val;
    if (what == 2) {
      ax_list *p = ax_list_new(vm, 2);
      if (!p) return ax_vm_oom(vm);
      p->items[0] = e->key;
      p->items[1] = e->val;
      p->len = 2;
      v = ax_obj_value(p);
    }
    l->items[l->len++] = v;
  }
  return true;
}

static bool m_keys(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return m_collect(vm, args, out, 0); }
static bool m_values(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return m_collect(vm, args, out, 1); }
static bool m_items(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { return m_collect(vm, args, out, 2); }

static bool m_get(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "get", argc - 1, 1, 2)) return false;
  if (!ax_table_get(&MAP->t, args[1], out)) *out = argc == 3 ? args[2] : AX_NIL;
  return true;
}

static bool m_has(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_bool(ax_table_get(&MAP->t, args[1], NULL));
  return true;
}

static bool m_remove(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_value v;
  if (!ax_table_get(&MAP->t, args[1], &v)) {
    ax_string *s = ax_vm_repr(vm, args[1]);
    return ax_vm_raise(vm, "key", "remove(): key %s not found in map", s ? s->chars : "?");
  }
  ax_table_remove(&MAP->t, args[1]);
  *out = v;
  return true;
}

static bool m_len(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_int(MAP->t.count);
  return true;
}

static bool m_copy(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_map *src = MAP;
  ax_map *m = ax_map_new(vm);
  if (!m) return ax_vm_oom(vm);
  *out = ax_obj_value(m);
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&src->t, &pos, &e))
    if (!ax_map_set(vm, m, e->key, e->val)) return ax_vm_oom(vm);
  return true;
}

static const struct { int kind; const char *name; ax_native_fn fn; int arity; } methods[] = {
  {AX_O_LIST, "push", l_push, 1}, {AX_O_LIST, "append", l_push, 1}, {AX_O_LIST, "pop", l_pop, -1},
  {AX_O_LIST, "insert", l_insert, 2}, {AX_O_LIST, "remove", l_remove, 1}, {AX_O_LIST, "extend", l_extend, 1},
  {AX_O_LIST, "index", l_index, 1}, {AX_O_LIST, "contains", l_contains, 1}, {AX_O_LIST, "sort", l_sort, 0},
  {AX_O_LIST, "reverse", l_reverse, 0}, {AX_O_LIST, "copy", l_copy, 0}, {AX_O_LIST, "len", l_len, 0},
  {AX_O_MAP, "keys", m_keys, 0}, {AX_O_MAP, "values", m_values, 0}, {AX_O_MAP, "items", m_items, 0},
  {AX_O_MAP, "get", m_get, -1}, {AX_O_MAP, "has", m_has, 1}, {AX_O_MAP, "contains", m_has, 1},
  {AX_O_MAP, "remove", m_remove, 1}, {AX_O_MAP, "len", m_len, 0}, {AX_O_MAP, "copy", m_copy, 0}};

bool ax_natives_list_init(ax_vm *vm) {
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (!ax_vm_register_method(vm, (ax_okind)methods[i].kind, methods[i].name, methods[i].fn, methods[i].arity)) return false;
  return true;
}
