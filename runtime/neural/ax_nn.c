/* runtime/neural/ax_nn.c — the neural rows: front ends (ax_nn.h), their CPU kernels over the raw
** kernels of ax_nn_kernels.h, and backward rules that call the *_backward rows.
** Invariant: kernels read contiguous copies of their inputs (made with grad mode off) and write
** fresh outputs; only batch_norm (its running statistics) and the optimizer *_step rows (parameter
** and state) write inputs, and never record that. */
#include <math.h>
#include <string.h>

#include "ax_nn.h"
#include "ax_nn_dispatch.h"
#include "ax_nn_kernels.h"

/* ---- helpers ---- */

#define F32(t) ((float *)(t)->storage->data + (t)->offset)
#define F64(t) ((double *)(t)->storage->data + (t)->offset)
#define PTR(t, f64) ((t) ? ((f64) ? (void *)F64(t) : (void *)F32(t)) : NULL)

typedef struct {
  ax_tensor *t[8];
  int n;
} holds;

static void holds_free(holds *h) {
  for (int i = 0; i < h->n; i++) ax_tensor_release(h->t[i]);
  h->n = 0;
}

/* Contiguous CPU copy (or x itself, retained) kept in h; grad mode off so no tape is recorded. */
static ax_status contig(holds *h, ax_tensor *x, ax_tensor **out, ax_err *err) {
  if (!x) {
    *out = NULL;
    return AX_OK;
  }
  if (x->storage->device.type != AX_DEV_CPU) return ax_err_set(err, AX_E_DEVICE, "neural op: cpu kernel got a non-cpu tensor");
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);
  ax_status st = ax_contiguous(x, out, err);
  ax_set_grad_enabled(was);
  if (!st) h->t[h->n++] = *out;
  return st;
}

static ax_status float_inputs(const char *op, ax_tensor *const *in, int nin, int *f64, ax_err *err) {
  ax_dtype dt = in[0]->dtype;
  if (dt != AX_FLOAT32 && dt != AX_FLOAT64)
    return ax_err_set(err, AX_E_DTYPE, "%s: input must be float32 or float64, got %s", op, ax_dtype_name(dt));
  for (int i = 1; i < nin; i++)
    if (in[i] && in[i]->dtype != dt && (in[i]->dtype == AX_FLOAT32 || in[i]->dtype == AX_FLOAT64))
      return ax_err_set(err, AX_E_DTYPE, "%s: input is %s but argument %d is %s", op, ax_dtype_name(dt), i + 1,
                        ax_dtype_name(in[i]->dtype));
  *f64 = dt == AX_FLOAT64;
  return AX_OK;
}

static ax_status empty(const int64_t *shape, int nd, ax_dtype dt, ax_tensor **out, ax_err *err) {
  return ax_tensor_empty(shape, nd, dt, AX_CPU, out, err);
}

static void release_outs(ax_tensor **out, int n) {
  for (int i = 0; i < n; i++) {
    ax_tensor_release(out[i]);
    out[i] = NULL;
  }
}

/* ---- conv2d ---- */

/* attrs: iv[0..1] stride, iv[2..5] pad top/left/bottom/right, iv[6..7] dilation, iv[8] groups,
** iv[9..10] output padding (transpose), iv[12] backward mask (1 dx, 2 dw, 4 db). */
static ax_status conv_desc(const char *op, const ax_tensor *x, const ax_tensor *w, const ax_tensor *b,
                           const ax_attrs *at, int transpose, ax_nn_conv2d_desc *d, ax_nn_conv_transpose2d_desc *t,
                           ax_err *err) {
  char sx[96], sw[96];
  if (x->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "%s: input must be [N, C, H, W], got %s", op, ax_shape_str(x->shape, x->ndim, sx, sizeof sx));
  if (w->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "%s: weight must be 4-d, got %s", op, ax_shape_str(w->shape, w->ndim, sw, sizeof sw));
  int64_t groups = at->iv[8] > 0 ? at->iv[8] : 1;
  int64_t cin = x->shape[1];
  int64_t cout = transpose ? w->shape[1] * groups : w->shape[0];
  int64_t win = transpose ? w->shape[0] : w->shape[1] * groups;
  if (cin != win)
    return ax_err_set(err, AX_E_SHAPE, "%s: input has %lld channels, weight %s expects %lld", op, (long long)cin,
                      ax_shape_str(w->shape, w->ndim, sw, sizeof sw), (long long)win);
  if (cout % groups || cin % groups)
    return ax_err_set(err, AX_E_SHAPE, "%s: %lld input and %lld output channels are not divisible into %lld groups", op,
                      (long long)cin, (long long)cout, (long long)groups);
  if (b && (b->ndim != 1 || b->shape[0] != cout))
    return ax_err_set(err, AX_E_SHAPE, "%s: bias must be [%lld], got %s", op, (long long)cout, ax_shape_str(b->shape, b->ndim, sx, sizeof sx));
  for (int i = 0; i < 2; i++)
    if (at->iv[i] < 1 || at->iv[6 + i] < 1 || at->iv[2 + i] < 0 || at->iv[4 + i] < 0)
      return ax_err_set(err, AX_E_VALUE, "%s: stride and dilation must be >= 1 and padding >= 0", op);
  if (!transpose) {
    *d = (ax_nn_conv2d_desc){x->shape[0], cin, x->shape[2], x->shape[3], cout, w->shape[2], w->shape[3],
                             at->iv[0], at->iv[1], at->iv[2], at->iv[3], at->iv[4], at->iv[5], at->iv[6], at->iv[7], groups};
  } else {
    *t = (ax_nn_conv_transpose2d_desc){x->shape[0], cin, x->shape[2], x->shape[3], cout, w->shape[2], w->shape[3],
                                       at->iv[0], at->iv[1], at->iv[2], at->iv[3], at->iv[4], at->iv[5], at->iv[9],
                                       at->iv[10], at->iv[6], at->iv[7], groups};
  }
  return AX_OK;
}

static ax_status conv_fwd(int transpose, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const char *op = transpose ? "conv_transpose2d" : "conv2d";
  if (nin < 2 || nin > 3) return ax_err_set(err, AX_E_VALUE, "%s: expects input, weight and an optional bias", op);
  int f64;
  ax_status st = float_inputs(op, in, nin, &f64, err);
  if (st) return st;
  ax_nn_conv2d_desc d;
  ax_nn_conv_transpose2d_desc t;
  ax_tensor *b = nin > 2 ? in[2] : NULL;
  if ((st = conv_desc(op, in[0], in[1], b, at, transpose, &d, &t, err))) return st;
  int64_t oh, ow;
  st = transpose ? ax_nn_conv_transpose2d_out_size(&t, &oh, &ow, err) : ax_nn_conv2d_out_size(&d, &oh, &ow, err);
  if (st) return st;
  holds h = {{0}, 0};
  ax_tensor *x, *w, *bc = NULL;
  if ((st = contig(&h, in[0], &x, err)) || (st = contig(&h, in[1], &w, err)) || (st = contig(&h, b, &bc, err))) goto done;
  int64_t shape[4] = {in[0]->shape[0], transpose ? t.c_out : d.c_out, oh, ow};
  if ((st = empty(shape, 4, in[0]->dtype, &out[0], err))) goto done;
  if (transpose)
    st = f64 ? ax_nn_conv_transpose2d_fwd_f64(&t, F64(x), F64(w), PTR(bc, 1), F64(out[0]), err)
             : ax_nn_conv_transpose2d_fwd_f32(&t, F32(x), F32(w), PTR(bc, 0), F32(out[0]), err);
  else
    st = f64 ? ax_nn_conv2d_fwd_f64(&d, F64(x), F64(w), PTR(bc, 1), F64(out[0]), err)
             : ax_nn_conv2d_fwd_f32(&d, F32(x), F32(w), PTR(bc, 0), F32(out[0]), err);
done:
  if (st) release_outs(out, 1);
  holds_free(&h);
  return st;
}

