/* runtime/optim/ax_optim.c — optimizer state and steps over the kernels of runtime/neural.
** Each step reads param->grad (made contiguous if needed) and updates param's storage in place;
** autograd does not see the update, exactly like torch.optim under no_grad. sgd, adam and adamw
** go through the sgd_step / adam_step op rows (so a backend with those kernels steps its own
** tensors, states created on the parameter's device); the other kinds and gradient clipping call
** the CPU kernels on the CPU and are composed of elementwise rows on other devices. */
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

/* ---- the same updates composed of rows (elementwise ops with a kernel on every backend), for
** parameters on a device: optim.inc's loops operation by operation, coefficients rounded to the
** element type like the kernels' (T)c, results written with ax_copy_ ---- */

#define COMP_MAX 48
typedef struct {
  ax_status st;
  ax_err *err;
  ax_dtype dt;          /* the parameter's type: constants are 0-d tensors of it, like (T)c */
  ax_tensor *tmp[COMP_MAX];
  int n;
} comp;

/* Takes the result's address, not its value: in keep(c, f(..., &t, ...), &t) the call must have
** written t before it is read, and C leaves argument evaluation order unspecified. */
static ax_tensor *keep(comp *c, ax_status st, ax_tensor **pt) {
  ax_tensor *t = *pt;
  if (!c->st && st) c->st = st;
  if (!t) return NULL;
  if (c->n == COMP_MAX) {   /* a bug in this file, not a user error */
    ax_tensor_release(t);
    if (!c->st) c->st = ax_err_set(c->err, AX_E_RUNTIME, "optimizer: too many temporaries");
    return NULL;
  }
  return c->tmp[c->n++] = t;
}
static ax_tensor *K(comp *c, double v) {
  ax_tensor *t = NULL;
  return c->st ? NULL : keep(c, ax_full(NULL, 0, v, c->dt, &t, c->err), &t);
}
typedef ax_status (*bin_fn)(ax_tensor *, ax_tensor *, ax_tensor **, ax_err *);
static ax_tensor *B(comp *c, bin_fn f, ax_tensor *a, ax_tensor *b) {
  ax_tensor *t = NULL;
  return c->st ? NULL : keep(c, f(a, b, &t, c->err), &t);
}
static ax_tensor *U(comp *c, ax_status (*f)(ax_tensor *, ax_tensor **, ax_err *), ax_tensor *a) {
  ax_tensor *t = NULL;
  return c->st ? NULL : keep(c, f(a, &t, c->err), &t);
}
static void SET(comp *c, ax_tensor *dst, ax_tensor *v) {
  if (!c->st) c->st = ax_copy_(dst, v, c->err);
}
static ax_status comp_end(comp *c) {
  for (int i = 0; i < c->n; i++) ax_tensor_release(c->tmp[i]);
  return c->st;
}
static double item_or(comp *c, ax_tensor *t) {
  double v = 0;
  if (!c->st) c->st = ax_item_f64(t, &v, c->err);
  return v;
}
/* autograd and autocast off while an update is composed of rows */
typedef struct { int grad; ax_dtype autocast; } quiet;
static quiet quiet_begin(void) {
  quiet q = {ax_grad_enabled(), ax_autocast_dtype()};
  ax_set_grad_enabled(0);
  ax_autocast_set(AX_NDTYPES);
  return q;
}
static void quiet_end(quiet q) {
  ax_set_grad_enabled(q.grad);
  ax_autocast_set(q.autocast);
}

#define MUL(a, b) B(&c, ax_mul, a, b)
#define ADD(a, b) B(&c, ax_add, a, b)
#define DIV(a, b) B(&c, ax_div, a, b)

/* g, maximize-negated and with weight decay added, as the kernels start */
static ax_tensor *comp_grad(comp *c, const ax_optim_cfg *cfg, ax_tensor *p, ax_tensor *g) {
  if (cfg->maximize) g = U(c, ax_neg, g);
  if (cfg->weight_decay != 0) g = B(c, ax_add, g, B(c, ax_mul, K(c, cfg->weight_decay), p));
  return g;
}

