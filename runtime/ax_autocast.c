/* runtime/ax_autocast.c — mixed precision: the per-thread autocast state, the op lists that say what
** autocast does to each row (PyTorch's CUDA lists, one set for every device), and half-type inputs
** of the neural rows, which are computed in float32 and stored back in the half type; and the
** process-wide float32 matmul precision (torch.set_float32_matmul_precision) that backends read.
** Invariant: every cast made here is an ordinary `cast` op, so autograd sees it and gradients reach
** float32 leaves in float32; nothing here writes a tensor in place. */
#include <string.h>

#include "ax_autograd.h"
#if defined(__has_include) && !defined(AX_NO_NN_ROWS)   /* -DAX_NO_NN_ROWS: core rows only */
#if __has_include("neural/ax_nn_dispatch.h")
#include "neural/ax_nn_dispatch.h"
#endif
#endif

static _Thread_local ax_dtype autocast_dt = AX_NDTYPES;   /* AX_NDTYPES: off (the default) */

ax_dtype ax_autocast_dtype(void) { return autocast_dt; }
void ax_autocast_set(ax_dtype dt) { autocast_dt = dt == AX_FLOAT16 || dt == AX_BFLOAT16 ? dt : AX_NDTYPES; }

/* torch.amp's CUDA op reference: "ops that can autocast to float16" (lower), "ops that autocast to
** float32" (fp32); everything else runs in the type of its inputs, and binary elementwise ops and
** cat already promote mixed inputs to the widest type. linear, group_norm, rms_norm and the composite
** losses are not rows: their front ends call ax_autocast_lower / ax_autocast_fp32 (vm/lib_nn.c).
** The neural rows' entries come from runtime/neural (AX_NN_AUTOCAST_POLICY). mean, var, std and
** batch_norm are in neither list, as in PyTorch (their kernels accumulate in float32 or wider
** anyway). Backward rows are never listed: backward runs with autocast off. */
static const unsigned char policy[AX_OP_COUNT] = {
    [AX_OP_MATMUL] = AX_AUTOCAST_LOWER,
    [AX_OP_EXP] = AX_AUTOCAST_FP32,
    [AX_OP_LOG] = AX_AUTOCAST_FP32,
    [AX_OP_RSQRT] = AX_AUTOCAST_FP32,
    [AX_OP_POW] = AX_AUTOCAST_FP32,
    [AX_OP_SUM] = AX_AUTOCAST_FP32,
    [AX_OP_PROD] = AX_AUTOCAST_FP32,
    [AX_OP_CUMSUM] = AX_AUTOCAST_FP32,
    [AX_OP_NORM] = AX_AUTOCAST_FP32,
    [AX_OP_SOFTMAX] = AX_AUTOCAST_FP32,
    [AX_OP_LOG_SOFTMAX] = AX_AUTOCAST_FP32,
#ifdef AX_NN_AUTOCAST_POLICY
    AX_NN_AUTOCAST_POLICY
#endif
};

ax_autocast_kind ax_autocast_policy(ax_op op) {
  return (unsigned)op < AX_OP_COUNT ? (ax_autocast_kind)policy[op] : AX_AUTOCAST_NONE;
}

static int is_half(ax_dtype dt) { return dt == AX_FLOAT16 || dt == AX_BFLOAT16; }

/* The type autocast gives x under `kind`, or AX_NDTYPES to leave it: only floating tensors that
** are not float64 and not script numbers (wrapped 0-d tensors keep promoting as numbers). */
static ax_dtype target(const ax_tensor *x, ax_autocast_kind kind) {
  if (!x || x->wrapped || autocast_dt == AX_NDTYPES) return AX_NDTYPES;
  if (kind == AX_AUTOCAST_LOWER && (x->dtype == AX_FLOAT32 || is_half(x->dtype)) && x->dtype != autocast_dt)
    return autocast_dt;
  if (kind == AX_AUTOCAST_FP32 && is_half(x->dtype)) return AX_FLOAT32;
  return AX_NDTYPES;
}

static ax_status cast_for(ax_tensor *x, ax_autocast_kind kind, ax_tensor **out, ax_err *err) {
  ax_dtype dt = target(x, kind);
  if (dt == AX_NDTYPES) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  return ax_cast(x, dt, out, err);
}

ax_status ax_autocast_lower(ax_tensor *x, ax_tensor **out, ax_err *err) { return cast_for(x, AX_AUTOCAST_LOWER, out, err); }
ax_status ax_autocast_fp32(ax_tensor *x, ax_tensor **out, ax_err *err) { return cast_for(x, AX_AUTOCAST_FP32, out, err); }

