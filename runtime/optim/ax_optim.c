/* runtime/optim/ax_optim.c — optimizer state and steps over the kernels of runtime/neural.
** Each step reads param->grad (made contiguous if needed) and updates param's storage in place;
** autograd does not see the update, exactly like torch.optim under no_grad. sgd, adam and adamw
** go through the sgd_step / adam_step op rows (so a backend with those kernels steps its own
** tensors, states created on the parameter's device); the other kinds call the CPU kernels. */
#include "ax_optim.h"

#include <math.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_nn_kernels.h"
#include "ax_ops.h"

static const char *const kind_names[AX_OPTIM_COUNT] = {"sgd", "adam", "adamw", "rmsprop", "adagrad",
                                                       "adadelta", "lamb"};

const char *ax_optim_kind_name(ax_optim_kind kind) {
  return (unsigned)kind < AX_OPTIM_COUNT ? kind_names[kind] : "?";
}

int ax_optim_kind_parse(const char *name, ax_optim_kind *out) {
  for (int i = 0; i < AX_OPTIM_COUNT; i++)
    if (strcmp(name, kind_names[i]) == 0) {
      *out = (ax_optim_kind)i;
      return 1;
    }
  return 0;
}

void ax_optim_defaults(ax_optim_kind kind, ax_optim_cfg *c) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  switch (kind) {
  case AX_OPTIM_SGD: c->lr = 1e-3; break;
  case AX_OPTIM_ADAM: c->lr = 1e-3; break;
  case AX_OPTIM_ADAMW: c->lr = 1e-3; c->weight_decay = 1e-2; break;
  case AX_OPTIM_RMSPROP: c->lr = 1e-2; c->alpha = 0.99; break;
  case AX_OPTIM_ADAGRAD: c->lr = 1e-2; c->eps = 1e-10; break;
  case AX_OPTIM_ADADELTA: c->lr = 1.0; c->rho = 0.9; c->eps = 1e-6; break;
  case AX_OPTIM_LAMB: c->lr = 1e-3; c->eps = 1e-6; break;
  default: break;
  }
}

/* State buffers per kind, in slot order. */
static const char *const state_names[AX_OPTIM_COUNT][AX_OPTIM_NSTATE + 1] = {
  [AX_OPTIM_SGD] = {"momentum_buffer", NULL},
  [AX_OPTIM_ADAM] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq", NULL},
  [AX_OPTIM_ADAMW] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq", NULL},
  [AX_OPTIM_RMSPROP] = {"square_avg", "grad_avg", "momentum_buffer", NULL},
  [AX_OPTIM_ADAGRAD] = {"sum", NULL},
  [AX_OPTIM_ADADELTA] = {"square_avg", "acc_delta", NULL},
  [AX_OPTIM_LAMB] = {"exp_avg", "exp_avg_sq", NULL},
};

const char *ax_optim_state_name(ax_optim_kind kind, int i) {
  if ((unsigned)kind >= AX_OPTIM_COUNT || i < 0 || i >= AX_OPTIM_NSTATE) return NULL;
  return state_names[kind][i];
}

/* Which buffers a configuration uses (unused ones stay NULL and are not saved). */
static int state_used(const ax_optim_cfg *c, int i) {
  switch (c->kind) {
  case AX_OPTIM_SGD: return i == 0 && c->momentum != 0;
  case AX_OPTIM_ADAM:
  case AX_OPTIM_ADAMW: return i < 2 || (i == 2 && c->amsgrad);
  case AX_OPTIM_RMSPROP: return i == 0 || (i == 1 && c->centered) || (i == 2 && c->momentum > 0);
  case AX_OPTIM_ADAGRAD: return i == 0;
  case AX_OPTIM_ADADELTA: return i < 2;
  case AX_OPTIM_LAMB: return i < 2;
  default: return 0;
  }
}

