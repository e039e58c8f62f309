/* parser/resolve.c — name resolution for the compiler: block scopes, locals, Lua-style upvalues,
** module (global) slots declared by a pre-pass over the top level, prelude slots, network member
** names (-> self.<name>), constness and "did you mean" hints.
** Invariant: a local's slot index equals its position in cl_fn.locals. */
#include <stdio.h>
#include <string.h>

#define AX_COMPILE_INTERNAL
#include "compile_int.h"
#include "ax_mem.h"

int ax_edit_distance(const char *a, const char *b, int cap) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return cap + 1;
  int row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int prev = row[0], best;
    row[0] = (int)i;
    best = row[0];
    for (size_t j = 1; j <= lb; j++) {
      int cur = row[j];
      int sub = prev + (a[i - 1] != b[j - 1]);
      int v = row[j] + 1;
      if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
      if (sub < v) v = sub;
      row[j] = v;
      prev = cur;
      if (v < best) best = v;
    }
    if (best > cap) return cap + 1;
  }
  return row[lb];
}

/* ---- scopes and locals ---- */

int cl_add_local(compiler *c, const char *name, bool is_const, const ax_node *at) {
  cl_fn *f = c->fn;
  if (f->nlocals >= AX_MAX_LOCALS) {
    cl_error(c, at, "too many local variables in one function (at most %d)", AX_MAX_LOCALS);
    return -1;
  }
  cl_local *l = &f->locals[f->nlocals++];
  l->name = name;
  l->depth = f->depth;
  l->is_const = is_const;
  l->captured = false;
  l->locvar = f->proto ? cl_add_locvar(f->proto, name, f->nlocals - 1, f->proto->code_len) : -1;
  return f->nlocals - 1;
}

int cl_add_locvar(ax_proto *p, const char *name, int slot, int startpc) {
  if (!name || !name[0] || name[0] == '(') return -1;   /* debug info only: no room, no entry */
  if (p->nlocvars == p->locvars_cap) {
    int ncap = p->locvars_cap ? p->locvars_cap * 2 : 8;
    ax_locvar *nv = ax_realloc(p->locvars, sizeof(ax_locvar) * (size_t)p->locvars_cap, sizeof(ax_locvar) * (size_t)ncap);
    if (!nv) return -1;
    p->locvars = nv;
    p->locvars_cap = ncap;
  }
  size_t len = strlen(name) + 1;
  char *nm = ax_malloc(len);
  if (!nm) return -1;
  memcpy(nm, name, len);
  p->locvars[p->nlocvars] = (ax_locvar){nm, slot, startpc, INT32_MAX};
  return p->nlocvars++;
}

int cl_find_local(cl_fn *f, const char *name) {
  for (int i = f->nlocals - 1; i >= 0; i--)
    if (f->locals[i].name && strcmp(f->locals[i].name, name) == 0) return i;
  return -1;
}

static int add_upval(compiler *c, cl_fn *f, int index, bool is_local, bool is_const, const char *name) {
  for (int i = 0; i < f->nupvals; i++)
    if (f->upvals[i].index == index && f->upvals[i].is_local == is_local) return i;
  if (f->nupvals >= AX_MAX_UPVALS) {
    cl_error(c, NULL, "too many captured variables in one function (at most %d)", AX_MAX_UPVALS);
    return 0;
  }
  cl_upval *u = &f->upvals[f->nupvals];
  u->index = (uint8_t)index;
  u->is_local = is_local;
  u->is_const = is_const;
  u->name = name;
  return f->nupvals++;
}

int cl_find_upval(compiler *c, cl_fn *f, const char *name, bool *is_const) {
  if (!f->enclosing) return -1;
  int l = cl_find_local(f->enclosing, name);
  if (l >= 0) {
    f->enclosing->locals[l].captured = true;
    *is_const = f->enclosing->locals[l].is_const;
    return add_upval(c, f, l, true, *is_const, name);
  }
  int u = cl_find_upval(c, f->enclosing, name, is_const);
  if (u >= 0) return add_upval(c, f, u, false, *is_const, name);
  return -1;
}

/* Network member visible from a pulse/fn body of the network (innermost function outward). */
bool cl_is_net_member(compiler *c, const char *name) {
  for (cl_fn *f = c->fn; f; f = f->enclosing) {
    if (!f->net) continue;
    for (int i = 0; i < f->net->nmembers; i++)
      if (strcmp(f->net->members[i], name) == 0) return true;
    return false;
  }
  return false;
}

