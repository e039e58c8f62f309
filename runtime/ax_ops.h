/* runtime/ax_ops.h — THE tensor op list (one X-macro row per op), op attributes, the generic
** dispatcher ax_op_call and typed convenience functions. Enum, names, kernel tables, backward
** rules and the ops test are all generated from AX_OP_LIST; add an op by adding a row here
** (see docs/runtime.md "Adding an op"). Neural ops (conv, norms, attention, losses) slot in as
** further rows. Invariant: a row's kernel allocates its outputs on the inputs' device. */
#ifndef AX_OPS_H
#define AX_OPS_H

#include "ax_tensor.h"

/* Row: X(ENUM, "name", inputs (-1: variadic), outputs, differentiable, is_view)
** Variadic ops take >= 1 inputs. Ops with 2 outputs may leave out[1] NULL (max without dim).
** Only out[0] carries a gradient; further outputs (indices, saved statistics) are kept by the
** tape node for the backward rule (n->aux[0..]). */
#define AX_CORE_OP_LIST(X)                     \
  /* elementwise unary (cpu/elementwise.c) */  \
  X(NEG, "neg", 1, 1, 1, 0)                    \
  X(ABS, "abs", 1, 1, 1, 0)                    \
  X(EXP, "exp", 1, 1, 1, 0)                    \
  X(LOG, "log", 1, 1, 1, 0)                    \
  X(SQRT, "sqrt", 1, 1, 1, 0)                  \
  X(RSQRT, "rsqrt", 1, 1, 1, 0)                \
  X(SIN, "sin", 1, 1, 1, 0)                    \
  X(COS, "cos", 1, 1, 1, 0)                    \
  X(TANH, "tanh", 1, 1, 1, 0)                  \
  X(SIGMOID, "sigmoid", 1, 1, 1, 0)            \
  X(RELU, "relu", 1, 1, 1, 0)                  \
  X(GELU, "gelu", 1, 1, 1, 0)                  \
  X(SILU, "silu", 1, 1, 1, 0)                  \
  X(ERF, "erf", 1, 1, 1, 0)                    \
  X(FLOOR, "floor", 1, 1, 1, 0)                \
  X(CEIL, "ceil", 1, 1, 1, 0)                  \
  X(ROUND, "round", 1, 1, 1, 0)                \
  X(SIGN, "sign", 1, 1, 1, 0)                  \
  X(CLAMP, "clamp", 1, 1, 1, 0)                \
  X(LOGICAL_NOT, "logical_not", 1, 1, 0, 0)    \
  /* elementwise binary, broadcasting (cpu/elementwise.c) */ \
  X(ADD, "add", 2, 1, 1, 0)                    \
  X(SUB, "sub", 2, 1, 1, 0)                    \
  X(MUL, "mul", 2, 1, 1, 0)                    \
  X(DIV, "div", 2, 1, 1, 0)                    \
  X(POW, "pow", 2, 1, 1, 0)                    \
  X(MAXIMUM, "maximum", 2, 1, 1, 0)            \
  X(MINIMUM, "minimum", 2, 1, 1, 0)            \
  X(EQ, "eq", 2, 1, 0, 0)                      \
  X(NE, "ne", 2, 1, 0, 0)                      \
  X(LT, "lt", 2, 1, 0, 0)                      \
  X(LE, "le", 2, 1, 0, 0)                      \
  X(GT, "gt", 2, 1, 0, 0)                      \
  X(GE, "ge", 2, 1, 0, 0)                      \
  X(LOGICAL_AND, "logical_and", 2, 1, 0, 0)    \
  X(LOGICAL_OR, "logical_or", 2, 1, 0, 0)      \
  X(WHERE, "where", 3, 1, 1, 0)                \
  X(MASKED_FILL, "masked_fill", 2, 1, 1, 0)    \
  /* reductions (cpu/reduce.c) */              \
  X(SUM, "sum", 1, 1, 1, 0)                    \
  X(MEAN, "mean", 1, 1, 1, 0)                  \
  X(VAR, "var", 1, 1, 1, 0)                    \
  X(STD, "std", 1, 1, 1, 0)                    \
  X(MAX, "max", 1, 2, 1, 0)                    \
  X(MIN, "min", 1, 2, 1, 0)                    \
  X(ARGMAX, "argmax", 1, 1, 0, 0)              \
  X(ARGMIN, "argmin", 1, 1, 0, 0)              \
  X(NORM, "norm", 1, 1, 1, 0)                  \
  X(PROD, "prod", 1, 1, 1, 0)                  \
  X(CUMSUM, "cumsum", 1, 1, 1, 0)              \
  X(SOFTMAX, "softmax", 1, 1, 1, 0)            \
  X(LOG_SOFTMAX, "log_softmax", 1, 1, 1, 0)    \
  /* linear algebra (cpu/matmul.c) */          \
  X(MATMUL, "matmul", 2, 1, 1, 0)              \
  /* indexing and joining (cpu/index.c) */     \
  X(GATHER, "gather", 2, 1, 1, 0)              \
  X(SCATTER, "scatter", 3, 1, 1, 0)            \
  X(INDEX_SELECT, "index_select", 2, 1, 1, 0)  \
  X(CAT, "cat", -1, 1, 1, 0)                   \
  X(SLICE_SCATTER, "slice_scatter", 2, 1, 1, 0) \
  /* conversion (cpu/convert.c) */                  \
  X(CAST, "cast", 1, 1, 1, 0)                  \
  X(COPY, "copy", 1, 1, 1, 0)                  \
  /* views: no kernel, shared by every backend (ax_view.c) */ \
  X(RESHAPE, "reshape", 1, 1, 1, 1)            \
  X(PERMUTE, "permute", 1, 1, 1, 1)            \
  X(SLICE, "slice", 1, 1, 1, 1)                \
  X(EXPAND, "expand", 1, 1, 1, 1)

