/* runtime/neural/ax_nn_kernels.h — raw CPU kernels of the neural library (conv2d/3d, transposed
** conv, pooling, norms, cross-entropy, embedding, optimizers, attention, dropout, LSTM/GRU cells)
** on contiguous row-major buffers with explicit sizes.
** Invariant: every kernel exists as _f32 and _f64, checks its sizes, returns an ax_status (filling
** ax_err, never aborting), allocates workspace only through ax_malloc and OVERWRITES its outputs
** (gradients are written, not accumulated: the autograd layer adds them where it must).
**
** Threading: kernels that pay for it split work over the cores of the process's CPU affinity
** (ax_nn_num_threads) on the runtime's persistent thread pool. While such a region runs, OpenBLAS is
** set to 1 thread (openblas_set_num_threads) so the two never oversubscribe the cores; when a
** kernel runs one GEMM at a time it sets OpenBLAS to ax_nn_num_threads() threads instead. Either
** way the previous OpenBLAS thread count is restored before the kernel returns, so callers see no
** change. Kernels are not reentrant with respect to each other from several threads at once for
** that reason (the runtime calls them from one thread). */
#ifndef AX_NN_KERNELS_H
#define AX_NN_KERNELS_H

#include <stdint.h>

#include "ax_error.h"

/* Number of worker threads kernels use: the CPUs in the affinity mask (at least 1). */
int ax_nn_num_threads(void);
/* Override (tests, benches); n <= 0 restores the default. */
void ax_nn_set_num_threads(int n);

/* ---------------------------------------------------------------------------------------------
** Convolution (conv.c). 2-d convolution as PyTorch's conv2d (cross-correlation).
**   x: [n, c_in, h, w]   weight: [c_out, c_in/groups, kh, kw]   bias: [c_out] (NULL: none)
**   y: [n, c_out, oh, ow] with oh = (h + pad_top + pad_bottom - dil_h*(kh-1) - 1)/stride_h + 1.
** Separate top/left/bottom/right pads let "same" padding work with even kernels.
** conv1d is this kernel with h = 1, kh = 1, pad_top = pad_bottom = 0. */
typedef struct {
  int64_t n, c_in, h, w;
  int64_t c_out, kh, kw;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
  int64_t dil_h, dil_w;
  int64_t groups;
} ax_nn_conv2d_desc;

ax_status ax_nn_conv2d_out_size(const ax_nn_conv2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err);
/* PyTorch's padding="same" along one axis (stride 1): total = dil*(k-1), *lo = total/2,
** *hi = total - *lo (the extra cell of an even kernel goes after). */
void ax_nn_same_padding(int64_t k, int64_t dil, int64_t *lo, int64_t *hi);
ax_status ax_nn_conv2d_fwd_f32(const ax_nn_conv2d_desc *d, const float *x, const float *weight,
                               const float *bias, float *y, ax_err *err);
ax_status ax_nn_conv2d_fwd_f64(const ax_nn_conv2d_desc *d, const double *x, const double *weight,
                               const double *bias, double *y, ax_err *err);
/* dy: [n, c_out, oh, ow]. dx (needs weight), dweight (needs x) and dbias may each be NULL;
** x may be NULL when dweight is. */
ax_status ax_nn_conv2d_bwd_f32(const ax_nn_conv2d_desc *d, const float *x, const float *weight,
                               const float *dy, float *dx, float *dweight, float *dbias, ax_err *err);
ax_status ax_nn_conv2d_bwd_f64(const ax_nn_conv2d_desc *d, const double *x, const double *weight,
                               const double *dy, double *dx, double *dweight, double *dbias,
                               ax_err *err);

/* Transposed convolution as PyTorch's conv_transpose2d.
**   x: [n, c_in, h, w]   weight: [c_in, c_out/groups, kh, kw]   bias: [c_out] (NULL: none)
**   y: [n, c_out, oh, ow], oh = (h-1)*stride_h - pad_top - pad_bottom + dil_h*(kh-1)
**                               + out_pad_h + 1.
** Forward is conv2d's backward-data; backward is conv2d forward (dx) plus conv2d's weight grad. */
typedef struct {
  int64_t n, c_in, h, w;
  int64_t c_out, kh, kw;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
  int64_t out_pad_h, out_pad_w;
  int64_t dil_h, dil_w;
  int64_t groups;
} ax_nn_conv_transpose2d_desc;

ax_status ax_nn_conv_transpose2d_out_size(const ax_nn_conv_transpose2d_desc *d, int64_t *oh,
                                          int64_t *ow, ax_err *err);
