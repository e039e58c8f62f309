/* runtime/cuda/host.c — the module's side of runtime/cuda/ax_cuda.h: the exported entry point
** and the runtime API the kernels call, each defined here as a call through the host table.
** Invariant: nothing in libanx_cuda.so is resolved against the executable (the module links
** with --no-undefined); ax_cuda_module_open is its only exported symbol. */
#include <stdio.h>

#include "../ax_mem.h"
#include "ax_cuda.h"
#include "cuda_kernels.h"

static const ax_cuda_host *host;   /* set once by ax_cuda_module_open, before any kernel runs */

#define AX_CUDA_X(ret, name, params, args) \
  ret name params { return host->name args; }
AX_CUDA_HOST_FNS(AX_CUDA_X)
#undef AX_CUDA_X
#define AX_CUDA_X(ret, name, params, args) \
  ret name params { host->name args; }
AX_CUDA_HOST_VOID_FNS(AX_CUDA_X)
#undef AX_CUDA_X

const ax_op_info *cu_op_info(ax_op op) { return &host->op_table[op]; }

static const ax_cuda_module module = {cu_backend_get, &cu_kernels};

__attribute__((visibility("default"))) const ax_cuda_module *ax_cuda_module_open(const ax_cuda_host *h, char *why,
                                                                                 size_t n) {
  static const char *const what[] = {"interface version", "host table size", "op count", "ax_tensor size",
                                     "ax_attrs size", "ax_err size", "ax_backend size"};
  const uint32_t want[] = {AX_CUDA_HOST_STAMPS};
  const uint32_t got[] = {h->abi, h->size, h->nops, h->tensor_size, h->attrs_size, h->err_size, h->backend_size};
  /* the stamps are the first fields of every host table, so they can be read before the rest */
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (got[i] != want[i]) {
      snprintf(why, n, "the module was built from another anx source tree (%s %u, the executable has %u)", what[i],
               (unsigned)want[i], (unsigned)got[i]);
      return NULL;
    }
  host = h;
  return &module;
}
