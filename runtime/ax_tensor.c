/* runtime/ax_tensor.c — storage, backends, tensor lifetime, shape helpers, creation from buffers
** and element access. Invariant: a tensor holds one reference on its storage, its grad and its
** autograd node; releasing frees whole graph chains without recursion. */
#include "ax_tensor.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_autograd.h"
#include "ax_mem.h"
#include "ax_ops.h"
#include "cpu/cpu.h"

/* ---------------- devices and backends ---------------- */

ax_status ax_device_parse(const char *s, ax_device *out, ax_err *err) {
  if (!strcmp(s, "cpu")) { *out = AX_CPU; return AX_OK; }
  if (!strncmp(s, "cuda", 4) && (s[4] == 0 || s[4] == ':')) {
    int idx = 0;
    if (s[4] == ':') {
      char *end;
      long v = strtol(s + 5, &end, 10);
      if (*end || end == s + 5 || v < 0 || v > 64)
        return ax_err_set(err, AX_E_VALUE, "device: bad device string '%s'", s);
      idx = (int)v;
    }
    *out = (ax_device){AX_DEV_CUDA, idx};
    return AX_OK;
  }
  return ax_err_set(err, AX_E_VALUE, "device: unknown device '%s' (expected \"cpu\" or \"cuda[:N]\")", s);
}

void ax_device_format(ax_device d, char *buf, size_t n) {
  if (d.type == AX_DEV_CPU) snprintf(buf, n, "cpu");
  else snprintf(buf, n, "cuda:%d", d.index);
}

int ax_device_eq(ax_device a, ax_device b) { return a.type == b.type && a.index == b.index; }

/* CPU allocator with a small cache of large blocks: a training step frees and re-allocates the
** same sizes, and fresh mmap'd blocks cost a page fault per 4 KiB on first touch. */
#define CACHE_SLOTS 64
#define CACHE_MIN ((size_t)1 << 16)
#define CACHE_MAX_BYTES ((size_t)256 << 20)
/* Bigger blocks go straight back: an evaluation batch's 100 MB conv output kept for reuse stayed
** resident while the next layers allocated other sizes; re-faulting such a block costs far less
** than the work that fills it. */
#define CACHE_BLOCK_MAX ((size_t)16 << 20)
static struct { void *p; size_t n; unsigned age; } cache[CACHE_SLOTS];
static size_t cache_bytes;   /* written under cache_mu; read without it by ax_cpu_cache_bytes */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

#define SMALL_MAX 1024
#define SMALL_KEEP 32

static size_t cpu_round(size_t n) {
  if (n >= CACHE_MIN) return (n + 4095) & ~(size_t)4095;
  return n <= SMALL_MAX ? (n + 63) & ~(size_t)63 : n;
}

/* Per-thread caches of small objects (tensor headers, storage records, data blocks up to 1 KiB):
** a loop over small tensors would otherwise spend most of its time in malloc/free. The objects
** stay counted by ax_mem while cached; ax_cpu_cache_clear returns the calling thread's. */
static _Thread_local void *small_data[SMALL_MAX / 64][SMALL_KEEP];
static _Thread_local int nsmall[SMALL_MAX / 64];
static _Thread_local ax_tensor *hdr_cache[SMALL_KEEP];
static _Thread_local ax_storage *sto_cache[SMALL_KEEP];
static _Thread_local int nhdr, nsto;

static void small_clear(void);

/* A thread that exits (a data-loader thread) hands its cached objects back. */
static pthread_key_t small_key;
static pthread_once_t small_once = PTHREAD_ONCE_INIT;
static _Thread_local int small_registered;
static void small_exit(void *unused) { (void)unused; small_clear(); }
static void small_key_init(void) { pthread_key_create(&small_key, small_exit); }
static int small_register(void) {
  if (!small_registered) {
    pthread_once(&small_once, small_key_init);
    pthread_setspecific(small_key, &small_registered);
    small_registered = 1;
  }
  return 1;
}