ax_status ax_nn_conv_transpose2d_fwd_f32(const ax_nn_conv_transpose2d_desc *d, const float *x,
                                         const float *weight, const float *bias, float *y,
                                         ax_err *err);
ax_status ax_nn_conv_transpose2d_fwd_f64(const ax_nn_conv_transpose2d_desc *d, const double *x,
                                         const double *weight, const double *bias, double *y,
                                         ax_err *err);
ax_status ax_nn_conv_transpose2d_bwd_f32(const ax_nn_conv_transpose2d_desc *d, const float *x,
                                         const float *weight, const float *dy, float *dx,
                                         float *dweight, float *dbias, ax_err *err);
ax_status ax_nn_conv_transpose2d_bwd_f64(const ax_nn_conv_transpose2d_desc *d, const double *x,
                                         const double *weight, const double *dy, double *dx,
                                         double *dweight, double *dbias, ax_err *err);

/* 3-d convolution as PyTorch's conv3d, by vol2col + GEMM (conv3d.c). Spatial sizes, kernel,
** stride, padding (before / after, per axis) and dilation are given per axis (0 = depth,
** 1 = height, 2 = width).
**   x: [n, c_in, d, h, w]   weight: [c_out, c_in/groups, kd, kh, kw]   bias: [c_out] or NULL
**   y: [n, c_out, od, oh, ow], o[a] = (in[a] + pad_lo[a] + pad_hi[a] - dil[a]*(k[a]-1) - 1)
**                                     / stride[a] + 1 */
typedef struct {
  int64_t n, c_in, c_out, groups;
  int64_t in[3], k[3], stride[3], pad_lo[3], pad_hi[3], dil[3];
} ax_nn_conv3d_desc;
ax_status ax_nn_conv3d_out_size(const ax_nn_conv3d_desc *d, int64_t out[3], ax_err *err);
ax_status ax_nn_conv3d_fwd_f32(const ax_nn_conv3d_desc *d, const float *x, const float *weight,
                               const float *bias, float *y, ax_err *err);
ax_status ax_nn_conv3d_fwd_f64(const ax_nn_conv3d_desc *d, const double *x, const double *weight,
                               const double *bias, double *y, ax_err *err);
ax_status ax_nn_conv3d_bwd_f32(const ax_nn_conv3d_desc *d, const float *x, const float *weight,
                               const float *dy, float *dx, float *dweight, float *dbias,
                               ax_err *err);
ax_status ax_nn_conv3d_bwd_f64(const ax_nn_conv3d_desc *d, const double *x, const double *weight,
                               const double *dy, double *dx, double *dweight, double *dbias,
                               ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Pooling (pool.c).  x: [n, c, h, w]  y: [n, c, oh, ow]
**   oh = floor_or_ceil((h + 2*pad_h - dil_h*(kh-1) - 1) / stride_h) + 1, with PyTorch's rule that
**   in ceil_mode the last window must start inside the input or the left padding.
** max: padding counts as -inf; idx (int64, may be NULL in forward) holds the argmax as a flat
** index into the h*w plane, as PyTorch's return_indices. avg: dil must be 1; count_include_pad
** divides by the window clipped to the padded input (PyTorch default true), else by the number
** of input elements in it. pad_h <= kh/2 and pad_w <= kw/2 as in PyTorch. */
typedef struct {
  int64_t n, c, h, w;
  int64_t kh, kw;
  int64_t stride_h, stride_w;
  int64_t pad_h, pad_w;
  int64_t dil_h, dil_w;
  int ceil_mode;
  int count_include_pad;
} ax_nn_pool2d_desc;

ax_status ax_nn_pool2d_out_size(const ax_nn_pool2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err);
ax_status ax_nn_max_pool2d_fwd_f32(const ax_nn_pool2d_desc *d, const float *x, float *y,
                                   int64_t *idx, ax_err *err);
ax_status ax_nn_max_pool2d_fwd_f64(const ax_nn_pool2d_desc *d, const double *x, double *y,
                                   int64_t *idx, ax_err *err);
/* dy, idx: [n, c, oh, ow] -> dx: [n, c, h, w] */
ax_status ax_nn_max_pool2d_bwd_f32(const ax_nn_pool2d_desc *d, const float *dy, const int64_t *idx,
                                   float *dx, ax_err *err);
ax_status ax_nn_max_pool2d_bwd_f64(const ax_nn_pool2d_desc *d, const double *dy,
                                   const int64_t *idx, double *dx, ax_err *err);
ax_status ax_nn_avg_pool2d_fwd_f32(const ax_nn_pool2d_desc *d, const float *x, float *y, ax_err *err);
ax_status ax_nn_avg_pool2d_fwd_f64(const ax_nn_pool2d_desc *d, const double *x, double *y,
                                   ax_err *err);
ax_status ax_nn_avg_pool2d_bwd_f32(const ax_nn_pool2d_desc *d, const float *dy, float *dx,
                                   ax_err *err);
ax_status ax_nn_avg_pool2d_bwd_f64(const ax_nn_pool2d_desc *d, const double *dy, double *dx,
                                   ax_err *err);
/* Adaptive average pooling: x: [n, c, h, w] -> y: [n, c, oh, ow]; output cell (i, j) averages
** rows floor(i*h/oh) .. ceil((i+1)*h/oh)-1 (PyTorch's start/end formula), same for columns.
** Global average pooling is oh = ow = 1. */
ax_status ax_nn_adaptive_avg_pool2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                                            int64_t ow, const float *x, float *y, ax_err *err);
ax_status ax_nn_adaptive_avg_pool2d_fwd_f64(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                                            int64_t ow, const double *x, double *y, ax_err *err);
ax_status ax_nn_adaptive_avg_pool2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                                            int64_t ow, const float *dy, float *dx, ax_err *err);
ax_status ax_nn_adaptive_avg_pool2d_bwd_f64(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oh,
                                            int64_t ow, const double *dy, double *dx, ax_err *err);
