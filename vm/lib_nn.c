/* vm/lib_nn.c — the functional half of `nn` and the losses (torch.nn.functional's signatures and
** defaults). Ops the runtime has as rows (conv, pooling, batch/layer norm) go straight to
** runtime/neural/ax_nn.h; the rest are compositions of runtime ops, so autograd covers them.
** Invariant: every temporary tensor is owned by a `tmps` set and released once, on every path. */
#include "lib_nn.h"

#include <math.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_nn.h"
#include "ax_ops.h"
#include "lib_tensor.h"
#include "net.h"
#include "lib_train.h"

/* ---- temporaries: compose ops without a release after every call ---- */

#define MAX_TMPS 64
typedef struct {
  ax_tensor *t[MAX_TMPS];
  int n;
  ax_status st;
  ax_err e;
} tmps;

static ax_tensor *keep(tmps *k, ax_tensor *t) {
  if (!t) return NULL;
  if (k->n == MAX_TMPS) {
    ax_tensor_release(t);
    k->st = ax_err_set(&k->e, AX_E_RUNTIME, "nn: expression too large");
    return NULL;
  }
  k->t[k->n++] = t;
  return t;
}

static void tmps_free(tmps *k) {
  for (int i = 0; i < k->n; i++) ax_tensor_release(k->t[i]);
  k->n = 0;
}

typedef ax_status (*un_fn)(ax_tensor *, ax_tensor **, ax_err *);
typedef ax_status (*bin_fn)(ax_tensor *, ax_tensor *, ax_tensor **, ax_err *);

static ax_tensor *U(tmps *k, un_fn f, ax_tensor *x) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = f(x, &r, &k->e);
  return k->st ? (ax_tensor_release(r), NULL) : keep(k, r);
}

static ax_tensor *B(tmps *k, bin_fn f, ax_tensor *a, ax_tensor *b) {
  ax_tensor *r = NULL;
  if (k->st || !a || !b) return NULL;
  k->st = f(a, b, &r, &k->e);
  return k->st ? (ax_tensor_release(r), NULL) : keep(k, r);
}

