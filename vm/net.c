/* vm/net.c — networks: the `network` hook (singletons and constructors), building members from the
** compiler's spec, forward passes (explicit pulse, declaration order, or the synap DAG with residual
** adds and concat merges), parameters, train/eval, summary, Graphviz, save/load and generate().
** Invariant: a network's members and values are GC-marked through it; layers own their tensors. */
#include "net.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"
#include "debug.h"
#include "lib_nn.h"
#include "lib_tensor.h"

typedef struct {
  char *name;
  ax_value value;      /* layer, network, list of those, or any value (let/var) */
  int is_layer;        /* takes part in the forward pass */
  int is_var;
  int line;
} member;

typedef struct {
  int nnames;
  char **names;        /* chain a -> b -> c */
} chain;

struct ax_net {
  char *name;
  ax_value spec;       /* nil for nn.sequential */
  ax_value config;     /* map */
  ax_value pulse;      /* closure or nil */
  ax_value methods;    /* map name -> closure */
  ax_value ctor_args;  /* list of the constructor's bound arguments */
  member *members;
  int nmembers, cap;
  chain *chains;
  int nchains;
  int training;
  int logits_mode;
  int64_t out_shape[AX_MAX_DIMS];
  int out_nd;
  int explained;       /* anx --explain: shapes reported after the first forward */
  ax_device device;    /* where its parameters live and train() sends batches (anx --device, Net.to) */
};

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = ax_malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}
static void freestr(char *s) { if (s) ax_free(s, strlen(s) + 1); }

/* ---- lifetime ---- */

static void net_free(ax_vm *vm, void *data) {
  ax_net *n = data;
  for (int i = 0; i < n->nmembers; i++) freestr(n->members[i].name);
  ax_free(n->members, sizeof(member) * (size_t)n->cap);
  for (int i = 0; i < n->nchains; i++) {
    for (int k = 0; k < n->chains[i].nnames; k++) freestr(n->chains[i].names[k]);
    ax_free(n->chains[i].names, sizeof(char *) * (size_t)n->chains[i].nnames);
  }
  ax_free(n->chains, sizeof(chain) * (size_t)n->nchains);
  freestr(n->name);
  ax_free(n, sizeof *n);
}

static void net_mark(ax_vm *vm, void *data) {
  ax_net *n = data;
  ax_vm_mark_value(vm, n->spec);
  ax_vm_mark_value(vm, n->config);
  ax_vm_mark_value(vm, n->pulse);
  ax_vm_mark_value(vm, n->methods);
  ax_vm_mark_value(vm, n->ctor_args);
  for (int i = 0; i < n->nmembers; i++) ax_vm_mark_value(vm, n->members[i].value);
}

ax_net *ax_value_net(ax_value v) { return ax_foreign_data(v, &ax_net_class); }
const char *ax_net_name(ax_net *n) { return n->name; }

ax_value ax_net_config(ax_vm *vm, ax_net *n, const char *key) {
  ax_value v;
  if (AX_IS_MAP(n->config) && ax_map_get_str(vm, AX_AS_MAP(n->config), key, &v)) return v;
  return AX_NIL;
}

static ax_net *net_alloc(ax_vm *vm, const char *name) {
  ax_net *n = ax_calloc(1, sizeof *n);
  if (!n) return NULL;
  n->name = dupstr(name);
  if (!n->name) {
    ax_free(n, sizeof *n);
    return NULL;
  }
  n->spec = n->config = n->pulse = n->methods = n->ctor_args = AX_NIL;
  n->training = 1;
  n->device = ax_vm_device(vm);
  return n;
}

static bool add_member(ax_vm *vm, ax_net *n, const char *name, ax_value v, int is_layer, int is_var, int line) {
  for (int i = 0; i < n->nmembers; i++)
    if (!strcmp(n->members[i].name, name))
      return ax_vm_raise(vm, "network", "network '%s': '%s' is declared twice (line %d)", n->name, name, line);
  if (n->nmembers == n->cap) {
    int ncap = n->cap ? n->cap * 2 : 8;
    member *m = ax_realloc(n->members, sizeof(member) * (size_t)n->cap, sizeof(member) * (size_t)ncap);
    if (!m) return ax_vm_oom(vm);
    n->members = m;
    n->cap = ncap;
  }
  member *m = &n->members[n->nmembers];
  m->name = dupstr(name);
  if (!m->name) return ax_vm_oom(vm);
  m->value = v;
  m->is_layer = is_layer;
  m->is_var = is_var;
  m->line = line;
  n->nmembers++;
  return true;
}

static member *find_member(ax_net *n, const char *name) {
  for (int i = 0; i < n->nmembers; i++)
    if (!strcmp(n->members[i].name, name)) return &n->members[i];
  return NULL;
}

/* ---- training flags ---- */

static void value_set_training(ax_value v, int on) {
  ax_layer *l = ax_value_layer(v);
  if (l) { ax_layer_set_training(l, on); return; }
  ax_net *n = ax_value_net(v);
  if (n) { ax_net_set_training(n, on); return; }
  if (AX_IS_LIST(v)) {
    ax_list *lst = AX_AS_LIST(v);
    for (int64_t i = 0; i < lst->len; i++) value_set_training(lst->items[i], on);
  }
}

void ax_net_set_training(ax_net *n, int on) {
  n->training = on;
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer) value_set_training(n->members[i].value, on);
}

int ax_net_training(ax_net *n) { return n->training; }

/* ---- devices ---- */

static bool value_to(ax_vm *vm, ax_value v, ax_device d) {
  ax_layer *l = ax_value_layer(v);
  if (l) return ax_layer_to(vm, l, d);
  ax_net *n = ax_value_net(v);
  if (n) return ax_net_to(vm, n, d);
  if (AX_IS_LIST(v)) {
    ax_list *lst = AX_AS_LIST(v);
    for (int64_t i = 0; i < lst->len; i++)
      if (!value_to(vm, lst->items[i], d)) return false;
  }
  return true;
}

bool ax_net_to(ax_vm *vm, ax_net *n, ax_device d) {
  n->device = d;
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer && !value_to(vm, n->members[i].value, d)) return false;
  return true;
}

ax_device ax_net_device(ax_net *n) { return n->device; }

static int value_rowwise(ax_value v) {
  ax_layer *l = ax_value_layer(v);
  if (l) return l->act != AX_ACT_CUSTOM;
  ax_net *n = ax_value_net(v);
  if (n) return ax_net_rowwise(n);
  if (!AX_IS_LIST(v)) return 0;
  ax_list *lst = AX_AS_LIST(v);
  for (int64_t i = 0; i < lst->len; i++)
    if (!value_rowwise(lst->items[i])) return 0;
  return 1;
}

int ax_net_rowwise(ax_net *n) {
  if (!AX_IS_NIL(n->pulse)) return 0;
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer && !value_rowwise(n->members[i].value)) return 0;
  return 1;
}

/* ---- visiting tensors (state dict order) ---- */

static bool visit_value(ax_value v, const char *prefix, ax_layer_visit visit, void *ud) {
  ax_layer *l = ax_value_layer(v);
  if (l) return ax_layer_visit_tensors(l, prefix, visit, ud);
  ax_net *n = ax_value_net(v);
  if (n) return ax_net_visit(n, prefix, visit, ud);
  if (AX_IS_LIST(v)) {
    ax_list *lst = AX_AS_LIST(v);
    char name[256];
    for (int64_t i = 0; i < lst->len; i++) {
      snprintf(name, sizeof name, "%s%s%lld", prefix, *prefix ? "." : "", (long long)i);
      if (!visit_value(lst->items[i], name, visit, ud)) return false;
    }
  }
  return true;
}

bool ax_net_visit(ax_net *n, const char *prefix, ax_layer_visit visit, void *ud) {
  char name[256];
  for (int i = 0; i < n->nmembers; i++) {
    member *m = &n->members[i];
    if (!m->is_layer) continue;
    snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", m->name);
    if (!visit_value(m->value, name, visit, ud)) return false;
  }
  return true;
}

/* ---- forward ---- */

static bool call_member(ax_vm *vm, ax_net *owner, member *m, ax_tensor *x, ax_tensor **out, int last);

