/* vm/data_aug.c — loader transforms (normalize, random_flip, random_crop, center_crop, resize,
** random_rotation, color_jitter, compose) and samplers (weighted, subset) of the `data` module.
** A transform or sampler is a small map made by its constructor; the loader applies it in C to
** each batch, with its own seeded stream, so runs are reproducible from the loader's seed.
** Invariant: transforms never write the dataset: they work on a fresh copy of the batch. */
#include <math.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"
#include "data_aug.h"
#include "lib_tensor.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double uniform01(uint64_t *rs) { return (double)(ax_data_mix64(rs) >> 11) * (1.0 / 9007199254740992.0); }

/* ---- constructors: maps {"transform": kind, ...} ---- */

static bool make(ax_vm *vm, const char *key, const char *kind, ax_value *out) {
  ax_map *m = ax_map_new(vm);
  if (!m) return false;
  *out = ax_obj_value(m);
  return ax_map_set_str(vm, m, key, ax_str_value(vm, kind));
}

static bool set_num(ax_vm *vm, ax_value m, const char *k, double v) { return ax_map_set_str(vm, AX_AS_MAP(m), k, ax_float(v)); }

static double get_num(ax_vm *vm, ax_value m, const char *k, double dflt) {
  ax_value v;
  if (!ax_map_get_str(vm, AX_AS_MAP(m), k, &v)) return dflt;
  return AX_IS_INT(v) ? (double)v.as.i : AX_IS_FLOAT(v) ? v.as.f : AX_IS_BOOL(v) ? v.as.b : dflt;
}

static bool kw_number(ax_vm *vm, const char *fn, const ax_kw *kw, const char *name, double *v) {
  ax_value x;
  if (!ax_kw_get(kw, name, &x)) return true;
  if (AX_IS_INT(x)) *v = (double)x.as.i;
  else if (AX_IS_FLOAT(x)) *v = x.as.f;
  else if (AX_IS_BOOL(x)) *v = x.as.b;
  else return ax_vm_raise(vm, "type", "%s: %s: must be a number, got %s", fn, name, ax_type_name(x));
  return true;
}

/* size: an int or [h, w] */
static bool size_arg(ax_vm *vm, const char *fn, ax_value v, int64_t *h, int64_t *w) {
  if (AX_IS_INT(v) && v.as.i > 0) { *h = *w = v.as.i; return true; }
  if (AX_IS_LIST(v) && AX_AS_LIST(v)->len == 2 && AX_IS_INT(AX_AS_LIST(v)->items[0]) && AX_IS_INT(AX_AS_LIST(v)->items[1]) &&
      AX_AS_LIST(v)->items[0].as.i > 0 && AX_AS_LIST(v)->items[1].as.i > 0) {
    *h = AX_AS_LIST(v)->items[0].as.i;
    *w = AX_AS_LIST(v)->items[1].as.i;
    return true;
  }
  return ax_vm_raise(vm, "type", "%s: size must be a positive int or [h, w]", fn);
}

bool ax_data_normalize(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "data.normalize", argc, 2, 2)) return false;
  for (int i = 0; i < 2; i++)
    if (!AX_IS_NUM(args[i]) && !AX_IS_LIST(args[i]))
      return ax_vm_raise(vm, "type", "data.normalize(mean, std): numbers or lists of per-channel numbers");
  if (!make(vm, "transform", "normalize", out)) return false;
  return ax_map_set_str(vm, AX_AS_MAP(*out), "mean", args[0]) && ax_map_set_str(vm, AX_AS_MAP(*out), "std", args[1]);
}

bool ax_data_random_flip(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"p", "horizontal", "vertical", NULL};
  double p = 0.5, hz = 1, vt = 0;
  if (!ax_kw_check(vm, "data.random_flip", kw, allowed) || !kw_number(vm, "data.random_flip", kw, "p", &p) ||
      !kw_number(vm, "data.random_flip", kw, "horizontal", &hz) || !kw_number(vm, "data.random_flip", kw, "vertical", &vt))
    return false;
  if (p < 0 || p > 1) return ax_vm_raise(vm, "value", "data.random_flip: p must be in [0, 1]");
  return make(vm, "transform", "random_flip", out) && set_num(vm, *out, "p", p) && set_num(vm, *out, "horizontal", hz) &&
         set_num(vm, *out, "vertical", vt);
}

