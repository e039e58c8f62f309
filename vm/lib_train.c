/* vm/lib_train.c — training end to end: train() with defaults from network keys, per-epoch stats,
** validation, callbacks (progress, early_stopping, checkpoint_best, checkpoint_every, csv_log,
** reduce_on_plateau), regularizers, evaluate(), infer(), checkpoint()/restore() and plot().
** Invariant: every file written here goes through ax_file_write_atomic (or safetensors' save, which
** does); Ctrl-C during train() finishes the batch, saves the configured checkpoint and exits 130. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ax_io.h"
#include "ax_mem.h"
#include "ax_ops.h"
#include "ax_optim.h"
#include "ax_vmint.h"
#include "debug.h"
#include "lib_amp.h"
#include "lib_data.h"
#include "lib_nn.h"
#include "lib_optim.h"
#include "lib_tensor.h"
#include "net.h"
#include "lib_train.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool get_global(ax_vm *vm, const char *name, ax_value *out) {
  ax_string *k = ax_str_cstr(vm, name);
  ax_value slot;
  if (!k || !ax_table_get_str(&vm->builtins->names, k, &slot) || !AX_IS_INT(slot)) return false;
  *out = vm->builtins->vars[slot.as.i];
  return !AX_IS_UNDEF(*out);
}

static const char *sym_of(ax_value v) {
  if (AX_IS_STRING(v)) return AX_AS_STRING(v)->chars;
  if (ax_is_kind(v, AX_O_NATIVE)) return AX_AS_NATIVE(v)->name->chars;
  return NULL;
}

static bool kw_num(ax_vm *vm, const char *fn, const ax_kw *kw, const char *name, double *out) {
  ax_value v;
  if (!ax_kw_get(kw, name, &v) || AX_IS_NIL(v)) return true;
  if (AX_IS_INT(v)) *out = (double)v.as.i;
  else if (AX_IS_FLOAT(v)) *out = v.as.f;
  else return ax_vm_raise(vm, "type", "%s: %s: must be a number, got %s", fn, name, ax_type_name(v));
  return true;
}

/* ---- losses ---- */

typedef struct {
  ax_value fn;      /* callable(out, y) -> loss */
  int is_ce;        /* cross-entropy family: logits, class targets, accuracy */
  const char *name;
} loss_spec;

static bool resolve_loss(ax_vm *vm, const char *fn, ax_value v, ax_tensor *y, loss_spec *ls) {
  static const char *const names[] = {"cross_entropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
                                      "nll", "mse", "l1", "mae", "smooth_l1", "huber", "bce", "binary_crossentropy",
                                      "bce_logits", NULL};
  ls->is_ce = 0;
  if (AX_IS_NIL(v)) {
    /* default: cross-entropy for integer class targets, else mean squared error */
    const char *d = y && !ax_dtype_is_float(y->dtype) ? "cross_entropy" : "mse";
    v = ax_str_value(vm, d);
  }
  const char *s = sym_of(v);
  if (s) {
    int known = 0;
    for (int i = 0; names[i]; i++)
      if (!strcmp(s, names[i])) known = 1;
    if (!known && AX_IS_STRING(v))
      return ax_vm_raise(vm, "value", "%s: unknown loss '%s' (cross_entropy mse l1 smooth_l1 huber bce bce_logits nll, "
                         "or a function (out, y) -> loss)", fn, s);
    if (known) {
      ax_value f;
      if (!get_global(vm, s, &f)) return ax_vm_raise(vm, "value", "%s: loss '%s' is not available", fn, s);
      ls->fn = f;
      ls->name = AX_AS_NATIVE(f)->name->chars;
      ls->is_ce = !strcmp(s, "cross_entropy") || !strcmp(s, "categorical_crossentropy") ||
                  !strcmp(s, "sparse_categorical_crossentropy") || !strcmp(s, "nll");
      return true;
    }
  }
  ls->fn = v;
  ls->name = "custom";
  return true;
}

static bool compute_loss(ax_vm *vm, loss_spec *ls, ax_value out, ax_value y, ax_value *loss) {
  ax_value a[2] = {out, y};
  if (!ax_vm_call(vm, ls->fn, 2, a, NULL, loss)) return false;
  ax_tensor *t = ax_value_tensor(*loss);
  if (!t || ax_numel(t) != 1)
    return ax_vm_raise(vm, "value", "the loss must be a one-element tensor, got %s", t ? "a larger tensor" : ax_type_name(*loss));
  return true;
}

/* The value of a one-element tensor on any device (losses and counts of a network on a GPU). */
static ax_status item_any(ax_tensor *t, double *v, ax_err *e) {
  ax_tensor *c = NULL;
  ax_status st = ax_to(t, AX_CPU, &c, e);
  if (!st) st = ax_item_f64(c, v, e);
  ax_tensor_release(c);
  return st;
}

/* number of correct argmax predictions (classification), or -1 when not applicable */
static int64_t count_correct(ax_tensor *out, ax_tensor *y) {
  if (!out || !y || ax_dtype_is_float(y->dtype) || out->ndim != 2 || y->ndim != 1 || out->shape[0] != y->shape[0]) return -1;
  ax_tensor *am = NULL, *eq = NULL, *s = NULL;
  ax_err e;
  int64_t c = -1;
  double d;
  if (!ax_argmax(out, 1, 1, 0, &am, &e) && !ax_eq(am, y, &eq, &e) && !ax_sum(eq, NULL, 0, 0, &s, &e) && !item_any(s, &d, &e))
    c = (int64_t)d;
  ax_tensor_release(am);
  ax_tensor_release(eq);
  ax_tensor_release(s);
  return c;
}

/* ---- regularizers: l1(a), l2(a), elastic_net(l1: a, l2: b) over the weights (not biases or norms) ---- */

bool ax_make_regularizer(ax_vm *vm, const char *kind, double l1, double l2, ax_value *out) {
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  ax_vm_push_root(vm, ax_obj_value(m));
  bool ok = ax_map_set_str(vm, m, "regularizer", ax_str_value(vm, kind)) && ax_map_set_str(vm, m, "l1", ax_float(l1)) &&
            ax_map_set_str(vm, m, "l2", ax_float(l2));
  ax_vm_pop_root(vm, 1);
  *out = ax_obj_value(m);
  return ok;
}

static bool f_l1(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double a;
  if (!ax_arg_count(vm, "l1_penalty", argc, 1, 1) || !ax_arg_num(vm, "l1_penalty", args, argc, 0, &a)) return false;
  return ax_make_regularizer(vm, "l1", a, 0, out);
}
static bool f_l2(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double a;
  if (!ax_arg_count(vm, "l2", argc, 1, 1) || !ax_arg_num(vm, "l2", args, argc, 0, &a)) return false;
  return ax_make_regularizer(vm, "l2", 0, a, out);
}
static bool f_elastic_net(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double a = 0, b = 0;
  if (!kw_num(vm, "elastic_net", kw, "l1", &a) || !kw_num(vm, "elastic_net", kw, "l2", &b)) return false;
  return ax_make_regularizer(vm, "elastic_net", a, b, out);
}

typedef struct {
  double l1, l2;
  ax_tensor *acc;
  ax_err *err;
  ax_status st;
} reg_ctx;

static bool reg_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  reg_ctx *c = ud;
  size_t n = strlen(name);
  /* weights only: names ending in "weight" of layers with >= 2-d weights (not norms) */
  if (is_buffer || n < 6 || strcmp(name + n - 6, "weight") || t->ndim < 2) return true;
  ax_tensor *p = NULL, *s = NULL, *sc = NULL, *term = NULL, *nacc = NULL;
  for (int k = 0; k < 2 && !c->st; k++) {
    double coef = k ? c->l2 : c->l1;
    if (coef == 0) continue;
    c->st = k ? ax_mul(t, t, &p, c->err) : ax_abs(t, &p, c->err);
    if (!c->st) c->st = ax_sum(p, NULL, 0, 0, &s, c->err);
    if (!c->st) c->st = ax_scalar_f64(coef, &sc, c->err);
    if (!c->st) c->st = ax_mul(s, sc, &term, c->err);
    if (!c->st) {
      if (c->acc) {
        c->st = ax_add(c->acc, term, &nacc, c->err);
        ax_tensor_release(c->acc);
        c->acc = nacc;
        nacc = NULL;
      } else {
        c->acc = ax_tensor_retain(term);
      }
    }
    ax_tensor_release(p); ax_tensor_release(s); ax_tensor_release(sc); ax_tensor_release(term);
    p = s = sc = term = NULL;
  }
  return c->st == AX_OK;
}

