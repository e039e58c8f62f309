/* runtime/ax_dispatch.c — the op table generated from AX_OP_LIST and the one generic entry
** ax_op_call: arity checks, autocast, device checks, kernel lookup (view rows share ax_view_kernels;
** half inputs of neural rows go through ax_half_call unless the kernel table marks the row
** half_native), then autograd recording. Invariant: a missing kernel is AX_E_UNSUPPORTED, never a silent success. */
#include <string.h>

#include "ax_autograd.h"

const ax_op_info ax_op_table[AX_OP_COUNT] = {
#define AX_X(E, n, i, o, d, v) [AX_OP_##E] = {n, i, o, d, v},
    AX_OP_LIST(AX_X)
#undef AX_X
};

static ax_kernel_fn ext_kernels[AX_OP_COUNT];
static ax_grad_rule ext_rules[AX_OP_COUNT];

ax_status ax_op_register(ax_op op, ax_kernel_fn cpu_kernel, ax_grad_rule rule, ax_err *err) {
  if ((unsigned)op >= AX_OP_COUNT) return ax_err_set(err, AX_E_VALUE, "op_register: invalid op %d", (int)op);
  if (cpu_kernel && (ax_cpu_kernels.fn[op] || ext_kernels[op]))
    return ax_err_set(err, AX_E_VALUE, "op_register: %s already has a cpu kernel", ax_op_name(op));
  if (rule && (ax_grad_rules[op] || ext_rules[op]))
    return ax_err_set(err, AX_E_VALUE, "op_register: %s already has a backward rule", ax_op_name(op));
  if (cpu_kernel) ext_kernels[op] = cpu_kernel;
  if (rule) ext_rules[op] = rule;
  return AX_OK;
}

ax_kernel_fn ax_cpu_kernel(ax_op op) {
  if ((unsigned)op >= AX_OP_COUNT) return NULL;
  if (ax_op_table[op].is_view) return ax_view_kernels[op];
  return ax_cpu_kernels.fn[op] ? ax_cpu_kernels.fn[op] : ext_kernels[op];
}

ax_grad_rule ax_grad_rule_of(ax_op op) {
  if ((unsigned)op >= AX_OP_COUNT) return NULL;
  return ax_grad_rules[op] ? ax_grad_rules[op] : ext_rules[op];
}

const char *ax_op_name(ax_op op) { return (unsigned)op < AX_OP_COUNT ? ax_op_table[op].name : "?"; }

int ax_op_lookup(const char *name, ax_op *out) {
  for (int i = 0; i < AX_OP_COUNT; i++)
    if (!strcmp(ax_op_table[i].name, name)) { *out = (ax_op)i; return 1; }
  return 0;
}

ax_status ax_op_call(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *attrs,
                     ax_tensor **out, ax_err *err) {
  if ((unsigned)op >= AX_OP_COUNT) return ax_err_set(err, AX_E_VALUE, "op_call: invalid op %d", (int)op);
  const ax_op_info *row = &ax_op_table[op];
  if (row->nout > AX_MAX_OUTPUTS) return ax_err_set(err, AX_E_VALUE, "%s: too many outputs", row->name);
  for (int i = 0; i < row->nout; i++) out[i] = NULL;
  if (row->nin >= 0 ? nin != row->nin : nin < 1)
    return ax_err_set(err, AX_E_VALUE, "%s: expects %s%d input tensor%s, got %d", row->name, row->nin < 0 ? "at least " : "",
                      row->nin < 0 ? 1 : row->nin, (row->nin == 1 || row->nin < 0) ? "" : "s", nin);
  for (int i = 0; i < nin; i++)
    if (!in[i]) return ax_err_set(err, AX_E_VALUE, "%s: input %d is missing", row->name, i);
  /* autocast: the row runs again on cast inputs (recorded casts, so gradients flow through them) */
  ax_tensor *cast[AX_AUTOCAST_MAX_INPUTS];
  ax_status cs;
  if (ax_autocast_inputs(op, in, nin, cast, &cs, err)) {
    cs = ax_op_call(op, cast, nin, attrs, out, err);
    for (int i = 0; i < nin; i++) ax_tensor_release(cast[i]);
    return cs;
  }
  if (cs) return cs;
  /* A CPU 0-d tensor (a script number, a backward rule's constant) may join tensors on another
  ** device, as in PyTorch; that device's kernel moves it. All other inputs share one device. */
  int r = 0;
  while (r < nin - 1 && in[r]->ndim == 0 && in[r]->storage->device.type == AX_DEV_CPU) r++;
  ax_device dev = in[r]->storage->device;
  for (int i = 0; i < nin; i++)
    if (!ax_device_eq(dev, in[i]->storage->device) && !(in[i]->ndim == 0 && in[i]->storage->device.type == AX_DEV_CPU)) {
      char da[32], db[32], sa[160], sb[160];
      ax_device_format(dev, da, sizeof da);
      ax_device_format(in[i]->storage->device, db, sizeof db);
      return ax_err_set(err, AX_E_DEVICE, "%s: tensors on different devices: %s %s and %s %s", row->name, da,
                        ax_shape_str(in[r]->shape, in[r]->ndim, sa, sizeof sa), db,
                        ax_shape_str(in[i]->shape, in[i]->ndim, sb, sizeof sb));
    }
  ax_kernel_fn fn = NULL;
  int half_native = 0;   /* the kernel takes half inputs itself: no float32 round trip */
  if (row->is_view) {
    fn = ax_view_kernels[op];
  } else {
    const ax_kernel_table *kt = ax_backend_kernels(dev);
    fn = kt ? kt->fn[op] : NULL;
    half_native = fn && kt->half_native[op];
    if (!fn && dev.type == AX_DEV_CPU) fn = ext_kernels[op];
  }
  if (!fn) {
    char d[32];
    ax_device_format(dev, d, sizeof d);
    return ax_err_set(err, AX_E_UNSUPPORTED, "%s: unsupported on %s", row->name, d);
  }
  static const ax_attrs none;
  if (!attrs) attrs = &none;
  ax_status s = !half_native && ax_half_inputs(op, in, nin) ? ax_half_call(fn, op, in, nin, attrs, out, err)
                                                             : fn(in, nin, attrs, out, err);
  if (s) return s;
  if (row->differentiable && ax_grad_enabled()) {
    int need = 0;
    for (int i = 0; i < nin; i++) need |= in[i]->requires_grad;
    if (need && ax_dtype_is_float(out[0]->dtype) && (s = ax_record(op, in, nin, attrs, out, err))) {
      for (int i = 0; i < row->nout; i++) {
        ax_tensor_release(out[i]);
        out[i] = NULL;
      }
      return s;
    }
  }
  return AX_OK;
}