bool ax_data_random_crop(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"padding", NULL};
  int64_t h, w;
  double pad = 0;
  if (!ax_kw_check(vm, "data.random_crop", kw, allowed) || !ax_arg_count(vm, "data.random_crop", argc, 1, 1) ||
      !size_arg(vm, "data.random_crop", args[0], &h, &w) || !kw_number(vm, "data.random_crop", kw, "padding", &pad))
    return false;
  if (pad < 0) return ax_vm_raise(vm, "value", "data.random_crop: padding must be >= 0");
  return make(vm, "transform", "random_crop", out) && set_num(vm, *out, "h", (double)h) && set_num(vm, *out, "w", (double)w) &&
         set_num(vm, *out, "padding", pad);
}

static bool sized(ax_vm *vm, const char *fn, const char *kind, ax_value *args, int argc, ax_value *out) {
  int64_t h, w;
  if (!ax_arg_count(vm, fn, argc, 1, 1) || !size_arg(vm, fn, args[0], &h, &w)) return false;
  return make(vm, "transform", kind, out) && set_num(vm, *out, "h", (double)h) && set_num(vm, *out, "w", (double)w);
}
bool ax_data_center_crop(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return sized(vm, "data.center_crop", "center_crop", args, argc, out);
}
bool ax_data_resize(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  return sized(vm, "data.resize", "resize", args, argc, out);
}

bool ax_data_random_rotation(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  double deg;
  if (!ax_arg_count(vm, "data.random_rotation", argc, 1, 1) || !ax_arg_num(vm, "data.random_rotation", args, argc, 0, &deg))
    return false;
  if (deg < 0) return ax_vm_raise(vm, "value", "data.random_rotation: degrees must be >= 0");
  return make(vm, "transform", "random_rotation", out) && set_num(vm, *out, "degrees", deg);
}

bool ax_data_color_jitter(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"brightness", "contrast", NULL};
  double b = 0, c = 0;
  if (!ax_kw_check(vm, "data.color_jitter", kw, allowed) || !kw_number(vm, "data.color_jitter", kw, "brightness", &b) ||
      !kw_number(vm, "data.color_jitter", kw, "contrast", &c))
    return false;
  if (b < 0 || c < 0) return ax_vm_raise(vm, "value", "data.color_jitter: brightness and contrast must be >= 0");
  return make(vm, "transform", "color_jitter", out) && set_num(vm, *out, "brightness", b) && set_num(vm, *out, "contrast", c);
}

bool ax_data_compose(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  if (!ax_arg_count(vm, "data.compose", argc, 1, 1) || !AX_IS_LIST(args[0]))
    return ax_vm_raise(vm, "type", "data.compose([t1, t2, ...]): a list of transforms");
  *out = args[0];   /* a list of transforms is a composition; compose() names it */
  return true;
}

/* A sampler's tensor is read on the host at every pass: one on a device is downloaded once here. */
static bool on_host(ax_vm *vm, ax_tensor **t) {
  ax_tensor *h = NULL;
  ax_err e;
  ax_status st = ax_host_copy(*t, &h, &e);
  ax_tensor_release(*t);
  *t = h;
  return st ? ax_raise_rt(vm, st, &e) : true;
}

bool ax_data_weighted(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  static const char *const allowed[] = {"num_samples", "replacement", NULL};
  double ns = -1, repl = 1;
  ax_tensor *w = NULL;
  if (!ax_kw_check(vm, "data.weighted", kw, allowed) || !ax_arg_count(vm, "data.weighted", argc, 1, 1) ||
      !kw_number(vm, "data.weighted", kw, "num_samples", &ns) || !kw_number(vm, "data.weighted", kw, "replacement", &repl))
    return false;
  if (!ax_value_to_tensor(vm, "data.weighted", args[0], AX_FLOAT64, &w) || !on_host(vm, &w)) return false;
  ax_value wv;
  if (!ax_push_tensor(vm, w, &wv)) return false;
  if (w->ndim != 1 || ax_numel(w) == 0) return ax_vm_raise(vm, "shape", "data.weighted: weights must be a non-empty 1-d list");
  if (!repl) return ax_vm_raise(vm, "value", "data.weighted: sampling without replacement is not supported; use replacement: true");
  ax_vm_push_root(vm, wv);
  bool ok = make(vm, "sampler", "weighted", out) && ax_map_set_str(vm, AX_AS_MAP(*out), "weights", wv) &&
            set_num(vm, *out, "num_samples", ns < 0 ? (double)ax_numel(w) : ns);
  ax_vm_pop_root(vm, 1);
  return ok;
}

