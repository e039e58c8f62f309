/* runtime/ax_create.c — creation (zeros ones full arange linspace eye *_like), in-place writes
** (fill_, copy_: on a device composed of rows, see device_copy_) and random
** tensors from one Philox 4x32-10 generator (Salmon et al., SC'11), as PyTorch and JAX use.
** Invariant: element i of a random tensor depends only on (seed, offset at the call, i), so
** results do not depend on threading, and ax_seed(n) makes runs bit-reproducible. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"
#include "cpu/cpu.h"

/* ---------------- filling ---------------- */

typedef struct { double v; ax_dtype dt; } fill_ctx;

static void fill_block(void *vctx, char **p, const int64_t *st, int64_t n) {
  const fill_ctx *c = vctx;
  if (ax_dtype_is_float(c->dt)) {
    double b[CPU_BLOCK];
    for (int64_t i = 0; i < n; i++) b[i] = c->v;
    cpu_store_f64(p[0], st[0], b, n, c->dt);
  } else {
    int64_t b[CPU_BLOCK], v = c->dt == AX_BOOL ? c->v != 0 : (int64_t)c->v;
    for (int64_t i = 0; i < n; i++) b[i] = v;
    cpu_store_i64(p[0], st[0], b, n, c->dt);
  }
}

/* ---------------- in-place writes on a device ----------------
** No backend row writes into an existing tensor, so a write into a tensor on a device computes the
** new contents of its whole storage with rows every backend has (copy, slice_scatter, scatter), and
** the storage then takes that fresh buffer (the old one is freed): every view of the storage sees
** the write, as after an in-place kernel, and no host code touches device memory. */

/* autograd and autocast off while a write is composed of rows (restored by quiet_end) */
typedef struct { int grad; ax_dtype autocast; } quiet_state;
static quiet_state quiet_begin(void) {
  quiet_state q = {ax_grad_enabled(), ax_autocast_dtype()};
  ax_set_grad_enabled(0);
  ax_autocast_set(AX_NDTYPES);
  return q;
}
static void quiet_end(quiet_state q) {
  ax_set_grad_enabled(q.grad);
  ax_autocast_set(q.autocast);
}

static int spans_storage(const ax_tensor *t) {
  return t->offset == 0 && ax_is_contiguous(t) && (size_t)ax_numel(t) * ax_dtype_size(t->dtype) == t->storage->nbytes;
}

/* dst takes fresh's buffer: fresh is a temporary nobody else holds, of dst's size and device. */
static ax_status take_buffer(ax_storage *dst, ax_tensor *fresh, ax_err *err) {
  ax_storage *s = fresh->storage;
  if (s->refc != 1 || s->nbytes != dst->nbytes || s->be != dst->be || !ax_device_eq(s->device, dst->device))
    return ax_err_set(err, AX_E_RUNTIME, "copy_: internal error: the new contents do not fit the storage");
  void *p = dst->data;
  dst->data = s->data;
  s->data = p;
  return AX_OK;
}

/* t's whole storage as a 1-d tensor of t's dtype (shares the storage). */
static ax_status storage_flat(ax_tensor *t, ax_tensor **out, ax_err *err) {
  size_t es = ax_dtype_size(t->dtype);
  if (t->storage->nbytes % es)
    return ax_err_set(err, AX_E_RUNTIME, "copy_: internal error: storage of %zu bytes holds no whole %s elements",
                      t->storage->nbytes, ax_dtype_name(t->dtype));
  ax_tensor *f = ax_header_alloc();
  if (!f) return ax_err_set(err, AX_E_NOMEM, "copy_: out of memory");
  memset(f, 0, sizeof *f);
  f->refc = 1;
  f->storage = t->storage;
  t->storage->refc++;
  f->ndim = 1;
  f->shape[0] = (int64_t)(t->storage->nbytes / es);
  f->stride[0] = 1;
  f->dtype = t->dtype;
  *out = f;
  return AX_OK;
}

