/* vm/lib_optim.c — the `optim` module: optimizers over runtime/optim, learning-rate schedules and
** gradient clipping. Parameters come from a network (its params() method) or a list of tensors.
** Invariant: a schedule only ever writes its optimizer's lr; it never touches the parameters. */
#include <math.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_optim.h"
#include "lib_optim.h"
#include "lib_tensor.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
  ax_optim *opt;
  ax_value params;   /* the list of parameter tensors (kept alive, returned by opt.params) */
  ax_value source;   /* the network, while its parameters are still to be collected (lazy shapes) */
} optim_box;

static void o_finalize(ax_vm *vm, void *data) {
  optim_box *b = data;
  ax_optim_free(b->opt);
  ax_free(b, sizeof *b);
}

static void o_mark(ax_vm *vm, void *data) {
  ax_vm_mark_value(vm, ((optim_box *)data)->params);
  ax_vm_mark_value(vm, ((optim_box *)data)->source);
}

/* A network that had no parameters when the optimizer was made has them after its first forward:
** collect them at the first step. */
bool ax_optim_resolve(ax_vm *vm, ax_value optv) {
  optim_box *b = ax_foreign_data(optv, &ax_optim_class);
  if (!b || b->opt->n || AX_IS_NIL(b->source)) return true;
  ax_value plist;
  if (!ax_collect_params(vm, ax_optim_kind_name(b->opt->cfg.kind), b->source, &plist)) return false;
  ax_list *l = AX_AS_LIST(plist);
  if (l->len == 0) return true;
  ax_vm_push_root(vm, plist);
  ax_tensor **ps = ax_calloc((size_t)l->len, sizeof(ax_tensor *));
  bool ok = ps != NULL;
  if (!ok) ax_vm_oom(vm);
  for (int64_t i = 0; ok && i < l->len; i++) ps[i] = ax_value_tensor(l->items[i]);
  ax_err e;
  ax_status st = ok ? ax_optim_set_params(b->opt, ps, (int)l->len, &e) : AX_OK;
  if (ps) ax_free(ps, sizeof(ax_tensor *) * (size_t)l->len);
  if (ok && st) ok = ax_raise_rt(vm, st, &e);
  if (ok) {
    b->params = plist;
    b->source = AX_NIL;
  }
  ax_vm_pop_root(vm, 1);
  return ok;
}

ax_optim *ax_value_optim(ax_value v) {
  optim_box *b = ax_foreign_data(v, &ax_optim_class);
  return b ? b->opt : NULL;
}

/* Parameters of m: a list of tensors, a single tensor, or anything with a params() method. */
bool ax_collect_params(ax_vm *vm, const char *fn, ax_value m, ax_value *list_out) {
  ax_value v = m;
  if (AX_IS_FOREIGN(m) && !ax_value_tensor(m)) {
    ax_foreign *f = AX_AS_FOREIGN(m);
    ax_value meth;
    ax_string *name = ax_str_cstr(vm, "params");
    if (!name) return false;
    int r = f->cls->get_field ? f->cls->get_field(vm, m, name, &meth) : AX_HOOK_MISSING;
    if (r == AX_HOOK_ERR) return false;
    if (r == AX_HOOK_MISSING)
      return ax_vm_raise(vm, "type", "%s: a %s has no params(); pass a network or a list of tensors", fn, f->cls->name);
    ax_vm_push_root(vm, meth);
    bool ok = ax_vm_call(vm, meth, 0, NULL, NULL, &v);
    ax_vm_pop_root(vm, 1);
    if (!ok) return false;
  }
  if (ax_value_tensor(v)) {
    ax_list *l = ax_list_new(vm, 1);
    if (!l || !ax_list_push(vm, l, v)) return false;
    v = ax_obj_value(l);
  }
  if (!AX_IS_LIST(v)) return ax_vm_raise(vm, "type", "%s: expected a network or a list of tensors, got %s", fn, ax_type_name(m));
  ax_list *l = AX_AS_LIST(v);
  for (int64_t i = 0; i < l->len; i++)
    if (!ax_value_tensor(l->items[i]))
      return ax_vm_raise(vm, "type", "%s: parameter %lld is a %s, not a tensor", fn, (long long)i, ax_type_name(l->items[i]));
  *list_out = v;
  return true;
}

