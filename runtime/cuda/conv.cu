/* runtime/cuda/conv.cu — conv2d and conv_transpose2d rows, forward and backward, through cuDNN
** (the CPU's are runtime/neural/conv.inc via ax_nn.c). attrs as ax_nn.c: iv[0..1] stride,
** iv[2..5] pad top/left/bottom/right, iv[6..7] dilation, iv[8] groups, iv[9..10] output padding
** (transposed), iv[12] backward mask (1 dx, 2 dw, 4 db).
**
** Every row is one "conv c" seen from a different side: conv2d forward is c's forward, its
** backward c's backward-data and backward-filter; conv_transpose2d is the conv c whose
** backward-data maps the transposed input to the transposed output (neural/conv.c's
** nn_conv_transpose_as_conv), so its forward is c's backward-data and its backward c's forward
** (dx) and backward-filter (dw). cuDNN's descriptor pads symmetrically: unequal top/bottom or
** left/right pads are applied by copying c's input into a zero-padded buffer (and cropping its
** gradient) and running c unpadded. Bias and its gradient are own kernels (float64 sums).
**
** Uses cuDNN's legacy convolution API (cudnnConvolutionForward and friends: deprecated in cuDNN
** 9 in favour of the graph API, still shipped; see docs/cuda.md). Types and math, as PyTorch's
** cuDNN descriptors: float32 with CUDNN_FMA_MATH (no TF32, so results stay within the CPU's
** rounding) unless ax_float32_matmul_precision() allows TF32, then CUDNN_DEFAULT_MATH (TF32 tensor
** cores permitted); float16/bfloat16 data (the kernel table marks these rows half_native, so
** autocast's half inputs arrive as they are) with float32 compute and CUDNN_TENSOR_OP_MATH; float64
** with FMA math. The algorithm for each geometry and math type is chosen once by
** cudnnFind*AlgorithmEx (timed on the real buffers, workspace up to CU_CONV_WORKSPACE) and kept in
** the context's cache with the math type it was timed with.
** Invariant: same output shapes, dtypes and error texts as the CPU rows; sizes are checked by the
** runtime's ax_nn_conv2d_out_size / ax_nn_conv_transpose2d_out_size before cuDNN sees them. */
#include <limits.h>
#include <string.h>

#include "nn.cuh"

#define CU_CONV_WORKSPACE ((size_t)256 << 20)

static ax_status dnn_fail(ax_err *err, const char *op, cudnnStatus_t st) {
  return ax_err_set(err, st == CUDNN_STATUS_ALLOC_FAILED ? AX_E_NOMEM : AX_E_RUNTIME, "%s: cuDNN error on cuda:0: %s", op,
                    cudnnGetErrorString(st));
}

/* The context's cuDNN handle, created at the first convolution and bound to its stream. */
static ax_status dnn_handle(ax_cuda_ctx *c, const char *op, ax_err *err) {
  pthread_mutex_lock(&c->dnn_mu);
  cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
  if (!c->dnn_ready) {
    st = cudnnCreate(&c->dnn);
    if (st == CUDNN_STATUS_SUCCESS && (st = cudnnSetStream(c->dnn, c->stream)) != CUDNN_STATUS_SUCCESS) cudnnDestroy(c->dnn);
    c->dnn_ready = st == CUDNN_STATUS_SUCCESS;
  }
  pthread_mutex_unlock(&c->dnn_mu);
  return st == CUDNN_STATUS_SUCCESS ? AX_OK : dnn_fail(err, op, st);
}

/* ---------------- geometry ---------------- */

/* The conv c as cuDNN runs it: input [n, cin, h, w] (already padded when the pads are unequal),
** symmetric pads ph, pw, output [n, cout, oh, ow]. pad[4] are c's own pads (top, left, bottom,
** right); explicit is set when the input must be padded by a copy. */
struct conv_plan {
  int64_t n, cin, h, w, cout, kh, kw, oh, ow, ph, pw, sh, sw, dh, dw, groups;
  int64_t pad[4], h0, w0;   /* c's unpadded input size */
  int explicit_pad;
};

