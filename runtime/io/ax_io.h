/* runtime/io/ax_io.h — tensor file formats: IDX (optionally gzipped), npy, safetensors; atomic writes.
** Every reader treats its file as hostile: sizes, offsets and shapes are checked against the file
** before any allocation, and every error names the file and what is wrong with it. */
#ifndef AX_IO_H
#define AX_IO_H

#include <stddef.h>
#include <stdint.h>

#include "ax_tensor.h"

/* Read a whole file, transparently gunzipping when it starts with the gzip magic.
** max_bytes bounds the (decompressed) size; *out is from ax_malloc, freed with ax_free(p, *len + 1)
** and NUL-terminated for convenience. */
ax_status ax_file_read(const char *path, size_t max_bytes, char **out, size_t *len, ax_err *err);

/* Write parts[0..n) to path atomically: a temporary file in the same directory, fsync, rename,
** then fsync of the directory. On any failure the old file is untouched and the temp removed. */
ax_status ax_file_write_atomic(const char *path, const void *const *parts, const size_t *sizes,
                               int n, ax_err *err);

/* IDX (MNIST format): u8 -> uint8, i8/i16/i32 -> int32, f32 -> float32, f64 -> float64. */
ax_status ax_idx_load(const char *path, ax_tensor **out, ax_err *err);
/* The same, converted while streaming into dtype `want` (uint8, int32, int64, float32, float64;
** AX_NDTYPES = the file's own), float results multiplied by scale: mnist reads u8 as f32 / 255.
** u8_only refuses files whose elements are not unsigned bytes. */
ax_status ax_idx_load_as(const char *path, ax_dtype want, float scale, int u8_only, ax_tensor **out,
                         ax_err *err);

/* NumPy .npy v1/v2/v3, little-endian; C or Fortran order. */
ax_status ax_npy_load(const char *path, ax_tensor **out, ax_err *err);
ax_status ax_npy_save(const char *path, const ax_tensor *t, ax_err *err);

/* safetensors: a set of named tensors plus string metadata (__metadata__). */
typedef struct {
  char *name;          /* ax_malloc'd */
  ax_tensor *t;        /* owned reference */
} ax_named_tensor;

typedef struct {
  ax_named_tensor *tensors;
  int n, cap;
  struct { char *key, *val; } *meta;   /* ax_malloc'd strings */
  int nmeta, capmeta;
} ax_tensor_dict;

void ax_tensor_dict_init(ax_tensor_dict *d);
void ax_tensor_dict_fini(ax_tensor_dict *d);
/* Adds a reference to t; names must be unique. */
ax_status ax_tensor_dict_add(ax_tensor_dict *d, const char *name, ax_tensor *t, ax_err *err);
ax_status ax_tensor_dict_set_meta(ax_tensor_dict *d, const char *key, const char *val, ax_err *err);
ax_tensor *ax_tensor_dict_get(const ax_tensor_dict *d, const char *name);
const char *ax_tensor_dict_meta(const ax_tensor_dict *d, const char *key);

/* Tensors are written in the order added, contiguous, little-endian, 8-byte aligned header. */
ax_status ax_safetensors_save(const char *path, const ax_tensor_dict *d, ax_err *err);
ax_status ax_safetensors_load(const char *path, ax_tensor_dict *out, ax_err *err);

#endif
