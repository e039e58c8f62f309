/* vm/lib_amp.c — mixed precision in the language: autocast(fn, dtype:) runs fn with the runtime's
** autocast on (runtime/ax_autocast.c), grad_scaler(opt, ...) is torch.amp.GradScaler over an optimizer
** (runtime/optim/ax_scaler.c). Invariant: autocast restores the previous state however fn ends. */
#include "lib_amp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"
#include "lib_optim.h"
#include "lib_tensor.h"

/* ---- autocast ---- */

static bool callable(ax_value v) {
  if (ax_is_kind(v, AX_O_CLOSURE) || ax_is_kind(v, AX_O_NATIVE) || ax_is_kind(v, AX_O_BOUND)) return true;
  return AX_IS_FOREIGN(v) && AX_AS_FOREIGN(v)->cls->call != NULL;
}

ax_dtype ax_amp_default_dtype(ax_vm *vm) {
  return ax_vm_device(vm).type == AX_DEV_CUDA ? AX_FLOAT16 : AX_BFLOAT16;   /* torch.autocast's defaults */
}

bool ax_amp_dtype(ax_vm *vm, const char *fn, const char *what, ax_value v, ax_dtype *out) {
  *out = AX_NDTYPES;
  if (AX_IS_NIL(v) || (AX_IS_BOOL(v) && !v.as.b)) return true;
  if (AX_IS_BOOL(v)) {
    *out = ax_amp_default_dtype(vm);
    return true;
  }
  ax_dtype dt;
  if (AX_IS_STRING(v) && ax_dtype_parse(AX_AS_STRING(v)->chars, &dt) && (dt == AX_FLOAT16 || dt == AX_BFLOAT16)) {
    *out = dt;
    return true;
  }
  const char *bools = strcmp(what, "dtype") ? ", true or false" : "";
  if (AX_IS_STRING(v))
    return ax_vm_raise(vm, "value", "%s: %s: must be \"float16\", \"bfloat16\"%s, got \"%s\"", fn, what, bools,
                       AX_AS_STRING(v)->chars);
  return ax_vm_raise(vm, "type", "%s: %s: must be \"float16\", \"bfloat16\"%s, got %s", fn, what, bools, ax_type_name(v));
}

/* autocast(fn, dtype: "bfloat16", enabled: true) or autocast("float16", fn): fn() under autocast */
static bool f_autocast(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"dtype", "enabled", NULL};
  if (!ax_kw_check(vm, "autocast", kw, allowed) || !ax_arg_count(vm, "autocast", argc, 1, 2)) return false;
  ax_value body = args[argc - 1], dv = AX_NIL, v;
  if (argc == 2) dv = args[0];
  if (ax_kw_get(kw, "dtype", &v)) {
    if (argc == 2) return ax_vm_raise(vm, "argument", "autocast: dtype given twice");
    dv = v;
  }
  if (!callable(body)) return ax_vm_raise(vm, "type", "autocast: expected a function to run, got %s", ax_type_name(body));
  ax_dtype dt = ax_amp_default_dtype(vm);
  if (!AX_IS_NIL(dv)) {
    if (!AX_IS_STRING(dv)) return ax_vm_raise(vm, "type", "autocast: dtype must be a string, got %s", ax_type_name(dv));
    if (!ax_dtype_parse(AX_AS_STRING(dv)->chars, &dt) || (dt != AX_FLOAT16 && dt != AX_BFLOAT16))
      return ax_vm_raise(vm, "value", "autocast: dtype must be \"float16\" or \"bfloat16\", got \"%s\"",
                         AX_AS_STRING(dv)->chars);
  }
  bool enabled = true;
  if (ax_kw_get(kw, "enabled", &v) && !ax_vm_truthy(vm, v, &enabled)) return false;
  ax_dtype prev = ax_autocast_dtype();
  ax_autocast_set(enabled ? dt : AX_NDTYPES);
  bool ok = ax_vm_call(vm, body, 0, NULL, NULL, out);
  ax_autocast_set(prev);
  return ok;
}