static bool kw_num(ax_vm *vm, const char *fn, const ax_kw *kw, const char *name, double *out) {
  ax_value v;
  if (!ax_kw_get(kw, name, &v)) return true;
  if (AX_IS_INT(v)) *out = (double)v.as.i;
  else if (AX_IS_FLOAT(v)) *out = v.as.f;
  else return ax_vm_raise(vm, "type", "%s: %s: must be a number, got %s", fn, name, ax_type_name(v));
  return true;
}

static bool kw_flag(ax_vm *vm, const ax_kw *kw, const char *name, int *out) {
  ax_value v;
  bool b;
  if (!ax_kw_get(kw, name, &v)) return true;
  if (!ax_vm_truthy(vm, v, &b)) return false;
  *out = b;
  return true;
}

static bool make_optim(ax_vm *vm, ax_optim_kind kind, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = ax_optim_kind_name(kind);
  static const char *const allowed[] = {"lr", "momentum", "dampening", "weight_decay", "nesterov", "betas", "beta1",
                                        "beta2", "eps", "amsgrad", "alpha", "centered", "rho", "lr_decay",
                                        "initial_accumulator_value", "maximize", NULL};
  if (!ax_kw_check(vm, fn, kw, allowed) || !ax_arg_count(vm, fn, argc, 1, 1)) return false;
  ax_optim_cfg c;
  ax_optim_defaults(kind, &c);
  ax_value v;
  if (!kw_num(vm, fn, kw, "lr", &c.lr) || !kw_num(vm, fn, kw, "momentum", &c.momentum) ||
      !kw_num(vm, fn, kw, "dampening", &c.dampening) || !kw_num(vm, fn, kw, "weight_decay", &c.weight_decay) ||
      !kw_num(vm, fn, kw, "beta1", &c.beta1) || !kw_num(vm, fn, kw, "beta2", &c.beta2) ||
      !kw_num(vm, fn, kw, "eps", &c.eps) || !kw_num(vm, fn, kw, "alpha", &c.alpha) ||
      !kw_num(vm, fn, kw, "rho", &c.rho) || !kw_num(vm, fn, kw, "lr_decay", &c.lr_decay) ||
      !kw_num(vm, fn, kw, "initial_accumulator_value", &c.initial_accumulator) ||
      !kw_flag(vm, kw, "nesterov", &c.nesterov) || !kw_flag(vm, kw, "amsgrad", &c.amsgrad) ||
      !kw_flag(vm, kw, "centered", &c.centered) || !kw_flag(vm, kw, "maximize", &c.maximize))
    return false;
  if (ax_kw_get(kw, "betas", &v)) {
    if (!AX_IS_LIST(v) || AX_AS_LIST(v)->len != 2 || !AX_IS_NUM(AX_AS_LIST(v)->items[0]) ||
        !AX_IS_NUM(AX_AS_LIST(v)->items[1]))
      return ax_vm_raise(vm, "type", "%s: betas: must be a list of two numbers", fn);
    ax_value b0 = AX_AS_LIST(v)->items[0], b1 = AX_AS_LIST(v)->items[1];
    c.beta1 = AX_IS_INT(b0) ? (double)b0.as.i : b0.as.f;
    c.beta2 = AX_IS_INT(b1) ? (double)b1.as.i : b1.as.f;
  }
  ax_value plist;
  if (!ax_collect_params(vm, fn, args[0], &plist)) return false;
  ax_vm_push_root(vm, plist);
  ax_list *l = AX_AS_LIST(plist);
  ax_tensor **ps = ax_calloc((size_t)(l->len ? l->len : 1), sizeof(ax_tensor *));
  if (!ps) {
    ax_vm_pop_root(vm, 1);
    return ax_vm_oom(vm);
  }
  for (int64_t i = 0; i < l->len; i++) ps[i] = ax_value_tensor(l->items[i]);
  ax_optim *o = NULL;
  ax_err e;
  ax_status st = ax_optim_new(&c, ps, (int)l->len, &o, &e);
  ax_free(ps, sizeof(ax_tensor *) * (size_t)(l->len ? l->len : 1));
  if (st) {
    ax_vm_pop_root(vm, 1);
    return ax_raise_rt(vm, st, &e);
  }
  optim_box *b = ax_calloc(1, sizeof *b);
  if (!b) {
    ax_optim_free(o);
    ax_vm_pop_root(vm, 1);
    return ax_vm_oom(vm);
  }
  b->opt = o;
  b->params = plist;
  b->source = l->len == 0 && AX_IS_FOREIGN(args[0]) ? args[0] : AX_NIL;
  *out = ax_foreign_new(vm, &ax_optim_class, b);
  ax_vm_pop_root(vm, 1);
  if (AX_IS_NIL(*out)) {
    ax_optim_free(o);
    ax_free(b, sizeof *b);
    return false;
  }
  return true;
}

