/* runtime/ax_tensor.h — the tensor: refcounted backend storage + shape/stride view + autograd.
** Shapes are int64, strides are in elements, offset is in elements into the storage.
** Invariant: the VM holds tensors only through ax_tensor_retain/ax_tensor_release and op calls;
** every function returns an ax_status and fills ax_err, never exits. Not thread-safe per tensor. */
#ifndef AX_TENSOR_H
#define AX_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "ax_dtype.h"
#include "ax_error.h"

#define AX_MAX_DIMS 8

typedef enum { AX_DEV_CPU = 0, AX_DEV_CUDA = 1 } ax_device_type;
typedef struct { ax_device_type type; int index; } ax_device;
#define AX_CPU ((ax_device){AX_DEV_CPU, 0})

/* Parse "cpu", "cuda", "cuda:1"; format as "cpu" / "cuda:0". */
ax_status ax_device_parse(const char *s, ax_device *out, ax_err *err);
void ax_device_format(ax_device d, char *buf, size_t n);
int ax_device_eq(ax_device a, ax_device b);

/* Device memory of a backend (the debugger's `memory`): bytes handed out to tensors, bytes kept
** by its caching allocator, peak in use, raw device allocations so far, device total/free. */
typedef struct {
  size_t in_use, cached, peak;
  uint64_t raw_allocs;
  size_t total, free_bytes;
} ax_backend_mem;

/* What a backend's random() fills with (ax_create.c's Philox 4x32-10 layout: element i comes
** from counter block base + i/2 under key seed; uniforms in [0, 1) from 53 bits, normals by
** Box-Muller over the block's pair, Bernoulli keep-masks 1/(1-p) or 0). */
typedef enum { AX_RANDOM_UNIFORM, AX_RANDOM_NORMAL, AX_RANDOM_BERNOULLI } ax_random_kind;

/* Backend vtable: the CPU's lives in ax_tensor.c; others join in the registry there. */
typedef struct ax_backend {
  const char *name;
  void *(*alloc)(size_t nbytes);                 /* NULL when the memory is not there */
  void (*free)(void *p, size_t nbytes);
  ax_status (*upload)(void *dst, const void *host, size_t nbytes, ax_err *err);
  ax_status (*download)(void *host, const void *src, size_t nbytes, ax_err *err);
  ax_status (*sync)(ax_err *err);
  ax_status (*mem_stats)(ax_backend_mem *out, ax_err *err);   /* NULL: not tracked (CPU: ax_mem_live) */
  void (*trim)(void);                            /* give cached blocks back; NULL: nothing cached */
  /* Fill n elements of dtype dt at dst (device memory) from the reserved counters; NULL: the
  ** CPU generates and one upload moves the values (the CPU's own is NULL: ax_create.c does it). */
  ax_status (*random)(void *dst, ax_dtype dt, int64_t n, ax_random_kind kind, uint64_t seed, uint64_t base, double p,
                      ax_err *err);
} ax_backend;

/* The backend for a device, or an AX_E_DEVICE error ("cuda: not available in this build"). */
ax_status ax_backend_get(ax_device d, const ax_backend **out, ax_err *err);
/* The backend of d if an ax_backend_get for d has succeeded before, else NULL. Never loads or
** probes anything (a CPU-only run must not load the CUDA module): the debugger's `memory`. */
const ax_backend *ax_backend_loaded(ax_device d);
/* Bytes of tensor storage held on devices other than the CPU (ax_mem_live counts the CPU's).
** A counter kept where storage is made and freed, so asking costs nothing: the GC's pressure. */
size_t ax_device_mem_live(void);
extern size_t ax_device_live_bytes_;
static inline size_t ax_device_mem_live_now(void) { return __atomic_load_n(&ax_device_live_bytes_, __ATOMIC_RELAXED); }
/* Free the CPU allocator's cache of large blocks (leak checks, memory pressure). */
void ax_cpu_cache_clear(void);
/* Bytes of freed blocks the CPU allocator keeps for reuse (counted by ax_mem_live, not in use). */
size_t ax_cpu_cache_bytes(void);
/* Age the cached blocks and free those no allocation took since the previous trim: the GC calls it
** after each collection, so blocks of sizes a loop stopped asking for (an evaluation's batches, a
** finished phase) are returned instead of held for the rest of the run. */
void ax_cpu_cache_trim(void);