ax_status ax_optim_new(const ax_optim_cfg *cfg, ax_tensor *const *params, int n, ax_optim **out, ax_err *err) {
  const char *name = ax_optim_kind_name(cfg->kind);
  if (cfg->lr < 0) return ax_err_set(err, AX_E_VALUE, "%s: invalid learning rate %g", name, cfg->lr);
  if (cfg->eps < 0) return ax_err_set(err, AX_E_VALUE, "%s: invalid eps %g", name, cfg->eps);
  if (cfg->weight_decay < 0) return ax_err_set(err, AX_E_VALUE, "%s: invalid weight_decay %g", name, cfg->weight_decay);
  if (cfg->beta1 < 0 || cfg->beta1 >= 1 || cfg->beta2 < 0 || cfg->beta2 >= 1)
    return ax_err_set(err, AX_E_VALUE, "%s: betas must be in [0, 1), got (%g, %g)", name, cfg->beta1, cfg->beta2);
  if (cfg->momentum < 0) return ax_err_set(err, AX_E_VALUE, "%s: invalid momentum %g", name, cfg->momentum);
  if (cfg->kind == AX_OPTIM_SGD && cfg->nesterov && (cfg->momentum <= 0 || cfg->dampening != 0))
    return ax_err_set(err, AX_E_VALUE, "sgd: nesterov needs a momentum and zero dampening");
  if (n < 0) return ax_err_set(err, AX_E_VALUE, "%s: negative parameter count", name);
  ax_status st = ax_optim_check_params(cfg, params, n, err);
  if (st) return st;
  ax_optim *o = ax_calloc(1, sizeof *o);
  if (!o) return ax_err_set(err, AX_E_NOMEM, "%s: out of memory", name);
  o->cfg = *cfg;
  if (n && (st = ax_optim_set_params(o, params, n, err))) {
    ax_free(o, sizeof *o);
    return st;
  }
  *out = o;
  return AX_OK;
}

ax_status ax_optim_check_params(const ax_optim_cfg *cfg, ax_tensor *const *params, int n, ax_err *err) {
  const char *name = ax_optim_kind_name(cfg->kind);
  for (int i = 0; i < n; i++) {
    ax_tensor *p = params[i];
    if (!ax_dtype_is_float(p->dtype) || (p->dtype != AX_FLOAT32 && p->dtype != AX_FLOAT64))
      return ax_err_set(err, AX_E_DTYPE, "%s: parameter %d is %s; float32 and float64 parameters are supported",
                        name, i, ax_dtype_name(p->dtype));
    if (!ax_is_contiguous(p))
      return ax_err_set(err, AX_E_VALUE, "%s: parameter %d is a strided view; make it with param(x.contiguous())",
                        name, i);
    for (int k = 0; k < i; k++)
      if (params[k] == p) return ax_err_set(err, AX_E_VALUE, "%s: parameter %d appears twice", name, i);
  }
  return AX_OK;
}

ax_status ax_optim_set_params(ax_optim *o, ax_tensor *const *params, int n, ax_err *err) {
  const char *name = ax_optim_kind_name(o->cfg.kind);
  if (o->n) return ax_err_set(err, AX_E_VALUE, "%s: the parameters are already set", name);
  if (n <= 0) return ax_err_set(err, AX_E_VALUE, "%s: the parameter list is empty", name);
  ax_status st = ax_optim_check_params(&o->cfg, params, n, err);
  if (st) return st;
  o->slots = ax_calloc((size_t)n, sizeof *o->slots);
  if (!o->slots) return ax_err_set(err, AX_E_NOMEM, "%s: out of memory", name);
  o->n = n;
  for (int i = 0; i < n; i++) o->slots[i].param = ax_tensor_retain(params[i]);
  return AX_OK;
}

void ax_optim_free(ax_optim *o) {
  if (!o) return;
  for (int i = 0; i < o->n; i++) {
    ax_tensor_release(o->slots[i].param);
    for (int k = 0; k < AX_OPTIM_NSTATE; k++) ax_tensor_release(o->slots[i].state[k]);
  }
  ax_free(o->slots, sizeof *o->slots * (size_t)o->n);
  ax_free(o, sizeof *o);
}

void ax_optim_zero_grad(ax_optim *o) {
  for (int i = 0; i < o->n; i++) ax_zero_grad(o->slots[i].param);
}

ax_status ax_optim_ensure_state(ax_optim *o, int i, ax_err *err) {
  ax_optim_slot *s = &o->slots[i];
  for (int k = 0; k < AX_OPTIM_NSTATE; k++) {
    if (s->state[k] || !state_used(&o->cfg, k)) continue;
    double init = o->cfg.kind == AX_OPTIM_ADAGRAD ? o->cfg.initial_accumulator : 0.0;
    ax_status st = ax_full_like(s->param, init, &s->state[k], err);   /* on the parameter's device */
    if (st) return st;
  }
  return AX_OK;
}

#define DATA(t, T) ((T *)(t)->storage->data + (t)->offset)
#define STATE(s, k, T) ((s)->state[k] ? DATA((s)->state[k], T) : NULL)

