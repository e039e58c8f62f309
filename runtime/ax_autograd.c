/* runtime/ax_autograd.c — grad mode, leaves, tape recording and the reverse pass.
** backward: iterative DFS from the loss's node gives a topological order; gradients flow
** output -> inputs, summed per node (n->gacc) and per leaf (t->grad). Grad mode is off during
** the pass, so rules (written with forward ops) record nothing. */
#include <stdatomic.h>
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"

static _Thread_local int grad_off;   /* 0: enabled (the default) */

int ax_grad_enabled(void) { return !grad_off; }
void ax_set_grad_enabled(int on) { grad_off = !on; }

int ax_is_leaf(const ax_tensor *t) { return t->node == NULL; }

ax_status ax_set_requires_grad(ax_tensor *t, int on, ax_err *err) {
  if (on && !ax_dtype_is_float(t->dtype))
    return ax_err_set(err, AX_E_DTYPE, "requires_grad: only floating point tensors can require gradients, got %s",
                      ax_dtype_name(t->dtype));
  if (!on && t->node)
    return ax_err_set(err, AX_E_VALUE, "requires_grad: cannot turn off requires_grad of a non-leaf tensor; use detach()");
  t->requires_grad = (uint8_t)(on != 0);
  return AX_OK;
}

static ax_status alias(ax_tensor *t, ax_tensor **out, ax_err *err) {
  ax_tensor *a = ax_header_alloc();
  if (!a) return ax_err_set(err, AX_E_NOMEM, "out of memory for a tensor header");
  *a = *t;
  a->refc = 1;
  a->storage->refc++;
  a->requires_grad = 0;
  a->wrapped = 0;
  a->grad = NULL;
  a->node = NULL;
  *out = a;
  return AX_OK;
}

ax_status ax_detach(ax_tensor *t, ax_tensor **out, ax_err *err) { return alias(t, out, err); }

ax_status ax_param(ax_tensor *t, ax_tensor **out, ax_err *err) {
  if (!ax_dtype_is_float(t->dtype))
    return ax_err_set(err, AX_E_DTYPE, "param: only floating point tensors can require gradients, got %s",
                      ax_dtype_name(t->dtype));
  ax_status s = alias(t, out, err);
  if (!s) (*out)->requires_grad = 1;
  return s;
}

void ax_zero_grad(ax_tensor *t) {
  ax_tensor_release(t->grad);
  t->grad = NULL;
}

void ax_node_release(ax_node *n) {
  for (int i = 0; i < n->nin; i++) ax_tensor_release(n->in[i]);
  ax_free(n->in, sizeof(ax_tensor *) * (size_t)n->nin);
  ax_tensor_release(n->out);
  for (int i = 0; i < AX_MAX_OUTPUTS - 1; i++) ax_tensor_release(n->aux[i]);
  ax_tensor_release(n->gacc);
  ax_free(n, sizeof *n);
}

ax_status ax_record(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_node *n = ax_malloc(sizeof *n);
  ax_tensor **ins = ax_malloc(sizeof(ax_tensor *) * (size_t)nin);
  if (!n || !ins) {
    ax_free(n, sizeof *n);
    ax_free(ins, sizeof(ax_tensor *) * (size_t)nin);
    return ax_err_set(err, AX_E_NOMEM, "%s: out of memory recording the autograd tape", ax_op_name(op));
  }
  memset(n, 0, sizeof *n);
  n->op = op;
  n->nin = nin;
  n->in = ins;
  for (int i = 0; i < nin; i++) ins[i] = ax_tensor_retain(in[i]);
  for (int i = 0; i < nin && i < 4; i++) n->in_version[i] = in[i]->storage->version;
  n->out_version = out[0]->storage->version;
  n->attrs = *at;
  ax_tensor *o = out[0];
  n->ndim = o->ndim;
  memcpy(n->shape, o->shape, sizeof n->shape);
  n->dtype = o->dtype;
  for (int i = 1; i < ax_op_table[op].nout && i < AX_MAX_OUTPUTS; i++) n->aux[i - 1] = ax_tensor_retain(out[i]);
  if (ax_grad_saves_output(op)) {
    ax_status s = alias(o, &n->out, err);
    if (s) {
      ax_node_release(n);
      return s;
    }
  }
  o->node = n;
  o->requires_grad = 1;
  return AX_OK;
}

/* ---------------- reverse pass ---------------- */

static _Atomic uint64_t epoch;   /* DFS marks; one backward at a time per graph */

typedef struct { ax_node **v; size_t n, cap; } nodevec;

