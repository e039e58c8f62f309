/* runtime/cuda/kernels.c — the CUDA kernel table: one designated initializer per op row (plain C,
** because C++ has no array designators). Invariant: a row without a CUDA kernel stays NULL, so
** ax_op_call reports "<op>: unsupported on cuda:0"; no slot returns success without the work.
** Every neural row has a kernel here (docs/cuda.md). */
#include "cuda_kernels.h"

#if defined(__has_include) && !defined(AX_NO_NN_ROWS)   /* the neural rows are in the op list */
#if __has_include("../neural/ax_nn_oplist.h")
#define AX_NN_ROWS_PRESENT 1
#endif
#endif

#define UNARY(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cuda_unary(AX_OP_##E, in, nin, at, out, err); }
#define BINARY(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cuda_binary(AX_OP_##E, in, nin, at, out, err); }
#define REDUCE(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cuda_reduce(AX_OP_##E, in, nin, at, out, err); }
#define SCAN(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cuda_scan(AX_OP_##E, in, nin, at, out, err); }

UNARY(NEG) UNARY(ABS) UNARY(EXP) UNARY(LOG) UNARY(SQRT) UNARY(RSQRT) UNARY(SIN) UNARY(COS)
UNARY(TANH) UNARY(SIGMOID) UNARY(RELU) UNARY(GELU) UNARY(SILU) UNARY(ERF) UNARY(FLOOR)
UNARY(CEIL) UNARY(ROUND) UNARY(SIGN) UNARY(CLAMP) UNARY(LOGICAL_NOT)
BINARY(ADD) BINARY(SUB) BINARY(MUL) BINARY(DIV) BINARY(POW) BINARY(MAXIMUM) BINARY(MINIMUM)
BINARY(EQ) BINARY(NE) BINARY(LT) BINARY(LE) BINARY(GT) BINARY(GE) BINARY(LOGICAL_AND)
BINARY(LOGICAL_OR)
REDUCE(SUM) REDUCE(MEAN) REDUCE(VAR) REDUCE(STD) REDUCE(MAX) REDUCE(MIN) REDUCE(ARGMAX)
REDUCE(ARGMIN) REDUCE(NORM) REDUCE(PROD)
SCAN(CUMSUM) SCAN(SOFTMAX) SCAN(LOG_SOFTMAX)

#define K(E) [AX_OP_##E] = k_##E
const ax_kernel_table cu_kernels = {.fn = {
    K(NEG), K(ABS), K(EXP), K(LOG), K(SQRT), K(RSQRT), K(SIN), K(COS), K(TANH), K(SIGMOID),
    K(RELU), K(GELU), K(SILU), K(ERF), K(FLOOR), K(CEIL), K(ROUND), K(SIGN), K(CLAMP),
    K(LOGICAL_NOT),
    K(ADD), K(SUB), K(MUL), K(DIV), K(POW), K(MAXIMUM), K(MINIMUM), K(EQ), K(NE), K(LT), K(LE),
    K(GT), K(GE), K(LOGICAL_AND), K(LOGICAL_OR),
    [AX_OP_WHERE] = cuda_where,
    [AX_OP_MASKED_FILL] = cuda_masked_fill,
    K(SUM), K(MEAN), K(VAR), K(STD), K(MAX), K(MIN), K(ARGMAX), K(ARGMIN), K(NORM), K(PROD),
    K(CUMSUM), K(SOFTMAX), K(LOG_SOFTMAX),
    [AX_OP_MATMUL] = cuda_matmul,
    [AX_OP_GATHER] = cuda_gather,
    [AX_OP_SCATTER] = cuda_scatter,
    [AX_OP_INDEX_SELECT] = cuda_index_select,
    [AX_OP_CAT] = cuda_cat,
    [AX_OP_SLICE_SCATTER] = cuda_slice_scatter,
    [AX_OP_CAST] = cuda_cast,
    [AX_OP_COPY] = cuda_copy,
#ifdef AX_NN_ROWS_PRESENT
    [AX_OP_CONV2D] = cuda_conv2d,
    [AX_OP_CONV2D_BWD] = cuda_conv2d_bwd,
    [AX_OP_CONV_TRANSPOSE2D] = cuda_conv_transpose2d,
    [AX_OP_CONV_TRANSPOSE2D_BWD] = cuda_conv_transpose2d_bwd,
    [AX_OP_MAX_POOL2D] = cuda_max_pool2d,
    [AX_OP_MAX_POOL2D_BWD] = cuda_max_pool2d_bwd,
    [AX_OP_AVG_POOL2D] = cuda_avg_pool2d,
    [AX_OP_AVG_POOL2D_BWD] = cuda_avg_pool2d_bwd,
    [AX_OP_ADAPTIVE_AVG_POOL2D] = cuda_adaptive_avg_pool2d,
    [AX_OP_ADAPTIVE_AVG_POOL2D_BWD] = cuda_adaptive_avg_pool2d_bwd,
    [AX_OP_BATCH_NORM] = cuda_batch_norm,
    [AX_OP_BATCH_NORM_BWD] = cuda_batch_norm_bwd,
    [AX_OP_LAYER_NORM] = cuda_layer_norm,
    [AX_OP_LAYER_NORM_BWD] = cuda_layer_norm_bwd,
    [AX_OP_CROSS_ENTROPY] = cuda_cross_entropy,
    [AX_OP_CROSS_ENTROPY_BWD] = cuda_cross_entropy_bwd,
    [AX_OP_SGD_STEP] = cuda_sgd_step,
    [AX_OP_ADAM_STEP] = cuda_adam_step,
    [AX_OP_ATTENTION] = cuda_attention,
    [AX_OP_ATTENTION_BWD] = cuda_attention_bwd,
    [AX_OP_ACT_BWD] = cuda_act_bwd,
#endif
}, .half_native = {
#ifdef AX_NN_ROWS_PRESENT
    /* cuDNN runs these in float16/bfloat16 with float32 compute (conv.cu): no float32 round trip */
    [AX_OP_CONV2D] = 1, [AX_OP_CONV2D_BWD] = 1, [AX_OP_CONV_TRANSPOSE2D] = 1, [AX_OP_CONV_TRANSPOSE2D_BWD] = 1,
    /* float16/bfloat16 attention forwards run on tensor cores where attention_tc.cuh applies; the
    ** row converts other half inputs to float32 itself (attention.cu). The backward row is not
    ** half_native: ax_half_call gives it float32 copies. */
    [AX_OP_ATTENTION] = 1,
#endif
}};