ax_tensor *ax_header_alloc(void) { return nhdr ? hdr_cache[--nhdr] : ax_malloc(sizeof(ax_tensor)); }
static void header_free(ax_tensor *t) {
  if (nhdr < SMALL_KEEP && small_register()) hdr_cache[nhdr++] = t;
  else ax_free(t, sizeof *t);
}
static ax_storage *storage_alloc(void) { return nsto ? sto_cache[--nsto] : ax_malloc(sizeof(ax_storage)); }
static void storage_free(ax_storage *s) {
  if (nsto < SMALL_KEEP && small_register()) sto_cache[nsto++] = s;
  else ax_free(s, sizeof *s);
}

static void small_clear(void) {
  for (int b = 0; b < SMALL_MAX / 64; b++)
    while (nsmall[b] > 0) ax_free_aligned(small_data[b][--nsmall[b]], (size_t)(b + 1) * 64);
  while (nhdr > 0) ax_free(hdr_cache[--nhdr], sizeof(ax_tensor));
  while (nsto > 0) ax_free(sto_cache[--nsto], sizeof(ax_storage));
}

static void *cpu_alloc(size_t n) {
  n = cpu_round(n);
  if (n <= SMALL_MAX) {
    int b = (int)(n / 64) - 1;
    if (b >= 0 && nsmall[b] > 0) return small_data[b][--nsmall[b]];
    return ax_malloc_aligned(n ? n : 64);
  }
  if (n >= CACHE_MIN) {
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; i < CACHE_SLOTS; i++)
      if (cache[i].p && cache[i].n == n) {
        void *p = cache[i].p;
        cache[i].p = NULL;
        __atomic_store_n(&cache_bytes, cache_bytes - n, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&cache_mu);
        return p;
      }
    pthread_mutex_unlock(&cache_mu);
  }
  void *p = ax_malloc_aligned(n);
  if (!p && n >= CACHE_MIN) {   /* memory tight: give the cache back and retry once */
    ax_cpu_cache_clear();
    p = ax_malloc_aligned(n);
  }
  return p;
}

static void cpu_free(void *p, size_t n) {
  if (!p) return;
  n = cpu_round(n);
  if (n <= SMALL_MAX) {
    int b = (int)(n / 64) - 1;
    if (b >= 0 && nsmall[b] < SMALL_KEEP && small_register()) small_data[b][nsmall[b]++] = p;
    else ax_free_aligned(p, n ? n : 64);
    return;
  }
  if (n >= CACHE_MIN && n <= CACHE_BLOCK_MAX) {
    pthread_mutex_lock(&cache_mu);
    if (cache_bytes + n <= CACHE_MAX_BYTES)
      for (int i = 0; i < CACHE_SLOTS; i++)
        if (!cache[i].p) {
          cache[i].p = p;
          cache[i].n = n;
          cache[i].age = 0;
          __atomic_store_n(&cache_bytes, cache_bytes + n, __ATOMIC_RELAXED);
          pthread_mutex_unlock(&cache_mu);
          return;
        }
    pthread_mutex_unlock(&cache_mu);
  }
  ax_free_aligned(p, n);
}

void ax_cpu_cache_clear(void) {
  small_clear();
  pthread_mutex_lock(&cache_mu);
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (cache[i].p) {
      ax_free_aligned(cache[i].p, cache[i].n);
      cache[i].p = NULL;
    }
  __atomic_store_n(&cache_bytes, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&cache_mu);
}

size_t ax_cpu_cache_bytes(void) { return __atomic_load_n(&cache_bytes, __ATOMIC_RELAXED); }

void ax_cpu_cache_trim(void) {
  pthread_mutex_lock(&cache_mu);
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (cache[i].p && cache[i].age++ >= 1) {
      ax_free_aligned(cache[i].p, cache[i].n);
      __atomic_store_n(&cache_bytes, cache_bytes - cache[i].n, __ATOMIC_RELAXED);
      cache[i].p = NULL;
    }
  pthread_mutex_unlock(&cache_mu);
}

