/* parser/compile.c — AST -> bytecode for the anx VM (one pass; names resolved by resolve.c).
** Emits the X-macro bytecodes of vm/ax_opcodes.h with a run-length line/column table, folds
** constant arithmetic, and lowers network declarations to a spec map + AX_BC_NETWORK.
** Invariant: after compiling an expression exactly one value was pushed (fn->sp + 1). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AX_COMPILE_INTERNAL
#include "compile_int.h"

#include "ax_mem.h"

static void expr(compiler *c, const ax_node *n);
static void stmt(compiler *c, const ax_node *n);
static void block(compiler *c, const ax_node *n, bool new_scope);

void cl_error(compiler *c, const ax_node *at, const char *fmt, ...) {
  c->errors++;
  ax_diags *d = c->diags;
  if (!d) return;
  if (d->n == d->cap) {
    int ncap = d->cap ? d->cap * 2 : 8;
    ax_diag *ni = ax_realloc(d->items, sizeof(ax_diag) * (size_t)d->cap, sizeof(ax_diag) * (size_t)ncap);
    if (!ni) return;
    d->items = ni;
    d->cap = ncap;
  }
  ax_diag *g = &d->items[d->n++];
  g->file = c->file;
  g->line = at ? at->line : c->fn->line;
  g->col = at ? at->col : c->fn->col;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->msg, sizeof g->msg, fmt, ap);
  va_end(ap);
}

/* ---- emitting ---- */

static void at(compiler *c, const ax_node *n) {
  if (n && n->line > 0) { c->fn->line = n->line; c->fn->col = n->col; }
}

static void emit_byte(compiler *c, uint8_t b) {
  ax_proto *p = c->fn->proto;
  if (p->code_len == p->code_cap) {
    int32_t ncap = p->code_cap ? p->code_cap * 2 : 64;
    uint8_t *nc = ax_realloc(p->code, (size_t)p->code_cap, (size_t)ncap);
    if (!nc) { cl_error(c, NULL, "out of memory"); return; }
    c->vm->heap_bytes += (size_t)(ncap - p->code_cap);
    p->code = nc;
    p->code_cap = ncap;
  }
  int line = c->fn->line, col = c->fn->col;
  if (!p->nlines || p->lines[p->nlines - 1].line != line || p->lines[p->nlines - 1].col != col) {
    if (p->nlines && p->lines[p->nlines - 1].pc == p->code_len) {
      p->lines[p->nlines - 1].line = line;
      p->lines[p->nlines - 1].col = col;
    } else {
      if (p->nlines == p->lines_cap) {
        int32_t ncap = p->lines_cap ? p->lines_cap * 2 : 16;
        ax_lineinfo *nl = ax_realloc(p->lines, sizeof(ax_lineinfo) * (size_t)p->lines_cap,
                                     sizeof(ax_lineinfo) * (size_t)ncap);
        if (!nl) { cl_error(c, NULL, "out of memory"); return; }
        c->vm->heap_bytes += sizeof(ax_lineinfo) * (size_t)(ncap - p->lines_cap);
        p->lines = nl;
        p->lines_cap = ncap;
      }
      p->lines[p->nlines++] = (ax_lineinfo){p->code_len, line, col};
    }
  }
  p->code[p->code_len++] = b;
}

static void push_sp(compiler *c, int delta) {
  c->fn->sp += delta;
  if (c->fn->sp > c->fn->proto->max_stack) c->fn->proto->max_stack = c->fn->sp;
}

static void emit_opv(compiler *c, ax_bytecode op, int delta) {
  emit_byte(c, (uint8_t)op);
  push_sp(c, delta);
}

static void emit_op(compiler *c, ax_bytecode op) {
  int e = ax_bc_stack_effect[op];
  emit_opv(c, op, e == AX_VAR ? 0 : e);
}

static void emit_u16(compiler *c, int v) {
  emit_byte(c, (uint8_t)(v & 0xff));
  emit_byte(c, (uint8_t)((v >> 8) & 0xff));
}

static int add_const(compiler *c, ax_value v) {
  ax_proto *p = c->fn->proto;
  for (int i = 0; i < p->nconsts; i++) {
    ax_value k = p->consts[i];
    if (k.type != v.type) continue;
    if ((v.type == AX_V_INT && k.as.i == v.as.i) || (v.type == AX_V_OBJ && k.as.o == v.as.o)) return i;
    if (v.type == AX_V_FLOAT && memcmp(&k.as.f, &v.as.f, sizeof(double)) == 0) return i;
  }
  if (p->nconsts >= 65535) { cl_error(c, NULL, "too many constants in one function"); return 0; }
  if (p->nconsts == p->consts_cap) {
    int32_t ncap = p->consts_cap ? p->consts_cap * 2 : 8;
    ax_value *nk = ax_realloc(p->consts, sizeof(ax_value) * (size_t)p->consts_cap, sizeof(ax_value) * (size_t)ncap);
    if (!nk) { cl_error(c, NULL, "out of memory"); return 0; }
    c->vm->heap_bytes += sizeof(ax_value) * (size_t)(ncap - p->consts_cap);
    p->consts = nk;
    p->consts_cap = ncap;
  }
  p->consts[p->nconsts] = v;
  return p->nconsts++;
}

static int str_const(compiler *c, const char *s, size_t len) {
  ax_string *str = ax_str_new(c->vm, s, len);
  if (!str) { cl_error(c, NULL, "out of memory"); return 0; }
  return add_const(c, ax_obj_value(str));
}

static int name_const(compiler *c, const char *s) { return str_const(c, s, strlen(s)); }

static void emit_const(compiler *c, ax_value v) {
  if (v.type == AX_V_INT && v.as.i >= -32768 && v.as.i <= 32767) {
    emit_op(c, AX_BC_SMALLINT);
    emit_u16(c, (int)(uint16_t)(int16_t)v.as.i);
    return;
  }
  int k = add_const(c, v);
  emit_op(c, AX_BC_CONST);
  emit_u16(c, k);
}

static int emit_jump(compiler *c, ax_bytecode op) {
  emit_op(c, op);
  emit_u16(c, 0xffff);
  return c->fn->proto->code_len - 2;
}

static void patch_jump(compiler *c, int pos) {
  ax_proto *p = c->fn->proto;
  int off = p->code_len - (pos + 2);
  if (off > 65535) { cl_error(c, NULL, "function too large: a jump spans more than 64 KiB of bytecode"); return; }
  p->code[pos] = (uint8_t)(off & 0xff);
  p->code[pos + 1] = (uint8_t)(off >> 8);
}

static void emit_loop(compiler *c, int start) {
  emit_op(c, AX_BC_LOOP);
  int off = c->fn->proto->code_len + 2 - start;
  if (off > 65535) { cl_error(c, NULL, "loop body too large (more than 64 KiB of bytecode)"); off = 0; }
  emit_u16(c, off);
}

/* ---- scopes ---- */

