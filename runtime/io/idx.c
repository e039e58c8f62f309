/* runtime/io/idx.c — IDX files (the MNIST format), plain or gzipped.
** Header: 0x00 0x00 type ndim, then ndim big-endian u32 dims; the data must fill the rest exactly. */
#include "ax_io.h"

#include <string.h>

#include "ax_mem.h"

#define IDX_MAX_BYTES ((size_t)1 << 34)   /* 16 GiB decompressed */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

ax_status ax_idx_load(const char *path, ax_tensor **out, ax_err *err) {
  char *buf;
  size_t len;
  ax_status st = ax_file_read(path, IDX_MAX_BYTES, &buf, &len, err);
  if (st) return st;
  const unsigned char *p = (const unsigned char *)buf;
  ax_tensor *t = NULL;
  if (len < 4 || p[0] != 0 || p[1] != 0) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: not an IDX file (bad magic number)", path);
    goto done;
  }
  int type = p[2], ndim = p[3];
  size_t esize;
  ax_dtype dt;
  switch (type) {
  case 0x08: esize = 1; dt = AX_UINT8; break;
  case 0x09: esize = 1; dt = AX_INT32; break;
  case 0x0B: esize = 2; dt = AX_INT32; break;
  case 0x0C: esize = 4; dt = AX_INT32; break;
  case 0x0D: esize = 4; dt = AX_FLOAT32; break;
  case 0x0E: esize = 8; dt = AX_FLOAT64; break;
  default:
    st = ax_err_set(err, AX_E_FORMAT, "%s: unknown IDX element type 0x%02x", path, type);
    goto done;
  }
  if (ndim < 1 || ndim > AX_MAX_DIMS) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: IDX rank %d is not between 1 and %d", path, ndim, AX_MAX_DIMS);
    goto done;
  }
  size_t header = 4 + 4 * (size_t)ndim;
  if (len < header) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: truncated IDX header (%zu bytes)", path, len);
    goto done;
  }
  int64_t shape[AX_MAX_DIMS];
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    shape[i] = be32(p + 4 + 4 * i);
    if (!ax_size_mul(count, (size_t)shape[i], &count)) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: IDX dimensions overflow", path);
      goto done;
    }
  }
  size_t need;
  if (!ax_size_mul(count, esize, &need) || need != len - header) {
    st = ax_err_set(err, AX_E_FORMAT,
                    "%s: IDX header promises %zu elements of %zu bytes but the file has %zu data bytes",
                    path, count, esize, len - header);
    goto done;
  }
  st = ax_tensor_empty(shape, ndim, dt, AX_CPU, &t, err);
  if (st) goto done;
  const unsigned char *d = p + header;
  void *dst = (char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(dt);
  switch (type) {
  case 0x08: memcpy(dst, d, count); break;
  case 0x09: for (size_t i = 0; i < count; i++) ((int32_t *)dst)[i] = (int8_t)d[i]; break;
  case 0x0B:
    for (size_t i = 0; i < count; i++) ((int32_t *)dst)[i] = (int16_t)(d[2 * i] << 8 | d[2 * i + 1]);
    break;
  case 0x0C:
  case 0x0D:
    for (size_t i = 0; i < count; i++) ((uint32_t *)dst)[i] = be32(d + 4 * i);
    break;
  case 0x0E:
    for (size_t i = 0; i < count; i++)
      ((uint64_t *)dst)[i] = (uint64_t)be32(d + 8 * i) << 32 | be32(d + 8 * i + 4);
    break;
  }
  *out = t;
done:
  ax_free(buf, len + 1);
  return st;
}