typedef struct ax_storage {
  int64_t refc;
  void *data;          /* device pointer (host pointer on CPU) */
  size_t nbytes;
  const ax_backend *be;
  ax_device device;
  uint64_t version;    /* bumped by in-place writes (ax_fill_, ax_copy_, ax_bump_version) */
} ax_storage;

struct ax_node;   /* autograd graph node (ax_autograd.h) */

typedef struct ax_tensor {
  int64_t refc;
  ax_storage *storage;
  int64_t offset;                  /* elements */
  int ndim;
  int64_t shape[AX_MAX_DIMS];
  int64_t stride[AX_MAX_DIMS];     /* elements */
  ax_dtype dtype;
  uint8_t requires_grad;           /* leaf: set by the user; non-leaf: set when recorded */
  uint8_t wrapped;                 /* 0-d tensor made from a script number (type promotion) */
  struct ax_tensor *grad;          /* accumulated gradient of a leaf, or NULL */
  struct ax_node *node;            /* grad_fn: the op that produced this tensor, or NULL */
} ax_tensor;

ax_tensor *ax_tensor_retain(ax_tensor *t);     /* returns t; NULL-safe */
/* Move a leaf's data (and its gradient) to dev in place, as Module.to does for parameters: t keeps
** its identity, so optimizers and script values holding it see the new device. Views of t made
** before keep the old data. A no-op on t's own device. */
ax_status ax_tensor_move_(ax_tensor *t, ax_device dev, ax_err *err);
void ax_tensor_release(ax_tensor *t);          /* NULL-safe; frees graph chains iteratively */

/* ---- shape helpers ---- */
int64_t ax_numel(const ax_tensor *t);
int ax_is_contiguous(const ax_tensor *t);
/* Product of a shape with overflow check; AX_E_LIMIT names op and shape on overflow. */
ax_status ax_shape_numel(const char *op, const int64_t *shape, int ndim, int64_t *out, ax_err *err);
/* "[2, 3]" into buf (always NUL-terminated). */
const char *ax_shape_str(const int64_t *shape, int ndim, char *buf, size_t n);
/* NumPy broadcasting of two shapes; error "op: shapes [2, 3] and [4] cannot be broadcast". */
ax_status ax_broadcast_shapes(const char *op, const int64_t *a, int na, const int64_t *b, int nb,
                              int64_t *out, int *nout, ax_err *err);
/* Normalise a possibly negative dim for rank ndim ("op: dim 3 out of range for 2-d tensor"). */
ax_status ax_norm_dim(const char *op, int64_t dim, int ndim, int *out, ax_err *err);

/* PyTorch result_type over operands: dimensioned tensors outrank 0-d tensors, which outrank
** wrapped numbers, except that a higher category (bool < int < float) always wins; a wrapped
** float promotes ints to the default float32. */
ax_dtype ax_result_type(ax_tensor *const *ts, int n);

/* ---- creation (all on CPU unless a device is given; float32 unless a dtype is given) ---- */
ax_status ax_tensor_empty(const int64_t *shape, int ndim, ax_dtype dt, ax_device dev,
                          ax_tensor **out, ax_err *err);
ax_status ax_tensor_from_f64(const double *data, const int64_t *shape, int ndim, ax_dtype dt,
                             ax_tensor **out, ax_err *err);
ax_status ax_tensor_from_i64(const int64_t *data, const int64_t *shape, int ndim, ax_dtype dt,
                             ax_tensor **out, ax_err *err);
/* Copy raw bytes already in dtype dt (loaders: npy, safetensors, idx). */
ax_status ax_tensor_from_bytes(const void *data, const int64_t *shape, int ndim, ax_dtype dt,
                               ax_tensor **out, ax_err *err);
