/* tests/cuda/test_cuda_nodevice.c — asking for cuda without a usable GPU is a clear error from
** the backend registry, from x.to("cuda") (ax_to) and from creation on the device, naming why:
** "cuda: no CUDA device available (cudaGetDeviceCount: ...)", "this build has no CUDA backend"
** when built without it, or the expected text given as argv[1] (the module-load failures, with
** dlerror's reason). Where the backend is available the check does not apply: exit 77 (SKIP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_ops.h"

int main(int argc, char **argv) {
#ifdef AX_TEST_CUDA_MODULE   /* this build tree's module, unless ANX_CUDA_MODULE names another */
  setenv("ANX_CUDA_MODULE", AX_TEST_CUDA_MODULE, 0);
#endif
  const ax_device cuda = {AX_DEV_CUDA, 0};
  const ax_backend *be;
  ax_err e = {0};
  if (!ax_backend_get(cuda, &be, &e)) {
    printf("SKIP: a CUDA device is available\n");
    return 77;
  }
  int bad = 0;
  const char *want = argc > 1                                              ? argv[1]
                     : strstr(e.msg, "this build has no CUDA backend") ? "this build has no CUDA backend"
                                                                         : "cuda: no CUDA device available (cudaGetDeviceCount: ";
  if (e.code != AX_E_DEVICE || !strstr(e.msg, want)) {
    printf("backend: expected \"%s\", got \"%s\"\n", want, e.msg);
    bad = 1;
  }
  ax_tensor *x = NULL, *y = NULL;
  int64_t sh[] = {2, 3};
  ax_err e2 = {0}, e3 = {0}, e4 = {0};
  if (ax_zeros(sh, 2, AX_FLOAT32, &x, &e2)) return 1;
  if (!ax_to(x, cuda, &y, &e2) || e2.code != AX_E_DEVICE || !strstr(e2.msg, want)) {
    printf("to(cuda): expected \"%s\", got \"%s\"\n", want, e2.msg);
    bad = 1;
  }
  if (!ax_tensor_empty(sh, 2, AX_FLOAT32, cuda, &y, &e3) || !strstr(e3.msg, want)) {
    printf("empty on cuda: expected \"%s\", got \"%s\"\n", want, e3.msg);
    bad = 1;
  }
  /* a second request repeats the first answer (the module is loaded, or not, once) */
  if (!ax_backend_get(cuda, &be, &e4) || strcmp(e4.msg, e.msg)) {
    printf("second request: expected \"%s\", got \"%s\"\n", e.msg, e4.msg);
    bad = 1;
  }
  ax_tensor_release(x);
  printf("%s: %s\n", bad ? "FAIL" : "ok", e.msg);
  return bad;
}
