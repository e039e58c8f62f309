/* vm/lib_tensor.c — tensors as script values: the foreign class (operators, indexing, fields,
** methods) and the tensor prelude.  Every runtime error comes back as an ax_err and is raised as
** a script error whose kind follows the status ("shape", "dtype", ...).
** Invariant: a tensor value owns exactly one runtime reference, released by the GC finalizer. */
#include "lib_tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anx.h"
#include "ax_mem.h"
#include "ax_ops.h"
#include "ax_vmint.h"

/* ---- the foreign class ---- */

/* GC pressure: each script value counts the bytes its view spans while it is alive, so the GC
** runs as often as the tensor memory it could free warrants (and the count falls when it does). */
static long long t_bytes(const ax_tensor *t) { return (long long)ax_numel(t) * (long long)ax_dtype_size(t->dtype); }

static void t_finalize(ax_vm *vm, void *data) {
  ax_tensor *t = data;
  ax_vm_add_pressure(vm, -t_bytes(t));
  ax_tensor_release(t);
}

ax_tensor *ax_value_tensor(ax_value v) { return ax_foreign_data(v, &ax_tensor_class); }

bool ax_push_tensor(ax_vm *vm, ax_tensor *t, ax_value *out) {
  ax_value v = ax_foreign_new(vm, &ax_tensor_class, t);
  if (AX_IS_NIL(v)) {
    ax_tensor_release(t);
    return false;
  }
  ax_vm_add_pressure(vm, t_bytes(t));   /* given back by t_finalize */
  *out = v;
  return true;
}

static const char *status_kind(ax_status st) {
  switch (st) {
  case AX_E_SHAPE: return "shape";
  case AX_E_DTYPE: return "dtype";
  case AX_E_DEVICE: return "device";
  case AX_E_NOMEM: return "memory";
  case AX_E_VALUE: return "value";
  case AX_E_INDEX: return "index";
  case AX_E_IO: return "io";
  case AX_E_FORMAT: return "format";
  case AX_E_UNSUPPORTED: return "unsupported";
  case AX_E_INTERRUPT: return "interrupt";
  case AX_E_LIMIT: return "limit";
  default: return "runtime";
  }
}

bool ax_raise_rt(ax_vm *vm, ax_status st, const ax_err *err) {
  return ax_vm_raise(vm, status_kind(st), "%s", err->msg);
}

/* Finish a native that produced tensor t with status st. */
/* Takes the result's address, not its value: in `ret_tensor(vm, ax_f(..., &r, &e), &e, &r, out)` the
** call must have written r before it is read, and C leaves argument evaluation order unspecified. */
static bool ret_tensor(ax_vm *vm, ax_status st, ax_err *err, ax_tensor **pt, ax_value *out) {
  ax_tensor *t = *pt;
  if (st != AX_OK) {
    ax_tensor_release(t);
    return ax_raise_rt(vm, st, err);
  }
  return ax_push_tensor(vm, t, out);
}

