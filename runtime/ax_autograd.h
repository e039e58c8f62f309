/* runtime/ax_autograd.h — autograd internals: the tape node and the backward rule table.
** A node belongs to exactly one output tensor (t->node) and retains its inputs, so the tape
** lives exactly as long as the tensors that can reach it. Invariant: nodes never point back
** at their own output (a storage-sharing alias is kept instead), so there are no cycles. */
#ifndef AX_AUTOGRAD_H
#define AX_AUTOGRAD_H

#include "ax_ops.h"

typedef struct ax_node {
  ax_op op;
  int nin;
  ax_tensor **in;              /* retained inputs (nin entries) */
  ax_attrs attrs;
  ax_tensor *out;              /* alias of the output's data (no node), for rules that need it */
  ax_tensor *aux[AX_MAX_OUTPUTS - 1];   /* out[1..] (max/min indices, saved statistics), retained */
  int ndim;                    /* output shape and dtype */
  int64_t shape[AX_MAX_DIMS];
  ax_dtype dtype;
  uint64_t in_version[4];      /* storage versions of the saved inputs (first 4) at record time */
  uint64_t out_version;
  ax_tensor *gacc;             /* gradient accumulated during one backward pass */
  uint64_t mark;               /* DFS epoch */
  uint8_t freed;               /* saved tensors released by a backward without retain_graph */
} ax_node;

/* dL/dinputs from dL/dout g. gin has n->nin slots, all NULL on entry; a rule fills the slots of
** inputs that require grad. Shapes may be broadcast (the engine sums them down) and dtypes may
** differ (the engine casts). Rules call forward ops; grad mode is off while they run. */
typedef ax_status (*ax_grad_rule)(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err);
extern const ax_grad_rule ax_grad_rules[AX_OP_COUNT];

/* Registration for rows whose code lives outside the core library (runtime/neural): fills the
** empty slots of the CPU kernel table and the rule table at start-up (before any op runs).
** AX_E_VALUE when the slot is already taken. Lookups use ax_cpu_kernel / ax_grad_rule_of. */
ax_status ax_op_register(ax_op op, ax_kernel_fn cpu_kernel, ax_grad_rule rule, ax_err *err);
ax_kernel_fn ax_cpu_kernel(ax_op op);
ax_grad_rule ax_grad_rule_of(ax_op op);
int ax_grad_saves_output(ax_op op);   /* the rule reads n->out */
unsigned ax_grad_saved_inputs(ax_op op);   /* bit i: the rule reads the values of input i */

/* Called by ax_op_call after a kernel succeeded. */
ax_status ax_record(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
void ax_node_release(ax_node *n);

/* A tensor header from the per-thread cache (freed by ax_tensor_release). */
ax_tensor *ax_header_alloc(void);

/* Shared with the view ops. */
void ax_slice_bounds(int64_t size, int64_t *start, int64_t *stop, int64_t step, int64_t *len);
ax_status ax_infer_shape(const char *op, const ax_tensor *x, const int64_t *shape, int ndim,
                         int64_t *res, ax_err *err);

#endif