/* A 0-d "wrapped number" tensor: float -> float64 storage that promotes like a Python float. */
ax_status ax_scalar_f64(double v, ax_tensor **out, ax_err *err);
ax_status ax_scalar_i64(int64_t v, ax_tensor **out, ax_err *err);
ax_status ax_scalar_bool(int v, ax_tensor **out, ax_err *err);
ax_status ax_zeros(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err);
ax_status ax_ones(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err);
ax_status ax_full(const int64_t *shape, int ndim, double v, ax_dtype dt, ax_tensor **out, ax_err *err);
/* ax_full on dev (zeros of a backward rule on the gradient's device): on a device one element is
** uploaded and expanded there by the copy kernel, so no full-size buffer crosses the bus. */
ax_status ax_full_on(const int64_t *shape, int ndim, double v, ax_dtype dt, ax_device dev, ax_tensor **out, ax_err *err);
ax_status ax_zeros_like(const ax_tensor *t, ax_tensor **out, ax_err *err);
ax_status ax_ones_like(const ax_tensor *t, ax_tensor **out, ax_err *err);
ax_status ax_full_like(const ax_tensor *t, double v, ax_tensor **out, ax_err *err);
/* [start, stop) by step; dtype int64 when all three are integral and dt is AX_NDTYPES. */
ax_status ax_arange(double start, double stop, double step, ax_dtype dt, ax_tensor **out, ax_err *err);
ax_status ax_linspace(double start, double stop, int64_t n, ax_dtype dt, ax_tensor **out, ax_err *err);
ax_status ax_eye(int64_t n, int64_t m, ax_dtype dt, ax_tensor **out, ax_err *err);
/* Fill an existing tensor (any view, any device) with v, in place, not recorded by autograd. */
ax_status ax_fill_(ax_tensor *t, double v, ax_err *err);
/* dst[...] = src in place (index assignment, copy_, optimizer updates): src is broadcast to dst's
** shape and converted to dst's dtype; dst may be any strided view; src may overlap dst and may be
** on another device (moved through the backends). Not recorded by autograd. "copy_: shape [3]
** cannot be broadcast to [2, 4]" on mismatch. On a device the write is composed of rows and the
** storage takes a new buffer (ax_create.c), so raw data pointers taken before it are stale. */
ax_status ax_copy_(ax_tensor *dst, ax_tensor *src, ax_err *err);
/* Code that writes tensor data directly (optimizers, index assignment) calls this so that a
** backward pass that needs the old values fails with a clear error instead of a wrong gradient. */
static inline void ax_bump_version(ax_tensor *t) { t->storage->version++; }

/* ---- random numbers: one Philox 4x32-10 generator; ax_seed makes runs bit-reproducible ---- */
void ax_seed(uint64_t seed);
typedef struct { uint64_t seed, offset; } ax_rng_state;   /* offset counts 128-bit blocks used */
ax_rng_state ax_rng_get_state(void);
void ax_rng_set_state(ax_rng_state s);
ax_status ax_rand(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err);
ax_status ax_randn(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err);
ax_status ax_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, ax_dtype dt,
                     ax_tensor **out, ax_err *err);
ax_status ax_rand_like(const ax_tensor *t, ax_tensor **out, ax_err *err);
ax_status ax_randn_like(const ax_tensor *t, ax_tensor **out, ax_err *err);
/* Dropout mask of t's shape and dtype: 0 with probability p, else 1/(1-p). */
ax_status ax_dropout_mask(const ax_tensor *t, double p, ax_tensor **out, ax_err *err);

/* ---- views (share storage; recorded by autograd like any op; see ax_ops.h) ---- */
ax_status ax_reshape(ax_tensor *x, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err);
ax_status ax_view(ax_tensor *x, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err);
ax_status ax_permute(ax_tensor *x, const int64_t *dims, int ndim, ax_tensor **out, ax_err *err);
ax_status ax_transpose(ax_tensor *x, int64_t d0, int64_t d1, ax_tensor **out, ax_err *err);
/* Python slice x[start:stop:step] on dim; AX_SLICE_NONE for an omitted bound; step > 0. */
#define AX_SLICE_NONE INT64_MIN
ax_status ax_slice(ax_tensor *x, int64_t dim, int64_t start, int64_t stop, int64_t step,
                   ax_tensor **out, ax_err *err);
