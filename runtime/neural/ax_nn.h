/* runtime/neural/ax_nn.h — neural ops with autograd: the front ends the language calls. Each is one
** or more rows of the op list (runtime/ax_ops.h) whose CPU kernels are in ax_nn_kernels.h, so the
** tape records them and backward works like for any op. Layouts and defaults follow PyTorch's
** torch.nn.functional. Invariant: float32/float64 inputs on one device; shape errors name the op
** and both shapes ("conv2d: input has 3 channels, weight expects 1"). */
#ifndef AX_NN_H
#define AX_NN_H

#include "ax_ops.h"

/* x: [N, C_in, H, W], w: [C_out, C_in/groups, kh, kw], b: [C_out] or NULL -> [N, C_out, OH, OW].
** pad: top, left, bottom, right (asymmetric so "same" works with even kernels). */
ax_status ax_conv2d(ax_tensor *x, ax_tensor *w, ax_tensor *b, const int64_t stride[2], const int64_t pad[4],
                    const int64_t dilation[2], int64_t groups, ax_tensor **out, ax_err *err);

/* x: [N, C_in, H, W], w: [C_in, C_out/groups, kh, kw], b: [C_out] or NULL. */
ax_status ax_conv_transpose2d(ax_tensor *x, ax_tensor *w, ax_tensor *b, const int64_t stride[2],
                              const int64_t pad[2], const int64_t output_padding[2],
                              const int64_t dilation[2], int64_t groups, ax_tensor **out, ax_err *err);

/* x: [N, C, H, W] (or [C, H, W]) -> pooled. */
ax_status ax_max_pool2d(ax_tensor *x, const int64_t kernel[2], const int64_t stride[2], const int64_t pad[2],
                        const int64_t dilation[2], int ceil_mode, ax_tensor **out, ax_err *err);
ax_status ax_avg_pool2d(ax_tensor *x, const int64_t kernel[2], const int64_t stride[2], const int64_t pad[2],
                        int ceil_mode, int count_include_pad, ax_tensor **out, ax_err *err);
ax_status ax_adaptive_avg_pool2d(ax_tensor *x, int64_t oh, int64_t ow, ax_tensor **out, ax_err *err);

/* x: [N, C, ...]. training: normalise with batch statistics and update running_mean/var in place
** (not recorded) when they are given; else use running_mean/var. weight/bias [C] or NULL. */
ax_status ax_batch_norm(ax_tensor *x, ax_tensor *running_mean, ax_tensor *running_var, ax_tensor *weight,
                        ax_tensor *bias, int training, double momentum, double eps, ax_tensor **out,
                        ax_err *err);

/* Normalise over the last `nd` dims (normalized_shape = x.shape[-nd:]); weight/bias of that shape or NULL. */
ax_status ax_layer_norm(ax_tensor *x, int nd, ax_tensor *weight, ax_tensor *bias, double eps, ax_tensor **out,
                        ax_err *err);

/* Fused softmax + cross-entropy: logits [N, C], class indices [N] (int64/int32), weight [C] or NULL.
** red: 0 none ([N]), 1 mean, 2 sum; PyTorch's ignore_index and label_smoothing semantics. */
ax_status ax_cross_entropy(ax_tensor *logits, ax_tensor *target, ax_tensor *weight, int64_t ignore_index, int red,
                           double label_smoothing, ax_tensor **out, ax_err *err);

/* Streaming scaled dot-product attention: q [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv], an optional
** additive float mask [T, S]; causal hides key j > i (top-left aligned); the T x S scores are never
** stored. scale <= 0 means 1/sqrt(D). */
ax_status ax_attention(ax_tensor *q, ax_tensor *k, ax_tensor *v, ax_tensor *mask, int causal, double scale,
                       ax_tensor **out, ax_err *err);

#endif
