/* runtime/cpu/kernels.c — the CPU kernel table: one designated initializer per op row.
** Invariant: every non-view row of AX_OP_LIST has an entry (tests/ops checks completeness). */
#include "cpu.h"
#if defined(__has_include) && !defined(AX_NO_NN_ROWS)   /* -DAX_NO_NN_ROWS: core rows only */
#if __has_include("../neural/ax_nn_dispatch.h")
#include "../neural/ax_nn_dispatch.h"
#endif
#endif

#define UNARY(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cpu_unary(AX_OP_##E, in, nin, at, out, err); }
#define BINARY(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cpu_binary(AX_OP_##E, in, nin, at, out, err); }
#define REDUCE(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cpu_reduce(AX_OP_##E, in, nin, at, out, err); }
#define SCAN(E) static ax_status k_##E(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) { return cpu_scan(AX_OP_##E, in, nin, at, out, err); }

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
const ax_kernel_table ax_cpu_kernels = {.fn = {
    K(NEG), K(ABS), K(EXP), K(LOG), K(SQRT), K(RSQRT), K(SIN), K(COS), K(TANH), K(SIGMOID),
    K(RELU), K(GELU), K(SILU), K(ERF), K(FLOOR), K(CEIL), K(ROUND), K(SIGN), K(CLAMP),
    K(LOGICAL_NOT),
    K(ADD), K(SUB), K(MUL), K(DIV), K(POW), K(MAXIMUM), K(MINIMUM), K(EQ), K(NE), K(LT), K(LE),
    K(GT), K(GE), K(LOGICAL_AND), K(LOGICAL_OR),
    [AX_OP_WHERE] = cpu_where,
    [AX_OP_MASKED_FILL] = cpu_masked_fill,
    K(SUM), K(MEAN), K(VAR), K(STD), K(MAX), K(MIN), K(ARGMAX), K(ARGMIN), K(NORM), K(PROD),
    K(CUMSUM), K(SOFTMAX), K(LOG_SOFTMAX),
    [AX_OP_MATMUL] = cpu_matmul,
    [AX_OP_GATHER] = cpu_gather,
    [AX_OP_SCATTER] = cpu_scatter,
    [AX_OP_INDEX_SELECT] = cpu_index_select,
    [AX_OP_CAT] = cpu_cat,
    [AX_OP_SLICE_SCATTER] = cpu_slice_scatter,
    [AX_OP_CAST] = cpu_cast,
    [AX_OP_COPY] = cpu_copy,
#ifdef AX_NN_CPU_KERNELS
    AX_NN_CPU_KERNELS
#endif
}};   /* .half_native: none (the neural rows compute half inputs in float32) */
