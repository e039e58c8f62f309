/* runtime/cpu/convert.c — dtype conversion between storage and compute buffers, strided copies,
** and the cast/copy kernels. One switch per row, a tight loop per dtype inside.
** Invariant: float -> bool is (v != 0); float -> int truncates toward zero like PyTorch. */
#include <string.h>

#include "cpu.h"

/* The same loop twice: with stride 1 the compiler vectorises it. I is the strided index. */
#define CONV_LOOP(STMT)                                                      \
  if (stride == 1) {                                                         \
    for (int64_t i = 0; i < n; i++) { const int64_t I = i; STMT; }           \
  } else {                                                                   \
    for (int64_t i = 0; i < n; i++) { const int64_t I = i * stride; STMT; }  \
  }

#define LOAD_CASES(T, dst, src, stride, n)                                               \
  switch (dt) {                                                                          \
  case AX_FLOAT32: { const float *s = (const float *)src; CONV_LOOP(dst[i] = (T)s[I]) } break; \
  case AX_FLOAT64: { const double *s = (const double *)src; CONV_LOOP(dst[i] = (T)s[I]) } break; \
  case AX_FLOAT16: { const uint16_t *s = (const uint16_t *)src; CONV_LOOP(dst[i] = (T)ax_f16_to_f32(s[I])) } break; \
  case AX_BFLOAT16: { const uint16_t *s = (const uint16_t *)src; CONV_LOOP(dst[i] = (T)ax_bf16_to_f32(s[I])) } break; \
  case AX_INT64: { const int64_t *s = (const int64_t *)src; CONV_LOOP(dst[i] = (T)s[I]) } break; \
  case AX_INT32: { const int32_t *s = (const int32_t *)src; CONV_LOOP(dst[i] = (T)s[I]) } break; \
  case AX_UINT8: case AX_BOOL: { const uint8_t *s = (const uint8_t *)src; CONV_LOOP(dst[i] = (T)s[I]) } break; \
  default: break;                                                                        \
  }

void cpu_load_f32(float *dst, const char *src, int64_t stride, int64_t n, ax_dtype dt) {
  if (dt == AX_FLOAT32 && stride == 1) { memcpy(dst, src, (size_t)n * 4); return; }
  LOAD_CASES(float, dst, src, stride, n)
}
void cpu_load_f64(double *dst, const char *src, int64_t stride, int64_t n, ax_dtype dt) {
  if (dt == AX_FLOAT64 && stride == 1) { memcpy(dst, src, (size_t)n * 8); return; }
  LOAD_CASES(double, dst, src, stride, n)
}
void cpu_load_i64(int64_t *dst, const char *src, int64_t stride, int64_t n, ax_dtype dt) {
  if (dt == AX_INT64 && stride == 1) { memcpy(dst, src, (size_t)n * 8); return; }
  LOAD_CASES(int64_t, dst, src, stride, n)
}

/* Float -> integer conversions: NaN and out-of-range values are UB in C; map them like x86. */
static inline int64_t f2i(double v) { return v == v && v > -9.2e18 && v < 9.2e18 ? (int64_t)v : INT64_MIN; }

#define STORE_CASES(src, n, CONV_INT)                                                   \
  switch (dt) {                                                                          \
  case AX_FLOAT32: { float *d = (float *)dst; CONV_LOOP(d[I] = (float)src[i]) } break; \
  case AX_FLOAT64: { double *d = (double *)dst; CONV_LOOP(d[I] = (double)src[i]) } break; \
  case AX_FLOAT16: { uint16_t *d = (uint16_t *)dst; CONV_LOOP(d[I] = ax_f32_to_f16((float)src[i])) } break; \
  case AX_BFLOAT16: { uint16_t *d = (uint16_t *)dst; CONV_LOOP(d[I] = ax_f32_to_bf16((float)src[i])) } break; \
  case AX_INT64: { int64_t *d = (int64_t *)dst; CONV_LOOP(d[I] = CONV_INT(src[i])) } break; \
  case AX_INT32: { int32_t *d = (int32_t *)dst; CONV_LOOP(d[I] = (int32_t)CONV_INT(src[i])) } break; \
  case AX_UINT8: { uint8_t *d = (uint8_t *)dst; CONV_LOOP(d[I] = (uint8_t)CONV_INT(src[i])) } break; \
  case AX_BOOL: { uint8_t *d = (uint8_t *)dst; CONV_LOOP(d[I] = src[i] != 0) } break; \
  default: break;                                                                        \
  }

