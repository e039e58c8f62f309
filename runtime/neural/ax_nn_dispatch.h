/* runtime/neural/ax_nn_dispatch.h — CPU kernels and backward rules of the neural rows, as lists of
** designated initializers that runtime/cpu/kernels.c and runtime/ax_grad_rules.c splice into their
** tables. The functions live in runtime/neural/ax_nn.c. */
#ifndef AX_NN_DISPATCH_H
#define AX_NN_DISPATCH_H

#include "ax_autograd.h"

#define AX_NN_KERNEL(name) \
  ax_status ax_nn_k_##name(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
#define AX_NN_RULE(name) ax_status ax_nn_g_##name(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err);

AX_NN_KERNEL(conv2d) AX_NN_KERNEL(conv2d_bwd) AX_NN_KERNEL(convt2d) AX_NN_KERNEL(convt2d_bwd)
AX_NN_KERNEL(max_pool2d) AX_NN_KERNEL(max_pool2d_bwd) AX_NN_KERNEL(avg_pool2d) AX_NN_KERNEL(avg_pool2d_bwd)
AX_NN_KERNEL(adaptive_pool) AX_NN_KERNEL(adaptive_pool_bwd) AX_NN_KERNEL(batch_norm) AX_NN_KERNEL(batch_norm_bwd)
AX_NN_KERNEL(layer_norm) AX_NN_KERNEL(layer_norm_bwd) AX_NN_KERNEL(cross_entropy) AX_NN_KERNEL(cross_entropy_bwd) AX_NN_KERNEL(attention) AX_NN_KERNEL(attention_bwd)
AX_NN_KERNEL(sgd_step) AX_NN_KERNEL(adam_step) AX_NN_KERNEL(act_bwd)
AX_NN_RULE(conv2d) AX_NN_RULE(convt2d) AX_NN_RULE(max_pool2d) AX_NN_RULE(avg_pool2d) AX_NN_RULE(adaptive_pool)
AX_NN_RULE(batch_norm) AX_NN_RULE(layer_norm) AX_NN_RULE(cross_entropy) AX_NN_RULE(attention)
#undef AX_NN_KERNEL
#undef AX_NN_RULE

#define AX_NN_CPU_KERNELS                                                                            \
  [AX_OP_CONV2D] = ax_nn_k_conv2d, [AX_OP_CONV2D_BWD] = ax_nn_k_conv2d_bwd,                          \
  [AX_OP_CONV_TRANSPOSE2D] = ax_nn_k_convt2d, [AX_OP_CONV_TRANSPOSE2D_BWD] = ax_nn_k_convt2d_bwd,    \
  [AX_OP_MAX_POOL2D] = ax_nn_k_max_pool2d, [AX_OP_MAX_POOL2D_BWD] = ax_nn_k_max_pool2d_bwd,          \
  [AX_OP_AVG_POOL2D] = ax_nn_k_avg_pool2d, [AX_OP_AVG_POOL2D_BWD] = ax_nn_k_avg_pool2d_bwd,          \
  [AX_OP_ADAPTIVE_AVG_POOL2D] = ax_nn_k_adaptive_pool,                                               \
  [AX_OP_ADAPTIVE_AVG_POOL2D_BWD] = ax_nn_k_adaptive_pool_bwd,                                       \
  [AX_OP_BATCH_NORM] = ax_nn_k_batch_norm, [AX_OP_BATCH_NORM_BWD] = ax_nn_k_batch_norm_bwd,          \
  [AX_OP_LAYER_NORM] = ax_nn_k_layer_norm, [AX_OP_LAYER_NORM_BWD] = ax_nn_k_layer_norm_bwd,                \
  [AX_OP_CROSS_ENTROPY] = ax_nn_k_cross_entropy, [AX_OP_CROSS_ENTROPY_BWD] = ax_nn_k_cross_entropy_bwd,          \
  [AX_OP_ATTENTION] = ax_nn_k_attention, [AX_OP_ATTENTION_BWD] = ax_nn_k_attention_bwd,                \
  [AX_OP_SGD_STEP] = ax_nn_k_sgd_step, [AX_OP_ADAM_STEP] = ax_nn_k_adam_step,                       \
  [AX_OP_ACT_BWD] = ax_nn_k_act_bwd,

#define AX_NN_GRAD_RULES                                                                             \
  [AX_OP_CONV2D] = ax_nn_g_conv2d, [AX_OP_CONV_TRANSPOSE2D] = ax_nn_g_convt2d,                       \
  [AX_OP_MAX_POOL2D] = ax_nn_g_max_pool2d, [AX_OP_AVG_POOL2D] = ax_nn_g_avg_pool2d,                  \
  [AX_OP_ADAPTIVE_AVG_POOL2D] = ax_nn_g_adaptive_pool, [AX_OP_BATCH_NORM] = ax_nn_g_batch_norm,      \
  [AX_OP_LAYER_NORM] = ax_nn_g_layer_norm, [AX_OP_CROSS_ENTROPY] = ax_nn_g_cross_entropy,    \
  [AX_OP_ATTENTION] = ax_nn_g_attention,

/* runtime/ax_autocast.c: what autocast does to the neural rows (PyTorch's lists: convolutions and
** attention in the half type, layer norm and cross-entropy in float32). */
#define AX_NN_AUTOCAST_POLICY                                                                        \
  [AX_OP_CONV2D] = AX_AUTOCAST_LOWER, [AX_OP_CONV_TRANSPOSE2D] = AX_AUTOCAST_LOWER,                  \
  [AX_OP_ATTENTION] = AX_AUTOCAST_LOWER, [AX_OP_LAYER_NORM] = AX_AUTOCAST_FP32,                      \
  [AX_OP_CROSS_ENTROPY] = AX_AUTOCAST_FP32,

/* Inputs a row with outputs writes in place (bit i: input i): batch_norm's running statistics when
** it updates them. The *_step rows (no outputs) write theirs too and take no half types. */
#define AX_NN_WRITES_INPUTS(op, at) ((op) == AX_OP_BATCH_NORM && (at)->iv[1] ? 0x18u : 0u)

#endif