/* The device of a creation function: its device: keyword (a string), else the default device
** (anx --device, ANX_DEVICE). */
static bool kw_device(ax_vm *vm, const char *fn, const ax_kw *kw, ax_device *out) {
  ax_value v;
  *out = vm->device;
  if (!ax_kw_get(kw, "device", &v) || AX_IS_NIL(v)) return true;
  if (!AX_IS_STRING(v)) return ax_vm_raise(vm, "type", "%s: device must be a string, got %s", fn, ax_type_name(v));
  ax_err e;
  ax_status st = ax_device_parse(AX_AS_STRING(v)->chars, out, &e);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* Creation functions make their tensor on the CPU (one random stream everywhere), then move it. */
static ax_status place(ax_tensor **t, ax_device dev, ax_err *err) {
  if (dev.type == AX_DEV_CPU) return AX_OK;
  ax_tensor *m = NULL;
  ax_status st = ax_to(*t, dev, &m, err);
  ax_tensor_release(*t);
  *t = m;
  return st;
}

static bool ret_created(ax_vm *vm, ax_status st, ax_err *err, ax_tensor **pt, ax_device dev, ax_value *out) {
  if (!st) st = place(pt, dev, err);
  return ret_tensor(vm, st, err, pt, out);
}

/* ---- converting script values to tensors ---- */

typedef struct {
  int ndim;
  int64_t shape[AX_MAX_DIMS];
  int has_float, has_int, has_bool;
  double *vals;        /* every element as a double ... */
  int64_t *ivals;      /* ... and as an int64 (exact for ints beyond 2^53) */
  int64_t n, fcap, icap;
} flat;

static bool grow(ax_vm *vm, void **p, int64_t *cap, int64_t need, size_t esz) {
  if (need <= *cap) return true;
  int64_t ncap = *cap ? *cap * 2 : 64;
  void *np = ax_realloc(*p, esz * (size_t)*cap, esz * (size_t)ncap);
  if (!np) return ax_vm_oom(vm);
  *p = np;
  *cap = ncap;
  return true;
}

static bool flat_push(ax_vm *vm, flat *f, double d, int64_t i) {
  if (!grow(vm, (void **)&f->vals, &f->fcap, f->n + 1, sizeof(double)) ||
      !grow(vm, (void **)&f->ivals, &f->icap, f->n + 1, sizeof(int64_t)))
    return false;
  f->vals[f->n] = d;
  f->ivals[f->n] = i;
  f->n++;
  return true;
}

static void flat_free(flat *f) {
  ax_free(f->vals, sizeof(double) * (size_t)f->fcap);
  ax_free(f->ivals, sizeof(int64_t) * (size_t)f->icap);
}

/* A float's integer value for an integer tensor: truncated, saturated at the int64 range, NaN 0
** (a C cast of inf, NaN or 1e300 is undefined behaviour). */
static int64_t f_to_i64(double x) {
  if (x != x) return 0;
  if (x >= 9223372036854775807.0) return INT64_MAX;
  if (x <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)x;
}

/* Walk nested lists; depth d; shapes must be rectangular. */
static bool flatten_value(ax_vm *vm, const char *fn, ax_value v, int d, flat *f) {
  if (AX_IS_LIST(v)) {
    ax_list *l = AX_AS_LIST(v);
    if (d >= AX_MAX_DIMS) return ax_vm_raise(vm, "shape", "%s: nesting deeper than %d dimensions", fn, AX_MAX_DIMS);
    if (d == f->ndim) {
      if (f->n > 0) return ax_vm_raise(vm, "shape", "%s: ragged nested list (a list where a number was expected before)", fn);
      f->shape[d] = l->len;
      f->ndim = d + 1;
    } else if (f->shape[d] != l->len) {
      return ax_vm_raise(vm, "shape", "%s: ragged nested list: expected %lld elements at depth %d, got %lld", fn,
                         (long long)f->shape[d], d, (long long)l->len);
    }
    for (int64_t i = 0; i < l->len; i++)
      if (!flatten_value(vm, fn, l->items[i], d + 1, f)) return false;
    return true;
  }
  if (d != f->ndim)
    return ax_vm_raise(vm, "shape", "%s: ragged nested list: a number at depth %d where a list was expected", fn, d);
  if (AX_IS_INT(v)) { f->has_int = 1; return flat_push(vm, f, (double)v.as.i, v.as.i); }
  if (AX_IS_FLOAT(v)) { f->has_float = 1; return flat_push(vm, f, v.as.f, f_to_i64(v.as.f)); }
  if (AX_IS_BOOL(v)) { f->has_bool = 1; return flat_push(vm, f, v.as.b, v.as.b); }
  ax_tensor *t = ax_value_tensor(v);
  if (t && ax_numel(t) == 1) {
    ax_err e;
    double x;
    if (ax_item_f64(t, &x, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e);
    if (ax_dtype_is_float(t->dtype)) f->has_float = 1;
    else if (t->dtype == AX_BOOL) f->has_bool = 1;
    else f->has_int = 1;
    return flat_push(vm, f, x, f_to_i64(x));
  }
  return ax_vm_raise(vm, "type", "%s: cannot make a tensor element from %s", fn, ax_type_name(v));
}

bool ax_value_to_tensor(ax_vm *vm, const char *fn, ax_value v, ax_dtype dtype, ax_tensor **out) {
  ax_err e;
  ax_status st;
  ax_tensor *t = ax_value_tensor(v);
  if (t) {
    if (dtype == AX_NDTYPES || dtype == t->dtype) {
      *out = ax_tensor_retain(t);
      return true;
    }
    st = ax_cast(t, dtype, out, &e);
    return st ? ax_raise_rt(vm, st, &e) : true;
  }
  /* Script numbers become "wrapped" 0-d tensors that promote like Python scalars. */
  if (dtype == AX_NDTYPES) {
    if (AX_IS_INT(v)) st = ax_scalar_i64(v.as.i, out, &e);
    else if (AX_IS_FLOAT(v)) st = ax_scalar_f64(v.as.f, out, &e);
    else if (AX_IS_BOOL(v)) st = ax_scalar_bool(v.as.b, out, &e);
    else goto build;
    return st ? ax_raise_rt(vm, st, &e) : true;
  }
build:;
  flat f;
  memset(&f, 0, sizeof f);
  if (!flatten_value(vm, fn, v, 0, &f)) {
    flat_free(&f);
    return false;
  }
  ax_dtype dt = dtype;
  if (dt == AX_NDTYPES) dt = f.has_float ? AX_FLOAT32 : f.has_int ? AX_INT64 : f.has_bool ? AX_BOOL : AX_FLOAT32;
  if (ax_dtype_is_float(dt)) st = ax_tensor_from_f64(f.vals ? f.vals : (double[]){0}, f.shape, f.ndim, dt, out, &e);
  else st = ax_tensor_from_i64(f.ivals ? f.ivals : (int64_t[]){0}, f.shape, f.ndim, dt, out, &e);
  flat_free(&f);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* A tensor argument: args[i] converted (new reference in *out). */
static bool arg_tensor(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, ax_tensor **out) {
  if (i >= argc) return ax_vm_raise(vm, "argument", "%s: missing argument %d", fn, i + 1);
  return ax_value_to_tensor(vm, fn, args[i], AX_NDTYPES, out);
}

static bool dtype_from_value(ax_vm *vm, const char *fn, ax_value v, ax_dtype *out) {
  if (!AX_IS_STRING(v)) return ax_vm_raise(vm, "type", "%s: dtype must be a string such as \"float32\"", fn);
  if (!ax_dtype_parse(AX_AS_STRING(v)->chars, out))
    return ax_vm_raise(vm, "value", "%s: unknown dtype '%s' (float32 float64 float16 bfloat16 int64 int32 uint8 bool)",
                       fn, AX_AS_STRING(v)->chars);
  return true;
}

static bool kw_dtype(ax_vm *vm, const char *fn, const ax_kw *kw, ax_dtype *out) {
  ax_value v;
  *out = AX_NDTYPES;
  if (!ax_kw_get(kw, "dtype", &v) || AX_IS_NIL(v)) return true;
  return dtype_from_value(vm, fn, v, out);
}

static bool kw_bool(ax_vm *vm, const ax_kw *kw, const char *name, bool dflt, bool *out) {
  ax_value v;
  *out = dflt;
  if (ax_kw_get(kw, name, &v)) return ax_vm_truthy(vm, v, out);
  return true;
}

static bool value_int(ax_vm *vm, const char *fn, const char *what, ax_value v, int64_t *out) {
  if (AX_IS_INT(v)) { *out = v.as.i; return true; }
  if (AX_IS_FLOAT(v) && v.as.f == floor(v.as.f) && fabs(v.as.f) < 9e18) { *out = (int64_t)v.as.f; return true; }
  ax_tensor *t = ax_value_tensor(v);
  if (t && ax_numel(t) == 1 && !ax_dtype_is_float(t->dtype)) {
    ax_err e;
    if (ax_item_i64(t, out, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e);
    return true;
  }
  return ax_vm_raise(vm, "type", "%s: %s must be an int, got %s", fn, what, ax_type_name(v));
}

static bool value_num(ax_vm *vm, const char *fn, const char *what, ax_value v, double *out) {
  if (AX_IS_INT(v)) { *out = (double)v.as.i; return true; }
  if (AX_IS_FLOAT(v)) { *out = v.as.f; return true; }
  ax_tensor *t = ax_value_tensor(v);
  if (t && ax_numel(t) == 1) {
    ax_err e;
    if (ax_item_f64(t, out, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e);
    return true;
  }
  return ax_vm_raise(vm, "type", "%s: %s must be a number, got %s", fn, what, ax_type_name(v));
}

/* A shape: a list of ints, or ints spread over args[from..argc). */
static bool shape_args(ax_vm *vm, const char *fn, ax_value *args, int argc, int from, int64_t *shape, int *ndim) {
  *ndim = 0;
  if (from < argc && AX_IS_LIST(args[from])) {
    ax_list *l = AX_AS_LIST(args[from]);
    if (l->len > AX_MAX_DIMS) return ax_vm_raise(vm, "shape", "%s: at most %d dimensions", fn, AX_MAX_DIMS);
    for (int64_t i = 0; i < l->len; i++)
      if (!value_int(vm, fn, "a shape entry", l->items[i], &shape[(*ndim)++])) return false;
    if (from + 1 < argc) return ax_vm_raise(vm, "argument", "%s: give the shape as one list", fn);
  } else {
    if (argc - from > AX_MAX_DIMS) return ax_vm_raise(vm, "shape", "%s: at most %d dimensions", fn, AX_MAX_DIMS);
    for (int i = from; i < argc; i++)
      if (!value_int(vm, fn, "a shape entry", args[i], &shape[(*ndim)++])) return false;
  }
  for (int i = 0; i < *ndim; i++)
    if (shape[i] < 0 && !(shape[i] == -1))
      return ax_vm_raise(vm, "shape", "%s: negative dimension %lld", fn, (long long)shape[i]);
  return true;
}

bool ax_kw_dims(ax_vm *vm, const char *fn, const ax_kw *kw, const char *name, int64_t *dims, int *ndims) {
  ax_value v;
  *ndims = 0;
  if (!ax_kw_get(kw, name, &v) || AX_IS_NIL(v)) return true;
  if (AX_IS_LIST(v)) {
    ax_list *l = AX_AS_LIST(v);
    if (l->len > AX_MAX_DIMS) return ax_vm_raise(vm, "shape", "%s: too many dims", fn);
    for (int64_t i = 0; i < l->len; i++)
      if (!value_int(vm, fn, name, l->items[i], &dims[(*ndims)++])) return false;
    if (*ndims == 0) return ax_vm_raise(vm, "value", "%s: %s: is an empty list", fn, name);
    return true;
  }
  if (!value_int(vm, fn, name, v, &dims[0])) return false;
  *ndims = 1;
  return true;
}

/* ---- operators ---- */

static ax_status remainder_op(ax_tensor *a, ax_tensor *b, ax_tensor **out, ax_err *e) {
  /* Python/torch.remainder: a - floor(a / b) * b (sign of the divisor). */
  ax_tensor *q = NULL, *fq = NULL, *p = NULL;
  ax_status st;
  if (!ax_dtype_is_float(a->dtype) && !ax_dtype_is_float(b->dtype)) {
    /* integer remainder through float64 keeps exactness for |x| < 2^53 */
    ax_tensor *af = NULL, *bf = NULL, *r = NULL;
    st = ax_cast(a, AX_FLOAT64, &af, e);
    if (!st) st = ax_cast(b, AX_FLOAT64, &bf, e);
    if (!st) st = remainder_op(af, bf, &r, e);
    if (!st) st = ax_cast(r, ax_promote(a->dtype, b->dtype), out, e);
    ax_tensor_release(af);
    ax_tensor_release(bf);
    ax_tensor_release(r);
    return st;
  }
  st = ax_div(a, b, &q, e);
  if (!st) st = ax_floor(q, &fq, e);
  if (!st) st = ax_mul(fq, b, &p, e);
  if (!st) st = ax_sub(a, p, out, e);
  ax_tensor_release(q);
  ax_tensor_release(fq);
  ax_tensor_release(p);
  return st;
}

static int t_binop(ax_vm *vm, int op, ax_value a, ax_value b, int side, ax_value *out) {
  (void)side;
  ax_tensor *ta = NULL, *tb = NULL, *r = NULL;
  static const char *names[] = {"", "+", "-", "*", "/", "%", "**", "@", "==", "!=", "<", "<=", ">", ">="};
  const char *fn = (op >= 1 && op <= 13) ? names[op] : "operator";
  /* Only numbers, bools, lists and tensors take part in tensor arithmetic. */
  for (int k = 0; k < 2; k++) {
    ax_value v = k ? b : a;
    if (!(AX_IS_NUM(v) || AX_IS_BOOL(v) || AX_IS_LIST(v) || ax_value_tensor(v))) {
      if (op == AX_FOP_EQ || op == AX_FOP_NE) {
        *out = ax_bool(op == AX_FOP_NE);
        return AX_HOOK_OK;
      }
      return AX_HOOK_MISSING;
    }
  }
  if (!ax_value_to_tensor(vm, fn, a, AX_NDTYPES, &ta)) return AX_HOOK_ERR;
  if (!ax_value_to_tensor(vm, fn, b, AX_NDTYPES, &tb)) {
    ax_tensor_release(ta);
    return AX_HOOK_ERR;
  }
  ax_err e;
  ax_status st;
  switch (op) {
  case AX_FOP_ADD: st = ax_add(ta, tb, &r, &e); break;
  case AX_FOP_SUB: st = ax_sub(ta, tb, &r, &e); break;
  case AX_FOP_MUL: st = ax_mul(ta, tb, &r, &e); break;
  case AX_FOP_DIV: st = ax_div(ta, tb, &r, &e); break;
  case AX_FOP_MOD: st = remainder_op(ta, tb, &r, &e); break;
  case AX_FOP_POW: st = ax_pow(ta, tb, &r, &e); break;
  case AX_FOP_MATMUL: st = ax_matmul(ta, tb, &r, &e); break;
  case AX_FOP_EQ: st = ax_eq(ta, tb, &r, &e); break;
  case AX_FOP_NE: st = ax_ne(ta, tb, &r, &e); break;
  case AX_FOP_LT: st = ax_lt(ta, tb, &r, &e); break;
  case AX_FOP_LE: st = ax_le(ta, tb, &r, &e); break;
  case AX_FOP_GT: st = ax_gt(ta, tb, &r, &e); break;
  case AX_FOP_GE: st = ax_ge(ta, tb, &r, &e); break;
  default:
    ax_tensor_release(ta);
    ax_tensor_release(tb);
    return AX_HOOK_MISSING;
  }
  ax_tensor_release(ta);
  ax_tensor_release(tb);
  return ret_tensor(vm, st, &e, &r, out) ? AX_HOOK_OK : AX_HOOK_ERR;
}

static int t_unop(ax_vm *vm, int op, ax_value a, ax_value *out) {
  ax_tensor *t = ax_value_tensor(a), *r = NULL;
  ax_err e;
  if (op == AX_FOP_NEG) return ret_tensor(vm, ax_neg(t, &r, &e), &e, &r, out) ? AX_HOOK_OK : AX_HOOK_ERR;
  if (op == AX_FOP_NOT) {
    ax_tensor *b = NULL;
    ax_status st = ax_cast(t, AX_BOOL, &b, &e);
    if (!st) st = ax_logical_not(b, &r, &e);
    ax_tensor_release(b);
    return ret_tensor(vm, st, &e, &r, out) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  return AX_HOOK_MISSING;
}

static int t_truthy(ax_vm *vm, ax_value self, bool *out) {
  ax_tensor *t = ax_value_tensor(self);
  if (ax_numel(t) != 1) {
    char buf[96];
    return ax_vm_raise(vm, "value", "a tensor of shape %s in a condition is ambiguous: use .any(), .all() or .item()",
                       ax_shape_str(t->shape, t->ndim, buf, sizeof buf)) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  double v;
  ax_err e;
  if (ax_item_f64(t, &v, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e) ? AX_HOOK_OK : AX_HOOK_ERR;
  *out = v != 0;
  return AX_HOOK_OK;
}

static int t_len(ax_vm *vm, ax_value self, int64_t *out) {
  ax_tensor *t = ax_value_tensor(self);
  if (t->ndim == 0) return ax_vm_raise(vm, "type", "len() of a 0-d tensor") ? AX_HOOK_OK : AX_HOOK_ERR;
  *out = t->shape[0];
  return AX_HOOK_OK;
}

static int t_iter(ax_vm *vm, ax_value self, ax_value *state, ax_value *out) {
  ax_tensor *t = ax_value_tensor(self);
  if (t->ndim == 0) return ax_vm_raise(vm, "type", "cannot iterate over a 0-d tensor") ? AX_HOOK_OK : AX_HOOK_ERR;
  int64_t i = AX_IS_INT(*state) ? state->as.i : 0;
  if (i >= t->shape[0]) return AX_HOOK_MISSING;
  *state = ax_int(i + 1);
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_select(t, 0, i, &r, &e), &e, &r, out) ? AX_HOOK_OK : AX_HOOK_ERR;
}

static bool t_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  char *s = NULL;
  ax_err e;
  ax_status st = ax_tensor_to_string(ax_value_tensor(self), &s, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = ax_str_value(vm, s);
  ax_str_free(s);
  return !AX_IS_NIL(*out);
}

/* ---- indexing: ints, slices, nil (new axis), int tensors/lists (index_select on one dim) ---- */

static bool apply_index(ax_vm *vm, ax_tensor *t, int n, const ax_value *idx, ax_tensor **out) {
  ax_err e;
  ax_tensor *cur = ax_tensor_retain(t);
  int dim = 0;
  ax_status st = AX_OK;
  for (int k = 0; k < n && !st; k++) {
    ax_value v = idx[k];
    ax_value s0, s1, s2;
    ax_tensor *next = NULL;
    if (ax_slice_parts(v, &s0, &s1, &s2)) {
      int64_t start = AX_SLICE_NONE, stop = AX_SLICE_NONE, step = 1;
      if ((!AX_IS_NIL(s0) && !value_int(vm, "index", "slice start", s0, &start)) ||
          (!AX_IS_NIL(s1) && !value_int(vm, "index", "slice stop", s1, &stop)) ||
          (!AX_IS_NIL(s2) && !value_int(vm, "index", "slice step", s2, &step))) {
        ax_tensor_release(cur);
        return false;
      }
      if (step <= 0) {
        ax_tensor_release(cur);
        return ax_vm_raise(vm, "index", "tensor slices need a positive step (got %lld); use flip()", (long long)step);
      }
      st = ax_slice(cur, dim, start, stop, step, &next, &e);
      dim++;
    } else if (AX_IS_NIL(v)) {
      st = ax_unsqueeze(cur, dim, &next, &e);
      dim++;
    } else if (AX_IS_INT(v) || AX_IS_BOOL(v)) {
      if (dim >= cur->ndim) {
        ax_tensor_release(cur);
        return ax_vm_raise(vm, "index", "too many indices for a %d-d tensor", t->ndim);
      }
      st = ax_select(cur, dim, AX_IS_INT(v) ? v.as.i : v.as.b, &next, &e);
    } else if (AX_IS_LIST(v) || ax_value_tensor(v)) {
      ax_tensor *it = NULL;
      if (!ax_value_to_tensor(vm, "index", v, AX_NDTYPES, &it)) {
        ax_tensor_release(cur);
        return false;
      }
      if (it->dtype == AX_BOOL) {
        ax_tensor_release(it);
        ax_tensor_release(cur);
        return ax_vm_raise(vm, "index", "boolean mask indexing is not supported; use where() or masked_fill()");
      }
      if (it->ndim != 1) {
        ax_tensor_release(it);
        ax_tensor_release(cur);
        return ax_vm_raise(vm, "index", "an index tensor must be 1-d here (got %d-d); use gather()", it->ndim);
      }
      st = ax_index_select(cur, dim, it, &next, &e);
      ax_tensor_release(it);
      dim++;
    } else {
      ax_tensor_release(cur);
      return ax_vm_raise(vm, "type", "a tensor index must be an int, slice, nil or int tensor, got %s", ax_type_name(v));
    }
    ax_tensor_release(cur);
    cur = next;
  }
  if (st) {
    ax_tensor_release(cur);
    return ax_raise_rt(vm, st, &e);
  }
  *out = cur;
  return true;
}

static int t_index(ax_vm *vm, ax_value self, int n, const ax_value *idx, ax_value *out) {
  ax_tensor *r = NULL;
  if (!apply_index(vm, ax_value_tensor(self), n, idx, &r)) return AX_HOOK_ERR;
  return ax_push_tensor(vm, r, out) ? AX_HOOK_OK : AX_HOOK_ERR;
}

/* Copy val (broadcast to dst's shape, cast to dst's dtype) into the strided view dst, in place
** (ax_copy_ handles overlap and bumps the storage version, so stale graphs are detected). */
static bool copy_into(ax_vm *vm, const char *fn, ax_tensor *dst, ax_value val) {
  ax_err e;
  ax_status st;
  if (AX_IS_NUM(val) || AX_IS_BOOL(val)) {
    double d = AX_IS_INT(val) ? (double)val.as.i : AX_IS_FLOAT(val) ? val.as.f : val.as.b;
    st = ax_fill_(dst, d, &e);
    return st ? ax_raise_rt(vm, st, &e) : true;
  }
  ax_tensor *src = NULL;
  if (!ax_value_to_tensor(vm, fn, val, dst->dtype, &src)) return false;
  st = ax_copy_(dst, src, &e);
  ax_tensor_release(src);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* x[i, a:b] = v writes through the view (not recorded by autograd, like an in-place op on data). */
static int t_set_index(ax_vm *vm, ax_value self, int n, const ax_value *idx, ax_value val) {
  ax_tensor *t = ax_value_tensor(self), *view = NULL;
  for (int k = 0; k < n; k++)
    if (AX_IS_LIST(idx[k]) || ax_value_tensor(idx[k]))
      return ax_vm_raise(vm, "index", "assignment through an index tensor is not supported; use scatter()")
                 ? AX_HOOK_OK : AX_HOOK_ERR;
  if (t->requires_grad && ax_is_leaf(t) && ax_grad_enabled())
    return ax_vm_raise(vm, "value", "cannot assign into a leaf tensor that requires grad; use no_grad(fn)")
               ? AX_HOOK_OK : AX_HOOK_ERR;
  if (!apply_index(vm, t, n, idx, &view)) return AX_HOOK_ERR;
  bool ok = copy_into(vm, "index assignment", view, val);
  ax_tensor_release(view);
  return ok ? AX_HOOK_OK : AX_HOOK_ERR;
}

/* ---- methods (self is args[0]) ---- */

#define SELF ax_value_tensor(args[0])

static bool m_item(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *t = SELF;
  ax_err e;
  if (ax_numel(t) != 1) {
    char buf[96];
    return ax_vm_raise(vm, "value", "item(): the tensor has shape %s, not one element",
                       ax_shape_str(t->shape, t->ndim, buf, sizeof buf));
  }
  if (ax_dtype_is_float(t->dtype)) {
    double d;
    if (ax_item_f64(t, &d, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e);
    *out = ax_float(d);
  } else {
    int64_t i;
    if (ax_item_i64(t, &i, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e);
    *out = t->dtype == AX_BOOL ? ax_bool(i != 0) : ax_int(i);
  }
  return true;
}

static bool build_list(ax_vm *vm, const ax_tensor *t, int d, const double *fv, const int64_t *iv, int64_t *pos,
                       ax_value *out) {
  if (d == t->ndim) {
    if (fv) *out = ax_float(fv[*pos]);
    else if (t->dtype == AX_BOOL) *out = ax_bool(iv[*pos] != 0);
    else *out = ax_int(iv[*pos]);
    (*pos)++;
    return true;
  }
  ax_list *l = ax_list_new(vm, t->shape[d]);
  if (!l) return false;
  ax_value lv = ax_obj_value(l);
  ax_vm_push_root(vm, lv);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    ax_value item;
    if (!build_list(vm, t, d + 1, fv, iv, pos, &item) || !ax_list_push(vm, l, item)) {
      ax_vm_pop_root(vm, 1);
      return false;
    }
  }
  ax_vm_pop_root(vm, 1);
  *out = lv;
  return true;
}

static bool m_tolist(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *t = SELF;
  int64_t n = ax_numel(t), pos = 0;
  ax_err e;
  int isf = ax_dtype_is_float(t->dtype);
  size_t bytes = (size_t)(n ? n : 1) * 8;
  void *buf = ax_malloc(bytes);
  if (!buf) return ax_vm_oom(vm);
  ax_status st = isf ? ax_to_f64_buffer(t, buf, &e) : ax_to_i64_buffer(t, buf, &e);
  bool ok = st ? ax_raise_rt(vm, st, &e) : build_list(vm, t, 0, isf ? buf : NULL, isf ? NULL : buf, &pos, out);
  ax_free(buf, bytes);
  return ok;
}

static bool m_reshape(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t shape[AX_MAX_DIMS];
  int nd;
  if (!shape_args(vm, "reshape", args, argc, 1, shape, &nd)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_reshape(SELF, shape, nd, &r, &e), &e, &r, out);
}

static bool m_view(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t shape[AX_MAX_DIMS];
  int nd;
  if (!shape_args(vm, "view", args, argc, 1, shape, &nd)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_view(SELF, shape, nd, &r, &e), &e, &r, out);
}

static bool m_permute(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dims[AX_MAX_DIMS];
  int nd;
  if (!shape_args(vm, "permute", args, argc, 1, dims, &nd)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_permute(SELF, dims, nd, &r, &e), &e, &r, out);
}

static bool m_expand(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t shape[AX_MAX_DIMS];
  int nd;
  if (!shape_args(vm, "expand", args, argc, 1, shape, &nd)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_expand(SELF, shape, nd, &r, &e), &e, &r, out);
}

static bool m_transpose(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *t = SELF;
  int64_t d0 = 0, d1 = 1;
  if (argc == 1) {
    if (t->ndim > 2) return ax_vm_raise(vm, "argument", "transpose: give the two dims for a %d-d tensor", t->ndim);
    if (t->ndim < 2) { *out = args[0]; return true; }
  } else if (argc != 3 || !value_int(vm, "transpose", "dim0", args[1], &d0) ||
             !value_int(vm, "transpose", "dim1", args[2], &d1)) {
    return argc != 3 ? ax_vm_raise(vm, "argument", "transpose(x, dim0, dim1)") : false;
  }
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_transpose(t, d0, d1, &r, &e), &e, &r, out);
}

static bool m_flatten(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t s = 0, en = -1;
  ax_value v;
  if (argc > 1 && !value_int(vm, "flatten", "start_dim", args[1], &s)) return false;
  if (argc > 2 && !value_int(vm, "flatten", "end_dim", args[2], &en)) return false;
  if (ax_kw_get(kw, "start_dim", &v) && !value_int(vm, "flatten", "start_dim", v, &s)) return false;
  if (ax_kw_get(kw, "end_dim", &v) && !value_int(vm, "flatten", "end_dim", v, &en)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_flatten(SELF, s, en, &r, &e), &e, &r, out);
}

static bool m_squeeze(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dims[AX_MAX_DIMS];
  int nd = 0;
  if (argc > 1) {
    if (!value_int(vm, "squeeze", "dim", args[1], &dims[0])) return false;
    nd = 1;
  } else if (!ax_kw_dims(vm, "squeeze", kw, "dim", dims, &nd)) {
    return false;
  }
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_squeeze(SELF, dims, nd, &r, &e), &e, &r, out);
}

static bool dim_arg(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, const ax_kw *kw, int64_t *dim,
                    bool *has) {
  ax_value v;
  *has = false;
  if (argc > i) {
    if (AX_IS_NIL(args[i])) return true;
    *has = true;
    return value_int(vm, fn, "dim", args[i], dim);
  }
  if (ax_kw_get(kw, "dim", &v) && !AX_IS_NIL(v)) {
    *has = true;
    return value_int(vm, fn, "dim", v, dim);
  }
  return true;
}

static bool m_unsqueeze(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dim;
  bool has;
  if (!dim_arg(vm, "unsqueeze", args, argc, 1, kw, &dim, &has)) return false;
  if (!has) return ax_vm_raise(vm, "argument", "unsqueeze: missing dim");
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_unsqueeze(SELF, dim, &r, &e), &e, &r, out);
}

/* Reductions taking dim: (int or list) and keepdim:. */
typedef ax_status (*reduce_fn)(ax_tensor *, const int64_t *, int, int, ax_tensor **, ax_err *);

static bool reduce_common(ax_vm *vm, const char *fn, reduce_fn f, ax_value *args, int argc, const ax_kw *kw,
                          ax_value *out) {
  int64_t dims[AX_MAX_DIMS];
  int nd = 0;
  bool keep;
  if (argc > 1) {
    if (AX_IS_LIST(args[1])) {
      ax_list *l = AX_AS_LIST(args[1]);
      for (int64_t i = 0; i < l->len && i < AX_MAX_DIMS; i++)
        if (!value_int(vm, fn, "dim", l->items[i], &dims[nd++])) return false;
    } else if (!AX_IS_NIL(args[1])) {
      if (!value_int(vm, fn, "dim", args[1], &dims[0])) return false;
      nd = 1;
    }
  } else if (!ax_kw_dims(vm, fn, kw, "dim", dims, &nd)) {
    return false;
  }
  if (!kw_bool(vm, kw, "keepdim", false, &keep)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, f(SELF, dims, nd, keep, &r, &e), &e, &r, out);
}

static bool m_sum(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return reduce_common(vm, "sum", ax_sum, args, argc, kw, out);
}
static bool m_mean(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return reduce_common(vm, "mean", ax_mean, args, argc, kw, out);
}
static bool m_prod(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return reduce_common(vm, "prod", ax_prod, args, argc, kw, out);
}

static bool var_std(ax_vm *vm, const char *fn, int is_std, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dims[AX_MAX_DIMS];
  int nd = 0;
  bool keep, unbiased;
  ax_value v;
  if (argc > 1 && !AX_IS_NIL(args[1])) {
    if (!value_int(vm, fn, "dim", args[1], &dims[0])) return false;
    nd = 1;
  } else if (!ax_kw_dims(vm, fn, kw, "dim", dims, &nd)) {
    return false;
  }
  if (!kw_bool(vm, kw, "keepdim", false, &keep) || !kw_bool(vm, kw, "unbiased", true, &unbiased)) return false;
  double corr = unbiased ? 1 : 0;
  if (ax_kw_get(kw, "correction", &v) && !value_num(vm, fn, "correction", v, &corr)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  ax_status st = is_std ? ax_std(SELF, dims, nd, corr, keep, &r, &e) : ax_var(SELF, dims, nd, corr, keep, &r, &e);
  return ret_tensor(vm, st, &e, &r, out);
}
static bool m_var(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return var_std(vm, "var", 0, args, argc, kw, out);
}
static bool m_std(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return var_std(vm, "std", 1, args, argc, kw, out);
}

/* max/min: no dim -> 0-d tensor; dim -> [values, indices]; a second tensor -> elementwise. */
static bool maxmin(ax_vm *vm, int is_max, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = is_max ? "max" : "min";
  ax_tensor *t = SELF, *r = NULL, *ix = NULL;
  ax_err e;
  int64_t dim;
  bool has, keep;
  if (argc > 1 && (ax_value_tensor(args[1]) || AX_IS_FLOAT(args[1]))) {
    ax_tensor *o = NULL;
    if (!arg_tensor(vm, fn, args, argc, 1, &o)) return false;
    ax_status st = is_max ? ax_maximum(t, o, &r, &e) : ax_minimum(t, o, &r, &e);
    ax_tensor_release(o);
    return ret_tensor(vm, st, &e, &r, out);
  }
  if (!dim_arg(vm, fn, args, argc, 1, kw, &dim, &has) || !kw_bool(vm, kw, "keepdim", false, &keep)) return false;
  if (!has) return ret_tensor(vm, is_max ? ax_max_all(t, &r, &e) : ax_min_all(t, &r, &e), &e, &r, out);
  ax_status st = is_max ? ax_max_dim(t, dim, keep, &r, &ix, &e) : ax_min_dim(t, dim, keep, &r, &ix, &e);
  if (st) {
    ax_tensor_release(r);
    ax_tensor_release(ix);
    return ax_raise_rt(vm, st, &e);
  }
  ax_list *l = ax_list_new(vm, 2);
  if (!l) {
    ax_tensor_release(r);
    ax_tensor_release(ix);
    return false;
  }
  ax_value lv = ax_obj_value(l), a, b;
  ax_vm_push_root(vm, lv);
  bool ok = ax_push_tensor(vm, r, &a) && ax_list_push(vm, l, a);
  if (ok) ok = ax_push_tensor(vm, ix, &b) && ax_list_push(vm, l, b);
  else ax_tensor_release(ix);
  ax_vm_pop_root(vm, 1);
  *out = lv;
  return ok;
}
static bool m_max(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return maxmin(vm, 1, args, argc, kw, out);
}
static bool m_min(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return maxmin(vm, 0, args, argc, kw, out);
}

static bool argmaxmin(ax_vm *vm, int is_max, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dim = 0;
  bool has, keep;
  const char *fn = is_max ? "argmax" : "argmin";
  if (!dim_arg(vm, fn, args, argc, 1, kw, &dim, &has) || !kw_bool(vm, kw, "keepdim", false, &keep)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  ax_status st = is_max ? ax_argmax(SELF, dim, has, keep, &r, &e) : ax_argmin(SELF, dim, has, keep, &r, &e);
  return ret_tensor(vm, st, &e, &r, out);
}
static bool m_argmax(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return argmaxmin(vm, 1, args, argc, kw, out);
}
static bool m_argmin(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return argmaxmin(vm, 0, args, argc, kw, out);
}

static bool m_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double p = 2;
  ax_value v;
  int64_t dims[AX_MAX_DIMS];
  int nd = 0;
  bool keep;
  if (argc > 1 && !value_num(vm, "norm", "p", args[1], &p)) return false;
  if (ax_kw_get(kw, "p", &v) && !value_num(vm, "norm", "p", v, &p)) return false;
  if (!ax_kw_dims(vm, "norm", kw, "dim", dims, &nd) || !kw_bool(vm, kw, "keepdim", false, &keep)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_norm(SELF, p, dims, nd, keep, &r, &e), &e, &r, out);
}

typedef ax_status (*dim_fn)(ax_tensor *, int64_t, ax_tensor **, ax_err *);
static bool dim_common(ax_vm *vm, const char *fn, dim_fn f, int64_t dflt, ax_value *args, int argc, const ax_kw *kw,
                       ax_value *out) {
  int64_t dim = dflt;
  bool has;
  if (!dim_arg(vm, fn, args, argc, 1, kw, &dim, &has)) return false;
  if (!has) dim = dflt;
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, f(SELF, dim, &r, &e), &e, &r, out);
}
static bool m_softmax(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return dim_common(vm, "softmax", ax_softmax, -1, args, argc, kw, out);
}
static bool m_log_softmax(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return dim_common(vm, "log_softmax", ax_log_softmax, -1, args, argc, kw, out);
}
static bool m_cumsum(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return dim_common(vm, "cumsum", ax_cumsum, 0, args, argc, kw, out);
}

typedef ax_status (*unary_fn)(ax_tensor *, ax_tensor **, ax_err *);
#define UNARY_METHOD(name)                                                                   \
  static bool m_##name(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) { \
    ax_tensor *r = NULL;                                                                     \
    ax_err e;                                                                                \
    return ret_tensor(vm, ax_##name(SELF, &r, &e), &e, &r, out);                              \
  }
UNARY_METHOD(exp) UNARY_METHOD(log) UNARY_METHOD(sqrt) UNARY_METHOD(rsqrt) UNARY_METHOD(abs)
UNARY_METHOD(sin) UNARY_METHOD(cos) UNARY_METHOD(tanh) UNARY_METHOD(sigmoid) UNARY_METHOD(relu)
UNARY_METHOD(gelu) UNARY_METHOD(silu) UNARY_METHOD(floor) UNARY_METHOD(ceil) UNARY_METHOD(round)
UNARY_METHOD(sign) UNARY_METHOD(neg) UNARY_METHOD(erf) UNARY_METHOD(detach) UNARY_METHOD(contiguous)
UNARY_METHOD(copy)

static bool binary_method(ax_vm *vm, const char *fn, ax_status (*f)(ax_tensor *, ax_tensor *, ax_tensor **, ax_err *),
                          ax_value *args, int argc, ax_value *out) {
  ax_tensor *o = NULL, *r = NULL;
  if (!arg_tensor(vm, fn, args, argc, 1, &o)) return false;
  ax_err e;
  ax_status st = f(SELF, o, &r, &e);
  ax_tensor_release(o);
  return ret_tensor(vm, st, &e, &r, out);
}
static bool m_pow(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return binary_method(vm, "pow", ax_pow, args, argc, out);
}
static bool m_matmul(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return binary_method(vm, "matmul", ax_matmul, args, argc, out);
}
static bool m_maximum(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return binary_method(vm, "maximum", ax_maximum, args, argc, out);
}
static bool m_minimum(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return binary_method(vm, "minimum", ax_minimum, args, argc, out);
}

static bool m_clamp(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double lo = 0, hi = 0;
  int has_lo = 0, has_hi = 0;
  ax_value v;
  if (argc > 1 && !AX_IS_NIL(args[1])) { if (!value_num(vm, "clamp", "min", args[1], &lo)) return false; has_lo = 1; }
  if (argc > 2 && !AX_IS_NIL(args[2])) { if (!value_num(vm, "clamp", "max", args[2], &hi)) return false; has_hi = 1; }
  if (ax_kw_get(kw, "min", &v) && !AX_IS_NIL(v)) { if (!value_num(vm, "clamp", "min", v, &lo)) return false; has_lo = 1; }
  if (ax_kw_get(kw, "max", &v) && !AX_IS_NIL(v)) { if (!value_num(vm, "clamp", "max", v, &hi)) return false; has_hi = 1; }
  if (!has_lo && !has_hi) return ax_vm_raise(vm, "argument", "clamp: give min, max or both");
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_clamp(SELF, lo, has_lo, hi, has_hi, &r, &e), &e, &r, out);
}

static bool m_masked_fill(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *mask = NULL, *r = NULL;
  double v;
  if (argc != 3) return ax_vm_raise(vm, "argument", "masked_fill(mask, value)");
  if (!arg_tensor(vm, "masked_fill", args, argc, 1, &mask)) return false;
  if (!value_num(vm, "masked_fill", "value", args[2], &v)) {
    ax_tensor_release(mask);
    return false;
  }
  ax_err e;
  ax_status st = ax_masked_fill(SELF, mask, v, &r, &e);
  ax_tensor_release(mask);
  return ret_tensor(vm, st, &e, &r, out);
}

static bool m_gather(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dim;
  ax_tensor *idx = NULL, *r = NULL;
  if (argc != 3) return ax_vm_raise(vm, "argument", "gather(dim, index)");
  if (!value_int(vm, "gather", "dim", args[1], &dim) || !arg_tensor(vm, "gather", args, argc, 2, &idx)) return false;
  ax_err e;
  ax_status st = ax_gather(SELF, dim, idx, &r, &e);
  ax_tensor_release(idx);
  return ret_tensor(vm, st, &e, &r, out);
}

static bool m_scatter(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dim;
  ax_tensor *idx = NULL, *src = NULL, *r = NULL;
  ax_value rv;
  bool add = false;
  if (argc != 4) return ax_vm_raise(vm, "argument", "scatter(dim, index, src, reduce: nil|\"add\")");
  if (ax_kw_get(kw, "reduce", &rv) && AX_IS_STRING(rv)) {
    if (strcmp(AX_AS_STRING(rv)->chars, "add") != 0)
      return ax_vm_raise(vm, "value", "scatter: reduce must be \"add\" or nil");
    add = true;
  }
  if (!value_int(vm, "scatter", "dim", args[1], &dim) || !arg_tensor(vm, "scatter", args, argc, 2, &idx)) return false;
  if (!ax_value_to_tensor(vm, "scatter", args[3], SELF->dtype, &src)) {
    ax_tensor_release(idx);
    return false;
  }
  ax_err e;
  ax_status st = add ? ax_scatter_add(SELF, dim, idx, src, &r, &e) : ax_scatter(SELF, dim, idx, src, &r, &e);
  ax_tensor_release(idx);
  ax_tensor_release(src);
  return ret_tensor(vm, st, &e, &r, out);
}

static bool m_index_select(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t dim;
  ax_tensor *idx = NULL, *r = NULL;
  if (argc != 3) return ax_vm_raise(vm, "argument", "index_select(dim, index)");
  if (!value_int(vm, "index_select", "dim", args[1], &dim) || !arg_tensor(vm, "index_select", args, argc, 2, &idx))
    return false;
  ax_err e;
  ax_status st = ax_index_select(SELF, dim, idx, &r, &e);
  ax_tensor_release(idx);
  return ret_tensor(vm, st, &e, &r, out);
}

static bool push_tensor_list(ax_vm *vm, ax_tensor **ts, int n, ax_value *out) {
  ax_list *l = ax_list_new(vm, n);
  if (!l) {
    ax_tensor_list_free(ts, n);
    return false;
  }
  ax_value lv = ax_obj_value(l);
  ax_vm_push_root(vm, lv);
  bool ok = true;
  for (int i = 0; i < n; i++) {
    ax_value v;
    if (ok) {
      ok = ax_push_tensor(vm, ts[i], &v) && ax_list_push(vm, l, v);
      ts[i] = NULL;
    }
  }
  ax_tensor_list_free(ts, n);   /* releases what was not handed over (NULL-safe) */
  ax_vm_pop_root(vm, 1);
  *out = lv;
  return ok;
}

static bool split_chunk(ax_vm *vm, int is_chunk, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = is_chunk ? "chunk" : "split";
  int64_t size, dim = 0;
  bool has;
  if (argc < 2 || !value_int(vm, fn, is_chunk ? "chunks" : "split_size", args[1], &size)) {
    return argc < 2 ? ax_vm_raise(vm, "argument", "%s: missing %s", fn, is_chunk ? "chunks" : "split_size") : false;
  }
  if (!dim_arg(vm, fn, args, argc, 2, kw, &dim, &has)) return false;
  if (!has) dim = 0;
  ax_tensor **ts = NULL;
  int n = 0;
  ax_err e;
  ax_status st = is_chunk ? ax_chunk(SELF, size, dim, &ts, &n, &e) : ax_split(SELF, size, dim, &ts, &n, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  return push_tensor_list(vm, ts, n, out);
}
static bool m_split(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return split_chunk(vm, 0, args, argc, kw, out);
}
static bool m_chunk(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return split_chunk(vm, 1, args, argc, kw, out);
}

/* x.to("cuda"), x.to("float64"), x.to(device: ..., dtype: ...) */
static bool m_to(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *t = ax_tensor_retain(SELF), *r = NULL;
  ax_err e;
  ax_value v;
  ax_status st = AX_OK;
  for (int i = 1; i <= argc && !st; i++) {
    ax_value a;
    if (i < argc) a = args[i];
    else if (ax_kw_get(kw, "dtype", &v)) a = v;
    else break;
    if (!AX_IS_STRING(a)) {
      ax_tensor_release(t);
      return ax_vm_raise(vm, "type", "to: expected a device or dtype string");
    }
    ax_dtype dt;
    ax_device dev;
    if (ax_dtype_parse(AX_AS_STRING(a)->chars, &dt)) st = ax_cast(t, dt, &r, &e);
    else if (!(st = ax_device_parse(AX_AS_STRING(a)->chars, &dev, &e))) st = ax_to(t, dev, &r, &e);
    if (!st) {
      ax_tensor_release(t);
      t = r;
      r = NULL;
    }
  }
  if (!st && ax_kw_get(kw, "device", &v) && AX_IS_STRING(v)) {
    ax_device dev;
    st = ax_device_parse(AX_AS_STRING(v)->chars, &dev, &e);
    if (!st) st = ax_to(t, dev, &r, &e);
    if (!st) {
      ax_tensor_release(t);
      t = r;
    }
  }
  return ret_tensor(vm, st, &e, &t, out);
}

static bool cast_method(ax_vm *vm, ax_value *args, ax_dtype dt, ax_value *out) {
  ax_tensor *r = NULL;
  ax_err e;
  return ret_tensor(vm, ax_cast(SELF, dt, &r, &e), &e, &r, out);
}
static bool m_float(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cast_method(vm, args, AX_FLOAT32, out);
}
static bool m_double(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cast_method(vm, args, AX_FLOAT64, out);
}
static bool m_long(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cast_method(vm, args, AX_INT64, out);
}
static bool m_int(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cast_method(vm, args, AX_INT32, out);
}
static bool m_bool(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cast_method(vm, args, AX_BOOL, out);
}

static bool do_backward(ax_vm *vm, ax_tensor *loss, ax_value gradv, const ax_kw *kw) {
  ax_tensor *g = NULL;
  ax_value rv;
  bool retain = false;
  if (ax_kw_get(kw, "retain_graph", &rv) && !ax_vm_truthy(vm, rv, &retain)) return false;
  if (!AX_IS_NIL(gradv) && !ax_value_to_tensor(vm, "backward", gradv, loss->dtype, &g)) return false;
  ax_err e;
  ax_status st = ax_backward_ex(loss, g, retain, &e);   /* frees the graph unless retain_graph: true */
  ax_tensor_release(g);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

static bool m_backward(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_value g = AX_NIL, v;
  if (argc > 1) g = args[1];
  if (ax_kw_get(kw, "gradient", &v)) g = v;
  *out = AX_NIL;
  return do_backward(vm, SELF, g, kw);
}

static bool m_numel(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_int(ax_numel(SELF));
  return true;
}

static bool m_size(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *t = SELF;
  if (argc > 1) {
    int64_t d;
    int nd;
    ax_err e;
    if (!value_int(vm, "size", "dim", args[1], &d)) return false;
    if (ax_norm_dim("size", d, t->ndim, &nd, &e)) return ax_raise_rt(vm, AX_E_INDEX, &e);
    *out = ax_int(t->shape[nd]);
    return true;
  }
  ax_list *l = ax_list_new(vm, t->ndim);
  if (!l) return false;
  for (int i = 0; i < t->ndim; i++)
    if (!ax_list_push(vm, l, ax_int(t->shape[i]))) return false;
  *out = ax_obj_value(l);
  return true;
}

static bool m_requires_grad_(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  bool on = true;
  if (argc > 1 && !ax_vm_truthy(vm, args[1], &on)) return false;
  ax_err e;
  ax_status st = ax_set_requires_grad(SELF, on, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = args[0];
  return true;
}

static bool m_zero_(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_err e;
  ax_status st = ax_fill_(SELF, 0, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = args[0];
  return true;
}

static bool m_copy_(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *t = SELF;
  if (argc != 2) return ax_vm_raise(vm, "argument", "copy_(src)");
  if (t->requires_grad && ax_is_leaf(t) && ax_grad_enabled())
    return ax_vm_raise(vm, "value", "copy_: cannot write into a leaf tensor that requires grad; use no_grad(fn)");
  if (!copy_into(vm, "copy_", t, args[1])) return false;
  *out = args[0];
  return true;
}

static bool m_fill_(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double v;
  if (argc != 2) return ax_vm_raise(vm, "argument", "fill_(value)");
  if (!value_num(vm, "fill_", "value", args[1], &v)) return false;
  ax_err e;
  ax_status st = ax_fill_(SELF, v, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = args[0];
  return true;
}

/* any()/all() over all elements -> bool tensor (0-d). */
static bool any_all(ax_vm *vm, int is_all, ax_value *args, ax_value *out) {
  ax_tensor *b = NULL, *s = NULL, *r = NULL, *n = NULL;
  ax_err e;
  ax_status st = ax_cast(SELF, AX_BOOL, &b, &e);
  if (!st && is_all) st = ax_logical_not(b, &n, &e);
  if (!st) st = ax_sum(is_all ? n : b, NULL, 0, 0, &s, &e);
  if (!st) {
    ax_tensor *zero = NULL;
    st = ax_scalar_i64(0, &zero, &e);
    if (!st) st = is_all ? ax_eq(s, zero, &r, &e) : ax_gt(s, zero, &r, &e);
    ax_tensor_release(zero);
  }
  ax_tensor_release(b);
  ax_tensor_release(n);
  ax_tensor_release(s);
  return ret_tensor(vm, st, &e, &r, out);
}
static bool m_any(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return any_all(vm, 0, args, out);
}
static bool m_all(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return any_all(vm, 1, args, out);
}

typedef struct {
  const char *name;
  ax_native_fn fn;
  int arity;   /* positional, not counting self; -1 any */
} method_reg;

/* Sorted by name (bsearch). */
static const method_reg methods[] = {
  {"abs", m_abs, 0},           {"all", m_all, 0},
  {"any", m_any, 0},           {"argmax", m_argmax, -1},
  {"argmin", m_argmin, -1},    {"backward", m_backward, -1},
  {"bool", m_bool, 0},         {"ceil", m_ceil, 0},
  {"chunk", m_chunk, -1},      {"clamp", m_clamp, -1},
  {"clone", m_copy, 0},        {"contiguous", m_contiguous, 0},
  {"copy_", m_copy_, 1},       {"cos", m_cos, 0},           {"cumsum", m_cumsum, -1},
  {"detach", m_detach, 0},     {"double", m_double, 0},
  {"erf", m_erf, 0},           {"exp", m_exp, 0},
  {"expand", m_expand, -1},    {"fill_", m_fill_, 1},
  {"flatten", m_flatten, -1},  {"float", m_float, 0},
  {"floor", m_floor, 0},       {"gather", m_gather, -1},
  {"gelu", m_gelu, 0},         {"index_select", m_index_select, -1},
  {"int", m_int, 0},           {"item", m_item, 0},
  {"log", m_log, 0},           {"log_softmax", m_log_softmax, -1},
  {"long", m_long, 0},         {"masked_fill", m_masked_fill, -1},
  {"matmul", m_matmul, 1},     {"max", m_max, -1},
  {"maximum", m_maximum, 1},   {"mean", m_mean, -1},
  {"min", m_min, -1},          {"minimum", m_minimum, 1},
  {"neg", m_neg, 0},           {"norm", m_norm, -1},
  {"numel", m_numel, 0},       {"permute", m_permute, -1},
  {"pow", m_pow, 1},           {"prod", m_prod, -1},
  {"relu", m_relu, 0},         {"requires_grad_", m_requires_grad_, -1},
  {"reshape", m_reshape, -1},  {"round", m_round, 0},
  {"rsqrt", m_rsqrt, 0},       {"scatter", m_scatter, -1},
  {"sigmoid", m_sigmoid, 0},   {"sign", m_sign, 0},
  {"silu", m_silu, 0},         {"sin", m_sin, 0},
  {"size", m_size, -1},        {"softmax", m_softmax, -1},
  {"split", m_split, -1},      {"sqrt", m_sqrt, 0},
  {"squeeze", m_squeeze, -1},  {"std", m_std, -1},
  {"sum", m_sum, -1},          {"tanh", m_tanh, 0},
  {"to", m_to, -1},            {"tolist", m_tolist, 0},
  {"transpose", m_transpose, -1}, {"unsqueeze", m_unsqueeze, -1},
  {"var", m_var, -1},          {"view", m_view, -1},
  {"zero_", m_zero_, 0},
};
#define NMETHODS ((int)(sizeof methods / sizeof methods[0]))

static int method_cmp(const void *key, const void *elem) {
  return strcmp((const char *)key, ((const method_reg *)elem)->name);
}

static const method_reg *find_method(const char *name) {
  return bsearch(name, methods, NMETHODS, sizeof methods[0], method_cmp);
}

/* Methods are called with self as args[0]: the native wrapper checks arity (not counting self). */
static int t_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  ax_tensor *t = ax_value_tensor(self);
  const char *n = name->chars;
  if (strcmp(n, "shape") == 0) {
    ax_list *l = ax_list_new(vm, t->ndim);
    if (!l) return AX_HOOK_ERR;
    for (int i = 0; i < t->ndim; i++)
      if (!ax_list_push(vm, l, ax_int(t->shape[i]))) return AX_HOOK_ERR;
    *out = ax_obj_value(l);
    return AX_HOOK_OK;
  }
  if (strcmp(n, "dtype") == 0) {
    *out = ax_str_value(vm, ax_dtype_name(t->dtype));
    return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
  }
  if (strcmp(n, "device") == 0) {
    char buf[32];
    ax_device_format(t->storage->device, buf, sizeof buf);
    *out = ax_str_value(vm, buf);
    return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
  }
  if (strcmp(n, "ndim") == 0) {
    *out = ax_int(t->ndim);
    return AX_HOOK_OK;
  }
  if (strcmp(n, "requires_grad") == 0) {
    *out = ax_bool(t->requires_grad);
    return AX_HOOK_OK;
  }
  if (strcmp(n, "is_leaf") == 0) {
    *out = ax_bool(ax_is_leaf(t));
    return AX_HOOK_OK;
  }
  if (strcmp(n, "grad") == 0) {
    if (!t->grad) {
      *out = AX_NIL;
      return AX_HOOK_OK;
    }
    return ax_push_tensor(vm, ax_tensor_retain(t->grad), out) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  if (strcmp(n, "T") == 0) {
    ax_value a[1] = {self};
    return m_transpose(vm, a, 1, NULL, out) ? AX_HOOK_OK : AX_HOOK_ERR;
  }
  const method_reg *m = find_method(n);
  if (!m) return AX_HOOK_MISSING;
  ax_value nat = ax_native_new(vm, m->name, m->fn, m->arity, NULL);
  if (AX_IS_NIL(nat)) return AX_HOOK_ERR;
  ax_vm_push_root(vm, nat);
  *out = ax_bound_new(vm, self, nat);
  ax_vm_pop_root(vm, 1);
  return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
}

static int t_set_field(ax_vm *vm, ax_value self, ax_string *name, ax_value val) {
  ax_tensor *t = ax_value_tensor(self);
  if (strcmp(name->chars, "requires_grad") == 0) {
    bool on;
    ax_err e;
    if (!ax_vm_truthy(vm, val, &on)) return AX_HOOK_ERR;
    ax_status st = ax_set_requires_grad(t, on, &e);
    if (st) return ax_raise_rt(vm, st, &e) ? AX_HOOK_OK : AX_HOOK_ERR;
    return AX_HOOK_OK;
  }
  if (strcmp(name->chars, "grad") == 0) {
    if (!AX_IS_NIL(val)) {
      ax_tensor *g = ax_value_tensor(val);
      if (!g) return ax_vm_raise(vm, "type", "x.grad must be a tensor or nil") ? AX_HOOK_OK : AX_HOOK_ERR;
      ax_zero_grad(t);
      t->grad = ax_tensor_retain(g);
    } else {
      ax_zero_grad(t);
    }
    return AX_HOOK_OK;
  }
  return AX_HOOK_MISSING;
}

const ax_foreign_class ax_tensor_class = {
  .name = "tensor",
  .finalize = t_finalize,
  .tostring = t_tostring,
  .get_field = t_get_field,
  .set_field = t_set_field,
  .binop = t_binop,
  .unop = t_unop,
  .index = t_index,
  .set_index = t_set_index,
  .len = t_len,
  .iter = t_iter,
  .truthy = t_truthy,
};

/* ---- prelude functions ---- */

/* Function form of a method: f(x, ...) == x.f(...), with x converted to a tensor first. */
static bool call_as_method(ax_vm *vm, const char *name, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const method_reg *m = find_method(name);
  if (argc < 1) return ax_vm_raise(vm, "argument", "%s: missing tensor argument", name);
  ax_tensor *t = NULL;
  if (!ax_value_tensor(args[0])) {
    if (!ax_value_to_tensor(vm, name, args[0], AX_NDTYPES, &t)) return false;
    if (!ax_push_tensor(vm, t, &args[0])) return false;
  }
  if (m->arity >= 0 && argc - 1 != m->arity)
    return ax_vm_raise(vm, "argument", "%s: expected %d argument(s) after the tensor, got %d", name, m->arity, argc - 1);
  return m->fn(vm, args, argc, kw, out);
}

#define FUNC_FORM(name)                                                                          \
  static bool f_##name(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {    \
    return call_as_method(vm, #name, args, argc, kw, out);                                       \
  }
FUNC_FORM(reshape) FUNC_FORM(view) FUNC_FORM(transpose) FUNC_FORM(permute) FUNC_FORM(flatten)
FUNC_FORM(squeeze) FUNC_FORM(unsqueeze) FUNC_FORM(exp) FUNC_FORM(log) FUNC_FORM(sqrt) FUNC_FORM(sin)
FUNC_FORM(cos) FUNC_FORM(tanh) FUNC_FORM(sigmoid) FUNC_FORM(relu) FUNC_FORM(silu)
FUNC_FORM(softmax) FUNC_FORM(log_softmax) FUNC_FORM(mean) FUNC_FORM(std) FUNC_FORM(argmax)
FUNC_FORM(argmin) FUNC_FORM(norm) FUNC_FORM(matmul) FUNC_FORM(detach) FUNC_FORM(clamp) FUNC_FORM(gather)
FUNC_FORM(masked_fill) FUNC_FORM(index_select) FUNC_FORM(cumsum) FUNC_FORM(prod) FUNC_FORM(split)
FUNC_FORM(chunk) FUNC_FORM(expand) FUNC_FORM(rsqrt) FUNC_FORM(floor) FUNC_FORM(ceil) FUNC_FORM(maximum)
FUNC_FORM(minimum) FUNC_FORM(tolist) FUNC_FORM(item) FUNC_FORM(numel) FUNC_FORM(scatter) FUNC_FORM(erf)
FUNC_FORM(contiguous) FUNC_FORM(sign)

static bool f_variance(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return call_as_method(vm, "var", args, argc, kw, out);
}

static bool f_pow(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (argc != 2) return ax_vm_raise(vm, "argument", "pow(x, y)");
  if (!ax_value_tensor(args[0]) && !ax_value_tensor(args[1]) && AX_IS_NUM(args[0]) && AX_IS_NUM(args[1])) {
    double a = AX_IS_INT(args[0]) ? (double)args[0].as.i : args[0].as.f;
    double b = AX_IS_INT(args[1]) ? (double)args[1].as.i : args[1].as.f;
    *out = ax_float(pow(a, b));
    return true;
  }
  return t_binop(vm, AX_FOP_POW, args[0], args[1], 0, out) == AX_HOOK_OK;
}

static bool f_tensor(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"dtype", "device", "requires_grad", NULL};
  if (!ax_kw_check(vm, "tensor", kw, allowed) || !ax_arg_count(vm, "tensor", argc, 1, 1)) return false;
  ax_dtype dt;
  bool rg;
  if (!kw_dtype(vm, "tensor", kw, &dt) || !kw_bool(vm, kw, "requires_grad", false, &rg)) return false;
  ax_tensor *t = NULL, *r = NULL;
  ax_err e;
  ax_status st = AX_OK;
  if (ax_value_tensor(args[0])) {
    if (!ax_value_to_tensor(vm, "tensor", args[0], dt, &t)) return false;
    st = ax_copy(t, &r, &e);   /* tensor(t) copies, as torch.tensor does */
    ax_tensor_release(t);
    if (st) return ax_raise_rt(vm, st, &e);
    t = r;
  } else {
    if (AX_IS_NUM(args[0]) || AX_IS_BOOL(args[0])) {
      /* A 0-d tensor of the default dtype for the number (not a wrapped scalar). */
      ax_dtype d0 = dt != AX_NDTYPES ? dt : AX_IS_FLOAT(args[0]) ? AX_FLOAT32 : AX_IS_BOOL(args[0]) ? AX_BOOL : AX_INT64;
      int64_t shape0[1];
      if (ax_dtype_is_float(d0)) {
        double d = AX_IS_INT(args[0]) ? (double)args[0].as.i : AX_IS_FLOAT(args[0]) ? args[0].as.f : args[0].as.b;
        st = ax_tensor_from_f64(&d, shape0, 0, d0, &t, &e);
      } else {
        int64_t i = AX_IS_INT(args[0]) ? args[0].as.i : AX_IS_FLOAT(args[0]) ? (int64_t)args[0].as.f : args[0].as.b;
        st = ax_tensor_from_i64(&i, shape0, 0, d0, &t, &e);
      }
      if (st) return ax_raise_rt(vm, st, &e);
    } else if (!ax_value_to_tensor(vm, "tensor", args[0], dt, &t)) {
      return false;
    }
  }
  /* tensor(t) of a tensor stays on t's device unless device: says otherwise; data goes to the default */
  ax_value dv;
  ax_device dev = ax_value_tensor(args[0]) ? t->storage->device : vm->device;
  if (ax_kw_get(kw, "device", &dv) && !AX_IS_NIL(dv) && !kw_device(vm, "tensor", kw, &dev)) {
    ax_tensor_release(t);
    return false;
  }
  if (!ax_device_eq(dev, t->storage->device)) {
    st = ax_to(t, dev, &r, &e);
    ax_tensor_release(t);
    if (st) return ax_raise_rt(vm, st, &e);
    t = r;
  }
  if (rg && (st = ax_set_requires_grad(t, 1, &e))) {
    ax_tensor_release(t);
    return ax_raise_rt(vm, st, &e);
  }
  return ax_push_tensor(vm, t, out);
}

typedef enum { C_ZEROS, C_ONES, C_RAND, C_RANDN, C_EMPTY } create_kind;

static bool create(ax_vm *vm, const char *fn, create_kind k, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"dtype", "device", "requires_grad", NULL};
  if (!ax_kw_check(vm, fn, kw, allowed)) return false;
  int64_t shape[AX_MAX_DIMS];
  int nd;
  ax_dtype dt;
  ax_device dev;
  bool rg;
  if (!shape_args(vm, fn, args, argc, 0, shape, &nd) || !kw_dtype(vm, fn, kw, &dt) ||
      !kw_bool(vm, kw, "requires_grad", false, &rg) || !kw_device(vm, fn, kw, &dev))
    return false;
  if (dt == AX_NDTYPES) dt = AX_FLOAT32;
  ax_tensor *t = NULL;
  ax_err e;
  ax_status st;
  switch (k) {
  case C_ZEROS: st = ax_zeros(shape, nd, dt, &t, &e); break;
  case C_ONES: st = ax_ones(shape, nd, dt, &t, &e); break;
  case C_RAND: st = ax_rand(shape, nd, dt, &t, &e); break;
  case C_RANDN: st = ax_randn(shape, nd, dt, &t, &e); break;
  default: st = ax_tensor_empty(shape, nd, dt, dev, &t, &e); break;
  }
  if (!st && k != C_EMPTY) st = place(&t, dev, &e);
  if (!st && rg) st = ax_set_requires_grad(t, 1, &e);
  return ret_tensor(vm, st, &e, &t, out);
}
static bool f_zeros(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return create(vm, "zeros", C_ZEROS, args, argc, kw, out);
}
static bool f_ones(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return create(vm, "ones", C_ONES, args, argc, kw, out);
}
static bool f_rand(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return create(vm, "rand", C_RAND, args, argc, kw, out);
}
static bool f_randn(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return create(vm, "randn", C_RANDN, args, argc, kw, out);
}
static bool f_empty(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return create(vm, "empty", C_EMPTY, args, argc, kw, out);
}

static bool f_full(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"dtype", "device", NULL};
  if (!ax_kw_check(vm, "full", kw, allowed)) return false;
  if (argc != 2) return ax_vm_raise(vm, "argument", "full(shape, value)");
  int64_t shape[AX_MAX_DIMS];
  int nd;
  double v;
  ax_dtype dt;
  ax_device dev;
  if (!shape_args(vm, "full", args, 1, 0, shape, &nd) || !value_num(vm, "full", "value", args[1], &v) ||
      !kw_dtype(vm, "full", kw, &dt) || !kw_device(vm, "full", kw, &dev))
    return false;
  if (dt == AX_NDTYPES) dt = AX_IS_INT(args[1]) ? AX_INT64 : AX_IS_BOOL(args[1]) ? AX_BOOL : AX_FLOAT32;
  ax_tensor *t = NULL;
  ax_err e;
  return ret_created(vm, ax_full(shape, nd, v, dt, &t, &e), &e, &t, dev, out);
}

static bool like(ax_vm *vm, const char *fn, int which, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *x = NULL, *t = NULL;
  if (!arg_tensor(vm, fn, args, argc, 0, &x)) return false;
  ax_err e;
  ax_status st;
  double v = 0;
  switch (which) {
  case 0: st = ax_zeros_like(x, &t, &e); break;
  case 1: st = ax_ones_like(x, &t, &e); break;
  case 2: st = ax_rand_like(x, &t, &e); break;
  case 3: st = ax_randn_like(x, &t, &e); break;
  default:
    if (argc < 2 || !value_num(vm, fn, "value", args[1], &v)) {
      ax_tensor_release(x);
      return argc < 2 ? ax_vm_raise(vm, "argument", "full_like(x, value)") : false;
    }
    st = ax_full_like(x, v, &t, &e);
    break;
  }
  ax_tensor_release(x);
  return ret_tensor(vm, st, &e, &t, out);
}
static bool f_zeros_like(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return like(vm, "zeros_like", 0, args, argc, kw, out);
}
static bool f_ones_like(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return like(vm, "ones_like", 1, args, argc, kw, out);
}
static bool f_rand_like(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return like(vm, "rand_like", 2, args, argc, kw, out);
}
static bool f_randn_like(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return like(vm, "randn_like", 3, args, argc, kw, out);
}
static bool f_full_like(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return like(vm, "full_like", 4, args, argc, kw, out);
}

static bool f_randint(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  /* randint(high, shape) or randint(low, high, shape) */
  int64_t lo = 0, hi, shape[AX_MAX_DIMS];
  int nd;
  ax_dtype dt;
  if (argc == 2) {
    if (!value_int(vm, "randint", "high", args[0], &hi) || !shape_args(vm, "randint", args, 2, 1, shape, &nd))
      return false;
  } else if (argc == 3) {
    if (!value_int(vm, "randint", "low", args[0], &lo) || !value_int(vm, "randint", "high", args[1], &hi) ||
        !shape_args(vm, "randint", args, 3, 2, shape, &nd))
      return false;
  } else {
    return ax_vm_raise(vm, "argument", "randint(low, high, shape) or randint(high, shape)");
  }
  static const char *const allowed[] = {"dtype", "device", NULL};
  ax_device dev;
  if (!ax_kw_check(vm, "randint", kw, allowed) || !kw_dtype(vm, "randint", kw, &dt) || !kw_device(vm, "randint", kw, &dev))
    return false;
  if (dt == AX_NDTYPES) dt = AX_INT64;
  ax_tensor *t = NULL;
  ax_err e;
  return ret_created(vm, ax_randint(lo, hi, shape, nd, dt, &t, &e), &e, &t, dev, out);
}

static bool f_arange(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double a = 0, b, s = 1;
  bool all_int = true;
  if (argc < 1 || argc > 3) return ax_vm_raise(vm, "argument", "arange(stop) / arange(start, stop[, step])");
  for (int i = 0; i < argc; i++) {
    if (!AX_IS_INT(args[i])) all_int = false;
    double v;
    if (!value_num(vm, "arange", "bound", args[i], &v)) return false;
    if (argc == 1) b = v;
    else if (i == 0) a = v;
    else if (i == 1) b = v;
    else s = v;
  }
  static const char *const allowed[] = {"dtype", "device", NULL};
  ax_dtype dt;
  ax_device dev;
  if (!ax_kw_check(vm, "arange", kw, allowed) || !kw_dtype(vm, "arange", kw, &dt) || !kw_device(vm, "arange", kw, &dev))
    return false;
  if (dt == AX_NDTYPES && !all_int) dt = AX_FLOAT32;
  ax_tensor *t = NULL;
  ax_err e;
  return ret_created(vm, ax_arange(a, b, s, dt, &t, &e), &e, &t, dev, out);
}

static bool f_linspace(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double a, b;
  int64_t n;
  ax_dtype dt;
  ax_device dev;
  static const char *const allowed[] = {"dtype", "device", NULL};
  if (argc != 3) return ax_vm_raise(vm, "argument", "linspace(start, stop, steps)");
  if (!ax_kw_check(vm, "linspace", kw, allowed) || !value_num(vm, "linspace", "start", args[0], &a) ||
      !value_num(vm, "linspace", "stop", args[1], &b) || !value_int(vm, "linspace", "steps", args[2], &n) ||
      !kw_dtype(vm, "linspace", kw, &dt) || !kw_device(vm, "linspace", kw, &dev))
    return false;
  if (dt == AX_NDTYPES) dt = AX_FLOAT32;
  ax_tensor *t = NULL;
  ax_err e;
  return ret_created(vm, ax_linspace(a, b, n, dt, &t, &e), &e, &t, dev, out);
}

static bool f_eye(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t n, m;
  ax_dtype dt;
  if (argc < 1 || argc > 2) return ax_vm_raise(vm, "argument", "eye(n[, m])");
  if (!value_int(vm, "eye", "n", args[0], &n)) return false;
  m = n;
  if (argc == 2 && !value_int(vm, "eye", "m", args[1], &m)) return false;
  static const char *const allowed[] = {"dtype", "device", NULL};
  ax_device dev;
  if (!ax_kw_check(vm, "eye", kw, allowed) || !kw_dtype(vm, "eye", kw, &dt) || !kw_device(vm, "eye", kw, &dev))
    return false;
  if (dt == AX_NDTYPES) dt = AX_FLOAT32;
  ax_tensor *t = NULL;
  ax_err e;
  return ret_created(vm, ax_eye(n, m, dt, &t, &e), &e, &t, dev, out);
}

static bool tensor_list_arg(ax_vm *vm, const char *fn, ax_value v, ax_tensor ***ts, int *n) {
  if (!AX_IS_LIST(v)) return ax_vm_raise(vm, "type", "%s: expected a list of tensors", fn);
  ax_list *l = AX_AS_LIST(v);
  if (l->len == 0) return ax_vm_raise(vm, "value", "%s: the list is empty", fn);
  if (l->len > 1 << 20) return ax_vm_raise(vm, "value", "%s: too many tensors", fn);
  *ts = ax_calloc((size_t)l->len, sizeof(ax_tensor *));
  if (!*ts) return ax_vm_oom(vm);
  *n = (int)l->len;
  for (int i = 0; i < *n; i++)
    if (!ax_value_to_tensor(vm, fn, l->items[i], AX_NDTYPES, &(*ts)[i])) {
      for (int k = 0; k < i; k++) ax_tensor_release((*ts)[k]);
      ax_free(*ts, sizeof(ax_tensor *) * (size_t)*n);
      return false;
    }
  return true;
}

static bool cat_stack(ax_vm *vm, int is_stack, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = is_stack ? "stack" : "cat";
  if (argc < 1 || argc > 2) return ax_vm_raise(vm, "argument", "%s(tensors, dim: 0)", fn);
  int64_t dim = 0;
  bool has;
  if (!dim_arg(vm, fn, args, argc, 1, kw, &dim, &has)) return false;
  ax_tensor **ts = NULL;
  int n = 0;
  if (!tensor_list_arg(vm, fn, args[0], &ts, &n)) return false;
  ax_tensor *r = NULL;
  ax_err e;
  ax_status st = is_stack ? ax_stack(ts, n, dim, &r, &e) : ax_cat(ts, n, dim, &r, &e);
  for (int i = 0; i < n; i++) ax_tensor_release(ts[i]);
  ax_free(ts, sizeof(ax_tensor *) * (size_t)n);
  return ret_tensor(vm, st, &e, &r, out);
}
static bool f_cat(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cat_stack(vm, 0, args, argc, kw, out);
}
static bool f_stack(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return cat_stack(vm, 1, args, argc, kw, out);
}

static bool f_where(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (argc != 3) return ax_vm_raise(vm, "argument", "where(cond, a, b)");
  ax_tensor *c = NULL, *a = NULL, *b = NULL, *r = NULL;
  if (!ax_value_to_tensor(vm, "where", args[0], AX_BOOL, &c)) return false;
  if (!arg_tensor(vm, "where", args, argc, 1, &a) || !arg_tensor(vm, "where", args, argc, 2, &b)) {
    ax_tensor_release(c);
    ax_tensor_release(a);
    return false;
  }
  ax_err e;
  ax_status st = ax_where(c, a, b, &r, &e);
  ax_tensor_release(c);
  ax_tensor_release(a);
  ax_tensor_release(b);
  return ret_tensor(vm, st, &e, &r, out);
}

static bool f_seed(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t s;
  if (!ax_arg_count(vm, "seed", argc, 1, 1) || !value_int(vm, "seed", "seed", args[0], &s)) return false;
  ax_seed((uint64_t)s);
  *out = AX_NIL;
  return true;
}

static bool f_no_grad(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "no_grad", argc, 1, 1)) return false;
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);
  bool ok = ax_vm_call(vm, args[0], 0, NULL, NULL, out);
  ax_set_grad_enabled(was);
  return ok;
}

static bool f_backward(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_value g = AX_NIL, v;
  if (!ax_arg_count(vm, "backward", argc, 1, 2)) return false;
  ax_tensor *loss = ax_value_tensor(args[0]);
  if (!loss) return ax_vm_raise(vm, "type", "backward: expected a tensor, got %s", ax_type_name(args[0]));
  if (argc > 1) g = args[1];
  if (ax_kw_get(kw, "gradient", &v)) g = v;
  *out = AX_NIL;
  return do_backward(vm, loss, g, kw);
}

static bool f_param(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *x = NULL, *r = NULL;
  if (!ax_arg_count(vm, "param", argc, 1, 1)) return false;
  if (!ax_value_to_tensor(vm, "param", args[0], AX_NDTYPES, &x)) return false;
  if (!ax_dtype_is_float(x->dtype)) {
    /* param([1, 2]) of ints: make it float32, as a learnable value must be */
    ax_tensor *f = NULL;
    ax_err e;
    ax_status st = ax_cast(x, AX_FLOAT32, &f, &e);
    ax_tensor_release(x);
    if (st) return ax_raise_rt(vm, st, &e);
    x = f;
  }
  ax_err e;
  ax_status st = ax_param(x, &r, &e);
  ax_tensor_release(x);
  return ret_tensor(vm, st, &e, &r, out);
}

/* ---- devices ---- */
ax_device ax_vm_device(ax_vm *vm) { return vm->device; }

int anx_vm_set_device(anx_vm *vm, const char *name) {
  ax_device d;
  ax_err e;
  const ax_backend *be;
  if (ax_device_parse(name, &d, &e)) {
    fprintf(stderr, "anx: %s\n", e.msg);
    return 64;
  }
  /* loads and probes the backend now (a missing GPU is an error before anything runs) */
  if (ax_backend_get(d, &be, &e)) {
    char dn[32];
    ax_device_format(d, dn, sizeof dn);
    fprintf(stderr, "anx: cannot run on %s: %s\n", dn, e.msg);
    return ANX_RUNTIME_ERROR;
  }
  vm->device = d;
  return ANX_OK;
}

/* device("cuda") checks and names a device; device() is the default device */
static bool f_device(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *s;
  ax_device d = vm->device;
  char buf[32];
  if (argc == 0) {
    ax_device_format(d, buf, sizeof buf);
    *out = ax_str_value(vm, buf);
    return !AX_IS_NIL(*out);
  }
  if (!ax_arg_count(vm, "device", argc, 0, 1) || !ax_arg_str(vm, "device", args, argc, 0, &s)) return false;
  ax_err e;
  ax_status st = ax_device_parse(s->chars, &d, &e);
  if (!st) {
    const ax_backend *be;
    st = ax_backend_get(d, &be, &e);
  }
  if (st) return ax_raise_rt(vm, st, &e);
  ax_device_format(d, buf, sizeof buf);
  *out = ax_str_value(vm, buf);
  return !AX_IS_NIL(*out);
}

static bool f_is_tensor(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "is_tensor", argc, 1, 1)) return false;
  *out = ax_bool(ax_value_tensor(args[0]) != NULL);
  return true;
}

static const ax_native_reg prelude[] = {
  {"tensor", f_tensor, -1},        {"zeros", f_zeros, -1},          {"ones", f_ones, -1},
  {"empty", f_empty, -1},          {"full", f_full, -1},            {"rand", f_rand, -1},
  {"randn", f_randn, -1},          {"randint", f_randint, -1},      {"arange", f_arange, -1},
  {"linspace", f_linspace, -1},    {"eye", f_eye, -1},              {"zeros_like", f_zeros_like, 1},
  {"ones_like", f_ones_like, 1},   {"full_like", f_full_like, 2},   {"rand_like", f_rand_like, 1},
  {"randn_like", f_randn_like, 1}, {"cat", f_cat, -1},              {"stack", f_stack, -1},
  {"where", f_where, -1},          {"seed", f_seed, -1},            {"no_grad", f_no_grad, -1},
  {"backward", f_backward, -1},    {"param", f_param, -1},          {"device", f_device, -1},
  {"is_tensor", f_is_tensor, 1},   {"variance", f_variance, -1},    {"pow", f_pow, -1},
  {"reshape", f_reshape, -1},      {"view", f_view, -1},            {"transpose", f_transpose, -1},
  {"permute", f_permute, -1},      {"flatten", f_flatten, -1},      {"squeeze", f_squeeze, -1},
  {"unsqueeze", f_unsqueeze, -1},  {"exp", f_exp, -1},              {"log", f_log, -1},
  {"sqrt", f_sqrt, -1},            {"sin", f_sin, -1},              {"cos", f_cos, -1},
  {"tanh", f_tanh, -1},            {"sigmoid", f_sigmoid, -1},      {"relu", f_relu, -1},
  {"silu", f_silu, -1},            {"softmax", f_softmax, -1},
  {"log_softmax", f_log_softmax, -1}, {"mean", f_mean, -1},         {"std", f_std, -1},
  {"argmax", f_argmax, -1},        {"argmin", f_argmin, -1},        {"norm", f_norm, -1},
  {"matmul", f_matmul, -1},        {"detach", f_detach, -1},        {"clamp", f_clamp, -1},
  {"gather", f_gather, -1},        {"masked_fill", f_masked_fill, -1}, {"index_select", f_index_select, -1},
  {"cumsum", f_cumsum, -1},        {"prod", f_prod, -1},            {"split", f_split, -1},
  {"chunk", f_chunk, -1},          {"expand", f_expand, -1},        {"rsqrt", f_rsqrt, -1},
  {"floor", f_floor, -1},          {"ceil", f_ceil, -1},            {"maximum", f_maximum, -1},
  {"minimum", f_minimum, -1},      {"tolist", f_tolist, -1},        {"item", f_item, -1},
  {"numel", f_numel, -1},          {"scatter", f_scatter, -1},      {"erf", f_erf, -1},
  {"contiguous", f_contiguous, -1}, {"sign", f_sign, -1},
  {NULL, NULL, 0},
};

bool ax_lib_tensor_open(ax_vm *vm) { return ax_vm_register_globals(vm, prelude); }