bool ax_optim_make(ax_vm *vm, ax_optim_kind kind, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return make_optim(vm, kind, args, argc, kw, out);
}

#define OPTIM_CTOR(name, KIND)                                                                  \
  static bool f_##name(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {   \
    return make_optim(vm, KIND, args, argc, kw, out);                                           \
  }
OPTIM_CTOR(sgd, AX_OPTIM_SGD)
OPTIM_CTOR(adam, AX_OPTIM_ADAM)
OPTIM_CTOR(adamw, AX_OPTIM_ADAMW)
OPTIM_CTOR(rmsprop, AX_OPTIM_RMSPROP)
OPTIM_CTOR(adagrad, AX_OPTIM_ADAGRAD)
OPTIM_CTOR(adadelta, AX_OPTIM_ADADELTA)
OPTIM_CTOR(lamb, AX_OPTIM_LAMB)

static bool om_step(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_optim_resolve(vm, args[0])) return false;
  ax_err e;
  ax_status st = ax_optim_step(ax_value_optim(args[0]), &e);
  *out = AX_NIL;
  return st ? ax_raise_rt(vm, st, &e) : true;
}

static bool om_zero_grad(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_optim_zero_grad(ax_value_optim(args[0]));
  *out = AX_NIL;
  return true;
}

static int o_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  optim_box *b = ax_foreign_data(self, &ax_optim_class);
  const char *n = name->chars;
  if (strcmp(n, "lr") == 0) { *out = ax_float(b->opt->cfg.lr); return AX_HOOK_OK; }
  if (strcmp(n, "steps") == 0) { *out = ax_int(b->opt->steps); return AX_HOOK_OK; }
  if (strcmp(n, "params") == 0) { *out = b->params; return AX_HOOK_OK; }
  if (strcmp(n, "kind") == 0) {
    *out = ax_str_value(vm, ax_optim_kind_name(b->opt->cfg.kind));
    return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
  }
  if (strcmp(n, "momentum") == 0) { *out = ax_float(b->opt->cfg.momentum); return AX_HOOK_OK; }
  if (strcmp(n, "weight_decay") == 0) { *out = ax_float(b->opt->cfg.weight_decay); return AX_HOOK_OK; }
  ax_native_fn fn = NULL;
  if (strcmp(n, "step") == 0) fn = om_step;
  else if (strcmp(n, "zero_grad") == 0) fn = om_zero_grad;
  if (!fn) return AX_HOOK_MISSING;
  ax_value nat = ax_native_new(vm, n, fn, 0, NULL);
  if (AX_IS_NIL(nat)) return AX_HOOK_ERR;
  ax_vm_push_root(vm, nat);
  *out = ax_bound_new(vm, self, nat);
  ax_vm_pop_root(vm, 1);
  return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
}

static int o_set_field(ax_vm *vm, ax_value self, ax_string *name, ax_value val) {
  optim_box *b = ax_foreign_data(self, &ax_optim_class);
  double d;
  if (AX_IS_INT(val)) d = (double)val.as.i;
  else if (AX_IS_FLOAT(val)) d = val.as.f;
  else return AX_HOOK_MISSING;
  if (strcmp(name->chars, "lr") == 0) {
    if (!(d >= 0)) return ax_vm_raise(vm, "value", "opt.lr must be >= 0, got %g", d) ? AX_HOOK_OK : AX_HOOK_ERR;
    b->opt->cfg.lr = d;
    return AX_HOOK_OK;
  }
  if (strcmp(name->chars, "momentum") == 0) { b->opt->cfg.momentum = d; return AX_HOOK_OK; }
  if (strcmp(name->chars, "weight_decay") == 0) { b->opt->cfg.weight_decay = d; return AX_HOOK_OK; }
  return AX_HOOK_MISSING;
}

static bool o_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  optim_box *b = ax_foreign_data(self, &ax_optim_class);
  ax_string *s = ax_str_fmt(vm, "<%s lr=%g, %d parameters>", ax_optim_kind_name(b->opt->cfg.kind), b->opt->cfg.lr,
                            b->opt->n);
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