static ax_status step_one(ax_optim *o, ax_optim_slot *s, const ax_tensor *g, ax_err *err) {
  const ax_optim_cfg *c = &o->cfg;
  int64_t n = ax_numel(s->param);
  int f64 = s->param->dtype == AX_FLOAT64;
  int64_t step = s->step;
  switch (c->kind) {
  case AX_OPTIM_SGD: {   /* the sgd_step row: any backend with the kernel (ax_nn.c's CPU one) */
    ax_attrs at = {.fv = {c->lr, c->momentum, c->dampening, c->weight_decay}, .iv = {step, c->nesterov, c->maximize}};
    ax_tensor *in[3] = {s->param, (ax_tensor *)g, s->state[0]};
    return ax_op_call(AX_OP_SGD_STEP, in, s->state[0] ? 3 : 2, &at, NULL, err);
  }
  case AX_OPTIM_ADAM:
  case AX_OPTIM_ADAMW: {   /* the adam_step row */
    ax_attrs at = {.fv = {c->lr, c->beta1, c->beta2, c->eps}, .a = c->weight_decay,
                   .iv = {step, c->amsgrad, c->maximize, c->kind == AX_OPTIM_ADAMW}};
    ax_tensor *in[5] = {s->param, (ax_tensor *)g, s->state[0], s->state[1], s->state[2]};
    return ax_op_call(AX_OP_ADAM_STEP, in, s->state[2] ? 5 : 4, &at, NULL, err);
  }
  case AX_OPTIM_RMSPROP: {
    ax_nn_rmsprop_cfg k = {c->lr, c->alpha, c->eps, c->weight_decay, c->momentum, c->centered, c->maximize};
    return f64 ? ax_nn_rmsprop_step_f64(&k, n, DATA(s->param, double), DATA(g, double), STATE(s, 0, double),
                                        STATE(s, 1, double), STATE(s, 2, double), err)
               : ax_nn_rmsprop_step_f32(&k, n, DATA(s->param, float), DATA(g, float), STATE(s, 0, float),
                                        STATE(s, 1, float), STATE(s, 2, float), err);
  }
  case AX_OPTIM_ADAGRAD: {
    ax_nn_adagrad_cfg k = {c->lr, c->lr_decay, c->weight_decay, c->eps, c->maximize};
    return f64 ? ax_nn_adagrad_step_f64(&k, n, DATA(s->param, double), DATA(g, double), STATE(s, 0, double), step, err)
               : ax_nn_adagrad_step_f32(&k, n, DATA(s->param, float), DATA(g, float), STATE(s, 0, float), step, err);
  }
  case AX_OPTIM_ADADELTA: {
    ax_nn_adadelta_cfg k = {c->lr, c->rho, c->eps, c->weight_decay, c->maximize};
    return f64 ? ax_nn_adadelta_step_f64(&k, n, DATA(s->param, double), DATA(g, double), STATE(s, 0, double),
                                         STATE(s, 1, double), err)
               : ax_nn_adadelta_step_f32(&k, n, DATA(s->param, float), DATA(g, float), STATE(s, 0, float),
                                         STATE(s, 1, float), err);
  }
  case AX_OPTIM_LAMB: {
    ax_nn_lamb_cfg k = {c->lr, c->beta1, c->beta2, c->eps, c->weight_decay};
    return f64 ? ax_nn_lamb_step_f64(&k, n, DATA(s->param, double), DATA(g, double), STATE(s, 0, double),
                                     STATE(s, 1, double), step, err)
               : ax_nn_lamb_step_f32(&k, n, DATA(s->param, float), DATA(g, float), STATE(s, 0, float),
                                     STATE(s, 1, float), step, err);
  }
  default: return ax_err_set(err, AX_E_VALUE, "optimizer: unknown kind %d", (int)c->kind);
  }
}