ax_status ax_nn_k_conv2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return conv_fwd(0, in, nin, at, out, err);
}
ax_status ax_nn_k_convt2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return conv_fwd(1, in, nin, at, out, err);
}

/* in: x, w, dy -> out: dx, dw, db (per mask iv[12]) */
static ax_status conv_bwd(int transpose, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const char *op = transpose ? "conv_transpose2d_backward" : "conv2d_backward";
  int f64;
  ax_status st = float_inputs(op, in, nin, &f64, err);
  if (st) return st;
  ax_nn_conv2d_desc d;
  ax_nn_conv_transpose2d_desc t;
  if ((st = conv_desc(op, in[0], in[1], NULL, at, transpose, &d, &t, err))) return st;
  int mask = (int)at->iv[12];
  holds h = {{0}, 0};
  ax_tensor *x, *w, *dy;
  if ((st = contig(&h, in[0], &x, err)) || (st = contig(&h, in[1], &w, err)) || (st = contig(&h, in[2], &dy, err))) goto done;
  ax_dtype dt = in[0]->dtype;
  int64_t cout = transpose ? t.c_out : d.c_out, bs[1] = {cout};
  if ((mask & 1) && (st = empty(in[0]->shape, 4, dt, &out[0], err))) goto done;
  if ((mask & 2) && (st = empty(in[1]->shape, 4, dt, &out[1], err))) goto done;
  if ((mask & 4) && (st = empty(bs, 1, dt, &out[2], err))) goto done;
  if (transpose)
    st = f64 ? ax_nn_conv_transpose2d_bwd_f64(&t, F64(x), F64(w), F64(dy), PTR(out[0], 1), PTR(out[1], 1), PTR(out[2], 1), err)
             : ax_nn_conv_transpose2d_bwd_f32(&t, F32(x), F32(w), F32(dy), PTR(out[0], 0), PTR(out[1], 0), PTR(out[2], 0), err);
  else
    st = f64 ? ax_nn_conv2d_bwd_f64(&d, F64(x), F64(w), F64(dy), PTR(out[0], 1), PTR(out[1], 1), PTR(out[2], 1), err)
             : ax_nn_conv2d_bwd_f32(&d, F32(x), F32(w), F32(dy), PTR(out[0], 0), PTR(out[1], 0), PTR(out[2], 0), err);
done:
  if (st) release_outs(out, 3);
  holds_free(&h);
  return st;
}

ax_status ax_nn_k_conv2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return conv_bwd(0, in, nin, at, out, err);
}
ax_status ax_nn_k_convt2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return conv_bwd(1, in, nin, at, out, err);
}

/* ---- pooling ---- */

/* attrs: iv[0..1] kernel, iv[2..3] stride, iv[4..5] pad, iv[6..7] dilation, iv[8] ceil_mode,
** iv[9] count_include_pad, iv[10..11] input H, W (backward rows), iv[13] max: no indices wanted. */
static ax_status pool_desc(const char *op, int64_t n, int64_t c, int64_t h, int64_t w, const ax_attrs *at,
                           ax_nn_pool2d_desc *d, ax_err *err) {
  *d = (ax_nn_pool2d_desc){n, c, h, w, at->iv[0], at->iv[1], at->iv[2], at->iv[3], at->iv[4], at->iv[5],
                           at->iv[6] ? at->iv[6] : 1, at->iv[7] ? at->iv[7] : 1, (int)at->iv[8], (int)at->iv[9]};
  if (d->kh < 1 || d->kw < 1 || d->stride_h < 1 || d->stride_w < 1)
    return ax_err_set(err, AX_E_VALUE, "%s: kernel size and stride must be >= 1", op);
  return AX_OK;
}

static ax_status pool_fwd(int is_max, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const char *op = is_max ? "max_pool2d" : "avg_pool2d";
  int f64;
  char sx[96];
  ax_status st = float_inputs(op, in, nin, &f64, err);
  if (st) return st;
  ax_tensor *x0 = in[0];
  if (x0->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "%s: input must be [N, C, H, W], got %s", op, ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  ax_nn_pool2d_desc d;
  if ((st = pool_desc(op, x0->shape[0], x0->shape[1], x0->shape[2], x0->shape[3], at, &d, err))) return st;
  int64_t oh, ow;
  if ((st = ax_nn_pool2d_out_size(&d, &oh, &ow, err))) return st;
  holds h = {{0}, 0};
  ax_tensor *x;
  if ((st = contig(&h, x0, &x, err))) goto done;
  int64_t shape[4] = {d.n, d.c, oh, ow};
  if ((st = empty(shape, 4, x0->dtype, &out[0], err))) goto done;
  if (is_max) {
    /* iv[13]: nobody will read the indices (no gradient will be recorded, ax_max_pool2d): an
    ** evaluation pass then does not hold an int64 index per output, twice the output's bytes */
    int64_t *idx = NULL;
    if (!at->iv[13]) {
      if ((st = empty(shape, 4, AX_INT64, &out[1], err))) goto done;
      idx = (int64_t *)out[1]->storage->data + out[1]->offset;
    }
    st = f64 ? ax_nn_max_pool2d_fwd_f64(&d, F64(x), F64(out[0]), idx, err) : ax_nn_max_pool2d_fwd_f32(&d, F32(x), F32(out[0]), idx, err);
  } else {
    st = f64 ? ax_nn_avg_pool2d_fwd_f64(&d, F64(x), F64(out[0]), err) : ax_nn_avg_pool2d_fwd_f32(&d, F32(x), F32(out[0]), err);
  }
done:
  if (st) release_outs(out, is_max ? 2 : 1);
  holds_free(&h);
  return st;
}

ax_status ax_nn_k_max_pool2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return pool_fwd(1, in, nin, at, out, err);
}
ax_status ax_nn_k_avg_pool2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return pool_fwd(0, in, nin, at, out, err);
}