static void begin_scope(compiler *c) { c->fn->depth++; }

/* Pop the locals above `keep` without forgetting them (break/continue paths). */
static void emit_pops_to(compiler *c, int keep) {
  cl_fn *f = c->fn;
  int n = f->nlocals - keep;
  if (n <= 0) return;
  int save = f->sp;
  emit_op(c, AX_BC_CLOSE_FROM);
  emit_byte(c, (uint8_t)keep);
  emit_opv(c, AX_BC_POPN, -n);
  emit_byte(c, (uint8_t)n);
  f->sp = save;
}

static void end_scope(compiler *c) {
  cl_fn *f = c->fn;
  f->depth--;
  int npop = 0;
  while (f->nlocals > 0 && f->locals[f->nlocals - 1].depth > f->depth) {
    if (f->locals[f->nlocals - 1].locvar >= 0) f->proto->locvars[f->locals[f->nlocals - 1].locvar].endpc = f->proto->code_len;
    if (f->locals[f->nlocals - 1].captured) {
      if (npop) { emit_opv(c, AX_BC_POPN, -npop); emit_byte(c, (uint8_t)npop); npop = 0; }
      emit_op(c, AX_BC_CLOSE_UPVAL);
    } else {
      npop++;
    }
    f->nlocals--;
  }
  if (npop == 1) emit_op(c, AX_BC_POP);
  else if (npop) { emit_opv(c, AX_BC_POPN, -npop); emit_byte(c, (uint8_t)npop); }
}

/* The value on top of the stack becomes local `name`. */
static void bind_local(compiler *c, const char *name, bool is_const, const ax_node *n) {
  int slot = cl_add_local(c, name, is_const, n);
  if (slot >= 0 && slot != c->fn->sp - 1) cl_error(c, n, "internal: local slot mismatch for '%s'", name);
}

static bool at_toplevel(compiler *c) { return c->fn->toplevel && c->fn->depth == 0; }

static void set_global(compiler *c, const char *name, const ax_node *n) {
  ax_string *s = ax_str_cstr(c->vm, name);
  int g = s ? ax_module_find(c->mod, s) : -1;
  if (g < 0 && s) g = ax_module_declare(c->vm, c->mod, s, false);
  if (g < 0) { cl_error(c, n, "out of memory"); return; }
  at(c, n);
  emit_op(c, AX_BC_SET_GLOBAL);
  emit_u16(c, g);
}

/* Declare: the value on top of the stack binds `name` (global at top level, local otherwise). */
static void declare_value(compiler *c, const char *name, bool is_const, const ax_node *n) {
  if (at_toplevel(c)) set_global(c, name, n);
  else bind_local(c, name, is_const, n);
}

/* ---- constant folding ---- */

static bool lit_value(const ax_node *n, ax_value *out) {
  if (!n) return false;
  if (n->kind == AX_N_INT) { *out = ax_int(n->ival); return true; }
  if (n->kind == AX_N_FLOAT) { *out = ax_float(n->fval); return true; }
  return false;
}

static bool fold(const ax_node *n, ax_value *out);

static bool fold_num(const ax_node *n, ax_value *out) {
  if (lit_value(n, out)) return true;
  return fold(n, out);
}

static bool fold(const ax_node *n, ax_value *out) {
  ax_value a, b;
  if (n->kind == AX_N_UNARY) {
    if (!fold_num(n->a, &a)) return false;
    if (n->op == '+') { *out = a; return true; }
    if (a.type == AX_V_INT) {
      if (a.as.i == INT64_MIN) return false;
      *out = ax_int(-a.as.i);
    } else {
      *out = ax_float(-a.as.f);
    }
    return true;
  }
  if (n->kind != AX_N_BINARY) return false;
  if (!fold_num(n->a, &a) || !fold_num(n->b, &b)) return false;
  if (a.type == AX_V_INT && b.type == AX_V_INT) {
    int64_t x = a.as.i, y = b.as.i, r;
    switch (n->op) {
    case AX_OP_ADD: if (__builtin_add_overflow(x, y, &r)) return false; *out = ax_int(r); return true;
    case AX_OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return false; *out = ax_int(r); return true;
    case AX_OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return false; *out = ax_int(r); return true;
    case AX_OP_DIV: if (y == 0) return false; *out = ax_float((double)x / (double)y); return true;
    default: return false;
    }
  }
  double x = ax_num(a), y = ax_num(b);
  switch (n->op) {
  case AX_OP_ADD: *out = ax_float(x + y); return true;
  case AX_OP_SUB: *out = ax_float(x - y); return true;
  case AX_OP_MUL: *out = ax_float(x * y); return true;
  case AX_OP_DIV: if (y == 0) return false; *out = ax_float(x / y); return true;
  default: return false;
  }
}

/* ---- expressions ---- */

static void name_get(compiler *c, const ax_node *n) {
  at(c, n);
  cl_ref r = cl_resolve(c, n->name);
  bool thunk = c->fn->net && c->fn->net->members == NULL;
  if (thunk && r.kind == CL_BUILTIN && !c->callee) r.kind = CL_UNRESOLVED;   /* `activation: relu` */
  switch (r.kind) {
  case CL_LOCAL: emit_op(c, AX_BC_GET_LOCAL); emit_byte(c, (uint8_t)r.index); return;
  case CL_UPVAL: emit_op(c, AX_BC_GET_UPVAL); emit_byte(c, (uint8_t)r.index); return;
  case CL_GLOBAL: emit_op(c, AX_BC_GET_GLOBAL); emit_u16(c, r.index); return;
  case CL_BUILTIN: emit_op(c, AX_BC_GET_BUILTIN); emit_u16(c, r.index); return;
  case CL_NETMEMBER: {
    ax_node self = *n;
    self.kind = AX_N_SELF;
    expr(c, &self);
    int k = name_const(c, n->name);
    at(c, n);
    emit_op(c, AX_BC_GET_FIELD);
    emit_u16(c, k);
    return;
  }
  case CL_UNRESOLVED:
    if (thunk) {   /* property thunk: a bare name that is no user binding is a symbol */
      emit_op(c, AX_BC_CONST);
      emit_u16(c, name_const(c, n->name));
      return;
    }
    {
      const char *h = cl_hint(c, n->name, true);
      if (h) cl_error(c, n, "undefined name '%s' (did you mean '%s'?)", n->name, h);
      else cl_error(c, n, "undefined name '%s'", n->name);
      push_sp(c, 1);
    }
    return;
  }
}

