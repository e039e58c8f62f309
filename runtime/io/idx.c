/* runtime/io/idx.c — IDX files (the MNIST format), plain or gzipped.
** Header: 0x00 0x00 type ndim, then ndim big-endian u32 dims; the data must fill the rest exactly.
** The data is streamed through zlib in 256 KiB chunks and converted straight into the result
** tensor, so loading Fashion-MNIST as float32 never holds the raw bytes and the floats at once
** (peak 188 MB instead of 282 MB for the training images). Sizes are checked before the tensor
** is allocated: against the file size for plain files, and against the gzip trailer's ISIZE
** (the uncompressed size mod 2^32) and deflate's maximum ratio for gzipped ones. */
#include "ax_io.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "ax_mem.h"

#define IDX_MAX_BYTES ((uint64_t)1 << 34)   /* 16 GiB decompressed */
#define IDX_CHUNK ((size_t)1 << 18)          /* a multiple of every element size */
#define DEFLATE_MAX_RATIO 1032               /* deflate cannot expand 1 byte into more */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The file's on-disk size and, when it is gzipped, the trailer's ISIZE. */
static ax_status probe(const char *path, uint64_t *disk, int *gz, uint32_t *isize, ax_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return ax_err_set(err, AX_E_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  ax_status st = AX_OK;
  unsigned char m[4] = {0, 0, 0, 0};
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    st = ax_err_set(err, AX_E_IO, "%s: not a regular file", path);
    goto done;
  }
  *disk = (uint64_t)sb.st_size;
  *gz = fread(m, 1, 2, f) == 2 && m[0] == 0x1f && m[1] == 0x8b;
  *isize = 0;
  if (*gz) {
    if (*disk < 18 || fseek(f, -4, SEEK_END) != 0 || fread(m, 1, 4, f) != 4) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: truncated gzip file (%llu bytes)", path,
                      (unsigned long long)*disk);
      goto done;
    }
    *isize = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
  }
done:
  fclose(f);
  return st;
}