const ax_foreign_class ax_optim_class = {
  .name = "optimizer",
  .finalize = o_finalize,
  .mark = o_mark,
  .tostring = o_tostring,
  .get_field = o_get_field,
  .set_field = o_set_field,
};

/* ---- schedules ---- */

typedef enum {
  S_STEP, S_MULTISTEP, S_EXPONENTIAL, S_COSINE, S_COSINE_RESTARTS, S_ONE_CYCLE, S_WARMUP_COSINE,
  S_WARMUP_INV_SQRT, S_DRIFT, S_PLATEAU, S_LAMBDA
} sched_kind;

typedef struct {
  sched_kind kind;
  ax_value opt;          /* the optimizer */
  ax_value fn;           /* lambda_lr's function */
  double base_lr;
  int64_t t;             /* steps taken (PyTorch's last_epoch) */
  double gamma, min_lr, max_lr, pct_start, div_factor, final_div, factor, threshold;
  int64_t every, total, warmup, period, mult, patience, cooldown, dim;
  int64_t *milestones;
  int nmilestones;
  double drift_from, drift_to;
  /* plateau */
  double best;
  int64_t bad_epochs, cooldown_left;
  int mode_max;
  bool per_batch;
} sched;

static void s_finalize(ax_vm *vm, void *data) {
  sched *s = data;
  ax_free(s->milestones, sizeof(int64_t) * (size_t)s->nmilestones);
  ax_free(s, sizeof *s);
}

static void s_mark(ax_vm *vm, void *data) {
  sched *s = data;
  ax_vm_mark_value(vm, s->opt);
  ax_vm_mark_value(vm, s->fn);
}

static bool sched_lr(ax_vm *vm, sched *s, double *lr) {
  double b = s->base_lr, t = (double)s->t;
  switch (s->kind) {
  case S_STEP: *lr = b * pow(s->gamma, floor(t / (double)s->every)); return true;
  case S_MULTISTEP: {
    int k = 0;
    for (int i = 0; i < s->nmilestones; i++)
      if (s->t >= s->milestones[i]) k++;
    *lr = b * pow(s->gamma, k);
    return true;
  }
  case S_EXPONENTIAL: *lr = b * pow(s->gamma, t); return true;
  case S_COSINE: {
    double tt = t > (double)s->total ? (double)s->total : t;
    *lr = s->min_lr + (b - s->min_lr) * (1 + cos(M_PI * tt / (double)s->total)) / 2;
    return true;
  }
  case S_COSINE_RESTARTS: {
    double ti = (double)s->period, tc = t;
    if (s->mult == 1) tc = fmod(t, ti);
    else {
      while (tc >= ti) { tc -= ti; ti *= (double)s->mult; }
    }
    *lr = s->min_lr + (b - s->min_lr) * (1 + cos(M_PI * tc / ti)) / 2;
    return true;
  }
  case S_ONE_CYCLE: {
    /* PyTorch OneCycleLR, two phases, cosine annealing; initial = max/div, final = initial/final_div. */
    double init = s->max_lr / s->div_factor, fin = init / s->final_div;
    double up = s->pct_start * (double)s->total - 1, down = (double)s->total - 1;
    double start, end, pct;
    if (t <= up) { start = init; end = s->max_lr; pct = up > 0 ? t / up : 1; }
    else { start = s->max_lr; end = fin; pct = down > up ? (t - up) / (down - up) : 1; }
    if (pct > 1) pct = 1;
    *lr = end + (start - end) / 2 * (1 + cos(M_PI * pct));
    return true;
  }
  case S_WARMUP_COSINE: {
    if (t < (double)s->warmup) { *lr = b * (t + 1) / (double)s->warmup; return true; }
    double span = (double)(s->total - s->warmup), p = span > 0 ? (t - (double)s->warmup) / span : 1;
    if (p > 1) p = 1;
    *lr = s->min_lr + (b - s->min_lr) * (1 + cos(M_PI * p)) / 2;
    return true;
  }
  case S_WARMUP_INV_SQRT: {
    /* Vaswani et al.: lr = base * d^-0.5 * min(s^-0.5, s * warmup^-1.5), s counted from 1. */
    double st = t + 1;
    double a = 1 / sqrt(st), c = st * pow((double)s->warmup, -1.5);
    *lr = b * pow((double)s->dim, -0.5) * (a < c ? a : c);
    return true;
  }
  case S_DRIFT: {
    double p = s->total > 0 ? t / (double)s->total : 1;
    if (p > 1) p = 1;
    *lr = s->drift_from + (s->drift_to - s->drift_from) * p;
    return true;
  }
  case S_PLATEAU: *lr = ax_value_optim(s->opt)->cfg.lr; return true;
  case S_LAMBDA: {
    ax_value arg = ax_int(s->t), r;
    if (!ax_vm_call(vm, s->fn, 1, &arg, NULL, &r)) return false;
    if (!AX_IS_NUM(r)) return ax_vm_raise(vm, "type", "lambda_lr: the function must return a number, got %s", ax_type_name(r));
    *lr = b * (AX_IS_INT(r) ? (double)r.as.i : r.as.f);
    return true;
  }
  }
  return true;
}