static void args(compiler *c, const ax_nodelist *l, int *npos, int *nkw, int *kwnames) {
  *npos = *nkw = 0;
  ax_list *names = NULL;
  for (int i = 0; i < l->n; i++) {
    const ax_node *a = l->items[i];
    if (a->kind == AX_N_KWARG) {
      if (!names) {
        names = ax_list_new(c->vm, 4);
        if (!names) { cl_error(c, a, "out of memory"); return; }
        *kwnames = add_const(c, ax_obj_value(names));
      }
      for (int j = 0; j < names->len; j++)
        if (strcmp(AX_AS_STRING(names->items[j])->chars, a->name) == 0)
          cl_error(c, a, "keyword argument '%s' given twice", a->name);
      ax_string *s = ax_str_cstr(c->vm, a->name);
      if (!s || !ax_list_push(c->vm, names, ax_obj_value(s))) cl_error(c, a, "out of memory");
      expr(c, a->a);
      (*nkw)++;
    } else {
      if (*nkw) cl_error(c, a, "positional argument after keyword arguments");
      expr(c, a);
      (*npos)++;
    }
  }
  if (*npos + *nkw > 255) cl_error(c, l->items[0], "too many arguments (at most 255)");
}

static void call(compiler *c, const ax_node *n) {
  const ax_node *callee = n->a;
  int npos, nkw, kwk = 0;
  if (callee->kind == AX_N_FIELD) {
    expr(c, callee->a);
    args(c, &n->list, &npos, &nkw, &kwk);
    int k = name_const(c, callee->name);
    at(c, n);
    if (nkw) {
      emit_opv(c, AX_BC_INVOKE_KW, -(npos + nkw));
      emit_u16(c, k); emit_byte(c, (uint8_t)npos); emit_byte(c, (uint8_t)nkw); emit_u16(c, kwk);
    } else {
      emit_opv(c, AX_BC_INVOKE, -npos);
      emit_u16(c, k); emit_byte(c, (uint8_t)npos);
    }
    return;
  }
  c->callee = callee->kind == AX_N_NAME;
  expr(c, callee);
  c->callee = false;
  args(c, &n->list, &npos, &nkw, &kwk);
  at(c, n);
  if (nkw) {
    emit_opv(c, AX_BC_CALL_KW, -(npos + nkw));
    emit_byte(c, (uint8_t)npos); emit_byte(c, (uint8_t)nkw); emit_u16(c, kwk);
  } else {
    emit_opv(c, AX_BC_CALL, -npos);
    emit_byte(c, (uint8_t)npos);
  }
}

static void index_items(compiler *c, const ax_nodelist *l) {
  for (int i = 0; i < l->n; i++) {
    const ax_node *ix = l->items[i];
    if (ix->kind == AX_N_SLICE) {
      int flags = 0, cnt = 0;
      if (ix->a) { expr(c, ix->a); flags |= 1; cnt++; }
      if (ix->b) { expr(c, ix->b); flags |= 2; cnt++; }
      if (ix->c) { expr(c, ix->c); flags |= 4; cnt++; }
      at(c, ix);
      emit_opv(c, AX_BC_SLICE, 1 - cnt);
      emit_byte(c, (uint8_t)flags);
    } else {
      expr(c, ix);
    }
  }
  if (l->n > 255) cl_error(c, l->items[0], "too many indices");
}

static void function(compiler *c, const ax_node *n, const char *name, const ax_nodelist *params,
                     const ax_node *body, bool expr_body, bool with_self, cl_net *net);

static void seq_literal(compiler *c, const ax_node *n, bool is_map) {
  const ax_nodelist *l = &n->list;
  int done = 0;
  bool first = true;
  while (first || done < l->n) {
    int chunk = l->n - done;
    if (chunk > 32) chunk = 32;
    for (int i = 0; i < chunk; i++) {
      const ax_node *e = l->items[done + i];
      if (is_map) {
        if (e->a->kind == AX_N_STRING) { emit_op(c, AX_BC_CONST); emit_u16(c, str_const(c, e->a->str, e->a->len)); }
        else expr(c, e->a);
        expr(c, e->b);
      } else {
        expr(c, e);
      }
    }
    at(c, n);
    int per = is_map ? 2 : 1;
    if (first) emit_opv(c, is_map ? AX_BC_BUILD_MAP : AX_BC_BUILD_LIST, 1 - per * chunk);
    else emit_opv(c, is_map ? AX_BC_MAP_SET_N : AX_BC_LIST_APPEND_N, -per * chunk);
    emit_byte(c, (uint8_t)chunk);
    done += chunk;
    first = false;
  }
}

static void expr(compiler *c, const ax_node *n) {
  if (++c->depth > AX_MAX_NESTING * 4) {
    cl_error(c, n, "expression nested too deeply");
    push_sp(c, 1);
    c->depth--;
    return;
  }
  ax_value v;
  switch (n->kind) {
  case AX_N_INT: at(c, n); emit_const(c, ax_int(n->ival)); break;
  case AX_N_FLOAT: at(c, n); emit_const(c, ax_float(n->fval)); break;
  case AX_N_STRING: at(c, n); emit_op(c, AX_BC_CONST); emit_u16(c, str_const(c, n->str, n->len)); break;
  case AX_N_TRUE: at(c, n); emit_op(c, AX_BC_TRUE); break;
  case AX_N_FALSE: at(c, n); emit_op(c, AX_BC_FALSE); break;
  case AX_N_NIL: at(c, n); emit_op(c, AX_BC_NIL); break;
  case AX_N_SELF: {
    cl_ref r = cl_resolve(c, "self");
    at(c, n);
    if (r.kind == CL_LOCAL) { emit_op(c, AX_BC_GET_LOCAL); emit_byte(c, (uint8_t)r.index); }
    else if (r.kind == CL_UPVAL) { emit_op(c, AX_BC_GET_UPVAL); emit_byte(c, (uint8_t)r.index); }
    else { cl_error(c, n, "'self' is only available inside a network's pulse or fn"); push_sp(c, 1); }
    break;
  }
  case AX_N_NAME: name_get(c, n); break;
  case AX_N_LIST: seq_literal(c, n, false); break;
  case AX_N_MAP: seq_literal(c, n, true); break;
  case AX_N_UNARY:
    if (fold(n, &v)) { at(c, n); emit_const(c, v); break; }
    expr(c, n->a);
    if (n->op == '-') { at(c, n); emit_op(c, AX_BC_NEG); }
    else { at(c, n); emit_op(c, AX_BC_SMALLINT); emit_u16(c, 0); emit_op(c, AX_BC_ADD); }
    break;
  case AX_N_NOT: expr(c, n->a); at(c, n); emit_op(c, AX_BC_NOT); break;
  case AX_N_BINARY: {
    if (fold(n, &v)) { at(c, n); emit_const(c, v); break; }
    static const ax_bytecode ops[] = {
      [AX_OP_ADD] = AX_BC_ADD, [AX_OP_SUB] = AX_BC_SUB, [AX_OP_MUL] = AX_BC_MUL, [AX_OP_DIV] = AX_BC_DIV,
      [AX_OP_MOD] = AX_BC_MOD, [AX_OP_POW] = AX_BC_POW, [AX_OP_MATMUL] = AX_BC_MATMUL, [AX_OP_EQ] = AX_BC_EQ,
      [AX_OP_NE] = AX_BC_NE, [AX_OP_LT] = AX_BC_LT, [AX_OP_LE] = AX_BC_LE, [AX_OP_GT] = AX_BC_GT,
      [AX_OP_GE] = AX_BC_GE};
    if (n->op < AX_OP_ADD || n->op > AX_OP_GE) { cl_error(c, n, "internal: bad operator %d", n->op); push_sp(c, 1); break; }
    expr(c, n->a);
    if ((n->op == AX_OP_ADD || n->op == AX_OP_SUB) && n->b->kind == AX_N_INT && n->b->ival >= -32768 &&
        n->b->ival <= 32767) {
      at(c, n);
      emit_op(c, n->op == AX_OP_ADD ? AX_BC_ADD_I : AX_BC_SUB_I);
      emit_u16(c, (int)(uint16_t)(int16_t)n->b->ival);
      break;
    }
    expr(c, n->b);
    at(c, n);
    emit_op(c, ops[n->op]);
    break;
  }
  case AX_N_AND:
  case AX_N_OR: {
    expr(c, n->a);
    at(c, n);
    int j = emit_jump(c, n->kind == AX_N_AND ? AX_BC_JUMP_FALSE_KEEP : AX_BC_JUMP_TRUE_KEEP);
    emit_op(c, AX_BC_POP);
    expr(c, n->b);
    patch_jump(c, j);
    break;
  }
  case AX_N_RANGE: expr(c, n->a); expr(c, n->b); at(c, n); emit_op(c, AX_BC_RANGE); break;
  case AX_N_CALL: call(c, n); break;
  case AX_N_INDEX:
    expr(c, n->a);
    index_items(c, &n->list);
    at(c, n);
    emit_opv(c, AX_BC_GET_INDEX, -n->list.n);
    emit_byte(c, (uint8_t)n->list.n);
    break;
  case AX_N_FIELD: {
    expr(c, n->a);
    int k = name_const(c, n->name);
    at(c, n);
    emit_op(c, AX_BC_GET_FIELD);
    emit_u16(c, k);
    break;
  }
  case AX_N_LAMBDA: function(c, n, "<lambda>", &n->list, n->a, n->op == 1, false, NULL); break;
  case AX_N_SLICE:
    cl_error(c, n, "a slice 'a:b' is only allowed inside brackets");
    push_sp(c, 1);
    break;
  default:
    cl_error(c, n, "internal: unexpected %s in an expression", ax_node_kind_names[n->kind]);
    push_sp(c, 1);
    break;
  }
  c->depth--;
}