/* Neural rows (runtime/neural) join the list from runtime/neural/ax_nn_oplist.h when it exists:
** it defines AX_NN_OP_LIST(X) with the same columns. Their CPU kernels and backward rules join
** the tables from runtime/neural/ax_nn_dispatch.h (AX_NN_CPU_KERNELS, AX_NN_GRAD_RULES: lists
** of designated initializers), so the neural library adds ops without editing core files. */
#if defined(__has_include) && !defined(AX_NO_NN_ROWS)   /* -DAX_NO_NN_ROWS: core rows only */
#if __has_include("neural/ax_nn_oplist.h")
#include "neural/ax_nn_oplist.h"
#endif
#endif
#ifndef AX_NN_OP_LIST
#define AX_NN_OP_LIST(X)
#endif
#define AX_OP_LIST(X) AX_CORE_OP_LIST(X) AX_NN_OP_LIST(X)

typedef enum {
#define AX_X(E, n, i, o, d, v) AX_OP_##E,
  AX_CORE_OP_LIST(AX_X)
  AX_OP_CORE_END,                      /* rows from here on come from AX_NN_OP_LIST */
  AX_OP_NN_BEFORE_ = AX_OP_CORE_END - 1,
  AX_NN_OP_LIST(AX_X)
#undef AX_X
  AX_OP_COUNT
} ax_op;

#define AX_MAX_OUTPUTS 4   /* outputs per row: out[0] is differentiable, the rest are saved */

typedef struct {
  const char *name;
  int nin, nout;
  int differentiable;
  int is_view;
} ax_op_info;
extern const ax_op_info ax_op_table[AX_OP_COUNT];

/* Op attributes (zero-initialise, then set what the op reads):
**   sum mean prod            dims/ndims (0: all), keepdim
**   var std                  dims/ndims, keepdim, a = correction (1: unbiased)
**   norm                     dims/ndims, keepdim, a = p (> 0, HUGE_VAL for inf)
**   max min argmax argmin    dim, has_dim (0: whole tensor, 0-d result), keepdim
**   cumsum softmax log_softmax, gather, index_select, cat   dim
**   scatter                  dim, reduce (0 replace, 1 add)
**   slice                    dim, start/stop (AX_SLICE_NONE or negative allowed), step > 0
**   slice_scatter            dim, start/stop/step normalised (0 <= start <= stop <= size)
**   clamp                    a/has_a = min, b/has_b = max;  masked_fill  a = value
**   reshape expand permute   dims/ndims = shape (-1 allowed) / permutation
**   cast                     dtype;  copy  device                                        */
typedef struct {
  int64_t dims[AX_MAX_DIMS];  /* reduce dims / permutation / target shape */
  int ndims;                  /* reductions: 0 means all dims */
  int keepdim;
  int64_t dim;                /* single-dim ops: softmax cumsum gather cat slice max/min/arg* */
  int has_dim;                /* max/min/argmax/argmin: 0 reduces everything */
  int64_t start, stop, step;  /* slice, slice_scatter */
  double a, b;                /* clamp lo/hi, norm p, masked_fill value, var/std correction */
  int has_a, has_b;           /* clamp: which bound is given */
  int reduce;                 /* scatter: 0 replace, 1 add */
  ax_dtype dtype;             /* cast */
  ax_device device;           /* copy: target device */
  int64_t iv[16];             /* op-specific integers (neural rows: stride, padding, groups, ...) */
  double fv[4];               /* op-specific reals (eps, momentum, ...) */
} ax_attrs;