/* The kernels' own argument checks, run with n = 0 (no element is touched), so that a composed
** step rejects exactly what the CPU kernel rejects, with the same message. */
static ax_status check_cfg(const ax_optim_cfg *c, int64_t step, ax_err *err) {
  switch (c->kind) {
  case AX_OPTIM_RMSPROP: {
    ax_nn_rmsprop_cfg k = {c->lr, c->alpha, c->eps, c->weight_decay, c->momentum, c->centered, c->maximize};
    return ax_nn_rmsprop_step_f64(&k, 0, NULL, NULL, NULL, NULL, NULL, err);
  }
  case AX_OPTIM_ADAGRAD: {
    ax_nn_adagrad_cfg k = {c->lr, c->lr_decay, c->weight_decay, c->eps, c->maximize};
    return ax_nn_adagrad_step_f64(&k, 0, NULL, NULL, NULL, step, err);
  }
  case AX_OPTIM_ADADELTA: {
    ax_nn_adadelta_cfg k = {c->lr, c->rho, c->eps, c->weight_decay, c->maximize};
    return ax_nn_adadelta_step_f64(&k, 0, NULL, NULL, NULL, NULL, err);
  }
  case AX_OPTIM_LAMB: {
    ax_nn_lamb_cfg k = {c->lr, c->beta1, c->beta2, c->eps, c->weight_decay};
    return ax_nn_lamb_step_f64(&k, 0, NULL, NULL, NULL, NULL, step, err);
  }
  default: return ax_err_set(err, AX_E_VALUE, "%s: no composed step", ax_optim_kind_name(c->kind));
  }
}