static bool reg_penalty(ax_vm *vm, ax_value reg, ax_net *net, ax_tensor **out) {
  *out = NULL;
  if (AX_IS_NIL(reg)) return true;
  ax_value l1v, l2v;
  if (!AX_IS_MAP(reg) || !ax_map_get_str(vm, AX_AS_MAP(reg), "l1", &l1v) || !ax_map_get_str(vm, AX_AS_MAP(reg), "l2", &l2v))
    return ax_vm_raise(vm, "type", "train: regularize: must be l1(a), l2(a) or elastic_net(l1:, l2:)");
  ax_err e;
  reg_ctx c = {AX_IS_FLOAT(l1v) ? l1v.as.f : 0, AX_IS_FLOAT(l2v) ? l2v.as.f : 0, NULL, &e, AX_OK};
  ax_net_visit(net, "", reg_visit, &c);
  if (c.st) {
    ax_tensor_release(c.acc);
    return ax_raise_rt(vm, c.st, &e);
  }
  *out = c.acc;
  return true;
}

static bool f_penalty(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "penalty", argc, 2, 2)) return false;
  ax_net *n = ax_value_net(args[1]);
  if (!n) return ax_vm_raise(vm, "type", "penalty(reg, Net): the second argument must be a network");
  ax_tensor *p = NULL;
  if (!reg_penalty(vm, args[0], n, &p)) return false;
  if (!p) {
    ax_err e;
    ax_status st = ax_scalar_f64(0, &p, &e);
    if (st) return ax_raise_rt(vm, st, &e);
  }
  return ax_push_tensor(vm, p, out);
}

/* ---- callbacks: maps made by the constructors below, dispatched on their "callback" key ---- */

static bool make_cb(ax_vm *vm, const char *kind, ax_value *out) {
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  *out = ax_obj_value(m);
  return ax_map_set_str(vm, m, "callback", ax_str_value(vm, kind));
}

static bool cb_set(ax_vm *vm, ax_value cb, const char *k, ax_value v) { return ax_map_set_str(vm, AX_AS_MAP(cb), k, v); }

static ax_value cb_get(ax_vm *vm, ax_value cb, const char *k) {
  ax_value v;
  if (AX_IS_MAP(cb) && ax_map_get_str(vm, AX_AS_MAP(cb), k, &v)) return v;
  return AX_NIL;
}

static double cb_num(ax_vm *vm, ax_value cb, const char *k, double dflt) {
  ax_value v = cb_get(vm, cb, k);
  return AX_IS_INT(v) ? (double)v.as.i : AX_IS_FLOAT(v) ? v.as.f : dflt;
}

static bool cb_with_kw(ax_vm *vm, const char *kind, const ax_kw *kw, const char *const *allowed, ax_value *out) {
  if (!ax_kw_check(vm, kind, kw, allowed) || !make_cb(vm, kind, out)) return false;
  ax_vm_push_root(vm, *out);
  bool ok = true;
  for (int i = 0; kw && i < kw->n && ok; i++) ok = ax_map_set(vm, AX_AS_MAP(*out), ax_obj_value(kw->names[i]), kw->vals[i]);
  ax_vm_pop_root(vm, 1);
  return ok;
}

static bool f_progress(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"every", NULL};
  return cb_with_kw(vm, "progress", kw, allowed, out);
}
static bool f_early_stopping(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"patience", "monitor", "min_delta", "mode", "restore_best", NULL};
  return cb_with_kw(vm, "early_stopping", kw, allowed, out);
}
static bool f_reduce_on_plateau(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"patience", "monitor", "factor", "min_lr", "mode", NULL};
  return cb_with_kw(vm, "reduce_on_plateau", kw, allowed, out);
}
static bool path_cb(ax_vm *vm, const char *kind, ax_value *args, int argc, const ax_kw *kw, const char *const *allowed,
                    ax_value *out) {
  ax_string *p;
  if (!ax_arg_count(vm, kind, argc, 1, 1) || !ax_arg_str(vm, kind, args, argc, 0, &p)) return false;
  /* --sandbox: refuse here, where the script names the file, not epochs later (each write asks again) */
  if (!ax_vm_file_allowed(vm, p->chars, AX_FILE_WRITE) || !cb_with_kw(vm, kind, kw, allowed, out)) return false;
  return cb_set(vm, *out, "path", args[0]);
}
static bool f_checkpoint_best(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"monitor", "mode", NULL};
  return path_cb(vm, "checkpoint_best", args, argc, kw, allowed, out);
}
static bool f_checkpoint_every(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"every", "keep", NULL};
  return path_cb(vm, "checkpoint_every", args, argc, kw, allowed, out);
}
static bool f_csv_log(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {NULL};
  return path_cb(vm, "csv_log", args, argc, kw, allowed, out);
}

/* ---- checkpoints ---- */

typedef struct {
  ax_tensor_dict *d;
  ax_optim *opt;
  ax_err *err;
  ax_status st;
} ck_ctx;

static int optim_slot_of(ax_optim *o, ax_tensor *t) {
  for (int i = 0; o && i < o->n; i++)
    if (o->slots[i].param == t) return i;
  return -1;
}

static bool ck_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  ck_ctx *c = ud;
  int i = is_buffer ? -1 : optim_slot_of(c->opt, t);
  if (i < 0) return true;
  ax_optim_slot *s = &c->opt->slots[i];
  char key[320];
  for (int k = 0; k < AX_OPTIM_NSTATE && !c->st; k++) {
    if (!s->state[k]) continue;
    snprintf(key, sizeof key, "optim.%s.%s", name, ax_optim_state_name(c->opt->cfg.kind, k));
    c->st = ax_tensor_dict_add(c->d, key, s->state[k], c->err);
  }
  if (!c->st) {
    ax_tensor *st = NULL;
    c->st = ax_scalar_i64(s->step, &st, c->err);
    snprintf(key, sizeof key, "optim.%s.step", name);
    if (!c->st) c->st = ax_tensor_dict_add(c->d, key, st, c->err);
    ax_tensor_release(st);
  }
  return c->st == AX_OK;
}

static bool source_text(ax_vm *vm, const char **src, size_t *len) {
  ax_module *m = vm->main_module;
  if (!m || !m->source) return false;
  *src = m->source;
  *len = m->srclen;
  return true;
}

static ax_status save_checkpoint(ax_vm *vm, const char *path, ax_net *net, ax_optim *opt, const ax_grad_scaler *sc,
                                 int64_t epoch, ax_err *e) {
  ax_tensor_dict d;
  ax_tensor_dict_init(&d);
  ax_status st = ax_net_to_dict(net, &d, e);
  if (!st && opt) {
    ck_ctx c = {&d, opt, e, AX_OK};
    ax_net_visit(net, "", ck_visit, &c);
    st = c.st;
  }
  char buf[512];
  if (!st) st = ax_tensor_dict_set_meta(&d, "format", "pt", e);
  if (!st) st = ax_tensor_dict_set_meta(&d, "anx.network", ax_net_name(net), e);
  if (!st && opt) {
    const ax_optim_cfg *c = &opt->cfg;
    snprintf(buf, sizeof buf,
             "{\"kind\": \"%s\", \"lr\": %.17g, \"momentum\": %.17g, \"dampening\": %.17g, \"weight_decay\": %.17g, "
             "\"betas\": [%.17g, %.17g], \"eps\": %.17g, \"nesterov\": %d, \"amsgrad\": %d, \"steps\": %lld}",
             ax_optim_kind_name(c->kind), c->lr, c->momentum, c->dampening, c->weight_decay, c->beta1, c->beta2, c->eps,
             c->nesterov, c->amsgrad, (long long)opt->steps);
    st = ax_tensor_dict_set_meta(&d, "anx.optimizer", buf, e);
  }
  if (!st && sc) {   /* torch.amp.GradScaler.state_dict()'s keys */
    snprintf(buf, sizeof buf,
             "{\"scale\": %.17g, \"growth_factor\": %.17g, \"backoff_factor\": %.17g, \"growth_interval\": %lld, "
             "\"_growth_tracker\": %lld}",
             sc->scale, sc->growth_factor, sc->backoff_factor, (long long)sc->growth_interval, (long long)sc->growth_tracker);
    st = ax_tensor_dict_set_meta(&d, "anx.grad_scaler", buf, e);
  }
  ax_rng_state rs = ax_rng_get_state();
  snprintf(buf, sizeof buf, "%llu %llu", (unsigned long long)rs.seed, (unsigned long long)rs.offset);
  if (!st) st = ax_tensor_dict_set_meta(&d, "anx.rng", buf, e);
  snprintf(buf, sizeof buf, "%lld", (long long)epoch);
  if (!st) st = ax_tensor_dict_set_meta(&d, "anx.epoch", buf, e);
  const char *src;
  size_t slen;
  if (!st && source_text(vm, &src, &slen) && slen < (1u << 20)) {
    char *copy = ax_malloc(slen + 1);
    if (copy) {
      memcpy(copy, src, slen);
      copy[slen] = 0;
      st = ax_tensor_dict_set_meta(&d, "anx.source", copy, e);
      ax_free(copy, slen + 1);
    }
  }
  if (!st) st = ax_safetensors_save(path, &d, e);
  ax_tensor_dict_fini(&d);
  return st;
}

