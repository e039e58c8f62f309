/* runtime/io/npy.c — NumPy .npy files (format versions 1.0, 2.0, 3.0).
** The header is a Python dict literal; we parse exactly the three keys NumPy writes and refuse
** anything we cannot represent (big-endian, object arrays, structured dtypes). */
#include "ax_io.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"

#define NPY_MAX_BYTES ((size_t)1 << 36)

typedef struct { const char *p, *end; } cursor;

static void skip_ws(cursor *c) { while (c->p < c->end && isspace((unsigned char)*c->p)) c->p++; }

static int expect_ch(cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
  return 0;
}

/* A quoted Python string without escapes (all npy keys/values are plain ASCII). */
static int read_str(cursor *c, char *buf, size_t n) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
  char q = *c->p++;
  size_t i = 0;
  while (c->p < c->end && *c->p != q) {
    if (i + 1 >= n) return 0;
    buf[i++] = *c->p++;
  }
  if (c->p >= c->end) return 0;
  c->p++;
  buf[i] = 0;
  return 1;
}

static int descr_dtype(const char *d, ax_dtype *dt) {
  static const struct { const char *s; ax_dtype t; } map[] = {
    {"<f4", AX_FLOAT32}, {"<f8", AX_FLOAT64}, {"<f2", AX_FLOAT16}, {"<i8", AX_INT64},
    {"<i4", AX_INT32},   {"|u1", AX_UINT8},   {"<u1", AX_UINT8},   {"|b1", AX_BOOL},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(d, map[i].s) == 0) { *dt = map[i].t; return 1; }
  return 0;
}

static ax_status parse_header(const char *path, cursor *c, ax_dtype *dt, int *fortran, int64_t *shape,
                              int *ndim, ax_err *err) {
  int have_descr = 0, have_order = 0, have_shape = 0;
  if (!expect_ch(c, '{')) return ax_err_set(err, AX_E_FORMAT, "%s: npy header is not a dict", path);
  for (;;) {
    skip_ws(c);
    if (expect_ch(c, '}')) break;
    char key[32], val[32];
    if (!read_str(c, key, sizeof key) || !expect_ch(c, ':'))
      return ax_err_set(err, AX_E_FORMAT, "%s: malformed npy header", path);
    if (strcmp(key, "descr") == 0) {
      if (!read_str(c, val, sizeof val))
        return ax_err_set(err, AX_E_FORMAT, "%s: npy 'descr' is not a simple dtype string", path);
      if (!descr_dtype(val, dt))
        return ax_err_set(err, AX_E_DTYPE, "%s: npy dtype '%s' is not supported "
                          "(little-endian f2/f4/f8, i4/i8, u1, b1 are)", path, val);
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      skip_ws(c);
      if (c->end - c->p >= 4 && memcmp(c->p, "True", 4) == 0) { *fortran = 1; c->p += 4; }
      else if (c->end - c->p >= 5 && memcmp(c->p, "False", 5) == 0) { *fortran = 0; c->p += 5; }
      else return ax_err_set(err, AX_E_FORMAT, "%s: npy 'fortran_order' is not True/False", path);
      have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      if (!expect_ch(c, '(')) return ax_err_set(err, AX_E_FORMAT, "%s: npy 'shape' is not a tuple", path);
      *ndim = 0;
      for (;;) {
        skip_ws(c);
        if (expect_ch(c, ')')) break;
        if (*ndim >= AX_MAX_DIMS)
          return ax_err_set(err, AX_E_FORMAT, "%s: npy array has more than %d dimensions", path, AX_MAX_DIMS);
        int64_t v = 0;
        int digits = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
          if (v > (INT64_MAX - 9) / 10)
            return ax_err_set(err, AX_E_FORMAT, "%s: npy dimension too large", path);
          v = v * 10 + (*c->p++ - '0');
          digits++;
        }
        skip_ws(c);
        if (c->p < c->end && *c->p == 'L') c->p++;   /* Python 2 long suffix */
        if (!digits) return ax_err_set(err, AX_E_FORMAT, "%s: malformed npy shape", path);
        shape[(*ndim)++] = v;
        if (!expect_ch(c, ',')) {
          if (!expect_ch(c, ')')) return ax_err_set(err, AX_E_FORMAT, "%s: malformed npy shape", path);
          break;
        }
      }
      have_shape = 1;
    } else {
      return ax_err_set(err, AX_E_FORMAT, "%s: unexpected npy header key '%s'", path, key);
    }
    if (!expect_ch(c, ',')) {
      if (!expect_ch(c, '}')) return ax_err_set(err, AX_E_FORMAT, "%s: malformed npy header", path);
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    return ax_err_set(err, AX_E_FORMAT, "%s: npy header lacks descr, fortran_order or shape", path);
  return AX_OK;
}

ax_status ax_npy_load(const char *path, ax_tensor **out, ax_err *err) {
  char *buf;
  size_t len;
  ax_status st = ax_file_read(path, NPY_MAX_BYTES, &buf, &len, err);
  if (st) return st;
  const unsigned char *p = (const unsigned char *)buf;
  ax_tensor *t = NULL;
  size_t hstart, hlen;
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: not an npy file (bad magic)", path);
    goto done;
  }
  if (p[6] == 1) {
    hlen = (size_t)p[8] | (size_t)p[9] << 8;
    hstart = 10;
  } else if (p[6] == 2 || p[6] == 3) {
    if (len < 12) { st = ax_err_set(err, AX_E_FORMAT, "%s: truncated npy header", path); goto done; }
    hlen = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
    hstart = 12;
  } else {
    st = ax_err_set(err, AX_E_FORMAT, "%s: npy format version %d is not supported", path, p[6]);
    goto done;
  }
  if (hlen > len - hstart) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: npy header length %zu exceeds the file size", path, hlen);
    goto done;
  }
  cursor c = {buf + hstart, buf + hstart + hlen};
  ax_dtype dt = AX_FLOAT32;
  int fortran = 0, ndim = 0;
  int64_t shape[AX_MAX_DIMS];
  st = parse_header(path, &c, &dt, &fortran, shape, &ndim, err);
  if (st) goto done;
  size_t count = 1, need;
  for (int i = 0; i < ndim; i++)
    if (!ax_size_mul(count, (size_t)shape[i], &count)) {
      st = ax_err_set(err, AX_E_FORMAT, "%s: npy shape overflows", path);
      goto done;
    }
  size_t data_off = hstart + hlen;
  if (!ax_size_mul(count, ax_dtype_size(dt), &need) || need != len - data_off) {
    st = ax_err_set(err, AX_E_FORMAT, "%s: npy shape needs %zu data bytes but the file has %zu",
                    path, count * ax_dtype_size(dt), len - data_off);
    goto done;
  }
  if (fortran && ndim > 1) {
    /* Column-major data is the row-major data of the reversed shape, transposed back. */
    int64_t rshape[AX_MAX_DIMS], perm[AX_MAX_DIMS];
    for (int i = 0; i < ndim; i++) { rshape[i] = shape[ndim - 1 - i]; perm[i] = ndim - 1 - i; }
    ax_tensor *raw = NULL, *view = NULL;
    st = ax_tensor_from_bytes(buf + data_off, rshape, ndim, dt, &raw, err);
    if (!st) st = ax_permute(raw, perm, ndim, &view, err);
    if (!st) st = ax_contiguous(view, &t, err);
    ax_tensor_release(view);
    ax_tensor_release(raw);
    if (st) goto done;
  } else {
    st = ax_tensor_from_bytes(buf + data_off, shape, ndim, dt, &t, err);
    if (st) goto done;
  }
  *out = t;