static ax_status cpu_upload(void *dst, const void *host, size_t n, ax_err *err) {
  memcpy(dst, host, n);
  return AX_OK;
}
static ax_status cpu_download(void *host, const void *src, size_t n, ax_err *err) {
  memcpy(host, src, n);
  return AX_OK;
}
static ax_status cpu_sync(ax_err *err) { return AX_OK; }

static const ax_backend cpu_backend = {"cpu", cpu_alloc, cpu_free, cpu_upload, cpu_download, cpu_sync, NULL, NULL, NULL};

/* The backend registry: the one place where the optional CUDA backend (runtime/cuda, built when
** CMake's ANX_CUDA finds nvcc) joins; nothing else in the runtime knows whether it exists. The
** backend is a module (libanx_cuda.so) loaded by runtime/cuda/load.c at the first request for a
** cuda device, so CPU-only runs never map the CUDA libraries; its kernel table exists from then. */
#ifdef AX_HAVE_CUDA
#include "cuda/ax_cuda.h"
#define ACCEL_BACKEND(d, out, err) ax_cuda_backend_get((d).index, out, err)
#define ACCEL_KERNELS ax_cuda_kernels()
#else
#define ACCEL_BACKEND(d, out, err) \
  ax_err_set(err, AX_E_DEVICE, "device cuda:%d: not available (this build has no CUDA backend)", (d).index)
#define ACCEL_KERNELS NULL
#endif

/* A backend given by ax_backend_register for the accelerator type: it answers instead of the
** built-in one (the tests' fake device, tests/unit_runtime/fake_device.c). Set before any tensor
** exists on that device; read without a lock afterwards. */
static const ax_backend *ext_backend;
static const ax_kernel_table *ext_table;

ax_status ax_backend_register(ax_device_type type, const ax_backend *be, const ax_kernel_table *kt, ax_err *err) {
  if (type != AX_DEV_CUDA || !be || !kt || !be->alloc || !be->free || !be->upload || !be->download || !be->sync)
    return ax_err_set(err, AX_E_VALUE, "backend_register: a complete backend for the accelerator device type is needed");
  __atomic_store_n(&ext_table, kt, __ATOMIC_RELEASE);
  __atomic_store_n(&ext_backend, be, __ATOMIC_RELEASE);
  return AX_OK;
}

/* The accelerator backend once an ax_backend_get for it has succeeded (ax_backend_loaded). */
static const ax_backend *accel_ready;

ax_status ax_backend_get(ax_device d, const ax_backend **out, ax_err *err) {
  if (d.type == AX_DEV_CPU) { *out = &cpu_backend; return AX_OK; }
  const ax_backend *ext = __atomic_load_n(&ext_backend, __ATOMIC_ACQUIRE);
  ax_status s;
  if (ext) {
    if (d.index != 0) return ax_err_set(err, AX_E_DEVICE, "cuda:%d: the registered backend addresses cuda:0 only", d.index);
    *out = ext;
    s = AX_OK;
  } else {
    s = ACCEL_BACKEND(d, out, err);
  }
  if (!s) __atomic_store_n(&accel_ready, *out, __ATOMIC_RELEASE);
  return s;
}

const ax_backend *ax_backend_loaded(ax_device d) {
  return d.type == AX_DEV_CPU ? &cpu_backend : __atomic_load_n(&accel_ready, __ATOMIC_ACQUIRE);
}

const ax_kernel_table *ax_backend_kernels(ax_device d) {
  if (d.type == AX_DEV_CPU) return &ax_cpu_kernels;
  const ax_kernel_table *ext = __atomic_load_n(&ext_table, __ATOMIC_ACQUIRE);
  return ext ? ext : ACCEL_KERNELS;
}

/* Bytes of storage on devices other than the CPU, counted where storage is made and freed (ax_mem
** counts the CPU's): the VM's GC pressure, without a call into any backend. */
size_t ax_device_live_bytes_;   /* read inline by ax_device_mem_live_now (ax_tensor.h) */

size_t ax_device_mem_live(void) { return __atomic_load_n(&ax_device_live_bytes_, __ATOMIC_RELAXED); }