/* Every checkpoint a script asks for: the sandbox gate, then save_checkpoint. false: raised. */
static bool write_checkpoint(ax_vm *vm, const char *path, ax_net *net, ax_optim *opt, const ax_grad_scaler *sc,
                             int64_t epoch) {
  if (!ax_vm_file_allowed(vm, path, AX_FILE_WRITE)) return false;
  ax_err e;
  ax_status st = save_checkpoint(vm, path, net, opt, sc, epoch, &e);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* checkpoint(path, Net, opt, scaler) / restore(...): the scaler as the 4th argument or scaler: */
static bool scaler_arg(ax_vm *vm, const char *fn, ax_value *args, int argc, const ax_kw *kw, ax_grad_scaler **out) {
  static const char *const allowed[] = {"scaler", NULL};
  ax_value v = argc > 3 ? args[3] : AX_NIL, k;
  *out = NULL;
  if (!ax_kw_check(vm, fn, kw, allowed)) return false;
  if (ax_kw_get(kw, "scaler", &k)) {
    if (argc > 3) return ax_vm_raise(vm, "argument", "%s: scaler given twice", fn);
    v = k;
  }
  if (AX_IS_NIL(v)) return true;
  *out = ax_value_scaler(v, NULL);
  return *out ? true : ax_vm_raise(vm, "type", "%s: scaler must be a grad_scaler, got %s", fn, ax_type_name(v));
}

static bool f_checkpoint(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *path;
  ax_grad_scaler *sc;
  if (!ax_arg_count(vm, "checkpoint", argc, 2, 4) || !ax_arg_str(vm, "checkpoint", args, argc, 0, &path) ||
      !scaler_arg(vm, "checkpoint", args, argc, kw, &sc))
    return false;
  ax_net *net = ax_value_net(args[1]);
  if (!net) return ax_vm_raise(vm, "type", "checkpoint(path, Net, opt): the second argument must be a network");
  ax_optim *opt = argc > 2 && !AX_IS_NIL(args[2]) ? ax_value_optim(args[2]) : NULL;
  if (argc > 2 && !AX_IS_NIL(args[2]) && !opt) return ax_vm_raise(vm, "type", "checkpoint: the third argument must be an optimizer");
  if (!write_checkpoint(vm, path->chars, net, opt, sc, 0)) return false;
  *out = AX_NIL;
  return true;
}

typedef struct {
  const ax_tensor_dict *d;
  ax_optim *opt;
  const char *path;
  ax_err *err;
  ax_status st;
} rs_ctx;

static bool rs_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  rs_ctx *c = ud;
  int i = is_buffer ? -1 : optim_slot_of(c->opt, t);
  if (i < 0) return true;
  ax_optim_slot *s = &c->opt->slots[i];
  char key[320];
  snprintf(key, sizeof key, "optim.%s.step", name);
  ax_tensor *stp = ax_tensor_dict_get(c->d, key);
  if (!stp) return true;   /* this parameter had no state yet */
  c->st = ax_item_i64(stp, &s->step, c->err);
  if (!c->st) c->st = ax_optim_ensure_state(c->opt, i, c->err);
  for (int k = 0; k < AX_OPTIM_NSTATE && !c->st; k++) {
    if (!s->state[k]) continue;
    snprintf(key, sizeof key, "optim.%s.%s", name, ax_optim_state_name(c->opt->cfg.kind, k));
    ax_tensor *src = ax_tensor_dict_get(c->d, key);
    if (!src || src->ndim != s->state[k]->ndim ||
        memcmp(src->shape, s->state[k]->shape, sizeof(int64_t) * (size_t)src->ndim)) {
      c->st = ax_err_set(c->err, AX_E_FORMAT, "%s: optimizer state '%s' is missing or has the wrong shape", c->path, key);
      break;
    }
    /* converted to the state's type and written where the state lives (uploaded to a device) */
    c->st = ax_copy_(s->state[k], src, c->err);
  }
  return c->st == AX_OK;
}

/* A checkpoint's "anx.grad_scaler" into s (keys as torch's state_dict; absent ones stay). */
static ax_status scaler_from_meta(const char *meta, const char *path, ax_grad_scaler *s, ax_err *e) {
  ax_grad_scaler n = *s;
  const char *p;
  if ((p = strstr(meta, "\"scale\": "))) n.scale = strtod(p + 9, NULL);
  if ((p = strstr(meta, "\"growth_factor\": "))) n.growth_factor = strtod(p + 17, NULL);
  if ((p = strstr(meta, "\"backoff_factor\": "))) n.backoff_factor = strtod(p + 18, NULL);
  if ((p = strstr(meta, "\"growth_interval\": "))) n.growth_interval = strtoll(p + 19, NULL, 10);
  if ((p = strstr(meta, "\"_growth_tracker\": "))) n.growth_tracker = strtoll(p + 19, NULL, 10);
  if (ax_grad_scaler_check(&n, e)) return ax_err_set(e, AX_E_FORMAT, "%s: bad grad_scaler state: %s", path, e->msg);
  n.found_inf = 0;
  n.stage = AX_SCALER_READY;
  *s = n;
  return AX_OK;
}