done:
  ax_free(buf, len + 1);
  return st;
}

static const char *npy_descr(ax_dtype dt) {
  switch (dt) {
  case AX_FLOAT32: return "<f4";
  case AX_FLOAT64: return "<f8";
  case AX_FLOAT16: return "<f2";
  case AX_INT64: return "<i8";
  case AX_INT32: return "<i4";
  case AX_UINT8: return "|u1";
  case AX_BOOL: return "|b1";
  default: return NULL;
  }
}

ax_status ax_npy_save(const char *path, const ax_tensor *t, ax_err *err) {
  const char *descr = npy_descr(t->dtype);
  if (!descr)
    return ax_err_set(err, AX_E_DTYPE, "npy_save: %s tensors cannot be stored in npy", ax_dtype_name(t->dtype));
  char header[512];
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->ndim; i++)
    n += snprintf(header + n, sizeof header - (size_t)n, "%lld%s", (long long)t->shape[i],
                  t->ndim == 1 ? "," : (i + 1 < t->ndim ? ", " : ""));
  n += snprintf(header + n, sizeof header - (size_t)n, "), }");
  /* Pad with spaces so magic(6)+version(2)+len(2)+header ends on a 64-byte boundary, with '\n'. */
  size_t total = 10 + (size_t)n + 1;
  size_t pad = (64 - total % 64) % 64;
  memset(header + n, ' ', pad);
  header[n + (int)pad] = '\n';
  size_t hlen = (size_t)n + pad + 1;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                           (unsigned char)(hlen >> 8)};
  ax_tensor *c = NULL;   /* contiguous bytes on the host: a tensor on a device is downloaded */
  ax_status st = t->storage->device.type == AX_DEV_CPU ? ax_contiguous((ax_tensor *)t, &c, err)
                                                       : ax_host_copy((ax_tensor *)t, &c, err);
  if (st) return st;
  size_t esz = ax_dtype_size(c->dtype);
  const void *parts[3] = {pre, header, (const char *)c->storage->data + c->offset * (int64_t)esz};
  size_t sizes[3] = {sizeof pre, hlen, (size_t)ax_numel(c) * esz};
  st = ax_file_write_atomic(path, parts, sizes, 3, err);
  ax_tensor_release(c);
  return st;
}