static bool call_value(ax_vm *vm, ax_value v, const char *name, ax_tensor *x, ax_tensor **out) {
  ax_layer *l = ax_value_layer(v);
  if (l) return ax_layer_forward(vm, l, x, NULL, NULL, out);
  if (AX_IS_LIST(v)) {
    ax_list *lst = AX_AS_LIST(v);
    ax_tensor *cur = ax_tensor_retain(x);
    for (int64_t i = 0; i < lst->len; i++) {
      ax_tensor *nx = NULL;
      if (!call_value(vm, lst->items[i], name, cur, &nx)) {
        ax_tensor_release(cur);
        return false;
      }
      ax_tensor_release(cur);
      cur = nx;
    }
    *out = cur;
    return true;
  }
  ax_value xv, r;
  if (!ax_push_tensor(vm, ax_tensor_retain(x), &xv)) return false;
  ax_vm_push_root(vm, xv);
  bool ok = ax_value_net(v) ? ax_net_forward(vm, v, 1, &xv, NULL, &r) : ax_vm_call(vm, v, 1, &xv, NULL, &r);
  ax_vm_pop_root(vm, 1);
  if (!ok) return false;
  ax_tensor *t = ax_value_tensor(r);
  if (!t) return ax_vm_raise(vm, "type", "'%s' returned %s, not a tensor", name, ax_type_name(r));
  *out = ax_tensor_retain(t);
  return true;
}

static bool call_member(ax_vm *vm, ax_net *owner, member *m, ax_tensor *x, ax_tensor **out, int last) {
  ax_layer *l = ax_value_layer(m->value);
  bool dbg = ax_debug_attached(vm);   /* the debugger sees layer entry/exit (vm/debug.c) */
  if (dbg && !ax_debug_layer(vm, AX_DEBUG_LAYER_ENTER, owner->name, m->name, l, x)) return false;
  bool ok;
  if (l && last && owner->logits_mode && l->act == AX_ACT_SOFTMAX) {
    l->act = AX_ACT_NONE;   /* train(): the loss takes logits */
    ok = ax_layer_forward(vm, l, x, NULL, NULL, out);
    l->act = AX_ACT_SOFTMAX;
  } else {
    ok = call_value(vm, m->value, m->name, x, out);
  }
  if (dbg && !ax_debug_layer(vm, ok ? AX_DEBUG_LAYER_EXIT : AX_DEBUG_LAYER_ABORT, owner->name, m->name, l, ok ? *out : NULL) && ok) {
    ax_tensor_release(*out);
    *out = NULL;
    return false;
  }
  return ok;
}

static int last_layer_index(ax_net *n) {
  for (int i = n->nmembers - 1; i >= 0; i--)
    if (n->members[i].is_layer) return i;
  return -1;
}

int ax_net_set_logits_mode(ax_net *n, int on, int *has_softmax) {
  int prev = n->logits_mode;
  int li = last_layer_index(n);
  ax_layer *l = li >= 0 ? ax_value_layer(n->members[li].value) : NULL;
  *has_softmax = l && l->act == AX_ACT_SOFTMAX && n->nchains == 0 && AX_IS_NIL(n->pulse);
  n->logits_mode = on;
  return prev;
}

static bool sequential_forward(ax_vm *vm, ax_net *n, ax_tensor *x, ax_tensor **out) {
  ax_tensor *cur = ax_tensor_retain(x);
  int li = last_layer_index(n);
  if (li < 0) {
    ax_tensor_release(cur);
    return ax_vm_raise(vm, "network", "network '%s' has no layers to run", n->name);
  }
  for (int i = 0; i < n->nmembers; i++) {
    if (!n->members[i].is_layer) continue;
    ax_tensor *nx = NULL;
    if (!call_member(vm, n, &n->members[i], cur, &nx, i == li)) {
      ax_tensor_release(cur);
      return false;
    }
    ax_tensor_release(cur);
    cur = nx;
  }
  *out = cur;
  return true;
}

/* The synap DAG: nodes are input (-1), members (index) and output (-2). */
static int node_index(ax_net *n, const char *name) {
  if (!strcmp(name, "input")) return -1;
  if (!strcmp(name, "output")) return -2;
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer && !strcmp(n->members[i].name, name)) return i;
  return -3;
}

static bool merge_inputs(ax_vm *vm, ax_net *n, const char *who, int concat, ax_tensor **ins, int nin, ax_tensor **out) {
  ax_err e;
  if (nin == 1) {
    *out = ax_tensor_retain(ins[0]);
    return true;
  }
  ax_status st;
  if (concat) {
    int64_t dim = ins[0]->ndim == 4 ? 1 : -1;
    st = ax_cat(ins, nin, dim, out, &e);
  } else {
    ax_tensor *acc = ax_tensor_retain(ins[0]);
    st = AX_OK;
    for (int i = 1; i < nin && !st; i++) {
      ax_tensor *s = NULL;
      st = ax_add(acc, ins[i], &s, &e);
      ax_tensor_release(acc);
      acc = s;
    }
    if (!st) *out = acc;
    else ax_tensor_release(acc);
  }
  if (st) return ax_vm_raise(vm, "shape", "network '%s': merging the inputs of '%s': %s", n->name, who, e.msg);
  return true;
}

static bool dag_forward(ax_vm *vm, ax_net *n, ax_tensor *x, ax_tensor **out) {
  int nm = n->nmembers;
  /* adjacency as edge lists in declaration order */
  int cap = 0;
  for (int c = 0; c < n->nchains; c++) cap += n->chains[c].nnames - 1;
  int *from = ax_calloc((size_t)(cap + 1), sizeof(int)), *to = ax_calloc((size_t)(cap + 1), sizeof(int));
  ax_tensor **val = ax_calloc((size_t)(nm + 1), sizeof(ax_tensor *));
  int *indeg = ax_calloc((size_t)(nm + 1), sizeof(int)), *done = ax_calloc((size_t)(nm + 1), sizeof(int));
  ax_tensor **ins = ax_calloc((size_t)(cap + 1), sizeof(ax_tensor *));
  bool ok = from && to && val && indeg && done && ins;
  if (!ok) ax_vm_oom(vm);
  int ne = 0, used_output = 0;
  for (int c = 0; c < n->nchains && ok; c++)
    for (int k = 0; k + 1 < n->chains[c].nnames && ok; k++) {
      int a = node_index(n, n->chains[c].names[k]), b = node_index(n, n->chains[c].names[k + 1]);
      for (int s = 0; s < 2 && ok; s++) {
        int idx = s ? b : a;
        const char *nmn = n->chains[c].names[k + s];
        if (idx == -3) ok = ax_vm_raise(vm, "network", "network '%s': synap names '%s', which is not a layer", n->name, nmn);
      }
      if (ok && (a == -2 || b == -1)) ok = ax_vm_raise(vm, "network", "network '%s': synap edges go from input and into output", n->name);
      if (!ok) break;
      from[ne] = a;
      to[ne] = b;
      ne++;
      if (b >= 0) indeg[b]++;
      if (b == -2) used_output = 1;
    }
  /* Kahn's algorithm in declaration order; input is available from the start */
  int remaining = 0;
  for (int i = 0; i < nm; i++)
    if (n->members[i].is_layer && indeg[i] > 0) remaining++;
  int progress = 1;
  while (ok && remaining && progress) {
    progress = 0;
    for (int i = 0; i < nm && ok; i++) {
      if (!n->members[i].is_layer || done[i] || indeg[i] == 0) continue;
      /* ready when every predecessor is input or done */
      int nin = 0, ready = 1;
      for (int e = 0; e < ne; e++) {
        if (to[e] != i) continue;
        if (from[e] == -1) ins[nin++] = x;
        else if (done[from[e]]) ins[nin++] = val[from[e]];
        else { ready = 0; break; }
      }
      if (!ready) continue;
      ax_layer *l = ax_value_layer(n->members[i].value);
      ax_tensor *merged = NULL;
      ok = merge_inputs(vm, n, n->members[i].name, l ? l->concat : 0, ins, nin, &merged);
      if (ok) {
        ok = call_member(vm, n, &n->members[i], merged, &val[i], 0);
        ax_tensor_release(merged);
      }
      done[i] = 1;
      remaining--;
      progress = 1;
    }
  }
  if (ok && remaining) ok = ax_vm_raise(vm, "network", "network '%s': the synap edges form a cycle", n->name);
  ax_tensor *result = NULL;
  if (ok) {
    if (used_output) {
      int nin = 0;
      for (int e = 0; e < ne; e++)
        if (to[e] == -2) ins[nin++] = from[e] == -1 ? x : val[from[e]];
      ok = merge_inputs(vm, n, "output", 0, ins, nin, &result);
    } else {
      /* the one computed layer nothing else reads */
      int sink = -1, nsinks = 0;
      for (int i = 0; i < nm; i++) {
        if (!done[i]) continue;
        int has_out = 0;
        for (int e = 0; e < ne; e++)
          if (from[e] == i) has_out = 1;
        if (!has_out) { sink = i; nsinks++; }
      }
      if (nsinks != 1)
        ok = ax_vm_raise(vm, "network", "network '%s': %s; add 'synap <layer> -> output'", n->name,
                         nsinks ? "several layers end the graph" : "no layer is reached from input");
      else result = ax_tensor_retain(val[sink]);
    }
  }
  for (int i = 0; val && i < nm; i++) ax_tensor_release(val[i]);
  ax_free(from, sizeof(int) * (size_t)(cap + 1));
  ax_free(to, sizeof(int) * (size_t)(cap + 1));
  ax_free(val, sizeof(ax_tensor *) * (size_t)(nm + 1));
  ax_free(indeg, sizeof(int) * (size_t)(nm + 1));
  ax_free(done, sizeof(int) * (size_t)(nm + 1));
  ax_free(ins, sizeof(ax_tensor *) * (size_t)(cap + 1));
  if (!ok) {
    ax_tensor_release(result);
    return false;
  }
  *out = result;
  return true;
}