static bool f_restore(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *path;
  ax_grad_scaler *sc;
  if (!ax_arg_count(vm, "restore", argc, 2, 4) || !ax_arg_str(vm, "restore", args, argc, 0, &path) ||
      !scaler_arg(vm, "restore", args, argc, kw, &sc))
    return false;
  ax_net *net = ax_value_net(args[1]);
  if (!net) return ax_vm_raise(vm, "type", "restore(path, Net, opt): the second argument must be a network");
  ax_optim *opt = argc > 2 && !AX_IS_NIL(args[2]) ? ax_value_optim(args[2]) : NULL;
  if (!ax_vm_file_allowed(vm, path->chars, AX_FILE_READ)) return false;
  ax_tensor_dict d;
  ax_err e;
  ax_status st = ax_safetensors_load(path->chars, &d, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  st = ax_net_load_dict(net, &d, path->chars, &e);
  if (!st && opt) {
    const char *meta = ax_tensor_dict_meta(&d, "anx.optimizer");
    if (meta) {
      char kind[32] = "";
      const char *k = strstr(meta, "\"kind\": \"");
      if (k) sscanf(k + 9, "%31[a-z]", kind);
      if (*kind && strcmp(kind, ax_optim_kind_name(opt->cfg.kind)))
        st = ax_err_set(&e, AX_E_FORMAT, "%s: the checkpoint holds %s state, the optimizer is %s", path->chars, kind,
                        ax_optim_kind_name(opt->cfg.kind));
      const char *lr = strstr(meta, "\"lr\": "), *steps = strstr(meta, "\"steps\": ");
      if (!st && lr) opt->cfg.lr = strtod(lr + 6, NULL);
      if (!st && steps) opt->steps = strtoll(steps + 9, NULL, 10);
    }
    if (!st) {
      rs_ctx c = {&d, opt, path->chars, &e, AX_OK};
      ax_net_visit(net, "", rs_visit, &c);
      st = c.st;
    }
  }
  const char *scm = ax_tensor_dict_meta(&d, "anx.grad_scaler");
  if (!st && sc && scm) st = scaler_from_meta(scm, path->chars, sc, &e);
  const char *rng = ax_tensor_dict_meta(&d, "anx.rng");
  if (!st && rng) {
    unsigned long long s0 = 0, s1 = 0;
    if (sscanf(rng, "%llu %llu", &s0, &s1) == 2) ax_rng_set_state((ax_rng_state){s0, s1});
  }
  const char *ep = ax_tensor_dict_meta(&d, "anx.epoch");
  int64_t epoch = ep ? strtoll(ep, NULL, 10) : 0;
  ax_tensor_dict_fini(&d);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = ax_int(epoch);
  return true;
}

static bool zero_grad_visit(void *ud, const char *name, ax_tensor *t, int is_buffer) {
  (void)ud;
  (void)name;
  if (!is_buffer) ax_zero_grad(t);
  return true;
}

/* ---- batches ---- */

/* A loader value for `data`: a loader as is, or a new one over tensors x, y. */
static bool as_loader(ax_vm *vm, const char *fn, ax_value data, ax_value y, int64_t batch, bool shuffle, int64_t seed,
                      ax_value *out) {
  if (ax_foreign_data(data, &ax_loader_class)) {
    *out = data;
    return true;
  }
  if (!ax_value_tensor(data)) return ax_vm_raise(vm, "type", "%s: expected a loader or tensors x, y, got %s", fn, ax_type_name(data));
  return ax_loader_new(vm, data, y, batch, shuffle, seed, out);
}

/* next batch: [xb, yb] or xb; false + *done when exhausted */
static bool next_batch(ax_vm *vm, ax_value loader, ax_value *state, ax_value *xb, ax_value *yb, bool *done) {
  ax_value item;
  int r = ax_loader_class.iter(vm, loader, state, &item);
  *done = r == AX_HOOK_MISSING;
  if (r == AX_HOOK_ERR) return false;
  if (*done) return true;
  if (AX_IS_LIST(item) && AX_AS_LIST(item)->len == 2) {
    *xb = AX_AS_LIST(item)->items[0];
    *yb = AX_AS_LIST(item)->items[1];
  } else {
    *xb = item;
    *yb = AX_NIL;
  }
  return true;
}

/* ---- devices and autocast ---- */

/* A batch tensor on another device than the network's moves there (data loaded from files, loaders
** over CPU tensors); anything else is left as it is. */
static bool to_device(ax_vm *vm, ax_device d, ax_value *v) {
  ax_tensor *t = ax_value_tensor(*v), *m = NULL;
  if (!t || ax_device_eq(t->storage->device, d)) return true;
  ax_err e;
  ax_status st = ax_to(t, d, &m, &e);
  if (st) return ax_raise_rt(vm, st, &e);
  return ax_push_tensor(vm, m, v);
}

/* The forward pass (and loss) of one batch under autocast amp (AX_NDTYPES: as it is). */
static bool forward_amp(ax_vm *vm, ax_value netv, ax_dtype amp, ax_value *xb, ax_value *out) {
  ax_dtype prev = ax_autocast_dtype();
  if (amp != AX_NDTYPES) ax_autocast_set(amp);
  bool ok = ax_net_forward(vm, netv, 1, xb, NULL, out);
  ax_autocast_set(prev);
  return ok;
}

static bool loss_amp(ax_vm *vm, ax_dtype amp, loss_spec *ls, ax_value out, ax_value y, ax_value *loss) {
  ax_dtype prev = ax_autocast_dtype();
  if (amp != AX_NDTYPES) ax_autocast_set(amp);
  bool ok = compute_loss(vm, ls, out, y, loss);
  ax_autocast_set(prev);
  return ok;
}

/* The network on x in chunks of b rows along the batch (each moved to dev), outputs concatenated. */
static bool forward_chunks(ax_vm *vm, ax_value netv, ax_dtype amp, ax_device dev, ax_tensor *x, int64_t b, const char *fn,
                           ax_value *out) {
  int64_t n = x->shape[0], nchunks = (n + b - 1) / b;
  ax_tensor **outs = ax_calloc((size_t)nchunks, sizeof(ax_tensor *));
  bool ok = outs != NULL;
  if (!ok) ax_vm_oom(vm);
  for (int64_t i = 0; i < nchunks && ok; i++) {
    ax_tensor *part = NULL;
    ax_err e;
    ax_status st = ax_narrow(x, 0, i * b, (i + 1) * b > n ? n - i * b : b, &part, &e);
    if (st) { ok = ax_raise_rt(vm, st, &e); break; }
    ax_value pv, r;
    ok = ax_push_tensor(vm, part, &pv) && to_device(vm, dev, &pv);
    if (!ok) break;
    ax_vm_push_root(vm, pv);
    ok = forward_amp(vm, netv, amp, &pv, &r);
    ax_vm_pop_root(vm, 1);
    if (ok && !ax_value_tensor(r)) ok = ax_vm_raise(vm, "type", "%s: the network returned %s", fn, ax_type_name(r));
    if (ok) outs[i] = ax_tensor_retain(ax_value_tensor(r));
  }
  if (ok) {
    ax_tensor *cat = NULL;
    ax_err e;
    ax_status st = ax_cat(outs, (int)nchunks, 0, &cat, &e);
    if (st) ok = ax_raise_rt(vm, st, &e);
    else ok = ax_push_tensor(vm, cat, out);
  }
  for (int64_t i = 0; outs && i < nchunks; i++) ax_tensor_release(outs[i]);
  ax_free(outs, sizeof(ax_tensor *) * (size_t)(nchunks ? nchunks : 1));
  return ok;
}

/* Rows per forward of an evaluation: a bigger batch of a row-wise network runs in chunks this size
** (the same outputs; an evaluation batch of 1000 images through the Fashion-MNIST CNN otherwise
** holds a 100 MB conv output at once). */
#define EVAL_ROWS 256

/* An evaluation batch through the network: in EVAL_ROWS chunks when the rows are independent
** (ax_net_rowwise) and no debugger watches the layers (it would see each chunk as a pass). */
static bool forward_eval(ax_vm *vm, ax_value netv, ax_dtype amp, ax_value *xb, ax_value *out) {
  ax_net *net = ax_value_net(netv);
  ax_tensor *x = ax_value_tensor(*xb);
  if (!x || x->ndim == 0 || x->shape[0] <= EVAL_ROWS + EVAL_ROWS / 2 || ax_debug_attached(vm) || !ax_net_rowwise(net))
    return forward_amp(vm, netv, amp, xb, out);
  return forward_chunks(vm, netv, amp, ax_net_device(net), x, EVAL_ROWS, "evaluate", out);
}

/* ---- evaluate / infer ---- */

static bool run_eval(ax_vm *vm, ax_value netv, ax_value loader, loss_spec *ls, int logits, ax_dtype amp, double *loss_out,
                     double *acc_out) {
  ax_net *net = ax_value_net(netv);
  ax_device dev = ax_net_device(net);
  int was_train = ax_net_training(net), was_grad = ax_grad_enabled(), has_sm = 0;
  int prev_lm = ax_net_set_logits_mode(net, logits, &has_sm);
  ax_net_set_training(net, 0);
  ax_set_grad_enabled(0);
  ax_value state = AX_NIL;
  ax_vm_push_root(vm, loader);
  ax_vm_push_root(vm, state);
  double total = 0;
  int64_t n = 0, correct = 0, counted = 0;
  bool ok = true, done = false;
  ax_gc_phase(vm);   /* the training epoch's last batches go before this pass's arrive */
  while (ok) {
    ax_value xb, yb, out, loss;
    vm->roots[vm->nroots - 1] = state;
    ok = next_batch(vm, loader, &state, &xb, &yb, &done);
    if (!ok || done) break;
    vm->roots[vm->nroots - 1] = state;
    ax_vm_push_root(vm, xb);
    ax_vm_push_root(vm, yb);
    ok = to_device(vm, dev, &xb) && to_device(vm, dev, &yb);
    vm->roots[vm->nroots - 2] = xb;
    vm->roots[vm->nroots - 1] = yb;
    if (ok) ok = forward_eval(vm, netv, amp, &xb, &out);
    if (ok) {
      ax_vm_push_root(vm, out);
      ax_tensor *yt = ax_value_tensor(yb), *ot = ax_value_tensor(out);
      int64_t bs = yt && yt->ndim ? yt->shape[0] : 1;
      if (yt && ls) {
        ok = loss_amp(vm, amp, ls, out, yb, &loss);
        double lv = 0;
        ax_err e;
        if (ok && item_any(ax_value_tensor(loss), &lv, &e)) ok = ax_raise_rt(vm, AX_E_VALUE, &e);
        total += lv * (double)bs;
      }
      int64_t c = count_correct(ot, yt);
      if (c >= 0) { correct += c; counted += bs; }
      n += bs;
      ax_vm_pop_root(vm, 1);
    }
    ax_vm_pop_root(vm, 2);
    ax_gc_maybe(vm);   /* safe point: loader and state are rooted */
  }
  ax_loader_iter_close(state);   /* an error mid-pass: stop its prefetch thread now */
  ax_vm_pop_root(vm, 2);
  ax_set_grad_enabled(was_grad);
  ax_net_set_training(net, was_train);
  ax_net_set_logits_mode(net, prev_lm, &has_sm);
  *loss_out = n ? total / (double)n : NAN;
  *acc_out = counted ? (double)correct / (double)counted : NAN;
  return ok;
}

static bool f_evaluate(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"batch_size", "loss", "amp", NULL};
  if (!ax_kw_check(vm, "evaluate", kw, allowed) || !ax_arg_count(vm, "evaluate", argc, 2, 3)) return false;
  ax_net *net = ax_value_net(args[0]);
  if (!net) return ax_vm_raise(vm, "type", "evaluate: the first argument must be a network, got %s", ax_type_name(args[0]));
  ax_value y = argc > 2 ? args[2] : AX_NIL, lv = ax_net_config(vm, net, "loss"), bsv;
  double bs = 256;   /* conv workspaces grow with the batch: 256 keeps evaluation's peak memory small */
  if (!kw_num(vm, "evaluate", kw, "batch_size", &bs)) return false;
  if (ax_kw_get(kw, "loss", &bsv)) lv = bsv;
  ax_value ampv = ax_net_config(vm, net, "amp");
  ax_dtype amp;
  ax_kw_get(kw, "amp", &ampv);
  if (!ax_amp_dtype(vm, "evaluate", "amp", ampv, &amp)) return false;
  ax_value loader;
  if (!as_loader(vm, "evaluate", args[1], y, (int64_t)bs, false, 0, &loader)) return false;
  ax_vm_push_root(vm, loader);
  ax_tensor *yt = ax_value_tensor(y);
  if (!yt) {
    ax_foreign *f = AX_AS_FOREIGN(loader);
    ax_value yy;
    if (f->cls->get_field && f->cls->get_field(vm, loader, ax_str_cstr(vm, "y"), &yy) == AX_HOOK_OK) yt = ax_value_tensor(yy);
  }
  loss_spec ls;
  bool ok = resolve_loss(vm, "evaluate", lv, yt, &ls);
  double loss = NAN, acc = NAN;
  int has_sm = 0;
  ax_net_set_logits_mode(net, 0, &has_sm);
  if (ok) ok = run_eval(vm, args[0], loader, &ls, has_sm && ls.is_ce, amp, &loss, &acc);
  ax_vm_pop_root(vm, 1);
  if (!ok) return false;
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  *out = ax_obj_value(m);
  return ax_map_set_str(vm, m, "loss", ax_float(loss)) &&
         ax_map_set_str(vm, m, "accuracy", isnan(acc) ? AX_NIL : ax_float(acc));
}