static ax_tensor *S(tmps *k, double v) {
  ax_tensor *r = NULL;
  if (k->st) return NULL;
  k->st = ax_scalar_f64(v, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}

static ax_tensor *SI(tmps *k, int64_t v) {
  ax_tensor *r = NULL;
  if (k->st) return NULL;
  k->st = ax_scalar_i64(v, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}

/* reductions over one dim (or all when dim == INT64_MIN) */
#define ALL INT64_MIN
static ax_tensor *SUM(tmps *k, ax_tensor *x, int64_t dim, int keep_dim) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = dim == ALL ? ax_sum(x, NULL, 0, keep_dim, &r, &k->e) : ax_sum(x, &dim, 1, keep_dim, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *MEAN(tmps *k, ax_tensor *x, int64_t dim, int keep_dim) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = dim == ALL ? ax_mean(x, NULL, 0, keep_dim, &r, &k->e) : ax_mean(x, &dim, 1, keep_dim, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *CAST(tmps *k, ax_tensor *x, ax_dtype dt) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = ax_cast(x, dt, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
/* autocast (runtime/ax_autocast.c) for front ends made of several ops: x as the lower-precision list
** (linear) or the float32 list (group/instance/rms norm, the composite losses) would cast it */
static ax_tensor *AC_LOWER(tmps *k, ax_tensor *x) {
  ax_tensor *r = NULL;
  if (k->st || !x) return x;
  k->st = ax_autocast_lower(x, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *AC_FP32(tmps *k, ax_tensor *x) {
  ax_tensor *r = NULL;
  if (k->st || !x) return x;
  k->st = ax_autocast_fp32(x, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *RESHAPE(tmps *k, ax_tensor *x, const int64_t *shape, int nd) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = ax_reshape(x, shape, nd, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *UNSQ(tmps *k, ax_tensor *x, int64_t dim) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = ax_unsqueeze(x, dim, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *TRANSPOSE(tmps *k, ax_tensor *x, int64_t a, int64_t b) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = ax_transpose(x, a, b, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *WHERE(tmps *k, ax_tensor *c, ax_tensor *a, ax_tensor *b) {
  ax_tensor *r = NULL;
  if (k->st || !c || !a || !b) return NULL;
  k->st = ax_where(c, a, b, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *CLAMP(tmps *k, ax_tensor *x, double lo, int has_lo, double hi, int has_hi) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = ax_clamp(x, lo, has_lo, hi, has_hi, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}
static ax_tensor *LOGSM(tmps *k, ax_tensor *x, int64_t dim) {
  ax_tensor *r = NULL;
  if (k->st || !x) return NULL;
  k->st = ax_log_softmax(x, dim, &r, &k->e);
  return k->st ? NULL : keep(k, r);
}

/* Finish a native: push the result (retained) and release the temporaries. */
static bool finish(ax_vm *vm, tmps *k, ax_tensor *r, ax_value *out) {
  if (k->st || !r) {
    ax_status st = k->st ? k->st : AX_E_RUNTIME;
    ax_err e = k->e;
    tmps_free(k);
    return ax_raise_rt(vm, st, &e);
  }
  ax_tensor_retain(r);
  tmps_free(k);
  return ax_push_tensor(vm, r, out);
}

/* Arguments: tensor at args[i] or keyword `name` (NULL when absent and optional). */
static bool targ(ax_vm *vm, tmps *k, const char *fn, ax_value *args, int argc, int i, const ax_kw *kw,
                 const char *name, bool required, ax_tensor **out) {
  ax_value v = AX_NIL;
  if (i >= 0 && i < argc) v = args[i];
  else if (name) ax_kw_get(kw, name, &v);
  if (AX_IS_NIL(v)) {
    *out = NULL;
    if (required) return ax_vm_raise(vm, "argument", "%s: missing %s", fn, name ? name : "tensor argument");
    return true;
  }
  ax_tensor *t = NULL;
  if (!ax_value_to_tensor(vm, fn, v, AX_NDTYPES, &t)) return false;
  *out = keep(k, t);
  if (!*out) return ax_raise_rt(vm, k->st, &k->e);
  return true;
}

static bool num_opt(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, const ax_kw *kw, const char *name,
                    double *out) {
  ax_value v = AX_NIL;
  if (i >= 0 && i < argc) v = args[i];
  else ax_kw_get(kw, name, &v);
  if (AX_IS_NIL(v)) return true;
  if (AX_IS_INT(v)) *out = (double)v.as.i;
  else if (AX_IS_FLOAT(v)) *out = v.as.f;
  else if (AX_IS_BOOL(v)) *out = v.as.b;
  else return ax_vm_raise(vm, "type", "%s: %s must be a number, got %s", fn, name, ax_type_name(v));
  return true;
}

static bool bool_opt(ax_vm *vm, const ax_kw *kw, const char *name, bool *out) {
  ax_value v;
  if (!ax_kw_get(kw, name, &v)) return true;
  return ax_vm_truthy(vm, v, out);
}

/* An int or a pair [a, b] into two ints (kernel_size: 3 or [3, 5]). */
static bool pair_arg(ax_vm *vm, const char *fn, const char *name, ax_value v, int64_t out[2]) {
  if (AX_IS_INT(v)) {
    out[0] = out[1] = v.as.i;
    return true;
  }
  if (AX_IS_LIST(v) && AX_AS_LIST(v)->len == 2 && AX_IS_INT(AX_AS_LIST(v)->items[0]) &&
      AX_IS_INT(AX_AS_LIST(v)->items[1])) {
    out[0] = AX_AS_LIST(v)->items[0].as.i;
    out[1] = AX_AS_LIST(v)->items[1].as.i;
    return true;
  }
  return ax_vm_raise(vm, "type", "%s: %s must be an int or a list of two ints, got %s", fn, name, ax_type_name(v));
}

static bool pair_kw(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, const ax_kw *kw, const char *name,
                    int64_t dflt, int64_t out[2]) {
  ax_value v = AX_NIL;
  out[0] = out[1] = dflt;
  if (i >= 0 && i < argc) v = args[i];
  else ax_kw_get(kw, name, &v);
  if (AX_IS_NIL(v)) return true;
  return pair_arg(vm, fn, name, v, out);
}

static bool reduction_kw(ax_vm *vm, const char *fn, const ax_kw *kw, int *red) {
  ax_value v;
  *red = 1; /* 0 none, 1 mean, 2 sum */
  if (!ax_kw_get(kw, "reduction", &v)) return true;
  if (AX_IS_STRING(v)) {
    const char *s = AX_AS_STRING(v)->chars;
    if (strcmp(s, "none") == 0) { *red = 0; return true; }
    if (strcmp(s, "mean") == 0) { *red = 1; return true; }
    if (strcmp(s, "sum") == 0) { *red = 2; return true; }
  }
  return ax_vm_raise(vm, "value", "%s: reduction must be \"mean\", \"sum\" or \"none\"", fn);
}

static ax_tensor *reduce(tmps *k, ax_tensor *x, int red) {
  return red == 0 ? x : red == 1 ? MEAN(k, x, ALL, 0) : SUM(k, x, ALL, 0);
}

/* ---- layers of computation ---- */

ax_status ax_nn_linear(ax_tensor *x, ax_tensor *w, ax_tensor *b, ax_tensor **out, ax_err *err) {
  /* x [..., in] @ w.T [in, out] + b [out] */
  if (w->ndim != 2) return ax_err_set(err, AX_E_SHAPE, "linear: weight must be 2-d [out, in], got %d-d", w->ndim);
  if (x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1]) {
    return ax_err_set(err, AX_E_SHAPE, "linear: input has %lld features, expected %lld",
                      (long long)(x->ndim ? x->shape[x->ndim - 1] : 0), (long long)w->shape[1]);
  }
  tmps k = {0};
  x = AC_LOWER(&k, x);   /* linear is one op of autocast's lower-precision list: the bias too */
  w = AC_LOWER(&k, w);
  b = AC_LOWER(&k, b);
  ax_tensor *wt = TRANSPOSE(&k, w, 0, 1);
  ax_tensor *y = B(&k, ax_matmul, x, wt);
  if (b) y = B(&k, ax_add, y, b);
  if (k.st) {
    if (err) *err = k.e;
    ax_status st = k.st;
    tmps_free(&k);
    return st;
  }
  *out = ax_tensor_retain(y);
  tmps_free(&k);
  return AX_OK;
}

static bool n_linear(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *x, *w, *b;
  if (!targ(vm, &k, "nn.linear", args, argc, 0, kw, "input", true, &x) ||
      !targ(vm, &k, "nn.linear", args, argc, 1, kw, "weight", true, &w) ||
      !targ(vm, &k, "nn.linear", args, argc, 2, kw, "bias", false, &b)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_nn_linear(x, w, b, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

/* padding: int, [ph, pw] or "same" (needs stride 1; asymmetric when the extent is even) */
static bool conv_padding(ax_vm *vm, const char *fn, ax_value v, const int64_t ksz[2], const int64_t dil[2],
                         const int64_t stride[2], int64_t pad[4]) {
  pad[0] = pad[1] = pad[2] = pad[3] = 0;
  if (AX_IS_NIL(v)) return true;
  if (AX_IS_STRING(v)) {
    const char *s = AX_AS_STRING(v)->chars;
    if (strcmp(s, "valid") == 0) return true;
    if (strcmp(s, "same") != 0) return ax_vm_raise(vm, "value", "%s: padding must be an int, a pair, \"same\" or \"valid\"", fn);
    if (stride[0] != 1 || stride[1] != 1)
      return ax_vm_raise(vm, "value", "%s: padding \"same\" needs stride 1 (as PyTorch)", fn);
    for (int i = 0; i < 2; i++) {
      int64_t total = dil[i] * (ksz[i] - 1);
      pad[i] = total / 2;            /* top / left */
      pad[i + 2] = total - total / 2; /* bottom / right get the extra one */
    }
    return true;
  }
  int64_t p[2];
  if (!pair_arg(vm, fn, "padding", v, p)) return false;
  pad[0] = pad[2] = p[0];
  pad[1] = pad[3] = p[1];
  return true;
}

static bool n_conv2d_fn(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.conv2d";
  tmps k = {0};
  ax_tensor *x, *w, *b;
  int64_t stride[2], dil[2], pad[4], groups = 1;
  ax_value pv = AX_NIL, gv;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !targ(vm, &k, fn, args, argc, 1, kw, "weight", true, &w) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "bias", false, &b) ||
      !pair_kw(vm, fn, args, argc, 3, kw, "stride", 1, stride) || !pair_kw(vm, fn, args, argc, 5, kw, "dilation", 1, dil))
    goto fail;
  if (argc > 4) pv = args[4];
  else ax_kw_get(kw, "padding", &pv);
  if (w->ndim != 4) {
    ax_vm_raise(vm, "shape", "%s: weight must be 4-d [out, in/groups, kh, kw], got %d-d", fn, w->ndim);
    goto fail;
  }
  if (!conv_padding(vm, fn, pv, &w->shape[2], dil, stride, pad)) goto fail;
  if ((argc > 6 && (gv = args[6], true)) || ax_kw_get(kw, "groups", &gv)) {
    if (!AX_IS_INT(gv) || gv.as.i < 1) {
      ax_vm_raise(vm, "value", "%s: groups must be a positive int", fn);
      goto fail;
    }
    groups = gv.as.i;
  }
  ax_tensor *r = NULL;
  k.st = ax_conv2d(x, w, b, stride, pad, dil, groups, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
fail:
  tmps_free(&k);
  return false;
}

/* An int or a list of n ints (stride: 2 or [1, 2, 2]). */
static bool tuple_kw(ax_vm *vm, const char *fn, ax_value *args, int argc, int i, const ax_kw *kw, const char *name,
                     int n, int64_t dflt, int64_t *out) {
  ax_value v = AX_NIL;
  for (int k = 0; k < n; k++) out[k] = dflt;
  if (i >= 0 && i < argc) v = args[i];
  else ax_kw_get(kw, name, &v);
  if (AX_IS_NIL(v)) return true;
  if (AX_IS_INT(v)) {
    for (int k = 0; k < n; k++) out[k] = v.as.i;
    return true;
  }
  if (AX_IS_LIST(v) && AX_AS_LIST(v)->len == n) {
    for (int k = 0; k < n; k++) {
      ax_value e = AX_AS_LIST(v)->items[k];
      if (!AX_IS_INT(e)) break;
      out[k] = e.as.i;
      if (k == n - 1) return true;
    }
  }
  return ax_vm_raise(vm, "type", "%s: %s must be an int or a list of %d ints, got %s", fn, name, n, ax_type_name(v));
}

/* conv1d / conv3d (torch.nn.functional's signatures) written with conv2d: conv1d is a conv2d over [N, C, 1, L];
** conv3d sums, for each output depth, the conv2d of the kd input slices it covers (zero depth padding by cat). */
static bool conv_nd(ax_vm *vm, int nd, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = nd == 1 ? "nn.conv1d" : "nn.conv3d";
  tmps k = {0};
  ax_tensor *x, *w, *b;
  int64_t stride[3], dil[3], lo[3], hi[3], groups = 1;
  ax_value pv = AX_NIL, gv;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !targ(vm, &k, fn, args, argc, 1, kw, "weight", true, &w) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "bias", false, &b) ||
      !tuple_kw(vm, fn, args, argc, 3, kw, "stride", nd, 1, stride) ||
      !tuple_kw(vm, fn, args, argc, 5, kw, "dilation", nd, 1, dil))
    goto fail;
  if (x->ndim != nd + 2 || w->ndim != nd + 2) {
    ax_vm_raise(vm, "shape", "%s: input and weight must be %d-d, got %d-d and %d-d", fn, nd + 2, x->ndim, w->ndim);
    goto fail;
  }
  if ((argc > 6 && (gv = args[6], true)) || ax_kw_get(kw, "groups", &gv)) {
    if (!AX_IS_INT(gv) || gv.as.i < 1) {
      ax_vm_raise(vm, "value", "%s: groups must be a positive int", fn);
      goto fail;
    }
    groups = gv.as.i;
  }
  if (argc > 4) pv = args[4];
  else ax_kw_get(kw, "padding", &pv);
  if (AX_IS_STRING(pv)) {
    const char *ps = AX_AS_STRING(pv)->chars;
    int same = !strcmp(ps, "same");
    if (!same && strcmp(ps, "valid")) {
      ax_vm_raise(vm, "value", "%s: padding must be an int, a list, \"same\" or \"valid\"", fn);
      goto fail;
    }
    for (int i = 0; i < nd; i++) {
      if (same && stride[i] != 1) {
        ax_vm_raise(vm, "value", "%s: padding \"same\" needs stride 1 (as PyTorch)", fn);
        goto fail;
      }
      int64_t total = same ? dil[i] * (w->shape[2 + i] - 1) : 0;
      lo[i] = total / 2;
      hi[i] = total - total / 2;
    }
  } else {
    ax_vm_push_root(vm, pv);
    bool okp = tuple_kw(vm, fn, &pv, 1, 0, NULL, "padding", nd, 0, lo);
    ax_vm_pop_root(vm, 1);
    if (!okp) goto fail;
    for (int i = 0; i < nd; i++) hi[i] = lo[i];
  }
  ax_tensor *r = NULL;
  if (nd == 1) {
    int64_t s2[2] = {1, stride[0]}, d2[2] = {1, dil[0]}, p4[4] = {0, lo[0], 0, hi[0]};
    ax_tensor *y = NULL;
    if (!k.st) {
      k.st = ax_conv2d(UNSQ(&k, x, 2), UNSQ(&k, w, 2), b, s2, p4, d2, groups, &y, &k.e);
      keep(&k, y);
    }
    if (!k.st) {
      int64_t d = 2;
      k.st = ax_squeeze(y, &d, 1, &r, &k.e);
    }
    return finish(vm, &k, keep(&k, r), out);
  }
  /* conv3d: pad the depth with zeros, then out[:, :, od] = sum_kd conv2d(xp[:, :, od*s + kd*dil], w[:, :, kd]) */
  ax_tensor *xp = x;
  if (lo[0] || hi[0]) {
    ax_tensor *parts[3];
    int np = 0;
    int64_t zs[5];
    memcpy(zs, x->shape, sizeof zs);
    ax_tensor *zl = NULL, *zh = NULL;
    if (lo[0] && !k.st) {
      zs[2] = lo[0];
      k.st = ax_full_on(zs, 5, 0, x->dtype, x->storage->device, &zl, &k.e);
      keep(&k, zl);
      parts[np++] = zl;
    }
    parts[np++] = x;
    if (hi[0] && !k.st) {
      zs[2] = hi[0];
      k.st = ax_full_on(zs, 5, 0, x->dtype, x->storage->device, &zh, &k.e);
      keep(&k, zh);
      parts[np++] = zh;
    }
    if (!k.st) {
      k.st = ax_cat(parts, np, 2, &xp, &k.e);
      keep(&k, xp);
    }
  }
  if (k.st) return finish(vm, &k, NULL, out);
  int64_t kd = w->shape[2], din = xp->shape[2];
  int64_t dout = (din - dil[0] * (kd - 1) - 1) / stride[0] + 1;
  if (din - dil[0] * (kd - 1) - 1 < 0 || dout < 1) {
    tmps_free(&k);
    return ax_vm_raise(vm, "shape", "%s: the kernel depth %lld (dilation %lld) is larger than the padded input depth %lld",
                       fn, (long long)kd, (long long)dil[0], (long long)din);
  }
  if (dout > MAX_TMPS) {
    tmps_free(&k);
    return ax_vm_raise(vm, "shape", "%s: output depth %lld is larger than this composition handles (%d)", fn,
                       (long long)dout, MAX_TMPS);
  }
  ax_tensor **planes = ax_calloc((size_t)dout, sizeof(ax_tensor *));
  if (!planes) {
    tmps_free(&k);
    return ax_vm_oom(vm);
  }
  int64_t s2[2] = {stride[1], stride[2]}, d2[2] = {dil[1], dil[2]}, p4[4] = {lo[1], lo[2], hi[1], hi[2]};
  ax_status st = AX_OK;
  ax_err e;
  for (int64_t od = 0; od < dout && !st; od++) {
    ax_tensor *acc = NULL;
    for (int64_t q = 0; q < kd && !st; q++) {
      ax_tensor *xs = NULL, *ws = NULL, *y = NULL, *sum = NULL;
      st = ax_select(xp, 2, od * stride[0] + q * dil[0], &xs, &e);
      if (!st) st = ax_select(w, 2, q, &ws, &e);
      if (!st) st = ax_conv2d(xs, ws, q == 0 ? b : NULL, s2, p4, d2, groups, &y, &e);
      if (!st && acc) {
        st = ax_add(acc, y, &sum, &e);
        ax_tensor_release(acc);
        acc = sum;
      } else if (!st) {
        acc = ax_tensor_retain(y);
      }
      ax_tensor_release(xs);
      ax_tensor_release(ws);
      ax_tensor_release(y);
    }
    planes[od] = acc;
  }
  if (!st) st = ax_stack(planes, (int)dout, 2, &r, &e);
  for (int64_t od = 0; od < dout; od++) ax_tensor_release(planes[od]);
  ax_free(planes, sizeof(ax_tensor *) * (size_t)dout);
  tmps_free(&k);
  if (st) return ax_raise_rt(vm, st, &e);
  return ax_push_tensor(vm, r, out);
fail:
  tmps_free(&k);
  return false;
}

static bool n_conv1d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return conv_nd(vm, 1, args, argc, kw, out);
}
static bool n_conv3d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return conv_nd(vm, 3, args, argc, kw, out);
}

/* ---- initialisers (torch.nn.init): in place on a tensor of >= 2 dims, without recording ---- */

static ax_status fans(const ax_tensor *t, double *fan_in, double *fan_out, ax_err *err) {
  if (t->ndim < 2) return ax_err_set(err, AX_E_SHAPE, "init: fan in and fan out need a tensor of at least 2 dims, got %d-d", t->ndim);
  double rf = 1;
  for (int i = 2; i < t->ndim; i++) rf *= (double)t->shape[i];
  *fan_in = (double)t->shape[1] * rf;
  *fan_out = (double)t->shape[0] * rf;
  return AX_OK;
}

/* torch.nn.init.calculate_gain; -1 when the name is unknown. */
static double init_gain(const char *nonlin, double a) {
  if (!strcmp(nonlin, "linear") || !strcmp(nonlin, "sigmoid") || !strncmp(nonlin, "conv", 4)) return 1.0;
  if (!strcmp(nonlin, "tanh")) return 5.0 / 3.0;
  if (!strcmp(nonlin, "relu")) return sqrt(2.0);
  if (!strcmp(nonlin, "leaky_relu")) return sqrt(2.0 / (1 + a * a));
  if (!strcmp(nonlin, "selu")) return 0.75;
  return -1;
}

ax_status ax_nn_init(ax_tensor *t, const char *scheme, double gain_or_a, int fan_out_mode, const char *nonlin,
                     ax_err *err) {
  double fi = 0, fo = 0;
  ax_status st = fans(t, &fi, &fo, err);
  if (st) return st;
  int uniform = 0;
  double scale;
  if (!strcmp(scheme, "xavier_uniform") || !strcmp(scheme, "xavier_normal")) {
    uniform = scheme[7] == 'u';
    double std = gain_or_a * sqrt(2.0 / (fi + fo));
    scale = uniform ? sqrt(3.0) * std : std;
  } else if (!strcmp(scheme, "kaiming_uniform") || !strcmp(scheme, "kaiming_normal")) {
    uniform = scheme[8] == 'u';
    double g = init_gain(nonlin, gain_or_a);
    if (g < 0) return ax_err_set(err, AX_E_VALUE, "init: unknown nonlinearity '%s' (linear sigmoid tanh relu leaky_relu selu)", nonlin);
    double std = g / sqrt(fan_out_mode ? fo : fi);
    scale = uniform ? sqrt(3.0) * std : std;
  } else {
    return ax_err_set(err, AX_E_VALUE, "init: unknown scheme '%s'", scheme);
  }
  ax_tensor *r = NULL, *s = NULL, *m = NULL, *y = NULL;
  st = uniform ? ax_rand(t->shape, t->ndim, t->dtype, &r, err) : ax_randn(t->shape, t->ndim, t->dtype, &r, err);
  if (!st && uniform) {
    /* U(0, 1) -> U(-scale, scale) */
    ax_tensor *half = NULL, *c = NULL;
    st = ax_scalar_f64(0.5, &half, err);
    if (!st) st = ax_sub(r, half, &c, err);
    ax_tensor_release(half);
    ax_tensor_release(r);
    r = c;
    scale *= 2;
  }
  if (!st) st = ax_scalar_f64(scale, &s, err);
  if (!st) st = ax_mul(r, s, &m, err);
  if (!st) st = ax_cast(m, t->dtype, &y, err);
  if (!st) st = ax_copy_(t, y, err);
  ax_tensor_release(r);
  ax_tensor_release(s);
  ax_tensor_release(m);
  ax_tensor_release(y);
  return st;
}

static bool init_native(ax_vm *vm, const char *scheme, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int kaiming = scheme[0] == 'k';
  static const char *const xa[] = {"gain", NULL}, *const ka[] = {"a", "mode", "nonlinearity", NULL};
  if (!ax_kw_check(vm, scheme, kw, kaiming ? ka : xa)) return false;
  ax_tensor *t = argc >= 1 ? ax_value_tensor(args[0]) : NULL;
  if (!t) return ax_vm_raise(vm, "type", "nn.%s: the first argument must be a tensor", scheme);
  double p = kaiming ? 0.0 : 1.0;
  if (!num_opt(vm, scheme, args, argc, 1, kw, kaiming ? "a" : "gain", &p)) return false;
  int fan_out = 0;
  const char *nonlin = "leaky_relu";   /* torch's default for kaiming_* */
  ax_value v;
  if (kaiming && ax_kw_get(kw, "mode", &v)) {
    if (!AX_IS_STRING(v) || (strcmp(AX_AS_STRING(v)->chars, "fan_in") && strcmp(AX_AS_STRING(v)->chars, "fan_out")))
      return ax_vm_raise(vm, "value", "nn.%s: mode must be \"fan_in\" or \"fan_out\"", scheme);
    fan_out = !strcmp(AX_AS_STRING(v)->chars, "fan_out");
  }
  if (kaiming && ax_kw_get(kw, "nonlinearity", &v)) {
    if (!AX_IS_STRING(v)) return ax_vm_raise(vm, "type", "nn.%s: nonlinearity must be a string", scheme);
    nonlin = AX_AS_STRING(v)->chars;
  }
  ax_err e;
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);
  ax_status st = ax_nn_init(t, scheme, p, fan_out, nonlin, &e);
  ax_set_grad_enabled(was);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = args[0];
  return true;
}
static bool n_xavier_uniform(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return init_native(vm, "xavier_uniform", args, argc, kw, out);
}
static bool n_xavier_normal(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return init_native(vm, "xavier_normal", args, argc, kw, out);
}
static bool n_kaiming_uniform(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return init_native(vm, "kaiming_uniform", args, argc, kw, out);
}
static bool n_kaiming_normal(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return init_native(vm, "kaiming_normal", args, argc, kw, out);
}
static bool n_calculate_gain(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (argc < 1 || !AX_IS_STRING(args[0])) return ax_vm_raise(vm, "type", "nn.calculate_gain(nonlinearity, param)");
  double a = 0.01;
  if (argc > 1 && !num_opt(vm, "nn.calculate_gain", args, argc, 1, kw, "param", &a)) return false;
  double g = init_gain(AX_AS_STRING(args[0])->chars, a);
  if (g < 0) return ax_vm_raise(vm, "value", "nn.calculate_gain: unknown nonlinearity '%s'", AX_AS_STRING(args[0])->chars);
  *out = ax_float(g);
  return true;
}

static bool n_conv_transpose2d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.conv_transpose2d";
  tmps k = {0};
  ax_tensor *x, *w, *b;
  int64_t stride[2], pad[2], opad[2], dil[2], groups = 1;
  ax_value gv;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !targ(vm, &k, fn, args, argc, 1, kw, "weight", true, &w) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "bias", false, &b) ||
      !pair_kw(vm, fn, args, argc, 3, kw, "stride", 1, stride) || !pair_kw(vm, fn, args, argc, 4, kw, "padding", 0, pad) ||
      !pair_kw(vm, fn, args, argc, 5, kw, "output_padding", 0, opad) ||
      !pair_kw(vm, fn, args, argc, 7, kw, "dilation", 1, dil)) {
    tmps_free(&k);
    return false;
  }
  if ((argc > 6 && (gv = args[6], true)) || ax_kw_get(kw, "groups", &gv)) {
    if (!AX_IS_INT(gv) || gv.as.i < 1) {
      tmps_free(&k);
      return ax_vm_raise(vm, "value", "%s: groups must be a positive int", fn);
    }
    groups = gv.as.i;
  }
  ax_tensor *r = NULL;
  k.st = ax_conv_transpose2d(x, w, b, stride, pad, opad, dil, groups, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

static bool n_max_pool2d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.max_pool2d";
  tmps k = {0};
  ax_tensor *x;
  int64_t ks[2], stride[2], pad[2], dil[2];
  bool ceil_mode = false;
  ax_value kv = AX_NIL;
  if (argc > 1) kv = args[1];
  else ax_kw_get(kw, "kernel_size", &kv);
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !pair_arg(vm, fn, "kernel_size", kv, ks) ||
      !pair_kw(vm, fn, args, argc, 2, kw, "stride", 0, stride) || !pair_kw(vm, fn, args, argc, 3, kw, "padding", 0, pad) ||
      !pair_kw(vm, fn, args, argc, 4, kw, "dilation", 1, dil) || !bool_opt(vm, kw, "ceil_mode", &ceil_mode)) {
    tmps_free(&k);
    return false;
  }
  if (stride[0] == 0) { stride[0] = ks[0]; stride[1] = ks[1]; }
  ax_tensor *r = NULL;
  k.st = ax_max_pool2d(x, ks, stride, pad, dil, ceil_mode, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

static bool n_avg_pool2d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.avg_pool2d";
  tmps k = {0};
  ax_tensor *x;
  int64_t ks[2], stride[2], pad[2];
  bool ceil_mode = false, cip = true;
  ax_value kv = AX_NIL;
  if (argc > 1) kv = args[1];
  else ax_kw_get(kw, "kernel_size", &kv);
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !pair_arg(vm, fn, "kernel_size", kv, ks) ||
      !pair_kw(vm, fn, args, argc, 2, kw, "stride", 0, stride) || !pair_kw(vm, fn, args, argc, 3, kw, "padding", 0, pad) ||
      !bool_opt(vm, kw, "ceil_mode", &ceil_mode) || !bool_opt(vm, kw, "count_include_pad", &cip)) {
    tmps_free(&k);
    return false;
  }
  if (stride[0] == 0) { stride[0] = ks[0]; stride[1] = ks[1]; }
  ax_tensor *r = NULL;
  k.st = ax_avg_pool2d(x, ks, stride, pad, ceil_mode, cip, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

static bool n_adaptive_avg_pool2d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.adaptive_avg_pool2d";
  tmps k = {0};
  ax_tensor *x;
  int64_t os[2];
  ax_value v = AX_NIL;
  if (argc > 1) v = args[1];
  else ax_kw_get(kw, "output_size", &v);
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !pair_arg(vm, fn, "output_size", v, os)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_adaptive_avg_pool2d(x, os[0], os[1], &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

static bool n_batch_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.batch_norm";
  tmps k = {0};
  ax_tensor *x, *rm, *rv, *w, *b;
  double momentum = 0.1, eps = 1e-5;
  bool training = false;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) ||
      !targ(vm, &k, fn, args, argc, 1, kw, "running_mean", false, &rm) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "running_var", false, &rv) ||
      !targ(vm, &k, fn, args, argc, 3, kw, "weight", false, &w) || !targ(vm, &k, fn, args, argc, 4, kw, "bias", false, &b) ||
      !bool_opt(vm, kw, "training", &training) || !num_opt(vm, fn, args, argc, -1, kw, "momentum", &momentum) ||
      !num_opt(vm, fn, args, argc, -1, kw, "eps", &eps)) {
    tmps_free(&k);
    return false;
  }
  if (!training && (!rm || !rv)) {
    tmps_free(&k);
    return ax_vm_raise(vm, "argument", "%s: running_mean and running_var are needed unless training: true", fn);
  }
  ax_tensor *r = NULL;
  k.st = ax_batch_norm(x, rm, rv, w, b, training, momentum, eps, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

static bool shape_len(ax_vm *vm, const char *fn, ax_value v, int *nd) {
  if (AX_IS_INT(v)) { *nd = 1; return true; }
  if (AX_IS_LIST(v) && AX_AS_LIST(v)->len >= 1 && AX_AS_LIST(v)->len <= AX_MAX_DIMS) {
    *nd = (int)AX_AS_LIST(v)->len;
    return true;
  }
  return ax_vm_raise(vm, "type", "%s: normalized_shape must be an int or a list of ints", fn);
}

static bool n_layer_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.layer_norm";
  tmps k = {0};
  ax_tensor *x, *w, *b;
  double eps = 1e-5;
  int nd = 1;
  ax_value sv = AX_NIL;
  if (argc > 1) sv = args[1];
  else ax_kw_get(kw, "normalized_shape", &sv);
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || (!AX_IS_NIL(sv) && !shape_len(vm, fn, sv, &nd)) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "weight", false, &w) || !targ(vm, &k, fn, args, argc, 3, kw, "bias", false, &b) ||
      !num_opt(vm, fn, args, argc, 4, kw, "eps", &eps)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_layer_norm(x, nd, w, b, eps, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

/* group norm as a composition: x [N, C, *] -> [N, G, -1], normalise, back, affine per channel. */
static ax_tensor *group_norm(tmps *k, ax_tensor *x, int64_t groups, ax_tensor *w, ax_tensor *b, double eps) {
  x = AC_FP32(k, x);   /* autocast's float32 list */
  if (k->st) return NULL;
  if (x->ndim < 2 || groups < 1 || x->shape[1] % groups != 0) {
    k->st = ax_err_set(&k->e, AX_E_SHAPE, "group_norm: %lld channels are not divisible into %lld groups",
                       (long long)(x->ndim >= 2 ? x->shape[1] : 0), (long long)groups);
    return NULL;
  }
  int64_t s3[3] = {x->shape[0], groups, -1};
  ax_tensor *g = RESHAPE(k, x, s3, 3);
  ax_tensor *mu = MEAN(k, g, 2, 1);
  ax_tensor *var = NULL;
  if (!k->st) {
    int64_t d = 2;
    k->st = ax_var(g, &d, 1, 0, 1, &var, &k->e);
    keep(k, var);
  }
  ax_tensor *nrm = B(k, ax_mul, B(k, ax_sub, g, mu), U(k, ax_rsqrt, B(k, ax_add, var, S(k, eps))));
  ax_tensor *y = RESHAPE(k, nrm, x->shape, x->ndim);
  if (w || b) {
    int64_t cs[AX_MAX_DIMS];
    cs[0] = 1;
    cs[1] = x->shape[1];
    for (int i = 2; i < x->ndim; i++) cs[i] = 1;
    if (w) y = B(k, ax_mul, y, RESHAPE(k, w, cs, x->ndim));
    if (b) y = B(k, ax_add, y, RESHAPE(k, b, cs, x->ndim));
  }
  return y;
}

static ax_status tmps_result(tmps *k, ax_tensor *y, ax_tensor **out, ax_err *err) {
  if (k->st || !y) {
    ax_status st = k->st ? k->st : AX_E_RUNTIME;
    if (err) *err = k->e;
    tmps_free(k);
    return st;
  }
  *out = ax_tensor_retain(y);
  tmps_free(k);
  return AX_OK;
}

ax_status ax_nn_group_norm(ax_tensor *x, int64_t groups, ax_tensor *w, ax_tensor *b, double eps, ax_tensor **out,
                           ax_err *err) {
  tmps k = {0};
  ax_tensor *y = group_norm(&k, x, groups, w, b, eps);
  return tmps_result(&k, y, out, err);
}

static bool n_group_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.group_norm";
  tmps k = {0};
  ax_tensor *x, *w, *b;
  double eps = 1e-5, g = 0;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !num_opt(vm, fn, args, argc, 1, kw, "num_groups", &g) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "weight", false, &w) || !targ(vm, &k, fn, args, argc, 3, kw, "bias", false, &b) ||
      !num_opt(vm, fn, args, argc, 4, kw, "eps", &eps)) {
    tmps_free(&k);
    return false;
  }
  return finish(vm, &k, group_norm(&k, x, (int64_t)g, w, b, eps), out);
}

static bool n_instance_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.instance_norm";
  tmps k = {0};
  ax_tensor *x, *w, *b;
  double eps = 1e-5;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !targ(vm, &k, fn, args, argc, -1, kw, "weight", false, &w) ||
      !targ(vm, &k, fn, args, argc, -1, kw, "bias", false, &b) || !num_opt(vm, fn, args, argc, -1, kw, "eps", &eps)) {
    tmps_free(&k);
    return false;
  }
  /* instance norm = group norm with one group per channel */
  return finish(vm, &k, group_norm(&k, x, x->ndim >= 2 ? x->shape[1] : 1, w, b, eps), out);
}

static ax_tensor *rms_norm(tmps *k, ax_tensor *x, int nd, ax_tensor *w, double eps) {
  x = AC_FP32(k, x);   /* autocast's float32 list */
  if (k->st) return NULL;
  /* mean of squares over the last nd dims */
  int64_t dims[AX_MAX_DIMS];
  for (int i = 0; i < nd; i++) dims[i] = x->ndim - nd + i;
  ax_tensor *sq = B(k, ax_mul, x, x), *ms = NULL;
  if (!k->st) {
    k->st = ax_mean(sq, dims, nd, 1, &ms, &k->e);
    keep(k, ms);
  }
  ax_tensor *y = B(k, ax_mul, x, U(k, ax_rsqrt, B(k, ax_add, ms, S(k, eps))));
  if (w) y = B(k, ax_mul, y, w);
  return y;
}

ax_status ax_nn_rms_norm(ax_tensor *x, int nd, ax_tensor *w, double eps, ax_tensor **out, ax_err *err) {
  if (nd < 1 || nd > x->ndim) return ax_err_set(err, AX_E_SHAPE, "rms_norm: cannot normalise %d dims of a %d-d input", nd, x->ndim);
  tmps k = {0};
  ax_tensor *y = rms_norm(&k, x, nd, w, eps);
  return tmps_result(&k, y, out, err);
}

static bool n_rms_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.rms_norm";
  tmps k = {0};
  ax_tensor *x, *w;
  double eps = 1e-6;
  int nd = 1;
  ax_value sv = AX_NIL;
  if (argc > 1) sv = args[1];
  else ax_kw_get(kw, "normalized_shape", &sv);
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || (!AX_IS_NIL(sv) && !shape_len(vm, fn, sv, &nd)) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "weight", false, &w) || !num_opt(vm, fn, args, argc, 3, kw, "eps", &eps)) {
    tmps_free(&k);
    return false;
  }
  if (nd > x->ndim) {
    tmps_free(&k);
    return ax_vm_raise(vm, "shape", "%s: normalized_shape has %d dims but the input only %d", fn, nd, x->ndim);
  }
  return finish(vm, &k, rms_norm(&k, x, nd, w, eps), out);
}