/* ---- anx --explain: kinds when a network is built, shapes after its first forward (stdout) ---- */

static void shape_text(const int64_t *s, int nd, char *buf, size_t n) {
  if (!nd) {
    snprintf(buf, n, "?");
    return;
  }
  ax_shape_str(s, nd, buf, n);
}

static void explain_kinds(ax_net *n) {
  printf("explain: network %s\n", n->name);
  for (int i = 0; i < n->nmembers; i++) {
    member *m = &n->members[i];
    if (!m->is_layer) continue;
    ax_layer *l = ax_value_layer(m->value);
    ax_net *sn = ax_value_net(m->value);
    if (l)
      printf("explain:   %-20s %-20s (from %s)\n", m->name, ax_layer_kind_names[l->kind], l->kind_from ? l->kind_from : "the constructor");
    else if (sn)
      printf("explain:   %-20s network %s\n", m->name, sn->name);
    else
      printf("explain:   %-20s %s\n", m->name, AX_IS_LIST(m->value) ? "sequence" : "function");
  }
  fflush(stdout);
}

static void explain_shapes(ax_net *n) {
  char a[96], b[96];
  printf("explain: network %s shapes\n", n->name);
  for (int i = 0; i < n->nmembers; i++) {
    member *m = &n->members[i];
    if (!m->is_layer) continue;
    ax_layer *l = ax_value_layer(m->value);
    ax_net *sn = ax_value_net(m->value);
    if (l) {
      shape_text(l->in_shape, l->in_nd, a, sizeof a);
      shape_text(l->out_shape, l->out_nd, b, sizeof b);
      printf("explain:   %-20s %-20s %s -> %s, %lld parameters\n", m->name, ax_layer_kind_names[l->kind], a, b,
             (long long)ax_layer_param_count(l));
    } else if (sn) {
      shape_text(sn->out_shape, sn->out_nd, b, sizeof b);
      printf("explain:   %-20s network %-12s -> %s\n", m->name, sn->name, b);
    }
  }
  fflush(stdout);
}

bool ax_net_forward(ax_vm *vm, ax_value self, int argc, ax_value *args, const ax_kw *kw, ax_value *out) {
  ax_net *n = ax_value_net(self);
  if (!AX_IS_NIL(n->pulse)) {
    /* pulse(self, args...) */
    ax_value buf[16];
    if (argc > 15) return ax_vm_raise(vm, "argument", "network '%s': too many arguments", n->name);
    buf[0] = self;
    for (int i = 0; i < argc; i++) buf[i + 1] = args[i];
    return ax_vm_call(vm, n->pulse, argc + 1, buf, kw, out);
  }
  if (argc != 1)
    return ax_vm_raise(vm, "argument", "network '%s' takes one input (declare pulse(...) for more), got %d", n->name, argc);
  ax_tensor *x = NULL, *y = NULL;
  if (!ax_value_to_tensor(vm, n->name, args[0], AX_NDTYPES, &x)) return false;
  bool ok = n->nchains ? dag_forward(vm, n, x, &y) : sequential_forward(vm, n, x, &y);
  ax_tensor_release(x);
  if (!ok) return false;
  n->out_nd = y->ndim;
  memcpy(n->out_shape, y->shape, sizeof(int64_t) * (size_t)y->ndim);
  if (!n->explained && ax_vm_explain_mode(vm)) {
    n->explained = 1;
    explain_shapes(n);
  }
  return ax_push_tensor(vm, y, out);
}

/* ---- building from the compiler's spec ---- */

static bool spec_get(ax_vm *vm, ax_value m, const char *key, ax_value *out) {
  if (!AX_IS_MAP(m) || !ax_map_get_str(vm, AX_AS_MAP(m), key, out)) {
    *out = AX_NIL;
    return false;
  }
  return true;
}

static bool eval_thunk(ax_vm *vm, ax_value thunk, ax_value params, ax_value *out) {
  ax_list *p = AX_IS_LIST(params) ? AX_AS_LIST(params) : NULL;
  return ax_vm_call(vm, thunk, p ? (int)p->len : 0, p ? p->items : NULL, NULL, out);
}

/* props: map key -> thunk  =>  map key -> value */
static bool eval_props(ax_vm *vm, ax_value props, ax_value params, ax_map **out) {
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  ax_vm_push_root(vm, ax_obj_value(m));
  bool ok = true;
  if (AX_IS_MAP(props)) {
    ax_table *t = &AX_AS_MAP(props)->t;
    for (uint32_t i = 0; i < t->used && ok; i++) {
      ax_entry *e = &t->entries[i];
      if (AX_IS_UNDEF(e->key)) continue;
      ax_value v;
      ok = eval_thunk(vm, e->val, params, &v) && ax_map_set(vm, m, e->key, v);
    }
  }
  ax_vm_pop_root(vm, 1);
  *out = m;
  return ok;
}

static bool is_layerish(ax_value v) {
  if (ax_value_layer(v) || ax_value_net(v)) return true;
  if (AX_IS_LIST(v)) {
    ax_list *l = AX_AS_LIST(v);
    for (int64_t i = 0; i < l->len; i++)
      if (!is_layerish(l->items[i])) return false;
    return l->len > 0;
  }
  return false;
}

static bool build_eager(ax_vm *vm, ax_value self, ax_net *n);