/* The storage positions (elements) of t's elements in row-major order: int64 [numel] on the CPU. */
static ax_status positions(const ax_tensor *t, ax_tensor **out, ax_err *err) {
  int64_t n = ax_numel(t), idx[AX_MAX_DIMS] = {0};
  ax_status s = ax_tensor_empty(&n, 1, AX_INT64, AX_CPU, out, err);
  if (s) return s;
  int64_t *d = (int64_t *)cpu_base(*out);
  for (int64_t k = 0; k < n; k++) {
    int64_t off = t->offset;
    for (int i = 0; i < t->ndim; i++) off += idx[i] * t->stride[i];
    d[k] = off;
    for (int i = t->ndim - 1; i >= 0; i--) {
      if (++idx[i] < t->shape[i]) break;
      idx[i] = 0;
    }
  }
  return AX_OK;
}

/* dst (on a device) = src broadcast and converted; src anywhere (a CPU src is uploaded). */
static ax_status device_copy_(ax_tensor *dst, ax_tensor *src, ax_err *err) {
  ax_device dev = dst->storage->device;
  int64_t n = ax_numel(dst);
  ax_tensor *a = NULL, *b = NULL, *c = NULL, *vals = NULL, *flat = NULL, *pos = NULL, *dpos = NULL, *fresh = NULL;
  quiet_state q = quiet_begin();
  ax_status s = ax_to(src, dev, &a, err);
  if (!s) s = ax_cast(a, dst->dtype, &b, err);
  if (!s) s = ax_expand(b, dst->shape, dst->ndim, &c, err);
  if (!s && n > 0) {
    if (spans_storage(dst)) {
      s = ax_copy(c, &fresh, err);   /* the common case: a whole tensor (optimizer state, fill_) */
    } else {
      s = storage_flat(dst, &flat, err);
      if (!s) s = ax_reshape(c, &n, 1, &vals, err);
      if (!s && ax_is_contiguous(dst)) {   /* one run of the storage: x[i] = ... on a row-major x */
        s = ax_slice_scatter(flat, vals, 0, dst->offset, dst->offset + n, 1, &fresh, err);
      } else {
        if (!s) s = positions(dst, &pos, err);
        if (!s) s = ax_to(pos, dev, &dpos, err);
        if (!s) s = ax_scatter(flat, 0, dpos, vals, &fresh, err);
      }
    }
    if (!s) s = take_buffer(dst->storage, fresh, err);
  }
  quiet_end(q);
  ax_tensor *tmp[] = {a, b, c, vals, flat, pos, dpos, fresh};
  for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) ax_tensor_release(tmp[i]);
  if (!s) dst->storage->version++;
  return s;
}

ax_status ax_fill_(ax_tensor *t, double v, ax_err *err) {
  if (t->storage->device.type != AX_DEV_CPU) {   /* one element uploaded, then copied on the device */
    ax_tensor *c = NULL;
    ax_status s = ax_full(NULL, 0, v, t->dtype, &c, err);
    if (!s) s = device_copy_(t, c, err);
    ax_tensor_release(c);
    return s;
  }
  t->storage->version++;
  if (t->dtype == AX_FLOAT32 && v == 0 && ax_is_contiguous(t)) {   /* zeros: memset */
    memset(cpu_base(t), 0, (size_t)ax_numel(t) * 4);
    return AX_OK;
  }
  cpu_iter it;
  fill_ctx c = {v, t->dtype};
  cpu_iter_init(&it, t->shape, t->ndim);
  cpu_iter_add(&it, t);
  cpu_iter_run(&it, fill_block, &c);
  return AX_OK;
}

ax_status ax_copy_(ax_tensor *dst, ax_tensor *src, ax_err *err) {
  char sa[160], sb[160];
  int ok = src->ndim <= dst->ndim;
  for (int i = 0; ok && i < src->ndim; i++) {
    int64_t ds = dst->shape[dst->ndim - src->ndim + i];
    ok = src->shape[i] == ds || src->shape[i] == 1;
  }
  if (!ok)
    return ax_err_set(err, AX_E_SHAPE, "copy_: shape %s cannot be broadcast to %s", ax_shape_str(src->shape, src->ndim, sa, sizeof sa),
                      ax_shape_str(dst->shape, dst->ndim, sb, sizeof sb));
  if (dst->storage->device.type != AX_DEV_CPU) return device_copy_(dst, src, err);
  ax_tensor *tmp = NULL;
  ax_status s;
  if (src->storage->device.type != AX_DEV_CPU) {   /* into a CPU tensor from a device: one download */
    if ((s = ax_host_copy(src, &tmp, err))) return s;
    src = tmp;
  } else if (src->storage == dst->storage) {   /* overlapping views: go through a copy */
    if ((s = ax_tensor_empty(src->shape, src->ndim, src->dtype, AX_CPU, &tmp, err))) return s;
    cpu_copy_into(tmp, src, err);
    src = tmp;
  }
  cpu_copy_into(dst, src, err);
  dst->storage->version++;
  ax_tensor_release(tmp);
  return AX_OK;
}

