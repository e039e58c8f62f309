/* tests/fuzz/fuzz_safetensors.c — libFuzzer target: ax_safetensors_load on hostile files (header
** length, JSON, dtypes, shapes, offsets, overlaps); a file that loads is saved and reloaded. */
#include "ax_io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_write_temp(data, size, ".safetensors");
  if (!path) return 0;
  ax_tensor_dict d;
  ax_err err;
  if (ax_safetensors_load(path, &d, &err) != AX_OK) return 0;
  ax_tensor_dict back;
  if (ax_safetensors_save(path, &d, &err) == AX_OK && ax_safetensors_load(path, &back, &err) == AX_OK)
    ax_tensor_dict_fini(&back);
  ax_tensor_dict_fini(&d);
  return 0;
}