/* ---- functions ---- */

static void function(compiler *c, const ax_node *n, const char *name, const ax_nodelist *params,
                     const ax_node *body, bool expr_body, bool with_self, cl_net *net) {
  cl_fn *f = ax_calloc(1, sizeof(cl_fn));
  if (!f) { cl_error(c, n, "out of memory"); push_sp(c, 1); return; }
  ax_string *nm = ax_str_cstr(c->vm, name);
  f->proto = nm ? ax_proto_new(c->vm, c->mod, nm) : NULL;
  if (!f->proto) { ax_free(f, sizeof(cl_fn)); cl_error(c, n, "out of memory"); push_sp(c, 1); return; }
  f->enclosing = c->fn;
  f->net = net;
  f->line = n->line;
  f->col = n->col;
  c->fn = f;
  f->locals[0].name = "";
  f->locals[0].locvar = -1;
  f->locals[0].depth = 0;
  f->nlocals = 1;
  f->sp = 1;
  f->depth = 1;
  int np = (with_self ? 1 : 0) + params->n;
  ax_proto *p = f->proto;
  p->nparams = np;
  p->param_names = ax_calloc((size_t)(np ? np : 1), sizeof(ax_string *));
  p->param_has_default = ax_calloc((size_t)(np ? np : 1), 1);
  if (!p->param_names || !p->param_has_default) {   /* both or neither */
    ax_free(p->param_names, (size_t)(np ? np : 1) * sizeof(ax_string *));
    ax_free(p->param_has_default, (size_t)(np ? np : 1));
    p->param_names = NULL;
    p->param_has_default = NULL;
    cl_error(c, n, "out of memory");
  } else {
    c->vm->heap_bytes += (size_t)(np ? np : 1) * (sizeof(ax_string *) + 1);
  }
  int pi = 0;
  if (with_self) {
    if (p->param_names) {
      p->param_names[pi] = ax_str_cstr(c->vm, "self");
      if (!p->param_names[pi++]) cl_error(c, n, "out of memory");
    }
    cl_add_local(c, "self", false, n);
    push_sp(c, 1);
  }
  for (int i = 0; i < params->n; i++) {
    const ax_node *pm = params->items[i];
    for (int j = 0; j < i; j++)
      if (strcmp(params->items[j]->name, pm->name) == 0) cl_error(c, pm, "parameter '%s' appears twice", pm->name);
    if (p->param_names) {
      p->param_names[pi] = ax_str_cstr(c->vm, pm->name);
      p->param_has_default[pi] = pm->a != NULL;
      if (!p->param_names[pi]) cl_error(c, pm, "out of memory");
    }
    if (!pm->a) p->nrequired = pi + 1;
    pi++;
    cl_add_local(c, pm->name, false, pm);
    push_sp(c, 1);
  }
  if (np > 250) cl_error(c, n, "too many parameters (at most 250)");
  /* default values are evaluated per call, in the callee */
  for (int i = 0; i < params->n; i++) {
    const ax_node *pm = params->items[i];
    if (!pm->a) continue;
    int slot = (with_self ? 1 : 0) + i + 1;
    at(c, pm);
    emit_op(c, AX_BC_JUMP_IF_DEF);
    emit_byte(c, (uint8_t)slot);
    emit_u16(c, 0xffff);
    int j = p->code_len - 2;
    expr(c, pm->a);
    at(c, pm);
    emit_op(c, AX_BC_SET_LOCAL);
    emit_byte(c, (uint8_t)slot);
    patch_jump(c, j);
  }
  if (expr_body) {
    expr(c, body);
    at(c, body);
    emit_op(c, AX_BC_RETURN);
  } else {
    block(c, body, false);
    f->line = n->line;
    if (body && body->kind == AX_N_BLOCK && body->list.n) {
      const ax_node *last = body->list.items[body->list.n - 1];
      f->line = last->line;
      f->col = last->col;
    }
    emit_op(c, AX_BC_NIL);
    emit_op(c, AX_BC_RETURN);
  }
  p->nupvals = f->nupvals;
  for (int i = 0; i < f->nupvals; i++) cl_add_locvar(p, f->upvals[i].name, -1 - i, 0);   /* debugger */
  c->fn = f->enclosing;
  at(c, n);
  int k = add_const(c, ax_obj_value(p));
  emit_op(c, AX_BC_CLOSURE);
  emit_u16(c, k);
  for (int i = 0; i < f->nupvals; i++) {
    emit_byte(c, f->upvals[i].is_local ? 1 : 0);
    emit_byte(c, f->upvals[i].index);
  }
  ax_free(f, sizeof(cl_fn));
}

