/* runtime/cuda/backend.cu — the CUDA backend vtable: device probe, the per-device context
** (stream, cuBLAS handle, pinned staging buffer, caching allocator over cudaMalloc), transfers.
** Invariant: a steady training step never calls cudaMalloc (blocks come back through the
** cache); every device operation is ordered on ctx->stream, so a freed block may be reused at
** once by the next launch. Only cuda:0 is addressed (docs/cuda.md). */
#include <stdio.h>
#include <string.h>

#include "cuda.cuh"

static ax_cuda_ctx g_ctx = {0, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t g_probe_once = PTHREAD_ONCE_INIT;
static int g_ndev;
static cudaError_t g_probe_err;
static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_init_msg[sizeof(((ax_err *)0)->msg)];   /* first context-creation failure, repeated to later callers */

ax_status cu_fail(ax_err *err, const char *op, cudaError_t e) {
  return ax_err_set(err, e == cudaErrorMemoryAllocation ? AX_E_NOMEM : AX_E_RUNTIME, "%s: CUDA error on cuda:0: %s (%s)",
                    op, cudaGetErrorString(e), cudaGetErrorName(e));
}

ax_status cu_blas_fail(ax_err *err, const char *op, cublasStatus_t s) {
  return ax_err_set(err, s == CUBLAS_STATUS_ALLOC_FAILED ? AX_E_NOMEM : AX_E_RUNTIME, "%s: cuBLAS error on cuda:0: %s", op,
                    cublasGetStatusString(s));
}

ax_status cu_check(ax_err *err, const char *op) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? AX_OK : cu_fail(err, op, e);
}

/* ---------------- caching allocator over cudaMalloc ---------------- */

static void *raw_alloc(void *user, size_t n) {
  void *p = NULL;
  if (cudaMalloc(&p, n) != cudaSuccess) {
    cudaGetLastError();   /* clear the sticky-free error state of a failed cudaMalloc */
    return NULL;
  }
  return p;
}

static void raw_free(void *user, void *p, size_t n) {
  cudaFree(p);   /* synchronises the device: only on trim, never in a steady step */
}

void *cu_scratch(ax_cuda_ctx *c, size_t n) {
  pthread_mutex_lock(&c->mu);
  void *p = ax_cache_alloc(&c->cache, n);
  pthread_mutex_unlock(&c->mu);
  return p;
}

void cu_scratch_free(ax_cuda_ctx *c, void *p, size_t n) {
  pthread_mutex_lock(&c->mu);
  ax_cache_free(&c->cache, p, n);
  pthread_mutex_unlock(&c->mu);
}

/* ---------------- device probe and context ---------------- */

static void probe(void) { g_probe_err = cudaGetDeviceCount(&g_ndev); }

static ax_status ctx_init(ax_cuda_ctx *c, ax_err *err) {
  cudaError_t e;
  cublasStatus_t bs;
  if ((e = cudaSetDevice(0)) != cudaSuccess) return cu_fail(err, "cuda", e);
  if ((e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking)) != cudaSuccess) return cu_fail(err, "cuda", e);
  if ((bs = cublasCreate(&c->blas)) != CUBLAS_STATUS_SUCCESS) return cu_blas_fail(err, "cuda", bs);
  if ((bs = cublasSetStream(c->blas, c->stream)) != CUBLAS_STATUS_SUCCESS) return cu_blas_fail(err, "cuda", bs);
  /* no TF32 unless a call asks for it (matmul.cu: CUBLAS_COMPUTE_32F_FAST_TF32 when the script set
  ** set_float32_matmul_precision("high")): by default float32 matches the CPU within 1e-6 */
  if ((bs = cublasSetMathMode(c->blas, CUBLAS_DEFAULT_MATH)) != CUBLAS_STATUS_SUCCESS) return cu_blas_fail(err, "cuda", bs);
  if ((e = cudaMallocHost(&c->staging, CU_STAGING_BYTES)) != cudaSuccess) return cu_fail(err, "cuda", e);
  c->staging_n = CU_STAGING_BYTES;
  ax_cache_init(&c->cache, (ax_cache_ops){raw_alloc, raw_free, c});
  pthread_mutex_init(&c->dnn_mu, NULL);
  c->device = 0;
  return AX_OK;
}

ax_status cu_ctx(ax_cuda_ctx **out, ax_err *err) {
  if (__atomic_load_n(&g_ctx.ready, __ATOMIC_ACQUIRE)) {
    *out = &g_ctx;
    return AX_OK;
  }
  pthread_mutex_lock(&g_init_mu);
  ax_status s = AX_OK;
  if (!g_ctx.ready) {
    if (g_init_msg[0]) {
      s = ax_err_set(err, AX_E_DEVICE, "%s", g_init_msg);
    } else if ((s = ctx_init(&g_ctx, err))) {
      snprintf(g_init_msg, sizeof g_init_msg, "%s", err ? err->msg : "cuda: context creation failed");
    } else {
      __atomic_store_n(&g_ctx.ready, 1, __ATOMIC_RELEASE);
    }
  }
  pthread_mutex_unlock(&g_init_mu);
  if (!s) *out = &g_ctx;
  return s;
}