/* in: dy [, indices] -> dx [N, C, H, W] with H, W from iv[10..11] */
static ax_status pool_bwd(int is_max, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  const char *op = is_max ? "max_pool2d_backward" : "avg_pool2d_backward";
  int f64;
  ax_status st = float_inputs(op, in, 1, &f64, err);
  if (st) return st;
  ax_tensor *dy0 = in[0];
  if (dy0->ndim != 4) return ax_err_set(err, AX_E_SHAPE, "%s: gradient must be 4-d", op);
  ax_nn_pool2d_desc d;
  if ((st = pool_desc(op, dy0->shape[0], dy0->shape[1], at->iv[10], at->iv[11], at, &d, err))) return st;
  holds h = {{0}, 0};
  ax_tensor *dy, *idx = NULL;
  if ((st = contig(&h, dy0, &dy, err)) || (is_max && (st = contig(&h, in[1], &idx, err)))) goto done;
  int64_t shape[4] = {d.n, d.c, d.h, d.w};
  if ((st = empty(shape, 4, dy0->dtype, &out[0], err))) goto done;
  if (is_max) {
    const int64_t *ip = (const int64_t *)idx->storage->data + idx->offset;
    st = f64 ? ax_nn_max_pool2d_bwd_f64(&d, F64(dy), ip, F64(out[0]), err) : ax_nn_max_pool2d_bwd_f32(&d, F32(dy), ip, F32(out[0]), err);
  } else {
    st = f64 ? ax_nn_avg_pool2d_bwd_f64(&d, F64(dy), F64(out[0]), err) : ax_nn_avg_pool2d_bwd_f32(&d, F32(dy), F32(out[0]), err);
  }
done:
  if (st) release_outs(out, 1);
  holds_free(&h);
  return st;
}

ax_status ax_nn_k_max_pool2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return pool_bwd(1, in, nin, at, out, err);
}
ax_status ax_nn_k_avg_pool2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return pool_bwd(0, in, nin, at, out, err);
}

/* attrs: iv[0..1] output size, iv[2..3] input H, W (backward) */
ax_status ax_nn_k_adaptive_pool(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  char sx[96];
  ax_status st = float_inputs("adaptive_avg_pool2d", in, nin, &f64, err);
  if (st) return st;
  ax_tensor *x0 = in[0];
  if (x0->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "adaptive_avg_pool2d: input must be [N, C, H, W], got %s", ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  if (at->iv[0] < 1 || at->iv[1] < 1) return ax_err_set(err, AX_E_VALUE, "adaptive_avg_pool2d: output size must be >= 1");
  holds h = {{0}, 0};
  ax_tensor *x;
  if ((st = contig(&h, x0, &x, err))) goto done;
  int64_t shape[4] = {x0->shape[0], x0->shape[1], at->iv[0], at->iv[1]};
  if ((st = empty(shape, 4, x0->dtype, &out[0], err))) goto done;
  st = f64 ? ax_nn_adaptive_avg_pool2d_fwd_f64(shape[0], shape[1], x0->shape[2], x0->shape[3], shape[2], shape[3], F64(x), F64(out[0]), err)
           : ax_nn_adaptive_avg_pool2d_fwd_f32(shape[0], shape[1], x0->shape[2], x0->shape[3], shape[2], shape[3], F32(x), F32(out[0]), err);
done:
  if (st) release_outs(out, 1);
  holds_free(&h);
  return st;
}

ax_status ax_nn_k_adaptive_pool_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  ax_status st = float_inputs("adaptive_avg_pool2d_backward", in, nin, &f64, err);
  if (st) return st;
  ax_tensor *dy0 = in[0];
  holds h = {{0}, 0};
  ax_tensor *dy;
  if ((st = contig(&h, dy0, &dy, err))) goto done;
  int64_t shape[4] = {dy0->shape[0], dy0->shape[1], at->iv[2], at->iv[3]};
  if ((st = empty(shape, 4, dy0->dtype, &out[0], err))) goto done;
  st = f64 ? ax_nn_adaptive_avg_pool2d_bwd_f64(shape[0], shape[1], shape[2], shape[3], dy0->shape[2], dy0->shape[3], F64(dy), F64(out[0]), err)
           : ax_nn_adaptive_avg_pool2d_bwd_f32(shape[0], shape[1], shape[2], shape[3], dy0->shape[2], dy0->shape[3], F32(dy), F32(out[0]), err);
done:
  if (st) release_outs(out, 1);
  holds_free(&h);
  return st;
}

/* ---- batch norm ---- */