/* A backend kernel: reads inputs, allocates and fills outputs (nout of the row). */
typedef ax_status (*ax_kernel_fn)(ax_tensor *const *in, int nin, const ax_attrs *at,
                                  ax_tensor **out, ax_err *err);
typedef struct {
  ax_kernel_fn fn[AX_OP_COUNT];
  /* 1 for a neural row whose kernel takes float16/bfloat16 inputs itself (cuDNN convolutions in the
  ** half type): ax_op_call hands it the half inputs instead of computing in float32 through
  ** ax_half_call. 0 (the default) keeps the float32 round trip. Core rows always take half types. */
  unsigned char half_native[AX_OP_COUNT];
} ax_kernel_table;
const ax_kernel_table *ax_backend_kernels(ax_device d);   /* NULL when none */
/* Supply the backend and kernel table of the accelerator device type (AX_DEV_CUDA, "cuda:0") from
** outside the built-in registry, before any tensor exists there: an embedder's own accelerator, or
** the tests' fake device (tests/unit_runtime/fake_device.c), which lets the CPU suite run the
** device paths of the runtime and the VM. It answers instead of the CUDA module (never loaded then). */
ax_status ax_backend_register(ax_device_type type, const ax_backend *be, const ax_kernel_table *kt, ax_err *err);
extern const ax_kernel_table ax_cpu_kernels;               /* runtime/cpu/kernels.c */
extern const ax_kernel_fn ax_view_kernels[AX_OP_COUNT];     /* ax_view.c: the is_view rows */

/* Generic entry: checks arity and devices, runs the backend kernel, records autograd.
** out must have room for the row's nout; unused outputs are set to NULL. */
ax_status ax_op_call(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *attrs,
                     ax_tensor **out, ax_err *err);
const char *ax_op_name(ax_op op);
int ax_op_lookup(const char *name, ax_op *out);

/* ---- typed convenience functions ---- */
#define AX_DECL_UNARY(f) ax_status ax_##f(ax_tensor *x, ax_tensor **out, ax_err *err);
#define AX_DECL_BINARY(f) ax_status ax_##f(ax_tensor *a, ax_tensor *b, ax_tensor **out, ax_err *err);
AX_DECL_UNARY(neg) AX_DECL_UNARY(abs) AX_DECL_UNARY(exp) AX_DECL_UNARY(log) AX_DECL_UNARY(sqrt)
AX_DECL_UNARY(rsqrt) AX_DECL_UNARY(sin) AX_DECL_UNARY(cos) AX_DECL_UNARY(tanh)
AX_DECL_UNARY(sigmoid) AX_DECL_UNARY(relu) AX_DECL_UNARY(gelu) AX_DECL_UNARY(silu)
AX_DECL_UNARY(erf) AX_DECL_UNARY(floor) AX_DECL_UNARY(ceil) AX_DECL_UNARY(round)
AX_DECL_UNARY(sign) AX_DECL_UNARY(logical_not)
AX_DECL_BINARY(add) AX_DECL_BINARY(sub) AX_DECL_BINARY(mul) AX_DECL_BINARY(div)
AX_DECL_BINARY(pow) AX_DECL_BINARY(maximum) AX_DECL_BINARY(minimum) AX_DECL_BINARY(eq)
AX_DECL_BINARY(ne) AX_DECL_BINARY(lt) AX_DECL_BINARY(le) AX_DECL_BINARY(gt) AX_DECL_BINARY(ge)
AX_DECL_BINARY(logical_and) AX_DECL_BINARY(logical_or) AX_DECL_BINARY(matmul)
/* relu over x's own storage when x has no other holder (one reference to it and to its storage),
** needs no gradient and is a contiguous float CPU tensor; else ax_relu. out is x retained then. */
ax_status ax_relu_reuse(ax_tensor *x, ax_tensor **out, ax_err *err);
#undef AX_DECL_UNARY
#undef AX_DECL_BINARY