ax_status ax_full(const int64_t *shape, int ndim, double v, ax_dtype dt, ax_tensor **out, ax_err *err) {
  ax_tensor *t;
  ax_status s = ax_tensor_empty(shape, ndim, dt, AX_CPU, &t, err);
  if (s) return s;
  if ((s = ax_fill_(t, v, err))) {
    ax_tensor_release(t);
    return s;
  }
  *out = t;
  return AX_OK;
}
ax_status ax_zeros(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  return ax_full(shape, ndim, 0, dt, out, err);
}
ax_status ax_ones(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  return ax_full(shape, ndim, 1, dt, out, err);
}
/* *_like tensors (full, zeros, ones, rand, randn, dropout masks) live on t's device, as in
** PyTorch (backward rules build zeros_like on the gradient's device): constant ones by ax_full_on,
** random ones made on the CPU by the one Philox stream (a seed gives the same numbers on every
** device; random_like lets a backend generate them itself), then moved with one upload. s is the
** status of making *out on the CPU. */
static ax_status on_device_of(const ax_tensor *t, ax_status s, ax_tensor **out, ax_err *err) {
  if (s || t->storage->device.type == AX_DEV_CPU) return s;
  ax_tensor *c = *out;
  *out = NULL;
  s = ax_to(c, t->storage->device, out, err);
  ax_tensor_release(c);
  return s;
}
ax_status ax_full_on(const int64_t *shape, int ndim, double v, ax_dtype dt, ax_device dev, ax_tensor **out, ax_err *err) {
  if (dev.type == AX_DEV_CPU) return ax_full(shape, ndim, v, dt, out, err);
  int64_t n;
  ax_status s = ax_shape_numel("full", shape, ndim, &n, err);
  if (s) return s;
  ax_tensor *one = NULL, *d = NULL, *e = NULL;
  quiet_state q = quiet_begin();
  s = ax_full(NULL, 0, v, dt, &one, err);
  if (!s) s = ax_to(one, dev, &d, err);   /* one element up, the rest made by the device's copy kernel */
  if (!s) s = ax_expand(d, shape, ndim, &e, err);
  if (!s) s = ax_copy(e, out, err);
  quiet_end(q);
  ax_tensor_release(one);
  ax_tensor_release(d);
  ax_tensor_release(e);
  return s;
}
ax_status ax_full_like(const ax_tensor *t, double v, ax_tensor **out, ax_err *err) {
  return ax_full_on(t->shape, t->ndim, v, t->dtype, t->storage->device, out, err);
}
ax_status ax_zeros_like(const ax_tensor *t, ax_tensor **out, ax_err *err) { return ax_full_like(t, 0, out, err); }
ax_status ax_ones_like(const ax_tensor *t, ax_tensor **out, ax_err *err) { return ax_full_like(t, 1, out, err); }