static bool build_instance(ax_vm *vm, ax_value spec, ax_value params, ax_value *out) {
  ax_value v, items;
  spec_get(vm, spec, "name", &v);
  ax_net *n = net_alloc(vm, AX_IS_STRING(v) ? AX_AS_STRING(v)->chars : "network");
  if (!n) return ax_vm_oom(vm);
  n->spec = spec;
  n->ctor_args = params;
  ax_value self = ax_foreign_new(vm, &ax_net_class, n);
  if (AX_IS_NIL(self)) {
    net_free(vm, n);
    return false;
  }
  ax_vm_push_root(vm, self);
  bool ok = true;
  ax_map *cfg = ax_map_new(vm), *meth = NULL;
  if (cfg) n->config = ax_obj_value(cfg);
  meth = cfg ? ax_map_new(vm) : NULL;
  if (meth) n->methods = ax_obj_value(meth);
  if (!cfg || !meth) ok = false;
  spec_get(vm, spec, "items", &items);
  ax_list *il = AX_IS_LIST(items) ? AX_AS_LIST(items) : NULL;
  for (int64_t i = 0; ok && il && i < il->len; i++) {
    ax_value it = il->items[i], kind, name, line;
    spec_get(vm, it, "kind", &kind);
    spec_get(vm, it, "name", &name);
    spec_get(vm, it, "line", &line);
    const char *k = AX_IS_STRING(kind) ? AX_AS_STRING(kind)->chars : "";
    const char *nm = AX_IS_STRING(name) ? AX_AS_STRING(name)->chars : "";
    int ln = AX_IS_INT(line) ? (int)line.as.i : 0;
    if (!strcmp(k, "neuron")) {
      ax_value props;
      ax_map *pm;
      spec_get(vm, it, "props", &props);
      ax_layer *l = NULL;
      ok = eval_props(vm, props, params, &pm);
      if (ok) {
        ax_vm_push_root(vm, ax_obj_value(pm));
        ok = ax_layer_from_props(vm, nm, ln, pm, -1, &l);
        ax_vm_pop_root(vm, 1);
      }
      ax_value lv;
      if (ok) ok = ax_layer_value(vm, l, &lv);
      if (ok) ok = add_member(vm, n, nm, lv, 1, 0, ln);
    } else if (!strcmp(k, "layer")) {
      ax_value thunk, args, kwargs, props;
      if (spec_get(vm, it, "value", &thunk)) {
        ax_value lv;
        ok = eval_thunk(vm, thunk, params, &lv);
        if (ok && !is_layerish(lv) && !ax_is_kind(lv, AX_O_CLOSURE) && !ax_is_kind(lv, AX_O_NATIVE))
          ok = ax_vm_raise(vm, "network", "layer '%s' (line %d): expected a network, a layer or a list of them, got %s",
                           nm, ln, ax_type_name(lv));
        if (ok) ok = add_member(vm, n, nm, lv, 1, 0, ln);
      } else {
        /* layer name(args) { props }: a layer of the name's kind, positional args fill its keys */
        spec_get(vm, it, "args", &args);
        spec_get(vm, it, "kwargs", &kwargs);
        spec_get(vm, it, "props", &props);
        ax_map *pm = NULL, *km = NULL;
        ok = eval_props(vm, props, params, &pm);
        if (ok) ax_vm_push_root(vm, ax_obj_value(pm));
        if (ok) ok = eval_props(vm, kwargs, params, &km);
        if (ok) {
          ax_vm_push_root(vm, ax_obj_value(km));
          ax_table *t = &km->t;
          for (uint32_t j = 0; j < t->used && ok; j++)
            if (!AX_IS_UNDEF(t->entries[j].key)) ok = ax_map_set(vm, pm, t->entries[j].key, t->entries[j].val);
          ax_list *al = AX_IS_LIST(args) ? AX_AS_LIST(args) : NULL;
          ax_value kv;
          int kindi = -1;
          if (ax_map_get_str(vm, pm, "kind", &kv) && AX_IS_STRING(kv)) kindi = ax_layer_kind_parse(AX_AS_STRING(kv)->chars);
          if (kindi < 0) kindi = ax_layer_kind_from_name(nm);
          if (ok && al && al->len) {
            if (kindi < 0) ok = ax_vm_raise(vm, "network", "layer '%s' (line %d): positional arguments need a kind: "
                                             "name it like Dense_1 or add kind:", nm, ln);
            const char *const *keys = kindi >= 0 ? ax_layer_positional_keys(kindi) : NULL;
            for (int64_t j = 0; ok && j < al->len; j++) {
              ax_value av;
              if (!keys || !keys[j]) { ok = ax_vm_raise(vm, "network", "layer '%s' (line %d): too many arguments", nm, ln); break; }
              ok = eval_thunk(vm, al->items[j], params, &av) && ax_map_set_str(vm, pm, keys[j], av);
            }
          }
          ax_layer *l = NULL;
          ax_value lv;
          if (ok) ok = ax_layer_from_props(vm, nm, ln, pm, kindi, &l);
          if (ok) ok = ax_layer_value(vm, l, &lv);
          if (ok) ok = add_member(vm, n, nm, lv, 1, 0, ln);
          ax_vm_pop_root(vm, 1);
        }
        if (pm) ax_vm_pop_root(vm, 1);
      }
    } else if (!strcmp(k, "synap")) {
      ax_value ch;
      spec_get(vm, it, "chain", &ch);
      ax_list *cl = AX_IS_LIST(ch) ? AX_AS_LIST(ch) : NULL;
      if (!cl || cl->len < 2) continue;
      chain *nc = ax_realloc(n->chains, sizeof(chain) * (size_t)n->nchains, sizeof(chain) * (size_t)(n->nchains + 1));
      if (!nc) { ok = ax_vm_oom(vm); break; }
      n->chains = nc;
      chain *c = &n->chains[n->nchains];
      c->names = ax_calloc((size_t)cl->len, sizeof(char *));
      c->nnames = 0;
      if (!c->names) { ok = ax_vm_oom(vm); break; }
      n->nchains++;
      for (int64_t j = 0; j < cl->len && ok; j++) {
        c->names[j] = dupstr(AX_IS_STRING(cl->items[j]) ? AX_AS_STRING(cl->items[j])->chars : "?");
        if (!c->names[j]) ok = ax_vm_oom(vm);
        else c->nnames++;
      }
    } else if (!strcmp(k, "prop")) {
      ax_value thunk, pv;
      spec_get(vm, it, "value", &thunk);
      ok = eval_thunk(vm, thunk, params, &pv) && ax_map_set_str(vm, cfg, nm, pv);
    } else if (!strcmp(k, "let") || !strcmp(k, "var")) {
      ax_value thunk, names, pv;
      spec_get(vm, it, "value", &thunk);
      spec_get(vm, it, "names", &names);
      ok = eval_thunk(vm, thunk, params, &pv);
      ax_list *nl = AX_IS_LIST(names) ? AX_AS_LIST(names) : NULL;
      if (ok && nl && nl->len == 1) {
        ok = add_member(vm, n, AX_AS_STRING(nl->items[0])->chars, pv, is_layerish(pv), k[0] == 'v', 0);
      } else if (ok && nl) {
        if (!AX_IS_LIST(pv) || AX_AS_LIST(pv)->len != nl->len)
          ok = ax_vm_raise(vm, "network", "network '%s': cannot unpack %s into %lld names", n->name, ax_type_name(pv), (long long)nl->len);
        for (int64_t j = 0; ok && j < nl->len; j++) {
          ax_value e = AX_AS_LIST(pv)->items[j];
          ok = add_member(vm, n, AX_AS_STRING(nl->items[j])->chars, e, is_layerish(e), k[0] == 'v', 0);
        }
      }
    } else if (!strcmp(k, "fn")) {
      ax_value fnv;
      spec_get(vm, it, "fn", &fnv);
      ok = ax_map_set_str(vm, meth, nm, fnv);
    } else if (!strcmp(k, "pulse")) {
      spec_get(vm, it, "fn", &n->pulse);
    }
  }
  if (ok && ax_vm_explain_mode(vm)) explain_kinds(n);
  if (ok) ok = build_eager(vm, self, n);
  ax_vm_pop_root(vm, 1);
  if (!ok) return false;
  *out = self;
  return true;
}

/* `input: [1, 28, 28]` (or a first input layer with a shape) builds every layer now, with one zero sample, in eval
** mode and without a tape. */
static bool build_eager(ax_vm *vm, ax_value self, ax_net *n) {
  ax_value in = ax_net_config(vm, n, "input");
  int64_t shape[AX_MAX_DIMS];
  int nd;
  shape[0] = 1;
  if (AX_IS_NIL(in)) {
    /* a first layer `neuron Input { shape: [...] }` (kind input) builds eagerly too */
    int li = -1;
    for (int i = 0; i < n->nmembers && li < 0; i++)
      if (n->members[i].is_layer) li = i;
    ax_layer *first = li >= 0 ? ax_value_layer(n->members[li].value) : NULL;
    if (!first || first->kind != AX_L_INPUT || !first->input_nd || n->nchains || !AX_IS_NIL(n->pulse)) return true;
    for (int i = 0; i < first->input_nd; i++) shape[i + 1] = first->input_shape[i];
    nd = first->input_nd + 1;
  } else {
    if (!AX_IS_LIST(in) || AX_AS_LIST(in)->len < 1 || AX_AS_LIST(in)->len >= AX_MAX_DIMS)
      return ax_vm_raise(vm, "network", "network '%s': input: must be a list of dims without the batch, e.g. [1, 28, 28]", n->name);
    ax_list *l = AX_AS_LIST(in);
    for (int64_t i = 0; i < l->len; i++) {
      if (!AX_IS_INT(l->items[i]) || l->items[i].as.i < 1)
        return ax_vm_raise(vm, "network", "network '%s': input: dims must be positive ints", n->name);
      shape[i + 1] = l->items[i].as.i;
    }
    nd = (int)l->len + 1;
  }
  ax_tensor *z = NULL;
  ax_err e;
  ax_status st = ax_zeros(shape, nd, AX_FLOAT32, &z, &e);
  if (!st && n->device.type != AX_DEV_CPU) {   /* the probe runs where the parameters go */
    ax_tensor *m = NULL;
    st = ax_to(z, n->device, &m, &e);
    ax_tensor_release(z);
    z = m;
  }
  if (st) return ax_raise_rt(vm, st, &e);
  ax_value zv, r;
  if (!ax_push_tensor(vm, z, &zv)) return false;
  ax_vm_push_root(vm, zv);
  int was = ax_grad_enabled(), tr = n->training;
  ax_set_grad_enabled(0);
  ax_net_set_training(n, 0);
  bool ok = ax_net_forward(vm, self, 1, &zv, NULL, &r);
  ax_net_set_training(n, tr);
  ax_set_grad_enabled(was);
  ax_vm_pop_root(vm, 1);
  return ok;
}

