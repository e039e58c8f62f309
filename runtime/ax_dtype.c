/* runtime/ax_dtype.c — dtype table, PyTorch promotion lattice and half conversions.
** Promotion follows c10::promoteTypes for the dtypes anx has (no int8/int16/complex). */
#include "ax_dtype.h"

#include <string.h>

static const char *const names[] = {
#define AX_X(E, n, s, c) n,
    AX_DTYPE_LIST(AX_X)
#undef AX_X
};
static const unsigned char sizes[] = {
#define AX_X(E, n, s, c) s,
    AX_DTYPE_LIST(AX_X)
#undef AX_X
};
static const unsigned char cats[] = {
#define AX_X(E, n, s, c) c,
    AX_DTYPE_LIST(AX_X)
#undef AX_X
};

const char *ax_dtype_name(ax_dtype t) { return (unsigned)t < AX_NDTYPES ? names[t] : "?"; }
size_t ax_dtype_size(ax_dtype t) { return (unsigned)t < AX_NDTYPES ? sizes[t] : 0; }
int ax_dtype_category(ax_dtype t) { return cats[t]; }
int ax_dtype_is_float(ax_dtype t) { return cats[t] == 2; }
int ax_dtype_is_int(ax_dtype t) { return cats[t] == 1; }

int ax_dtype_parse(const char *s, ax_dtype *out) {
  static const struct { const char *n; ax_dtype t; } alias[] = {
      {"float", AX_FLOAT32},  {"f32", AX_FLOAT32},  {"double", AX_FLOAT64}, {"f64", AX_FLOAT64},
      {"half", AX_FLOAT16},   {"f16", AX_FLOAT16},  {"bf16", AX_BFLOAT16},  {"int", AX_INT64},
      {"long", AX_INT64},     {"i64", AX_INT64},    {"i32", AX_INT32},      {"u8", AX_UINT8},
  };
  for (int i = 0; i < AX_NDTYPES; i++)
    if (!strcmp(s, names[i])) { *out = (ax_dtype)i; return 1; }
  for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
    if (!strcmp(s, alias[i].n)) { *out = alias[i].t; return 1; }
  return 0;
}

ax_dtype ax_promote(ax_dtype a, ax_dtype b) {
  if (a == b) return a;
  int ca = cats[a], cb = cats[b];
  if (ca != cb) return ca > cb ? a : b;   /* higher category wins: bool < int < float */
  if (ca == 2) {
    if (a == AX_FLOAT64 || b == AX_FLOAT64) return AX_FLOAT64;
    if (a == AX_FLOAT32 || b == AX_FLOAT32) return AX_FLOAT32;
    return AX_FLOAT32;                    /* float16 + bfloat16 */
  }
  /* ints: uint8 < int32 < int64 */
  if (a == AX_INT64 || b == AX_INT64) return AX_INT64;
  return AX_INT32;
}

ax_dtype ax_compute_dtype(ax_dtype t) {
  if (t == AX_FLOAT64) return AX_FLOAT64;
  if (cats[t] == 2) return AX_FLOAT32;
  return AX_INT64;
}

typedef union { float f; uint32_t u; } f32bits;

float ax_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  f32bits r;
  if (exp == 0) {
    if (man == 0) { r.u = sign; return r.f; }
    /* subnormal: value = man * 2^-24 */
    r.f = (float)man * 5.9604644775390625e-8f;
    r.u |= sign;
    return r.f;
  }
  if (exp == 31) { r.u = sign | 0x7f800000u | (man << 13); return r.f; }
  r.u = sign | ((exp + 112) << 23) | (man << 13);
  return r.f;
}

uint16_t ax_f32_to_f16(float f) {
  f32bits v = {f};
  uint32_t sign = (v.u >> 16) & 0x8000, x = v.u & 0x7fffffff;
  if (x >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (x > 0x7f800000u ? 0x200 : 0));
  if (x >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);    /* rounds to >= 65520: inf */
  if (x < 0x38800000u) {                                      /* below 2^-14: subnormal */
    f32bits a = {.u = x};
    float m = a.f * 16777216.0f;                              /* value / 2^-24 */
    uint32_t q = (uint32_t)m;
    float rem = m - (float)q;
    if (rem > 0.5f || (rem == 0.5f && (q & 1))) q++;
    return (uint16_t)(sign | q);
  }
  uint32_t mant = x & 0x7fffff, e = (x >> 23) - 112;
  uint32_t r = (e << 10) | (mant >> 13);
  uint32_t low = mant & 0x1fff;
  if (low > 0x1000 || (low == 0x1000 && (r & 1))) r++;
  return (uint16_t)(sign | r);
}

float ax_bf16_to_f32(uint16_t h) {
  f32bits r = {.u = (uint32_t)h << 16};
  return r.f;
}

uint16_t ax_f32_to_bf16(float f) {
  f32bits v = {f};
  if ((v.u & 0x7fffffff) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);
  uint32_t lsb = (v.u >> 16) & 1;
  return (uint16_t)((v.u + 0x7fff + lsb) >> 16);
}