static ax_status step_composed(ax_optim *o, ax_optim_slot *s, ax_tensor *grad, ax_err *err) {
  const ax_optim_cfg *cf = &o->cfg;
  ax_tensor *p = s->param, **st = s->state;
  ax_status chk = check_cfg(cf, s->step, err);
  if (chk) return chk;
  comp c = {.err = err, .dt = p->dtype};
  switch (cf->kind) {
  case AX_OPTIM_RMSPROP: {
    ax_tensor *g = comp_grad(&c, cf, p, grad);
    ax_tensor *sq = ADD(MUL(st[0], K(&c, cf->alpha)), MUL(MUL(K(&c, 1 - cf->alpha), g), g)), *avg;
    SET(&c, st[0], sq);
    if (cf->centered) {
      ax_tensor *ga = ADD(MUL(st[1], K(&c, cf->alpha)), MUL(K(&c, 1 - cf->alpha), g));
      SET(&c, st[1], ga);
      avg = U(&c, ax_sqrt, ADD(sq, MUL(MUL(K(&c, -1), ga), ga)));
    } else {
      avg = U(&c, ax_sqrt, sq);
    }
    avg = ADD(avg, K(&c, cf->eps));
    if (cf->momentum > 0) {
      ax_tensor *b = ADD(MUL(st[2], K(&c, cf->momentum)), DIV(g, avg));
      SET(&c, st[2], b);
      SET(&c, p, ADD(p, MUL(K(&c, -cf->lr), b)));
    } else {
      SET(&c, p, ADD(p, MUL(K(&c, -cf->lr), DIV(g, avg))));
    }
    break;
  }
  case AX_OPTIM_ADAGRAD: {
    double clr = cf->lr / (1 + (double)(s->step - 1) * cf->lr_decay);
    ax_tensor *g = comp_grad(&c, cf, p, grad);
    ax_tensor *sum = ADD(st[0], MUL(g, g));
    SET(&c, st[0], sum);
    SET(&c, p, ADD(p, MUL(K(&c, -clr), DIV(g, ADD(U(&c, ax_sqrt, sum), K(&c, cf->eps))))));
    break;
  }
  case AX_OPTIM_ADADELTA: {
    ax_tensor *g = comp_grad(&c, cf, p, grad);
    ax_tensor *sq = ADD(MUL(st[0], K(&c, cf->rho)), MUL(MUL(K(&c, 1 - cf->rho), g), g));
    SET(&c, st[0], sq);
    ax_tensor *sd = U(&c, ax_sqrt, ADD(sq, K(&c, cf->eps)));
    ax_tensor *delta = MUL(DIV(U(&c, ax_sqrt, ADD(st[1], K(&c, cf->eps))), sd), g);
    SET(&c, st[1], ADD(MUL(st[1], K(&c, cf->rho)), MUL(MUL(K(&c, 1 - cf->rho), delta), delta)));
    SET(&c, p, ADD(p, MUL(K(&c, -cf->lr), delta)));
    break;
  }
  case AX_OPTIM_LAMB: {   /* no maximize; weight decay enters r, not g */
    ax_tensor *m = ADD(MUL(st[0], K(&c, cf->beta1)), MUL(K(&c, 1 - cf->beta1), grad));
    ax_tensor *v = ADD(MUL(st[1], K(&c, cf->beta2)), MUL(MUL(K(&c, 1 - cf->beta2), grad), grad));
    SET(&c, st[0], m);
    SET(&c, st[1], v);
    ax_tensor *bc1 = K(&c, 1 - pow(cf->beta1, (double)s->step)), *bc2 = K(&c, 1 - pow(cf->beta2, (double)s->step));
    ax_tensor *r = ADD(DIV(DIV(m, bc1), ADD(U(&c, ax_sqrt, DIV(v, bc2)), K(&c, cf->eps))), MUL(K(&c, cf->weight_decay), p));
    ax_tensor *pn_t = NULL, *rn_t = NULL;
    if (!c.st) keep(&c, ax_norm(p, 2, NULL, 0, 0, &pn_t, c.err), &pn_t);
    if (!c.st) keep(&c, ax_norm(r, 2, NULL, 0, 0, &rn_t, c.err), &rn_t);
    double pn = item_or(&c, pn_t), rn = item_or(&c, rn_t);
    double ratio = pn > 0 && rn > 0 ? pn / rn : 1.0;
    SET(&c, p, B(&c, ax_sub, p, MUL(K(&c, cf->lr * ratio), r)));
    break;
  }
  default: break;   /* check_cfg refused it */
  }
  return comp_end(&c);
}

ax_status ax_optim_step(ax_optim *o, ax_err *err) {
  if (o->n == 0)
    return ax_err_set(err, AX_E_VALUE, "%s: no parameters to update (a lazy network gets them at its first forward pass)",
                      ax_optim_kind_name(o->cfg.kind));
  for (int i = 0; i < o->n; i++) {
    ax_optim_slot *s = &o->slots[i];
    ax_tensor *p = s->param;
    if (!p->grad) continue;
    /* sgd, adam and adamw run as op rows on any backend with their kernels; the others call the
    ** CPU kernels on the CPU and are composed of elementwise rows elsewhere (step_composed) */
    int by_row = o->cfg.kind == AX_OPTIM_SGD || o->cfg.kind == AX_OPTIM_ADAM || o->cfg.kind == AX_OPTIM_ADAMW;
    int composed = !by_row && p->storage->device.type != AX_DEV_CPU;
    if (p->grad->ndim != p->ndim || memcmp(p->grad->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim) != 0) {
      char a[96], b[96];
      return ax_err_set(err, AX_E_SHAPE, "%s: parameter %d has shape %s but its gradient %s",
                        ax_optim_kind_name(o->cfg.kind), i, ax_shape_str(p->shape, p->ndim, a, sizeof a),
                        ax_shape_str(p->grad->shape, p->grad->ndim, b, sizeof b));
    }
    if (!ax_device_eq(p->grad->storage->device, p->storage->device)) {
      char a[32], b[32];
      ax_device_format(p->storage->device, a, sizeof a);
      ax_device_format(p->grad->storage->device, b, sizeof b);
      return ax_err_set(err, AX_E_DEVICE, "%s: parameter %d is on %s but its gradient on %s",
                        ax_optim_kind_name(o->cfg.kind), i, a, b);
    }
    ax_tensor *g = NULL, *gc = NULL;
    ax_status st = ax_cast(p->grad, p->dtype, &gc, err);
    if (!st) st = ax_contiguous(gc, &g, err);
    ax_tensor_release(gc);
    if (!st) st = ax_optim_ensure_state(o, i, err);
    if (!st) {
      s->step++;
      if (composed) {
        quiet q = quiet_begin();
        st = step_composed(o, s, g, err);
        quiet_end(q);
      } else {
        st = step_one(o, s, g, err);
        ax_bump_version(p);   /* an in-place write: graphs that saved p are now stale (ax_copy_ bumps it itself) */
      }
    }
    ax_tensor_release(g);
    if (st) return st;
  }
  o->steps++;
  return AX_OK;
}