/* attrs: iv[0] training, iv[1] update running statistics, fv[0] eps, fv[1] momentum.
** in: x [N, C, ...], w [C], b [C], running_mean [C], running_var [C]. */
ax_status ax_nn_k_batch_norm(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  char sx[96];
  ax_status st = float_inputs("batch_norm", in, nin, &f64, err);
  if (st) return st;
  ax_tensor *x0 = in[0];
  if (x0->ndim < 2)
    return ax_err_set(err, AX_E_SHAPE, "batch_norm: input must have a channel dim [N, C, ...], got %s", ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  int64_t n = x0->shape[0], c = x0->shape[1], hw = 1;
  for (int i = 2; i < x0->ndim; i++) hw *= x0->shape[i];
  for (int i = 1; i < 5; i++)
    if (in[i]->ndim != 1 || in[i]->shape[0] != c)
      return ax_err_set(err, AX_E_SHAPE, "batch_norm: input has %lld channels but a parameter has shape %s", (long long)c,
                        ax_shape_str(in[i]->shape, in[i]->ndim, sx, sizeof sx));
  int training = (int)at->iv[0], update = (int)at->iv[1];
  if (training && n * hw <= 1)
    return ax_err_set(err, AX_E_VALUE, "batch_norm: training needs more than one value per channel, got input %s",
                      ax_shape_str(x0->shape, x0->ndim, sx, sizeof sx));
  if (update && (!ax_is_contiguous(in[3]) || !ax_is_contiguous(in[4]) || in[3]->dtype != x0->dtype || in[4]->dtype != x0->dtype))
    return ax_err_set(err, AX_E_VALUE, "batch_norm: running statistics must be contiguous %s tensors", ax_dtype_name(x0->dtype));
  holds h = {{0}, 0};
  ax_tensor *x, *w, *b, *rm, *rv;
  if ((st = contig(&h, x0, &x, err)) || (st = contig(&h, in[1], &w, err)) || (st = contig(&h, in[2], &b, err))) goto done;
  rm = in[3];
  rv = in[4];
  if (!update || !training) {
    if ((st = contig(&h, in[3], &rm, err)) || (st = contig(&h, in[4], &rv, err))) goto done;
  }
  int64_t cs[1] = {c};
  if ((st = empty(x0->shape, x0->ndim, x0->dtype, &out[0], err))) goto done;
  if (training) {
    if ((st = empty(cs, 1, x0->dtype, &out[1], err)) || (st = empty(cs, 1, x0->dtype, &out[2], err))) goto done;
    st = f64 ? ax_nn_batch_norm_fwd_train_f64(n, c, hw, F64(x), F64(w), F64(b), at->fv[0], at->fv[1], update ? F64(rm) : NULL,
                                              update ? F64(rv) : NULL, F64(out[0]), F64(out[1]), F64(out[2]), err)
             : ax_nn_batch_norm_fwd_train_f32(n, c, hw, F32(x), F32(w), F32(b), at->fv[0], at->fv[1], update ? F32(rm) : NULL,
                                              update ? F32(rv) : NULL, F32(out[0]), F32(out[1]), F32(out[2]), err);
  } else {
    st = f64 ? ax_nn_batch_norm_fwd_eval_f64(n, c, hw, F64(x), F64(w), F64(b), F64(rm), F64(rv), at->fv[0], F64(out[0]), err)
             : ax_nn_batch_norm_fwd_eval_f32(n, c, hw, F32(x), F32(w), F32(b), F32(rm), F32(rv), at->fv[0], F32(out[0]), err);
  }
done:
  if (st) release_outs(out, 3);
  holds_free(&h);
  return st;
}

/* in: x, dy, w, s1, s2 (training: saved mean/rstd; eval: running mean/var) -> dx, dw, db */
ax_status ax_nn_k_batch_norm_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  ax_status st = float_inputs("batch_norm_backward", in, nin, &f64, err);
  if (st) return st;
  ax_tensor *x0 = in[0];
  int64_t n = x0->shape[0], c = x0->shape[1], hw = 1, cs[1] = {c};
  for (int i = 2; i < x0->ndim; i++) hw *= x0->shape[i];
  holds h = {{0}, 0};
  ax_tensor *x, *dy, *w, *s1, *s2;
  if ((st = contig(&h, x0, &x, err)) || (st = contig(&h, in[1], &dy, err)) || (st = contig(&h, in[2], &w, err)) ||
      (st = contig(&h, in[3], &s1, err)) || (st = contig(&h, in[4], &s2, err)))
    goto done;
  if ((st = empty(x0->shape, x0->ndim, x0->dtype, &out[0], err)) || (st = empty(cs, 1, x0->dtype, &out[1], err)) ||
      (st = empty(cs, 1, x0->dtype, &out[2], err)))
    goto done;
  if (at->iv[0])
    st = f64 ? ax_nn_batch_norm_bwd_f64(n, c, hw, F64(x), F64(dy), F64(w), F64(s1), F64(s2), F64(out[0]), F64(out[1]), F64(out[2]), err)
             : ax_nn_batch_norm_bwd_f32(n, c, hw, F32(x), F32(dy), F32(w), F32(s1), F32(s2), F32(out[0]), F32(out[1]), F32(out[2]), err);
  else
    st = f64 ? ax_nn_batch_norm_bwd_eval_f64(n, c, hw, F64(x), F64(dy), F64(w), F64(s1), F64(s2), at->fv[0], F64(out[0]),
                                             F64(out[1]), F64(out[2]), err)
             : ax_nn_batch_norm_bwd_eval_f32(n, c, hw, F32(x), F32(dy), F32(w), F32(s1), F32(s2), at->fv[0], F32(out[0]),
                                             F32(out[1]), F32(out[2]), err);
done:
  if (st) release_outs(out, 3);
  holds_free(&h);
  return st;
}

/* ---- layer norm over the last iv[0] dims, fv[0] eps ---- */

static ax_status ln_sizes(const ax_tensor *x, const ax_tensor *w, int nd, int64_t *m, int64_t *d, ax_err *err) {
  char sx[96], sw[96];
  if (nd < 1 || nd > x->ndim)
    return ax_err_set(err, AX_E_SHAPE, "layer_norm: cannot normalise %d dims of %s", nd, ax_shape_str(x->shape, x->ndim, sx, sizeof sx));
  *d = 1;
  for (int i = x->ndim - nd; i < x->ndim; i++) *d *= x->shape[i];
  *m = *d ? ax_numel(x) / *d : 0;
  if (ax_numel(w) != *d)
    return ax_err_set(err, AX_E_SHAPE, "layer_norm: weight %s does not match the normalised shape of input %s",
                      ax_shape_str(w->shape, w->ndim, sw, sizeof sw), ax_shape_str(x->shape, x->ndim, sx, sizeof sx));
  return AX_OK;
}

ax_status ax_nn_k_layer_norm(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  ax_status st = float_inputs("layer_norm", in, nin, &f64, err);
  if (st) return st;
  int64_t m, d;
  if ((st = ln_sizes(in[0], in[1], (int)at->iv[0], &m, &d, err))) return st;
  holds h = {{0}, 0};
  ax_tensor *x, *w, *b;
  if ((st = contig(&h, in[0], &x, err)) || (st = contig(&h, in[1], &w, err)) || (st = contig(&h, in[2], &b, err))) goto done;
  int64_t ms[1] = {m};
  if ((st = empty(in[0]->shape, in[0]->ndim, in[0]->dtype, &out[0], err)) || (st = empty(ms, 1, in[0]->dtype, &out[1], err)) ||
      (st = empty(ms, 1, in[0]->dtype, &out[2], err)))
    goto done;
  st = f64 ? ax_nn_layer_norm_fwd_f64(m, d, F64(x), F64(w), F64(b), at->fv[0], F64(out[0]), F64(out[1]), F64(out[2]), err)
           : ax_nn_layer_norm_fwd_f32(m, d, F32(x), F32(w), F32(b), at->fv[0], F32(out[0]), F32(out[1]), F32(out[2]), err);
done:
  if (st) release_outs(out, 3);
  holds_free(&h);
  return st;
}

/* activation_backward: dx = dy * f'(x) in one pass (raw kernel: activation.c) */
ax_status ax_nn_k_act_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  (void)nin;
  int f64;
  ax_status st = float_inputs("activation_backward", in, 2, &f64, err);
  if (st) return st;
  ax_tensor *x = in[0], *dy = in[1];
  if (x->ndim != dy->ndim || memcmp(x->shape, dy->shape, sizeof(int64_t) * (size_t)x->ndim) || x->dtype != dy->dtype)
    return ax_err_set(err, AX_E_SHAPE, "activation_backward: x and dy must have the same shape and dtype");
  if (at->iv[0] < 0 || at->iv[0] > 2) return ax_err_set(err, AX_E_VALUE, "activation_backward: unknown activation %lld", (long long)at->iv[0]);
  holds h = {0};
  ax_tensor *xc, *dyc;
  if ((st = contig(&h, x, &xc, err)) || (st = contig(&h, dy, &dyc, err)) || (st = empty(x->shape, x->ndim, x->dtype, &out[0], err))) {
    holds_free(&h);
    return st;
  }
  int64_t n = 1;
  for (int i = 0; i < x->ndim; i++) n *= x->shape[i];
  if (f64) ax_nn_act_bwd_f64((int)at->iv[0], n, F64(xc), F64(dyc), F64(out[0]));
  else ax_nn_act_bwd_f32((int)at->iv[0], n, F32(xc), F32(dyc), F32(out[0]));
  holds_free(&h);
  return AX_OK;
}