ax_status ax_nn_dropout(ax_tensor *x, double p, int training, ax_tensor **out, ax_err *err) {
  if (p < 0 || p > 1) return ax_err_set(err, AX_E_VALUE, "dropout: p must be in [0, 1], got %g", p);
  if (!training || p == 0) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  if (p == 1) return ax_zeros_like(x, out, err);
  ax_tensor *mask = NULL;
  ax_status st = ax_dropout_mask(x, p, &mask, err);
  if (!st) st = ax_mul(x, mask, out, err);
  ax_tensor_release(mask);
  return st;
}

static bool n_dropout(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *x;
  double p = 0.5;
  bool training = true;
  if (!targ(vm, &k, "nn.dropout", args, argc, 0, kw, "input", true, &x) ||
      !num_opt(vm, "nn.dropout", args, argc, 1, kw, "p", &p) || !bool_opt(vm, kw, "training", &training)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_nn_dropout(x, p, training, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

ax_status ax_nn_embedding(ax_tensor *ids, ax_tensor *w, ax_tensor **out, ax_err *err) {
  if (w->ndim != 2) return ax_err_set(err, AX_E_SHAPE, "embedding: weight must be 2-d [vocab, dim], got %d-d", w->ndim);
  if (ax_dtype_is_float(ids->dtype) || ids->dtype == AX_BOOL)
    return ax_err_set(err, AX_E_DTYPE, "embedding: ids must be integers, got %s", ax_dtype_name(ids->dtype));
  tmps k = {0};
  int64_t flat[1] = {-1};
  ax_tensor *fi = RESHAPE(&k, ids, flat, 1), *rows = NULL;
  if (!k.st) {
    k.st = ax_index_select(w, 0, fi, &rows, &k.e);
    keep(&k, rows);
  }
  int64_t shape[AX_MAX_DIMS + 1];
  for (int i = 0; i < ids->ndim; i++) shape[i] = ids->shape[i];
  shape[ids->ndim] = w->shape[1];
  ax_tensor *y = RESHAPE(&k, rows, shape, ids->ndim + 1);
  if (k.st) {
    if (err) *err = k.e;
    ax_status st = k.st;
    tmps_free(&k);
    return st;
  }
  *out = ax_tensor_retain(y);
  tmps_free(&k);
  return AX_OK;
}

static bool n_embedding(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *ids, *w;
  if (!targ(vm, &k, "nn.embedding", args, argc, 0, kw, "input", true, &ids) ||
      !targ(vm, &k, "nn.embedding", args, argc, 1, kw, "weight", true, &w)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_nn_embedding(ids, w, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

/* A table written on the host, moved to dev (one upload when dev is not the CPU). */
static ax_status host_to(ax_tensor **t, ax_device dev, ax_err *err) {
  if (dev.type == AX_DEV_CPU) return AX_OK;
  ax_tensor *m = NULL;
  ax_status st = ax_to(*t, dev, &m, err);
  ax_tensor_release(*t);
  *t = m;
  return st;
}

/* causal_mask(T): bool [T, T], true on and below the diagonal (allowed). */
ax_status ax_nn_causal_mask(int64_t t, int64_t s, ax_device dev, ax_tensor **out, ax_err *err) {
  int64_t shape[2] = {t, s};
  ax_status st = ax_tensor_empty(shape, 2, AX_BOOL, AX_CPU, out, err);
  if (st) return st;
  uint8_t *d = (uint8_t *)(*out)->storage->data + (*out)->offset;
  /* with s > t (cached keys) query i sees keys up to i + (s - t) */
  for (int64_t i = 0; i < t; i++)
    for (int64_t j = 0; j < s; j++) d[i * s + j] = j <= i + (s - t);
  return host_to(out, dev, err);
}

/* softmax(q k^T * scale + mask) v over q [..., T, D], k/v [..., S, D]. mask: bool (true = allowed)
** or float (added), broadcast to [..., T, S]. */
ax_status ax_nn_attention(ax_tensor *q, ax_tensor *kk, ax_tensor *v, ax_tensor *mask, int causal, double dropout,
                          int training, double scale, ax_tensor **out, ax_err *err) {
  if (q->ndim < 2 || kk->ndim < 2 || v->ndim < 2)
    return ax_err_set(err, AX_E_SHAPE, "attention: q, k and v need at least 2 dims [.., T, D]");
  int64_t d = q->shape[q->ndim - 1];
  if (kk->shape[kk->ndim - 1] != d)
    return ax_err_set(err, AX_E_SHAPE, "attention: q has %lld features per head but k has %lld", (long long)d,
                      (long long)kk->shape[kk->ndim - 1]);
  if (scale <= 0) scale = 1.0 / sqrt((double)d);
  int64_t tq = q->shape[q->ndim - 2], skv = kk->shape[kk->ndim - 2];
  if (q->ndim == 4 && kk->ndim == 4 && v->ndim == 4 && (dropout <= 0 || !training) && (!causal || tq == skv) &&
      (q->dtype == AX_FLOAT32 || q->dtype == AX_FLOAT64) && kk->dtype == q->dtype && v->dtype == q->dtype &&
      (!mask || mask->ndim == 2)) {
    /* the streaming kernel: never stores the T x S scores; a bool mask becomes an additive one */
    ax_tensor *am = NULL, *r = NULL;
    ax_status st = AX_OK;
    if (mask && mask->dtype == AX_BOOL) {
      ax_tensor *zero = NULL, *ninf = NULL;
      st = ax_scalar_f64(0.0, &zero, err);
      if (!st) st = ax_scalar_f64(-INFINITY, &ninf, err);
      if (!st) {
        ax_tensor *w = NULL;
        st = ax_where(mask, zero, ninf, &w, err);
        if (!st) st = ax_cast(w, q->dtype, &am, err);
        ax_tensor_release(w);
      }
      ax_tensor_release(zero);
      ax_tensor_release(ninf);
    } else if (mask) {
      st = ax_cast(mask, q->dtype, &am, err);
    }
    if (!st) st = ax_attention(q, kk, v, am, causal, scale, &r, err);
    ax_tensor_release(am);
    if (st) return st;
    *out = r;
    return AX_OK;
  }
  tmps k = {0};
  ax_tensor *scores = B(&k, ax_mul, B(&k, ax_matmul, q, TRANSPOSE(&k, kk, -2, -1)), S(&k, scale));
  if (causal && !k.st) {
    ax_tensor *cm = NULL;
    k.st = ax_nn_causal_mask(q->shape[q->ndim - 2], kk->shape[kk->ndim - 2], q->storage->device, &cm, &k.e);
    keep(&k, cm);
    if (!k.st) {
      ax_tensor *nm = U(&k, ax_logical_not, cm), *r = NULL;
      if (!k.st) {
        k.st = ax_masked_fill(scores, nm, -INFINITY, &r, &k.e);
        scores = keep(&k, r);
      }
    }
  }
  if (mask && !k.st) {
    if (mask->dtype == AX_BOOL) {
      ax_tensor *nm = U(&k, ax_logical_not, mask), *r = NULL;
      if (!k.st) {
        k.st = ax_masked_fill(scores, nm, -INFINITY, &r, &k.e);
        scores = keep(&k, r);
      }
    } else {
      scores = B(&k, ax_add, scores, mask);
    }
  }
  ax_tensor *p = NULL;
  if (!k.st) {
    k.st = ax_softmax(scores, -1, &p, &k.e);
    keep(&k, p);
  }
  if (!k.st && dropout > 0 && training) {
    ax_tensor *r = NULL;
    k.st = ax_nn_dropout(p, dropout, 1, &r, &k.e);
    p = keep(&k, r);
  }
  ax_tensor *y = B(&k, ax_matmul, p, v);
  if (k.st) {
    if (err) *err = k.e;
    ax_status st = k.st;
    tmps_free(&k);
    return st;
  }
  *out = ax_tensor_retain(y);
  tmps_free(&k);
  return AX_OK;
}

static bool n_attention(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = "nn.attention";
  tmps k = {0};
  ax_tensor *q, *kk, *v, *mask;
  bool causal = false;
  double dropout = 0, scale = 0;
  ax_value sv;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "q", true, &q) || !targ(vm, &k, fn, args, argc, 1, kw, "k", true, &kk) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "v", true, &v) || !targ(vm, &k, fn, args, argc, 3, kw, "mask", false, &mask) ||
      !bool_opt(vm, kw, "causal", &causal) || !num_opt(vm, fn, args, argc, -1, kw, "dropout", &dropout)) {
    tmps_free(&k);
    return false;
  }
  if (ax_kw_get(kw, "scale", &sv) && !AX_IS_NIL(sv) && !num_opt(vm, fn, args, argc, -1, kw, "scale", &scale)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_nn_attention(q, kk, v, mask, causal, dropout, 1, scale, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

/* Sinusoidal table [T, D] (Vaswani et al.): sin on even feature indices, cos on odd ones. */
ax_status ax_nn_positional_table(int64_t t, int64_t d, ax_device dev, ax_tensor **out, ax_err *err) {
  if (t < 1 || d < 1) return ax_err_set(err, AX_E_VALUE, "positional_encoding: T and D must be positive");
  int64_t shape[2] = {t, d};
  ax_status st = ax_tensor_empty(shape, 2, AX_FLOAT32, AX_CPU, out, err);
  if (st) return st;
  float *p = (float *)(*out)->storage->data + (*out)->offset;
  for (int64_t pos = 0; pos < t; pos++)
    for (int64_t i = 0; i < d; i++) {
      double freq = pow(10000.0, -(double)(i - (i & 1)) / (double)d);
      p[pos * d + i] = (float)((i & 1) ? cos((double)pos * freq) : sin((double)pos * freq));
    }
  return host_to(out, dev, err);
}

static bool n_positional_encoding(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t t, d;
  if (!ax_arg_count(vm, "nn.positional_encoding", argc, 2, 2) || !ax_arg_int(vm, "nn.positional_encoding", args, argc, 0, &t) ||
      !ax_arg_int(vm, "nn.positional_encoding", args, argc, 1, &d))
    return false;
  ax_tensor *r = NULL;
  ax_err e;
  ax_status st = ax_nn_positional_table(t, d, ax_vm_device(vm), &r, &e);   /* a creation function */
  if (st) return ax_raise_rt(vm, st, &e);
  return ax_push_tensor(vm, r, out);
}

/* Rotary embedding (Su et al.) on x [..., T, D], D even: rotate feature pairs (2i, 2i+1) of position
** p by p * base^(-2i/D). Written as x*cos + rotate_half(x)*sin with interleaved pairs. */
ax_status ax_nn_rotary(ax_tensor *x, double base, int64_t offset, ax_tensor **out, ax_err *err) {
  if (x->ndim < 2 || x->shape[x->ndim - 1] % 2)
    return ax_err_set(err, AX_E_SHAPE, "rotary: the last dim must be even, input is %d-d", x->ndim);
  int64_t t = x->shape[x->ndim - 2], d = x->shape[x->ndim - 1];
  int64_t shape[2] = {t, d};
  ax_tensor *cs = NULL, *sn = NULL;
  ax_status st = ax_tensor_empty(shape, 2, AX_FLOAT32, AX_CPU, &cs, err);
  if (!st) st = ax_tensor_empty(shape, 2, AX_FLOAT32, AX_CPU, &sn, err);
  if (st) {
    ax_tensor_release(cs);
    return st;
  }
  float *c = (float *)cs->storage->data, *s = (float *)sn->storage->data;
  for (int64_t p = 0; p < t; p++)
    for (int64_t i = 0; i < d; i += 2) {
      double ang = (double)(p + offset) * pow(base, -(double)i / (double)d);
      c[p * d + i] = c[p * d + i + 1] = (float)cos(ang);
      s[p * d + i] = (float)-sin(ang);   /* pair (a, b) -> (a cos - b sin, b cos + a sin) */
      s[p * d + i + 1] = (float)sin(ang);
    }
  if (!(st = host_to(&cs, x->storage->device, err))) st = host_to(&sn, x->storage->device, err);
  if (st) {
    ax_tensor_release(cs);
    ax_tensor_release(sn);
    return st;
  }
  tmps k = {0};
  keep(&k, cs);
  keep(&k, sn);
  /* swapped: (b, a) from (a, b) via reshape [.., D/2, 2] and flip of the last dim */
  int64_t s2[AX_MAX_DIMS + 1];
  for (int i = 0; i < x->ndim - 1; i++) s2[i] = x->shape[i];
  s2[x->ndim - 1] = d / 2;
  s2[x->ndim] = 2;
  ax_tensor *pairs = RESHAPE(&k, x, s2, x->ndim + 1), *idx = NULL, *sw = NULL;
  if (!k.st) {
    int64_t two[1] = {2};
    int64_t rev[2] = {1, 0};
    k.st = ax_tensor_from_i64(rev, two, 1, AX_INT64, &idx, &k.e);
    if (!k.st) k.st = host_to(&idx, x->storage->device, &k.e);
    keep(&k, idx);
  }
  if (!k.st) {
    k.st = ax_index_select(pairs, x->ndim, idx, &sw, &k.e);
    keep(&k, sw);
  }
  ax_tensor *swapped = RESHAPE(&k, sw, x->shape, x->ndim);
  ax_tensor *y = B(&k, ax_add, B(&k, ax_mul, x, CAST(&k, cs, x->dtype)), B(&k, ax_mul, swapped, CAST(&k, sn, x->dtype)));
  if (k.st) {
    if (err) *err = k.e;
    st = k.st;
    tmps_free(&k);
    return st;
  }
  *out = ax_tensor_retain(y);
  tmps_free(&k);
  return AX_OK;
}

static bool n_rotary(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *x;
  double base = 10000, offset = 0;
  if (!targ(vm, &k, "nn.rotary", args, argc, 0, kw, "input", true, &x) ||
      !num_opt(vm, "nn.rotary", args, argc, -1, kw, "base", &base) ||
      !num_opt(vm, "nn.rotary", args, argc, -1, kw, "offset", &offset)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = ax_nn_rotary(x, base, (int64_t)offset, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}

static bool n_causal_mask(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  int64_t t, s;
  if (!ax_arg_count(vm, "causal_mask", argc, 1, 2) || !ax_arg_int(vm, "causal_mask", args, argc, 0, &t)) return false;
  s = t;
  if (argc > 1 && !ax_arg_int(vm, "causal_mask", args, argc, 1, &s)) return false;
  if (t < 1 || s < 1) return ax_vm_raise(vm, "value", "causal_mask: sizes must be positive");
  ax_tensor *r = NULL;
  ax_err e;
  ax_status st = ax_nn_causal_mask(t, s, ax_vm_device(vm), &r, &e);   /* a creation function */
  if (st) return ax_raise_rt(vm, st, &e);
  return ax_push_tensor(vm, r, out);
}

static bool n_one_hot(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *ids;
  double c = -1;
  if (!targ(vm, &k, "nn.one_hot", args, argc, 0, kw, "input", true, &ids) ||
      !num_opt(vm, "nn.one_hot", args, argc, 1, kw, "num_classes", &c)) {
    tmps_free(&k);
    return false;
  }
  if (ax_dtype_is_float(ids->dtype)) {
    tmps_free(&k);
    return ax_vm_raise(vm, "dtype", "nn.one_hot: ids must be integers");
  }
  if (c < 0) {
    ax_tensor *m = NULL;
    ax_err e;
    ax_status st = ax_max_all(ids, &m, &e);
    int64_t mx = 0;
    if (!st) st = ax_item_i64(m, &mx, &e);
    ax_tensor_release(m);
    if (st) {
      tmps_free(&k);
      return ax_raise_rt(vm, st, &e);
    }
    c = (double)(mx + 1);
  }
  ax_tensor *ar = NULL;
  if (!k.st) {
    k.st = ax_arange(0, c, 1, AX_INT64, &ar, &k.e);
    if (!k.st) k.st = host_to(&ar, ids->storage->device, &k.e);
    keep(&k, ar);
  }
  ax_tensor *eq = B(&k, ax_eq, UNSQ(&k, ids, -1), ar);
  return finish(vm, &k, CAST(&k, eq, AX_INT64), out);
}

/* ---- activations ---- */

static bool activation(ax_vm *vm, const char *fn, ax_value *args, int argc, const ax_kw *kw, ax_value *out,
                       ax_tensor *(*f)(tmps *, ax_tensor *, double), const char *pname, double dflt) {
  tmps k = {0};
  ax_tensor *x;
  double p = dflt;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) ||
      (pname && !num_opt(vm, fn, args, argc, 1, kw, pname, &p))) {
    tmps_free(&k);
    return false;
  }
  return finish(vm, &k, f(&k, x, p), out);
}

static ax_tensor *a_leaky_relu(tmps *k, ax_tensor *x, double a) {
  return WHERE(k, B(k, ax_gt, x, S(k, 0)), x, B(k, ax_mul, x, S(k, a)));
}
static ax_tensor *a_elu(tmps *k, ax_tensor *x, double a) {
  ax_tensor *neg = B(k, ax_mul, S(k, a), B(k, ax_sub, U(k, ax_exp, CLAMP(k, x, 0, 0, 0, 1)), S(k, 1)));
  return WHERE(k, B(k, ax_gt, x, S(k, 0)), x, neg);
}
static ax_tensor *softplus(tmps *k, ax_tensor *x) {
  /* log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), stable for large |x| */
  ax_tensor *e = U(k, ax_exp, U(k, ax_neg, U(k, ax_abs, x)));
  return B(k, ax_add, CLAMP(k, x, 0, 1, 0, 0), U(k, ax_log, B(k, ax_add, e, S(k, 1))));
}
static ax_tensor *a_mish(tmps *k, ax_tensor *x, double unused) {
  (void)unused;
  return B(k, ax_mul, x, U(k, ax_tanh, softplus(k, x)));
}
static ax_tensor *a_hardsigmoid(tmps *k, ax_tensor *x, double unused) {
  (void)unused;
  return CLAMP(k, B(k, ax_add, B(k, ax_div, x, S(k, 6)), S(k, 0.5)), 0, 1, 1, 1);
}
static ax_tensor *a_hardswish(tmps *k, ax_tensor *x, double unused) {
  return B(k, ax_mul, x, a_hardsigmoid(k, x, unused));
}
static ax_tensor *a_gelu_tanh(tmps *k, ax_tensor *x) {
  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
  ax_tensor *x3 = B(k, ax_mul, B(k, ax_mul, x, x), x);
  ax_tensor *in = B(k, ax_mul, S(k, 0.7978845608028654), B(k, ax_add, x, B(k, ax_mul, x3, S(k, 0.044715))));
  return B(k, ax_mul, B(k, ax_mul, x, S(k, 0.5)), B(k, ax_add, U(k, ax_tanh, in), S(k, 1)));
}
static ax_tensor *a_relu(tmps *k, ax_tensor *x, double u) { (void)u; return U(k, ax_relu, x); }
static ax_tensor *a_sigmoid(tmps *k, ax_tensor *x, double u) { (void)u; return U(k, ax_sigmoid, x); }
static ax_tensor *a_tanh(tmps *k, ax_tensor *x, double u) { (void)u; return U(k, ax_tanh, x); }
static ax_tensor *a_silu(tmps *k, ax_tensor *x, double u) { (void)u; return U(k, ax_silu, x); }
static ax_tensor *a_softplus(tmps *k, ax_tensor *x, double u) { (void)u; return softplus(k, x); }

ax_status ax_nn_activation(ax_tensor *x, const char *name, double param, ax_tensor **out, ax_err *err) {
  tmps k = {0};
  ax_tensor *y = NULL;
  if (strcmp(name, "leaky_relu") == 0) y = a_leaky_relu(&k, x, param);
  else if (strcmp(name, "elu") == 0) y = a_elu(&k, x, param);
  else if (strcmp(name, "mish") == 0) y = a_mish(&k, x, 0);
  else if (strcmp(name, "hardsigmoid") == 0) y = a_hardsigmoid(&k, x, 0);
  else if (strcmp(name, "hardswish") == 0) y = a_hardswish(&k, x, 0);
  else if (strcmp(name, "gelu_tanh") == 0) y = a_gelu_tanh(&k, x);
  else if (strcmp(name, "softplus") == 0) y = softplus(&k, x);
  else return ax_err_set(err, AX_E_VALUE, "activation '%s' is not a composite activation", name);
  return tmps_result(&k, y, out, err);
}

static bool n_leaky_relu(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "leaky_relu", args, argc, kw, out, a_leaky_relu, "negative_slope", 0.01);
}
static bool n_elu(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "elu", args, argc, kw, out, a_elu, "alpha", 1.0);
}
static bool n_mish(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "mish", args, argc, kw, out, a_mish, NULL, 0);
}
static bool n_hardsigmoid(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "hardsigmoid", args, argc, kw, out, a_hardsigmoid, NULL, 0);
}
static bool n_hardswish(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "hardswish", args, argc, kw, out, a_hardswish, NULL, 0);
}
static bool n_relu(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "relu", args, argc, kw, out, a_relu, NULL, 0);
}
static bool n_sigmoid(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "sigmoid", args, argc, kw, out, a_sigmoid, NULL, 0);
}
static bool n_tanh(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "tanh", args, argc, kw, out, a_tanh, NULL, 0);
}
static bool n_silu(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "silu", args, argc, kw, out, a_silu, NULL, 0);
}
static bool n_softplus(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return activation(vm, "softplus", args, argc, kw, out, a_softplus, NULL, 0);
}