/* ---------------- lifetime ---------------- */

ax_tensor *ax_tensor_retain(ax_tensor *t) {
  if (t) t->refc++;
  return t;
}

static void storage_release(ax_storage *s) {
  if (!s || --s->refc > 0) return;
  if (s->device.type != AX_DEV_CPU) __atomic_sub_fetch(&ax_device_live_bytes_, s->nbytes, __ATOMIC_RELAXED);
  s->be->free(s->data, s->nbytes);
  storage_free(s);
}

ax_status ax_tensor_move_(ax_tensor *t, ax_device dev, ax_err *err) {
  if (ax_device_eq(dev, t->storage->device)) return AX_OK;
  if (t->node) return ax_err_set(err, AX_E_VALUE, "to: only a leaf tensor (a parameter, a buffer) can move in place");
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);
  ax_tensor *m = NULL, *g = NULL;
  ax_status st = ax_to(t, dev, &m, err);   /* a contiguous copy on dev */
  if (!st && t->grad) st = ax_to(t->grad, dev, &g, err);
  ax_set_grad_enabled(was);
  if (st) {
    ax_tensor_release(m);
    return st;
  }
  /* t takes the copy's storage and layout; m takes the old storage and frees it when released
  ** (views of t keep theirs). The new storage's version moves past the old one: graphs that saved
  ** t are stale. */
  ax_storage *old = t->storage;
  t->storage = m->storage;
  m->storage = old;
  t->storage->version = old->version + 1;
  t->offset = m->offset;
  memcpy(t->stride, m->stride, sizeof t->stride);
  ax_tensor_release(m);
  ax_tensor_release(t->grad);
  t->grad = g;
  return AX_OK;
}

/* Pending frees: releasing a tensor at the end of a long graph chain frees its node, which
** releases the node's inputs, and so on; a worklist keeps that off the C stack. */
#define PENDING_CAP 4096
static _Thread_local ax_tensor *pending[PENDING_CAP];
static _Thread_local int npending, draining;

static void destroy(ax_tensor *t) {
  storage_release(t->storage);
  ax_tensor *g = t->grad;
  struct ax_node *n = t->node;
  header_free(t);
  ax_tensor_release(g);
  if (n) ax_node_release(n);
}

void ax_tensor_release(ax_tensor *t) {
  if (!t || --t->refc > 0) return;
  if (draining) {
    if (npending < PENDING_CAP) pending[npending++] = t;
    else destroy(t);   /* worklist full: recurse for this one */
    return;
  }
  draining = 1;
  destroy(t);
  while (npending > 0) destroy(pending[--npending]);
  draining = 0;
}

/* ---------------- shapes ---------------- */

int64_t ax_numel(const ax_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

int ax_is_contiguous(const ax_tensor *t) {
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != expect) return 0;
    expect *= t->shape[i];
  }
  return 1;
}

