/* runtime/cuda/cuda.cuh — internals shared by the CUDA kernels (the counterpart of cpu/cpu.h):
** the per-device context (stream, cuBLAS handle, caching allocator), error mapping, the strided
** operand descriptor with dtype load/store, and the kernel prototypes used by kernels.c.
** Invariant: every launch goes to ctx->stream; host code never touches device memory directly. */
#ifndef AX_CUDA_CUH
#define AX_CUDA_CUH

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cublas_v2.h>
#include <cudnn.h>
#include <pthread.h>

extern "C" {
#include "../ax_mem.h"
#include "../ax_ops.h"
#include "alloc_cache.h"
}

/* A convolution algorithm chosen for one geometry (conv.cu): key = kind and math type, dtype and
** the sizes; math is the cudnnMathType_t the algorithm was timed with (set before running it). */
#define CU_CONV_KEY 16
#define CU_CONV_ALGOS 64
typedef struct {
  int64_t key[CU_CONV_KEY];
  int algo, math;
  size_t workspace;   /* bytes */
} cu_conv_algo;

/* One per device, created lazily by cu_ctx (the stream and handle are made on first use). */
typedef struct ax_cuda_ctx {
  int device;
  int ready;                    /* stream + cuBLAS handle created */
  cudaStream_t stream;          /* every kernel, copy and cuBLAS call of this device */
  cublasHandle_t blas;          /* bound to stream */
  pthread_mutex_t mu;           /* guards cache and staging */
  ax_cache cache;               /* caching allocator over cudaMalloc */
  void *staging;                /* pinned host buffer for upload/download */
  size_t staging_n;
  pthread_mutex_t dnn_mu;       /* guards the cuDNN handle's creation and the algorithm cache */
  int dnn_ready;                /* dnn created (at the first convolution, conv.cu) */
  cudnnHandle_t dnn;            /* bound to stream */
  cu_conv_algo algos[CU_CONV_ALGOS];
  int nalgos, next_algo;        /* entries in use; the one to replace when full */
} ax_cuda_ctx;

#define CU_STAGING_BYTES ((size_t)8 << 20)   /* transfers go through 8 MiB pinned chunks */
#define CU_THREADS 256

/* The context of cuda:0 (the only device this backend addresses; see docs/cuda.md). */
ax_status cu_ctx(ax_cuda_ctx **out, ax_err *err);
/* Map a CUDA / cuBLAS error to AX_E_RUNTIME (AX_E_NOMEM for out-of-memory) naming the op. */
ax_status cu_fail(ax_err *err, const char *op, cudaError_t e);
ax_status cu_blas_fail(ax_err *err, const char *op, cublasStatus_t s);
/* Errors of the launches queued so far (cudaGetLastError), as cu_fail. */
ax_status cu_check(ax_err *err, const char *op);
static inline unsigned cu_blocks(int64_t n) {
  int64_t b = (n + CU_THREADS - 1) / CU_THREADS;
  return (unsigned)(b < 1 ? 1 : (b > 65535 * 32 ? 65535 * 32 : b));
}

/* New contiguous tensor on cuda:0. */
ax_status cu_new(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err);
/* Temporary device scratch from the caching allocator (freed with cu_scratch_free). */
void *cu_scratch(ax_cuda_ctx *c, size_t n);
void cu_scratch_free(ax_cuda_ctx *c, void *p, size_t n);
/* Copy host bytes to device / device bytes to host through the pinned staging buffer (sync). */
ax_status cu_upload(ax_cuda_ctx *c, void *dst, const void *src, size_t n, ax_err *err);
ax_status cu_download(ax_cuda_ctx *c, void *dst, const void *src, size_t n, ax_err *err);

/* n values of the Philox stream at dst (random.cu; the vtable's random, see ax_tensor.h). */
ax_status cu_random(ax_cuda_ctx *c, void *dst, ax_dtype dt, int64_t n, ax_random_kind kind, uint64_t seed, uint64_t base,
                    double p, ax_err *err);

