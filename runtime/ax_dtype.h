/* runtime/ax_dtype.h — tensor element types, their sizes and names, PyTorch type promotion,
** and the float16/bfloat16 <-> float32 conversions (half types are storage types: kernels
** compute in float32 and convert on load/store). Invariant: AX_DTYPE_LIST is the only list. */
#ifndef AX_DTYPE_H
#define AX_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* X(ENUM, name, size in bytes, category: 0 bool, 1 int, 2 float) */
#define AX_DTYPE_LIST(X)          \
  X(FLOAT32, "float32", 4, 2)     \
  X(FLOAT64, "float64", 8, 2)     \
  X(FLOAT16, "float16", 2, 2)     \
  X(BFLOAT16, "bfloat16", 2, 2)   \
  X(INT64, "int64", 8, 1)         \
  X(INT32, "int32", 4, 1)         \
  X(UINT8, "uint8", 1, 1)         \
  X(BOOL, "bool", 1, 0)

typedef enum {
#define AX_X(E, n, s, c) AX_##E,
  AX_DTYPE_LIST(AX_X)
#undef AX_X
  AX_NDTYPES
} ax_dtype;

#define AX_DEFAULT_FLOAT AX_FLOAT32
#define AX_DEFAULT_INT AX_INT64

const char *ax_dtype_name(ax_dtype t);
/* Parse "float32", "float", "f32", "int", "long", "bool", ...; returns 0 when unknown. */
int ax_dtype_parse(const char *name, ax_dtype *out);
size_t ax_dtype_size(ax_dtype t);
int ax_dtype_is_float(ax_dtype t);
int ax_dtype_is_int(ax_dtype t);   /* integer types, bool excluded */
int ax_dtype_category(ax_dtype t); /* 0 bool, 1 int, 2 float */

/* PyTorch promotion of two dtypes of the same priority (e.g. uint8+int32 -> int32,
** float16+bfloat16 -> float32, int64+float16 -> float16). */
ax_dtype ax_promote(ax_dtype a, ax_dtype b);

/* The dtype kernels compute in: float64 for float64, float32 for the other floats,
** int64 for integers and bool. */
ax_dtype ax_compute_dtype(ax_dtype t);

float ax_f16_to_f32(uint16_t h);
uint16_t ax_f32_to_f16(float f);    /* round to nearest even */
float ax_bf16_to_f32(uint16_t h);
uint16_t ax_f32_to_bf16(float f);   /* round to nearest even, NaN kept quiet */

#endif
