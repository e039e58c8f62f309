/* tests/fuzz/fuzz_npy.c — libFuzzer target: ax_npy_load on hostile .npy files; a file that loads is
** saved again and reloaded (the writer must accept whatever the reader returns). */
#include "ax_io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write_temp(data, size, ".npy");
  if (!path) return 0;
  ax_tensor *t = NULL;
  ax_err err;
  if (ax_npy_load(path, &t, &err) != AX_OK) return 0;
  ax_tensor *back = NULL;
  if (ax_npy_save(path, t, &err) == AX_OK && ax_npy_load(path, &back, &err) == AX_OK)
    ax_tensor_release(back);
  ax_tensor_release(t);
  return 0;
}