/* infer(Net, x, batch_size:, amp:): eval mode, no tape; x moves to the network's device, and so does
** the result stay (as a PyTorch model's output). */
static bool f_infer(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"batch_size", "amp", NULL};
  if (!ax_kw_check(vm, "infer", kw, allowed) || !ax_arg_count(vm, "infer", argc, 2, 2)) return false;
  ax_net *net = ax_value_net(args[0]);
  if (!net) return ax_vm_raise(vm, "type", "infer: the first argument must be a network, got %s", ax_type_name(args[0]));
  double bs = 0;
  ax_value ampv = ax_net_config(vm, net, "amp");
  ax_dtype amp;
  ax_kw_get(kw, "amp", &ampv);
  if (!kw_num(vm, "infer", kw, "batch_size", &bs) || !ax_amp_dtype(vm, "infer", "amp", ampv, &amp)) return false;
  ax_device dev = ax_net_device(net);
  int was_train = ax_net_training(net), was_grad = ax_grad_enabled();
  ax_net_set_training(net, 0);
  ax_set_grad_enabled(0);
  bool ok;
  ax_tensor *x = ax_value_tensor(args[1]);
  if (bs < 1 || !x || x->ndim == 0 || x->shape[0] <= (int64_t)bs) {
    ax_value xv = args[1];
    ok = to_device(vm, dev, &xv);
    if (ok) {
      ax_vm_push_root(vm, xv);
      ok = forward_amp(vm, args[0], amp, &xv, out);
      ax_vm_pop_root(vm, 1);
    }
  } else {
    ok = forward_chunks(vm, args[0], amp, dev, x, (int64_t)bs, "infer", out);
  }
  ax_set_grad_enabled(was_grad);
  ax_net_set_training(net, was_train);
  return ok;
}

/* ---- train ---- */

static volatile sig_atomic_t stop_requested;
static struct sigaction prev_sigint;