/* ---------------- transfers through the pinned staging buffer ---------------- */

ax_status cu_upload(ax_cuda_ctx *c, void *dst, const void *src, size_t n, ax_err *err) {
  pthread_mutex_lock(&c->mu);
  ax_status s = AX_OK;
  for (size_t done = 0; done < n && !s;) {
    size_t k = n - done < c->staging_n ? n - done : c->staging_n;
    memcpy(c->staging, (const char *)src + done, k);
    cudaError_t e = cudaMemcpyAsync((char *)dst + done, c->staging, k, cudaMemcpyHostToDevice, c->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(c->stream);   /* staging is reused next chunk */
    if (e != cudaSuccess) s = cu_fail(err, "upload", e);
    done += k;
  }
  pthread_mutex_unlock(&c->mu);
  return s;
}

ax_status cu_download(ax_cuda_ctx *c, void *dst, const void *src, size_t n, ax_err *err) {
  pthread_mutex_lock(&c->mu);
  ax_status s = AX_OK;
  for (size_t done = 0; done < n && !s;) {
    size_t k = n - done < c->staging_n ? n - done : c->staging_n;
    cudaError_t e = cudaMemcpyAsync(c->staging, (const char *)src + done, k, cudaMemcpyDeviceToHost, c->stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(c->stream);
    if (e != cudaSuccess) s = cu_fail(err, "download", e);
    else memcpy((char *)dst + done, c->staging, k);
    done += k;
  }
  pthread_mutex_unlock(&c->mu);
  return s;
}

/* ---------------- the vtable ---------------- */

static void *be_alloc(size_t n) { return cu_scratch(&g_ctx, n); }
static void be_free(void *p, size_t n) { cu_scratch_free(&g_ctx, p, n); }
static ax_status be_upload(void *dst, const void *host, size_t n, ax_err *err) { return cu_upload(&g_ctx, dst, host, n, err); }
static ax_status be_download(void *host, const void *src, size_t n, ax_err *err) {
  return cu_download(&g_ctx, host, src, n, err);
}
static ax_status be_sync(ax_err *err) {
  cudaError_t e = cudaStreamSynchronize(g_ctx.stream);
  return e == cudaSuccess ? AX_OK : cu_fail(err, "sync", e);
}
static ax_status be_mem_stats(ax_backend_mem *m, ax_err *err) {
  pthread_mutex_lock(&g_ctx.mu);
  ax_cache_stats st = g_ctx.cache.st;
  pthread_mutex_unlock(&g_ctx.mu);
  size_t fr = 0, tot = 0;
  cudaError_t e = cudaMemGetInfo(&fr, &tot);
  if (e != cudaSuccess) return cu_fail(err, "memory", e);
  *m = (ax_backend_mem){st.in_use, st.cached, st.peak_in_use, st.raw_allocs, tot, fr};
  return AX_OK;
}
static void be_trim(void) {
  if (!g_ctx.ready) return;
  cudaStreamSynchronize(g_ctx.stream);
  pthread_mutex_lock(&g_ctx.mu);
  ax_cache_trim(&g_ctx.cache);
  pthread_mutex_unlock(&g_ctx.mu);
}

static ax_status be_random(void *dst, ax_dtype dt, int64_t n, ax_random_kind kind, uint64_t seed, uint64_t base, double p,
                           ax_err *err) {
  return cu_random(&g_ctx, dst, dt, n, kind, seed, base, p, err);
}

static const ax_backend cuda_backend = {"cuda", be_alloc, be_free, be_upload, be_download, be_sync, be_mem_stats, be_trim,
                                        be_random};

ax_status cu_backend_get(int index, const ax_backend **out, ax_err *err) {
  pthread_once(&g_probe_once, probe);
  if (g_probe_err != cudaSuccess)
    return ax_err_set(err, AX_E_DEVICE, "cuda: no CUDA device available (cudaGetDeviceCount: %s)",
                      cudaGetErrorString(g_probe_err));
  if (g_ndev <= 0) return ax_err_set(err, AX_E_DEVICE, "cuda: no CUDA device available (cudaGetDeviceCount: 0 devices)");
  if (index >= g_ndev)
    return ax_err_set(err, AX_E_DEVICE, "cuda:%d: no such device (this machine has %d CUDA device%s)", index, g_ndev,
                      g_ndev == 1 ? "" : "s");
  if (index != 0) return ax_err_set(err, AX_E_DEVICE, "cuda:%d: this build addresses cuda:0 only", index);
  ax_cuda_ctx *c;
  ax_status s = cu_ctx(&c, err);
  if (s) return s;
  *out = &cuda_backend;
  return AX_OK;
}

ax_status cu_new(const int64_t *shape, int ndim, ax_dtype dt, ax_tensor **out, ax_err *err) {
  return ax_tensor_empty(shape, ndim, dt, (ax_device){AX_DEV_CUDA, 0}, out, err);
}