int ax_autocast_inputs(ax_op op, ax_tensor *const *in, int nin, ax_tensor **cast, ax_status *st, ax_err *err) {
  ax_autocast_kind kind = ax_autocast_policy(op);
  *st = AX_OK;
  if (autocast_dt == AX_NDTYPES || kind == AX_AUTOCAST_NONE || nin > AX_AUTOCAST_MAX_INPUTS) return 0;
  int n = 0;
  for (int i = 0; i < nin; i++) n += target(in[i], kind) != AX_NDTYPES;
  if (!n) return 0;
  for (int i = 0; i < nin; i++) cast[i] = NULL;
  for (int i = 0; i < nin && !*st; i++) *st = cast_for(in[i], kind, &cast[i], err);
  if (*st)
    for (int i = 0; i < nin; i++) {
      ax_tensor_release(cast[i]);
      cast[i] = NULL;
    }
  return n;
}

/* ---- neural rows with half-type inputs ---- */

int ax_half_inputs(ax_op op, ax_tensor *const *in, int nin) {
  if (op < AX_OP_CORE_END || ax_op_table[op].nout == 0) return 0;   /* core kernels take half types; *_step rows write in place */
  for (int i = 0; i < nin; i++)
    if (in[i] && is_half(in[i]->dtype)) return 1;
  return 0;
}

ax_status ax_half_call(ax_kernel_fn fn, ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                       ax_err *err) {
  const ax_op_info *row = &ax_op_table[op];
  if (nin > AX_AUTOCAST_MAX_INPUTS) return ax_err_set(err, AX_E_VALUE, "%s: too many inputs", row->name);
#ifdef AX_NN_WRITES_INPUTS
  /* a row that writes an input in place (batch_norm's running statistics) would write a float32
  ** copy of a half input and drop the update */
  unsigned writes = AX_NN_WRITES_INPUTS(op, at);
  for (int i = 0; i < nin; i++)
    if ((writes >> i & 1u) && in[i] && is_half(in[i]->dtype))
      return ax_err_set(err, AX_E_DTYPE, "%s: %s must be float32 or float64 to be updated in place, got %s", row->name,
                        op == AX_OP_BATCH_NORM ? "running statistics" : "inputs written in place", ax_dtype_name(in[i]->dtype));
#endif
  ax_tensor *f[AX_AUTOCAST_MAX_INPUTS] = {0};
  int was = ax_grad_enabled();
  ax_dtype ac = autocast_dt;
  ax_set_grad_enabled(0);   /* these casts are the kernel's business: the row is recorded with its own inputs */
  autocast_dt = AX_NDTYPES;
  ax_status st = AX_OK;
  for (int i = 0; i < nin && !st; i++)
    st = in[i] && is_half(in[i]->dtype) ? ax_cast(in[i], AX_FLOAT32, &f[i], err) : AX_OK;
  for (int i = 0; i < nin && !st; i++)
    if (!f[i]) f[i] = ax_tensor_retain(in[i]);
  if (!st) st = fn(f, nin, at, out, err);
  /* a forward row's result takes its first input's half type (saved statistics stay float32);
  ** backward rows' gradients stay float32: the engine casts each to its input's type */
  if (!st && row->differentiable && is_half(in[0]->dtype) && out[0] && out[0]->dtype == AX_FLOAT32) {
    ax_tensor *h = NULL;
    st = ax_cast(out[0], in[0]->dtype, &h, err);
    ax_tensor_release(out[0]);
    out[0] = h;
    if (st)
      for (int i = 1; i < row->nout; i++) {
        ax_tensor_release(out[i]);
        out[i] = NULL;
      }
  }
  for (int i = 0; i < nin; i++) ax_tensor_release(f[i]);
  autocast_dt = ac;
  ax_set_grad_enabled(was);
  return st;
}

/* ---- float32 matmul precision ---- */

/* Process-wide, as PyTorch's: a setting of the program, read by every thread's kernels. */
static int matmul_precision = AX_PRECISION_HIGHEST;

int ax_float32_matmul_precision(void) { return __atomic_load_n(&matmul_precision, __ATOMIC_RELAXED); }

void ax_set_float32_matmul_precision(int p) {
  if (p != AX_PRECISION_HIGH && p != AX_PRECISION_MEDIUM) p = AX_PRECISION_HIGHEST;
  __atomic_store_n(&matmul_precision, p, __ATOMIC_RELAXED);
}

static const char *const precision_names[] = {"highest", "high", "medium"};

int ax_matmul_precision_parse(const char *name, ax_matmul_precision *out) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(name, precision_names[i])) {
      *out = (ax_matmul_precision)i;
      return 1;
    }
  return 0;
}

const char *ax_matmul_precision_name(ax_matmul_precision p) {
  return (unsigned)p < 3 ? precision_names[p] : precision_names[0];
}