/* ---- assignment ---- */

static void assign_name(compiler *c, const ax_node *target, const ax_node *at_node) {
  cl_ref r = cl_resolve(c, target->name);
  at(c, at_node);
  if (r.is_const && r.kind != CL_UNRESOLVED && r.kind != CL_NETMEMBER) {
    if (r.kind == CL_BUILTIN)
      cl_error(c, target, "cannot assign to '%s': it is a builtin (declare your own with 'var %s = ...')",
               target->name, target->name);
    else
      cl_error(c, target, "cannot assign to '%s': it was declared with 'let' (use 'var' for a variable)",
               target->name);
    return;
  }
  switch (r.kind) {
  case CL_LOCAL: emit_op(c, AX_BC_SET_LOCAL); emit_byte(c, (uint8_t)r.index); return;
  case CL_UPVAL: emit_op(c, AX_BC_SET_UPVAL); emit_byte(c, (uint8_t)r.index); return;
  case CL_GLOBAL: emit_op(c, AX_BC_SET_GLOBAL); emit_u16(c, r.index); return;
  case CL_NETMEMBER: {
    /* value on the stack: self value SWAP-free form: GET self, then SET_FIELD needs obj below val */
    cl_error(c, target, "cannot assign to network member '%s' directly: write 'self.%s = ...'",
             target->name, target->name);
    return;
  }
  default: {
    const char *h = cl_hint(c, target->name, false);
    if (h)
      cl_error(c, target, "cannot assign to undeclared name '%s' (did you mean '%s'?)", target->name, h);
    else
      cl_error(c, target, "cannot assign to undeclared name '%s' (declare it first: 'var %s = ...')",
               target->name, target->name);
    push_sp(c, -1);
    return;
  }
  }
}

static const ax_bytecode compound_ops[] = {
  [AX_OP_ADD] = AX_BC_ADD, [AX_OP_SUB] = AX_BC_SUB, [AX_OP_MUL] = AX_BC_MUL, [AX_OP_DIV] = AX_BC_DIV};

static void assign(compiler *c, const ax_node *n) {
  const ax_node *t = n->a;
  bool compound = n->op != '=';
  if (compound && (n->op < AX_OP_ADD || n->op > AX_OP_DIV)) { cl_error(c, n, "internal: bad compound op"); return; }
  switch (t->kind) {
  case AX_N_NAME:
    if (compound && n->op == AX_OP_ADD && (n->b->kind == AX_N_FLOAT || n->b->kind == AX_N_INT)) {
      cl_ref r = cl_resolve(c, t->name);
      if ((r.kind == CL_LOCAL || r.kind == CL_GLOBAL) && !r.is_const) {
        ax_value k = n->b->kind == AX_N_INT ? ax_int(n->b->ival) : ax_float(n->b->fval);
        int ki = add_const(c, k);
        at(c, n);
        if (r.kind == CL_LOCAL) { emit_op(c, AX_BC_ADD_LOCAL_K); emit_byte(c, (uint8_t)r.index); }
        else { emit_op(c, AX_BC_ADD_GLOBAL_K); emit_u16(c, r.index); }
        emit_u16(c, ki);
        break;
      }
    }
    if (compound) { name_get(c, t); expr(c, n->b); at(c, n); emit_op(c, compound_ops[n->op]); }
    else expr(c, n->b);
    assign_name(c, t, n);
    break;
  case AX_N_FIELD: {
    expr(c, t->a);
    int k = name_const(c, t->name);
    if (compound) {
      emit_op(c, AX_BC_DUP);
      at(c, t);
      emit_op(c, AX_BC_GET_FIELD); emit_u16(c, k);
      expr(c, n->b);
      at(c, n);
      emit_op(c, compound_ops[n->op]);
    } else {
      expr(c, n->b);
    }
    at(c, t);
    emit_op(c, AX_BC_SET_FIELD);
    emit_u16(c, k);
    break;
  }
  case AX_N_INDEX: {
    expr(c, t->a);
    index_items(c, &t->list);
    int ni = t->list.n;
    if (compound) {
      /* obj i.. -> obj i.. obj i.. */
      emit_opv(c, AX_BC_DUPN, ni + 1);
      emit_byte(c, (uint8_t)(ni + 1));
      at(c, t);
      emit_opv(c, AX_BC_GET_INDEX, -ni); emit_byte(c, (uint8_t)ni);
      expr(c, n->b);
      at(c, n);
      emit_op(c, compound_ops[n->op]);
    } else {
      expr(c, n->b);
    }
    at(c, t);
    emit_opv(c, AX_BC_SET_INDEX, -(ni + 2));
    emit_byte(c, (uint8_t)ni);
    break;
  }
  default:
    cl_error(c, t, "cannot assign to this expression");
    break;
  }
}

/* ---- statements ---- */

static void block(compiler *c, const ax_node *n, bool new_scope) {
  if (!n) return;
  if (new_scope) begin_scope(c);
  const ax_nodelist *l = n->kind == AX_N_BLOCK || n->kind == AX_N_PROGRAM ? &n->list : NULL;
  if (l) for (int i = 0; i < l->n; i++) stmt(c, l->items[i]);
  else stmt(c, n);
  if (new_scope) end_scope(c);
}

static void decl(compiler *c, const ax_node *n) {
  bool is_const = n->op == AX_DECL_LET;
  int nn = n->list.n;
  expr(c, n->b);
  if (nn > 1) {
    at(c, n);
    emit_opv(c, AX_BC_UNPACK, nn - 1);
    emit_byte(c, (uint8_t)nn);
  }
  if (at_toplevel(c)) {
    for (int i = nn - 1; i >= 0; i--) set_global(c, n->list.items[i]->name, n);
  } else {
    int base = c->fn->sp - nn;
    for (int i = 0; i < nn; i++) {
      int slot = cl_add_local(c, n->list.items[i]->name, is_const, n->list.items[i]);
      if (slot >= 0 && slot != base + i) cl_error(c, n, "internal: local slot mismatch");
    }
  }
}

static void loop_push(compiler *c, cl_loop *lp, bool is_for) {
  memset(lp, 0, sizeof *lp);
  lp->outer = c->fn->loop;
  lp->ntry = c->fn->ntry;
  lp->is_for = is_for;
  c->fn->loop = lp;
}

static void add_patch(compiler *c, int **arr, int *n, int *cap, int pos) {
  if (*n == *cap) {
    int ncap = *cap ? *cap * 2 : 4;
    int *na = ax_realloc(*arr, sizeof(int) * (size_t)*cap, sizeof(int) * (size_t)ncap);
    if (!na) { cl_error(c, NULL, "out of memory"); return; }
    *arr = na;
    *cap = ncap;
  }
  (*arr)[(*n)++] = pos;
}