const char *ax_shape_str(const int64_t *shape, int ndim, char *buf, size_t n) {
  size_t k = 0;
  k += (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

ax_status ax_shape_numel(const char *op, const int64_t *shape, int ndim, int64_t *out, ax_err *err) {
  /* span: the product of the nonzero sizes, which the contiguous strides reach even when a zero
  ** size makes n 0 ([0, 2^40, 2^40] must not overflow a stride: found by tests/fuzz/fuzz_npy.c). */
  int64_t n = 1, span = 1;
  char b[160];
  if (ndim < 0 || ndim > AX_MAX_DIMS)
    return ax_err_set(err, AX_E_SHAPE, "%s: %d dims (at most %d supported)", op, ndim, AX_MAX_DIMS);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return ax_err_set(err, AX_E_SHAPE, "%s: negative size in shape %s", op, ax_shape_str(shape, ndim, b, sizeof b));
    if (__builtin_mul_overflow(n, shape[i], &n) || __builtin_mul_overflow(span, shape[i] ? shape[i] : 1, &span))
      return ax_err_set(err, AX_E_LIMIT, "%s: shape %s has too many elements", op, ax_shape_str(shape, ndim, b, sizeof b));
  }
  *out = n;
  return AX_OK;
}

ax_status ax_broadcast_shapes(const char *op, const int64_t *a, int na, const int64_t *b, int nb,
                              int64_t *out, int *nout, ax_err *err) {
  int n = na > nb ? na : nb;
  int64_t r[AX_MAX_DIMS];
  for (int i = 0; i < n; i++) {
    int64_t da = i < n - na ? 1 : a[i - (n - na)], db = i < n - nb ? 1 : b[i - (n - nb)];
    if (da != db && da != 1 && db != 1) {
      char sa[160], sb[160];
      return ax_err_set(err, AX_E_SHAPE, "%s: shapes %s and %s cannot be broadcast", op,
                        ax_shape_str(a, na, sa, sizeof sa), ax_shape_str(b, nb, sb, sizeof sb));
    }
    r[i] = da == 1 ? db : da;
  }
  memcpy(out, r, sizeof(int64_t) * (size_t)n);
  *nout = n;
  return AX_OK;
}

ax_status ax_norm_dim(const char *op, int64_t dim, int ndim, int *out, ax_err *err) {
  int64_t r = ndim == 0 ? 1 : ndim;   /* a 0-d tensor accepts dim 0 / -1, like PyTorch */
  if (dim < -r || dim >= r)
    return ax_err_set(err, AX_E_INDEX, "%s: dim %lld out of range for %d-d tensor (expected %lld..%lld)",
                      op, (long long)dim, ndim, (long long)-r, (long long)(r - 1));
  *out = (int)(dim < 0 ? dim + r : dim);
  return AX_OK;
}

/* ---------------- creation ---------------- */

ax_status ax_tensor_empty(const int64_t *shape, int ndim, ax_dtype dt, ax_device dev,
                          ax_tensor **out, ax_err *err) {
  int64_t n;
  ax_status s = ax_shape_numel("empty", shape, ndim, &n, err);
  if (s) return s;
  if ((unsigned)dt >= AX_NDTYPES) return ax_err_set(err, AX_E_DTYPE, "empty: invalid dtype %d", (int)dt);
  const ax_backend *be;
  if ((s = ax_backend_get(dev, &be, err))) return s;
  size_t nbytes;
  char b[160];
  if (!ax_size_mul((size_t)n, ax_dtype_size(dt), &nbytes) || nbytes > ((size_t)1 << 62))
    return ax_err_set(err, AX_E_NOMEM, "cannot allocate tensor of shape %s (%s): size overflows",
                      ax_shape_str(shape, ndim, b, sizeof b), ax_dtype_name(dt));
  ax_tensor *t = ax_header_alloc();
  ax_storage *st = storage_alloc();
  void *data = t && st ? be->alloc(nbytes) : NULL;
  if (!data) {
    if (t) header_free(t);
    if (st) storage_free(st);
    return ax_err_set(err, AX_E_NOMEM, "out of memory: cannot allocate %zu bytes for tensor of shape %s (%s)",
                      nbytes, ax_shape_str(shape, ndim, b, sizeof b), ax_dtype_name(dt));
  }
  *st = (ax_storage){.refc = 1, .data = data, .nbytes = nbytes, .be = be, .device = dev, .version = 0};
  if (dev.type != AX_DEV_CPU) __atomic_add_fetch(&ax_device_live_bytes_, nbytes, __ATOMIC_RELAXED);
  memset(t, 0, sizeof *t);
  t->refc = 1;
  t->storage = st;
  t->ndim = ndim;
  t->dtype = dt;
  int64_t acc = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    t->shape[i] = shape[i];
    t->stride[i] = acc;
    acc *= shape[i] ? shape[i] : 1;
  }
  *out = t;
  return AX_OK;
}

ax_status cpu_new(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  return ax_tensor_empty(shape, ndim, dt, AX_CPU, out, err);
}