ax_status ax_nn_k_layer_norm_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  ax_status st = float_inputs("layer_norm_backward", in, nin, &f64, err);
  if (st) return st;
  int64_t m, d;
  if ((st = ln_sizes(in[0], in[2], (int)at->iv[0], &m, &d, err))) return st;
  holds h = {{0}, 0};
  ax_tensor *x, *dy, *w, *mean, *rstd;
  if ((st = contig(&h, in[0], &x, err)) || (st = contig(&h, in[1], &dy, err)) || (st = contig(&h, in[2], &w, err)) ||
      (st = contig(&h, in[3], &mean, err)) || (st = contig(&h, in[4], &rstd, err)))
    goto done;
  if ((st = empty(in[0]->shape, in[0]->ndim, in[0]->dtype, &out[0], err)) ||
      (st = empty(in[2]->shape, in[2]->ndim, in[0]->dtype, &out[1], err)) ||
      (st = empty(in[2]->shape, in[2]->ndim, in[0]->dtype, &out[2], err)))
    goto done;
  st = f64 ? ax_nn_layer_norm_bwd_f64(m, d, F64(x), F64(dy), F64(w), F64(mean), F64(rstd), F64(out[0]), F64(out[1]), F64(out[2]), err)
           : ax_nn_layer_norm_bwd_f32(m, d, F32(x), F32(dy), F32(w), F32(mean), F32(rstd), F32(out[0]), F32(out[1]), F32(out[2]), err);
done:
  if (st) release_outs(out, 3);
  holds_free(&h);
  return st;
}


/* ---- fused cross-entropy: iv[0] ignore_index, iv[1] reduction, fv[0] label smoothing ---- */

static ax_status ce_check(const char *op, ax_tensor *x, ax_tensor *t, ax_tensor *w, ax_err *err) {
  char a[96], b[96];
  if (x->ndim != 2) return ax_err_set(err, AX_E_SHAPE, "%s: logits must be [N, C], got %s", op, ax_shape_str(x->shape, x->ndim, a, sizeof a));
  if (t->dtype != AX_INT64 || t->ndim != 1 || t->shape[0] != x->shape[0])
    return ax_err_set(err, AX_E_SHAPE, "%s: target must be int64 [%lld], got %s %s", op, (long long)x->shape[0],
                      ax_dtype_name(t->dtype), ax_shape_str(t->shape, t->ndim, b, sizeof b));
  if (w && (w->ndim != 1 || w->shape[0] != x->shape[1]))
    return ax_err_set(err, AX_E_SHAPE, "%s: weight must have %lld entries (one per class)", op, (long long)x->shape[1]);
  return AX_OK;
}

ax_status ax_nn_k_cross_entropy(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 2 || nin > 3) return ax_err_set(err, AX_E_VALUE, "cross_entropy: expects logits, target and an optional weight");
  int f64;
  ax_tensor *fl[2] = {in[0], nin > 2 ? in[2] : NULL};
  ax_status st = float_inputs("cross_entropy", fl, nin > 2 ? 2 : 1, &f64, err);
  if (st || (st = ce_check("cross_entropy", in[0], in[1], nin > 2 ? in[2] : NULL, err))) return st;
  int64_t n = in[0]->shape[0], c = in[0]->shape[1], ns[1] = {n};
  holds h = {{0}, 0};
  ax_tensor *x, *t, *w = NULL;
  if ((st = contig(&h, in[0], &x, err)) || (st = contig(&h, in[1], &t, err)) || (nin > 2 && (st = contig(&h, in[2], &w, err))))
    goto done;
  ax_nn_reduction red = (ax_nn_reduction)at->iv[1];
  if ((st = empty(ns, red == AX_NN_REDUCE_NONE ? 1 : 0, in[0]->dtype, &out[0], err)) || (st = empty(ns, 1, in[0]->dtype, &out[1], err)))
    goto done;
  const int64_t *tp = (const int64_t *)t->storage->data + t->offset;
  st = f64 ? ax_nn_cross_entropy_fwd_f64(n, c, F64(x), tp, PTR(w, 1), at->iv[0], at->fv[0], red, F64(out[0]), F64(out[1]), err)
           : ax_nn_cross_entropy_fwd_f32(n, c, F32(x), tp, PTR(w, 0), at->iv[0], at->fv[0], red, F32(out[0]), F32(out[1]), err);
done:
  if (st) release_outs(out, 2);
  holds_free(&h);
  return st;
}

/* in: logits, target, dloss, lse [, weight] -> dlogits */
ax_status ax_nn_k_cross_entropy_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 4 || nin > 5) return ax_err_set(err, AX_E_VALUE, "cross_entropy_backward: expects 4 or 5 inputs");
  int f64;
  ax_tensor *fl[3] = {in[0], in[2], in[3]};
  ax_status st = float_inputs("cross_entropy_backward", fl, 3, &f64, err);
  if (st) return st;
  int64_t n = in[0]->shape[0], c = in[0]->shape[1];
  holds h = {{0}, 0};
  ax_tensor *x, *t, *dl, *lse, *w = NULL;
  if ((st = contig(&h, in[0], &x, err)) || (st = contig(&h, in[1], &t, err)) || (st = contig(&h, in[2], &dl, err)) ||
      (st = contig(&h, in[3], &lse, err)) || (nin > 4 && (st = contig(&h, in[4], &w, err))))
    goto done;
  if ((st = empty(in[0]->shape, 2, in[0]->dtype, &out[0], err))) goto done;
  const int64_t *tp = (const int64_t *)t->storage->data + t->offset;
  ax_nn_reduction red = (ax_nn_reduction)at->iv[1];
  st = f64 ? ax_nn_cross_entropy_bwd_f64(n, c, F64(x), tp, PTR(w, 1), at->iv[0], at->fv[0], red, F64(lse), F64(dl), F64(out[0]), err)
           : ax_nn_cross_entropy_bwd_f32(n, c, F32(x), tp, PTR(w, 0), at->iv[0], at->fv[0], red, F32(lse), F32(dl), F32(out[0]), err);
done:
  if (st) release_outs(out, 1);
  holds_free(&h);
  return st;
}


/* ---- streaming attention: fv[0] scale, iv[0] causal ---- */