/* Resolve a read of `name`. */
cl_ref cl_resolve(compiler *c, const char *name) {
  cl_ref r = {CL_UNRESOLVED, 0, false};
  int l = cl_find_local(c->fn, name);
  if (l >= 0) { r.kind = CL_LOCAL; r.index = l; r.is_const = c->fn->locals[l].is_const; return r; }
  bool k = false;
  int u = cl_find_upval(c, c->fn, name, &k);
  if (u >= 0) { r.kind = CL_UPVAL; r.index = u; r.is_const = k; return r; }
  if (cl_is_net_member(c, name)) { r.kind = CL_NETMEMBER; return r; }
  ax_string *s = ax_str_cstr(c->vm, name);
  if (!s) return r;
  int g = ax_module_find(c->mod, s);
  if (g >= 0) { r.kind = CL_GLOBAL; r.index = g; r.is_const = c->mod->var_const[g]; return r; }
  g = ax_module_find(c->vm->builtins, s);
  if (g >= 0) { r.kind = CL_BUILTIN; r.index = g; r.is_const = true; return r; }
  return r;
}

/* ---- hints ---- */

static void consider(const char *cand, const char *name, const char **best, int *bestd) {
  if (!cand || !*cand || strcmp(cand, name) == 0) return;
  int cap = (int)strlen(name) / 3 + 1;
  if (cap > 3) cap = 3;
  int d = ax_edit_distance(name, cand, cap);
  if (d <= cap && d < *bestd) { *bestd = d; *best = cand; }
}

const char *cl_hint(compiler *c, const char *name, bool include_builtins) {
  const char *best = NULL;
  int bestd = 99;
  for (cl_fn *f = c->fn; f; f = f->enclosing)
    for (int i = 0; i < f->nlocals; i++) consider(f->locals[i].name, name, &best, &bestd);
  uint32_t pos = 0;
  ax_entry *e;
  while (ax_table_next(&c->mod->names, &pos, &e)) consider(AX_AS_STRING(e->key)->chars, name, &best, &bestd);
  if (include_builtins) {
    pos = 0;
    while (ax_table_next(&c->vm->builtins->names, &pos, &e))
      consider(AX_AS_STRING(e->key)->chars, name, &best, &bestd);
  }
  return best;
}

/* ---- pre-pass: declare every top-level name so functions may use them before their line ---- */

static void declare_global(compiler *c, const char *name, bool is_const, const ax_node *at) {
  ax_string *s = ax_str_cstr(c->vm, name);
  if (!s) { cl_error(c, at, "out of memory"); return; }
  int existing = ax_module_find(c->mod, s);
  int slot = ax_module_declare(c->vm, c->mod, s, is_const);
  if (slot < 0) { cl_error(c, at, "out of memory"); return; }
  if (existing >= 0 && c->repl) c->mod->var_const[slot] = is_const;
  else if (existing >= 0 && is_const) c->mod->var_const[slot] = 1;
}

void cl_predeclare(compiler *c, const ax_node *program) {
  for (int i = 0; i < program->list.n; i++) {
    const ax_node *s = program->list.items[i];
    switch (s->kind) {
    case AX_N_DECL:
      for (int j = 0; j < s->list.n; j++)
        declare_global(c, s->list.items[j]->name, s->op == AX_DECL_LET, s);
      break;
    case AX_N_FNDECL: declare_global(c, s->name, false, s); break;
    case AX_N_NETWORK: declare_global(c, s->name, true, s); break;
    case AX_N_IMPORT:
      if (s->name) declare_global(c, s->name, true, s);
      else if (s->list.n) declare_global(c, s->list.items[s->list.n - 1]->name, true, s);
      break;
    case AX_N_FROM_IMPORT:
      for (int j = 0; j < s->list.n; j++) declare_global(c, s->list.items[j]->name, true, s);
      break;
    case AX_N_PULSE: {
      const ax_node *out = s->list.items[s->list.n - 1];
      if (out->kind == AX_N_NAME) {
        ax_string *nm = ax_str_cstr(c->vm, out->name);
        if (nm && ax_module_find(c->mod, nm) < 0) declare_global(c, out->name, false, s);
      }
      break;
    }
    default: break;
    }
  }
}