/* ---- constructors ---- */

typedef struct {
  ax_value spec;
} ctor_box;

static void ctor_free(ax_vm *vm, void *data) { ax_free(data, sizeof(ctor_box)); }
static void ctor_mark(ax_vm *vm, void *data) { ax_vm_mark_value(vm, ((ctor_box *)data)->spec); }

static int ctor_call(ax_vm *vm, ax_value self, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ctor_box *c = ax_foreign_data(self, &ax_net_ctor_class);
  ax_value bind, params;
  spec_get(vm, c->spec, "bind", &bind);
  if (!ax_vm_call(vm, bind, argc, args, kw, &params)) return AX_HOOK_ERR;
  ax_vm_push_root(vm, params);
  bool ok = build_instance(vm, c->spec, params, out);
  ax_vm_pop_root(vm, 1);
  return ok ? AX_HOOK_OK : AX_HOOK_ERR;
}

static bool ctor_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  ctor_box *c = ax_foreign_data(self, &ax_net_ctor_class);
  ax_value name;
  spec_get(vm, c->spec, "name", &name);
  ax_string *s = ax_str_fmt(vm, "<network constructor %s>", AX_IS_STRING(name) ? AX_AS_STRING(name)->chars : "?");
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

const ax_foreign_class ax_net_ctor_class = {
  .name = "network_constructor",
  .finalize = ctor_free,
  .mark = ctor_mark,
  .tostring = ctor_tostring,
  .call = ctor_call,
};

static bool network_hook(ax_vm *vm, ax_value spec, ax_value *out) {
  ax_value ctor;
  spec_get(vm, spec, "ctor", &ctor);
  if (AX_IS_BOOL(ctor) && ctor.as.b) {
    ctor_box *c = ax_calloc(1, sizeof *c);
    if (!c) return ax_vm_oom(vm);
    c->spec = spec;
    *out = ax_foreign_new(vm, &ax_net_ctor_class, c);
    if (AX_IS_NIL(*out)) {
      ax_free(c, sizeof *c);
      return false;
    }
    return true;
  }
  return build_instance(vm, spec, AX_NIL, out);
}

/* ---- state dict ---- */

typedef struct {
  ax_tensor_dict *d;
  ax_err *err;
  ax_status st;
} dict_ctx;

static bool dict_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  dict_ctx *c = ud;
  (void)is_buffer;
  c->st = ax_tensor_dict_add(c->d, name, t, c->err);
  return c->st == AX_OK;
}

ax_status ax_net_to_dict(ax_net *n, ax_tensor_dict *d, ax_err *err) {
  dict_ctx c = {d, err, AX_OK};
  ax_net_visit(n, "", dict_visit, &c);
  return c.st;
}

typedef struct {
  const ax_tensor_dict *d;
  const char *path;
  ax_err *err;
  ax_status st;
  int matched;
  const char *net;
} load_ctx;

static bool load_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  load_ctx *c = ud;
  ax_tensor *src = ax_tensor_dict_get(c->d, name);
  char a[96], b[96];
  if (!src) {
    c->st = ax_err_set(c->err, AX_E_FORMAT, "%s does not fit network '%s': it has no tensor '%s'", c->path, c->net, name);
    return false;
  }
  if (src->ndim != t->ndim || memcmp(src->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim)) {
    c->st = ax_err_set(c->err, AX_E_SHAPE, "%s does not fit network '%s': tensor '%s' is %s in the file but %s in the network",
                       c->path, c->net, name, ax_shape_str(src->shape, src->ndim, a, sizeof a),
                       ax_shape_str(t->shape, t->ndim, b, sizeof b));
    return false;
  }
  c->matched++;
  return true;
}

static bool copy_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  load_ctx *c = ud;
  /* converted to the parameter's type and written in place wherever it lives (uploaded to a device) */
  c->st = ax_copy_(t, ax_tensor_dict_get(c->d, name), c->err);
  return c->st == AX_OK;
}

ax_status ax_net_load_dict(ax_net *n, const ax_tensor_dict *d, const char *path, ax_err *err) {
  load_ctx c = {d, path, err, AX_OK, 0, n->name};
  /* check everything first, so a mismatch leaves the network untouched */
  ax_net_visit(n, "", load_visit, &c);
  if (c.st) return c.st;
  if (c.matched == 0)
    return ax_err_set(err, AX_E_VALUE, "load: network '%s' has no parameters yet: call it once or declare input: first", n->name);
  /* strict, as load_state_dict: no extra tensors (optimizer state lives under 'optim.' in checkpoints) */
  ax_tensor_dict mine;
  ax_tensor_dict_init(&mine);
  ax_status st = ax_net_to_dict(n, &mine, err);
  for (int i = 0; i < d->n && !st; i++) {
    const char *nm = d->tensors[i].name;
    if (!strncmp(nm, "optim.", 6) || !strncmp(nm, "anx.", 4)) continue;
    if (!ax_tensor_dict_get(&mine, nm))
      st = ax_err_set(err, AX_E_FORMAT, "%s does not fit network '%s': unexpected tensor '%s' in the file", path, n->name, nm);
  }
  ax_tensor_dict_fini(&mine);
  if (st) return st;
  ax_net_visit(n, "", copy_visit, &c);
  return c.st;
}

/* ---- methods ---- */

#define SELF_NET ax_value_net(args[0])

static bool params_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  void **c = ud;
  ax_vm *vm = c[0];
  ax_list *l = c[1];
  bool named = c[2] != NULL;
  if (is_buffer) return true;
  for (int64_t i = 0; i < l->len; i++) {   /* a tensor shared by two layers is listed once */
    ax_value e = l->items[i];
    ax_tensor *et = named ? ax_value_tensor(AX_AS_LIST(e)->items[1]) : ax_value_tensor(e);
    if (et == t) return true;
  }
  ax_value tv;
  if (!ax_push_tensor(vm, ax_tensor_retain(t), &tv)) return false;
  if (!named) return ax_list_push(vm, l, tv);
  ax_vm_push_root(vm, tv);
  ax_list *pair = ax_list_new(vm, 2);
  bool ok = pair && ax_list_push(vm, pair, ax_str_value(vm, name)) && ax_list_push(vm, pair, tv) &&
            ax_list_push(vm, l, ax_obj_value(pair));
  ax_vm_pop_root(vm, 1);
  return ok;
}

static bool collect(ax_vm *vm, ax_net *n, int named, ax_value *out) {
  ax_list *l = ax_list_new(vm, 16);
  if (!l) return false;
  ax_vm_push_root(vm, ax_obj_value(l));
  void *c[3] = {vm, l, named ? (void *)1 : NULL};
  bool ok = ax_net_visit(n, "", params_visit, c);
  ax_vm_pop_root(vm, 1);
  *out = ax_obj_value(l);
  return ok;
}

static bool m_params(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return collect(vm, SELF_NET, 0, out);
}
static bool m_named_params(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return collect(vm, SELF_NET, 1, out);
}
static bool m_train(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  bool on = true;
  if (argc > 1 && !ax_vm_truthy(vm, args[1], &on)) return false;
  ax_net_set_training(SELF_NET, on);
  *out = args[0];
  return true;
}
static bool m_eval(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_net_set_training(SELF_NET, 0);
  *out = args[0];
  return true;
}

static int64_t value_params(ax_value v) {
  ax_layer *l = ax_value_layer(v);
  if (l) return ax_layer_param_count(l);
  ax_net *n = ax_value_net(v);
  int64_t total = 0;
  if (n) {
    for (int i = 0; i < n->nmembers; i++)
      if (n->members[i].is_layer) total += value_params(n->members[i].value);
  } else if (AX_IS_LIST(v)) {
    for (int64_t i = 0; i < AX_AS_LIST(v)->len; i++) total += value_params(AX_AS_LIST(v)->items[i]);
  }
  return total;
}