static ax_status attn_desc(const char *op, ax_tensor *const *in, ax_tensor *mask, const ax_attrs *at,
                           ax_nn_attention_desc *a, ax_err *err) {
  ax_tensor *q = in[0], *k = in[1], *v = in[2];
  char sq[96], sk[96], sv[96];
  if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4 || k->shape[0] != q->shape[0] || v->shape[0] != q->shape[0] ||
      k->shape[1] != q->shape[1] || v->shape[1] != q->shape[1] || k->shape[3] != q->shape[3] || v->shape[2] != k->shape[2])
    return ax_err_set(err, AX_E_SHAPE, "%s: q %s, k %s, v %s do not fit [B, H, T, D], [B, H, S, D], [B, H, S, Dv]", op,
                      ax_shape_str(q->shape, q->ndim, sq, sizeof sq), ax_shape_str(k->shape, k->ndim, sk, sizeof sk),
                      ax_shape_str(v->shape, v->ndim, sv, sizeof sv));
  if (mask && (mask->ndim != 2 || mask->shape[0] != q->shape[2] || mask->shape[1] != k->shape[2]))
    return ax_err_set(err, AX_E_SHAPE, "%s: the mask must be [%lld, %lld]", op, (long long)q->shape[2], (long long)k->shape[2]);
  memset(a, 0, sizeof *a);
  a->b = q->shape[0];
  a->h = q->shape[1];
  a->t = q->shape[2];
  a->s = k->shape[2];
  a->d = q->shape[3];
  a->dv = v->shape[3];
  a->scale = at->fv[0];
  a->causal = (int)at->iv[0];
  return AX_OK;
}

ax_status ax_nn_k_attention(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 3 || nin > 4) return ax_err_set(err, AX_E_VALUE, "attention: expects q, k, v and an optional mask");
  int f64;
  ax_status st = float_inputs("attention", in, nin, &f64, err);
  ax_nn_attention_desc a;
  if (st || (st = attn_desc("attention", in, nin > 3 ? in[3] : NULL, at, &a, err))) return st;
  holds h = {{0}, 0};
  ax_tensor *q, *k, *v, *m = NULL;
  if ((st = contig(&h, in[0], &q, err)) || (st = contig(&h, in[1], &k, err)) || (st = contig(&h, in[2], &v, err)) ||
      (nin > 3 && (st = contig(&h, in[3], &m, err))))
    goto done;
  int64_t os[4] = {a.b, a.h, a.t, a.dv}, ls[3] = {a.b, a.h, a.t};
  if ((st = empty(os, 4, in[0]->dtype, &out[0], err)) || (st = empty(ls, 3, in[0]->dtype, &out[1], err))) goto done;
  st = f64 ? ax_nn_attention_fwd_f64(&a, F64(q), F64(k), F64(v), PTR(m, 1), F64(out[0]), F64(out[1]), err)
           : ax_nn_attention_fwd_f32(&a, F32(q), F32(k), F32(v), PTR(m, 0), F32(out[0]), F32(out[1]), err);
done:
  if (st) release_outs(out, 2);
  holds_free(&h);
  return st;
}

/* in: q k v out lse dout [, mask] -> dq dk dv */
ax_status ax_nn_k_attention_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (nin < 6 || nin > 7) return ax_err_set(err, AX_E_VALUE, "attention_backward: expects 6 or 7 inputs");
  int f64;
  ax_status st = float_inputs("attention_backward", in, nin, &f64, err);
  ax_nn_attention_desc a;
  if (st || (st = attn_desc("attention_backward", in, nin > 6 ? in[6] : NULL, at, &a, err))) return st;
  holds h = {{0}, 0};
  ax_tensor *q, *k, *v, *o, *l, *d, *m = NULL;
  if ((st = contig(&h, in[0], &q, err)) || (st = contig(&h, in[1], &k, err)) || (st = contig(&h, in[2], &v, err)) ||
      (st = contig(&h, in[3], &o, err)) || (st = contig(&h, in[4], &l, err)) || (st = contig(&h, in[5], &d, err)) ||
      (nin > 6 && (st = contig(&h, in[6], &m, err))))
    goto done;
  if ((st = empty(in[0]->shape, 4, in[0]->dtype, &out[0], err)) || (st = empty(in[1]->shape, 4, in[0]->dtype, &out[1], err)) ||
      (st = empty(in[2]->shape, 4, in[0]->dtype, &out[2], err)))
    goto done;
  st = f64 ? ax_nn_attention_bwd_f64(&a, F64(q), F64(k), F64(v), PTR(m, 1), F64(o), F64(l), F64(d), F64(out[0]), F64(out[1]),
                                     F64(out[2]), err)
           : ax_nn_attention_bwd_f32(&a, F32(q), F32(k), F32(v), PTR(m, 0), F32(o), F32(l), F32(d), F32(out[0]), F32(out[1]),
                                     F32(out[2]), err);
done:
  if (st) release_outs(out, 3);
  holds_free(&h);
  return st;
}

/* ---- optimizer steps, in place (the *_step rows; runtime/optim calls them) ----
** sgd_step:  in param, grad [, momentum_buf]; fv[0] lr, fv[1] momentum, fv[2] dampening,
**            fv[3] weight_decay; iv[0] step (1-based), iv[1] nesterov, iv[2] maximize.
** adam_step: in param, grad, exp_avg, exp_avg_sq [, max_exp_avg_sq]; fv[0] lr, fv[1] beta1,
**            fv[2] beta2, fv[3] eps, a = weight_decay; iv[0] step, iv[1] amsgrad, iv[2] maximize,
**            iv[3] decoupled (AdamW). */

/* Every input a contiguous tensor of the parameter's float dtype and size (they are written or
** read as flat buffers). */
static ax_status step_inputs(const char *op, ax_tensor *const *in, int nin, int lo, int hi, int *f64, ax_err *err) {
  if (nin < lo || nin > hi) return ax_err_set(err, AX_E_VALUE, "%s: expects %d to %d input tensors, got %d", op, lo, hi, nin);
  ax_status st = float_inputs(op, in, nin, f64, err);
  if (st) return st;
  for (int i = 0; i < nin; i++)
    if (in[i]->dtype != in[0]->dtype || !ax_is_contiguous(in[i]) || ax_numel(in[i]) != ax_numel(in[0]))
      return ax_err_set(err, AX_E_VALUE, "%s: argument %d must be a contiguous %s tensor of %lld elements", op, i + 1,
                        ax_dtype_name(in[0]->dtype), (long long)ax_numel(in[0]));
  return AX_OK;
}

ax_status ax_nn_k_sgd_step(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  ax_status st = step_inputs("sgd_step", in, nin, 2, 3, &f64, err);
  if (st) return st;
  ax_nn_sgd_cfg k = {at->fv[0], at->fv[1], at->fv[2], at->fv[3], (int)at->iv[1], (int)at->iv[2]};
  ax_tensor *buf = nin > 2 ? in[2] : NULL;
  return f64 ? ax_nn_sgd_step_f64(&k, ax_numel(in[0]), F64(in[0]), F64(in[1]), PTR(buf, 1), at->iv[0], err)
             : ax_nn_sgd_step_f32(&k, ax_numel(in[0]), F32(in[0]), F32(in[1]), PTR(buf, 0), at->iv[0], err);
}