static bool apply_lr(ax_vm *vm, sched *s) {
  double lr;
  if (!sched_lr(vm, s, &lr)) return false;
  ax_value_optim(s->opt)->cfg.lr = lr;
  return true;
}

static bool plateau_step(ax_vm *vm, sched *s, ax_value metric) {
  double m;
  ax_tensor *t = ax_value_tensor(metric);
  if (AX_IS_INT(metric)) m = (double)metric.as.i;
  else if (AX_IS_FLOAT(metric)) m = metric.as.f;
  else if (t && ax_numel(t) == 1) {
    ax_err e;
    if (ax_item_f64(t, &m, &e)) return ax_raise_rt(vm, AX_E_VALUE, &e);
  } else {
    return ax_vm_raise(vm, "type", "plateau: step(metric) needs the metric as a number");
  }
  /* PyTorch ReduceLROnPlateau, threshold_mode "rel" */
  int better = s->mode_max ? m > s->best * (1 + s->threshold) : m < s->best * (1 - s->threshold);
  if (isnan(s->best) || better) {
    s->best = m;
    s->bad_epochs = 0;
  } else {
    s->bad_epochs++;
  }
  if (s->cooldown_left > 0) {
    s->cooldown_left--;
    s->bad_epochs = 0;
  }
  if (s->bad_epochs > s->patience) {
    ax_optim *o = ax_value_optim(s->opt);
    double nl = o->cfg.lr * s->factor;
    if (nl < s->min_lr) nl = s->min_lr;
    o->cfg.lr = nl;
    s->cooldown_left = s->cooldown;
    s->bad_epochs = 0;
  }
  return true;
}

static bool sm_step(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  sched *s = ax_foreign_data(args[0], &ax_sched_class);
  *out = AX_NIL;
  s->t++;
  if (s->kind == S_PLATEAU) {
    if (argc < 2) return ax_vm_raise(vm, "argument", "plateau: step(metric) needs the metric");
    return plateau_step(vm, s, args[1]);
  }
  return apply_lr(vm, s);
}

static int s_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  sched *s = ax_foreign_data(self, &ax_sched_class);
  const char *n = name->chars;
  if (strcmp(n, "lr") == 0) { *out = ax_float(ax_value_optim(s->opt)->cfg.lr); return AX_HOOK_OK; }
  if (strcmp(n, "steps") == 0 || strcmp(n, "last_epoch") == 0) { *out = ax_int(s->t); return AX_HOOK_OK; }
  if (strcmp(n, "per_batch") == 0) { *out = ax_bool(s->per_batch); return AX_HOOK_OK; }
  if (strcmp(n, "optimizer") == 0) { *out = s->opt; return AX_HOOK_OK; }
  if (strcmp(n, "base_lr") == 0) { *out = ax_float(s->base_lr); return AX_HOOK_OK; }
  if (strcmp(n, "step") != 0) return AX_HOOK_MISSING;
  ax_value nat = ax_native_new(vm, "step", sm_step, -1, NULL);
  if (AX_IS_NIL(nat)) return AX_HOOK_ERR;
  ax_vm_push_root(vm, nat);
  *out = ax_bound_new(vm, self, nat);
  ax_vm_pop_root(vm, 1);
  return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
}

static int s_set_field(ax_vm *vm, ax_value self, ax_string *name, ax_value val) {
  sched *s = ax_foreign_data(self, &ax_sched_class);
  if (strcmp(name->chars, "per_batch") == 0) {
    bool b;
    if (!ax_vm_truthy(vm, val, &b)) return AX_HOOK_ERR;
    s->per_batch = b;
    return AX_HOOK_OK;
  }
  return AX_HOOK_MISSING;
}