/* ---- grad_scaler ---- */

typedef struct {
  ax_grad_scaler s;
  ax_value opt;   /* the optimizer it steps */
} scaler_box;

static void sc_finalize(ax_vm *vm, void *data) { ax_free(data, sizeof(scaler_box)); }
static void sc_mark(ax_vm *vm, void *data) { ax_vm_mark_value(vm, ((scaler_box *)data)->opt); }

ax_grad_scaler *ax_value_scaler(ax_value v, ax_value *opt) {
  scaler_box *b = ax_foreign_data(v, &ax_scaler_class);
  if (b && opt) *opt = b->opt;
  return b ? &b->s : NULL;
}

static bool new_scaler(ax_vm *vm, ax_value optv, const ax_grad_scaler *s, ax_value *out) {
  scaler_box *b = ax_malloc(sizeof *b);
  if (!b) return ax_vm_oom(vm);
  b->s = *s;
  b->opt = optv;
  *out = ax_foreign_new(vm, &ax_scaler_class, b);
  if (AX_IS_NIL(*out)) {
    ax_free(b, sizeof *b);
    return false;
  }
  return true;
}

bool ax_scaler_make(ax_vm *vm, ax_value optv, ax_value *out) {
  ax_grad_scaler s;
  ax_grad_scaler_init(&s);
  return new_scaler(vm, optv, &s, out);
}

static bool num_kw(ax_vm *vm, const ax_kw *kw, const char *name, double *out) {
  ax_value v;
  if (!ax_kw_get(kw, name, &v)) return true;
  if (AX_IS_INT(v)) *out = (double)v.as.i;
  else if (AX_IS_FLOAT(v)) *out = v.as.f;
  else return ax_vm_raise(vm, "type", "grad_scaler: %s must be a number, got %s", name, ax_type_name(v));
  return true;
}

static bool f_grad_scaler(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"init_scale", "growth_factor", "backoff_factor", "growth_interval", "enabled", NULL};
  if (!ax_kw_check(vm, "grad_scaler", kw, allowed) || !ax_arg_count(vm, "grad_scaler", argc, 1, 1)) return false;
  if (!ax_value_optim(args[0]))
    return ax_vm_raise(vm, "type", "grad_scaler: the first argument must be an optimizer, got %s", ax_type_name(args[0]));
  ax_grad_scaler s;
  ax_grad_scaler_init(&s);
  ax_value v;
  if (!num_kw(vm, kw, "init_scale", &s.scale) || !num_kw(vm, kw, "growth_factor", &s.growth_factor) ||
      !num_kw(vm, kw, "backoff_factor", &s.backoff_factor))
    return false;
  if (ax_kw_get(kw, "growth_interval", &v)) {
    if (!AX_IS_INT(v))
      return ax_vm_raise(vm, "type", "grad_scaler: growth_interval must be an int >= 1, got %s", ax_type_name(v));
    s.growth_interval = v.as.i;
  }
  bool en = true;
  if (ax_kw_get(kw, "enabled", &v) && !ax_vm_truthy(vm, v, &en)) return false;
  s.enabled = en;
  ax_err e;
  ax_status st = ax_grad_scaler_check(&s, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  return new_scaler(vm, args[0], &s, out);
}

#define SELF_SC ((scaler_box *)ax_foreign_data(args[0], &ax_scaler_class))

/* The optimizer of s.step([opt]) / s.unscale([opt]): the scaler's own (with its lazy parameters collected). */
static bool own_opt(ax_vm *vm, const char *fn, ax_value *args, int argc, ax_optim **out) {
  scaler_box *b = SELF_SC;
  if (!ax_arg_count(vm, fn, argc, 1, 2)) return false;
  if (argc > 1 && !(AX_IS_FOREIGN(args[1]) && AX_AS_FOREIGN(args[1]) == AX_AS_FOREIGN(b->opt)))
    return ax_vm_raise(vm, "value", "grad_scaler.%s: this scaler belongs to another optimizer", fn);
  if (!ax_optim_resolve(vm, b->opt)) return false;
  *out = ax_value_optim(b->opt);
  return true;
}