static void train_sigint(int sig) {
  (void)sig;
  if (stop_requested) {
    /* second Ctrl-C: abort at once */
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  stop_requested = 1;
  static const char msg[] = "\ninterrupt: finishing this batch (Ctrl-C again to abort now)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
}

typedef struct {
  double best;
  int64_t bad;
  int64_t saved;       /* checkpoint_every files written so far */
} cb_state;

static double stat_of(ax_vm *vm, ax_map *stats, const char *monitor) {
  ax_value v;
  if (ax_map_get_str(vm, stats, monitor, &v)) {
    if (AX_IS_FLOAT(v)) return v.as.f;
    if (AX_IS_INT(v)) return (double)v.as.i;
  }
  return NAN;
}

static bool monitor_of(ax_vm *vm, ax_value cb, ax_map *stats, const char **name, int *maximize) {
  ax_value m = cb_get(vm, cb, "monitor"), mode = cb_get(vm, cb, "mode");
  *name = AX_IS_STRING(m) ? AX_AS_STRING(m)->chars : NULL;
  if (!*name) *name = isnan(stat_of(vm, stats, "val_loss")) ? "loss" : "val_loss";
  *maximize = strstr(*name, "acc") != NULL;
  if (AX_IS_STRING(mode)) *maximize = !strcmp(AX_AS_STRING(mode)->chars, "max");
  return true;
}

static bool write_csv(ax_vm *vm, const char *path, ax_list *history) {
  if (!ax_vm_file_allowed(vm, path, AX_FILE_WRITE)) return false;
  size_t cap = 4096, len = 0;
  char *buf = ax_malloc(cap);
  if (!buf) return ax_vm_oom(vm);
  static const char *const cols[] = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"};
  char line[512];
  int n = snprintf(line, sizeof line, "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n");
  for (int64_t r = -1; r < history->len; r++) {
    if (r >= 0) {
      n = 0;
      for (int c = 0; c < 7; c++) {
        double v = stat_of(vm, AX_AS_MAP(history->items[r]), cols[c]);
        n += isnan(v) ? snprintf(line + n, sizeof line - (size_t)n, "%s", c ? "," : "")
                      : snprintf(line + n, sizeof line - (size_t)n, c ? ",%.10g" : "%.10g", v);
      }
      n += snprintf(line + n, sizeof line - (size_t)n, "\n");
    }
    if (len + (size_t)n + 1 > cap) {
      char *nb = ax_realloc(buf, cap, cap * 2);
      if (!nb) { ax_free(buf, cap); return ax_vm_oom(vm); }
      buf = nb;
      cap *= 2;
    }
    memcpy(buf + len, line, (size_t)n);
    len += (size_t)n;
  }
  const void *parts[1] = {buf};
  size_t sizes[1] = {len};
  ax_err e;
  ax_status st = ax_file_write_atomic(path, parts, sizes, 1, &e);
  ax_free(buf, cap);
  return st ? ax_raise_rt(vm, st, &e) : true;
}

/* "{epoch}" in a checkpoint_every path becomes the epoch number; without it, _<epoch> goes before the extension. */
static void epoch_path(const char *pat, int64_t epoch, char *out, size_t n) {
  const char *p = strstr(pat, "{epoch}");
  if (p) {
    snprintf(out, n, "%.*s%lld%s", (int)(p - pat), pat, (long long)epoch, p + 7);
    return;
  }
  const char *dot = strrchr(pat, '.'), *slash = strrchr(pat, '/');
  if (dot && (!slash || dot > slash)) snprintf(out, n, "%.*s_%lld%s", (int)(dot - pat), pat, (long long)epoch, dot);
  else snprintf(out, n, "%s_%lld", pat, (long long)epoch);
}

static bool f_train(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"epochs", "optimizer", "loss", "schedule", "clip", "validate", "callbacks",
                                        "on_epoch", "batch_size", "lr", "learning_rate", "shuffle", "seed",
                                        "regularize", "verbose", "amp", "scaler", NULL};
  if (!ax_kw_check(vm, "train", kw, allowed) || !ax_arg_count(vm, "train", argc, 2, 3)) return false;
  ax_value netv = args[0];
  ax_net *net = ax_value_net(netv);
  if (!net) return ax_vm_raise(vm, "type", "train: the first argument must be a network, got %s", ax_type_name(netv));
  ax_value v, y = argc > 2 ? args[2] : AX_NIL;
  /* settings: keyword, else network key, else default */
#define SETTING(kwname, netkey, var) do { var = ax_net_config(vm, net, netkey); if (ax_kw_get(kw, kwname, &v)) var = v; } while (0)
  ax_value epochs_v, opt_v, loss_v, bs_v, lr_v, wd_v, mom_v, warm_v, amp_v;
  SETTING("epochs", "epochs", epochs_v);
  SETTING("amp", "amp", amp_v);
  SETTING("optimizer", "optimizer", opt_v);
  SETTING("loss", "loss", loss_v);
  SETTING("batch_size", "batch_size", bs_v);
  SETTING("lr", "learning_rate", lr_v);
  if (ax_kw_get(kw, "learning_rate", &v)) lr_v = v;
  wd_v = ax_net_config(vm, net, "weight_decay");
  mom_v = ax_net_config(vm, net, "momentum");
  warm_v = ax_net_config(vm, net, "warmup_steps");
#undef SETTING
  int64_t epochs = AX_IS_INT(epochs_v) ? epochs_v.as.i : 1;
  int64_t bs = AX_IS_INT(bs_v) ? bs_v.as.i : 32;
  int64_t warmup = AX_IS_INT(warm_v) ? warm_v.as.i : 0;
  if (epochs < 0 || bs < 1) return ax_vm_raise(vm, "value", "train: epochs must be >= 0 and batch_size >= 1");
  bool shuffle = true;
  int64_t seedv = 0;
  if (ax_kw_get(kw, "shuffle", &v) && !ax_vm_truthy(vm, v, &shuffle)) return false;
  if (ax_kw_get(kw, "seed", &v) && AX_IS_INT(v)) seedv = v.as.i;
  ax_value schedule = AX_NIL, validate = AX_NIL, callbacks = AX_NIL, on_epoch = AX_NIL, reg = AX_NIL;
  double clip = 0;
  ax_kw_get(kw, "schedule", &schedule);
  ax_kw_get(kw, "validate", &validate);
  ax_kw_get(kw, "callbacks", &callbacks);
  ax_kw_get(kw, "on_epoch", &on_epoch);
  ax_kw_get(kw, "regularize", &reg);
  if (!kw_num(vm, "train", kw, "clip", &clip)) return false;
  bool verbose = true;
  if (ax_kw_get(kw, "verbose", &v) && !ax_vm_truthy(vm, v, &verbose)) return false;
  /* mixed precision: the forward and the loss under autocast; float16 needs a gradient scaler */
  ax_dtype amp;
  ax_value scaler_v = AX_NIL;
  if (!ax_amp_dtype(vm, "train", "amp", amp_v, &amp)) return false;
  if (ax_kw_get(kw, "scaler", &scaler_v) && !AX_IS_NIL(scaler_v) && !ax_value_scaler(scaler_v, NULL))
    return ax_vm_raise(vm, "type", "train: scaler: must be a grad_scaler, got %s", ax_type_name(scaler_v));
  ax_device dev = ax_net_device(net);

  int nroots0 = vm->nroots;
  bool ok = true;
  /* the data */
  ax_value loader;
  if (!as_loader(vm, "train", args[1], y, bs, shuffle, seedv, &loader)) return false;
  ax_vm_push_root(vm, loader);
  ax_tensor *yt = ax_value_tensor(y);
  if (!yt) {
    ax_foreign *f = AX_AS_FOREIGN(loader);
    ax_value yy;
    if (f->cls->get_field && f->cls->get_field(vm, loader, ax_str_cstr(vm, "y"), &yy) == AX_HOOK_OK) yt = ax_value_tensor(yy);
  }
  /* the loss (and softmax-ended networks feed logits to cross-entropy) */
  loss_spec ls;
  if (!resolve_loss(vm, "train", loss_v, yt, &ls)) goto fail;
  ax_vm_push_root(vm, ls.fn);
  int has_sm = 0, prev_lm = ax_net_set_logits_mode(net, 0, &has_sm);
  int logits = has_sm && ls.is_ce;
  if (logits && verbose)
    fprintf(stderr, "note: network '%s' ends in softmax; train() feeds its logits to %s (the loss applies log-softmax)\n",
            ax_net_name(net), ls.name);
  /* the optimizer: an optimizer value, or a name with the network's lr / momentum / weight_decay */
  ax_value optv = opt_v;
  if (!ax_value_optim(optv)) {
    const char *name = sym_of(opt_v);
    ax_optim_kind kind = AX_OPTIM_ADAM;
    if (name && !ax_optim_kind_parse(name, &kind)) {
      ax_vm_raise(vm, "value", "train: unknown optimizer '%s' (sgd adam adamw rmsprop adagrad adadelta lamb)", name);
      goto fail;
    }
    if (!AX_IS_NIL(opt_v) && !name) {
      ax_vm_raise(vm, "type", "train: optimizer: must be an optimizer or a name, got %s", ax_type_name(opt_v));
      goto fail;
    }
    ax_value mk;
    /* build through the optim module's constructor so defaults and checks are shared */
    ax_value ctor_args[1] = {netv};
    ax_string *knames[3];
    ax_value kvals[3];
    int nk = 0;
    if (AX_IS_NUM(lr_v)) { knames[nk] = ax_str_cstr(vm, "lr"); kvals[nk++] = lr_v; }
    if (AX_IS_NUM(wd_v)) { knames[nk] = ax_str_cstr(vm, "weight_decay"); kvals[nk++] = wd_v; }
    if (AX_IS_NUM(mom_v) && (kind == AX_OPTIM_SGD || kind == AX_OPTIM_RMSPROP)) { knames[nk] = ax_str_cstr(vm, "momentum"); kvals[nk++] = mom_v; }
    ax_kw okw = {nk, knames, kvals};
    if (!ax_optim_make(vm, kind, ctor_args, 1, &okw, &mk)) goto fail;
    optv = mk;
  }
  ax_vm_push_root(vm, optv);
  ax_optim *opt = ax_value_optim(optv);
  ax_value sc_opt = AX_NIL;
  if (ax_value_scaler(scaler_v, &sc_opt) && !(AX_IS_FOREIGN(sc_opt) && AX_AS_FOREIGN(sc_opt) == AX_AS_FOREIGN(optv))) {
    ax_vm_raise(vm, "value", "train: scaler: it steps another optimizer than train()'s");
    goto fail;
  }
  if (AX_IS_NIL(scaler_v) && amp == AX_FLOAT16 && !ax_scaler_make(vm, optv, &scaler_v)) goto fail;
  ax_vm_push_root(vm, scaler_v);
  ax_grad_scaler *scaler = ax_value_scaler(scaler_v, NULL);
  bool sched_per_batch = false;
  if (!AX_IS_NIL(schedule)) {
    ax_value pb;
    ax_foreign *f = AX_IS_FOREIGN(schedule) ? AX_AS_FOREIGN(schedule) : NULL;
    if (!f || !f->cls->get_field || f->cls->get_field(vm, schedule, ax_str_cstr(vm, "per_batch"), &pb) != AX_HOOK_OK) {
      ax_vm_raise(vm, "type", "train: schedule: must be a schedule from the optim module");
      goto fail;
    }
    sched_per_batch = AX_IS_BOOL(pb) && pb.as.b;
  }
  ax_value val_loader = AX_NIL;
  if (!AX_IS_NIL(validate)) {
    ax_value vx = validate, vy = AX_NIL;
    if (AX_IS_LIST(validate) && AX_AS_LIST(validate)->len == 2) {
      vx = AX_AS_LIST(validate)->items[0];
      vy = AX_AS_LIST(validate)->items[1];
    }
    if (!as_loader(vm, "train: validate", vx, vy, 256, false, 0, &val_loader)) goto fail;
  }
  ax_vm_push_root(vm, val_loader);
  ax_list *history = ax_list_new(vm, epochs > 0 ? epochs : 1);
  if (!history) goto fail;
  ax_vm_push_root(vm, ax_obj_value(history));
  ax_list *cbl = AX_IS_LIST(callbacks) ? AX_AS_LIST(callbacks) : NULL;
  if (!AX_IS_NIL(callbacks) && !cbl) {
    ax_vm_raise(vm, "type", "train: callbacks: must be a list");
    goto fail;
  }
  int ncb = cbl ? (int)cbl->len : 0;
  cb_state cbs[32];
  if (ncb > 32) {
    ax_vm_raise(vm, "value", "train: at most 32 callbacks");
    goto fail;
  }
  for (int i = 0; i < ncb; i++) cbs[i] = (cb_state){NAN, 0, 0};
  bool tty = isatty(2), show_progress = false;
  for (int i = 0; i < ncb; i++) {
    ax_value k = cb_get(vm, cbl->items[i], "callback");
    if (AX_IS_STRING(k) && !strcmp(AX_AS_STRING(k)->chars, "progress")) show_progress = true;
  }
  int64_t nbatches = 0;
  if (ax_loader_class.len) ax_loader_class.len(vm, loader, &nbatches);
  double base_lr = opt->cfg.lr;
  int64_t global_step = 0;
  stop_requested = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = train_sigint;
  bool own_sigint = !vm->debugger;   /* under the debugger, Ctrl-C pauses at the next layer instead */
  if (own_sigint) sigaction(SIGINT, &sa, &prev_sigint);
  bool interrupted = false, stop = false;

  for (int64_t ep = 1; ep <= epochs && ok && !stop; ep++) {
    double t0 = now(), total = 0;
    int64_t n = 0, correct = 0, counted = 0, bi = 0;
    ax_net_set_training(net, 1);
    ax_net_set_logits_mode(net, logits, &has_sm);
    ax_value state = AX_NIL;
    ax_vm_push_root(vm, state);
    bool done = false;
    while (ok) {
      ax_value xb, yb, outv, lossv;
      ok = next_batch(vm, loader, &state, &xb, &yb, &done);
      vm->roots[vm->nroots - 1] = state;
      if (!ok || done) break;
      ax_vm_push_root(vm, xb);
      ax_vm_push_root(vm, yb);
      ok = to_device(vm, dev, &xb) && to_device(vm, dev, &yb);   /* batches go where the parameters are */
      vm->roots[vm->nroots - 2] = xb;
      vm->roots[vm->nroots - 1] = yb;
      if (warmup > 0 && AX_IS_NIL(schedule)) opt->cfg.lr = base_lr * fmin(1.0, (double)(global_step + 1) / (double)warmup);
      if (ok) ok = forward_amp(vm, netv, amp, &xb, &outv);
      if (ok) {
        ax_vm_push_root(vm, outv);
        ok = loss_amp(vm, amp, &ls, outv, yb, &lossv);
        ax_tensor *loss_t = ok ? ax_value_tensor(lossv) : NULL;
        ax_tensor *pen = NULL, *tot = NULL, *scaled = NULL;
        ax_err e;
        if (ok) ok = reg_penalty(vm, reg, net, &pen);
        if (ok && pen) {
          ax_status st = ax_add(loss_t, pen, &tot, &e);
          if (st) ok = ax_raise_rt(vm, st, &e);
        }
        if (ok && scaler) {
          ax_status st = ax_grad_scaler_scale(scaler, tot ? tot : loss_t, &scaled, &e);
          if (st) ok = ax_raise_rt(vm, st, &e);
        }
        if (ok) {
          ax_net_visit(net, "", zero_grad_visit, NULL);   /* model.zero_grad(): every parameter */
          ax_status st = ax_backward_ex(scaled ? scaled : tot ? tot : loss_t, NULL, 0, &e);   /* frees the step's graph */
          if (st) ok = ax_raise_rt(vm, st, &e);
          if (ok) ok = ax_optim_resolve(vm, optv);
          if (ok && scaler && clip > 0 && (st = ax_grad_scaler_unscale(scaler, opt, &e))) ok = ax_raise_rt(vm, st, &e);
          if (ok && clip > 0) {
            double tn;
            ax_tensor **ps = ax_calloc((size_t)opt->n, sizeof(ax_tensor *));
            if (!ps) st = ax_err_set(&e, AX_E_NOMEM, "train: out of memory");
            for (int i = 0; ps && i < opt->n; i++) ps[i] = opt->slots[i].param;
            if (ps) st = ax_clip_grad_norm(ps, opt->n, clip, 2, &tn, &e);
            ax_free(ps, sizeof(ax_tensor *) * (size_t)opt->n);
            if (st) ok = ax_raise_rt(vm, st, &e);
          }
          int stepped;
          if (ok && scaler) {   /* a step with inf/nan gradients is skipped and the scale backs off */
            if ((st = ax_grad_scaler_step(scaler, opt, &stepped, &e)) || (st = ax_grad_scaler_update(scaler, &e)))
              ok = ax_raise_rt(vm, st, &e);
          } else if (ok && (st = ax_optim_step(opt, &e))) {
            ok = ax_raise_rt(vm, st, &e);
          }
        }
        double lv = 0;
        if (ok && item_any(loss_t, &lv, &e)) ok = ax_raise_rt(vm, AX_E_VALUE, &e);
        ax_tensor_release(pen);
        ax_tensor_release(tot);
        ax_tensor_release(scaled);
        if (ok && sched_per_batch) {
          ax_value stepf, r;
          ok = AX_AS_FOREIGN(schedule)->cls->get_field(vm, schedule, ax_str_cstr(vm, "step"), &stepf) == AX_HOOK_OK &&
               ax_vm_call(vm, stepf, 0, NULL, NULL, &r);
        }
        ax_tensor *yt2 = ax_value_tensor(yb);
        int64_t bsz = yt2 && yt2->ndim ? yt2->shape[0] : 1;
        total += lv * (double)bsz;
        n += bsz;
        int64_t c = count_correct(ax_value_tensor(outv), yt2);
        if (c >= 0) { correct += c; counted += bsz; }
        ax_vm_pop_root(vm, 1);
      }
      ax_vm_pop_root(vm, 2);
      /* A safe point: everything this native still holds is rooted (loader, state, optimizer, history),
      ** so the batch's dead tensor values can go now instead of piling up until train() returns. The
      ** first batch of an epoch also ends a phase: the validation pass's batches before it go. */
      if (bi == 0) ax_gc_phase(vm);
      else ax_gc_maybe(vm);
      bi++;
      global_step++;
      if (ok && show_progress && tty && (bi % 10 == 0 || bi == nbatches)) {
        double el = now() - t0, rate = (double)n / (el > 0 ? el : 1e-9);
        double eta = nbatches > bi ? el / (double)bi * (double)(nbatches - bi) : 0;
        fprintf(stderr, "\repoch %lld/%lld  %lld/%lld  loss %.4f%s%.4f  %.0f samples/s  ETA %.0fs   ", (long long)ep,
                (long long)epochs, (long long)bi, (long long)nbatches, total / (double)(n ? n : 1),
                counted ? "  acc " : "", counted ? (double)correct / (double)counted : 0.0, rate, eta);
        fflush(stderr);
      }
      if (stop_requested) {
        interrupted = true;
        break;
      }
    }
    ax_loader_iter_close(state);   /* Ctrl-C or an error mid-epoch: stop its prefetch thread now */
    ax_vm_pop_root(vm, 1);
    if (!ok) break;
    ax_net_set_logits_mode(net, 0, &has_sm);
    /* epoch statistics */
    ax_map *stats = ax_map_new(vm);
    if (!stats) { ok = false; break; }
    ax_vm_push_root(vm, ax_obj_value(stats));
    double loss = n ? total / (double)n : NAN, acc = counted ? (double)correct / (double)counted : NAN;
    double vloss = NAN, vacc = NAN;
    if (!interrupted && !AX_IS_NIL(val_loader)) ok = run_eval(vm, netv, val_loader, &ls, logits, amp, &vloss, &vacc);
    double secs = now() - t0;
    ok = ok && ax_map_set_str(vm, stats, "epoch", ax_int(ep)) && ax_map_set_str(vm, stats, "loss", ax_float(loss)) &&
         ax_map_set_str(vm, stats, "accuracy", isnan(acc) ? AX_NIL : ax_float(acc)) &&
         ax_map_set_str(vm, stats, "val_loss", isnan(vloss) ? AX_NIL : ax_float(vloss)) &&
         ax_map_set_str(vm, stats, "val_accuracy", isnan(vacc) ? AX_NIL : ax_float(vacc)) &&
         ax_map_set_str(vm, stats, "lr", ax_float(opt->cfg.lr)) && ax_map_set_str(vm, stats, "seconds", ax_float(secs)) &&
         ax_list_push(vm, history, ax_obj_value(stats));
    if (ok && show_progress) {
      if (tty) fprintf(stderr, "\r");
      fprintf(stderr, "epoch %lld/%lld  loss %.4f", (long long)ep, (long long)epochs, loss);
      if (!isnan(acc)) fprintf(stderr, "  acc %.4f", acc);
      if (!isnan(vloss)) fprintf(stderr, "  val_loss %.4f", vloss);
      if (!isnan(vacc)) fprintf(stderr, "  val_acc %.4f", vacc);
      fprintf(stderr, "  lr %.3g  %.1fs (%.0f samples/s)%s\n", opt->cfg.lr, secs, (double)n / (secs > 0 ? secs : 1e-9),
              tty ? "          " : "");
    }
    /* per-epoch schedules */
    if (ok && !interrupted && !AX_IS_NIL(schedule) && !sched_per_batch) {
      ax_value stepf, r, metric = ax_float(isnan(vloss) ? loss : vloss);
      ok = AX_AS_FOREIGN(schedule)->cls->get_field(vm, schedule, ax_str_cstr(vm, "step"), &stepf) == AX_HOOK_OK &&
           ax_vm_call(vm, stepf, 1, &metric, NULL, &r);
    }
    /* callbacks */
    for (int i = 0; ok && i < ncb; i++) {
      ax_value cb = cbl->items[i];
      if (!AX_IS_MAP(cb)) {
        ax_value a[2] = {ax_int(ep), ax_obj_value(stats)}, r;
        ok = ax_vm_call(vm, cb, 2, a, NULL, &r);
        continue;
      }
      ax_value kv = cb_get(vm, cb, "callback");
      const char *k = AX_IS_STRING(kv) ? AX_AS_STRING(kv)->chars : "";
      const char *mon;
      int maximize;
      monitor_of(vm, cb, stats, &mon, &maximize);
      double m = stat_of(vm, stats, mon);
      bool improved = !isnan(m) && (isnan(cbs[i].best) || (maximize ? m > cbs[i].best + cb_num(vm, cb, "min_delta", 0)
                                                                     : m < cbs[i].best - cb_num(vm, cb, "min_delta", 0)));
      if (!strcmp(k, "early_stopping")) {
        if (improved) { cbs[i].best = m; cbs[i].bad = 0; }
        else if (++cbs[i].bad >= (int64_t)cb_num(vm, cb, "patience", 3)) {
          stop = true;
          if (verbose) fprintf(stderr, "early stopping: %s did not improve for %lld epochs\n", mon, (long long)cbs[i].bad);
        }
      } else if (!strcmp(k, "reduce_on_plateau")) {
        if (improved) { cbs[i].best = m; cbs[i].bad = 0; }
        else if (++cbs[i].bad > (int64_t)cb_num(vm, cb, "patience", 10)) {
          double nl = fmax(opt->cfg.lr * cb_num(vm, cb, "factor", 0.1), cb_num(vm, cb, "min_lr", 0));
          if (verbose && nl < opt->cfg.lr) fprintf(stderr, "reduce_on_plateau: lr %.3g -> %.3g\n", opt->cfg.lr, nl);
          opt->cfg.lr = nl;
          base_lr = nl;
          cbs[i].bad = 0;
        }
      } else if (!strcmp(k, "checkpoint_best")) {
        if (improved) {
          cbs[i].best = m;
          ax_value p = cb_get(vm, cb, "path");
          ok = write_checkpoint(vm, AX_AS_STRING(p)->chars, net, opt, scaler, ep);
        }
      } else if (!strcmp(k, "checkpoint_every")) {
        int64_t every = (int64_t)cb_num(vm, cb, "every", 1), keep = (int64_t)cb_num(vm, cb, "keep", 3);
        if (every < 1) every = 1;
        if (ep % every == 0 || interrupted) {
          char path[1024];
          ax_value p = cb_get(vm, cb, "path");
          epoch_path(AX_AS_STRING(p)->chars, ep, path, sizeof path);
          ok = write_checkpoint(vm, path, net, opt, scaler, ep);
          if (ok && keep > 0) {
            /* keep the last `keep` files: delete the one `keep` saves ago */
            int64_t old = ep - keep * every;
            if (old >= 1) {
              epoch_path(AX_AS_STRING(p)->chars, old, path, sizeof path);
              ok = ax_vm_file_allowed(vm, path, AX_FILE_WRITE);
              if (ok) unlink(path);
            }
          }
        }
      } else if (!strcmp(k, "csv_log")) {
        ax_value p = cb_get(vm, cb, "path");
        ok = write_csv(vm, AX_AS_STRING(p)->chars, history);
      } else if (!strcmp(k, "progress")) {
        /* printed above */
      } else {
        ax_value fnv = cb_get(vm, cb, "on_epoch_end");
        if (AX_IS_NIL(fnv)) ok = ax_vm_raise(vm, "value", "train: unknown callback '%s'", k);
        else {
          ax_value a[2] = {ax_int(ep), ax_obj_value(stats)}, r;
          ok = ax_vm_call(vm, fnv, 2, a, NULL, &r);
        }
      }
    }
    if (ok && !interrupted && !AX_IS_NIL(on_epoch)) {
      ax_value a[2] = {ax_int(ep), ax_obj_value(stats)}, r;
      ok = ax_vm_call(vm, on_epoch, 2, a, NULL, &r);
    }
    ax_vm_pop_root(vm, 1);
    if (interrupted) break;
  }
  if (own_sigint) sigaction(SIGINT, &prev_sigint, NULL);
  ax_net_set_logits_mode(net, prev_lm, &has_sm);
  if (ok && interrupted) {
    /* first Ctrl-C: the batch is done; save where a checkpoint is configured, then exit 130 */
    for (int i = 0; i < ncb; i++) {
      ax_value kv = cb_get(vm, cbl->items[i], "callback");
      const char *k = AX_IS_STRING(kv) ? AX_AS_STRING(kv)->chars : "";
      if (strcmp(k, "checkpoint_best") && strcmp(k, "checkpoint_every")) continue;
      char path[1024];
      ax_value p = cb_get(vm, cbl->items[i], "path");
      if (!strcmp(k, "checkpoint_every")) epoch_path(AX_AS_STRING(p)->chars, (int64_t)history->len, path, sizeof path);
      else snprintf(path, sizeof path, "%s", AX_AS_STRING(p)->chars);
      ax_err e;
      if (!ax_sandbox_allows(vm, path, AX_FILE_WRITE, e.msg, sizeof e.msg)) fprintf(stderr, "interrupt: %s\n", e.msg);
      else if (save_checkpoint(vm, path, net, opt, scaler, (int64_t)history->len, &e)) fprintf(stderr, "interrupt: %s\n", e.msg);
      else fprintf(stderr, "interrupt: saved %s\n", path);
    }
    vm->error_uncatchable = true;
    ax_vm_raise(vm, "interrupt", "interrupted");
    ok = false;
  }
  vm->nroots = nroots0;
  if (!ok) return false;
  *out = ax_obj_value(history);
  return true;
fail:
  vm->nroots = nroots0;
  return false;
}