bool ax_data_subset(ax_vm *vm, ax_value *args, int argc, const ax_kw *kw, ax_value *out) {
  ax_tensor *ix = NULL;
  if (!ax_arg_count(vm, "data.subset", argc, 1, 1) || !ax_value_to_tensor(vm, "data.subset", args[0], AX_INT64, &ix) ||
      !on_host(vm, &ix))
    return false;
  ax_value iv;
  if (!ax_push_tensor(vm, ix, &iv)) return false;
  if (ix->ndim != 1) return ax_vm_raise(vm, "shape", "data.subset: indices must be a 1-d list");
  ax_vm_push_root(vm, iv);
  bool ok = make(vm, "sampler", "subset", out) && ax_map_set_str(vm, AX_AS_MAP(*out), "indices", iv);
  ax_vm_pop_root(vm, 1);
  return ok;
}

/* ---- samplers ---- */

bool ax_data_sampler_size(ax_vm *vm, ax_value sampler, int64_t n, int64_t *size) {
  ax_value k, v;
  if (!AX_IS_MAP(sampler) || !ax_map_get_str(vm, AX_AS_MAP(sampler), "sampler", &k) || !AX_IS_STRING(k))
    return ax_vm_raise(vm, "type", "data.loader: sampler: must be data.weighted(...), data.subset(...) or \"random\"/\"sequential\"");
  const char *kind = AX_AS_STRING(k)->chars;
  if (!strcmp(kind, "weighted")) {
    ax_map_get_str(vm, AX_AS_MAP(sampler), "weights", &v);
    if (ax_numel(ax_value_tensor(v)) != n)
      return ax_vm_raise(vm, "shape", "data.loader: %lld weights for %lld samples", (long long)ax_numel(ax_value_tensor(v)), (long long)n);
    *size = (int64_t)get_num(vm, sampler, "num_samples", (double)n);
    return true;
  }
  ax_map_get_str(vm, AX_AS_MAP(sampler), "indices", &v);
  ax_tensor *ix = ax_value_tensor(v);
  int64_t m = ax_numel(ix);
  for (int64_t i = 0; i < m; i++) {
    int64_t at[1] = {i}, j = ax_get_i64(ix, at);
    if (j < 0 || j >= n) return ax_vm_raise(vm, "index", "data.subset: index %lld out of range for %lld samples", (long long)j, (long long)n);
  }
  *size = m;
  return true;
}