ax_status ax_nn_k_adam_step(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  int f64;
  ax_status st = step_inputs("adam_step", in, nin, 4, 5, &f64, err);
  if (st) return st;
  ax_nn_adam_cfg k = {at->fv[0], at->fv[1], at->fv[2], at->fv[3], at->a, (int)at->iv[1], (int)at->iv[2], (int)at->iv[3]};
  ax_tensor *vmax = nin > 4 ? in[4] : NULL;
  return f64 ? ax_nn_adam_step_f64(&k, ax_numel(in[0]), F64(in[0]), F64(in[1]), F64(in[2]), F64(in[3]), PTR(vmax, 1), at->iv[0], err)
             : ax_nn_adam_step_f32(&k, ax_numel(in[0]), F32(in[0]), F32(in[1]), F32(in[2]), F32(in[3]), PTR(vmax, 0), at->iv[0], err);
}

/* ---- backward rules ---- */

#define NEED(i) (n->in[i]->requires_grad)

/* Run a backward row and hand its outputs to gin[map[k]] (k-th output; map < 0: drop). */
static ax_status run_bwd(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, const int *map, int nout,
                         ax_tensor **gin, ax_err *err) {
  ax_tensor *out[AX_MAX_OUTPUTS] = {0};
  ax_status st = ax_op_call(op, in, nin, at, out, err);
  if (st) return st;
  for (int k = 0; k < nout; k++) {
    if (map[k] >= 0 && out[k]) gin[map[k]] = out[k];
    else ax_tensor_release(out[k]);
  }
  return AX_OK;
}

static ax_status conv_rule(ax_op bwd, const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  ax_attrs at = n->attrs;
  at.iv[12] = (NEED(0) ? 1 : 0) | (NEED(1) ? 2 : 0) | (n->nin > 2 && NEED(2) ? 4 : 0);
  ax_tensor *in[3] = {n->in[0], n->in[1], g};
  int map[3] = {0, 1, n->nin > 2 ? 2 : -1};
  return run_bwd(bwd, in, 3, &at, map, 3, gin, err);
}

ax_status ax_nn_g_conv2d(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  return conv_rule(AX_OP_CONV2D_BWD, n, g, gin, err);
}
ax_status ax_nn_g_convt2d(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  return conv_rule(AX_OP_CONV_TRANSPOSE2D_BWD, n, g, gin, err);
}

static ax_status pool_rule(ax_op bwd, const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err, int with_idx) {
  ax_attrs at = n->attrs;
  ax_tensor *x = n->in[0];
  at.iv[10] = x->shape[2];
  at.iv[11] = x->shape[3];
  ax_tensor *in[2] = {g, with_idx ? n->aux[0] : NULL};
  int map[1] = {0};
  return run_bwd(bwd, in, with_idx ? 2 : 1, &at, map, 1, gin, err);
}

ax_status ax_nn_g_max_pool2d(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  return pool_rule(AX_OP_MAX_POOL2D_BWD, n, g, gin, err, 1);
}
ax_status ax_nn_g_avg_pool2d(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  return pool_rule(AX_OP_AVG_POOL2D_BWD, n, g, gin, err, 0);
}
ax_status ax_nn_g_adaptive_pool(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  ax_attrs at = n->attrs;
  at.iv[2] = n->in[0]->shape[2];
  at.iv[3] = n->in[0]->shape[3];
  ax_tensor *in[1] = {g};
  int map[1] = {0};
  return run_bwd(AX_OP_ADAPTIVE_AVG_POOL2D_BWD, in, 1, &at, map, 1, gin, err);
}

ax_status ax_nn_g_batch_norm(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  int training = (int)n->attrs.iv[0];
  ax_tensor *in[5] = {n->in[0], g, n->in[1], training ? n->aux[0] : n->in[3], training ? n->aux[1] : n->in[4]};
  int map[3] = {NEED(0) ? 0 : -1, NEED(1) ? 1 : -1, NEED(2) ? 2 : -1};
  return run_bwd(AX_OP_BATCH_NORM_BWD, in, 5, &n->attrs, map, 3, gin, err);
}

ax_status ax_nn_g_layer_norm(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  ax_tensor *in[5] = {n->in[0], g, n->in[1], n->aux[0], n->aux[1]};
  int map[3] = {NEED(0) ? 0 : -1, NEED(1) ? 1 : -1, NEED(2) ? 2 : -1};
  return run_bwd(AX_OP_LAYER_NORM_BWD, in, 5, &n->attrs, map, 3, gin, err);
}


ax_status ax_nn_g_cross_entropy(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  if (!NEED(0)) return AX_OK;   /* targets and class weights get no gradient */
  ax_tensor *in[5] = {n->in[0], n->in[1], g, n->aux[0], n->nin > 2 ? n->in[2] : NULL};
  int map[1] = {0};
  return run_bwd(AX_OP_CROSS_ENTROPY_BWD, in, n->nin > 2 ? 5 : 4, &n->attrs, map, 1, gin, err);
}


ax_status ax_nn_g_attention(const ax_node *n, ax_tensor *g, ax_tensor **gin, ax_err *err) {
  /* n->out: the forward's output (ax_grad_saves_output lists this row); aux[0]: the saved lse */
  ax_tensor *in[7] = {n->in[0], n->in[1], n->in[2], n->out, n->aux[0], g, n->nin > 3 ? n->in[3] : NULL};
  int map[3] = {NEED(0) ? 0 : -1, NEED(1) ? 1 : -1, NEED(2) ? 2 : -1};
  return run_bwd(AX_OP_ATTENTION_BWD, in, n->nin > 3 ? 7 : 6, &n->attrs, map, 3, gin, err);
}

/* ---- front ends (ax_nn.h) ---- */

static ax_status call1(ax_op op, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  ax_tensor *o[AX_MAX_OUTPUTS] = {0};
  ax_status st = ax_op_call(op, in, nin, at, o, err);
  if (st) return st;
  for (int i = 1; i < ax_op_table[op].nout; i++) ax_tensor_release(o[i]);
  *out = o[0];
  return AX_OK;
}

ax_status ax_conv2d(ax_tensor *x, ax_tensor *w, ax_tensor *b, const int64_t stride[2], const int64_t pad[4],
                    const int64_t dilation[2], int64_t groups, ax_tensor **out, ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = stride[0]; at.iv[1] = stride[1];
  at.iv[2] = pad[0]; at.iv[3] = pad[1]; at.iv[4] = pad[2]; at.iv[5] = pad[3];
  at.iv[6] = dilation[0]; at.iv[7] = dilation[1];
  at.iv[8] = groups;
  ax_tensor *in[3] = {x, w, b};
  return call1(AX_OP_CONV2D, in, b ? 3 : 2, &at, out, err);
}

ax_status ax_conv_transpose2d(ax_tensor *x, ax_tensor *w, ax_tensor *b, const int64_t stride[2], const int64_t pad[2],
                              const int64_t output_padding[2], const int64_t dilation[2], int64_t groups, ax_tensor **out,
                              ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = stride[0]; at.iv[1] = stride[1];
  at.iv[2] = pad[0]; at.iv[3] = pad[1]; at.iv[4] = pad[0]; at.iv[5] = pad[1];
  at.iv[6] = dilation[0]; at.iv[7] = dilation[1];
  at.iv[8] = groups;
  at.iv[9] = output_padding[0]; at.iv[10] = output_padding[1];
  ax_tensor *in[3] = {x, w, b};
  return call1(AX_OP_CONV_TRANSPOSE2D, in, b ? 3 : 2, &at, out, err);
}