static bool n_gelu(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *x;
  ax_value v;
  if (!targ(vm, &k, "gelu", args, argc, 0, kw, "input", true, &x)) {
    tmps_free(&k);
    return false;
  }
  if (ax_kw_get(kw, "approximate", &v) && AX_IS_STRING(v) && strcmp(AX_AS_STRING(v)->chars, "tanh") == 0)
    return finish(vm, &k, a_gelu_tanh(&k, x), out);
  if (ax_kw_get(kw, "approximate", &v) && !(AX_IS_STRING(v) && strcmp(AX_AS_STRING(v)->chars, "none") == 0)) {
    tmps_free(&k);
    return ax_vm_raise(vm, "value", "gelu: approximate must be \"none\" or \"tanh\"");
  }
  return finish(vm, &k, U(&k, ax_gelu, x), out);
}

static bool softmax_like(ax_vm *vm, int log, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = log ? "log_softmax" : "softmax";
  tmps k = {0};
  ax_tensor *x;
  double dim = -1;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !num_opt(vm, fn, args, argc, 1, kw, "dim", &dim)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *r = NULL;
  k.st = log ? ax_log_softmax(x, (int64_t)dim, &r, &k.e) : ax_softmax(x, (int64_t)dim, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}
static bool n_softmax(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return softmax_like(vm, 0, args, argc, kw, out);
}
static bool n_log_softmax(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return softmax_like(vm, 1, args, argc, kw, out);
}

/* ---- losses ---- */

static bool pair_tensors(ax_vm *vm, tmps *k, const char *fn, ax_value *args, int argc, const ax_kw *kw, ax_tensor **a,
                         ax_tensor **b) {
  if (!targ(vm, k, fn, args, argc, 0, kw, "input", true, a) || !targ(vm, k, fn, args, argc, 1, kw, "target", true, b))
    return false;
  *a = AC_FP32(k, *a);   /* losses are on autocast's float32 list */
  *b = AC_FP32(k, *b);
  if (k->st) return ax_raise_rt(vm, k->st, &k->e);
  if (ax_dtype_is_float((*a)->dtype) && !ax_dtype_is_float((*b)->dtype)) *b = CAST(k, *b, (*a)->dtype);
  if ((*a)->ndim != (*b)->ndim || memcmp((*a)->shape, (*b)->shape, sizeof(int64_t) * (size_t)(*a)->ndim) != 0) {
    char sa[96], sb[96];
    return ax_vm_raise(vm, "shape", "%s: input %s and target %s must have the same shape", fn,
                       ax_shape_str((*a)->shape, (*a)->ndim, sa, sizeof sa), ax_shape_str((*b)->shape, (*b)->ndim, sb, sizeof sb));
  }
  return true;
}

static bool l_mse(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *a, *b;
  int red;
  if (!pair_tensors(vm, &k, "mse", args, argc, kw, &a, &b) || !reduction_kw(vm, "mse", kw, &red)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *d = B(&k, ax_sub, a, b);
  return finish(vm, &k, reduce(&k, B(&k, ax_mul, d, d), red), out);
}

static bool l_l1(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  /* l1(0.01) is the regularizer for train(regularize:), l1(input, target) the loss */
  if (argc == 1 && AX_IS_NUM(args[0]))
    return ax_make_regularizer(vm, "l1", AX_IS_INT(args[0]) ? (double)args[0].as.i : args[0].as.f, 0, out);
  tmps k = {0};
  ax_tensor *a, *b;
  int red;
  if (!pair_tensors(vm, &k, "l1", args, argc, kw, &a, &b) || !reduction_kw(vm, "l1", kw, &red)) {
    tmps_free(&k);
    return false;
  }
  return finish(vm, &k, reduce(&k, U(&k, ax_abs, B(&k, ax_sub, a, b)), red), out);
}

/* smooth_l1 (beta) and huber (delta): huber = delta * smooth_l1 with beta = delta. */
static bool smooth(ax_vm *vm, int huber, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = huber ? "huber" : "smooth_l1";
  tmps k = {0};
  ax_tensor *a, *b;
  int red;
  double beta = 1.0;
  if (!pair_tensors(vm, &k, fn, args, argc, kw, &a, &b) || !reduction_kw(vm, fn, kw, &red) ||
      !num_opt(vm, fn, args, argc, -1, kw, huber ? "delta" : "beta", &beta)) {
    tmps_free(&k);
    return false;
  }
  ax_tensor *d = U(&k, ax_abs, B(&k, ax_sub, a, b)), *l;
  if (huber) {
    /* 0.5 d^2 if d < delta else delta (d - 0.5 delta) */
    l = WHERE(&k, B(&k, ax_lt, d, S(&k, beta)), B(&k, ax_mul, B(&k, ax_mul, d, d), S(&k, 0.5)),
              B(&k, ax_mul, S(&k, beta), B(&k, ax_sub, d, S(&k, 0.5 * beta))));
  } else if (beta == 0) {
    l = d;
  } else {
    l = WHERE(&k, B(&k, ax_lt, d, S(&k, beta)), B(&k, ax_div, B(&k, ax_mul, B(&k, ax_mul, d, d), S(&k, 0.5)), S(&k, beta)),
              B(&k, ax_sub, d, S(&k, 0.5 * beta)));
  }
  return finish(vm, &k, reduce(&k, l, red), out);
}
static bool l_smooth_l1(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return smooth(vm, 0, args, argc, kw, out);
}
static bool l_huber(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return smooth(vm, 1, args, argc, kw, out);
}

static bool l_bce(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *p, *y, *w;
  int red;
  if (!pair_tensors(vm, &k, "bce", args, argc, kw, &p, &y) || !reduction_kw(vm, "bce", kw, &red) ||
      !targ(vm, &k, "bce", args, argc, 2, kw, "weight", false, &w)) {
    tmps_free(&k);
    return false;
  }
  /* -(y log p + (1 - y) log(1 - p)), logs clamped at -100 as PyTorch */
  ax_tensor *lp = CLAMP(&k, U(&k, ax_log, p), -100, 1, 0, 0);
  ax_tensor *l1p = CLAMP(&k, U(&k, ax_log, B(&k, ax_sub, S(&k, 1), p)), -100, 1, 0, 0);
  ax_tensor *l = U(&k, ax_neg, B(&k, ax_add, B(&k, ax_mul, y, lp), B(&k, ax_mul, B(&k, ax_sub, S(&k, 1), y), l1p)));
  if (w) l = B(&k, ax_mul, l, w);
  return finish(vm, &k, reduce(&k, l, red), out);
}

static bool l_bce_logits(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  tmps k = {0};
  ax_tensor *x, *y, *w, *pw;
  int red;
  if (!pair_tensors(vm, &k, "bce_logits", args, argc, kw, &x, &y) || !reduction_kw(vm, "bce_logits", kw, &red) ||
      !targ(vm, &k, "bce_logits", args, argc, 2, kw, "weight", false, &w) ||
      !targ(vm, &k, "bce_logits", args, argc, -1, kw, "pos_weight", false, &pw)) {
    tmps_free(&k);
    return false;
  }
  /* (1 - y) x + (1 + (pw - 1) y) softplus(-x), stable for any x */
  ax_tensor *sp = softplus(&k, U(&k, ax_neg, x));
  ax_tensor *coef = pw ? B(&k, ax_add, S(&k, 1), B(&k, ax_mul, B(&k, ax_sub, pw, S(&k, 1)), y)) : NULL;
  ax_tensor *l = B(&k, ax_add, B(&k, ax_mul, B(&k, ax_sub, S(&k, 1), y), x), coef ? B(&k, ax_mul, coef, sp) : sp);
  if (w) l = B(&k, ax_mul, l, w);
  return finish(vm, &k, reduce(&k, l, red), out);
}

/* Cross-entropy over logits [N, C] or [N, C, d1, ...] with class indices or class probabilities. */
ax_status ax_nn_cross_entropy(ax_tensor *logits, ax_tensor *target, ax_tensor *weight, int64_t ignore_index,
                              int red, double smoothing, int logits_are_logprobs, ax_tensor **out, ax_err *err) {
  tmps k = {0};
  if (logits->ndim < 1) return ax_err_set(err, AX_E_SHAPE, "cross_entropy: logits must have a class dimension");
  logits = AC_FP32(&k, logits);   /* autocast's float32 list (the fused row would cast too; nll would not) */
  if (k.st) return tmps_result(&k, NULL, out, err);
  /* Move the class dim last and flatten: [M, C]. */
  ax_tensor *x = logits;
  int64_t c = logits->ndim == 1 ? logits->shape[0] : logits->shape[1];
  if (logits->ndim == 1) {
    int64_t s[2] = {1, c};
    x = RESHAPE(&k, logits, s, 2);
  } else if (logits->ndim > 2) {
    int64_t perm[AX_MAX_DIMS];
    perm[0] = 0;
    for (int i = 2; i < logits->ndim; i++) perm[i - 1] = i;
    perm[logits->ndim - 1] = 1;
    ax_tensor *pm = NULL;
    k.st = ax_permute(logits, perm, logits->ndim, &pm, &k.e);
    keep(&k, pm);
    int64_t s[2] = {-1, c};
    x = RESHAPE(&k, pm, s, 2);
  }
  if (!k.st && !logits_are_logprobs && !ax_dtype_is_float(target->dtype) && target->dtype != AX_BOOL &&
      (!weight || (weight->ndim == 1 && weight->shape[0] == c))) {
    /* class indices: the fused softmax + cross-entropy row (one pass forward, one backward) */
    int64_t flat[1] = {-1};
    ax_tensor *tg = RESHAPE(&k, target, flat, 1), *r = NULL;
    if (!k.st && tg->shape[0] != x->shape[0]) {
      char a[96], b[96];
      tmps_free(&k);
      return ax_err_set(err, AX_E_SHAPE, "cross_entropy: target %s does not fit logits %s",
                        ax_shape_str(target->shape, target->ndim, a, sizeof a),
                        ax_shape_str(logits->shape, logits->ndim, b, sizeof b));
    }
    if (!k.st) {
      k.st = ax_cross_entropy(x, tg, weight, ignore_index, red, smoothing, &r, &k.e);
      keep(&k, r);
    }
    if (!k.st && red == 0 && logits->ndim != 2) r = RESHAPE(&k, r, target->shape, target->ndim);
    if (k.st) {
      if (err) *err = k.e;
      ax_status st = k.st;
      tmps_free(&k);
      return st;
    }
    *out = ax_tensor_retain(r);
    tmps_free(&k);
    return AX_OK;
  }
  ax_tensor *lsm = logits_are_logprobs ? x : LOGSM(&k, x, 1);
  if (weight && (weight->ndim != 1 || weight->shape[0] != c)) {
    tmps_free(&k);
    return ax_err_set(err, AX_E_SHAPE, "cross_entropy: weight must have %lld entries (one per class)", (long long)c);
  }
  ax_tensor *loss = NULL;
  if (!k.st && ax_dtype_is_float(target->dtype)) {
    /* probabilities: same shape as logits */
    if (target->ndim != logits->ndim || memcmp(target->shape, logits->shape, sizeof(int64_t) * (size_t)logits->ndim)) {
      char a[96], b[96];
      tmps_free(&k);
      return ax_err_set(err, AX_E_SHAPE, "cross_entropy: probability targets %s must match the logits %s",
                        ax_shape_str(target->shape, target->ndim, a, sizeof a),
                        ax_shape_str(logits->shape, logits->ndim, b, sizeof b));
    }
    ax_tensor *t = target;
    if (logits->ndim > 2) {
      int64_t perm[AX_MAX_DIMS];
      perm[0] = 0;
      for (int i = 2; i < logits->ndim; i++) perm[i - 1] = i;
      perm[logits->ndim - 1] = 1;
      ax_tensor *pm = NULL;
      if (!k.st) {
        k.st = ax_permute(target, perm, target->ndim, &pm, &k.e);
        keep(&k, pm);
      }
      int64_t s[2] = {-1, c};
      t = RESHAPE(&k, pm, s, 2);
    } else if (logits->ndim == 1) {
      int64_t s[2] = {1, c};
      t = RESHAPE(&k, target, s, 2);
    }
    t = CAST(&k, t, lsm->dtype);
    if (smoothing > 0) t = B(&k, ax_add, B(&k, ax_mul, t, S(&k, 1 - smoothing)), S(&k, smoothing / (double)c));
    ax_tensor *prod = B(&k, ax_mul, lsm, t);
    if (weight) prod = B(&k, ax_mul, prod, CAST(&k, weight, lsm->dtype));
    ax_tensor *per = U(&k, ax_neg, SUM(&k, prod, 1, 0));
    loss = red == 0 ? per : red == 1 ? MEAN(&k, per, ALL, 0) : SUM(&k, per, ALL, 0);
    if (red == 0 && logits->ndim != 2 && !k.st) {
      /* reduction "none" keeps the logits' shape without the class dim ([C] -> a scalar) */
      int64_t ks[AX_MAX_DIMS];
      int kn = 0;
      for (int i = 0; i < logits->ndim; i++)
        if (i != (logits->ndim == 1 ? 0 : 1)) ks[kn++] = logits->shape[i];
      loss = RESHAPE(&k, loss, ks, kn);
    }
  } else if (!k.st) {
    int64_t flat[1] = {-1};
    ax_tensor *tg = RESHAPE(&k, target, flat, 1);
    if (!k.st && tg->shape[0] != lsm->shape[0]) {
      char a[96], b[96];
      tmps_free(&k);
      return ax_err_set(err, AX_E_SHAPE, "cross_entropy: target %s does not fit logits %s",
                        ax_shape_str(target->shape, target->ndim, a, sizeof a),
                        ax_shape_str(logits->shape, logits->ndim, b, sizeof b));
    }
    tg = CAST(&k, tg, AX_INT64);
    ax_tensor *valid = B(&k, ax_ne, tg, SI(&k, ignore_index));
    ax_tensor *safe = WHERE(&k, valid, tg, SI(&k, 0));
    /* range check: any valid target outside [0, C) is an error, as in PyTorch */
    if (!k.st) {
      ax_tensor *bad = B(&k, ax_logical_and, valid,
                         B(&k, ax_logical_or, B(&k, ax_lt, safe, SI(&k, 0)), B(&k, ax_ge, safe, SI(&k, c))));
      ax_tensor *nb = SUM(&k, CAST(&k, bad, AX_INT64), ALL, 0);
      int64_t nbad = 0;
      if (!k.st) k.st = ax_item_i64(nb, &nbad, &k.e);
      if (!k.st && nbad) {
        tmps_free(&k);
        return ax_err_set(err, AX_E_INDEX, "cross_entropy: %lld target(s) outside the %lld classes [0, %lld)",
                          (long long)nbad, (long long)c, (long long)c);
      }
    }
    ax_tensor *picked = NULL;
    if (!k.st) {
      k.st = ax_gather(lsm, 1, UNSQ(&k, safe, 1), &picked, &k.e);
      keep(&k, picked);
    }
    int64_t flat1[1] = {-1};
    ax_tensor *nll = U(&k, ax_neg, RESHAPE(&k, picked, flat1, 1));
    ax_tensor *vf = CAST(&k, valid, lsm->dtype);
    ax_tensor *wi = vf;   /* per-sample weight: class weight of the target, 0 when ignored */
    if (weight && !k.st) {
      ax_tensor *wt = NULL;
      k.st = ax_index_select(CAST(&k, weight, lsm->dtype), 0, safe, &wt, &k.e);
      keep(&k, wt);
      wi = B(&k, ax_mul, wt, vf);
    }
    ax_tensor *per = B(&k, ax_mul, nll, wi);
    if (smoothing > 0) {
      ax_tensor *sm = weight ? B(&k, ax_mul, lsm, UNSQ(&k, CAST(&k, weight, lsm->dtype), 0)) : lsm;
      ax_tensor *smooth_per = B(&k, ax_mul, U(&k, ax_neg, SUM(&k, sm, 1, 0)), vf);
      per = B(&k, ax_add, B(&k, ax_mul, per, S(&k, 1 - smoothing)), B(&k, ax_mul, smooth_per, S(&k, smoothing / (double)c)));
    }
    if (red == 0) loss = per;
    else if (red == 2) loss = SUM(&k, per, ALL, 0);
    else loss = B(&k, ax_div, SUM(&k, per, ALL, 0), SUM(&k, wi, ALL, 0));
    if (red == 0 && logits->ndim != 2 && !k.st) {
      /* reduction "none" keeps the target's shape */
      loss = RESHAPE(&k, loss, target->shape, target->ndim);
    }
  }
  if (k.st) {
    if (err) *err = k.e;
    ax_status st = k.st;
    tmps_free(&k);
    return st;
  }
  *out = ax_tensor_retain(loss);
  tmps_free(&k);
  return AX_OK;
}

static bool ce_common(ax_vm *vm, const char *fn, int logprobs, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"weight", "ignore_index", "reduction", "label_smoothing", "input", "target", NULL};
  if (!ax_kw_check(vm, fn, kw, allowed)) return false;
  tmps k = {0};
  ax_tensor *x, *t, *w;
  int red;
  double ignore = -100, smoothing = 0;
  if (!targ(vm, &k, fn, args, argc, 0, kw, "input", true, &x) || !targ(vm, &k, fn, args, argc, 1, kw, "target", true, &t) ||
      !targ(vm, &k, fn, args, argc, 2, kw, "weight", false, &w) || !reduction_kw(vm, fn, kw, &red) ||
      !num_opt(vm, fn, args, argc, -1, kw, "ignore_index", &ignore) ||
      !num_opt(vm, fn, args, argc, -1, kw, "label_smoothing", &smoothing)) {
    tmps_free(&k);
    return false;
  }
  if (smoothing < 0 || smoothing > 1) {
    tmps_free(&k);
    return ax_vm_raise(vm, "value", "%s: label_smoothing must be in [0, 1], got %g", fn, smoothing);
  }
  ax_tensor *r = NULL;
  k.st = ax_nn_cross_entropy(x, t, w, (int64_t)ignore, red, smoothing, logprobs, &r, &k.e);
  return finish(vm, &k, keep(&k, r), out);
}
static bool l_cross_entropy(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ce_common(vm, "cross_entropy", 0, args, argc, kw, out);
}
static bool l_nll(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ce_common(vm, "nll", 1, args, argc, kw, out);
}

static bool n_param(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *x = NULL, *r = NULL;
  if (!ax_arg_count(vm, "nn.param", argc, 1, 1) || !ax_value_to_tensor(vm, "nn.param", args[0], AX_NDTYPES, &x))
    return false;
  ax_err e;
  ax_status st = AX_OK;
  if (!ax_dtype_is_float(x->dtype)) {
    ax_tensor *f = NULL;
    st = ax_cast(x, AX_FLOAT32, &f, &e);
    ax_tensor_release(x);
    x = f;
  }
  if (!st) st = ax_param(x, &r, &e);
  ax_tensor_release(x);
  if (st) return ax_raise_rt(vm, st, &e);
  return ax_push_tensor(vm, r, out);
}

/* nn.conv2d is the functional op when its first argument is a tensor, else the layer constructor. */
static bool n_conv2d(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (argc >= 1 && ax_value_tensor(args[0])) return n_conv2d_fn(vm, args, argc, kw, out);
  return ax_nn_layer_ctor(vm, "conv2d", args, argc, kw, out);
}

static const ax_native_reg nn_fns[] = {
  {"linear", n_linear, -1},
  {"conv2d", n_conv2d, -1},
  {"conv_transpose2d", n_conv_transpose2d, -1},
  {"conv1d", n_conv1d, -1},
  {"conv3d", n_conv3d, -1},
  {"xavier_uniform", n_xavier_uniform, -1},
  {"xavier_normal", n_xavier_normal, -1},
  {"kaiming_uniform", n_kaiming_uniform, -1},
  {"kaiming_normal", n_kaiming_normal, -1},
  {"calculate_gain", n_calculate_gain, -1},
  {"max_pool2d", n_max_pool2d, -1},
  {"avg_pool2d", n_avg_pool2d, -1},
  {"adaptive_avg_pool2d", n_adaptive_avg_pool2d, -1},
  {"batch_norm", n_batch_norm, -1},
  {"layer_norm", n_layer_norm, -1},
  {"group_norm", n_group_norm, -1},
  {"instance_norm", n_instance_norm, -1},
  {"rms_norm", n_rms_norm, -1},
  {"dropout", n_dropout, -1},
  {"embedding", n_embedding, -1},
  {"attention", n_attention, -1},
  {"scaled_dot_product_attention", n_attention, -1},
  {"positional_encoding", n_positional_encoding, -1},
  {"rotary", n_rotary, -1},
  {"causal_mask", n_causal_mask, -1},
  {"one_hot", n_one_hot, -1},
  {"relu", n_relu, -1},
  {"leaky_relu", n_leaky_relu, -1},
  {"elu", n_elu, -1},
  {"gelu", n_gelu, -1},
  {"silu", n_silu, -1},
  {"mish", n_mish, -1},
  {"sigmoid", n_sigmoid, -1},
  {"tanh", n_tanh, -1},
  {"softplus", n_softplus, -1},
  {"softmax", n_softmax, -1},
  {"log_softmax", n_log_softmax, -1},
  {"hardsigmoid", n_hardsigmoid, -1},
  {"hardswish", n_hardswish, -1},
  {"param", n_param, -1},
  {"mse", l_mse, -1},
  {"l1", l_l1, -1},
  {"mae", l_l1, -1},
  {"smooth_l1", l_smooth_l1, -1},
  {"huber", l_huber, -1},
  {"bce", l_bce, -1},
  {"binary_crossentropy", l_bce, -1},
  {"bce_logits", l_bce_logits, -1},
  {"cross_entropy", l_cross_entropy, -1},
  {"categorical_crossentropy", l_cross_entropy, -1},
  {"sparse_categorical_crossentropy", l_cross_entropy, -1},
  {"nll", l_nll, -1},
  {NULL, NULL, 0},
};

/* Losses, the extra activations and causal_mask are in the prelude too (the same natives as nn.*). */
static const char *const nn_prelude_names[] = {
  "mse", "l1", "mae", "smooth_l1", "huber", "bce", "binary_crossentropy", "bce_logits", "cross_entropy",
  "categorical_crossentropy", "sparse_categorical_crossentropy", "nll", "leaky_relu", "elu", "mish",
  "hardsigmoid", "hardswish", "softplus", "causal_mask", "gelu", NULL};

static bool register_prelude(ax_vm *vm) {
  for (const char *const *n = nn_prelude_names; *n; n++)
    for (const ax_native_reg *r = nn_fns; r->name; r++)
      if (!strcmp(r->name, *n) && !ax_vm_register_global(vm, r->name, r->fn, r->arity)) return false;
  return true;
}

static bool nn_init(ax_vm *vm, ax_module *m) {
  for (const ax_native_reg *r = nn_fns; r->name; r++)
    if (!ax_module_set_native(vm, m, r->name, r->fn, r->arity)) return false;
  return ax_net_nn_init(vm, m);
}

bool ax_lib_nn_open(ax_vm *vm) {
  return ax_vm_register_module_lazy(vm, "nn", nn_init) && register_prelude(vm) &&
         ax_lib_net_open(vm);
}