/* ---- plot(stats, "loss.svg"): loss (and val_loss) and accuracy per epoch, no dependencies ---- */

static bool f_plot(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_string *path;
  if (!ax_arg_count(vm, "plot", argc, 2, 2) || !ax_arg_str(vm, "plot", args, argc, 1, &path) ||
      !ax_vm_file_allowed(vm, path->chars, AX_FILE_WRITE))
    return false;
  if (!AX_IS_LIST(args[0]) || AX_AS_LIST(args[0])->len == 0)
    return ax_vm_raise(vm, "type", "plot: the first argument must be the list of epoch stats train() returns");
  ax_list *h = AX_AS_LIST(args[0]);
  int64_t n = h->len;
  static const char *const series[] = {"loss", "val_loss", "accuracy", "val_accuracy"};
  static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    if (!AX_IS_MAP(h->items[i])) return ax_vm_raise(vm, "type", "plot: entry %lld is not a stats map", (long long)i);
    for (int s = 0; s < 2; s++) {
      double v = stat_of(vm, AX_AS_MAP(h->items[i]), series[s]);
      if (!isnan(v)) { lo = fmin(lo, v); hi = fmax(hi, v); }
    }
  }
  if (!isfinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12) hi = lo + 1;
  const double W = 640, H = 400, L = 60, R = 60, T = 40, B = 50;
  size_t cap = 16384, len = 0;
  char *buf = ax_malloc(cap);
  if (!buf) return ax_vm_oom(vm);
  bool ok = true;