static int push(nodevec *a, ax_node *x) {
  if (a->n == a->cap) {
    size_t nc = a->cap ? a->cap * 2 : 64;
    ax_node **nv = ax_realloc(a->v, a->cap * sizeof *nv, nc * sizeof *nv);
    if (!nv) return 0;
    a->v = nv;
    a->cap = nc;
  }
  a->v[a->n++] = x;
  return 1;
}

static void vec_free(nodevec *a) { ax_free(a->v, a->cap * sizeof *a->v); }

/* Post-order DFS over nodes reachable through inputs that require grad. */
static ax_status topo(ax_node *root, nodevec *order, ax_err *err) {
  nodevec stack = {0};
  nodevec idx = {0};   /* next input per stack entry, stored as pointer-sized ints */
  uint64_t e = atomic_fetch_add(&epoch, 1) + 1;
  root->mark = e;
  if (!push(&stack, root) || !push(&idx, NULL)) goto oom;
  while (stack.n) {
    ax_node *n = stack.v[stack.n - 1];
    uintptr_t i = (uintptr_t)idx.v[idx.n - 1];
    if ((int)i < n->nin) {
      idx.v[idx.n - 1] = (ax_node *)(i + 1);
      ax_tensor *t = n->in[i];
      if (t && t->requires_grad && t->node && t->node->mark != e) {
        t->node->mark = e;
        if (!push(&stack, t->node) || !push(&idx, NULL)) goto oom;
      }
    } else {
      stack.n--;
      idx.n--;
      if (!push(order, n)) goto oom;
    }
  }
  vec_free(&stack);
  vec_free(&idx);
  return AX_OK;
oom:
  vec_free(&stack);
  vec_free(&idx);
  return ax_err_set(err, AX_E_NOMEM, "backward: out of memory while ordering the graph");
}

static int same_shape(const ax_tensor *t, const int64_t *shape, int ndim) {
  return t->ndim == ndim && !memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
}

/* Bring gi to the input's shape and dtype, then add it to the node accumulator or leaf grad. */
static ax_status deliver(ax_tensor *x, ax_tensor *gi, ax_err *err) {
  ax_tensor *g = ax_tensor_retain(gi), *t = NULL;
  ax_status s = AX_OK;
  if (!same_shape(g, x->shape, x->ndim)) {
    if ((s = ax_sum_to_shape(g, x->shape, x->ndim, &t, err))) goto done;
    ax_tensor_release(g);
    g = t;
  }
  if (g->dtype != x->dtype) {
    if ((s = ax_cast(g, x->dtype, &t, err))) goto done;
    ax_tensor_release(g);
    g = t;
  }
  ax_tensor **slot = x->node ? &x->node->gacc : &x->grad;
  if (!*slot) {
    /* a leaf's .grad must be its own tensor: the user (optimizers) may update it in place */
    if (!x->node && (g->refc > 1 || g->storage->refc > 1 || !ax_is_contiguous(g))) {
      if ((s = ax_copy(g, &t, err))) goto done;
      ax_tensor_release(g);
      g = t;
    }
    *slot = g;
    return AX_OK;
  }
  if ((s = ax_add(*slot, g, &t, err))) goto done;
  ax_tensor_release(*slot);
  *slot = t;
done:
  ax_tensor_release(g);
  return s;
}

/* A saved tensor written in place after the op ran would give a wrong gradient: refuse. */
static ax_status check_versions(const ax_node *n, ax_err *err) {
  char sa[160];
  unsigned saved = ax_grad_saved_inputs(n->op);
  for (int i = 0; i < n->nin && i < 4; i++)
    if ((saved >> i & 1) && n->in[i]->storage->version != n->in_version[i])
      return ax_err_set(err, AX_E_VALUE, "backward: input %d of %s (shape %s) was modified in place after %s used it; "
                        "copy it before writing to it", i, ax_op_name(n->op),
                        ax_shape_str(n->in[i]->shape, n->in[i]->ndim, sa, sizeof sa), ax_op_name(n->op));
  if (n->out && n->out->storage->version != n->out_version)
    return ax_err_set(err, AX_E_VALUE, "backward: the result of %s (shape %s) was modified in place before backward",
                      ax_op_name(n->op), ax_shape_str(n->shape, n->ndim, sa, sizeof sa));
  return AX_OK;
}

ax_status ax_backward(ax_tensor *loss, ax_tensor *grad, ax_err *err) { return ax_backward_ex(loss, grad, 1, err); }