static void loop_pop(compiler *c, cl_loop *lp) {
  c->fn->loop = lp->outer;
  ax_free(lp->breaks, sizeof(int) * (size_t)lp->capbreaks);
  ax_free(lp->conts, sizeof(int) * (size_t)lp->capconts);
}

static void exit_trys(compiler *c, int ntry) {
  for (int i = c->fn->ntry; i > ntry; i--) emit_op(c, AX_BC_TRY_END);
}

static int cond_jump(compiler *c, const ax_node *cond);

static void while_stmt(compiler *c, const ax_node *n) {
  cl_loop lp;
  loop_push(c, &lp, false);
  lp.nlocals = lp.cont_nlocals = c->fn->nlocals;
  int start = c->fn->proto->code_len;
  lp.start = start;
  int exit = cond_jump(c, n->a);
  block(c, n->b, true);
  for (int i = 0; i < lp.nconts; i++) patch_jump(c, lp.conts[i]);
  at(c, n);
  emit_loop(c, start);
  patch_jump(c, exit);
  for (int i = 0; i < lp.nbreaks; i++) patch_jump(c, lp.breaks[i]);
  loop_pop(c, &lp);
}

static void for_stmt(compiler *c, const ax_node *n) {
  begin_scope(c);
  expr(c, n->a);
  at(c, n->a);
  emit_op(c, AX_BC_ITER_PREP);
  int base = cl_add_local(c, "(for)", false, n);
  cl_add_local(c, "(state)", false, n);
  int nn = n->list.n;
  if (nn > 200) { cl_error(c, n, "too many loop variables"); nn = 200; }
  /* the loop variables live in fixed slots for the whole loop; ITER_NEXT overwrites them */
  for (int i = 0; i < nn; i++) {
    emit_op(c, AX_BC_NIL);
    cl_add_local(c, n->list.items[i]->name, false, n->list.items[i]);
  }
  cl_loop lp;
  loop_push(c, &lp, true);
  lp.nlocals = lp.cont_nlocals = c->fn->nlocals;
  int entry = emit_jump(c, AX_BC_JUMP);
  int body = c->fn->proto->code_len;
  block(c, n->b, true);
  for (int i = 0; i < lp.nconts; i++) patch_jump(c, lp.conts[i]);
  bool captured = false;
  for (int i = 0; i < nn; i++) captured |= c->fn->locals[base + 2 + i].captured;
  if (captured) {   /* a fresh binding per iteration: closures keep this iteration's value */
    emit_op(c, AX_BC_CLOSE_FROM);
    emit_byte(c, (uint8_t)(base + 2));
  }
  patch_jump(c, entry);
  at(c, n);
  emit_op(c, AX_BC_ITER_NEXT);
  emit_byte(c, (uint8_t)(base < 0 ? 0 : base));
  emit_byte(c, (uint8_t)nn);
  int off = c->fn->proto->code_len + 2 - body;
  if (off > 65535) { cl_error(c, n, "loop body too large (more than 64 KiB of bytecode)"); off = 0; }
  emit_u16(c, off);
  for (int i = 0; i < lp.nbreaks; i++) patch_jump(c, lp.breaks[i]);
  loop_pop(c, &lp);
  end_scope(c);
}

/* Compile `cond` and a jump taken when it is falsy; returns the patch position. */
static int cond_jump(compiler *c, const ax_node *cond) {
  ax_value v;
  if (cond->kind == AX_N_BINARY && cond->op >= AX_OP_EQ && cond->op <= AX_OP_GE && !fold(cond, &v)) {
    expr(c, cond->a);
    expr(c, cond->b);
    at(c, cond);
    emit_op(c, AX_BC_CMP_JF);
    emit_byte(c, (uint8_t)cond->op);
    emit_u16(c, 0xffff);
    return c->fn->proto->code_len - 2;
  }
  expr(c, cond);
  at(c, cond);
  return emit_jump(c, AX_BC_JUMP_IF_FALSE);
}

static void try_stmt(compiler *c, const ax_node *n) {
  at(c, n);
  int h = emit_jump(c, AX_BC_TRY_BEGIN);
  c->fn->ntry++;
  block(c, n->a, true);
  c->fn->ntry--;
  emit_op(c, AX_BC_TRY_END);
  int skip = emit_jump(c, AX_BC_JUMP);
  patch_jump(c, h);
  begin_scope(c);
  push_sp(c, 1);   /* the VM pushes the error value */
  bind_local(c, n->name ? n->name : "(error)", false, n);
  block(c, n->b, false);
  end_scope(c);
  patch_jump(c, skip);
}

static void import_stmt(compiler *c, const ax_node *n) {
  at(c, n);
  char path[1024];
  const char *bind;
  int k;
  if (n->op == 1) {
    k = str_const(c, n->str, n->len);
    bind = n->name;
  } else {
    size_t off = 0;
    path[0] = 0;
    for (int i = 0; i < n->list.n; i++) {
      int w = snprintf(path + off, sizeof path - off, "%s%s", i ? "." : "", n->list.items[i]->name);
      if (w > 0) off += (size_t)w;
      if (off >= sizeof path) { cl_error(c, n, "module name too long"); return; }
    }
    k = name_const(c, path);
    bind = n->name ? n->name : n->list.n ? n->list.items[n->list.n - 1]->name : "?";
  }
  emit_op(c, AX_BC_IMPORT);
  emit_u16(c, k);
  emit_byte(c, (uint8_t)(n->op == 1));
  if (!bind) { cl_error(c, n, "import of a path needs a name: import \"%s\" as name", n->str); emit_op(c, AX_BC_POP); return; }
  declare_value(c, bind, true, n);
}

static void from_import(compiler *c, const ax_node *n) {
  at(c, n);
  const ax_node *m = n->a;
  bool is_path = m->kind == AX_N_STRING;
  int k = is_path ? str_const(c, m->str, m->len) : name_const(c, m->name);
  emit_op(c, AX_BC_IMPORT);
  emit_u16(c, k);
  emit_byte(c, (uint8_t)is_path);
  if (at_toplevel(c)) {
    for (int i = 0; i < n->list.n; i++) {
      emit_op(c, AX_BC_DUP);
      emit_op(c, AX_BC_GET_FIELD);
      emit_u16(c, name_const(c, n->list.items[i]->name));
      set_global(c, n->list.items[i]->name, n);
    }
    emit_op(c, AX_BC_POP);
  } else {
    int mod_slot = cl_add_local(c, "(module)", true, n);
    for (int i = 0; i < n->list.n; i++) {
      emit_op(c, AX_BC_GET_LOCAL);
      emit_byte(c, (uint8_t)mod_slot);
      emit_op(c, AX_BC_GET_FIELD);
      emit_u16(c, name_const(c, n->list.items[i]->name));
      bind_local(c, n->list.items[i]->name, true, n->list.items[i]);
    }
  }
}