static const char *const sched_names[] = {"step_lr", "multistep", "exponential", "cosine", "cosine_restarts",
                                          "one_cycle", "warmup_cosine", "warmup_inv_sqrt", "drift", "plateau",
                                          "lambda_lr"};

static bool s_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  sched *s = ax_foreign_data(self, &ax_sched_class);
  ax_string *str = ax_str_fmt(vm, "<schedule %s, step %lld, lr=%g>", sched_names[s->kind], (long long)s->t,
                              ax_value_optim(s->opt)->cfg.lr);
  if (!str) return false;
  *out = ax_obj_value(str);
  return true;
}

const ax_foreign_class ax_sched_class = {
  .name = "schedule",
  .finalize = s_finalize,
  .mark = s_mark,
  .tostring = s_tostring,
  .get_field = s_get_field,
  .set_field = s_set_field,
};

static bool kw_int(ax_vm *vm, const char *fn, const ax_kw *kw, const char *name, int64_t *out, bool required) {
  ax_value v;
  if (!ax_kw_get(kw, name, &v)) {
    if (required) return ax_vm_raise(vm, "argument", "%s: missing %s:", fn, name);
    return true;
  }
  if (!AX_IS_INT(v)) return ax_vm_raise(vm, "type", "%s: %s: must be an int, got %s", fn, name, ax_type_name(v));
  *out = v.as.i;
  return true;
}