bool ax_data_sampler_order(ax_vm *vm, ax_value sampler, int64_t n, bool shuffle, uint64_t *rs, int64_t *order, int64_t count) {
  ax_value k, v;
  ax_map_get_str(vm, AX_AS_MAP(sampler), "sampler", &k);
  if (!strcmp(AX_AS_STRING(k)->chars, "weighted")) {
    /* multinomial with replacement: binary search in the cumulative weights */
    ax_map_get_str(vm, AX_AS_MAP(sampler), "weights", &v);
    ax_tensor *w = ax_value_tensor(v);
    double *cum = ax_calloc((size_t)n, sizeof(double)), total = 0;
    if (!cum) return ax_vm_oom(vm);
    for (int64_t i = 0; i < n; i++) {
      int64_t at[1] = {i};
      double wi = ax_get_f64(w, at);
      if (!(wi >= 0) || isinf(wi)) {
        ax_free(cum, sizeof(double) * (size_t)n);
        return ax_vm_raise(vm, "value", "data.weighted: weight %lld is %g; weights must be finite and >= 0", (long long)i, wi);
      }
      cum[i] = total += wi;
    }
    if (total <= 0) {
      ax_free(cum, sizeof(double) * (size_t)n);
      return ax_vm_raise(vm, "value", "data.weighted: the weights sum to 0");
    }
    for (int64_t s = 0; s < count; s++) {
      double u = uniform01(rs) * total;
      int64_t lo = 0, hi = n - 1;
      while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (cum[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      order[s] = lo;
    }
    ax_free(cum, sizeof(double) * (size_t)n);
    return true;
  }
  ax_map_get_str(vm, AX_AS_MAP(sampler), "indices", &v);
  ax_tensor *ix = ax_value_tensor(v);
  for (int64_t i = 0; i < count; i++) {
    int64_t at[1] = {i};
    order[i] = ax_get_i64(ix, at);
  }
  if (shuffle)
    for (int64_t i = count - 1; i > 0; i--) {
      int64_t j = (int64_t)ax_data_bounded(rs, (uint64_t)i + 1), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  return true;
}

/* ---- transforms: a plan compiled on the main thread, run as plain C anywhere ----
** Compiling reads the transform maps (VM objects) and validates them against the batch shape,
** raising the errors a script sees; running touches only float buffers and the plan, so the
** loader's prefetch thread may run it (vm/data_prefetch.c). Both loader paths run the same code,
** with the same per-batch stream, so batches are bit-identical with and without prefetching. */

enum { AUG_NORMALIZE, AUG_FLIP, AUG_RANDOM_CROP, AUG_CENTER_CROP, AUG_RESIZE, AUG_ROTATION, AUG_JITTER };

struct ax_aug_step {
  int kind;
  int64_t c, h, w;        /* input sample [c, h, w] */
  int64_t oh, ow, pad;    /* output plane (crop, resize, rotation) and crop padding */
  double p, deg, bright, contrast;
  int hz, vt;
  size_t chan;            /* normalize: c means then c inverse stds at plan->chan[chan] */
};

void ax_data_plan_free(ax_aug_plan *p) {
  ax_free(p->steps, sizeof(ax_aug_step) * (size_t)p->cap);
  ax_free(p->chan, sizeof(float) * p->chan_cap);
  memset(p, 0, sizeof *p);
}

static bool plan_step(ax_vm *vm, ax_aug_plan *p, ax_value tr) {
  ax_value kv;
  if (!AX_IS_MAP(tr) || !ax_map_get_str(vm, AX_AS_MAP(tr), "transform", &kv) || !AX_IS_STRING(kv))
    return ax_vm_raise(vm, "type", "data.loader: transform: must be a function, a data.* transform or a list of them");
  const char *k = AX_AS_STRING(kv)->chars;
  ax_aug_step st = {.c = p->c, .h = p->oh, .w = p->ow, .oh = p->oh, .ow = p->ow};
  if (!strcmp(k, "normalize")) {
    st.kind = AUG_NORMALIZE;
    size_t need = p->chan_len + 2 * (size_t)st.c;
    if (need > p->chan_cap) {
      size_t ncap = need * 2;
      float *nc = ax_realloc(p->chan, sizeof(float) * p->chan_cap, sizeof(float) * ncap);
      if (!nc) return ax_vm_oom(vm);
      p->chan = nc;
      p->chan_cap = ncap;
    }
    st.chan = p->chan_len;
    ax_value mv, sv;
    ax_map_get_str(vm, AX_AS_MAP(tr), "mean", &mv);
    ax_map_get_str(vm, AX_AS_MAP(tr), "std", &sv);
    for (int64_t ch = 0; ch < st.c; ch++) {
      ax_value a = AX_IS_LIST(mv) ? (AX_AS_LIST(mv)->len == st.c ? AX_AS_LIST(mv)->items[ch] : AX_AS_LIST(mv)->len == 1 ? AX_AS_LIST(mv)->items[0] : AX_NIL) : mv;
      ax_value b = AX_IS_LIST(sv) ? (AX_AS_LIST(sv)->len == st.c ? AX_AS_LIST(sv)->items[ch] : AX_AS_LIST(sv)->len == 1 ? AX_AS_LIST(sv)->items[0] : AX_NIL) : sv;
      if (!AX_IS_NUM(a) || !AX_IS_NUM(b))
        return ax_vm_raise(vm, "shape", "data.normalize: give one mean and std per channel (%lld channels)", (long long)st.c);
      double m = AX_IS_INT(a) ? (double)a.as.i : a.as.f, s = AX_IS_INT(b) ? (double)b.as.i : b.as.f;
      if (s == 0) return ax_vm_raise(vm, "value", "data.normalize: std is 0");
      p->chan[st.chan + (size_t)ch] = (float)m;
      p->chan[st.chan + (size_t)(st.c + ch)] = (float)(1.0 / s);
    }
    p->chan_len = need;
  } else if (!strcmp(k, "random_flip")) {
    st.kind = AUG_FLIP;
    st.p = get_num(vm, tr, "p", 0.5);
    st.hz = get_num(vm, tr, "horizontal", 1) != 0;
    st.vt = get_num(vm, tr, "vertical", 0) != 0;
  } else if (!strcmp(k, "random_crop") || !strcmp(k, "center_crop") || !strcmp(k, "resize") || !strcmp(k, "random_rotation")) {
    st.kind = !strcmp(k, "random_crop") ? AUG_RANDOM_CROP : !strcmp(k, "center_crop") ? AUG_CENTER_CROP
            : !strcmp(k, "resize") ? AUG_RESIZE : AUG_ROTATION;
    st.oh = (int64_t)get_num(vm, tr, "h", (double)st.h);
    st.ow = (int64_t)get_num(vm, tr, "w", (double)st.w);
    st.pad = (int64_t)get_num(vm, tr, "padding", 0);
    st.deg = get_num(vm, tr, "degrees", 0);
    int crop = st.kind == AUG_RANDOM_CROP || st.kind == AUG_CENTER_CROP;
    if (crop && (st.oh > st.h + 2 * st.pad || st.ow > st.w + 2 * st.pad))
      return ax_vm_raise(vm, "shape", "data.%s: size [%lld, %lld] is larger than the (padded) image [%lld, %lld]", k,
                         (long long)st.oh, (long long)st.ow, (long long)(st.h + 2 * st.pad), (long long)(st.w + 2 * st.pad));
    size_t sample;
    if (!ax_size_mul((size_t)st.c, (size_t)st.oh, &sample) || !ax_size_mul(sample, (size_t)st.ow, &sample))
      return ax_vm_oom(vm);
    if (sample > p->max_sample) p->max_sample = sample;
    p->resizes++;
  } else if (!strcmp(k, "color_jitter")) {
    st.kind = AUG_JITTER;
    st.bright = get_num(vm, tr, "brightness", 0);
    st.contrast = get_num(vm, tr, "contrast", 0);
  } else {
    return ax_vm_raise(vm, "value", "data.loader: unknown transform '%s'", k);
  }
  if (p->n == p->cap) {
    int ncap = p->cap ? p->cap * 2 : 4;
    ax_aug_step *ns = ax_realloc(p->steps, sizeof(ax_aug_step) * (size_t)p->cap, sizeof(ax_aug_step) * (size_t)ncap);
    if (!ns) return ax_vm_oom(vm);
    p->steps = ns;
    p->cap = ncap;
  }
  p->steps[p->n++] = st;
  p->oh = st.oh;
  p->ow = st.ow;
  return true;
}

bool ax_data_plan_compile(ax_vm *vm, ax_value tr, const int64_t *shape, int ndim, ax_dtype dt, ax_aug_plan *out) {
  memset(out, 0, sizeof *out);
  if (!ax_dtype_is_float(dt) || (ndim != 4 && ndim != 3)) {
    char sb[96];
    return ax_vm_raise(vm, "shape", "data.loader: transforms need float images [N, C, H, W] or [N, H, W], got %s %s",
                       ax_dtype_name(dt), ax_shape_str(shape, ndim, sb, sizeof sb));
  }
  out->rank3 = ndim == 3;
  out->c = out->rank3 ? 1 : shape[1];
  out->h = out->oh = shape[ndim - 2];
  out->w = out->ow = shape[ndim - 1];
  out->max_sample = (size_t)(out->c * out->h * out->w);
  bool ok = true;
  if (AX_IS_LIST(tr)) {
    for (int64_t i = 0; ok && i < AX_AS_LIST(tr)->len; i++) ok = plan_step(vm, out, AX_AS_LIST(tr)->items[i]);
  } else {
    ok = plan_step(vm, out, tr);
  }
  if (!ok) ax_data_plan_free(out);
  return ok;
}

/* One in-place step on n samples at base ([n, c, h, w] floats). */
static void run_in_place(const ax_aug_plan *p, const ax_aug_step *st, int64_t n, float *base, uint64_t *rs) {
  int64_t plane = st->h * st->w;
  if (st->kind == AUG_NORMALIZE) {
    for (int64_t ch = 0; ch < st->c; ch++) {
      float fm = p->chan[st->chan + (size_t)ch], fi = p->chan[st->chan + (size_t)(st->c + ch)];
      for (int64_t i = 0; i < n; i++) {
        float *q = base + (i * st->c + ch) * plane;
        for (int64_t j = 0; j < plane; j++) q[j] = (q[j] - fm) * fi;
      }
    }
  } else if (st->kind == AUG_FLIP) {
    int64_t h = st->h, w = st->w;
    for (int64_t i = 0; i < n; i++) {
      int fh = st->hz && uniform01(rs) < st->p, fv = st->vt && uniform01(rs) < st->p;
      for (int64_t ch = 0; ch < st->c && (fh || fv); ch++) {
        float *q = base + (i * st->c + ch) * plane;
        if (fh)
          for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w / 2; x++) {
              float t = q[y * w + x];
              q[y * w + x] = q[y * w + w - 1 - x];
              q[y * w + w - 1 - x] = t;
            }
        if (fv)
          for (int64_t y = 0; y < h / 2; y++)
            for (int64_t x = 0; x < w; x++) {
              float t = q[y * w + x];
              q[y * w + x] = q[(h - 1 - y) * w + x];
              q[(h - 1 - y) * w + x] = t;
            }
      }
    }
  } else {   /* AUG_JITTER */
    double b = st->bright, c = st->contrast;
    int64_t per = st->c * plane;
    for (int64_t i = 0; i < n; i++) {
      float *q = base + i * per;
      double fb = b > 0 ? fmax(0, 1 - b) + uniform01(rs) * ((1 + b) - fmax(0, 1 - b)) : 1;
      double fc = c > 0 ? fmax(0, 1 - c) + uniform01(rs) * ((1 + c) - fmax(0, 1 - c)) : 1;
      double mean = 0;
      for (int64_t j = 0; j < per; j++) mean += q[j] * fb;
      mean /= (double)(per ? per : 1);
      for (int64_t j = 0; j < per; j++) {
        double v = q[j] * fb;
        v = (v - mean) * fc + mean;
        q[j] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
      }
    }
  }
}

/* Bilinear sample of plane q (h x w) at (y, x); outside -> 0. */
static float bilinear(const float *q, int64_t h, int64_t w, double y, double x) {
  int64_t y0 = (int64_t)floor(y), x0 = (int64_t)floor(x);
  double fy = y - (double)y0, fx = x - (double)x0, acc = 0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      int64_t yy = y0 + dy, xx = x0 + dx;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      acc += (dy ? fy : 1 - fy) * (dx ? fx : 1 - fx) * q[yy * w + xx];
    }
  return (float)acc;
}

/* Crop, resize or rotation of n samples from src [n, c, h, w] into dst [n, c, oh, ow]. */
static void run_resample(const ax_aug_step *st, int64_t n, const float *src, float *dst, uint64_t *rs) {
  int64_t h = st->h, w = st->w, oh = st->oh, ow = st->ow, pad = st->pad, plane = h * w;
  int crop = st->kind == AUG_RANDOM_CROP || st->kind == AUG_CENTER_CROP;
  for (int64_t i = 0; i < n; i++) {
    int64_t oy = 0, ox = 0;
    double ang = 0;
    if (st->kind == AUG_RANDOM_CROP) {
      oy = (int64_t)ax_data_bounded(rs, (uint64_t)(h + 2 * pad - oh + 1)) - pad;
      ox = (int64_t)ax_data_bounded(rs, (uint64_t)(w + 2 * pad - ow + 1)) - pad;
    } else if (st->kind == AUG_CENTER_CROP) {
      oy = (h - oh) / 2;
      ox = (w - ow) / 2;
    } else if (st->kind == AUG_ROTATION) {
      ang = (uniform01(rs) * 2 - 1) * st->deg * M_PI / 180.0;
    }
    double cs = cos(ang), sn = sin(ang), cy = (double)(h - 1) / 2, cx = (double)(w - 1) / 2;
    for (int64_t ch = 0; ch < st->c; ch++) {
      const float *q = src + (i * st->c + ch) * plane;
      float *r = dst + (i * st->c + ch) * oh * ow;
      for (int64_t y = 0; y < oh; y++)
        for (int64_t x = 0; x < ow; x++) {
          if (crop) {
            int64_t sy = y + oy, sx = x + ox;
            r[y * ow + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? q[sy * w + sx] : 0.0f;
          } else if (st->kind == AUG_RESIZE) {
            /* half-pixel centres, as torchvision's bilinear resize without antialias */
            double sy = ((double)y + 0.5) * (double)h / (double)oh - 0.5;
            double sx = ((double)x + 0.5) * (double)w / (double)ow - 0.5;
            sy = sy < 0 ? 0 : sy;
            sx = sx < 0 ? 0 : sx;
            r[y * ow + x] = bilinear(q, h, w, sy > (double)(h - 1) ? (double)(h - 1) : sy,
                                     sx > (double)(w - 1) ? (double)(w - 1) : sx);
          } else {
            /* rotate the sampling grid by -angle around the centre; outside is 0 */
            double dy = (double)y - cy, dx = (double)x - cx;
            r[y * ow + x] = bilinear(q, h, w, cy + cs * dy - sn * dx, cx + sn * dy + cs * dx);
          }
        }
    }
  }
}

void ax_data_plan_run(const ax_aug_plan *p, int64_t n, float *a, float *b, float *out, uint64_t *rs) {
  float *cur = p->resizes ? a : out;
  int done = 0;
  for (int s = 0; s < p->n; s++) {
    const ax_aug_step *st = &p->steps[s];
    if (st->kind == AUG_NORMALIZE || st->kind == AUG_FLIP || st->kind == AUG_JITTER) {
      run_in_place(p, st, n, cur, rs);
      continue;
    }
    /* the last resampling step writes the output; earlier ones alternate between a and b */
    float *dst = ++done == p->resizes ? out : cur == a ? b : a;
    run_resample(st, n, cur, dst, rs);
    cur = dst;
  }
}

bool ax_data_apply_transform(ax_vm *vm, ax_value tr, ax_tensor *x, uint64_t *rs, ax_tensor **out) {
  ax_aug_plan plan;
  if (!ax_data_plan_compile(vm, tr, x->shape, x->ndim, x->dtype, &plan)) return false;
  ax_err e;
  ax_tensor *c = NULL, *o = NULL;
  float *a = NULL, *b = NULL;
  size_t cap = 0;
  ax_device dev = x->storage->device;
  ax_status st = ax_cast(x, AX_FLOAT32, &c, &e);
  if (!st) {
    /* a fresh contiguous copy on the host (the plan runs in C): the batch may be a view of the
    ** dataset, or on a device (downloaded here, the result uploaded back below) */
    ax_tensor *cp = NULL;
    st = dev.type == AX_DEV_CPU ? ax_copy(c, &cp, &e) : ax_host_copy(c, &cp, &e);
    ax_tensor_release(c);
    c = cp;
  }
  int64_t n = x->shape[0];
  if (!st && plan.resizes) {
    int64_t s4[4] = {n, plan.c, plan.oh, plan.ow}, s3[3] = {n, plan.oh, plan.ow};
    st = plan.rank3 ? ax_tensor_empty(s3, 3, AX_FLOAT32, AX_CPU, &o, &e) : ax_tensor_empty(s4, 4, AX_FLOAT32, AX_CPU, &o, &e);
    if (!st && !ax_size_mul((size_t)n, plan.max_sample * sizeof(float), &cap))
      st = ax_err_set(&e, AX_E_NOMEM, "data.loader: transform buffers too large");
    if (!st) {
      a = ax_malloc_aligned(cap ? cap : 1);
      b = plan.resizes > 1 ? ax_malloc_aligned(cap ? cap : 1) : NULL;
      if (!a || (plan.resizes > 1 && !b)) st = ax_err_set(&e, AX_E_NOMEM, "data.loader: out of memory");
    }
    if (!st) memcpy(a, (float *)c->storage->data + c->offset, sizeof(float) * (size_t)ax_numel(c));
  }
  if (!st) {
    if (plan.resizes) ax_data_plan_run(&plan, n, a, b, (float *)o->storage->data + o->offset, rs);
    else ax_data_plan_run(&plan, n, NULL, NULL, (float *)c->storage->data + c->offset, rs);
  }
  int resized = plan.resizes != 0;
  if (a) ax_free_aligned(a, cap ? cap : 1);
  if (b) ax_free_aligned(b, cap ? cap : 1);
  ax_data_plan_free(&plan);
  if (st) {
    ax_tensor_release(c);
    ax_tensor_release(o);
    return ax_raise_rt(vm, st, &e);
  }
  if (resized) {
    ax_tensor_release(c);
    c = o;
  }
  st = ax_to(c, dev, out, &e);   /* the batch stays where it was */
  ax_tensor_release(c);
  return st ? ax_raise_rt(vm, st, &e) : true;
}