ax_status ax_tensor_from_f64(const double *data, const int64_t *shape, int ndim, ax_dtype dt,
                             ax_tensor **out, ax_err *err) {
  ax_tensor *t;
  ax_status s = ax_tensor_empty(shape, ndim, dt, AX_CPU, &t, err);
  if (s) return s;
  cpu_store_f64(t->storage->data, 1, data, ax_numel(t), dt);
  *out = t;
  return AX_OK;
}

ax_status ax_tensor_from_i64(const int64_t *data, const int64_t *shape, int ndim, ax_dtype dt,
                             ax_tensor **out, ax_err *err) {
  ax_tensor *t;
  ax_status s = ax_tensor_empty(shape, ndim, dt, AX_CPU, &t, err);
  if (s) return s;
  cpu_store_i64(t->storage->data, 1, data, ax_numel(t), dt);
  *out = t;
  return AX_OK;
}

ax_status ax_tensor_from_bytes(const void *data, const int64_t *shape, int ndim, ax_dtype dt,
                               ax_tensor **out, ax_err *err) {
  ax_tensor *t;
  ax_status s = ax_tensor_empty(shape, ndim, dt, AX_CPU, &t, err);
  if (s) return s;
  memcpy(t->storage->data, data, t->storage->nbytes);
  *out = t;
  return AX_OK;
}

ax_status ax_scalar_f64(double v, ax_tensor **out, ax_err *err) {
  ax_status s = ax_tensor_from_f64(&v, NULL, 0, AX_FLOAT64, out, err);
  if (!s) (*out)->wrapped = 1;
  return s;
}

ax_status ax_scalar_i64(int64_t v, ax_tensor **out, ax_err *err) {
  ax_status s = ax_tensor_from_i64(&v, NULL, 0, AX_INT64, out, err);
  if (!s) (*out)->wrapped = 1;
  return s;
}

ax_status ax_scalar_bool(int v, ax_tensor **out, ax_err *err) {
  int64_t x = v != 0;
  ax_status s = ax_tensor_from_i64(&x, NULL, 0, AX_BOOL, out, err);
  if (!s) (*out)->wrapped = 1;
  return s;
}

/* ---------------- element access ---------------- */

static const char *elem_ptr(const ax_tensor *t, const int64_t *idx) {
  assert(t->storage->device.type == AX_DEV_CPU);   /* host code reads device tensors via ax_host_copy */
  int64_t off = t->offset;
  for (int i = 0; i < t->ndim; i++) off += idx[i] * t->stride[i];
  return (const char *)t->storage->data + off * (int64_t)ax_dtype_size(t->dtype);
}

double ax_get_f64(const ax_tensor *t, const int64_t *idx) {
  double v;
  cpu_load_f64(&v, elem_ptr(t, idx), 1, 1, t->dtype);
  return v;
}

int64_t ax_get_i64(const ax_tensor *t, const int64_t *idx) {
  int64_t v;
  cpu_load_i64(&v, elem_ptr(t, idx), 1, 1, t->dtype);
  return v;
}

/* item(): one element read on the host; a tensor on a device is downloaded first (its one element). */
static ax_status item_host(const ax_tensor *t, ax_tensor **h, ax_err *err) {
  char b[160];
  if (ax_numel(t) != 1)
    return ax_err_set(err, AX_E_VALUE, "item: a tensor with %lld elements (shape %s) cannot be converted to a number",
                      (long long)ax_numel(t), ax_shape_str(t->shape, t->ndim, b, sizeof b));
  return ax_host_copy((ax_tensor *)t, h, err);
}

ax_status ax_item_f64(const ax_tensor *t, double *out, ax_err *err) {
  ax_tensor *h = NULL;
  ax_status s = item_host(t, &h, err);
  if (s) return s;
  int64_t idx[AX_MAX_DIMS] = {0};
  *out = ax_get_f64(h, idx);
  ax_tensor_release(h);
  return AX_OK;
}

ax_status ax_item_i64(const ax_tensor *t, int64_t *out, ax_err *err) {
  ax_tensor *h = NULL;
  ax_status s = item_host(t, &h, err);
  if (s) return s;
  int64_t idx[AX_MAX_DIMS] = {0};
  *out = ax_get_i64(h, idx);
  ax_tensor_release(h);
  return AX_OK;
}