/* Release what a processed node saved. Called in topological order (deepest node first): releasing
** node k's inputs can only free nodes that come before it, which are already stripped. */
static void strip_node(ax_node *n) {
  for (int i = 0; i < n->nin; i++) {
    ax_tensor_release(n->in[i]);
    n->in[i] = NULL;
  }
  ax_tensor_release(n->out);
  n->out = NULL;
  for (int i = 0; i < AX_MAX_OUTPUTS - 1; i++) {
    ax_tensor_release(n->aux[i]);
    n->aux[i] = NULL;
  }
  n->freed = 1;
}

ax_status ax_backward_ex(ax_tensor *loss, ax_tensor *grad, int retain_graph, ax_err *err) {
  char sa[160], sb[160];
  if (!loss->requires_grad)
    return ax_err_set(err, AX_E_VALUE, "backward: tensor does not require grad and has no grad_fn "
                                       "(no input of its computation requires grad)");
  ax_status s;
  ax_tensor *g = NULL;
  if (!grad) {
    if (ax_numel(loss) != 1)
      return ax_err_set(err, AX_E_SHAPE, "backward: grad can be implicitly created only for scalar outputs; "
                        "loss has shape %s, pass a gradient of that shape", ax_shape_str(loss->shape, loss->ndim, sa, sizeof sa));
    if ((s = ax_ones_like(loss, &g, err))) return s;
  } else {
    if (!same_shape(grad, loss->shape, loss->ndim))
      return ax_err_set(err, AX_E_SHAPE, "backward: gradient shape %s does not match the tensor shape %s",
                        ax_shape_str(grad->shape, grad->ndim, sa, sizeof sa), ax_shape_str(loss->shape, loss->ndim, sb, sizeof sb));
    g = ax_tensor_retain(grad);
  }
  int was = ax_grad_enabled();
  ax_dtype autocast = ax_autocast_dtype();   /* rules run in the types the forward chose (torch.autocast) */
  ax_set_grad_enabled(0);
  ax_autocast_set(AX_NDTYPES);
  if (!loss->node) {   /* a leaf */
    s = deliver(loss, g, err);
    ax_tensor_release(g);
    ax_set_grad_enabled(was);
    ax_autocast_set(autocast);
    return s;
  }
  nodevec order = {0};
  if ((s = topo(loss->node, &order, err))) {
    ax_tensor_release(g);
    ax_set_grad_enabled(was);
    ax_autocast_set(autocast);
    return s;
  }
  ax_tensor_release(loss->node->gacc);
  loss->node->gacc = g;
  ax_tensor *gin_small[4];
  for (size_t k = order.n; k-- > 0 && !s;) {
    ax_node *n = order.v[k];
    ax_tensor *gn = n->gacc;
    n->gacc = NULL;
    if (!gn) continue;
    ax_tensor **gin = gin_small;
    if (n->nin > 4 && !(gin = ax_malloc(sizeof *gin * (size_t)n->nin))) {
      ax_tensor_release(gn);
      s = ax_err_set(err, AX_E_NOMEM, "backward: out of memory");
      break;
    }
    for (int i = 0; i < n->nin; i++) gin[i] = NULL;
    if (n->freed) {
      s = ax_err_set(err, AX_E_VALUE, "backward: the graph through %s was already freed by an earlier backward; "
                     "pass retain_graph: true to the first backward to run it twice", ax_op_name(n->op));
      ax_tensor_release(gn);
      if (gin != gin_small) ax_free(gin, sizeof *gin * (size_t)n->nin);
      break;
    }
    if ((s = check_versions(n, err))) {
      ax_tensor_release(gn);
      if (gin != gin_small) ax_free(gin, sizeof *gin * (size_t)n->nin);
      break;
    }
    ax_grad_rule rule = ax_grad_rule_of(n->op);
    s = rule ? rule(n, gn, gin, err)
             : ax_err_set(err, AX_E_UNSUPPORTED, "backward: %s has no backward rule", ax_op_name(n->op));
    for (int i = 0; i < n->nin; i++) {
      if (!s && gin[i] && n->in[i]->requires_grad) s = deliver(n->in[i], gin[i], err);
      ax_tensor_release(gin[i]);
    }
    if (gin != gin_small) ax_free(gin, sizeof *gin * (size_t)n->nin);
    ax_tensor_release(gn);
  }
  for (size_t k = 0; k < order.n; k++) {   /* after an error, drop partial sums */
    ax_tensor_release(order.v[k]->gacc);
    order.v[k]->gacc = NULL;
  }
  if (!s && !retain_graph)
    for (size_t k = 0; k < order.n; k++) strip_node(order.v[k]);
  vec_free(&order);
  ax_set_grad_enabled(was);
  ax_autocast_set(autocast);
  return s;
}