ax_status ax_arange(double start, double stop, double step, ax_dtype dt, ax_tensor **out, ax_err *err) {
  if (step == 0 || step != step) return ax_err_set(err, AX_E_VALUE, "arange: step must be nonzero");
  if (!isfinite(start) || !isfinite(stop)) return ax_err_set(err, AX_E_VALUE, "arange: bounds must be finite");
  double cnt = ceil((stop - start) / step);
  if (cnt < 0) cnt = 0;
  if (cnt > 9.0e15) return ax_err_set(err, AX_E_LIMIT, "arange: %g elements is too many", cnt);
  if (dt == AX_NDTYPES)
    dt = (start == floor(start) && stop == floor(stop) && step == floor(step)) ? AX_INT64 : AX_DEFAULT_FLOAT;
  int64_t n = (int64_t)cnt;
  ax_tensor *t;
  ax_status s = ax_tensor_empty(&n, 1, dt, AX_CPU, &t, err);
  if (s) return s;
  if (ax_dtype_is_float(dt)) {
    double b[CPU_BLOCK];
    for (int64_t i = 0; i < n; i += CPU_BLOCK) {
      int64_t m = n - i < CPU_BLOCK ? n - i : CPU_BLOCK;
      for (int64_t k = 0; k < m; k++) b[k] = start + (double)(i + k) * step;
      cpu_store_f64(cpu_base(t) + i * (int64_t)ax_dtype_size(dt), 1, b, m, dt);
    }
  } else {
    int64_t b[CPU_BLOCK], s0 = (int64_t)start, st = (int64_t)step;
    for (int64_t i = 0; i < n; i += CPU_BLOCK) {
      int64_t m = n - i < CPU_BLOCK ? n - i : CPU_BLOCK;
      for (int64_t k = 0; k < m; k++) b[k] = s0 + (i + k) * st;
      cpu_store_i64(cpu_base(t) + i * (int64_t)ax_dtype_size(dt), 1, b, m, dt);
    }
  }
  *out = t;
  return AX_OK;
}

ax_status ax_linspace(double start, double stop, int64_t n, ax_dtype dt, ax_tensor **out, ax_err *err) {
  if (n < 0) return ax_err_set(err, AX_E_VALUE, "linspace: number of steps must be non-negative, got %lld", (long long)n);
  ax_tensor *t;
  ax_status s = ax_tensor_empty(&n, 1, dt, AX_CPU, &t, err);
  if (s) return s;
  double step = n > 1 ? (stop - start) / (double)(n - 1) : 0, b[CPU_BLOCK];
  int64_t half = n / 2;
  for (int64_t i = 0; i < n; i += CPU_BLOCK) {
    int64_t m = n - i < CPU_BLOCK ? n - i : CPU_BLOCK;
    /* PyTorch fills the second half from the end so that the last value is exactly stop */
    for (int64_t k = 0; k < m; k++) {
      int64_t j = i + k;
      b[k] = j < half ? start + step * (double)j : stop - step * (double)(n - 1 - j);
    }
    cpu_store_f64(cpu_base(t) + i * (int64_t)ax_dtype_size(dt), 1, b, m, dt);
  }
  *out = t;
  return AX_OK;
}

ax_status ax_eye(int64_t n, int64_t m, ax_dtype dt, ax_tensor **out, ax_err *err) {
  if (m < 0) m = n;
  int64_t sh[2] = {n, m};
  ax_tensor *t;
  ax_status s = ax_zeros(sh, 2, dt, &t, err);
  if (s) return s;
  double one = 1;
  size_t es = ax_dtype_size(dt);
  for (int64_t i = 0; i < n && i < m; i++) cpu_store_f64(cpu_base(t) + (i * m + i) * (int64_t)es, 1, &one, 1, dt);
  *out = t;
  return AX_OK;
}

/* ---------------- Philox 4x32-10 ---------------- */

/* The generator state; a mutex because data-loader threads draw random numbers too (each call
** reserves its range of counters, so concurrent calls never share values). */
static ax_rng_state rng = {0x853c49e6748fea9bULL, 0};
static pthread_mutex_t rng_mu = PTHREAD_MUTEX_INITIALIZER;

void ax_seed(uint64_t seed) {
  pthread_mutex_lock(&rng_mu);
  rng.seed = seed;
  rng.offset = 0;
  pthread_mutex_unlock(&rng_mu);
}
ax_rng_state ax_rng_get_state(void) {
  pthread_mutex_lock(&rng_mu);
  ax_rng_state s = rng;
  pthread_mutex_unlock(&rng_mu);
  return s;
}
void ax_rng_set_state(ax_rng_state s) {
  pthread_mutex_lock(&rng_mu);
  rng = s;
  pthread_mutex_unlock(&rng_mu);
}

typedef enum { R_UNIFORM, R_NORMAL, R_INT, R_BERNOULLI } rkind;
typedef struct { rkind kind; uint64_t seed, base; double *dst; uint64_t range; int64_t low; double p; } rctx;