#define ID(x) (x)
void cpu_store_f32(char *dst, int64_t stride, const float *src, int64_t n, ax_dtype dt) {
  if (dt == AX_FLOAT32 && stride == 1) { memcpy(dst, src, (size_t)n * 4); return; }
  STORE_CASES(src, n, f2i)
}
void cpu_store_f64(char *dst, int64_t stride, const double *src, int64_t n, ax_dtype dt) {
  if (dt == AX_FLOAT64 && stride == 1) { memcpy(dst, src, (size_t)n * 8); return; }
  STORE_CASES(src, n, f2i)
}
void cpu_store_i64(char *dst, int64_t stride, const int64_t *src, int64_t n, ax_dtype dt) {
  if (dt == AX_INT64 && stride == 1) { memcpy(dst, src, (size_t)n * 8); return; }
  STORE_CASES(src, n, ID)
}

/* Copy block: same dtype -> memcpy or strided element copy; else convert through a buffer of
** the destination's compute type (float64 for float64, float32 for halves, int64 for ints). */
typedef struct { ax_dtype sd, dd; } copy_ctx;

static void copy_block(void *vctx, char **p, const int64_t *st, int64_t n) {
  const copy_ctx *c = vctx;
  if (c->sd == c->dd) {
    size_t es = ax_dtype_size(c->sd);
    if (st[0] == 1 && st[1] == 1) { memcpy(p[0], p[1], (size_t)n * es); return; }
    switch (es) {
    case 1: for (int64_t i = 0; i < n; i++) p[0][i * st[0]] = p[1][i * st[1]]; return;
    case 2: for (int64_t i = 0; i < n; i++) ((uint16_t *)p[0])[i * st[0]] = ((uint16_t *)p[1])[i * st[1]]; return;
    case 4: for (int64_t i = 0; i < n; i++) ((uint32_t *)p[0])[i * st[0]] = ((uint32_t *)p[1])[i * st[1]]; return;
    default: for (int64_t i = 0; i < n; i++) ((uint64_t *)p[0])[i * st[0]] = ((uint64_t *)p[1])[i * st[1]]; return;
    }
  }
  ax_dtype cd = ax_compute_dtype(c->dd);
  if (ax_dtype_is_float(c->sd) && !ax_dtype_is_float(c->dd)) cd = AX_FLOAT64;   /* exact truncation */
  if (cd == AX_FLOAT32) {
    float buf[CPU_BLOCK];
    cpu_load_f32(buf, p[1], st[1], n, c->sd);
    cpu_store_f32(p[0], st[0], buf, n, c->dd);
  } else if (cd == AX_FLOAT64) {
    double buf[CPU_BLOCK];
    cpu_load_f64(buf, p[1], st[1], n, c->sd);
    cpu_store_f64(p[0], st[0], buf, n, c->dd);
  } else {
    int64_t buf[CPU_BLOCK];
    cpu_load_i64(buf, p[1], st[1], n, c->sd);
    cpu_store_i64(p[0], st[0], buf, n, c->dd);
  }
}

ax_status cpu_copy_into(ax_tensor *dst, const ax_tensor *src, ax_err *err) {
  cpu_iter it;
  cpu_iter_init(&it, dst->shape, dst->ndim);
  cpu_iter_add(&it, dst);
  cpu_iter_add(&it, src);
  copy_ctx c = {src->dtype, dst->dtype};
  cpu_iter_run(&it, copy_block, &c);
  return AX_OK;
}

ax_status cpu_cast(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *o;
  ax_status s = cpu_new(in[0]->shape, in[0]->ndim, at->dtype, &o, err);
  if (s) return s;
  cpu_copy_into(o, in[0], err);
  *out = o;
  return AX_OK;
}

ax_status cpu_copy(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *o;
  ax_status s = cpu_new(in[0]->shape, in[0]->ndim, in[0]->dtype, &o, err);
  if (s) return s;
  cpu_copy_into(o, in[0], err);
  if (at->device.type != AX_DEV_CPU) {   /* to another device: one upload of the packed copy */
    ax_tensor *d = NULL;
    if (!(s = ax_tensor_empty(o->shape, o->ndim, o->dtype, at->device, &d, err)) && ax_numel(o) > 0)
      s = d->storage->be->upload(d->storage->data, o->storage->data, (size_t)ax_numel(o) * ax_dtype_size(o->dtype), err);
    ax_tensor_release(o);
    if (s) {
      ax_tensor_release(d);
      return s;
    }
    o = d;
  }
  *out = o;
  return AX_OK;
}