static bool sm_scale(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "scale", argc, 2, 2)) return false;
  ax_tensor *loss = ax_value_tensor(args[1]), *r = NULL;
  if (!loss) return ax_vm_raise(vm, "type", "grad_scaler.scale: expected a tensor, got %s", ax_type_name(args[1]));
  ax_err e;
  ax_status st = ax_grad_scaler_scale(&SELF_SC->s, loss, &r, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  if (r == loss) {   /* disabled: the loss itself */
    ax_tensor_release(r);
    *out = args[1];
    return true;
  }
  return ax_push_tensor(vm, r, out);
}

static bool sm_unscale(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_optim *o;
  if (!own_opt(vm, "unscale", args, argc, &o)) return false;
  ax_err e;
  ax_status st = ax_grad_scaler_unscale(&SELF_SC->s, o, &e);
  *out = AX_NIL;
  return st ? ax_raise_rt(vm, st, &e) : true;
}

static bool sm_step(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_optim *o;
  if (!own_opt(vm, "step", args, argc, &o)) return false;
  ax_err e;
  int stepped = 0;
  ax_status st = ax_grad_scaler_step(&SELF_SC->s, o, &stepped, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = ax_bool(stepped);
  return true;
}

static bool sm_update(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "update", argc, 1, 2)) return false;
  scaler_box *b = SELF_SC;
  *out = AX_NIL;
  if (argc > 1) {
    double v;
    if (AX_IS_INT(args[1])) v = (double)args[1].as.i;
    else if (AX_IS_FLOAT(args[1])) v = args[1].as.f;
    else return ax_vm_raise(vm, "type", "grad_scaler.update: new_scale must be a number, got %s", ax_type_name(args[1]));
    if (!(v > 0) || !isfinite((float)v)) return ax_vm_raise(vm, "value", "grad_scaler.update: new_scale must be > 0, got %g", v);
    ax_grad_scaler_set_scale(&b->s, v);
    return true;
  }
  ax_err e;
  ax_status st = ax_grad_scaler_update(&b->s, &e);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

static bool sm_get_scale(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  scaler_box *b = SELF_SC;
  *out = ax_float(b->s.enabled ? b->s.scale : 1.0);   /* PyTorch: 1.0 when disabled */
  return true;
}

static bool sm_is_enabled(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  *out = ax_bool(SELF_SC->s.enabled);
  return true;
}

bool ax_scaler_state_dict(ax_vm *vm, const ax_grad_scaler *s, ax_value *out) {
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  *out = ax_obj_value(m);
  ax_vm_push_root(vm, *out);
  bool ok = ax_map_set_str(vm, m, "scale", ax_float(s->scale)) &&
            ax_map_set_str(vm, m, "growth_factor", ax_float(s->growth_factor)) &&
            ax_map_set_str(vm, m, "backoff_factor", ax_float(s->backoff_factor)) &&
            ax_map_set_str(vm, m, "growth_interval", ax_int(s->growth_interval)) &&
            ax_map_set_str(vm, m, "_growth_tracker", ax_int(s->growth_tracker));
  ax_vm_pop_root(vm, 1);
  return ok;
}

static bool sm_state_dict(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return ax_scaler_state_dict(vm, &SELF_SC->s, out);
}

