/* tests/cuda/test_cuda_module.c — the module's entry point (runtime/cuda/host.c) without a GPU:
** it refuses a host table whose layout stamps differ from its own, naming the difference;
** accepts this tree's table; exports nothing but the entry (the runtime API it defines for its
** kernels stays hidden). A backend request then answers "no CUDA device" or, on a GPU, succeeds. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "ax_mem.h"
#include "cuda/ax_cuda.h"

static int bad;

static void expect_refused(const char *what, ax_cuda_entry_fn entry, const ax_cuda_host *h, const char *want) {
  char why[256] = "";
  if (entry(h, why, sizeof why) || !strstr(why, want)) {
    printf("%s: expected refusal naming \"%s\", got \"%s\"\n", what, want, why);
    bad = 1;
  }
}

int main(void) {
  void *so = dlopen(AX_TEST_CUDA_MODULE, RTLD_NOW | RTLD_LOCAL);
  if (!so) {
    printf("FAIL: %s\n", dlerror());
    return 1;
  }
  ax_cuda_entry_fn entry = (ax_cuda_entry_fn)dlsym(so, AX_CUDA_ENTRY);
  if (!entry) {
    printf("FAIL: %s\n", dlerror());
    return 1;
  }
  for (const char *const *p = (const char *const[]){"cu_backend_get", "cu_kernels", "ax_tensor_empty", "ax_err_set",
                                                      "ax_cache_alloc", NULL};
       *p; p++)
    if (dlsym(so, *p)) {
      printf("the module exports %s\n", *p);
      bad = 1;
    }
  const ax_cuda_host good = {
      AX_CUDA_HOST_STAMPS,
      .op_table = ax_op_table,
#define AX_CUDA_X(ret, name, params, args) .name = name,
      AX_CUDA_HOST_FNS(AX_CUDA_X) AX_CUDA_HOST_VOID_FNS(AX_CUDA_X)
#undef AX_CUDA_X
  };
  ax_cuda_host h = good;
  h.abi++;
  expect_refused("abi", entry, &h, "built from another anx source tree (interface version");
  h = good;
  h.nops--;
  expect_refused("nops", entry, &h, "(op count");
  h = good;
  h.tensor_size += 8;
  expect_refused("tensor", entry, &h, "(ax_tensor size");
  char why[256] = "";
  const ax_cuda_module *m = entry(&good, why, sizeof why);
  if (!m || !m->backend_get || !m->kernels) {
    printf("this tree's host table refused: %s\n", why);
    return 1;
  }
  const ax_backend *be;
  ax_err e = {0};
  if (m->backend_get(0, &be, &e) && !strstr(e.msg, "cuda: no CUDA device available (cudaGetDeviceCount: ")) {
    printf("backend_get: unexpected error: %s\n", e.msg);
    bad = 1;
  }
  printf("%s: cuda:0 %s\n", bad ? "FAIL" : "ok", e.code ? e.msg : "available");
  return bad;
}