/* clamp: either bound may be absent (has_lo/has_hi 0). */
ax_status ax_clamp(ax_tensor *x, double lo, int has_lo, double hi, int has_hi, ax_tensor **out, ax_err *err);
ax_status ax_where(ax_tensor *cond, ax_tensor *a, ax_tensor *b, ax_tensor **out, ax_err *err);
ax_status ax_masked_fill(ax_tensor *x, ax_tensor *mask, double value, ax_tensor **out, ax_err *err);

/* Reductions over dims[ndims] (ndims 0: all dims), negative dims allowed. */
ax_status ax_sum(ax_tensor *x, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err);
ax_status ax_mean(ax_tensor *x, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err);
/* correction 1 = unbiased (default, as PyTorch), 0 = population. */
ax_status ax_var(ax_tensor *x, const int64_t *dims, int ndims, double correction, int keepdim,
                 ax_tensor **out, ax_err *err);
ax_status ax_std(ax_tensor *x, const int64_t *dims, int ndims, double correction, int keepdim,
                 ax_tensor **out, ax_err *err);
ax_status ax_prod(ax_tensor *x, const int64_t *dims, int ndims, int keepdim, ax_tensor **out, ax_err *err);
/* p-norm (p = 2 Euclidean, 1, inf as HUGE_VAL, any p > 0). */
ax_status ax_norm(ax_tensor *x, double p, const int64_t *dims, int ndims, int keepdim,
                  ax_tensor **out, ax_err *err);
ax_status ax_max_all(ax_tensor *x, ax_tensor **out, ax_err *err);   /* 0-d */
ax_status ax_min_all(ax_tensor *x, ax_tensor **out, ax_err *err);
/* Values and int64 indices along dim. */
ax_status ax_max_dim(ax_tensor *x, int64_t dim, int keepdim, ax_tensor **values, ax_tensor **indices, ax_err *err);
ax_status ax_min_dim(ax_tensor *x, int64_t dim, int keepdim, ax_tensor **values, ax_tensor **indices, ax_err *err);
/* has_dim 0: index into the flattened tensor (0-d result). */
ax_status ax_argmax(ax_tensor *x, int64_t dim, int has_dim, int keepdim, ax_tensor **out, ax_err *err);
ax_status ax_argmin(ax_tensor *x, int64_t dim, int has_dim, int keepdim, ax_tensor **out, ax_err *err);
ax_status ax_cumsum(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err);
ax_status ax_softmax(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err);
ax_status ax_log_softmax(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err);

/* Indexing and joining. idx tensors are int64 or int32. */
ax_status ax_gather(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor **out, ax_err *err);
ax_status ax_scatter(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor *src, ax_tensor **out, ax_err *err);
ax_status ax_scatter_add(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor *src, ax_tensor **out, ax_err *err);
ax_status ax_index_select(ax_tensor *x, int64_t dim, ax_tensor *idx, ax_tensor **out, ax_err *err);
ax_status ax_cat(ax_tensor *const *xs, int n, int64_t dim, ax_tensor **out, ax_err *err);
ax_status ax_stack(ax_tensor *const *xs, int n, int64_t dim, ax_tensor **out, ax_err *err);
/* Copy of base with base[dim][start:stop:step] replaced by src. */
ax_status ax_slice_scatter(ax_tensor *base, ax_tensor *src, int64_t dim, int64_t start, int64_t stop,
                           int64_t step, ax_tensor **out, ax_err *err);
/* split/chunk return a new array of views (*n entries); free with ax_tensor_list_free. */
ax_status ax_split(ax_tensor *x, int64_t size, int64_t dim, ax_tensor ***outs, int *n, ax_err *err);
ax_status ax_chunk(ax_tensor *x, int64_t chunks, int64_t dim, ax_tensor ***outs, int *n, ax_err *err);
void ax_tensor_list_free(ax_tensor **ts, int n);