/* Global average pooling: x: [n, c, h, w] -> y: [n, c] (the mean of each plane); backward
** spreads dy / (h*w) over the plane. Same values as adaptive pooling to 1x1, faster. */
ax_status ax_nn_global_avg_pool2d_fwd_f32(int64_t n, int64_t c, int64_t h, int64_t w,
                                          const float *x, float *y, ax_err *err);
ax_status ax_nn_global_avg_pool2d_fwd_f64(int64_t n, int64_t c, int64_t h, int64_t w,
                                          const double *x, double *y, ax_err *err);
ax_status ax_nn_global_avg_pool2d_bwd_f32(int64_t n, int64_t c, int64_t h, int64_t w,
                                          const float *dy, float *dx, ax_err *err);
ax_status ax_nn_global_avg_pool2d_bwd_f64(int64_t n, int64_t c, int64_t h, int64_t w,
                                          const double *dy, double *dx, ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Normalisation (norm.c). gamma/beta may be NULL (no affine); the matching grads may be NULL.
**
** batch_norm: x, y: [n, c, hw] (hw = product of spatial dims, 1 for [n, c]); stats per channel.
** Training: normalises with the batch mean and biased variance, saves mean/rstd [c]
** (rstd = 1/sqrt(var + eps)) and, when running_mean/var are non-NULL, updates them as PyTorch:
** running = (1 - momentum) * running + momentum * stat, with the UNBIASED variance
** (var * m/(m-1), m = n*hw; m must be > 1). */
ax_status ax_nn_batch_norm_fwd_train_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                                         const float *gamma, const float *beta, double eps,
                                         double momentum, float *running_mean, float *running_var,
                                         float *y, float *save_mean, float *save_rstd, ax_err *err);
ax_status ax_nn_batch_norm_fwd_train_f64(int64_t n, int64_t c, int64_t hw, const double *x,
                                         const double *gamma, const double *beta, double eps,
                                         double momentum, double *running_mean,
                                         double *running_var, double *y, double *save_mean,
                                         double *save_rstd, ax_err *err);
ax_status ax_nn_batch_norm_fwd_eval_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                                        const float *gamma, const float *beta,
                                        const float *running_mean, const float *running_var,
                                        double eps, float *y, ax_err *err);
ax_status ax_nn_batch_norm_fwd_eval_f64(int64_t n, int64_t c, int64_t hw, const double *x,
                                        const double *gamma, const double *beta,
                                        const double *running_mean, const double *running_var,
                                        double eps, double *y, ax_err *err);
/* Training-mode backward from the saved batch statistics. */
ax_status ax_nn_batch_norm_bwd_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                                   const float *dy, const float *gamma, const float *save_mean,
                                   const float *save_rstd, float *dx, float *dgamma, float *dbeta,
                                   ax_err *err);
ax_status ax_nn_batch_norm_bwd_f64(int64_t n, int64_t c, int64_t hw, const double *x,
                                   const double *dy, const double *gamma, const double *save_mean,
                                   const double *save_rstd, double *dx, double *dgamma,
                                   double *dbeta, ax_err *err);
/* Eval-mode backward (statistics are constants): dx = dy * gamma / sqrt(running_var + eps). */
ax_status ax_nn_batch_norm_bwd_eval_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                                        const float *dy, const float *gamma,
                                        const float *running_mean, const float *running_var,
                                        double eps, float *dx, float *dgamma, float *dbeta,
                                        ax_err *err);
