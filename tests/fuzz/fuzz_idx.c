/* tests/fuzz/fuzz_idx.c — libFuzzer target: ax_idx_load on hostile IDX files, plain and gzipped.
** The first byte picks the container: odd = the rest gzip-compressed, even = the rest as is (which
** still reaches the gunzip path when it starts with the gzip magic). */
#include "ax_io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *path = data[0] & 1 ? fuzz_write_temp_gz(data + 1, size - 1, ".idx.gz")
                                 : fuzz_write_temp(data + 1, size - 1, ".idx");
  if (!path) return 0;
  ax_tensor *t = NULL;
  ax_err err;
  if (ax_idx_load(path, &t, &err) == AX_OK) ax_tensor_release(t);
  return 0;
}