/* ---- gradient clipping: the CPU kernels over contiguous CPU gradients; otherwise (gradients on
** a device, strided ones) the same arithmetic composed of rows: per-gradient norms (max |g| for
** inf, which keeps NaN), their norm, one download of the total, a multiply written back ---- */

/* The gradients to clip: float32 or float64, one type for all (the kernels' rule). *fast: all of
** them contiguous on the CPU. */
static ax_status clip_grads(const char *op, ax_tensor *const *params, int n, int *fast, ax_err *err) {
  int seen = 0;
  ax_dtype dt = AX_FLOAT32;
  *fast = 1;
  for (int i = 0; i < n; i++) {
    ax_tensor *g = params[i]->grad;
    if (!g) continue;
    if (g->dtype != AX_FLOAT32 && g->dtype != AX_FLOAT64)
      return ax_err_set(err, AX_E_DTYPE, "%s: gradient %d is %s; float32 and float64 gradients are supported", op, i,
                        ax_dtype_name(g->dtype));
    if (seen && g->dtype != dt) return ax_err_set(err, AX_E_DTYPE, "%s: gradients mix float32 and float64", op);
    dt = g->dtype;
    seen = 1;
    if (!ax_is_contiguous(g) || g->storage->device.type != AX_DEV_CPU) *fast = 0;
  }
  return AX_OK;
}

static ax_status clip_norm_composed(ax_tensor *const *params, int n, double max_norm, double norm_type, double *total,
                                    ax_err *err) {
  comp c = {.err = err};
  ax_tensor **norms = ax_calloc((size_t)(n ? n : 1), sizeof *norms), *all = NULL;
  if (!norms) return ax_err_set(err, AX_E_NOMEM, "clip_grad_norm: out of memory");
  int k = 0, inf = isinf(norm_type);
  for (int i = 0; i < n && !c.st; i++) {
    ax_tensor *g = params[i]->grad, *t = NULL;
    if (!g) continue;
    c.dt = g->dtype;
    ax_tensor *a = inf ? U(&c, ax_abs, g) : g;
    if (c.st) break;
    keep(&c, inf ? ax_max_all(a, &t, err) : ax_norm(g, norm_type, NULL, 0, 0, &t, err), &t);
    if (!c.st) norms[k++] = t;
  }
  if (!c.st && k) {
    ax_tensor *t = NULL, *f = NULL;
    keep(&c, ax_stack(norms, k, 0, &all, err), &all);
    if (!c.st) keep(&c, ax_cast(all, AX_FLOAT64, &f, err), &f);
    if (!c.st) keep(&c, inf ? ax_max_all(f, &t, err) : ax_norm(f, norm_type, NULL, 0, 0, &t, err), &t);
    *total = item_or(&c, t);
    const double coef = max_norm / (*total + 1e-6);
    if (!c.st && coef < 1)
      for (int i = 0; i < n && !c.st; i++) {
        ax_tensor *g = params[i]->grad;
        if (!g) continue;
        c.dt = g->dtype;
        SET(&c, g, B(&c, ax_mul, g, K(&c, coef)));
      }
  }
  ax_free(norms, (size_t)(n ? n : 1) * sizeof *norms);
  return comp_end(&c);
}

