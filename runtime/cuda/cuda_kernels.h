/* runtime/cuda/cuda_kernels.h — the CUDA kernel entry points (defined in the .cu files, one
** family per file with the names of runtime/cpu) that runtime/cuda/kernels.c puts in the table.
** Invariant: plain C declarations; each returns an ax_status and allocates outputs on cuda:0. */
#ifndef AX_CUDA_KERNELS_H
#define AX_CUDA_KERNELS_H

#include "../ax_ops.h"

#ifdef __cplusplus
extern "C" {
#endif
/* the module's side of runtime/cuda/ax_cuda.h */
ax_status cu_backend_get(int index, const ax_backend **out, ax_err *err);   /* backend.cu */
extern const ax_kernel_table cu_kernels;                                    /* kernels.c */
const ax_op_info *cu_op_info(ax_op op);   /* the runtime's op table row (host.c) */

ax_status cuda_unary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_binary(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_where(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_masked_fill(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_reduce(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_scan(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_matmul(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_gather(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_scatter(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_index_select(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_cat(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_slice_scatter(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_cast(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
ax_status cuda_copy(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
/* neural rows: norm.cu, loss.cu, pool.cu, conv.cu, optim.cu, attention.cu, act.cu */
#define CU_NN_KERNEL(name) ax_status cuda_##name(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err);
CU_NN_KERNEL(layer_norm) CU_NN_KERNEL(layer_norm_bwd) CU_NN_KERNEL(batch_norm) CU_NN_KERNEL(batch_norm_bwd)
CU_NN_KERNEL(cross_entropy) CU_NN_KERNEL(cross_entropy_bwd)
CU_NN_KERNEL(max_pool2d) CU_NN_KERNEL(max_pool2d_bwd) CU_NN_KERNEL(avg_pool2d) CU_NN_KERNEL(avg_pool2d_bwd)
CU_NN_KERNEL(adaptive_avg_pool2d) CU_NN_KERNEL(adaptive_avg_pool2d_bwd)
CU_NN_KERNEL(conv2d) CU_NN_KERNEL(conv2d_bwd) CU_NN_KERNEL(conv_transpose2d) CU_NN_KERNEL(conv_transpose2d_bwd)
CU_NN_KERNEL(sgd_step) CU_NN_KERNEL(adam_step)
CU_NN_KERNEL(attention) CU_NN_KERNEL(attention_bwd) CU_NN_KERNEL(act_bwd)
#undef CU_NN_KERNEL

#ifdef __cplusplus
}
#endif
#endif