static void fmt_count(int64_t v, char *buf, size_t n) {
  char tmp[32];
  int len = snprintf(tmp, sizeof tmp, "%lld", (long long)v), o = 0;
  for (int i = 0; i < len && (size_t)o + 2 < n; i++) {
    if (i && (len - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = tmp[i];
  }
  buf[o] = 0;
}

static void fmt_shape(const int64_t *s, int nd, char *buf, size_t n) {
  if (!nd) { snprintf(buf, n, "?"); return; }
  size_t o = (size_t)snprintf(buf, n, "[N");
  for (int i = 1; i < nd && o < n; i++) o += (size_t)snprintf(buf + o, n - o, ", %lld", (long long)s[i]);
  if (o < n) snprintf(buf + o, n - o, "]");
}

static bool summary_text(ax_vm *vm, ax_net *n, ax_string **out) {
  char line[256], shp[96], cnt[32], kind[64];
  size_t cap = 4096, len = 0;
  char *buf = ax_malloc(cap);
  if (!buf) return ax_vm_oom(vm);
#define EMIT(...) do { \
    int w_ = snprintf(line, sizeof line, __VA_ARGS__); \
    if (len + (size_t)w_ + 1 > cap) { char *nb_ = ax_realloc(buf, cap, cap * 2 + (size_t)w_); \
      if (!nb_) { ax_free(buf, cap); return ax_vm_oom(vm); } buf = nb_; cap = cap * 2 + (size_t)w_; } \
    memcpy(buf + len, line, (size_t)w_); len += (size_t)w_; } while (0)
  EMIT("Network: %s\n", n->name);
  EMIT("%-34s %-22s %12s\n", "Layer (kind)", "Output shape", "Params");
  EMIT("%.70s\n", "======================================================================");
  int64_t total = 0;
  for (int i = 0; i < n->nmembers; i++) {
    member *m = &n->members[i];
    if (!m->is_layer) continue;
    ax_layer *l = ax_value_layer(m->value);
    ax_net *sub = ax_value_net(m->value);
    if (l) {
      snprintf(kind, sizeof kind, "%s", ax_layer_kind_names[l->kind]);
      fmt_shape(l->out_shape, l->out_nd, shp, sizeof shp);
    } else if (sub) {
      snprintf(kind, sizeof kind, "%s", sub->name);
      fmt_shape(sub->out_shape, sub->out_nd, shp, sizeof shp);
    } else {
      snprintf(kind, sizeof kind, "%s", AX_IS_LIST(m->value) ? "sequence" : "function");
      snprintf(shp, sizeof shp, "-");
      /* a list's output is its last item's */
      ax_value last = m->value;
      while (AX_IS_LIST(last) && AX_AS_LIST(last)->len) last = AX_AS_LIST(last)->items[AX_AS_LIST(last)->len - 1];
      ax_layer *ll = ax_value_layer(last);
      ax_net *ln = ax_value_net(last);
      if (ll && ll->out_nd) fmt_shape(ll->out_shape, ll->out_nd, shp, sizeof shp);
      else if (ln && ln->out_nd) fmt_shape(ln->out_shape, ln->out_nd, shp, sizeof shp);
    }
    int64_t pc = value_params(m->value);
    total += pc;
    fmt_count(pc, cnt, sizeof cnt);
    char label[80];
    snprintf(label, sizeof label, "%s (%s)", m->name, kind);
    EMIT("%-34s %-22s %12s\n", label, shp, cnt);
  }
  EMIT("%.70s\n", "======================================================================");
  fmt_count(total, cnt, sizeof cnt);
  EMIT("Total params: %s\n", cnt);
  if (!n->out_nd) EMIT("(shapes appear after the first forward pass, or declare input:)\n");
#undef EMIT
  *out = ax_str_new(vm, buf, len);
  ax_free(buf, cap);
  return *out != NULL;
}

static bool m_summary(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s;
  if (!summary_text(vm, SELF_NET, &s)) return false;
  fwrite(s->chars, 1, s->len, stdout);
  fflush(stdout);
  *out = AX_NIL;
  return true;
}

static bool m_graph(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_net *n = SELF_NET;
  ax_string *path;
  if (!ax_arg_str(vm, "graph", args, argc, 1, &path) || !ax_vm_file_allowed(vm, path->chars, AX_FILE_WRITE)) return false;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  bool ok = true;
#define PUT(...) do { char l_[512]; int w_ = snprintf(l_, sizeof l_, __VA_ARGS__); \
    if (len + (size_t)w_ + 1 > cap) { size_t nc_ = (cap + (size_t)w_) * 2 + 256; char *nb_ = ax_realloc(buf, cap, nc_); \
      if (!nb_) { ok = false; break; } buf = nb_; cap = nc_; } memcpy(buf + len, l_, (size_t)w_); len += (size_t)w_; } while (0)
  do {
    PUT("digraph \"%s\" {\n  rankdir=TB;\n  node [shape=box, style=rounded];\n", n->name);
    PUT("  \"input\" [shape=oval];\n  \"output\" [shape=oval];\n");
    for (int i = 0; i < n->nmembers; i++) {
      member *m = &n->members[i];
      if (!m->is_layer) continue;
      ax_layer *l = ax_value_layer(m->value);
      ax_net *sn = ax_value_net(m->value);
      char shp[96];
      fmt_shape(l ? l->out_shape : sn ? sn->out_shape : NULL, l ? l->out_nd : sn ? sn->out_nd : 0, shp, sizeof shp);
      PUT("  \"%s\" [label=\"%s\\n%s\\n%s\"];\n", m->name, m->name,
          l ? ax_layer_kind_names[l->kind] : sn ? sn->name : "sequence", shp);
    }
    if (n->nchains) {
      for (int c = 0; c < n->nchains; c++)
        for (int k = 0; k + 1 < n->chains[c].nnames; k++)
          PUT("  \"%s\" -> \"%s\";\n", n->chains[c].names[k], n->chains[c].names[k + 1]);
    } else {
      const char *prev = "input";
      for (int i = 0; i < n->nmembers; i++) {
        if (!n->members[i].is_layer) continue;
        PUT("  \"%s\" -> \"%s\";\n", prev, n->members[i].name);
        prev = n->members[i].name;
      }
      PUT("  \"%s\" -> \"output\";\n", prev);
    }
    PUT("}\n");
  } while (0);
#undef PUT
  if (!ok) {
    ax_free(buf, cap);
    return ax_vm_oom(vm);
  }
  const void *parts[1] = {buf};
  size_t sizes[1] = {len};
  ax_err e;
  ax_status st = ax_file_write_atomic(path->chars, parts, sizes, 1, &e);
  ax_free(buf, cap);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = AX_NIL;
  return true;
}

static bool m_save(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_net *n = SELF_NET;
  ax_string *path;
  if (!ax_arg_count(vm, "save", argc, 2, 2) || !ax_arg_str(vm, "save", args, argc, 1, &path) ||
      !ax_vm_file_allowed(vm, path->chars, AX_FILE_WRITE))
    return false;
  ax_tensor_dict d;
  ax_tensor_dict_init(&d);
  ax_err e;
  ax_status st = ax_net_to_dict(n, &d, &e);
  if (!st && d.n == 0) st = ax_err_set(&e, AX_E_VALUE, "save: network '%s' has no parameters yet: call it once or declare input:", n->name);
  if (!st) st = ax_tensor_dict_set_meta(&d, "format", "pt", &e);
  if (!st) st = ax_tensor_dict_set_meta(&d, "anx.network", n->name, &e);
  if (!st) st = ax_safetensors_save(path->chars, &d, &e);
  ax_tensor_dict_fini(&d);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = AX_NIL;
  return true;
}