/* PyTorch's state_dict keys; missing ones keep their value, the result must pass the range checks */
static bool sm_load_state_dict(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "load_state_dict", argc, 2, 2)) return false;
  if (!AX_IS_MAP(args[1]))
    return ax_vm_raise(vm, "type", "grad_scaler.load_state_dict: expected a map, got %s", ax_type_name(args[1]));
  scaler_box *b = SELF_SC;
  ax_grad_scaler s = b->s;
  static const char *const fkeys[] = {"scale", "growth_factor", "backoff_factor"};
  double *fvals[] = {&s.scale, &s.growth_factor, &s.backoff_factor};
  static const char *const ikeys[] = {"growth_interval", "_growth_tracker"};
  int64_t *ivals[] = {&s.growth_interval, &s.growth_tracker};
  ax_value v;
  for (int i = 0; i < 3; i++)
    if (ax_map_get_str(vm, AX_AS_MAP(args[1]), fkeys[i], &v)) {
      if (!AX_IS_NUM(v)) return ax_vm_raise(vm, "type", "grad_scaler.load_state_dict: %s must be a number", fkeys[i]);
      *fvals[i] = AX_IS_INT(v) ? (double)v.as.i : v.as.f;
    }
  for (int i = 0; i < 2; i++)
    if (ax_map_get_str(vm, AX_AS_MAP(args[1]), ikeys[i], &v)) {
      if (!AX_IS_INT(v)) return ax_vm_raise(vm, "type", "grad_scaler.load_state_dict: %s must be an int", ikeys[i]);
      *ivals[i] = v.as.i;
    }
  ax_err e;
  ax_status st = ax_grad_scaler_check(&s, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  s.found_inf = 0;
  s.stage = AX_SCALER_READY;
  b->s = s;
  *out = AX_NIL;
  return true;
}

static const struct {
  const char *name;
  ax_native_fn fn;
  int arity;
} scaler_methods[] = {
  {"scale", sm_scale, 1},          {"unscale", sm_unscale, -1},         {"step", sm_step, -1},
  {"update", sm_update, -1},       {"get_scale", sm_get_scale, 0},      {"is_enabled", sm_is_enabled, 0},
  {"state_dict", sm_state_dict, 0}, {"load_state_dict", sm_load_state_dict, 1},
};

static int sc_get_field(ax_vm *vm, ax_value self, ax_string *name, ax_value *out) {
  scaler_box *b = ax_foreign_data(self, &ax_scaler_class);
  const char *n = name->chars;
  if (!strcmp(n, "growth_factor")) { *out = ax_float(b->s.growth_factor); return AX_HOOK_OK; }
  if (!strcmp(n, "backoff_factor")) { *out = ax_float(b->s.backoff_factor); return AX_HOOK_OK; }
  if (!strcmp(n, "growth_interval")) { *out = ax_int(b->s.growth_interval); return AX_HOOK_OK; }
  if (!strcmp(n, "optimizer")) { *out = b->opt; return AX_HOOK_OK; }
  for (size_t i = 0; i < sizeof scaler_methods / sizeof scaler_methods[0]; i++) {
    if (strcmp(n, scaler_methods[i].name)) continue;
    ax_value nat = ax_native_new(vm, n, scaler_methods[i].fn, scaler_methods[i].arity, NULL);
    if (AX_IS_NIL(nat)) return AX_HOOK_ERR;
    ax_vm_push_root(vm, nat);
    *out = ax_bound_new(vm, self, nat);
    ax_vm_pop_root(vm, 1);
    return AX_IS_NIL(*out) ? AX_HOOK_ERR : AX_HOOK_OK;
  }
  return AX_HOOK_MISSING;
}

static bool sc_tostring(ax_vm *vm, ax_value self, ax_value *out) {
  scaler_box *b = ax_foreign_data(self, &ax_scaler_class);
  ax_string *s = b->s.enabled ? ax_str_fmt(vm, "<grad_scaler scale=%g, growth x%g every %lld steps, backoff x%g>", b->s.scale,
                                           b->s.growth_factor, (long long)b->s.growth_interval, b->s.backoff_factor)
                              : ax_str_fmt(vm, "<grad_scaler disabled>");
  if (!s) return false;
  *out = ax_obj_value(s);
  return true;
}

const ax_foreign_class ax_scaler_class = {
  .name = "grad_scaler",
  .finalize = sc_finalize,
  .mark = sc_mark,
  .tostring = sc_tostring,
  .get_field = sc_get_field,
};

static const ax_native_reg amp_prelude[] = {
  {"autocast", f_autocast, -1},
  {"grad_scaler", f_grad_scaler, -1},
  {NULL, NULL, 0},
};

bool ax_lib_amp_open(ax_vm *vm) { return ax_vm_register_globals(vm, amp_prelude); }
