/* runtime/cuda/ax_cuda.h — what the backend registry (runtime/ax_tensor.c, behind its one
** AX_HAVE_CUDA switch) sees of the CUDA backend: the backend lookup and the kernel table.
** Invariant: plain C; no CUDA type leaks out of runtime/cuda/. */
#ifndef AX_CUDA_H
#define AX_CUDA_H

#include "../ax_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The backend of cuda:<index>; AX_E_DEVICE "cuda: no CUDA device available (cudaGetDeviceCount:
** ...)" on a machine without a usable GPU. The device's context is created on first use. */
ax_status ax_cuda_backend_get(int index, const ax_backend **out, ax_err *err);
extern const ax_kernel_table ax_cuda_kernels;   /* runtime/cuda/kernels.c */

#ifdef __cplusplus
}
#endif
#endif