ax_status ax_cast(ax_tensor *x, ax_dtype dt, ax_tensor **out, ax_err *err);   /* x retained if same */
ax_status ax_copy(ax_tensor *x, ax_tensor **out, ax_err *err);               /* contiguous clone */
ax_status ax_to(ax_tensor *x, ax_device dev, ax_tensor **out, ax_err *err);  /* x retained if same */
/* x itself (retained) when it is on the CPU, else a contiguous CPU copy made through the device's
** copy kernel (one download of x's elements only), without autograd or autocast: what reads
** elements on the host (item, tolist, printing, saving) calls this first. */
ax_status ax_host_copy(ax_tensor *x, ax_tensor **out, ax_err *err);

/* Autograd helper: sum g down to shape (reverse of broadcasting). */
ax_status ax_sum_to_shape(ax_tensor *g, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err);

/* ---- autocast (ax_autocast.c): mixed precision as torch.autocast, per thread ----
** While a half type is set, ax_op_call casts the inputs of the rows on the lower-precision list
** (matmul, convolutions, attention) to it and half inputs of the float32 list (softmax, log_softmax,
** sum, prod, cumsum, norm, exp, log, pow, rsqrt, layer_norm, cross_entropy) to float32; other rows
** run in their inputs' type. float64 tensors and script numbers are never cast. The casts are `cast`
** ops, so gradients reach float32 leaves in float32. Backward runs with autocast off. */
typedef enum { AX_AUTOCAST_NONE, AX_AUTOCAST_LOWER, AX_AUTOCAST_FP32 } ax_autocast_kind;
#define AX_AUTOCAST_MAX_INPUTS 8
ax_dtype ax_autocast_dtype(void);          /* AX_FLOAT16 / AX_BFLOAT16, or AX_NDTYPES when off */
void ax_autocast_set(ax_dtype dt);         /* a half type turns it on, anything else off */
ax_autocast_kind ax_autocast_policy(ax_op op);
/* For composite front ends (linear; group/rms norm and the losses built from several ops): x as the
** lower-precision list / the float32 list would cast it, or x retained (autocast off, not eligible). */
ax_status ax_autocast_lower(ax_tensor *x, ax_tensor **out, ax_err *err);
ax_status ax_autocast_fp32(ax_tensor *x, ax_tensor **out, ax_err *err);
/* ax_op_call's step: when autocast changes any input of op, fill cast[0..nin) with new references
** (casts or the inputs retained) and return how many changed; 0 leaves cast untouched. *st is set
** on an error (cast then holds nothing). */
int ax_autocast_inputs(ax_op op, ax_tensor *const *in, int nin, ax_tensor **cast, ax_status *st, ax_err *err);
/* Neural rows compute half types in float32: ax_half_inputs tells whether row op has a half input
** (core rows take half types natively; rows without outputs write in place and are left alone);
** ax_half_call converts the half inputs to float32, runs fn and stores a forward row's result in
** its first input's half type (saved statistics and backward rows' gradients stay float32). */
int ax_half_inputs(ax_op op, ax_tensor *const *in, int nin);
ax_status ax_half_call(ax_kernel_fn fn, ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at,
                       ax_tensor **out, ax_err *err);

/* ---- float32 matmul precision (ax_autocast.c): torch.set_float32_matmul_precision, process-wide ----
** "highest" (the default): float32 GEMMs and convolutions compute in full float32. "high" and
** "medium": a backend may use TF32 tensor cores for float32 GEMMs and convolutions (CUDA: cuBLAS's
** CUBLAS_COMPUTE_32F_FAST_TF32, cuDNN's default math); as PyTorch does on CUDA, "medium" behaves as
** "high". The CPU kernels ignore it and stay exact. Half types and float64 are not affected. */
typedef enum { AX_PRECISION_HIGHEST, AX_PRECISION_HIGH, AX_PRECISION_MEDIUM } ax_matmul_precision;
int ax_float32_matmul_precision(void);                      /* an ax_matmul_precision */
void ax_set_float32_matmul_precision(int p);                /* out-of-range values: highest */
/* "highest" / "high" / "medium" to the enum (0 when the name is none of them), and back. */
int ax_matmul_precision_parse(const char *name, ax_matmul_precision *out);
const char *ax_matmul_precision_name(ax_matmul_precision p);

#endif
