/* runtime/optim/ax_scaler.c — the gradient scaler of mixed-precision training (torch.amp.GradScaler):
** the loss is multiplied by a scale before backward so small float16 gradients do not flush to zero;
** the gradients are divided by it before the optimizer steps, and a step whose gradients hold an
** inf or nan is skipped. Invariant: the scale only changes in update() (or by a user's new scale). */
#include <math.h>

#include "ax_optim.h"
#include "ax_ops.h"

void ax_grad_scaler_init(ax_grad_scaler *s) {
  *s = (ax_grad_scaler){.scale = 65536.0, .growth_factor = 2.0, .backoff_factor = 0.5, .growth_interval = 2000,
                        .enabled = 1};
}

ax_status ax_grad_scaler_check(const ax_grad_scaler *s, ax_err *err) {
  if (!(s->scale > 0) || !isfinite((float)s->scale))
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: init_scale must be > 0, got %g", s->scale);
  if (!(s->growth_factor > 1) || !isfinite(s->growth_factor))
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: growth_factor must be > 1, got %g", s->growth_factor);
  if (!(s->backoff_factor > 0 && s->backoff_factor < 1))
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: backoff_factor must be in (0, 1), got %g", s->backoff_factor);
  if (s->growth_interval < 1)
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: growth_interval must be an int >= 1, got %lld",
                      (long long)s->growth_interval);
  return AX_OK;
}

/* A 0-d float32 tensor on the CPU: ops accept it next to tensors on any device, and as a 0-d
** tensor (not a script number) it promotes a half loss to float32, as PyTorch's float32 scale does. */
static ax_status scalar_f32(double v, ax_tensor **out, ax_err *err) {
  int64_t shape0[1] = {0};
  return ax_full(shape0, 0, v, AX_FLOAT32, out, err);
}

/* The value of a one-element tensor on any device (item() reads CPU memory: download first). */
static ax_status value_of(ax_tensor *t, double *v, ax_err *err) {
  ax_tensor *c = NULL;
  ax_status st = ax_to(t, AX_CPU, &c, err);
  if (!st) st = ax_item_f64(c, v, err);
  ax_tensor_release(c);
  return st;
}

ax_status ax_grad_scaler_scale(const ax_grad_scaler *s, ax_tensor *loss, ax_tensor **out, ax_err *err) {
  if (!s->enabled) {
    *out = ax_tensor_retain(loss);
    return AX_OK;
  }
  if (!ax_dtype_is_float(loss->dtype))
    return ax_err_set(err, AX_E_DTYPE, "grad_scaler.scale: the loss must be a float tensor, got %s", ax_dtype_name(loss->dtype));
  ax_tensor *sc = NULL;
  ax_status st = scalar_f32(s->scale, &sc, err);
  if (!st) st = ax_mul(loss, sc, out, err);
  ax_tensor_release(sc);
  return st;
}

ax_status ax_grad_scaler_unscale(ax_grad_scaler *s, ax_optim *opt, ax_err *err) {
  if (!s->enabled) return AX_OK;
  if (s->stage == AX_SCALER_UNSCALED)
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: unscale() was already called since the last update()");
  if (s->stage == AX_SCALER_STEPPED)
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: unscale() after step(): call update() first");
  int ngrad = 0;
  for (int i = 0; i < opt->n; i++) ngrad += opt->slots[i].param->grad != NULL;
  if (!ngrad)
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: no parameter of the optimizer has a gradient (backward(scale(loss)) first)");
  /* 1/scale rounded to float32, as PyTorch's inv_scale; exact for the powers of two the defaults give */
  ax_tensor *inv = NULL;
  ax_status st = scalar_f32((double)(float)(1.0 / s->scale), &inv, err);
  int was = ax_grad_enabled(), found = 0;
  ax_set_grad_enabled(0);
  for (int i = 0; i < opt->n && !st; i++) {
    ax_tensor *p = opt->slots[i].param, *g = NULL, *a = NULL, *m = NULL;
    if (!p->grad) continue;
    st = ax_mul(p->grad, inv, &g, err);
    /* max |g| is inf or nan exactly when some element is (max propagates nan; no sum can overflow) */
    if (!st && !found) st = ax_abs(g, &a, err);
    if (!st && a) st = ax_max_all(a, &m, err);
    double v = 0;
    if (!st && m) st = value_of(m, &v, err);
    if (!st && m && !isfinite(v)) found = 1;
    if (!st) {   /* the unscaled gradient replaces the scaled one (a fresh tensor, on the gradient's device) */
      ax_tensor_release(p->grad);
      p->grad = g;
      g = NULL;
    }
    ax_tensor_release(g);
    ax_tensor_release(a);
    ax_tensor_release(m);
  }
  ax_set_grad_enabled(was);
  ax_tensor_release(inv);
  if (st) return st;
  s->found_inf = found;
  s->stage = AX_SCALER_UNSCALED;
  return AX_OK;
}

ax_status ax_grad_scaler_step(ax_grad_scaler *s, ax_optim *opt, int *stepped, ax_err *err) {
  *stepped = 0;
  if (!s->enabled) {
    ax_status st = ax_optim_step(opt, err);
    *stepped = st == AX_OK;
    return st;
  }
  if (s->stage == AX_SCALER_STEPPED)
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: step() was already called since the last update()");
  ax_status st = AX_OK;
  if (s->stage == AX_SCALER_READY && (st = ax_grad_scaler_unscale(s, opt, err))) return st;
  s->stage = AX_SCALER_STEPPED;
  if (s->found_inf) return AX_OK;   /* skipped: the parameters and the optimizer state stay as they were */
  if ((st = ax_optim_step(opt, err))) return st;
  *stepped = 1;
  return AX_OK;
}

ax_status ax_grad_scaler_update(ax_grad_scaler *s, ax_err *err) {
  if (!s->enabled) return AX_OK;
  if (s->stage == AX_SCALER_READY)
    return ax_err_set(err, AX_E_VALUE, "grad_scaler: update() needs a step() since the last update()");
  if (s->found_inf) {
    s->scale *= s->backoff_factor;
    s->growth_tracker = 0;
  } else if (++s->growth_tracker >= s->growth_interval) {
    double grown = s->scale * s->growth_factor;
    if (isfinite((float)grown)) s->scale = grown;   /* the scale is a float32 in PyTorch: never inf */
    s->growth_tracker = 0;
  }
  s->found_inf = 0;
  s->stage = AX_SCALER_READY;
  return AX_OK;
}

void ax_grad_scaler_set_scale(ax_grad_scaler *s, double scale) {
  s->scale = scale;
  s->found_inf = 0;
  s->stage = AX_SCALER_READY;
}