#define SVG(...) do { char l_[512]; int w_ = snprintf(l_, sizeof l_, __VA_ARGS__); \
    if (len + (size_t)w_ + 1 > cap) { char *nb_ = ax_realloc(buf, cap, cap * 2 + (size_t)w_); if (!nb_) { ok = false; break; } \
      buf = nb_; cap = cap * 2 + (size_t)w_; } memcpy(buf + len, l_, (size_t)w_); len += (size_t)w_; } while (0)
  do {
    SVG("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    SVG("<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    SVG("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    SVG("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
    SVG("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", W - R, T, W - R, H - B);
    for (int k = 0; k <= 4; k++) {
      double yv = lo + (hi - lo) * k / 4, yy = H - B - (H - T - B) * k / 4;
      SVG("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", L - 5, yy + 4, yv);
      SVG("<text x=\"%.0f\" y=\"%.1f\">%.2f</text>\n", W - R + 5, yy + 4, (double)k / 4);
    }
    for (int64_t i = 0; i < n; i++) {
      double xx = L + (W - L - R) * (n > 1 ? (double)i / (double)(n - 1) : 0.5);
      SVG("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%lld</text>\n", xx, H - B + 16, (long long)(i + 1));
    }
    SVG("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">epoch</text>\n", (W - R + L) / 2, H - 12);
    SVG("<text x=\"15\" y=\"%.0f\" transform=\"rotate(-90 15 %.0f)\" text-anchor=\"middle\">loss</text>\n", H / 2, H / 2);
    SVG("<text x=\"%.0f\" y=\"%.0f\" transform=\"rotate(90 %.0f %.0f)\" text-anchor=\"middle\">accuracy</text>\n", W - 15, H / 2, W - 15, H / 2);
    for (int s = 0; s < 4; s++) {
      int any = 0;
      for (int64_t i = 0; i < n; i++)
        if (!isnan(stat_of(vm, AX_AS_MAP(h->items[i]), series[s]))) any = 1;
      if (!any) continue;
      SVG("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colors[s], s % 2 ? " stroke-dasharray=\"6 4\"" : "");
      for (int64_t i = 0; i < n; i++) {
        double v = stat_of(vm, AX_AS_MAP(h->items[i]), series[s]);
        if (isnan(v)) continue;
        double xx = L + (W - L - R) * (n > 1 ? (double)i / (double)(n - 1) : 0.5);
        double frac = s < 2 ? (v - lo) / (hi - lo) : v;
        SVG("%.1f,%.1f ", xx, H - B - (H - T - B) * frac);
      }
      SVG("\"/>\n");
      SVG("<text x=\"%.0f\" y=\"%d\" fill=\"%s\">%s</text>\n", L + 10 + 120 * s, 25, colors[s], series[s]);
    }
    SVG("</svg>\n");
  } while (0);
#undef SVG
  if (!ok) {
    ax_free(buf, cap);
    return ax_vm_oom(vm);
  }
  const void *parts[1] = {buf};
  size_t sizes[1] = {len};
  ax_err e;
  ax_status st = ax_file_write_atomic(path->chars, parts, sizes, 1, &e);
  ax_free(buf, cap);
  if (st) return ax_raise_rt(vm, st, &e);
  *out = AX_NIL;
  return true;
}

static const ax_native_reg train_prelude[] = {
  {"train", f_train, -1},
  {"evaluate", f_evaluate, -1},
  {"infer", f_infer, -1},
  {"checkpoint", f_checkpoint, -1},
  {"restore", f_restore, -1},
  {"plot", f_plot, -1},
  {"progress", f_progress, -1},
  {"early_stopping", f_early_stopping, -1},
  {"checkpoint_best", f_checkpoint_best, -1},
  {"checkpoint_every", f_checkpoint_every, -1},
  {"csv_log", f_csv_log, -1},
  {"reduce_on_plateau", f_reduce_on_plateau, -1},
  {"l1_penalty", f_l1, -1},
  {"l2", f_l2, -1},
  {"elastic_net", f_elastic_net, -1},
  {"penalty", f_penalty, -1},
  {NULL, NULL, 0},
};

bool ax_lib_train_open(ax_vm *vm) { return ax_vm_register_globals(vm, train_prelude); }