/* x[..., i, ...] on dim: drops the dim; negative i counts from the end. */
ax_status ax_select(ax_tensor *x, int64_t dim, int64_t index, ax_tensor **out, ax_err *err);
ax_status ax_narrow(ax_tensor *x, int64_t dim, int64_t start, int64_t len, ax_tensor **out, ax_err *err);
/* -1 in shape keeps that size; new leading dims allowed (torch.expand). */
ax_status ax_expand(ax_tensor *x, const int64_t *shape, int ndim, ax_tensor **out, ax_err *err);
ax_status ax_squeeze(ax_tensor *x, const int64_t *dims, int ndims, ax_tensor **out, ax_err *err); /* ndims 0: all */
ax_status ax_unsqueeze(ax_tensor *x, int64_t dim, ax_tensor **out, ax_err *err);
ax_status ax_flatten(ax_tensor *x, int64_t start, int64_t end, ax_tensor **out, ax_err *err);
/* Returns x retained when already contiguous, else a contiguous copy. */
ax_status ax_contiguous(ax_tensor *x, ax_tensor **out, ax_err *err);
/* Stride computation for a view reshape (torch computeStride); 0 when a copy is needed. */
int ax_view_strides(const ax_tensor *x, const int64_t *shape, int ndim, int64_t *stride);

/* ---- element access (any dtype and view; item and the buffers also any device: a tensor on a
** device is downloaded through its backend first) ---- */
ax_status ax_item_f64(const ax_tensor *t, double *out, ax_err *err);    /* needs numel 1 */
ax_status ax_item_i64(const ax_tensor *t, int64_t *out, ax_err *err);
/* Element at multi-index idx[ndim] of a CPU tensor (no bounds check beyond assertions): host code
** with a tensor that may be on a device takes ax_host_copy (ax_ops.h) first. */
double ax_get_f64(const ax_tensor *t, const int64_t *idx);
int64_t ax_get_i64(const ax_tensor *t, const int64_t *idx);
/* All elements in row-major order into dst (numel entries): tolist() builds nested lists. */
ax_status ax_to_f64_buffer(const ax_tensor *t, double *dst, ax_err *err);
ax_status ax_to_i64_buffer(const ax_tensor *t, int64_t *dst, ax_err *err);

/* ---- autograd (ax_autograd.c) ---- */
int ax_grad_enabled(void);
void ax_set_grad_enabled(int on);                  /* no_grad(fn): save, set 0, call, restore */
ax_status ax_set_requires_grad(ax_tensor *t, int on, ax_err *err);   /* float leaves only */
/* param(t): a new leaf that shares t's data and requires grad. */
ax_status ax_param(ax_tensor *t, ax_tensor **out, ax_err *err);
ax_status ax_detach(ax_tensor *t, ax_tensor **out, ax_err *err);     /* shares storage */
int ax_is_leaf(const ax_tensor *t);
/* Reverse pass from loss. grad may be NULL only when loss has one element. Leaves that require
** grad accumulate into ->grad (created on first use). The graph is kept (retain_graph). */
ax_status ax_backward(ax_tensor *loss, ax_tensor *grad, ax_err *err);
/* As ax_backward, then (retain_graph 0, PyTorch's default) release every tensor the graph saved, as
** the pass goes: memory of a training step is freed by its backward, not when the loss is collected.
** A later backward through the same graph is an error naming retain_graph. */
ax_status ax_backward_ex(ax_tensor *loss, ax_tensor *grad, int retain_graph, ax_err *err);
void ax_zero_grad(ax_tensor *t);                   /* drops t->grad */

/* ---- printing (ax_print.c) ---- */
typedef struct { char *p; size_t len, cap; } ax_strbuf;   /* p NUL-terminated, from ax_malloc */
ax_status ax_strbuf_append(ax_strbuf *sb, const char *s, size_t n, ax_err *err);
void ax_strbuf_free(ax_strbuf *sb);
/* PyTorch's repr: tensor([[1.0000, 2.0000], ...]) with dtype/device/requires_grad suffixes. */
ax_status ax_tensor_format(const ax_tensor *t, ax_strbuf *sb, ax_err *err);
/* Same, as a new string that the caller frees with ax_str_free. */
ax_status ax_tensor_to_string(const ax_tensor *t, char **out, ax_err *err);
void ax_str_free(char *s);
/* on = 1: print floats whose values are all integral the way PyTorch does ("1."); the default 0
** prints them with 4 decimals ("1.0000", LANGUAGE.md section 3). Process-wide. */
void ax_print_set_int_mode(int on);

#endif