ax_status ax_clip_grad_norm(ax_tensor *const *params, int n, double max_norm, double norm_type, double *total,
                            ax_err *err) {
  *total = 0;
  if (max_norm < 0) return ax_err_set(err, AX_E_VALUE, "clip_grad_norm: max_norm must be >= 0, got %g", max_norm);
  if (!(norm_type > 0)) return ax_err_set(err, AX_E_VALUE, "clip_grad_norm: norm_type must be > 0, got %g", norm_type);
  int fast;
  ax_status st = clip_grads("clip_grad_norm", params, n, &fast, err);
  if (st) return st;
  if (!fast) {
    quiet q = quiet_begin();
    st = clip_norm_composed(params, n, max_norm, norm_type, total, err);
    quiet_end(q);
    return st;
  }
  void **bufs = ax_calloc((size_t)(n ? n : 1), sizeof(void *));
  int64_t *lens = ax_calloc((size_t)(n ? n : 1), sizeof(int64_t));
  int nb = 0;
  ax_dtype dt = AX_FLOAT32;
  if (!bufs || !lens) {
    st = ax_err_set(err, AX_E_NOMEM, "clip_grad_norm: out of memory");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    ax_tensor *g = params[i]->grad;
    if (!g) continue;
    dt = g->dtype;
    bufs[nb] = (char *)g->storage->data + g->offset * (int64_t)ax_dtype_size(g->dtype);
    lens[nb] = ax_numel(g);
    nb++;
  }
  if (nb) {
    st = dt == AX_FLOAT64 ? ax_nn_clip_grad_norm_f64(nb, (double *const *)bufs, lens, max_norm, norm_type, total, err)
                          : ax_nn_clip_grad_norm_f32(nb, (float *const *)bufs, lens, max_norm, norm_type, total, err);
    for (int i = 0; i < n && !st; i++)
      if (params[i]->grad) ax_bump_version(params[i]->grad);
  }
done:
  ax_free(bufs, sizeof(void *) * (size_t)(n ? n : 1));
  ax_free(lens, sizeof(int64_t) * (size_t)(n ? n : 1));
  return st;
}

ax_status ax_clip_grad_value(ax_tensor *const *params, int n, double clip, ax_err *err) {
  if (clip < 0) return ax_err_set(err, AX_E_VALUE, "clip_grad_value: clip value must be >= 0, got %g", clip);
  int fast;
  ax_status st = clip_grads("clip_grad_value", params, n, &fast, err);
  for (int i = 0; i < n && !st; i++) {
    ax_tensor *g = params[i]->grad;
    if (!g) continue;
    if (g->storage->device.type == AX_DEV_CPU && ax_is_contiguous(g)) {
      st = g->dtype == AX_FLOAT64 ? ax_nn_clip_grad_value_f64(ax_numel(g), DATA(g, double), clip, err)
                                  : ax_nn_clip_grad_value_f32(ax_numel(g), DATA(g, float), clip, err);
      ax_bump_version(g);
    } else {   /* the kernel's g > c / g < -c with c in g's type: clamp to [-(T)clip, (T)clip] */
      quiet q = quiet_begin();
      comp c = {.err = err, .dt = g->dtype};
      ax_tensor *hi = K(&c, clip), *lo = K(&c, -clip);
      SET(&c, g, B(&c, ax_minimum, B(&c, ax_maximum, g, lo), hi));
      st = comp_end(&c);
      quiet_end(q);
    }
  }
  return st;
}