/* Elements 2k and 2k+1 come from block base + k: its two 64-bit halves give two 53-bit uniforms
** (A, B); normals are the Box-Muller pair (R cos t, R sin t) with R from A and t from B. */
static inline double value_of(const rctx *c, uint64_t a, uint64_t b, int lane, double ua, double ub) {
  double u = lane ? ub : ua;
  switch (c->kind) {
  case R_UNIFORM: return u;
  case R_BERNOULLI: return u >= c->p ? 1.0 / (1.0 - c->p) : 0.0;
  case R_INT: return (double)(c->low + (int64_t)(((unsigned __int128)(lane ? b : a) * c->range) >> 64));
  case R_NORMAL: {
    double r = sqrt(-2.0 * log(1.0 - ua));   /* 1 - ua in (0, 1] */
    return lane ? r * sin(6.283185307179586 * ub) : r * cos(6.283185307179586 * ub);
  }
  }
  return 0;
}

/* 8 blocks at a time in lanes, so the 32x32->64 multiplies of the rounds vectorise. */
#define LANES 8
static void philox8(uint64_t seed, uint64_t first, uint32_t w[4][LANES]) {
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int l = 0; l < LANES; l++) {
    uint64_t ctr = first + (uint64_t)l;
    w[0][l] = (uint32_t)ctr;
    w[1][l] = (uint32_t)(ctr >> 32);
    w[2][l] = 0;
    w[3][l] = 0;
  }
  for (int r = 0; r < 10; r++) {
    for (int l = 0; l < LANES; l++) {
      uint64_t p0 = (uint64_t)0xD2511F53u * w[0][l], p1 = (uint64_t)0xCD9E8D57u * w[2][l];
      uint32_t n0 = (uint32_t)(p1 >> 32) ^ w[1][l] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ w[3][l] ^ k1;
      w[1][l] = (uint32_t)p1;
      w[3][l] = (uint32_t)p0;
      w[0][l] = n0;
      w[2][l] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

static void gen_range(void *vctx, int64_t b, int64_t e) {
  const rctx *c = vctx;
  int64_t i = b;
  while (i < e) {
    uint32_t w[4][LANES];
    uint64_t first = (uint64_t)(i >> 1);
    philox8(c->seed, c->base + first, w);
    for (int l = 0; l < LANES && i < e; l++) {
      if ((uint64_t)(i >> 1) != first + (uint64_t)l) break;
      uint64_t A = (uint64_t)w[0][l] << 32 | w[1][l], B = (uint64_t)w[2][l] << 32 | w[3][l];
      double ua = (double)(A >> 11) * (1.0 / 9007199254740992.0), ub = (double)(B >> 11) * (1.0 / 9007199254740992.0);
      if (c->kind == R_NORMAL && !(i & 1) && i + 1 < e) {   /* both lanes from one log/sqrt */
        double r = sqrt(-2.0 * log(1.0 - ua)), t = 6.283185307179586 * ub;
        c->dst[i] = r * cos(t);
        c->dst[i + 1] = r * sin(t);
        i += 2;
        continue;
      }
      for (int lane = (int)(i & 1); lane < 2 && i < e; lane++, i++) c->dst[i] = value_of(c, A, B, lane, ua, ub);
    }
  }
}

/* The counters of n values: blocks [base, base + ceil(n/2)) of the current seed. */
static void reserve(rctx *c, int64_t n) {
  pthread_mutex_lock(&rng_mu);
  c->seed = rng.seed;
  c->base = rng.offset;
  rng.offset += (uint64_t)(n + 1) / 2;
  pthread_mutex_unlock(&rng_mu);
}

static ax_status generate(rctx *c, const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  ax_tensor *t;
  ax_status s = ax_tensor_empty(shape, ndim, dt, AX_CPU, &t, err);
  if (s) return s;
  int64_t n = ax_numel(t);
  double *buf = ax_malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (!buf) {
    ax_tensor_release(t);
    return ax_err_set(err, AX_E_NOMEM, "random: out of memory for %lld values", (long long)n);
  }
  reserve(c, n);
  c->dst = buf;
  cpu_parallel_for(n, 1 << 15, gen_range, c);
  cpu_store_f64(cpu_base(t), 1, buf, n, dt);
  ax_free(buf, sizeof(double) * (size_t)(n ? n : 1));
  *out = t;
  return AX_OK;
}

static ax_status need_float(const char *op, ax_dtype dt, ax_err *err) {
  if (ax_dtype_is_float(dt)) return AX_OK;
  return ax_err_set(err, AX_E_DTYPE, "%s: dtype must be a floating point type, got %s", op, ax_dtype_name(dt));
}

ax_status ax_rand(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  ax_status s = need_float("rand", dt, err);
  rctx c = {.kind = R_UNIFORM};
  return s ? s : generate(&c, shape, ndim, dt, out, err);
}
ax_status ax_randn(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  ax_status s = need_float("randn", dt, err);
  rctx c = {.kind = R_NORMAL};
  return s ? s : generate(&c, shape, ndim, dt, out, err);
}
ax_status ax_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  if (high <= low)
    return ax_err_set(err, AX_E_VALUE, "randint: high (%lld) must be greater than low (%lld)", (long long)high, (long long)low);
  if (ax_dtype_is_float(dt) && (double)(high - low) > 9007199254740992.0)
    return ax_err_set(err, AX_E_VALUE, "randint: range too large for %s", ax_dtype_name(dt));
  rctx c = {.kind = R_INT, .range = (uint64_t)high - (uint64_t)low, .low = low};
  if (!ax_dtype_is_float(dt) && (uint64_t)(high - low) > (1ull << 53))
    return ax_err_set(err, AX_E_VALUE, "randint: range wider than 2^53 is not supported");
  return generate(&c, shape, ndim, dt, out, err);
}
/* Random values shaped like t on t's device. A backend with its own generator (be->random) fills
** its memory from the same reserved counters, so a seed gives the same stream on every device;
** otherwise the CPU generates and one upload moves them. */
static ax_status random_like(const ax_tensor *t, rctx *c, ax_random_kind kind, ax_tensor **out, ax_err *err) {
  const ax_backend *be = t->storage->be;
  if (t->storage->device.type == AX_DEV_CPU || !be->random)
    return on_device_of(t, generate(c, t->shape, t->ndim, t->dtype, out, err), out, err);
  ax_tensor *o;
  ax_status s = ax_tensor_empty(t->shape, t->ndim, t->dtype, t->storage->device, &o, err);
  if (s) return s;
  int64_t n = ax_numel(o);
  reserve(c, n);
  if (n && (s = be->random(o->storage->data, o->dtype, n, kind, c->seed, c->base, c->p, err))) {
    ax_tensor_release(o);
    return s;
  }
  *out = o;
  return AX_OK;
}
ax_status ax_rand_like(const ax_tensor *t, ax_tensor **out, ax_err *err) {
  ax_status s = need_float("rand", t->dtype, err);
  rctx c = {.kind = R_UNIFORM};
  return s ? s : random_like(t, &c, AX_RANDOM_UNIFORM, out, err);
}
ax_status ax_randn_like(const ax_tensor *t, ax_tensor **out, ax_err *err) {
  ax_status s = need_float("randn", t->dtype, err);
  rctx c = {.kind = R_NORMAL};
  return s ? s : random_like(t, &c, AX_RANDOM_NORMAL, out, err);
}
ax_status ax_dropout_mask(const ax_tensor *t, double p, ax_tensor **out, ax_err *err) {
  if (!(p >= 0 && p < 1)) return ax_err_set(err, AX_E_VALUE, "dropout: p must be in [0, 1), got %g", p);
  ax_status s = need_float("dropout", t->dtype, err);
  rctx c = {.kind = R_BERNOULLI, .p = p};
  return s ? s : random_like(t, &c, AX_RANDOM_BERNOULLI, out, err);
}

/* relu(x) written over x when nothing else can see it: x and its storage hold one reference each
** (the caller's), no autograd node and no gradient wanted, a contiguous float tensor on the CPU.
** A network's evaluation pass then holds one activation per layer instead of two (conv1's output
** for an evaluation batch of 1000 Fashion-MNIST images is 100 MB). Otherwise exactly ax_relu. */
ax_status ax_relu_reuse(ax_tensor *x, ax_tensor **out, ax_err *err) {
  if (x->refc == 1 && x->storage->refc == 1 && !x->requires_grad && !x->node &&
      x->storage->device.type == AX_DEV_CPU && ax_is_contiguous(x) && ax_dtype_is_float(x->dtype) &&
      !cpu_unary_inplace(AX_OP_RELU, x, err)) {
    x->storage->version++;
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  return ax_relu(x, out, err);
}