static ax_status plan_of(const char *op, const ax_nn_conv2d_desc *d, int64_t oh, int64_t ow, conv_plan *p, ax_err *err) {
  memset(p, 0, sizeof *p);
  p->explicit_pad = d->pad_top != d->pad_bottom || d->pad_left != d->pad_right;
  p->n = d->n, p->cin = d->c_in, p->cout = d->c_out, p->kh = d->kh, p->kw = d->kw, p->oh = oh, p->ow = ow;
  p->sh = d->stride_h, p->sw = d->stride_w, p->dh = d->dil_h, p->dw = d->dil_w, p->groups = d->groups;
  p->h0 = d->h, p->w0 = d->w;
  p->pad[0] = d->pad_top, p->pad[1] = d->pad_left, p->pad[2] = d->pad_bottom, p->pad[3] = d->pad_right;
  p->h = p->explicit_pad ? d->h + d->pad_top + d->pad_bottom : d->h;
  p->w = p->explicit_pad ? d->w + d->pad_left + d->pad_right : d->w;
  p->ph = p->explicit_pad ? 0 : d->pad_top;
  p->pw = p->explicit_pad ? 0 : d->pad_left;
  const int64_t dims[] = {p->n, p->cin, p->h, p->w, p->cout, p->kh, p->kw, p->oh, p->ow, p->ph, p->pw,
                          p->sh, p->sw, p->dh, p->dw, p->groups};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
    if (dims[i] > INT_MAX) return ax_err_set(err, AX_E_LIMIT, "%s: sizes too large for cuDNN", op);
  if (p->n * p->cin * p->h * p->w > INT_MAX || p->n * p->cout * p->oh * p->ow > INT_MAX)
    return ax_err_set(err, AX_E_LIMIT, "%s: tensors of more than 2^31 elements are not supported by cuDNN", op);
  return AX_OK;
}

struct dnn_descs {
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
};

static void descs_free(dnn_descs *d) {
  if (d->x) cudnnDestroyTensorDescriptor(d->x);
  if (d->y) cudnnDestroyTensorDescriptor(d->y);
  if (d->w) cudnnDestroyFilterDescriptor(d->w);
  if (d->conv) cudnnDestroyConvolutionDescriptor(d->conv);
  memset(d, 0, sizeof *d);
}

static int is_half(ax_dtype dt) { return dt == AX_FLOAT16 || dt == AX_BFLOAT16; }

static cudnnDataType_t dnn_type(ax_dtype dt) {
  switch (dt) {
  case AX_FLOAT64: return CUDNN_DATA_DOUBLE;
  case AX_FLOAT16: return CUDNN_DATA_HALF;
  case AX_BFLOAT16: return CUDNN_DATA_BFLOAT16;
  default: return CUDNN_DATA_FLOAT;
  }
}

/* The math type a convolution of dtype dt may use (see the header). */
static cudnnMathType_t dnn_math(ax_dtype dt) {
  if (is_half(dt)) return CUDNN_TENSOR_OP_MATH;
  if (dt == AX_FLOAT32 && ax_float32_matmul_precision() != AX_PRECISION_HIGHEST) return CUDNN_DEFAULT_MATH;
  return CUDNN_FMA_MATH;
}

/* dt is the data type of x, w and y; the convolution computes in float32 for the half types
** ("pseudo half"), in the data type otherwise. */
static ax_status descs_make(const char *op, const conv_plan &p, cudnnDataType_t dt, cudnnMathType_t math, dnn_descs *d,
                            ax_err *err) {
  cudnnDataType_t compute = dt == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  memset(d, 0, sizeof *d);
  cudnnStatus_t st;
  int n, c, h, w;
  if ((st = cudnnCreateTensorDescriptor(&d->x)) || (st = cudnnCreateTensorDescriptor(&d->y)) ||
      (st = cudnnCreateFilterDescriptor(&d->w)) || (st = cudnnCreateConvolutionDescriptor(&d->conv)) ||
      (st = cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, dt, (int)p.n, (int)p.cin, (int)p.h, (int)p.w)) ||
      (st = cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, dt, (int)p.n, (int)p.cout, (int)p.oh, (int)p.ow)) ||
      (st = cudnnSetFilter4dDescriptor(d->w, dt, CUDNN_TENSOR_NCHW, (int)p.cout, (int)(p.cin / p.groups), (int)p.kh, (int)p.kw)) ||
      (st = cudnnSetConvolution2dDescriptor(d->conv, (int)p.ph, (int)p.pw, (int)p.sh, (int)p.sw, (int)p.dh, (int)p.dw,
                                            CUDNN_CROSS_CORRELATION, compute)) ||
      (st = cudnnSetConvolutionGroupCount(d->conv, (int)p.groups)) ||
      (st = cudnnSetConvolutionMathType(d->conv, math)) ||
      (st = cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &n, &c, &h, &w))) {
    descs_free(d);
    return dnn_fail(err, op, st);
  }
  if (n != p.n || c != p.cout || h != p.oh || w != p.ow) {   /* the runtime's geometry and cuDNN's must agree */
    descs_free(d);
    return ax_err_set(err, AX_E_RUNTIME, "%s: cuDNN computes output [%d, %d, %d, %d], expected [%lld, %lld, %lld, %lld]", op,
                      n, c, h, w, (long long)p.n, (long long)p.cout, (long long)p.oh, (long long)p.ow);
  }
  return AX_OK;
}