static bool make_sched(ax_vm *vm, sched_kind kind, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  const char *fn = sched_names[kind];
  if (argc < 1 || !ax_value_optim(args[0]))
    return ax_vm_raise(vm, "type", "%s: the first argument must be an optimizer", fn);
  sched *s = ax_calloc(1, sizeof *s);
  if (!s) return ax_vm_oom(vm);
  s->kind = kind;
  s->opt = args[0];
  s->fn = AX_NIL;
  s->base_lr = ax_value_optim(args[0])->cfg.lr;
  s->gamma = 0.1;
  s->every = 1;
  s->div_factor = 25;
  s->final_div = 1e4;
  s->pct_start = 0.3;
  s->factor = 0.1;
  s->patience = 10;
  s->threshold = 1e-4;
  s->period = 1;
  s->mult = 1;
  s->best = NAN;
  s->drift_from = s->base_lr;
  bool ok = true;
  ax_value v;
  switch (kind) {
  case S_STEP:
    ok = kw_int(vm, fn, kw, "every", &s->every, false) && kw_int(vm, fn, kw, "step_size", &s->every, false) &&
         kw_num(vm, fn, kw, "gamma", &s->gamma);
    if (ok && s->every < 1) ok = ax_vm_raise(vm, "value", "step_lr: every: must be >= 1");
    break;
  case S_MULTISTEP:
    ok = kw_num(vm, fn, kw, "gamma", &s->gamma);
    if (ok && (!ax_kw_get(kw, "milestones", &v) || !AX_IS_LIST(v))) {
      ok = ax_vm_raise(vm, "argument", "multistep: milestones: must be a list of ints");
    } else if (ok) {
      ax_list *l = AX_AS_LIST(v);
      s->milestones = ax_calloc((size_t)(l->len ? l->len : 1), sizeof(int64_t));
      if (!s->milestones) { ok = ax_vm_oom(vm); break; }
      s->nmilestones = (int)l->len;
      for (int64_t i = 0; i < l->len && ok; i++) {
        if (!AX_IS_INT(l->items[i])) ok = ax_vm_raise(vm, "type", "multistep: milestones must be ints");
        else s->milestones[i] = l->items[i].as.i;
      }
    }
    break;
  case S_EXPONENTIAL: ok = kw_num(vm, fn, kw, "gamma", &s->gamma); break;
  case S_COSINE:
    ok = kw_int(vm, fn, kw, "total", &s->total, false) && kw_int(vm, fn, kw, "t_max", &s->total, false) &&
         kw_num(vm, fn, kw, "min_lr", &s->min_lr);
    if (ok && s->total < 1) ok = ax_vm_raise(vm, "argument", "cosine: total: (number of steps) must be >= 1");
    break;
  case S_COSINE_RESTARTS:
    ok = kw_int(vm, fn, kw, "period", &s->period, false) && kw_int(vm, fn, kw, "t0", &s->period, false) &&
         kw_int(vm, fn, kw, "mult", &s->mult, false) && kw_num(vm, fn, kw, "min_lr", &s->min_lr);
    if (ok && (s->period < 1 || s->mult < 1)) ok = ax_vm_raise(vm, "value", "cosine_restarts: period and mult must be >= 1");
    break;
  case S_ONE_CYCLE:
    s->max_lr = s->base_lr;
    ok = kw_num(vm, fn, kw, "max_lr", &s->max_lr) && kw_int(vm, fn, kw, "total", &s->total, true) &&
         kw_num(vm, fn, kw, "pct_start", &s->pct_start) && kw_num(vm, fn, kw, "div_factor", &s->div_factor) &&
         kw_num(vm, fn, kw, "final_div_factor", &s->final_div);
    if (ok && s->total < 2) ok = ax_vm_raise(vm, "value", "one_cycle: total: must be >= 2");
    s->per_batch = true;
    break;
  case S_WARMUP_COSINE:
    ok = kw_int(vm, fn, kw, "warmup", &s->warmup, true) && kw_int(vm, fn, kw, "total", &s->total, true) &&
         kw_num(vm, fn, kw, "min_lr", &s->min_lr);
    if (ok && (s->warmup < 1 || s->total < 1))
      ok = ax_vm_raise(vm, "value", "warmup_cosine: warmup and total must be >= 1");
    s->per_batch = true;
    break;
  case S_WARMUP_INV_SQRT:
    s->dim = 1;
    ok = kw_int(vm, fn, kw, "warmup", &s->warmup, true) && kw_int(vm, fn, kw, "dim", &s->dim, false);
    if (ok && (s->warmup < 1 || s->dim < 1)) ok = ax_vm_raise(vm, "value", "warmup_inv_sqrt: warmup and dim must be >= 1");
    s->per_batch = true;
    break;
  case S_DRIFT:
    ok = kw_num(vm, fn, kw, "to", &s->drift_to) && kw_int(vm, fn, kw, "steps", &s->total, true);
    if (ok && !ax_kw_get(kw, "to", &v)) ok = ax_vm_raise(vm, "argument", "drift: missing to:");
    s->per_batch = true;
    break;
  case S_PLATEAU: {
    ax_value mv;
    ok = kw_num(vm, fn, kw, "factor", &s->factor) && kw_int(vm, fn, kw, "patience", &s->patience, false) &&
         kw_num(vm, fn, kw, "threshold", &s->threshold) && kw_num(vm, fn, kw, "min_lr", &s->min_lr) &&
         kw_int(vm, fn, kw, "cooldown", &s->cooldown, false);
    if (ok && ax_kw_get(kw, "mode", &mv)) {
      if (AX_IS_STRING(mv) && strcmp(AX_AS_STRING(mv)->chars, "max") == 0) s->mode_max = 1;
      else if (!(AX_IS_STRING(mv) && strcmp(AX_AS_STRING(mv)->chars, "min") == 0))
        ok = ax_vm_raise(vm, "value", "plateau: mode: must be \"min\" or \"max\"");
    }
    if (ok && s->factor >= 1) ok = ax_vm_raise(vm, "value", "plateau: factor: must be < 1");
    break;
  }
  case S_LAMBDA:
    if (argc < 2) ok = ax_vm_raise(vm, "argument", "lambda_lr(opt, fn)");
    else s->fn = args[1];
    break;
  }
  if (ok) {
    ax_value sv = ax_foreign_new(vm, &ax_sched_class, s);
    if (AX_IS_NIL(sv)) {
      ax_free(s->milestones, sizeof(int64_t) * (size_t)s->nmilestones);
      ax_free(s, sizeof *s);
      return false;
    }
    ax_vm_push_root(vm, sv);
    ok = kind == S_PLATEAU ? true : apply_lr(vm, s);   /* the lr at step 0, as PyTorch's constructor */
    ax_vm_pop_root(vm, 1);
    *out = sv;
    return ok;
  }
  ax_free(s->milestones, sizeof(int64_t) * (size_t)s->nmilestones);
  ax_free(s, sizeof *s);
  return false;
}

#define SCHED_CTOR(name, KIND)                                                                  \
  static bool f_##name(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {   \
    return make_sched(vm, KIND, args, argc, kw, out);                                           \
  }