ax_status ax_nn_batch_norm_bwd_eval_f64(int64_t n, int64_t c, int64_t hw, const double *x,
                                        const double *dy, const double *gamma,
                                        const double *running_mean, const double *running_var,
                                        double eps, double *dx, double *dgamma, double *dbeta,
                                        ax_err *err);

/* layer_norm over the last d elements: x, y: [m, d]; gamma, beta: [d]; mean, rstd: [m]. */
ax_status ax_nn_layer_norm_fwd_f32(int64_t m, int64_t d, const float *x, const float *gamma,
                                   const float *beta, double eps, float *y, float *mean,
                                   float *rstd, ax_err *err);
ax_status ax_nn_layer_norm_fwd_f64(int64_t m, int64_t d, const double *x, const double *gamma,
                                   const double *beta, double eps, double *y, double *mean,
                                   double *rstd, ax_err *err);
ax_status ax_nn_layer_norm_bwd_f32(int64_t m, int64_t d, const float *x, const float *dy,
                                   const float *gamma, const float *mean, const float *rstd,
                                   float *dx, float *dgamma, float *dbeta, ax_err *err);
ax_status ax_nn_layer_norm_bwd_f64(int64_t m, int64_t d, const double *x, const double *dy,
                                   const double *gamma, const double *mean, const double *rstd,
                                   double *dx, double *dgamma, double *dbeta, ax_err *err);

/* group_norm: x, y: [n, c, hw]; groups divides c; gamma, beta: [c]; mean, rstd: [n, groups].
** instance_norm is group_norm with groups = c (no running statistics, PyTorch's default). */
ax_status ax_nn_group_norm_fwd_f32(int64_t n, int64_t c, int64_t hw, int64_t groups,
                                   const float *x, const float *gamma, const float *beta,
                                   double eps, float *y, float *mean, float *rstd, ax_err *err);
ax_status ax_nn_group_norm_fwd_f64(int64_t n, int64_t c, int64_t hw, int64_t groups,
                                   const double *x, const double *gamma, const double *beta,
                                   double eps, double *y, double *mean, double *rstd, ax_err *err);
ax_status ax_nn_group_norm_bwd_f32(int64_t n, int64_t c, int64_t hw, int64_t groups,
                                   const float *x, const float *dy, const float *gamma,
                                   const float *mean, const float *rstd, float *dx, float *dgamma,
                                   float *dbeta, ax_err *err);
ax_status ax_nn_group_norm_bwd_f64(int64_t n, int64_t c, int64_t hw, int64_t groups,
                                   const double *x, const double *dy, const double *gamma,
                                   const double *mean, const double *rstd, double *dx,
                                   double *dgamma, double *dbeta, ax_err *err);
ax_status ax_nn_instance_norm_fwd_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                                      const float *gamma, const float *beta, double eps, float *y,
                                      float *mean, float *rstd, ax_err *err);
ax_status ax_nn_instance_norm_fwd_f64(int64_t n, int64_t c, int64_t hw, const double *x,
                                      const double *gamma, const double *beta, double eps,
                                      double *y, double *mean, double *rstd, ax_err *err);
ax_status ax_nn_instance_norm_bwd_f32(int64_t n, int64_t c, int64_t hw, const float *x,
                                      const float *dy, const float *gamma, const float *mean,
                                      const float *rstd, float *dx, float *dgamma, float *dbeta,
                                      ax_err *err);
ax_status ax_nn_instance_norm_bwd_f64(int64_t n, int64_t c, int64_t hw, const double *x,
                                      const double *dy, const double *gamma, const double *mean,
                                      const double *rstd, double *dx, double *dgamma,
                                      double *dbeta, ax_err *err);

/* rms_norm over the last d elements: y = x / sqrt(mean(x^2) + eps) * weight; rstd: [m]. */
ax_status ax_nn_rms_norm_fwd_f32(int64_t m, int64_t d, const float *x, const float *weight,
                                 double eps, float *y, float *rstd, ax_err *err);
ax_status ax_nn_rms_norm_fwd_f64(int64_t m, int64_t d, const double *x, const double *weight,
                                 double eps, double *y, double *rstd, ax_err *err);
ax_status ax_nn_rms_norm_bwd_f32(int64_t m, int64_t d, const float *x, const float *dy,
                                 const float *weight, const float *rstd, float *dx,
                                 float *dweight, ax_err *err);
