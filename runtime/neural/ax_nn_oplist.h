/* runtime/neural/ax_nn_oplist.h — the neural rows of the op list (joined by runtime/ax_ops.h).
** Columns as AX_CORE_OP_LIST: X(ENUM, "name", inputs (-1: variadic), outputs, differentiable, is_view).
** Forward rows put saved tensors (pool indices, norm statistics) in out[1..]; the *_backward rows
** are what their backward rules call, so every backend that has the kernels gets autograd.
** The *_step rows are optimizer updates (runtime/optim): no outputs, they write their parameter
** and state inputs in place, so one optimizer drives every backend that has the kernels. */
#ifndef AX_NN_OPLIST_H
#define AX_NN_OPLIST_H

#define AX_NN_OP_LIST(X)                                                        \
  X(CONV2D, "conv2d", -1, 1, 1, 0)                       /* x, w [, b] */        \
  X(CONV2D_BWD, "conv2d_backward", 3, 3, 0, 0)           /* x, w, dy -> dx dw db */ \
  X(CONV_TRANSPOSE2D, "conv_transpose2d", -1, 1, 1, 0)   /* x, w [, b] */        \
  X(CONV_TRANSPOSE2D_BWD, "conv_transpose2d_backward", 3, 3, 0, 0)              \
  X(MAX_POOL2D, "max_pool2d", 1, 2, 1, 0)                /* -> y, indices */     \
  X(MAX_POOL2D_BWD, "max_pool2d_backward", 2, 1, 0, 0)   /* dy, indices -> dx */ \
  X(AVG_POOL2D, "avg_pool2d", 1, 1, 1, 0)                                        \
  X(AVG_POOL2D_BWD, "avg_pool2d_backward", 1, 1, 0, 0)                           \
  X(ADAPTIVE_AVG_POOL2D, "adaptive_avg_pool2d", 1, 1, 1, 0)                      \
  X(ADAPTIVE_AVG_POOL2D_BWD, "adaptive_avg_pool2d_backward", 1, 1, 0, 0)         \
  X(BATCH_NORM, "batch_norm", 5, 3, 1, 0)   /* x w b rmean rvar -> y, mean, rstd */ \
  X(BATCH_NORM_BWD, "batch_norm_backward", 5, 3, 0, 0)   /* x dy w s1 s2 -> dx dw db */ \
  X(LAYER_NORM, "layer_norm", 3, 3, 1, 0)   /* x w b -> y, mean, rstd */          \
  X(LAYER_NORM_BWD, "layer_norm_backward", 5, 3, 0, 0)   /* x dy w mean rstd -> dx dw db */ \
  X(CROSS_ENTROPY, "cross_entropy", -1, 2, 1, 0)  /* logits [n, c], target [n] i64 [, weight [c]] -> loss, lse */ \
  X(CROSS_ENTROPY_BWD, "cross_entropy_backward", -1, 1, 0, 0)   /* logits target dloss lse [, weight] -> dlogits */ \
  X(ATTENTION, "attention", -1, 2, 1, 0)          /* q k v [B,H,T,D] [, additive mask [T,S]] -> out, lse */ \
  X(ATTENTION_BWD, "attention_backward", -1, 3, 0, 0)   /* q k v out lse dout [, mask] -> dq dk dv */ \
  X(ACT_BWD, "activation_backward", 2, 1, 0, 0)   /* x dy -> dx; iv[0]: 0 relu, 1 gelu (erf), 2 silu */ \
  X(SGD_STEP, "sgd_step", -1, 0, 0, 0)      /* param grad [momentum_buf]: updated in place */ \
  X(ADAM_STEP, "adam_step", -1, 0, 0, 0)    /* param grad exp_avg exp_avg_sq [max_exp_avg_sq]: in place */

#endif