/* Walk t in row-major order: each innermost row is one load call. */
#define WALK_ROWS(t, BODY)                                                            \
  do {                                                                                \
    int nd_ = (t)->ndim;                                                              \
    int64_t n_ = ax_numel(t), idx_[AX_MAX_DIMS] = {0};                               \
    int64_t inner_ = nd_ ? (t)->shape[nd_ - 1] : 1, ist_ = nd_ ? (t)->stride[nd_ - 1] : 1; \
    size_t es_ = ax_dtype_size((t)->dtype);                                           \
    for (int64_t done_ = 0; n_ > 0 && done_ < n_; done_ += inner_) {                 \
      int64_t off_ = (t)->offset;                                                     \
      for (int d_ = 0; d_ < nd_ - 1; d_++) off_ += idx_[d_] * (t)->stride[d_];       \
      const char *src_ = (const char *)(t)->storage->data + off_ * (int64_t)es_;      \
      BODY;                                                                           \
      for (int d_ = nd_ - 2; d_ >= 0; d_--) {                                         \
        if (++idx_[d_] < (t)->shape[d_]) break;                                      \
        idx_[d_] = 0;                                                                 \
      }                                                                               \
    }                                                                                 \
  } while (0)

/* tolist(): a tensor on a device is downloaded once (its elements only), then read on the host. */
ax_status ax_to_f64_buffer(const ax_tensor *t, double *dst, ax_err *err) {
  ax_tensor *h = NULL;
  ax_status s = ax_host_copy((ax_tensor *)t, &h, err);
  if (s) return s;
  WALK_ROWS(h, cpu_load_f64(dst + done_, src_, ist_, inner_, h->dtype));
  ax_tensor_release(h);
  return AX_OK;
}

ax_status ax_to_i64_buffer(const ax_tensor *t, int64_t *dst, ax_err *err) {
  ax_tensor *h = NULL;
  ax_status s = ax_host_copy((ax_tensor *)t, &h, err);
  if (s) return s;
  WALK_ROWS(h, cpu_load_i64(dst + done_, src_, ist_, inner_, h->dtype));
  ax_tensor_release(h);
  return AX_OK;
}

/* ---------------- type promotion ---------------- */

/* c10 combine_categories: higher-priority result, unless the lower one is of a higher category. */
static int combine(int higher, int lower) {
  if (higher < 0) return lower;
  if (lower < 0) return higher;
  if (ax_dtype_is_float((ax_dtype)higher)) return higher;
  if (higher == AX_BOOL || ax_dtype_is_float((ax_dtype)lower)) return ax_promote((ax_dtype)higher, (ax_dtype)lower);
  return higher;
}

ax_dtype ax_result_type(ax_tensor *const *ts, int n) {
  int dim = -1, zero = -1, wrap = -1;
  for (int i = 0; i < n; i++) {
    const ax_tensor *t = ts[i];
    if (t->wrapped) {
      ax_dtype d = ax_dtype_is_float(t->dtype) ? AX_DEFAULT_FLOAT : t->dtype;
      wrap = wrap < 0 ? (int)d : (int)ax_promote((ax_dtype)wrap, d);
    } else if (t->ndim == 0) {
      zero = zero < 0 ? (int)t->dtype : (int)ax_promote((ax_dtype)zero, t->dtype);
    } else {
      dim = dim < 0 ? (int)t->dtype : (int)ax_promote((ax_dtype)dim, t->dtype);
    }
  }
  int r = combine(dim, combine(zero, wrap));
  if (r < 0) return AX_DEFAULT_FLOAT;
  /* all operands wrapped: a Python float gives float64 only between wrapped numbers; use the
  ** wrapped dtypes' natural types (float64 scalar ops stay float64 like NumPy float64) */
  if (dim < 0 && zero < 0) {
    for (int i = 0; i < n; i++)
      if (ax_dtype_is_float(ts[i]->dtype)) return AX_DEFAULT_FLOAT;
  }
  return (ax_dtype)r;
}