static bool m_load(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_net *n = SELF_NET;
  ax_string *path;
  if (!ax_arg_count(vm, "load", argc, 2, 2) || !ax_arg_str(vm, "load", args, argc, 1, &path) ||
      !ax_vm_file_allowed(vm, path->chars, AX_FILE_READ))
    return false;
  ax_tensor_dict d;
  ax_err e;
  ax_status st = ax_safetensors_load(path->chars, &d, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  st = ax_net_load_dict(n, &d, path->chars, &e);
  ax_tensor_dict_fini(&d);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = args[0];
  return true;
}

/* Net.to(device): parameters and buffers move in place (an optimizer made before keeps them), layers
** built later are made there; returns the network. */
static bool m_to(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s;
  if (!ax_arg_count(vm, "to", argc, 2, 2) || !ax_arg_str(vm, "to", args, argc, 1, &s)) return false;
  ax_device d;
  ax_err e;
  const ax_backend *be;
  ax_status st = ax_device_parse(s->chars, &d, &e);
  if (!st) st = ax_backend_get(d, &be, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  if (!ax_net_to(vm, SELF_NET, d)) return false;
  *out = args[0];
  return true;
}

static bool m_count(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_net *n = SELF_NET;
  int64_t total = 0;
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer) total += value_params(n->members[i].value);
  *out = ax_int(total);
  return true;
}

static bool m_forward(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ax_net_forward(vm, args[0], argc - 1, args + 1, kw, out);
}

static const struct { const char *name; ax_native_fn fn; int arity; } net_methods[] = {
  {"params", m_params, 0},       {"parameters", m_params, 0}, {"named_params", m_named_params, 0},
  {"train", m_train, -1},        {"eval", m_eval, 0},         {"summary", m_summary, 0},
  {"graph", m_graph, 1},         {"save", m_save, 1},         {"load", m_load, 1},
  {"to", m_to, 1},               {"count_params", m_count, 0}, {"pulse", m_forward, -1},
  {"forward", m_forward, -1},
};

static int net_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  ax_net *n = ax_value_net(self);
  const char *s = name->chars;
  member *m = find_member(n, s);
  if (m) { *out = m->value; return AX_HOOK_OK; }
  ax_value fv;
  if (AX_IS_MAP(n->methods) && ax_map_get_str(vm, AX_AS_MAP(n->methods), s, &fv)) {
    *out = ax_bound_new(vm, self, fv);
    return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
  }
  if (!strcmp(s, "config")) { *out = n->config; return AX_HOOK_OK; }
  if (!strcmp(s, "training")) { *out = ax_bool(n->training); return AX_HOOK_OK; }
  if (!strcmp(s, "name")) { *out = ax_str_value(vm, n->name); return AX_HOOK_OK; }
  for (size_t i = 0; i < sizeof net_methods / sizeof net_methods[0]; i++)
    if (!strcmp(s, net_methods[i].name)) {
      ax_value nat = ax_native_new(vm, net_methods[i].name, net_methods[i].fn, net_methods[i].arity, NULL);
      if (AX_IS_NIL(nat)) return AX_HOOK_ERR;
      ax_vm_push_root(vm, nat);
      *out = ax_bound_new(vm, self, nat);
      ax_vm_pop_root(vm, 1);
      return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
    }
  /* config keys read as fields too (Net.epochs) */
  if (AX_IS_MAP(n->config) && ax_map_get_str(vm, AX_AS_MAP(n->config), s, &fv)) { *out = fv; return AX_HOOK_OK; }
  return AX_HOOK_MISSING;
}

static int net_set_field(ax_vm *vm, ax_value self, ax_string *name, ax_value val) {
  ax_net *n = ax_value_net(self);
  member *m = find_member(n, name->chars);
  if (m) {
    if (!m->is_var)
      return ax_vm_raise(vm, "network", "network '%s': '%s' is not a var member and cannot be reassigned", n->name,
                         name->chars) ? AX_HOOK_OK : AX_HOOK_ERR;
    m->value = val;
    return AX_HOOK_OK;
  }
  if (!strcmp(name->chars, "training")) {
    bool on;
    if (!ax_vm_truthy(vm, val, &on)) return AX_HOOK_ERR;
    ax_net_set_training(n, on);
    return AX_HOOK_OK;
  }
  return AX_HOOK_MISSING;
}

static int net_call(ax_vm *vm, ax_value self, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ax_net_forward(vm, self, argc, args, kw, out) ? AX_HOOK_OK : AX_HOOK_ERR;
}

static bool net_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  ax_net *n = ax_value_net(self);
  ax_string *s = ax_str_fmt(vm, "<network %s, %d layers>", n->name, n->nmembers);
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

const ax_foreign_class ax_net_class = {
  .name = "network",
  .finalize = net_free,
  .mark = net_mark,
  .tostring = net_tostring,
  .get_field = net_get_field,
  .set_field = net_set_field,
  .call = net_call,
};

/* ---- nn.sequential, nn.repeat, layer constructors ---- */

static bool make_sequential(ax_vm *vm, const char *name, ax_value *items, int64_t n, ax_value *out) {
  ax_net *net = net_alloc(vm, name);
  if (!net) return ax_vm_oom(vm);
  ax_value self = ax_foreign_new(vm, &ax_net_class, net);
  if (AX_IS_NIL(self)) {
    net_free(vm, net);
    return false;
  }
  ax_vm_push_root(vm, self);
  ax_map *cfg = ax_map_new(vm);
  bool ok = cfg != NULL;
  if (ok) net->config = ax_obj_value(cfg);
  for (int64_t i = 0; i < n && ok; i++) {
    char nm[32];
    snprintf(nm, sizeof nm, "%lld", (long long)i);
    if (!is_layerish(items[i]) && !ax_is_kind(items[i], AX_O_CLOSURE) && !ax_is_kind(items[i], AX_O_NATIVE))
      ok = ax_vm_raise(vm, "type", "%s: item %lld is a %s, not a layer or network", name, (long long)i, ax_type_name(items[i]));
    else ok = add_member(vm, net, nm, items[i], 1, 0, 0);
  }
  ax_vm_pop_root(vm, 1);
  *out = self;
  return ok;
}

static bool f_sequential(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (argc == 1 && AX_IS_LIST(args[0]))
    return make_sequential(vm, "sequential", AX_AS_LIST(args[0])->items, AX_AS_LIST(args[0])->len, out);
  return make_sequential(vm, "sequential", args, argc, out);
}

static bool f_repeat(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t n;
  if (!ax_arg_count(vm, "nn.repeat", argc, 2, 2) || !ax_arg_int(vm, "nn.repeat", args, argc, 0, &n)) return false;
  if (n < 1 || n > 10000) return ax_vm_raise(vm, "value", "nn.repeat: count must be between 1 and 10000, got %lld", (long long)n);
  ax_list *l = ax_list_new(vm, n);
  if (!l) return false;
  ax_vm_push_root(vm, ax_obj_value(l));
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    ax_value v;
    ok = ax_vm_call(vm, args[1], 0, NULL, NULL, &v) && ax_list_push(vm, l, v);
  }
  if (ok) ok = make_sequential(vm, "repeat", l->items, l->len, out);
  ax_vm_pop_root(vm, 1);
  return ok;
}

bool ax_nn_layer_ctor(ax_vm *vm, const char *kind, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_layer *l = NULL;
  if (!ax_layer_from_kw(vm, kind, kw, args, argc, &l)) return false;
  return ax_layer_value(vm, l, out);
}

static bool f_layer_ctor(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ax_nn_layer_ctor(vm, (const char *)ax_vm_native_ud(vm), args, argc, kw, out);
}

/* ---- generate ---- */

static void set_cache(ax_value v, int on) {
  ax_layer *l = ax_value_layer(v);
  if (l) {
    ax_layer *stack[64];
    int sp = 0;
    stack[sp++] = l;
    while (sp) {
      ax_layer *c = stack[--sp];
      /* every layer carries the flag (only attention and positional encodings read it), so the parts a
      ** lazy block creates at its first forward inherit it */
      c->use_cache = on;
      c->cache_pos = 0;
      ax_tensor_release(c->cache_k);
      ax_tensor_release(c->cache_v);
      c->cache_k = c->cache_v = NULL;
      if (on && (c->kind == AX_L_RNN || c->kind == AX_L_LSTM || c->kind == AX_L_GRU)) {
        /* recurrent layers start decoding from a zero state and then carry h_n/c_n (their cache) */
        ax_tensor_release(c->h_n);
        ax_tensor_release(c->c_n);
        c->h_n = c->c_n = NULL;
      }
      for (int i = 0; i < c->nsubs && sp < 64; i++) stack[sp++] = c->subs[i];
    }
    return;
  }
  ax_net *n = ax_value_net(v);
  if (n) {
    for (int i = 0; i < n->nmembers; i++)
      if (n->members[i].is_layer) set_cache(n->members[i].value, on);
    return;
  }
  if (AX_IS_LIST(v))
    for (int64_t i = 0; i < AX_AS_LIST(v)->len; i++) set_cache(AX_AS_LIST(v)->items[i], on);
}

static uint64_t gen_mix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Pick the next id from logits [V] (float64 copy). temperature 0: argmax. */
static int64_t sample_id(const double *logits, int64_t v, double temp, int64_t top_k, uint64_t *rs, double *scratch) {
  int64_t best = 0;
  for (int64_t i = 1; i < v; i++)
    if (logits[i] > logits[best]) best = i;
  if (temp <= 0) return best;
  double thresh = -INFINITY;
  if (top_k > 0 && top_k < v) {
    /* k-th largest by partial selection over a copy */
    for (int64_t i = 0; i < v; i++) scratch[i] = logits[i];
    for (int64_t k = 0; k < top_k; k++) {
      int64_t m = k;
      for (int64_t i = k + 1; i < v; i++)
        if (scratch[i] > scratch[m]) m = i;
      double t = scratch[k]; scratch[k] = scratch[m]; scratch[m] = t;
    }
    thresh = scratch[top_k - 1];
  }
  double mx = logits[best] / temp, total = 0;
  for (int64_t i = 0; i < v; i++) {
    scratch[i] = logits[i] >= thresh ? exp(logits[i] / temp - mx) : 0;
    total += scratch[i];
  }
  double u = (double)(gen_mix(rs) >> 11) * (1.0 / 9007199254740992.0) * total, acc = 0;
  for (int64_t i = 0; i < v; i++) {
    acc += scratch[i];
    if (u < acc && scratch[i] > 0) return i;
  }
  return best;
}

