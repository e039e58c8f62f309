/* runtime/cuda/nn.cuh — helpers shared by the neural rows on the device (norm.cu, loss.cu,
** pool.cu, conv.cu, optim.cu), the counterpart of the helpers at the top of neural/ax_nn.c.
** Invariant: the checks and messages are the CPU rows'; kernels read contiguous inputs of the
** row's float dtype and write fresh outputs on cuda:0. */
#ifndef AX_CUDA_NN_CUH
#define AX_CUDA_NN_CUH

#include "cuda.cuh"

extern "C" {
#include "../neural/ax_nn_kernels.h"
}

#define CU_P(T, t) ((T *)(t)->storage->data + (t)->offset)
#define CU_PTR(T, t) ((t) ? CU_P(T, t) : (T *)NULL)
/* The first element of t, untyped (offset in elements, scaled by the dtype's size). */
static inline void *cu_nn_data(const ax_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(t->dtype);
}

/* As ax_nn.c's float_inputs: in[0] is float32/float64 and every float input (NULL ones are
** skipped) has its dtype. */
ax_status cu_nn_float_inputs(const char *op, ax_tensor *const *in, int nin, ax_err *err);
/* Contiguous copies in dtype dt (the inputs themselves, retained, when they already are); NULL
** inputs give NULL. Release with cu_nn_release. */
ax_status cu_nn_packed(ax_cuda_ctx *c, ax_tensor *const *in, int n, ax_dtype dt, ax_tensor **p, ax_err *err);
void cu_nn_release(ax_tensor **t, int n);
/* The int64 values of a device tensor on the host (ax_malloc'd, n of them; free with ax_free). */
ax_status cu_nn_download_i64(ax_cuda_ctx *c, const char *op, const ax_tensor *t, int64_t **out, int64_t *n, ax_err *err);
/* Run a row body with CPU 0-d inputs (allowed by the dispatcher) moved to the device first. */
typedef ax_status (*cu_nn_body)(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                ax_err *err);
ax_status cu_nn_run(cu_nn_body body, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, int nout,
                    ax_err *err);

/* Grid for one block per row (rows beyond it are strided over). */
static inline unsigned cu_rows_grid(int64_t m) { return (unsigned)(m < 65535 * 16 ? (m < 1 ? 1 : m) : 65535 * 16); }

/* Sum of v over the block (blockDim.x == CU_THREADS); every thread gets the total. */
static __device__ __forceinline__ double cu_block_sum(double v, double *sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  double r = sh[0];
  __syncthreads();
  return r;
}

#endif
