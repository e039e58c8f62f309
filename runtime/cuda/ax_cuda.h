/* runtime/cuda/ax_cuda.h — the boundary between the runtime and the CUDA backend module
** (libanx_cuda.so, dlopened by runtime/cuda/load.c the first time a cuda device is asked for).
** Invariant: plain C; no CUDA type crosses it. The runtime hands the module a table of the
** runtime functions its kernels call (ax_cuda_host); the module's one exported symbol,
** AX_CUDA_ENTRY, returns the backend lookup and the kernel table. Both sides are compiled from
** this header, and the module refuses a host whose layout stamps differ from its own. */
#ifndef AX_CUDA_H
#define AX_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "../ax_ops.h"
#include "../neural/ax_nn_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the registry's side (runtime/cuda/load.c, part of anx_runtime in CUDA builds) ---- */

/* The backend of cuda:<index>. Loads the module on first use: $ANX_CUDA_MODULE when set, else
** libanx_cuda.so next to the executable (/proc/self/exe). AX_E_DEVICE when the module or its
** CUDA libraries cannot be loaded ("... not available: cannot load ...: <dlerror>") or when
** there is no usable GPU ("cuda: no CUDA device available (cudaGetDeviceCount: ...)"). */
ax_status ax_cuda_backend_get(int index, const ax_backend **out, ax_err *err);
/* The module's kernel table once it is loaded, else NULL (no cuda tensor can exist before). */
const ax_kernel_table *ax_cuda_kernels(void);

/* ---- the module interface ---- */

/* Bump when ax_cuda_host or ax_cuda_module change meaning (a size change is caught anyway). */
#define AX_CUDA_ABI 4
#define AX_CUDA_ENTRY "ax_cuda_module_open"
#define AX_CUDA_MODULE_ENV "ANX_CUDA_MODULE"
#define AX_CUDA_MODULE_FILE "libanx_cuda.so"

/* The runtime functions the module calls (X(return type, name, (params), (args))); host.c
** defines each name inside the module as a call through the table, so the kernels are written
** against the ordinary runtime API. ax_err_set (variadic, stateless) is compiled into the
** module from runtime/ax_error.c instead. */
#define AX_CUDA_HOST_FNS(X)                                                                               \
  X(ax_status, ax_tensor_empty,                                                                           \
    (const int64_t *shape, int ndim, ax_dtype dt, ax_device dev, ax_tensor **out, ax_err *err),           \
    (shape, ndim, dt, dev, out, err))                                                                     \
  X(ax_tensor *, ax_tensor_retain, (ax_tensor *t), (t))                                                   \
  X(int64_t, ax_numel, (const ax_tensor *t), (t))                                                         \
  X(int, ax_is_contiguous, (const ax_tensor *t), (t))                                                     \
  X(const char *, ax_shape_str, (const int64_t *shape, int ndim, char *buf, size_t n), (shape, ndim, buf, n)) \
  X(ax_status, ax_broadcast_shapes,                                                                       \
    (const char *op, const int64_t *a, int na, const int64_t *b, int nb, int64_t *out, int *nout, ax_err *err), \
    (op, a, na, b, nb, out, nout, err))                                                                   \
  X(ax_status, ax_norm_dim, (const char *op, int64_t dim, int ndim, int *out, ax_err *err),               \
    (op, dim, ndim, out, err))                                                                            \
  X(ax_dtype, ax_result_type, (ax_tensor *const *ts, int n), (ts, n))                                     \
  X(const char *, ax_dtype_name, (ax_dtype t), (t))                                                       \
  X(size_t, ax_dtype_size, (ax_dtype t), (t))                                                             \
  X(int, ax_dtype_is_float, (ax_dtype t), (t))                                                            \
  X(ax_dtype, ax_compute_dtype, (ax_dtype t), (t))                                                        \
  X(const char *, ax_op_name, (ax_op op), (op))                                                           \
  X(void *, ax_malloc, (size_t size), (size))                                                             \
  X(ax_status, ax_nn_conv2d_out_size, (const ax_nn_conv2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err), \
    (d, oh, ow, err))                                                                                     \
  X(ax_status, ax_nn_conv_transpose2d_out_size,                                                           \
    (const ax_nn_conv_transpose2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err), (d, oh, ow, err))       \
  X(ax_status, ax_nn_pool2d_out_size, (const ax_nn_pool2d_desc *d, int64_t *oh, int64_t *ow, ax_err *err), \
    (d, oh, ow, err))                                                                                     \
  X(int, ax_float32_matmul_precision, (void), ())
#define AX_CUDA_HOST_VOID_FNS(X)                                                                          \
  X(void, ax_tensor_release, (ax_tensor *t), (t))                                                         \
  X(void, ax_free, (void *p, size_t size), (p, size))

typedef struct ax_cuda_host {
  /* layout stamps, compared by the module before it reads anything else */
  uint32_t abi;               /* AX_CUDA_ABI */
  uint32_t size;              /* sizeof(ax_cuda_host) */
  uint32_t nops;              /* AX_OP_COUNT */
  uint32_t tensor_size, attrs_size, err_size, backend_size;
  const ax_op_info *op_table; /* ax_op_table of the runtime */
#define AX_CUDA_X(ret, name, params, args) ret(*name) params;
  AX_CUDA_HOST_FNS(AX_CUDA_X)
  AX_CUDA_HOST_VOID_FNS(AX_CUDA_X)
#undef AX_CUDA_X
} ax_cuda_host;

#define AX_CUDA_HOST_STAMPS                                                                               \
  AX_CUDA_ABI, (uint32_t)sizeof(ax_cuda_host), AX_OP_COUNT, (uint32_t)sizeof(ax_tensor),                  \
      (uint32_t)sizeof(ax_attrs), (uint32_t)sizeof(ax_err), (uint32_t)sizeof(ax_backend)

typedef struct ax_cuda_module {
  /* The backend of cuda:<index> (device probe and context creation on first use). */
  ax_status (*backend_get)(int index, const ax_backend **out, ax_err *err);
  const ax_kernel_table *kernels;
} ax_cuda_module;

/* AX_CUDA_ENTRY, the module's one exported symbol (runtime/cuda/host.c): the module, or NULL
** with the reason in why[0..n) (a host built from another source tree). Called once, before
** any other use of the module; host must outlive it. */
const ax_cuda_module *ax_cuda_module_open(const ax_cuda_host *host, char *why, size_t n);
typedef const ax_cuda_module *(*ax_cuda_entry_fn)(const ax_cuda_host *host, char *why, size_t n);

#ifdef __cplusplus
}
#endif
#endif