static bool f_generate(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"temperature", "top_k", "seed", "cache", NULL};
  if (!ax_kw_check(vm, "generate", kw, allowed) || !ax_arg_count(vm, "generate", argc, 3, 3)) return false;
  ax_net *n = ax_value_net(args[0]);
  if (!n) return ax_vm_raise(vm, "type", "generate: the first argument must be a network, got %s", ax_type_name(args[0]));
  int64_t steps;
  if (!ax_arg_int(vm, "generate", args, argc, 2, &steps)) return false;
  if (steps < 0 || steps > 1000000) return ax_vm_raise(vm, "value", "generate: steps must be in [0, 1000000]");
  double temp = 1.0;
  int64_t top_k = 0, seedv = 0;
  bool cache = true;
  ax_value v;
  if (ax_kw_get(kw, "temperature", &v)) {
    if (!AX_IS_NUM(v)) return ax_vm_raise(vm, "type", "generate: temperature must be a number");
    temp = AX_IS_INT(v) ? (double)v.as.i : v.as.f;
  }
  if (ax_kw_get(kw, "top_k", &v) && !AX_IS_NIL(v)) {
    if (!AX_IS_INT(v) || v.as.i < 0) return ax_vm_raise(vm, "type", "generate: top_k must be a non-negative int");
    top_k = v.as.i;
  }
  if (ax_kw_get(kw, "seed", &v) && !AX_IS_NIL(v)) {
    if (!AX_IS_INT(v)) return ax_vm_raise(vm, "type", "generate: seed must be an int");
    seedv = v.as.i;
  }
  if (ax_kw_get(kw, "cache", &v) && !ax_vm_truthy(vm, v, &cache)) return false;
  ax_tensor *prompt = NULL;
  if (!ax_value_to_tensor(vm, "generate", args[1], AX_INT64, &prompt)) return false;
  int64_t t0 = ax_numel(prompt);
  if (t0 < 1) {
    ax_tensor_release(prompt);
    return ax_vm_raise(vm, "value", "generate: the prompt is empty");
  }
  int64_t total = t0 + steps;
  int64_t *ids = ax_calloc((size_t)total, sizeof(int64_t));
  ax_err e;
  ax_status st = ids ? ax_to_i64_buffer(prompt, ids, &e) : ax_err_set(&e, AX_E_NOMEM, "generate: out of memory");
  ax_tensor_release(prompt);
  if (st) {
    ax_free(ids, sizeof(int64_t) * (size_t)total);
    return ax_raise_rt(vm, st, &e);
  }
  int was_grad = ax_grad_enabled(), was_train = n->training;
  ax_set_grad_enabled(0);
  ax_net_set_training(n, 0);
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer) set_cache(n->members[i].value, cache);
  uint64_t rs = (uint64_t)seedv * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  double *lg = NULL, *scratch = NULL;
  int64_t vocab = 0;
  bool ok = true;
  int64_t have = t0;
  for (int64_t s = 0; s < steps && ok; s++) {
    /* with the cache, feed only what the network has not seen yet */
    int64_t start = cache ? (s == 0 ? 0 : have - 1) : 0, len = have - start;
    int64_t shape[2] = {1, len};
    ax_tensor *x = NULL, *xd = NULL;
    st = ax_tensor_from_i64(ids + start, shape, 2, AX_INT64, &x, &e);
    if (!st) st = ax_to(x, n->device, &xd, &e);   /* where the network is */
    ax_tensor_release(x);
    x = xd;
    if (st) { ok = ax_raise_rt(vm, st, &e); break; }
    ax_value xv, r;
    ok = ax_push_tensor(vm, x, &xv);
    if (!ok) break;
    ax_vm_push_root(vm, xv);
    ok = ax_net_forward(vm, args[0], 1, &xv, NULL, &r);
    ax_vm_pop_root(vm, 1);
    if (!ok) break;
    ax_tensor *y = ax_value_tensor(r);
    if (!y || y->ndim != 3 || y->shape[1] != len) {
      char sb[96];
      ok = ax_vm_raise(vm, "shape", "generate: the network must map ids [1, T] to logits [1, T, V], got %s",
                       y ? ax_shape_str(y->shape, y->ndim, sb, sizeof sb) : ax_type_name(r));
      break;
    }
    if (!vocab) {
      vocab = y->shape[2];
      lg = ax_calloc((size_t)vocab, sizeof(double));
      scratch = ax_calloc((size_t)vocab, sizeof(double));
      if (!lg || !scratch) { ok = ax_vm_oom(vm); break; }
    }
    ax_tensor *row = NULL, *last = NULL;
    st = ax_select(y, 1, len - 1, &row, &e);
    if (!st) st = ax_select(row, 0, 0, &last, &e);
    if (!st) st = ax_to_f64_buffer(last, lg, &e);
    ax_tensor_release(row);
    ax_tensor_release(last);
    if (st) { ok = ax_raise_rt(vm, st, &e); break; }
    ids[have++] = sample_id(lg, vocab, temp, top_k, &rs, scratch);
  }
  for (int i = 0; i < n->nmembers; i++)
    if (n->members[i].is_layer) set_cache(n->members[i].value, 0);
  ax_net_set_training(n, was_train);
  ax_set_grad_enabled(was_grad);
  ax_free(lg, sizeof(double) * (size_t)(vocab ? vocab : 1));
  ax_free(scratch, sizeof(double) * (size_t)(vocab ? vocab : 1));
  if (ok) {
    int64_t shape[1] = {have};
    ax_tensor *res = NULL;
    st = ax_tensor_from_i64(ids, shape, 1, AX_INT64, &res, &e);
    if (st) ok = ax_raise_rt(vm, st, &e);
    else ok = ax_push_tensor(vm, res, out);
  }
  ax_free(ids, sizeof(int64_t) * (size_t)total);
  return ok;
}

/* ---- registration ---- */

static const char *const ctor_kinds[] = {
  "dense", "linear_layer", "conv_transpose2d_layer", "maxpool", "avgpool", "global_avg_pool", "adaptive_avg_pool",
  "batchnorm", "layernorm", "groupnorm", "instancenorm", "rmsnorm", "multi_head_attention", "feed_forward",
  "encoder_block", "decoder_block", "rnn", "lstm", "gru", "flatten", "identity", "mean_pool", "dropout_layer",
  "embedding_layer", "positional_encoding_layer", NULL};

static const char *ctor_kind_of(const char *name) {
  /* "linear_layer" -> "dense", "dropout_layer" -> "dropout": the _layer forms avoid the functional names */
  if (!strcmp(name, "linear_layer")) return "dense";
  if (!strcmp(name, "multi_head_attention")) return "attention";
  static char buf[64];
  size_t n = strlen(name);
  if (n > 6 && !strcmp(name + n - 6, "_layer") && n - 6 < sizeof buf) {
    memcpy(buf, name, n - 6);
    buf[n - 6] = 0;
    return buf;
  }
  return name;
}

bool ax_net_nn_init(ax_vm *vm, ax_module *m) {
  for (int i = 0; ctor_kinds[i]; i++) {
    const char *kind = ctor_kind_of(ctor_kinds[i]);
    /* the kind string must outlive the native: use the layer kind table's own names */
    int k = ax_layer_kind_parse(kind);
    if (k < 0) continue;
    ax_value nat = ax_native_new(vm, ctor_kinds[i], f_layer_ctor, -1, (void *)ax_layer_kind_names[k]);
    if (AX_IS_NIL(nat) || !ax_module_set_value(vm, m, ctor_kinds[i], nat)) return false;
  }
  return ax_module_set_native(vm, m, "sequential", f_sequential, -1) && ax_module_set_native(vm, m, "repeat", f_repeat, -1);
}

bool ax_lib_net_open(ax_vm *vm) {
  ax_vm_set_network_hook(vm, network_hook);
  return ax_vm_register_global(vm, "generate", f_generate, -1);
}