/* Pools accept [C, H, W] too (as PyTorch): run as a batch of one and drop it again. */
static ax_status pool_call(ax_op op, ax_tensor *x, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  if (x->ndim != 3) return call1(op, &x, 1, at, out, err);
  ax_tensor *x4 = NULL, *y4 = NULL;
  ax_status st = ax_unsqueeze(x, 0, &x4, err);
  if (!st) st = call1(op, &x4, 1, at, &y4, err);
  if (!st) st = ax_squeeze(y4, (int64_t[]){0}, 1, out, err);
  ax_tensor_release(x4);
  ax_tensor_release(y4);
  return st;
}

ax_status ax_max_pool2d(ax_tensor *x, const int64_t kernel[2], const int64_t stride[2], const int64_t pad[2],
                        const int64_t dilation[2], int ceil_mode, ax_tensor **out, ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = kernel[0]; at.iv[1] = kernel[1];
  at.iv[2] = stride[0]; at.iv[3] = stride[1];
  at.iv[4] = pad[0]; at.iv[5] = pad[1];
  at.iv[6] = dilation[0]; at.iv[7] = dilation[1];
  at.iv[8] = ceil_mode;
  at.iv[13] = !(ax_grad_enabled() && x->requires_grad);   /* the indices serve the backward only */
  return pool_call(AX_OP_MAX_POOL2D, x, &at, out, err);
}

ax_status ax_avg_pool2d(ax_tensor *x, const int64_t kernel[2], const int64_t stride[2], const int64_t pad[2], int ceil_mode,
                        int count_include_pad, ax_tensor **out, ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = kernel[0]; at.iv[1] = kernel[1];
  at.iv[2] = stride[0]; at.iv[3] = stride[1];
  at.iv[4] = pad[0]; at.iv[5] = pad[1];
  at.iv[6] = at.iv[7] = 1;
  at.iv[8] = ceil_mode;
  at.iv[9] = count_include_pad;
  return pool_call(AX_OP_AVG_POOL2D, x, &at, out, err);
}

ax_status ax_adaptive_avg_pool2d(ax_tensor *x, int64_t oh, int64_t ow, ax_tensor **out, ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = oh;
  at.iv[1] = ow;
  return pool_call(AX_OP_ADAPTIVE_AVG_POOL2D, x, &at, out, err);
}

ax_status ax_batch_norm(ax_tensor *x, ax_tensor *running_mean, ax_tensor *running_var, ax_tensor *weight,
                        ax_tensor *bias, int training, double momentum, double eps, ax_tensor **out, ax_err *err) {
  if (x->ndim < 2) return ax_err_set(err, AX_E_SHAPE, "batch_norm: input must have a channel dim [N, C, ...]");
  if (!training && (!running_mean || !running_var))
    return ax_err_set(err, AX_E_VALUE, "batch_norm: evaluation needs running_mean and running_var");
  int64_t cs[1] = {x->shape[1]};
  ax_tensor *w = NULL, *b = NULL, *rm = NULL, *rv = NULL;
  ax_status st = AX_OK;
  ax_dtype dt = x->dtype;
  ax_device dev = x->storage->device;   /* the defaults are made where x is */
  if (!weight) st = ax_full_on(cs, 1, 1, dt, dev, &w, err);
  if (!st && !bias) st = ax_full_on(cs, 1, 0, dt, dev, &b, err);
  if (!st && !running_mean) st = ax_full_on(cs, 1, 0, dt, dev, &rm, err);
  if (!st && !running_var) st = ax_full_on(cs, 1, 1, dt, dev, &rv, err);
  if (!st) {
    ax_attrs at;
    memset(&at, 0, sizeof at);
    at.iv[0] = training;
    at.iv[1] = training && running_mean && running_var;
    at.fv[0] = eps;
    at.fv[1] = momentum;
    ax_tensor *in[5] = {x, weight ? weight : w, bias ? bias : b, running_mean ? running_mean : rm,
                        running_var ? running_var : rv};
    st = call1(AX_OP_BATCH_NORM, in, 5, &at, out, err);
  }
  ax_tensor_release(w);
  ax_tensor_release(b);
  ax_tensor_release(rm);
  ax_tensor_release(rv);
  return st;
}

ax_status ax_layer_norm(ax_tensor *x, int nd, ax_tensor *weight, ax_tensor *bias, double eps, ax_tensor **out,
                        ax_err *err) {
  if (nd < 1 || nd > x->ndim) return ax_err_set(err, AX_E_SHAPE, "layer_norm: cannot normalise %d dims of a %d-d input", nd, x->ndim);
  const int64_t *ns = x->shape + x->ndim - nd;
  ax_tensor *w = NULL, *b = NULL;
  ax_status st = AX_OK;
  if (!weight) st = ax_full_on(ns, nd, 1, x->dtype, x->storage->device, &w, err);
  if (!st && !bias) st = ax_full_on(ns, nd, 0, x->dtype, x->storage->device, &b, err);
  if (!st) {
    ax_attrs at;
    memset(&at, 0, sizeof at);
    at.iv[0] = nd;
    at.fv[0] = eps;
    ax_tensor *in[3] = {x, weight ? weight : w, bias ? bias : b};
    st = call1(AX_OP_LAYER_NORM, in, 3, &at, out, err);
  }
  ax_tensor_release(w);
  ax_tensor_release(b);
  return st;
}

ax_status ax_cross_entropy(ax_tensor *logits, ax_tensor *target, ax_tensor *weight, int64_t ignore_index, int red,
                           double label_smoothing, ax_tensor **out, ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = ignore_index;
  at.iv[1] = red;
  at.fv[0] = label_smoothing;
  ax_tensor *t = NULL, *w = NULL;
  ax_status st = AX_OK;
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);   /* dtype fixes of the target and weight are not part of the graph */
  st = ax_cast(target, AX_INT64, &t, err);
  if (!st && weight) st = ax_cast(weight, logits->dtype, &w, err);
  ax_set_grad_enabled(was);
  if (!st) {
    ax_tensor *in[3] = {logits, t, w};
    st = call1(AX_OP_CROSS_ENTROPY, in, w ? 3 : 2, &at, out, err);
  }
  ax_tensor_release(t);
  ax_tensor_release(w);
  return st;
}

ax_status ax_attention(ax_tensor *q, ax_tensor *k, ax_tensor *v, ax_tensor *mask, int causal, double scale,
                       ax_tensor **out, ax_err *err) {
  ax_attrs at;
  memset(&at, 0, sizeof at);
  at.iv[0] = causal;
  at.fv[0] = scale > 0 ? scale : 1.0 / sqrt((double)(q->ndim == 4 ? q->shape[3] : 1));
  ax_tensor *in[4] = {q, k, v, mask};
  return call1(AX_OP_ATTENTION, in, mask ? 4 : 3, &at, out, err);
}