static void pulse_stmt(compiler *c, const ax_node *n) {
  int cnt = n->list.n;
  if (cnt < 3) { cl_error(c, n, "pulse needs a value, at least one step and a result name: pulse x -> f -> out"); return; }
  expr(c, n->list.items[0]);
  for (int i = 1; i < cnt - 1; i++) {
    const ax_node *f = n->list.items[i];
    /* x f -> f x: evaluate the step, then reorder with a local copy */
    int xslot = c->fn->sp - 1;   /* x sits here, f goes above it */
    if (xslot > 255) { cl_error(c, n, "expression too complex for a pulse chain"); xslot = 0; }
    expr(c, f);
    at(c, f);
    emit_op(c, AX_BC_GET_LOCAL);
    emit_byte(c, (uint8_t)xslot);
    emit_opv(c, AX_BC_CALL, -1);
    emit_byte(c, 1);
    /* stack: x r -> r (stored over x) */
    emit_op(c, AX_BC_SET_LOCAL);
    emit_byte(c, (uint8_t)xslot);
  }
  const ax_node *out = n->list.items[cnt - 1];
  if (out->kind != AX_N_NAME) { cl_error(c, out, "the last step of a pulse chain must be a name to bind"); emit_op(c, AX_BC_POP); return; }
  if (at_toplevel(c)) {
    assign_name(c, out, n);
    return;
  }
  int l = cl_find_local(c->fn, out->name);
  if (l >= 0 && c->fn->locals[l].depth == c->fn->depth) {
    assign_name(c, out, n);
    return;
  }
  bind_local(c, out->name, false, out);
}

/* ---- networks ---- */

static void kv(compiler *c, const char *key) {
  emit_op(c, AX_BC_CONST);
  emit_u16(c, name_const(c, key));
}

static void net_thunk(compiler *c, const ax_node *value, const ax_nodelist *params) {
  cl_net sym = {NULL, 0};   /* members == NULL marks a property thunk: bare names are symbols */
  function(c, value, "<property>", params, value, true, false, &sym);
}

static void net_props(compiler *c, const ax_nodelist *props, const ax_nodelist *params) {
  kv(c, "props");
  emit_opv(c, AX_BC_BUILD_MAP, 1);
  emit_byte(c, 0);
  for (int i = 0; i < props->n; i++) {
    const ax_node *p = props->items[i];
    if (p->kind != AX_N_PROP) continue;
    kv(c, p->name);
    net_thunk(c, p->a, params);
    emit_opv(c, AX_BC_MAP_SET_N, -2);
    emit_byte(c, 1);
  }
}

static void name_list(compiler *c, const ax_nodelist *names) {
  for (int i = 0; i < names->n; i++) kv(c, names->items[i]->name);
  emit_opv(c, AX_BC_BUILD_LIST, 1 - names->n);
  emit_byte(c, (uint8_t)names->n);
}

static void network(compiler *c, const ax_node *n) {
  const ax_nodelist *params = &n->list;
  const ax_nodelist *items = &n->list2;
  if (items->n > 250 || params->n > 200) { cl_error(c, n, "network '%s' is too large", n->name); return; }
  cl_net net = {NULL, 0};
  net.members = ax_calloc((size_t)items->n + 1, sizeof(char *));
  if (!net.members) { cl_error(c, n, "out of memory"); return; }
  for (int i = 0; i < items->n; i++) {
    const ax_node *it = items->items[i];
    if (it->kind == AX_N_NEURON || it->kind == AX_N_LAYER || it->kind == AX_N_FNDECL) net.members[net.nmembers++] = it->name;
    else if (it->kind == AX_N_DECL)
      for (int j = 0; j < it->list.n && net.nmembers < items->n; j++) net.members[net.nmembers++] = it->list.items[j]->name;
  }
  at(c, n);
  int base = c->fn->sp;
  kv(c, "name"); kv(c, n->name);
  kv(c, "ctor"); emit_op(c, n->op == 1 ? AX_BC_TRUE : AX_BC_FALSE);
  kv(c, "params");
  for (int i = 0; i < params->n; i++) kv(c, params->items[i]->name);
  emit_opv(c, AX_BC_BUILD_LIST, 1 - params->n);
  emit_byte(c, (uint8_t)params->n);
  /* bind(args...) -> [p1, p2, ...]: the VM's own argument binding (defaults, keywords, errors) */
  kv(c, "bind");
  {
    ax_node body = *n;
    body.kind = AX_N_LIST;
    body.list.n = params->n;
    ax_node *elems[256];
    for (int i = 0; i < params->n; i++) {
      elems[i] = params->items[i];
    }
    ax_node names[256];
    for (int i = 0; i < params->n; i++) {
      names[i] = *params->items[i];
      names[i].kind = AX_N_NAME;
      elems[i] = &names[i];
    }
    body.list.items = elems;
    function(c, n, n->name, params, &body, true, false, NULL);
  }
  kv(c, "items");
  emit_opv(c, AX_BC_BUILD_LIST, 1);
  emit_byte(c, 0);
  for (int i = 0; i < items->n; i++) {
    const ax_node *it = items->items[i];
    int before = c->fn->sp;
    at(c, it);
    switch (it->kind) {
    case AX_N_NEURON:
      kv(c, "kind"); kv(c, "neuron");
      kv(c, "name"); kv(c, it->name);
      kv(c, "line"); emit_const(c, ax_int(it->line));
      net_props(c, &it->list, params);
      break;
    case AX_N_LAYER:
      kv(c, "kind"); kv(c, "layer");
      kv(c, "name"); kv(c, it->name);
      kv(c, "line"); emit_const(c, ax_int(it->line));
      if (it->op == 0) {
        kv(c, "value"); net_thunk(c, it->a, params);
      } else {
        kv(c, "args");
        int np = 0;
        for (int j = 0; j < it->list2.n; j++)
          if (it->list2.items[j]->kind != AX_N_KWARG) { net_thunk(c, it->list2.items[j], params); np++; }
        emit_opv(c, AX_BC_BUILD_LIST, 1 - np);
        emit_byte(c, (uint8_t)np);
        kv(c, "kwargs");
        emit_opv(c, AX_BC_BUILD_MAP, 1);
        emit_byte(c, 0);
        for (int j = 0; j < it->list2.n; j++) {
          const ax_node *a = it->list2.items[j];
          if (a->kind != AX_N_KWARG) continue;
          kv(c, a->name);
          net_thunk(c, a->a, params);
          emit_opv(c, AX_BC_MAP_SET_N, -2);
          emit_byte(c, 1);
        }
        net_props(c, &it->list, params);
      }
      break;
    case AX_N_SYNAP:
      kv(c, "kind"); kv(c, "synap");
      kv(c, "chain"); name_list(c, &it->list);
      kv(c, "line"); emit_const(c, ax_int(it->line));
      net_props(c, &it->list2, params);
      break;
    case AX_N_PROP:
      kv(c, "kind"); kv(c, "prop");
      kv(c, "name"); kv(c, it->name);
      kv(c, "value"); net_thunk(c, it->a, params);
      break;
    case AX_N_DECL:
      kv(c, "kind"); kv(c, it->op == AX_DECL_LET ? "let" : "var");
      kv(c, "names"); name_list(c, &it->list);
      kv(c, "value"); net_thunk(c, it->b, params);
      break;
    case AX_N_FNDECL:
      kv(c, "kind"); kv(c, "fn");
      kv(c, "name"); kv(c, it->name);
      kv(c, "fn"); function(c, it, it->name, &it->list, it->a, false, true, &net);
      break;
    case AX_N_NET_PULSE:
      kv(c, "kind"); kv(c, "pulse");
      kv(c, "name"); kv(c, "pulse");
      kv(c, "fn"); function(c, it, "pulse", &it->list, it->a, false, true, &net);
      break;
    default:
      cl_error(c, it, "unexpected %s inside network '%s'", ax_node_kind_names[it->kind], n->name);
      continue;
    }
    int pairs = (c->fn->sp - before) / 2;
    emit_opv(c, AX_BC_BUILD_MAP, 1 - 2 * pairs);
    emit_byte(c, (uint8_t)pairs);
    emit_opv(c, AX_BC_LIST_APPEND_N, -1);
    emit_byte(c, 1);
  }
  int pairs = (c->fn->sp - base) / 2;
  at(c, n);
  emit_opv(c, AX_BC_BUILD_MAP, 1 - 2 * pairs);
  emit_byte(c, (uint8_t)pairs);
  emit_op(c, AX_BC_NETWORK);
  emit_u16(c, name_const(c, n->name));
  ax_free((void *)net.members, ((size_t)items->n + 1) * sizeof(char *));
  declare_value(c, n->name, true, n);
}