ax_status ax_nn_rms_norm_bwd_f64(int64_t m, int64_t d, const double *x, const double *dy,
                                 const double *weight, const double *rstd, double *dx,
                                 double *dweight, ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Softmax + cross-entropy, fused (loss.c). logits: [n, c]; lse: [n] saved log-sum-exp per row.
** Class-index targets: target [n] (int64), weight [c] or NULL, ignore_index, label_smoothing in
** [0, 1]: loss = (1-ls) * nll + ls/c * sum_k -w_k log p_k, each masked on ignored rows; mean
** divides both by the number of non-ignored rows, or by the sum of their class weights when
** weights are given (PyTorch; all rows ignored gives NaN, as PyTorch).
** Probability targets: target [n, c] (rows of class probabilities, smoothed as
** t*(1-ls) + ls/c); loss_i = -sum_k w_k t_ik log p_ik; mean divides by n.
** loss: [n] for AX_NN_REDUCE_NONE, else one value. dloss in backward has the same shape. */
typedef enum { AX_NN_REDUCE_NONE = 0, AX_NN_REDUCE_MEAN = 1, AX_NN_REDUCE_SUM = 2 } ax_nn_reduction;

ax_status ax_nn_cross_entropy_fwd_f32(int64_t n, int64_t c, const float *logits,
                                      const int64_t *target, const float *weight,
                                      int64_t ignore_index, double label_smoothing,
                                      ax_nn_reduction red, float *loss, float *lse, ax_err *err);
ax_status ax_nn_cross_entropy_fwd_f64(int64_t n, int64_t c, const double *logits,
                                      const int64_t *target, const double *weight,
                                      int64_t ignore_index, double label_smoothing,
                                      ax_nn_reduction red, double *loss, double *lse, ax_err *err);
ax_status ax_nn_cross_entropy_bwd_f32(int64_t n, int64_t c, const float *logits,
                                      const int64_t *target, const float *weight,
                                      int64_t ignore_index, double label_smoothing,
                                      ax_nn_reduction red, const float *lse, const float *dloss,
                                      float *dlogits, ax_err *err);
ax_status ax_nn_cross_entropy_bwd_f64(int64_t n, int64_t c, const double *logits,
                                      const int64_t *target, const double *weight,
                                      int64_t ignore_index, double label_smoothing,
                                      ax_nn_reduction red, const double *lse, const double *dloss,
                                      double *dlogits, ax_err *err);
ax_status ax_nn_cross_entropy_soft_fwd_f32(int64_t n, int64_t c, const float *logits,
                                           const float *target, const float *weight,
                                           double label_smoothing, ax_nn_reduction red,
                                           float *loss, float *lse, ax_err *err);
ax_status ax_nn_cross_entropy_soft_fwd_f64(int64_t n, int64_t c, const double *logits,
                                           const double *target, const double *weight,
                                           double label_smoothing, ax_nn_reduction red,
                                           double *loss, double *lse, ax_err *err);
ax_status ax_nn_cross_entropy_soft_bwd_f32(int64_t n, int64_t c, const float *logits,
                                           const float *target, const float *weight,
                                           double label_smoothing, ax_nn_reduction red,
                                           const float *lse, const float *dloss, float *dlogits,
                                           ax_err *err);
ax_status ax_nn_cross_entropy_soft_bwd_f64(int64_t n, int64_t c, const double *logits,
                                           const double *target, const double *weight,
                                           double label_smoothing, ax_nn_reduction red,
                                           const double *lse, const double *dloss,
                                           double *dlogits, ax_err *err);

/* nll_loss on log-probabilities logp: [n, c] (the input of PyTorch's nll_loss): loss_i =
** -w[t_i] * logp[i, t_i], 0 on ignored rows; mean divides by the sum of w[t_i] over the rows kept
** (their count without weights). Backward writes dlogp (zeros except at the targets). */
ax_status ax_nn_nll_loss_fwd_f32(int64_t n, int64_t c, const float *logp, const int64_t *target,
                                 const float *weight, int64_t ignore_index, ax_nn_reduction red,
                                 float *loss, ax_err *err);
ax_status ax_nn_nll_loss_fwd_f64(int64_t n, int64_t c, const double *logp, const int64_t *target,
                                 const double *weight, int64_t ignore_index, ax_nn_reduction red,
                                 double *loss, ax_err *err);
ax_status ax_nn_nll_loss_bwd_f32(int64_t n, int64_t c, const int64_t *target, const float *weight,
                                 int64_t ignore_index, ax_nn_reduction red, const float *dloss,
                                 float *dlogp, ax_err *err);
ax_status ax_nn_nll_loss_bwd_f64(int64_t n, int64_t c, const int64_t *target,
                                 const double *weight, int64_t ignore_index, ax_nn_reduction red,
                                 const double *dloss, double *dlogp, ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Embedding (embedding.c). weight: [vocab, dim]; ids: [m] (int64); y: [m, dim].
** An id outside [0, vocab) is AX_E_INDEX naming the id and the vocabulary size.
** Backward scatter-adds dy: [m, dim] into dweight: [vocab, dim] (overwritten); rows of
** padding_idx (< 0: none) get no gradient. */
ax_status ax_nn_embedding_fwd_f32(int64_t vocab, int64_t dim, int64_t m, const float *weight,
                                  const int64_t *ids, float *y, ax_err *err);
ax_status ax_nn_embedding_fwd_f64(int64_t vocab, int64_t dim, int64_t m, const double *weight,
                                  const int64_t *ids, double *y, ax_err *err);
ax_status ax_nn_embedding_bwd_f32(int64_t vocab, int64_t dim, int64_t m, const int64_t *ids,
                                  const float *dy, int64_t padding_idx, float *dweight,
                                  ax_err *err);
ax_status ax_nn_embedding_bwd_f64(int64_t vocab, int64_t dim, int64_t m, const int64_t *ids,
                                  const double *dy, int64_t padding_idx, double *dweight,
                                  ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Optimizer steps (optim.c), in place over one flat parameter buffer param[n] with grad[n] and
** state buffers of n elements (zero-initialised by the caller unless said otherwise). step is
** the 1-based number of this step (PyTorch's state['step'] after its increment). Each follows
** PyTorch 1.13's single-tensor update order exactly. */
typedef struct { double lr, momentum, dampening, weight_decay; int nesterov, maximize; } ax_nn_sgd_cfg;
/* momentum_buf may be NULL when momentum == 0; at step 1 it is set to the gradient. */
ax_status ax_nn_sgd_step_f32(const ax_nn_sgd_cfg *cfg, int64_t n, float *param, const float *grad,
                             float *momentum_buf, int64_t step, ax_err *err);
ax_status ax_nn_sgd_step_f64(const ax_nn_sgd_cfg *cfg, int64_t n, double *param,
                             const double *grad, double *momentum_buf, int64_t step, ax_err *err);

/* adam / adamw (decoupled = 1: AdamW's param *= 1 - lr*weight_decay; 0: L2 added to grad).
** max_exp_avg_sq is needed (and used) only with amsgrad. eps is added outside the sqrt. */
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int amsgrad, maximize, decoupled;
} ax_nn_adam_cfg;
ax_status ax_nn_adam_step_f32(const ax_nn_adam_cfg *cfg, int64_t n, float *param,
                              const float *grad, float *exp_avg, float *exp_avg_sq,
                              float *max_exp_avg_sq, int64_t step, ax_err *err);
ax_status ax_nn_adam_step_f64(const ax_nn_adam_cfg *cfg, int64_t n, double *param,
                              const double *grad, double *exp_avg, double *exp_avg_sq,
                              double *max_exp_avg_sq, int64_t step, ax_err *err);

/* rmsprop: grad_avg needed when centered, momentum_buf when momentum > 0. */
typedef struct {
  double lr, alpha, eps, weight_decay, momentum;
  int centered, maximize;
} ax_nn_rmsprop_cfg;
ax_status ax_nn_rmsprop_step_f32(const ax_nn_rmsprop_cfg *cfg, int64_t n, float *param,
                                 const float *grad, float *square_avg, float *grad_avg,
                                 float *momentum_buf, ax_err *err);
ax_status ax_nn_rmsprop_step_f64(const ax_nn_rmsprop_cfg *cfg, int64_t n, double *param,
                                 const double *grad, double *square_avg, double *grad_avg,
                                 double *momentum_buf, ax_err *err);

/* adagrad: state_sum starts at initial_accumulator_value (the caller fills it). */
typedef struct { double lr, lr_decay, weight_decay, eps; int maximize; } ax_nn_adagrad_cfg;
ax_status ax_nn_adagrad_step_f32(const ax_nn_adagrad_cfg *cfg, int64_t n, float *param,
                                 const float *grad, float *state_sum, int64_t step, ax_err *err);
ax_status ax_nn_adagrad_step_f64(const ax_nn_adagrad_cfg *cfg, int64_t n, double *param,
                                 const double *grad, double *state_sum, int64_t step, ax_err *err);

typedef struct { double lr, rho, eps, weight_decay; int maximize; } ax_nn_adadelta_cfg;
ax_status ax_nn_adadelta_step_f32(const ax_nn_adadelta_cfg *cfg, int64_t n, float *param,
                                  const float *grad, float *square_avg, float *acc_delta,
                                  ax_err *err);
ax_status ax_nn_adadelta_step_f64(const ax_nn_adadelta_cfg *cfg, int64_t n, double *param,
                                  const double *grad, double *square_avg, double *acc_delta,
                                  ax_err *err);

/* LAMB (You et al. 2019) for ONE parameter tensor (the trust ratio is per tensor):
** m, v as Adam with bias correction; r = m_hat/(sqrt(v_hat)+eps) + weight_decay*p;
** p -= lr * (|p| / |r|) * r, the ratio taken as 1 when either norm is 0. */
typedef struct { double lr, beta1, beta2, eps, weight_decay; } ax_nn_lamb_cfg;
ax_status ax_nn_lamb_step_f32(const ax_nn_lamb_cfg *cfg, int64_t n, float *param,
                              const float *grad, float *exp_avg, float *exp_avg_sq, int64_t step,
                              ax_err *err);
ax_status ax_nn_lamb_step_f64(const ax_nn_lamb_cfg *cfg, int64_t n, double *param,
                              const double *grad, double *exp_avg, double *exp_avg_sq,
                              int64_t step, ax_err *err);

/* clip_grad_norm over nbuf gradient buffers (grads[i] of lens[i] elements) as PyTorch:
** total = (sum |g|^p)^(1/p) (max |g| for p = inf, pass INFINITY); when max_norm/(total+1e-6) < 1
** every gradient is scaled by it. *total_norm receives the norm before clipping. */
ax_status ax_nn_clip_grad_norm_f32(int nbuf, float *const *grads, const int64_t *lens,
                                   double max_norm, double norm_type, double *total_norm,
                                   ax_err *err);
ax_status ax_nn_clip_grad_norm_f64(int nbuf, double *const *grads, const int64_t *lens,
                                   double max_norm, double norm_type, double *total_norm,
                                   ax_err *err);
/* clamp every element to [-clip, clip] */
ax_status ax_nn_clip_grad_value_f32(int64_t n, float *grad, double clip, ax_err *err);
ax_status ax_nn_clip_grad_value_f64(int64_t n, double *grad, double clip, ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Scaled dot-product attention (attention.c), streaming (online softmax) so the T x S score
** matrix is never stored: only one tile of it per thread.
**   q: [b, h, t, d]  k: [b, h, s, d]  v: [b, h, s, dv]  out: [b, h, t, dv]  lse: [b, h, t]
**   scores = q k^T * scale + mask (mask: additive [t, s], NULL: none; -INFINITY hides a key);
**   causal hides key j from query i when j > i (PyTorch's is_causal, top-left aligned).
** A query row that sees no key gets out = 0 and lse = -inf (its gradients are 0).
** The mask is a constant: backward gives it no gradient.
** Mask layout: with mask_strided = 0 the mask is [t, s], shared by every batch and head. With
** mask_strided = 1, element (b, h, i, j) is mask[b*mask_sb + h*mask_sh + i*mask_st + j], strides
** in elements, 0 to broadcast: [b, h, t, s] is (h*t*s, t*s, s); a key padding mask [b, s] is
** (s, 0, 0); [b, 1, t, s] is (t*s, 0, s). */
typedef struct {
  int64_t b, h, t, s, d, dv;
  double scale;   /* usually 1/sqrt(d) */
  int causal;
  int mask_strided;
  int64_t mask_sb, mask_sh, mask_st;
} ax_nn_attention_desc;
ax_status ax_nn_attention_fwd_f32(const ax_nn_attention_desc *a, const float *q, const float *k,
                                  const float *v, const float *mask, float *out, float *lse,
                                  ax_err *err);
ax_status ax_nn_attention_fwd_f64(const ax_nn_attention_desc *a, const double *q, const double *k,
                                  const double *v, const double *mask, double *out, double *lse,
                                  ax_err *err);
/* Recomputes the scores tile by tile from q, k and the saved lse; dq, dk, dv may be NULL. */
ax_status ax_nn_attention_bwd_f32(const ax_nn_attention_desc *a, const float *q, const float *k,
                                  const float *v, const float *mask, const float *out,
                                  const float *lse, const float *dout, float *dq, float *dk,
                                  float *dv, ax_err *err);
ax_status ax_nn_attention_bwd_f64(const ax_nn_attention_desc *a, const double *q, const double *k,
                                  const double *v, const double *mask, const double *out,
                                  const double *lse, const double *dout, double *dq, double *dk,
                                  double *dv, ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Dropout with a given mask (dropout.c): y = x * mask * scale, scale = 1/(1-p) chosen by the
** caller, mask[i] in {0, 1} (the caller draws it from the RNG); backward is the same map on dy. */
ax_status ax_nn_dropout_fwd_f32(int64_t n, const float *x, const uint8_t *mask, double scale,
                                float *y, ax_err *err);
ax_status ax_nn_dropout_fwd_f64(int64_t n, const double *x, const uint8_t *mask, double scale,
                                double *y, ax_err *err);
ax_status ax_nn_dropout_bwd_f32(int64_t n, const float *dy, const uint8_t *mask, double scale,
                                float *dx, ax_err *err);
ax_status ax_nn_dropout_bwd_f64(int64_t n, const double *dy, const uint8_t *mask, double scale,
                                double *dx, ax_err *err);

/* ---------------------------------------------------------------------------------------------
** Recurrent cells (rnn.c), one time step, PyTorch layouts and gate orders.
**   x: [b, in]  h, c: [b, hid]  w_ih: [G*hid, in]  w_hh: [G*hid, hid]  b_ih, b_hh: [G*hid] or NULL
** LSTM (G = 4, gates i, f, g, o): c' = f*c + i*g, h' = o*tanh(c'); saves the activated gates
**   gates: [b, 4*hid].
** GRU (G = 3, gates r, z, n): n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h;
**   saves gates: [b, 4*hid] = r, z, n and W_hn h + b_hn.
** Backward takes dh' (and dc' for LSTM, NULL = 0) and writes dx, dh, dc (LSTM), dw_ih, dw_hh,
** db_ih, db_hh; any of them may be NULL. Weight and bias gradients are overwritten. */
typedef struct { int64_t b, in, hid; } ax_nn_rnn_desc;
ax_status ax_nn_lstm_cell_fwd_f32(const ax_nn_rnn_desc *r, const float *x, const float *h,
                                  const float *c, const float *w_ih, const float *w_hh,
                                  const float *b_ih, const float *b_hh, float *h_out,
                                  float *c_out, float *gates, ax_err *err);
ax_status ax_nn_lstm_cell_fwd_f64(const ax_nn_rnn_desc *r, const double *x, const double *h,
                                  const double *c, const double *w_ih, const double *w_hh,
                                  const double *b_ih, const double *b_hh, double *h_out,
                                  double *c_out, double *gates, ax_err *err);
ax_status ax_nn_lstm_cell_bwd_f32(const ax_nn_rnn_desc *r, const float *x, const float *h,
                                  const float *c, const float *w_ih, const float *w_hh,
                                  const float *c_out, const float *gates, const float *dh_out,
                                  const float *dc_out, float *dx, float *dh, float *dc,
                                  float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                                  ax_err *err);
ax_status ax_nn_lstm_cell_bwd_f64(const ax_nn_rnn_desc *r, const double *x, const double *h,
                                  const double *c, const double *w_ih, const double *w_hh,
                                  const double *c_out, const double *gates, const double *dh_out,
                                  const double *dc_out, double *dx, double *dh, double *dc,
                                  double *dw_ih, double *dw_hh, double *db_ih, double *db_hh,
                                  ax_err *err);
ax_status ax_nn_gru_cell_fwd_f32(const ax_nn_rnn_desc *r, const float *x, const float *h,
                                 const float *w_ih, const float *w_hh, const float *b_ih,
                                 const float *b_hh, float *h_out, float *gates, ax_err *err);
ax_status ax_nn_gru_cell_fwd_f64(const ax_nn_rnn_desc *r, const double *x, const double *h,
                                 const double *w_ih, const double *w_hh, const double *b_ih,
                                 const double *b_hh, double *h_out, double *gates, ax_err *err);
ax_status ax_nn_gru_cell_bwd_f32(const ax_nn_rnn_desc *r, const float *x, const float *h,
                                 const float *w_ih, const float *w_hh, const float *gates,
                                 const float *dh_out, float *dx, float *dh, float *dw_ih,
                                 float *dw_hh, float *db_ih, float *db_hh, ax_err *err);
ax_status ax_nn_gru_cell_bwd_f64(const ax_nn_rnn_desc *r, const double *x, const double *h,
                                 const double *w_ih, const double *w_hh, const double *gates,
                                 const double *dh_out, double *dx, double *dh, double *dw_ih,
                                 double *dw_hh, double *db_ih, double *db_hh, ax_err *err);

/* ---- activation backward: dx = dy * f'(x), one pass (n elements, contiguous) ---- */
enum { AX_NN_ACT_RELU = 0, AX_NN_ACT_GELU = 1, AX_NN_ACT_SILU = 2 };
void ax_nn_act_bwd_f32(int kind, int64_t n, const float *x, const float *dy, float *dx);
void ax_nn_act_bwd_f64(int kind, int64_t n, const double *x, const double *dy, double *dx);

#endif