ax_status ax_optim_step(ax_optim *o, ax_err *err) {
  if (o->n == 0)
    return ax_err_set(err, AX_E_VALUE, "%s: no parameters to update (a lazy network gets them at its first forward pass)",
                      ax_optim_kind_name(o->cfg.kind));
  for (int i = 0; i < o->n; i++) {
    ax_optim_slot *s = &o->slots[i];
    ax_tensor *p = s->param;
    if (!p->grad) continue;
    /* sgd, adam and adamw run as op rows on any backend with their kernels; the others on the CPU */
    int by_row = o->cfg.kind == AX_OPTIM_SGD || o->cfg.kind == AX_OPTIM_ADAM || o->cfg.kind == AX_OPTIM_ADAMW;
    if (!by_row && p->storage->device.type != AX_DEV_CPU)
      return ax_err_set(err, AX_E_UNSUPPORTED, "%s: optimizer steps on %s are not available in this build",
                        ax_optim_kind_name(o->cfg.kind), p->storage->be ? p->storage->be->name : "this device");
    if (p->grad->ndim != p->ndim || memcmp(p->grad->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim) != 0) {
      char a[96], b[96];
      return ax_err_set(err, AX_E_SHAPE, "%s: parameter %d has shape %s but its gradient %s",
                        ax_optim_kind_name(o->cfg.kind), i, ax_shape_str(p->shape, p->ndim, a, sizeof a),
                        ax_shape_str(p->grad->shape, p->grad->ndim, b, sizeof b));
    }
    ax_tensor *g = NULL, *gc = NULL;
    ax_status st = ax_cast(p->grad, p->dtype, &gc, err);
    if (!st) st = ax_contiguous(gc, &g, err);
    ax_tensor_release(gc);
    if (!st) st = ax_optim_ensure_state(o, i, err);
    if (!st) {
      s->step++;
      st = step_one(o, s, g, err);
      ax_bump_version(p);   /* an in-place write: graphs that saved p are now stale */
    }
    ax_tensor_release(g);
    if (st) return st;
  }
  o->steps++;
  return AX_OK;
}

/* Collect contiguous float views of the gradients; returns count of buffers. */
ax_status ax_clip_grad_norm(ax_tensor *const *params, int n, double max_norm, double norm_type, double *total,
                            ax_err *err) {
  *total = 0;
  if (max_norm < 0) return ax_err_set(err, AX_E_VALUE, "clip_grad_norm: max_norm must be >= 0, got %g", max_norm);
  void **bufs = ax_calloc((size_t)(n ? n : 1), sizeof(void *));
  int64_t *lens = ax_calloc((size_t)(n ? n : 1), sizeof(int64_t));
  ax_status st = AX_OK;
  if (!bufs || !lens) {
    st = ax_err_set(err, AX_E_NOMEM, "clip_grad_norm: out of memory");
    goto done;
  }
  /* Gradients are contiguous float tensors of one dtype in practice; anything else is an error. */
  int nb = 0;
  ax_dtype dt = AX_FLOAT32;
  for (int i = 0; i < n; i++) {
    ax_tensor *g = params[i]->grad;
    if (!g) continue;
    if (!ax_is_contiguous(g) || (g->dtype != AX_FLOAT32 && g->dtype != AX_FLOAT64) ||
        g->storage->device.type != AX_DEV_CPU) {
      st = ax_err_set(err, AX_E_UNSUPPORTED, "clip_grad_norm: gradient %d is not a contiguous cpu float tensor", i);
      goto done;
    }
    if (nb && g->dtype != dt) {
      st = ax_err_set(err, AX_E_DTYPE, "clip_grad_norm: gradients mix float32 and float64");
      goto done;
    }
    dt = g->dtype;
    bufs[nb] = (char *)g->storage->data + g->offset * (int64_t)ax_dtype_size(g->dtype);
    lens[nb] = ax_numel(g);
    nb++;
  }
  if (nb)
    st = dt == AX_FLOAT64 ? ax_nn_clip_grad_norm_f64(nb, (double *const *)bufs, lens, max_norm, norm_type, total, err)
                          : ax_nn_clip_grad_norm_f32(nb, (float *const *)bufs, lens, max_norm, norm_type, total, err);
done:
  ax_free(bufs, sizeof(void *) * (size_t)(n ? n : 1));
  ax_free(lens, sizeof(int64_t) * (size_t)(n ? n : 1));
  return st;
}

ax_status ax_clip_grad_value(ax_tensor *const *params, int n, double clip, ax_err *err) {
  if (clip < 0) return ax_err_set(err, AX_E_VALUE, "clip_grad_value: clip value must be >= 0, got %g", clip);
  for (int i = 0; i < n; i++) {
    ax_tensor *g = params[i]->grad;
    if (!g) continue;
    if (!ax_is_contiguous(g) || g->storage->device.type != AX_DEV_CPU)
      return ax_err_set(err, AX_E_UNSUPPORTED, "clip_grad_value: gradient %d is not a contiguous cpu tensor", i);
    ax_status st;
    if (g->dtype == AX_FLOAT64) st = ax_nn_clip_grad_value_f64(ax_numel(g), DATA(g, double), clip, err);
    else if (g->dtype == AX_FLOAT32) st = ax_nn_clip_grad_value_f32(ax_numel(g), DATA(g, float), clip, err);
    else st = ax_err_set(err, AX_E_DTYPE, "clip_grad_value: gradient %d is %s", i, ax_dtype_name(g->dtype));
    if (st) return st;
  }
  return AX_OK;
}