static void stmt(compiler *c, const ax_node *n) {
  if (!n) return;
  if (++c->depth > AX_MAX_NESTING * 4) { cl_error(c, n, "statements nested too deeply"); c->depth--; return; }
  int sp0 = c->fn->sp;
  at(c, n);
  switch (n->kind) {
  case AX_N_EXPR_STMT:
    expr(c, n->a);
    at(c, n);
    emit_op(c, c->repl && at_toplevel(c) ? AX_BC_PRINT_EXPR : AX_BC_POP);
    break;
  case AX_N_DECL: decl(c, n); break;
  case AX_N_ASSIGN: assign(c, n); break;
  case AX_N_PULSE: pulse_stmt(c, n); break;
  case AX_N_RETURN:
    if (c->fn->toplevel) { cl_error(c, n, "'return' outside a function"); break; }
    if (n->a) expr(c, n->a); else emit_op(c, AX_BC_NIL);
    at(c, n);
    emit_op(c, AX_BC_RETURN);
    break;
  case AX_N_BREAK:
  case AX_N_CONTINUE: {
    cl_loop *lp = c->fn->loop;
    bool brk = n->kind == AX_N_BREAK;
    if (!lp) { cl_error(c, n, "'%s' outside a loop", brk ? "break" : "continue"); break; }
    exit_trys(c, lp->ntry);
    emit_pops_to(c, brk ? lp->nlocals : lp->cont_nlocals);
    int j = emit_jump(c, AX_BC_JUMP);
    if (brk) add_patch(c, &lp->breaks, &lp->nbreaks, &lp->capbreaks, j);
    else add_patch(c, &lp->conts, &lp->nconts, &lp->capconts, j);
    break;
  }
  case AX_N_THROW: expr(c, n->a); at(c, n); emit_op(c, AX_BC_THROW); break;
  case AX_N_IMPORT: import_stmt(c, n); break;
  case AX_N_FROM_IMPORT: from_import(c, n); break;
  case AX_N_IF: {
    int jf = cond_jump(c, n->a);
    block(c, n->b, true);
    if (n->c) {
      int je = emit_jump(c, AX_BC_JUMP);
      patch_jump(c, jf);
      block(c, n->c, true);
      patch_jump(c, je);
    } else {
      patch_jump(c, jf);
    }
    break;
  }
  case AX_N_WHILE: while_stmt(c, n); break;
  case AX_N_FOR: for_stmt(c, n); break;
  case AX_N_FNDECL:
    if (at_toplevel(c)) {
      function(c, n, n->name, &n->list, n->a, false, false, NULL);
      set_global(c, n->name, n);
    } else {
      int slot = cl_add_local(c, n->name, true, n);   /* declared first: it may call itself */
      (void)slot;
      function(c, n, n->name, &n->list, n->a, false, false, NULL);
    }
    break;
  case AX_N_BLOCK: block(c, n, true); break;
  case AX_N_TRY: try_stmt(c, n); break;
  case AX_N_NETWORK: network(c, n); break;
  default:
    cl_error(c, n, "internal: unexpected %s statement", ax_node_kind_names[n->kind]);
    break;
  }
  /* statements leave the stack as they found it, plus the locals they declared */
  int want = c->fn->nlocals;
  if (c->errors == 0 && c->fn->sp != want && !(n->kind == AX_N_RETURN))
    cl_error(c, n, "internal: stack imbalance after %s (%d != %d, was %d)", ax_node_kind_names[n->kind],
             c->fn->sp, want, sp0);
  c->fn->sp = want;
  c->depth--;
}

ax_proto *ax_compile(ax_vm *vm, ax_module *m, const ax_node *program, const char *file,
                     const ax_compile_opts *opts, ax_diags *diags) {
  compiler c;
  memset(&c, 0, sizeof c);
  c.vm = vm;
  c.mod = m;
  c.file = file;
  c.diags = diags;
  c.repl = opts && opts->repl;
  vm->gc_paused++;
  cl_fn *f = ax_calloc(1, sizeof(cl_fn));
  ax_string *nm = ax_str_cstr(vm, "<script>");
  ax_proto *p = f && nm ? ax_proto_new(vm, m, nm) : NULL;
  if (!p) {
    ax_free(f, sizeof(cl_fn));
    vm->gc_paused--;
    c.fn = NULL;
    if (diags) {
      static cl_fn oom_ctx;   /* a function context only so cl_error can report the failure */
      c.fn = &oom_ctx;
      cl_error(&c, program, "out of memory");
    }
    return NULL;
  }
  f->proto = p;
  f->toplevel = true;
  f->locals[0].name = "";
  f->locals[0].locvar = -1;
  f->nlocals = 1;
  f->sp = 1;
  f->line = 1;
  f->col = 1;
  c.fn = f;
  cl_predeclare(&c, program);
  for (int i = 0; i < program->list.n; i++) stmt(&c, program->list.items[i]);
  emit_op(&c, AX_BC_NIL);
  emit_op(&c, AX_BC_RETURN);
  ax_free(f, sizeof(cl_fn));
  vm->gc_paused--;
  return c.errors ? NULL : p;
}