/* ---------------- algorithm choice ---------------- */

enum { CONV_FWD, CONV_BWD_DATA, CONV_BWD_FILTER };

static void algo_key(int kind, cudnnMathType_t math, cudnnDataType_t dt, const conv_plan &p, int64_t *k) {
  const int64_t v[CU_CONV_KEY] = {kind + 16 * (int64_t)math, (int64_t)dt, p.n, p.cin, p.h, p.w, p.cout, p.kh,
                                  p.kw, p.ph, p.pw, p.sh, p.sw, p.dh, p.dw, p.groups};
  memcpy(k, v, sizeof v);
}

/* A workspace for timing the algorithms: as large as the cache gives, up to CU_CONV_WORKSPACE. */
static void *find_workspace(ax_cuda_ctx *c, size_t *n) {
  for (size_t want = CU_CONV_WORKSPACE; want >= ((size_t)1 << 20); want /= 4) {
    void *p = cu_scratch(c, want);
    if (p) {
      *n = want;
      return p;
    }
  }
  *n = 0;
  return NULL;
}

/* The fastest usable result and the math type it was timed with (kept as asked when that is FMA
** math, and never widened to down-converting ALLOW_CONVERSION: what keeps float32 exact or TF32
** only is never given up). */
template <typename Perf> static int best_of(const Perf *r, int nr, size_t limit, cudnnMathType_t asked, size_t *ws, int *math) {
  for (int i = 0; i < nr; i++)   /* sorted fastest first */
    if (r[i].status == CUDNN_STATUS_SUCCESS && r[i].memory <= limit) {
      *ws = r[i].memory;
      const int keep = asked == CUDNN_FMA_MATH || r[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
      *math = keep ? (int)asked : (int)r[i].mathType;
      return (int)r[i].algo;
    }
  return -1;
}

/* The algorithm (and its workspace) for this kind and geometry: from the cache, else timed on
** the call's own buffers (an output buffer is overwritten by the trials, then by the real run). */
static ax_status pick_algo(ax_cuda_ctx *c, const char *op, int kind, cudnnDataType_t dt, cudnnMathType_t asked, const conv_plan &p,
                           const dnn_descs &d, const void *a, const void *b, void *out, int *algo, int *math, size_t *ws,
                           ax_err *err) {
  int64_t key[CU_CONV_KEY];
  algo_key(kind, asked, dt, p, key);
  pthread_mutex_lock(&c->dnn_mu);
  for (int i = 0; i < c->nalgos; i++)
    if (!memcmp(c->algos[i].key, key, sizeof key)) {
      *algo = c->algos[i].algo;
      *math = c->algos[i].math;
      *ws = c->algos[i].workspace;
      pthread_mutex_unlock(&c->dnn_mu);
      return AX_OK;
    }
  pthread_mutex_unlock(&c->dnn_mu);
  size_t limit;
  void *work = find_workspace(c, &limit);
  int nr = 0, best = -1;
  cudnnStatus_t st;
  if (kind == CONV_FWD) {
    cudnnConvolutionFwdAlgoPerf_t r[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    st = cudnnFindConvolutionForwardAlgorithmEx(c->dnn, d.x, a, d.w, b, d.conv, d.y, out, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                &nr, r, work, limit);
    if (st == CUDNN_STATUS_SUCCESS) best = best_of(r, nr, limit, asked, ws, math);
  } else if (kind == CONV_BWD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    st = cudnnFindConvolutionBackwardDataAlgorithmEx(c->dnn, d.w, a, d.y, b, d.conv, d.x, out,
                                                     CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &nr, r, work, limit);
    if (st == CUDNN_STATUS_SUCCESS) best = best_of(r, nr, limit, asked, ws, math);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    st = cudnnFindConvolutionBackwardFilterAlgorithmEx(c->dnn, d.x, a, d.y, b, d.conv, d.w, out,
                                                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &nr, r, work, limit);
    if (st == CUDNN_STATUS_SUCCESS) best = best_of(r, nr, limit, asked, ws, math);
  }
  if (work) cu_scratch_free(c, work, limit);
  if (st != CUDNN_STATUS_SUCCESS) return dnn_fail(err, op, st);
  if (best < 0) return ax_err_set(err, AX_E_UNSUPPORTED, "%s: cuDNN has no algorithm for this geometry and dtype on cuda:0", op);
  *algo = best;
  pthread_mutex_lock(&c->dnn_mu);
  int slot = c->nalgos < CU_CONV_ALGOS ? c->nalgos++ : (c->next_algo++ % CU_CONV_ALGOS);
  memcpy(c->algos[slot].key, key, sizeof key);
  c->algos[slot].algo = best;
  c->algos[slot].math = *math;
  c->algos[slot].workspace = *ws;
  pthread_mutex_unlock(&c->dnn_mu);
  return AX_OK;
}

/* ---------------- the three cuDNN calls (out = op(a, b), overwritten) ---------------- */

/* kind CONV_FWD: a = x [n, cin, h, w], b = w, out = y; CONV_BWD_DATA: a = w, b = dy, out = dx;
** CONV_BWD_FILTER: a = x, b = dy, out = dw. */
static ax_status dnn_run(ax_cuda_ctx *c, const char *op, int kind, ax_dtype dtype, const conv_plan &p, const void *a,
                         const void *b, void *out, ax_err *err) {
  ax_status s = dnn_handle(c, op, err);
  if (s) return s;
  cudnnDataType_t dt = dnn_type(dtype);
  cudnnMathType_t asked = dnn_math(dtype);
  dnn_descs d;
  if ((s = descs_make(op, p, dt, asked, &d, err))) return s;
  int algo = 0, math = (int)asked;
  size_t wsn = 0;
  void *ws = NULL;
  if ((s = pick_algo(c, op, kind, dt, asked, p, d, a, b, out, &algo, &math, &wsn, err))) goto done;
  if (math != (int)asked) {   /* run the algorithm in the math type it was timed with */
    cudnnStatus_t st = cudnnSetConvolutionMathType(d.conv, (cudnnMathType_t)math);
    if (st != CUDNN_STATUS_SUCCESS) {
      s = dnn_fail(err, op, st);
      goto done;
    }
  }
  if (wsn && !(ws = cu_scratch(c, wsn))) {
    s = ax_err_set(err, AX_E_NOMEM, "%s: out of device memory for a %zu-byte cuDNN workspace", op, wsn);
    goto done;
  }
  {
    const float one_f = 1, zero_f = 0;   /* float scaling factors for float32 and the half types */
    const double one_d = 1, zero_d = 0;
    const void *one = dtype == AX_FLOAT64 ? (const void *)&one_d : (const void *)&one_f;
    const void *zero = dtype == AX_FLOAT64 ? (const void *)&zero_d : (const void *)&zero_f;
    cudnnStatus_t st;
    if (kind == CONV_FWD)
      st = cudnnConvolutionForward(c->dnn, one, d.x, a, d.w, b, d.conv, (cudnnConvolutionFwdAlgo_t)algo, ws, wsn, zero, d.y, out);
    else if (kind == CONV_BWD_DATA)
      st = cudnnConvolutionBackwardData(c->dnn, one, d.w, a, d.y, b, d.conv, (cudnnConvolutionBwdDataAlgo_t)algo, ws, wsn, zero,
                                        d.x, out);
    else
      st = cudnnConvolutionBackwardFilter(c->dnn, one, d.x, a, d.y, b, d.conv, (cudnnConvolutionBwdFilterAlgo_t)algo, ws, wsn,
                                          zero, d.w, out);
    if (st != CUDNN_STATUS_SUCCESS) s = dnn_fail(err, op, st);
  }
done:
  if (ws) cu_scratch_free(c, ws, wsn);   /* stream-ordered: reused only by later work */
  descs_free(&d);
  return s;
}

/* ---------------- own kernels: explicit padding, bias, bias gradient ---------------- */

/* element loads and stores of the four float types: float32/half types in float, float64 in double */
static __device__ __forceinline__ float cv_ld(float v) { return v; }
static __device__ __forceinline__ double cv_ld(double v) { return v; }
static __device__ __forceinline__ float cv_ld(__half v) { return __half2float(v); }
static __device__ __forceinline__ float cv_ld(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T cv_st(double v) { return (T)v; }
template <> __device__ __forceinline__ __half cv_st<__half>(double v) { return __float2half_rn((float)v); }
template <> __device__ __forceinline__ __nv_bfloat16 cv_st<__nv_bfloat16>(double v) { return __float2bfloat16_rn((float)v); }

/* out [planes, h + top + bottom, w + left + right] = in [planes, h, w] surrounded by zeros (pad),
** or the inverse crop (crop = 1: in is the padded plane, out the inner one). */
template <typename T>
__global__ void pad_planes(int64_t planes, int64_t h, int64_t w, int64_t top, int64_t left, int64_t hp, int64_t wp, int crop,
                           const T *in, T *out) {
  const int64_t per = crop ? h * w : hp * wp, total = planes * per;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t pl = e / per, r = e % per;
    if (crop) {
      const int64_t y = r / w, x = r % w;
      out[e] = in[pl * hp * wp + (y + top) * wp + x + left];
    } else {
      const int64_t y = r / wp - top, x = r % wp - left;
      out[e] = y >= 0 && y < h && x >= 0 && x < w ? in[pl * h * w + y * w + x] : cv_st<T>(0.0);
    }
  }
}

template <typename T> __global__ void add_bias(int64_t total, int64_t ch, int64_t hw, const T *b, T *y) {
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x)
    y[e] = cv_st<T>(cv_ld(y[e]) + cv_ld(b[e / hw % ch]));
}

/* db[k] = sum over n and the plane of dy[n, k]: one block per channel, float64 sums */
template <typename T> __global__ void bias_grad(int64_t n, int64_t ch, int64_t hw, const T *dy, T *db) {
  __shared__ double sh[CU_THREADS];
  for (int64_t k = blockIdx.x; k < ch; k += gridDim.x) {
    double s = 0;
    for (int64_t j = threadIdx.x; j < n * hw; j += blockDim.x) s += (double)cv_ld(dy[(j / hw * ch + k) * hw + j % hw]);
    s = cu_block_sum(s, sh);
    if (threadIdx.x == 0) db[k] = cv_st<T>(s);
  }
}

/* The launchers, one instance per float type (CONV_TYPED picks it from an ax_dtype). */
template <typename T>
static void pad_launch(ax_cuda_ctx *c, const conv_plan &p, int64_t ch, int crop, const ax_tensor *in, ax_tensor *out) {
  int64_t total = p.n * ch * (crop ? p.h0 * p.w0 : p.h * p.w);
  pad_planes<T><<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(p.n * ch, p.h0, p.w0, p.pad[0], p.pad[1], p.h, p.w, crop,
                                                                 CU_P(T, in), CU_P(T, out));
}
template <typename T> static void bias_launch(ax_cuda_ctx *c, ax_tensor *y, const ax_tensor *b) {
  int64_t total = ax_numel(y), hw = y->shape[2] * y->shape[3];
  add_bias<T><<<cu_blocks(total), CU_THREADS, 0, c->stream>>>(total, y->shape[1], hw, CU_P(T, b), CU_P(T, y));
}
template <typename T> static void bias_grad_launch(ax_cuda_ctx *c, const ax_tensor *dy, ax_tensor *db) {
  int64_t ch = dy->shape[1], hw = dy->shape[2] * dy->shape[3];
  bias_grad<T><<<cu_rows_grid(ch), CU_THREADS, 0, c->stream>>>(dy->shape[0], ch, hw, CU_P(T, dy), CU_P(T, db));
}
#define CONV_TYPED(dt, f, ...)                                  \
  do {                                                          \
    switch (dt) {                                               \
    case AX_FLOAT64: f<double>(__VA_ARGS__); break;             \
    case AX_FLOAT16: f<__half>(__VA_ARGS__); break;             \
    case AX_BFLOAT16: f<__nv_bfloat16>(__VA_ARGS__); break;     \
    default: f<float>(__VA_ARGS__); break;                      \
    }                                                           \
  } while (0)

/* c's input as cuDNN reads it: x itself (retained) or a zero-padded copy */
static ax_status plan_input(ax_cuda_ctx *c, const conv_plan &p, ax_tensor *x, ax_tensor **out, ax_err *err) {
  if (!p.explicit_pad) {
    *out = ax_tensor_retain(x);
    return AX_OK;
  }
  int64_t shape[4] = {p.n, p.cin, p.h, p.w};
  ax_status s = cu_new(shape, 4, x->dtype, out, err);
  if (s) return s;
  CONV_TYPED(x->dtype, pad_launch, c, p, p.cin, 0, x, *out);
  return cu_check(err, "conv2d");
}

/* c's backward-data into dx [n, cin, h0, w0] (through a padded buffer when the pads are unequal) */
static ax_status data_grad(ax_cuda_ctx *c, const char *op, const conv_plan &p, ax_dtype dt, ax_tensor *w, ax_tensor *dy,
                           ax_tensor **dx, ax_err *err) {
  int64_t shape[4] = {p.n, p.cin, p.h, p.w}, inner[4] = {p.n, p.cin, p.h0, p.w0};
  ax_tensor *dxp = NULL;
  ax_status s = cu_new(shape, 4, dt, &dxp, err);
  if (!s) s = dnn_run(c, op, CONV_BWD_DATA, dt, p, cu_nn_data(w), cu_nn_data(dy), cu_nn_data(dxp), err);
  if (!s && p.explicit_pad && !(s = cu_new(inner, 4, dt, dx, err))) {
    CONV_TYPED(dt, pad_launch, c, p, p.cin, 1, dxp, *dx);
    s = cu_check(err, op);
  } else if (!s) {
    *dx = ax_tensor_retain(dxp);
  }
  ax_tensor_release(dxp);
  return s;
}

static ax_status bias_add(ax_cuda_ctx *c, ax_tensor *y, ax_tensor *b, ax_err *err) {
  CONV_TYPED(y->dtype, bias_launch, c, y, b);
  return cu_check(err, "conv2d bias");
}

static ax_status bias_backward(ax_cuda_ctx *c, ax_tensor *dy, ax_tensor **db, ax_err *err) {
  int64_t cs[1] = {dy->shape[1]};
  ax_status s = cu_new(cs, 1, dy->dtype, db, err);
  if (s) return s;
  CONV_TYPED(dy->dtype, bias_grad_launch, c, dy, *db);
  return cu_check(err, "conv2d bias gradient");
}

/* ---------------- rows ---------------- */

/* The rows' dtype rule: the CPU's check (ax_nn.c's float_inputs) after ax_half_call's conversion,
** in which half inputs count as float32; the computation then runs in in[0]'s type (so autocast's
** half inputs stay half) and the other inputs are packed to it. */
static ax_status conv_inputs(const char *op, ax_tensor *const *in, int nin, ax_dtype *dt, ax_err *err) {
  ax_dtype d0 = in[0]->dtype, e0 = is_half(d0) ? AX_FLOAT32 : d0;
  if (e0 != AX_FLOAT32 && e0 != AX_FLOAT64)
    return ax_err_set(err, AX_E_DTYPE, "%s: input must be float32 or float64, got %s", op, ax_dtype_name(d0));
  for (int i = 1; i < nin; i++) {
    if (!in[i]) continue;
    ax_dtype ei = is_half(in[i]->dtype) ? AX_FLOAT32 : in[i]->dtype;
    if (ei != e0 && (ei == AX_FLOAT32 || ei == AX_FLOAT64))
      return ax_err_set(err, AX_E_DTYPE, "%s: input is %s but argument %d is %s", op, ax_dtype_name(e0), i + 1, ax_dtype_name(ei));
  }
  *dt = d0;
  return AX_OK;
}

/* ax_nn.c's conv_desc, for both rows; for the transposed row also the conv c it is the
** backward-data of (conv.c's nn_conv_transpose_as_conv, after the runtime validated it). */
static ax_status conv_desc(const char *op, const ax_tensor *x, const ax_tensor *w, const ax_tensor *b, const ax_attrs *at,
                           int transpose, ax_nn_conv2d_desc *d, ax_nn_conv_transpose2d_desc *t, ax_err *err) {
  char sx[96], sw[96];
  if (x->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "%s: input must be [N, C, H, W], got %s", op, ax_shape_str(x->shape, x->ndim, sx, sizeof sx));
  if (w->ndim != 4)
    return ax_err_set(err, AX_E_SHAPE, "%s: weight must be 4-d, got %s", op, ax_shape_str(w->shape, w->ndim, sw, sizeof sw));
  int64_t groups = at->iv[8] > 0 ? at->iv[8] : 1;
  int64_t cin = x->shape[1];
  int64_t cout = transpose ? w->shape[1] * groups : w->shape[0];
  int64_t win = transpose ? w->shape[0] : w->shape[1] * groups;
  if (cin != win)
    return ax_err_set(err, AX_E_SHAPE, "%s: input has %lld channels, weight %s expects %lld", op, (long long)cin,
                      ax_shape_str(w->shape, w->ndim, sw, sizeof sw), (long long)win);
  if (cout % groups || cin % groups)
    return ax_err_set(err, AX_E_SHAPE, "%s: %lld input and %lld output channels are not divisible into %lld groups", op,
                      (long long)cin, (long long)cout, (long long)groups);
  if (b && (b->ndim != 1 || b->shape[0] != cout))
    return ax_err_set(err, AX_E_SHAPE, "%s: bias must be [%lld], got %s", op, (long long)cout, ax_shape_str(b->shape, b->ndim, sx, sizeof sx));
  for (int i = 0; i < 2; i++)
    if (at->iv[i] < 1 || at->iv[6 + i] < 1 || at->iv[2 + i] < 0 || at->iv[4 + i] < 0)
      return ax_err_set(err, AX_E_VALUE, "%s: stride and dilation must be >= 1 and padding >= 0", op);
  if (!transpose) {
    *d = ax_nn_conv2d_desc{x->shape[0], cin, x->shape[2], x->shape[3], cout, w->shape[2], w->shape[3], at->iv[0], at->iv[1],
                           at->iv[2], at->iv[3], at->iv[4], at->iv[5], at->iv[6], at->iv[7], groups};
    return AX_OK;
  }
  *t = ax_nn_conv_transpose2d_desc{x->shape[0], cin, x->shape[2], x->shape[3], cout, w->shape[2], w->shape[3], at->iv[0],
                                   at->iv[1], at->iv[2], at->iv[3], at->iv[4], at->iv[5], at->iv[9], at->iv[10], at->iv[6],
                                   at->iv[7], groups};
  return AX_OK;
}

/* The conv c of a row: conv2d's own, or the transposed row's (input = the transposed output). */
static ax_status conv_c(const char *op, int transpose, const ax_nn_conv2d_desc *d, const ax_nn_conv_transpose2d_desc *t,
                        conv_plan *p, ax_err *err) {
  int64_t oh, ow;
  ax_status s;
  if (!transpose) {
    if ((s = ax_nn_conv2d_out_size(d, &oh, &ow, err))) return s;
    return plan_of(op, d, oh, ow, p, err);
  }
  if ((s = ax_nn_conv_transpose2d_out_size(t, &oh, &ow, err))) return s;
  ax_nn_conv2d_desc c = {t->n, t->c_out, oh, ow, t->c_in, t->kh, t->kw, t->stride_h, t->stride_w, t->pad_top, t->pad_left,
                         t->pad_bottom, t->pad_right, t->dil_h, t->dil_w, t->groups};
  return plan_of(op, &c, t->h, t->w, p, err);
}

/* in: x, w [, b] -> y */
static ax_status conv_fwd(int transpose, ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                          ax_err *err) {
  const char *op = transpose ? "conv_transpose2d" : "conv2d";
  if (nin < 2 || nin > 3) return ax_err_set(err, AX_E_VALUE, "%s: expects input, weight and an optional bias", op);
  ax_dtype dt;
  ax_status s = conv_inputs(op, in, nin, &dt, err);
  if (s) return s;
  ax_nn_conv2d_desc d;
  ax_nn_conv_transpose2d_desc t;
  ax_tensor *b = nin > 2 ? in[2] : NULL;
  conv_plan p;
  if ((s = conv_desc(op, in[0], in[1], b, at, transpose, &d, &t, err)) || (s = conv_c(op, transpose, &d, &t, &p, err))) return s;
  ax_tensor *q[3], *xp = NULL;
  if ((s = cu_nn_packed(c, in, nin, dt, q, err))) return s;
  if (nin < 3) q[2] = NULL;
  if (!transpose) {   /* y = c(x) */
    int64_t shape[4] = {p.n, p.cout, p.oh, p.ow};
    if (!(s = plan_input(c, p, q[0], &xp, err)) && !(s = cu_new(shape, 4, dt, &out[0], err)))
      s = dnn_run(c, op, CONV_FWD, dt, p, cu_nn_data(xp), cu_nn_data(q[1]), cu_nn_data(out[0]), err);
  } else {   /* y = c's backward-data of x */
    s = data_grad(c, op, p, dt, q[1], q[0], &out[0], err);
  }
  if (!s && q[2]) s = bias_add(c, out[0], q[2], err);
  ax_tensor_release(xp);
  cu_nn_release(q, 3);
  return s;
}

/* in: x, w, dy -> dx, dw, db (per mask iv[12]) */
static ax_status conv_bwd(int transpose, ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                          ax_err *err) {
  const char *op = transpose ? "conv_transpose2d_backward" : "conv2d_backward";
  ax_dtype dt;
  ax_status s = conv_inputs(op, in, nin, &dt, err);
  if (s) return s;
  ax_nn_conv2d_desc d;
  ax_nn_conv_transpose2d_desc t;
  conv_plan p;
  if ((s = conv_desc(op, in[0], in[1], NULL, at, transpose, &d, &t, err)) || (s = conv_c(op, transpose, &d, &t, &p, err))) return s;
  /* dy must be the row's output shape: cuDNN reads it by the geometry */
  int64_t yc = transpose ? p.cin : p.cout, yh = transpose ? p.h0 : p.oh, yw = transpose ? p.w0 : p.ow;
  ax_tensor *dy0 = in[2];
  if (dy0->ndim != 4 || dy0->shape[0] != p.n || dy0->shape[1] != yc || dy0->shape[2] != yh || dy0->shape[3] != yw)
    return ax_err_set(err, AX_E_SHAPE, "%s: gradient must be [%lld, %lld, %lld, %lld]", op, (long long)p.n, (long long)yc,
                      (long long)yh, (long long)yw);
  int mask = (int)at->iv[12];
  ax_tensor *q[3], *cin_t = NULL;
  if ((s = cu_nn_packed(c, in, 3, dt, q, err))) return s;
  ax_tensor *x = q[0], *w = q[1], *dy = q[2];
  /* c's input / output: conv2d (x, dy); transposed (dy, x) */
  ax_tensor *c_in = transpose ? dy : x, *c_out = transpose ? x : dy;
  if ((mask & 3) && (transpose || (mask & 2))) s = plan_input(c, p, c_in, &cin_t, err);
  if (!s && (mask & 1)) {
    if (!transpose) {
      s = data_grad(c, op, p, dt, w, dy, &out[0], err);
    } else {   /* dx = c(dy) */
      int64_t shape[4] = {p.n, p.cout, p.oh, p.ow};
      if (!(s = cu_new(shape, 4, dt, &out[0], err)))
        s = dnn_run(c, op, CONV_FWD, dt, p, cu_nn_data(cin_t), cu_nn_data(w), cu_nn_data(out[0]), err);
    }
  }
  if (!s && (mask & 2) && !(s = cu_new(in[1]->shape, 4, dt, &out[1], err)))
    s = dnn_run(c, op, CONV_BWD_FILTER, dt, p, cu_nn_data(cin_t), cu_nn_data(c_out), cu_nn_data(out[1]), err);
  if (!s && (mask & 4)) s = bias_backward(c, dy, &out[2], err);
  ax_tensor_release(cin_t);
  cu_nn_release(q, 3);
  return s;
}

static ax_status conv2d_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return conv_fwd(0, c, in, nin, at, out, err);
}
static ax_status convt2d_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return conv_fwd(1, c, in, nin, at, out, err);
}
static ax_status conv2d_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                 ax_err *err) {
  return conv_bwd(0, c, in, nin, at, out, err);
}
static ax_status convt2d_bwd_body(ax_cuda_ctx *c, ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out,
                                  ax_err *err) {
  return conv_bwd(1, c, in, nin, at, out, err);
}

extern "C" ax_status cuda_conv2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(conv2d_body, in, nin, at, out, 1, err);
}
extern "C" ax_status cuda_conv2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(conv2d_bwd_body, in, nin, at, out, 3, err);
}
extern "C" ax_status cuda_conv_transpose2d(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(convt2d_body, in, nin, at, out, 1, err);
}
extern "C" ax_status cuda_conv_transpose2d_bwd(ax_tensor *const *in, int nin, const ax_attrs *at, ax_tensor **out, ax_err *err) {
  return cu_nn_run(convt2d_bwd_body, in, nin, at, out, 3, err);
}