SCHED_CTOR(step_lr, S_STEP)
SCHED_CTOR(multistep, S_MULTISTEP)
SCHED_CTOR(exponential, S_EXPONENTIAL)
SCHED_CTOR(cosine, S_COSINE)
SCHED_CTOR(cosine_restarts, S_COSINE_RESTARTS)
SCHED_CTOR(one_cycle, S_ONE_CYCLE)
SCHED_CTOR(warmup_cosine, S_WARMUP_COSINE)
SCHED_CTOR(warmup_inv_sqrt, S_WARMUP_INV_SQRT)
SCHED_CTOR(drift, S_DRIFT)
SCHED_CTOR(plateau, S_PLATEAU)
SCHED_CTOR(lambda_lr, S_LAMBDA)

/* ---- clipping ---- */

static bool params_array(ax_vm *vm, const char *fn, ax_value m, ax_tensor ***ps, int *n, ax_value *list) {
  if (!ax_collect_params(vm, fn, m, list)) return false;
  ax_list *l = AX_AS_LIST(*list);
  *n = (int)l->len;
  *ps = ax_calloc((size_t)(*n ? *n : 1), sizeof(ax_tensor *));
  if (!*ps) return ax_vm_oom(vm);
  for (int i = 0; i < *n; i++) (*ps)[i] = ax_value_tensor(l->items[i]);
  return true;
}

static bool f_clip_grad_norm(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double max_norm, p = 2;
  ax_value v, list;
  if (!ax_arg_count(vm, "clip_grad_norm", argc, 2, 2) || !ax_arg_num(vm, "clip_grad_norm", args, argc, 1, &max_norm))
    return false;
  if (ax_kw_get(kw, "norm_type", &v)) {
    if (AX_IS_STRING(v) && strcmp(AX_AS_STRING(v)->chars, "inf") == 0) p = INFINITY;
    else if (!kw_num(vm, "clip_grad_norm", kw, "norm_type", &p)) return false;
  }
  ax_tensor **ps;
  int n;
  if (!params_array(vm, "clip_grad_norm", args[0], &ps, &n, &list)) return false;
  double total;
  ax_err e;
  ax_status st = ax_clip_grad_norm(ps, n, max_norm, p, &total, &e);
  ax_free(ps, sizeof(ax_tensor *) * (size_t)(n ? n : 1));
  if (st) return ax_raise_rt(vm, st, &e);
  *out = ax_float(total);
  return true;
}

static bool f_clip_grad_value(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double clip;
  ax_value list;
  if (!ax_arg_count(vm, "clip_grad_value", argc, 2, 2) || !ax_arg_num(vm, "clip_grad_value", args, argc, 1, &clip))
    return false;
  ax_tensor **ps;
  int n;
  if (!params_array(vm, "clip_grad_value", args[0], &ps, &n, &list)) return false;
  ax_err e;
  ax_status st = ax_clip_grad_value(ps, n, clip, &e);
  ax_free(ps, sizeof(ax_tensor *) * (size_t)(n ? n : 1));
  *out = AX_NIL;
  return st ? ax_raise_rt(vm, st, &e) : true;
}

static const ax_native_reg optim_fns[] = {
  {"sgd", f_sgd, -1},
  {"adam", f_adam, -1},
  {"adamw", f_adamw, -1},
  {"rmsprop", f_rmsprop, -1},
  {"adagrad", f_adagrad, -1},
  {"adadelta", f_adadelta, -1},
  {"lamb", f_lamb, -1},
  {"step_lr", f_step_lr, -1},
  {"multistep", f_multistep, -1},
  {"exponential", f_exponential, -1},
  {"cosine", f_cosine, -1},
  {"cosine_restarts", f_cosine_restarts, -1},
  {"one_cycle", f_one_cycle, -1},
  {"warmup_cosine", f_warmup_cosine, -1},
  {"warmup_inv_sqrt", f_warmup_inv_sqrt, -1},
  {"drift", f_drift, -1},
  {"plateau", f_plateau, -1},
  {"lambda_lr", f_lambda_lr, -1},
  {"clip_grad_norm", f_clip_grad_norm, -1},
  {"clip_grad_value", f_clip_grad_value, -1},
  {NULL, NULL, 0},
};

/* clip_grad_norm and clip_grad_value are also in the prelude (charlm.anx calls them bare). */
static const ax_native_reg optim_prelude[] = {
  {"clip_grad_norm", f_clip_grad_norm, -1},
  {"clip_grad_value", f_clip_grad_value, -1},
  {NULL, NULL, 0},
};

bool ax_lib_optim_open(ax_vm *vm) {
  return ax_vm_register_module(vm, "optim", optim_fns) && ax_vm_register_globals(vm, optim_prelude);
}