/* Read exactly n bytes; a short read is a truncated file. */
static ax_status read_exact(gzFile g, const char *path, void *buf, size_t n, const char *what,
                            ax_err *err) {
  size_t got = 0;
  while (got < n) {
    unsigned want = n - got > (1u << 30) ? 1u << 30 : (unsigned)(n - got);
    int r = gzread(g, (char *)buf + got, want);
    if (r < 0) {
      int zerr;
      const char *msg = gzerror(g, &zerr);
      return ax_err_set(err, AX_E_FORMAT, "%s: corrupt data in %s: %s", path, what, msg);
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  if (got < n)
    return ax_err_set(err, AX_E_FORMAT, "%s: file ends inside the %s (%zu of %zu bytes)", path, what,
                      got, n);
  return AX_OK;
}

/* Decode `count` elements of IDX type `type` from d into dst (dtype want), times scale for floats. */
static void convert(int type, const unsigned char *d, size_t count, ax_dtype want, float scale,
                    void *dst) {
  if (type == 0x08 && want == AX_UINT8) {
    memcpy(dst, d, count);
    return;
  }
  if (type == 0x08 && want == AX_FLOAT32) {
    float *o = dst;
    for (size_t i = 0; i < count; i++) o[i] = d[i] * scale;
    return;
  }
  for (size_t i = 0; i < count; i++) {
    double v;
    switch (type) {
    case 0x08: v = d[i]; break;
    case 0x09: v = (int8_t)d[i]; break;
    case 0x0B: v = (int16_t)(d[2 * i] << 8 | d[2 * i + 1]); break;
    case 0x0C: v = (int32_t)be32(d + 4 * i); break;
    case 0x0D: {
      uint32_t u = be32(d + 4 * i);
      float f;
      memcpy(&f, &u, 4);
      v = f;
      break;
    }
    default: {   /* 0x0E */
      uint64_t u = (uint64_t)be32(d + 8 * i) << 32 | be32(d + 8 * i + 4);
      memcpy(&v, &u, 8);
      break;
    }
    }
    switch (want) {
    case AX_UINT8: ((uint8_t *)dst)[i] = (uint8_t)v; break;
    case AX_INT32: ((int32_t *)dst)[i] = (int32_t)v; break;
    case AX_INT64: ((int64_t *)dst)[i] = (int64_t)v; break;
    case AX_FLOAT32: ((float *)dst)[i] = (float)(v * scale); break;
    default: ((double *)dst)[i] = v * scale; break;   /* AX_FLOAT64 */
    }
  }
}

ax_status ax_idx_load_as(const char *path, ax_dtype want, float scale, int u8_only, ax_tensor **out,
                         ax_err *err) {
  uint64_t disk = 0;
  int gz = 0;
  uint32_t isize = 0;
  ax_status st = probe(path, &disk, &gz, &isize, err);
  if (st) return st;
  gzFile g = gzopen(path, "rb");
  if (!g) return ax_err_set(err, AX_E_IO, "%s: cannot open: %s", path, strerror(errno));
  gzbuffer(g, 1 << 17);
  ax_tensor *t = NULL;
  unsigned char *chunk = NULL;
  size_t chunk_bytes = 0;
  unsigned char head[4 + 4 * AX_MAX_DIMS];
  if ((st = read_exact(g, path, head, 4, "IDX header", err))) goto done;
  if (head[0] != 0 || head[1] != 0) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: not an IDX file (bad magic number)", path);
    goto done;
  }
  int type = head[2], ndim = head[3];
  size_t esize;
  ax_dtype native;
  switch (type) {
  case 0x08: esize = 1; native = AX_UINT8; break;
  case 0x09: esize = 1; native = AX_INT32; break;
  case 0x0B: esize = 2; native = AX_INT32; break;
  case 0x0C: esize = 4; native = AX_INT32; break;
  case 0x0D: esize = 4; native = AX_FLOAT32; break;
  case 0x0E: esize = 8; native = AX_FLOAT64; break;
  default:
    st = ax_err_set(err, AX_E_FORMAT, "%s: unknown IDX element type 0x%02x", path, type);
    goto done;
  }
  if (u8_only && type != 0x08) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: expected IDX unsigned bytes (type 0x08), got type 0x%02x", path, type);
    goto done;
  }
  if (want == AX_NDTYPES) want = native;
  if (want != AX_UINT8 && want != AX_INT32 && want != AX_INT64 && want != AX_FLOAT32 &&
      want != AX_FLOAT64) {
    st = ax_err_set(err, AX_E_DTYPE, "%s: cannot load IDX data as %s", path, ax_dtype_name(want));
    goto done;
  }
  if (ndim < 1 || ndim > AX_MAX_DIMS) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: IDX rank %d is not between 1 and %d", path, ndim, AX_MAX_DIMS);
    goto done;
  }
  size_t header = 4 + 4 * (size_t)ndim;
  if ((st = read_exact(g, path, head + 4, header - 4, "IDX header", err))) goto done;
  int64_t shape[AX_MAX_DIMS];
  size_t count = 1, need;
  for (int i = 0; i < ndim; i++) {
    shape[i] = be32(head + 4 + 4 * i);
    if (!ax_size_mul(count, (size_t)shape[i], &count)) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: IDX dimensions overflow", path);
      goto done;
    }
  }
  if (!ax_size_mul(count, esize, &need) || need > IDX_MAX_BYTES - header) {
    st = ax_err_set(err, AX_E_LIMIT, "%s: IDX header promises %zu elements, more than the limit of %llu bytes",
                    path, count, (unsigned long long)IDX_MAX_BYTES);
    goto done;
  }
  uint64_t total = header + (uint64_t)need;
  if (!gz && total != disk) {
    st = ax_err_set(err, AX_E_FORMAT,
                    "%s: IDX header promises %zu elements of %zu bytes but the file has %llu data bytes",
                    path, count, esize, (unsigned long long)(disk - header));
    goto done;
  }
  if (gz && ((uint32_t)total != isize || total > disk * DEFLATE_MAX_RATIO + 1024)) {
    st = ax_err_set(err, AX_E_FORMAT,
                    "%s: IDX header promises %zu elements of %zu bytes (%llu bytes in all) but the gzip "
                    "stream holds %u bytes (mod 2^32)",
                    path, count, esize, (unsigned long long)total, isize);
    goto done;
  }
  if ((st = ax_tensor_empty(shape, ndim, want, AX_CPU, &t, err))) goto done;
  chunk_bytes = need < IDX_CHUNK ? need : IDX_CHUNK;
  if (!(chunk = ax_malloc(chunk_bytes ? chunk_bytes : 1))) {
    st = ax_err_set(err, AX_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  char *dst = (char *)t->storage->data + t->offset * (int64_t)ax_dtype_size(want);
  size_t osize = ax_dtype_size(want);
  for (size_t done_bytes = 0; done_bytes < need;) {
    size_t n = need - done_bytes < chunk_bytes ? need - done_bytes : chunk_bytes;
    if ((st = read_exact(g, path, chunk, n, "IDX data", err))) goto done;
    convert(type, chunk, n / esize, want, scale, dst + done_bytes / esize * osize);
    done_bytes += n;
  }
  unsigned char extra;
  int r = gzread(g, &extra, 1);
  if (r != 0) {
    st = r < 0 ? ax_err_set(err, AX_E_FORMAT, "%s: corrupt data after the IDX data", path)
               : ax_err_set(err, AX_E_FORMAT, "%s: the file has more data than its IDX header promises (%zu bytes)",
                            path, need);
    goto done;
  }
  *out = t;
  t = NULL;
done:
  if (t) ax_tensor_release(t);
  if (chunk) ax_free(chunk, chunk_bytes ? chunk_bytes : 1);
  gzclose(g);
  return st;
}

ax_status ax_idx_load(const char *path, ax_tensor **out, ax_err *err) {
  return ax_idx_load_as(path, AX_NDTYPES, 1.0f, 0, out, err);
}