/* ---- strided operands (elementwise.cu) ---- */
#define CU_MAXOPS 4
typedef struct {
  int nops, ndim;
  int64_t n;                                  /* elements of the output shape */
  int64_t shape[AX_MAX_DIMS];
  int64_t stride[CU_MAXOPS][AX_MAX_DIMS];     /* elements; 0 on broadcast dims */
  char *base[CU_MAXOPS];                      /* at the tensor's offset */
  int dt[CU_MAXOPS];
} cu_iter;
/* Like cpu_iter: operand 0 is written, the others are broadcast to shape; dims that are
** contiguous for every operand are merged, so the index math runs on few dims. */
void cu_iter_init(cu_iter *it, const int64_t *shape, int ndim);
void cu_iter_add(cu_iter *it, const ax_tensor *t);
void cu_iter_coalesce(cu_iter *it);
/* dst = src with broadcast and dtype conversion (any strides; not for overlapping views). */
ax_status cu_copy_into(ax_cuda_ctx *c, ax_tensor *dst, const ax_tensor *src, ax_err *err);
/* The inputs with CPU 0-d tensors (script numbers) moved to the device; release with cu_inputs_free. */
ax_status cu_inputs(ax_tensor *const *in, int nin, ax_tensor **dev, ax_err *err);
void cu_inputs_free(ax_tensor **dev, int nin);

/* ---- dtype load/store on the device ---- */
__device__ __forceinline__ int64_t cu_f2i(double v) {   /* as cpu/convert.c: NaN/out of range -> INT64_MIN */
  return v == v && v > -9.2e18 && v < 9.2e18 ? (int64_t)v : INT64_MIN;
}
template <typename T> __device__ __forceinline__ T cu_ld(const char *p, int dt, int64_t i) {
  switch (dt) {
  case AX_FLOAT32: return (T)((const float *)p)[i];
  case AX_FLOAT64: return (T)((const double *)p)[i];
  case AX_FLOAT16: return (T)__half2float(((const __half *)p)[i]);
  case AX_BFLOAT16: return (T)__bfloat162float(((const __nv_bfloat16 *)p)[i]);
  case AX_INT64: return (T)((const int64_t *)p)[i];
  case AX_INT32: return (T)((const int32_t *)p)[i];
  default: return (T)((const uint8_t *)p)[i];   /* uint8, bool */
  }
}
template <typename T> __device__ __forceinline__ int64_t cu_toi(T v) { return (int64_t)v; }
template <> __device__ __forceinline__ int64_t cu_toi<float>(float v) { return cu_f2i((double)v); }
template <> __device__ __forceinline__ int64_t cu_toi<double>(double v) { return cu_f2i(v); }
template <typename T> __device__ __forceinline__ void cu_st(char *p, int dt, int64_t i, T v) {
  switch (dt) {
  case AX_FLOAT32: ((float *)p)[i] = (float)v; break;
  case AX_FLOAT64: ((double *)p)[i] = (double)v; break;
  case AX_FLOAT16: ((__half *)p)[i] = __float2half_rn((float)v); break;
  case AX_BFLOAT16: ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn((float)v); break;
  case AX_INT64: ((int64_t *)p)[i] = cu_toi<T>(v); break;
  case AX_INT32: ((int32_t *)p)[i] = (int32_t)cu_toi<T>(v); break;
  case AX_UINT8: ((uint8_t *)p)[i] = (uint8_t)cu_toi<T>(v); break;
  default: ((uint8_t *)p)[i] = v != (T)0; break;   /* bool */
  }
}
/* Offsets of element i of the output shape in each operand. */
__device__ __forceinline__ void cu_offsets(const cu_iter &it, int64_t i, int64_t *off) {
  for (int k = 0; k < it.nops; k++) off[k] = 0;
  for (int d = it.ndim - 1; d >= 0; d--) {
    int64_t s = it.shape[d], q = i % s;
    i /= s;
    for (int k = 0; k < it.nops; k++) off[k] += q * it.stride[k][d];
  }
}

#include "cuda_kernels.h"

#endif
