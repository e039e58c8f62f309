/* tests/cuda/test_cuda_ops.c — every op row with a CUDA kernel (core and neural), run on cuda:0
** and on the CPU with the same inputs (broadcast and transposed views included), forward and
** backward, compared by normalised error ||gpu - cpu|| / max(||cpu||, 1e-30): at most 1e-6 for
** float32, 1e-12 for float64; in-place rows (optimizer steps, batch_norm's running statistics)
** compare their inputs afterwards. Without a usable GPU it prints why and exits 77 (ctest
** SKIP_RETURN_CODE). --cpu-self-check runs every case against the CPU itself (ctest
** cuda_ops_selfcheck), so the cases are known to be well formed before a GPU ever runs them.
** Invariant: a row whose CUDA slot is NULL is reported as "unsupported", never counted as passed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"

/* the device under test: cuda:0, or the CPU itself for --cpu-self-check (every case must then
** pass: it checks the cases, their shapes and the harness on a machine without a GPU) */
static ax_device CUDA0 = {AX_DEV_CUDA, 0};
#define TC_MAXIN 7

/* x on the device under test: an upload, or a CPU copy (never x itself) in the self-check */
static ax_status to_dev(ax_tensor *x, ax_tensor **out, ax_err *e) {
  if (CUDA0.type != AX_DEV_CPU) return ax_to(x, CUDA0, out, e);
  ax_attrs a = {.device = CUDA0};
  ax_tensor *o[AX_MAX_OUTPUTS] = {0};
  int was = ax_grad_enabled();
  ax_set_grad_enabled(0);
  ax_status s = ax_op_call(AX_OP_COPY, &x, 1, &a, o, e);
  ax_set_grad_enabled(was);
  *out = o[0];
  return s;
}
static int nfail, npass, nunsup;

typedef struct {
  const char *name;
  ax_op op;
  int nin;
  ax_tensor *in[TC_MAXIN];
  ax_attrs at;
  int grad;   /* check the gradients of the float inputs among the first max(grad, 2) */
} tcase;

static ax_tensor *T(ax_status s, ax_tensor *t, ax_err *e) {
  if (s) {
    fprintf(stderr, "setup failed: %s\n", e->msg);
    return NULL;
  }
  return t;
}

static ax_tensor *randn(const int64_t *shape, int nd, ax_dtype dt) {
  ax_err e;
  ax_tensor *t = NULL;
  ax_status s = ax_randn(shape, nd, dt, &t, &e);   /* before t is read: argument order is unspecified */
  return T(s, t, &e);
}
static ax_tensor *randpos(const int64_t *shape, int nd, ax_dtype dt) {   /* in [0.5, 1.5) */
  ax_err e;
  ax_tensor *t = NULL, *h = NULL, *o = NULL;
  if (ax_rand(shape, nd, dt, &t, &e)) return NULL;
  if (ax_scalar_f64(0.5, &h, &e) || ax_add(t, h, &o, &e)) o = NULL;
  ax_tensor_release(t);
  ax_tensor_release(h);
  return o;
}
static ax_tensor *randint(int64_t hi, const int64_t *shape, int nd) {
  ax_err e;
  ax_tensor *t = NULL;
  ax_status s = ax_randint(0, hi, shape, nd, AX_INT64, &t, &e);   /* before t is read: argument order is unspecified */
  return T(s, t, &e);
}
static ax_tensor *boolmask(const int64_t *shape, int nd) {
  ax_err e;
  ax_tensor *t = randn(shape, nd, AX_FLOAT32), *z = NULL, *o = NULL;
  if (!t || ax_scalar_f64(0, &z, &e) || ax_gt(t, z, &o, &e)) o = NULL;
  ax_tensor_release(t);
  ax_tensor_release(z);
  return o;
}
/* an additive attention mask [t, s]: about one cell in five -inf, all of row 1 (a query that sees
** no key: out 0, lse -inf, no gradient), small finite values elsewhere */
static ax_tensor *attmask(int64_t t, int64_t s, ax_dtype dt) {
  ax_err e;
  ax_tensor *o = NULL;
  double *m = malloc(sizeof(double) * (size_t)(t * s));
  if (!m) return NULL;
  for (int64_t i = 0; i < t; i++)
    for (int64_t j = 0; j < s; j++) m[i * s + j] = i == 1 || (i * 7 + j * 3) % 5 == 0 ? -INFINITY : 0.5 * sin((double)(i + 2 * j));
  ax_status st = ax_tensor_from_f64(m, (int64_t[]){t, s}, 2, dt, &o, &e);
  free(m);
  return T(st, o, &e);
}
static ax_tensor *transposed(ax_tensor *t) {   /* a non-contiguous view with t's shape and values */
  ax_err e;
  ax_tensor *c = NULL, *v = NULL, *o = NULL;
  if (!t) return NULL;
  if (ax_transpose(t, 0, 1, &v, &e) || ax_contiguous(v, &c, &e) || ax_transpose(c, 0, 1, &o, &e)) o = NULL;
  ax_tensor_release(v);
  ax_tensor_release(c);
  ax_tensor_release(t);
  return o;
}

/* normalised error of two tensors (any device, any dtype); -1 when they cannot be compared */
static double nerr(ax_tensor *a, ax_tensor *b, ax_err *e) {
  if (!a || !b) return (a == b) ? 0 : -1;
  if (a->ndim != b->ndim || a->dtype != b->dtype) return -1;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return -1;
  ax_tensor *ca = NULL, *cb = NULL;
  if (ax_to(a, AX_CPU, &ca, e) || ax_to(b, AX_CPU, &cb, e)) {
    ax_tensor_release(ca);
    return -1;
  }
  int64_t n = ax_numel(ca);
  double num = 0, den = 0, r = -1;
  double *va = ax_malloc(sizeof(double) * (size_t)(n ? n : 1)), *vb = ax_malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (va && vb && !ax_to_f64_buffer(ca, va, e) && !ax_to_f64_buffer(cb, vb, e)) {
    r = 0;
    for (int64_t i = 0; i < n; i++) {
      if (va[i] != va[i] || vb[i] != vb[i]) {   /* NaN must match NaN */
        if ((va[i] != va[i]) != (vb[i] != vb[i])) r = INFINITY;
        continue;
      }
      if (isinf(va[i]) || isinf(vb[i])) {
        if (va[i] != vb[i]) r = INFINITY;
        continue;
      }
      num += (va[i] - vb[i]) * (va[i] - vb[i]);
      den += va[i] * va[i];
    }
    if (r == 0) r = sqrt(num) / fmax(sqrt(den), 1e-30);
  }
  ax_free(va, sizeof(double) * (size_t)(n ? n : 1));
  ax_free(vb, sizeof(double) * (size_t)(n ? n : 1));
  ax_tensor_release(ca);
  ax_tensor_release(cb);
  return r;
}

static double tol_of(ax_dtype dt) {
  switch (dt) {
  case AX_FLOAT64: return 1e-12;
  case AX_FLOAT16: return 1e-3;
  case AX_BFLOAT16: return 1e-2;
  default: return 1e-6;   /* float32; integers and bools must be exact (error 0 <= tol) */
  }
}

static void report(const char *what, const char *name, double r, double tol, const char *msg) {
  if (r >= 0 && r <= tol) {
    npass++;
    return;
  }
  nfail++;
  if (r < 0) printf("FAIL %s %s: %s\n", what, name, msg);
  else printf("FAIL %s %s: normalised error %.3g > %.1g\n", what, name, r, tol);
}

static void run_case(tcase *c) {
  ax_err e = {0}, eg = {0};
  ax_tensor *cpu_in[TC_MAXIN] = {0}, *gpu_in[TC_MAXIN] = {0}, *oc[AX_MAX_OUTPUTS] = {0}, *og[AX_MAX_OUTPUTS] = {0};
  int ngrad = c->grad > 2 ? c->grad : 2;
  int nout = ax_op_table[c->op].nout, ok = 1;
  for (int i = 0; i < c->nin; i++) ok &= c->in[i] != NULL;
  if (!ok) {
    nfail++;
    printf("FAIL setup %s\n", c->name);
    goto done;
  }
  for (int i = 0; i < c->nin; i++) {
    int leaf = c->grad && i < ngrad && ax_dtype_is_float(c->in[i]->dtype) && c->in[i]->ndim > 0;
    ax_tensor *g = NULL;
    if (to_dev(c->in[i], &g, &e)) {
      printf("FAIL upload %s: %s\n", c->name, e.msg);
      nfail++;
      goto done;
    }
    if (leaf) {
      ax_param(c->in[i], &cpu_in[i], &e);
      ax_param(g, &gpu_in[i], &e);
      ax_tensor_release(g);
    } else {
      cpu_in[i] = ax_tensor_retain(c->in[i]);
      gpu_in[i] = g;
    }
  }
  if (ax_op_call(c->op, cpu_in, c->nin, &c->at, oc, &e)) {
    printf("FAIL cpu %s: %s\n", c->name, e.msg);
    nfail++;
    goto done;
  }
  ax_kernel_fn fn = ax_op_table[c->op].is_view ? (ax_kernel_fn)1 : ax_backend_kernels(CUDA0)->fn[c->op];
  if (!fn) {
    printf("UNSUPPORTED %s (no CUDA kernel)\n", c->name);
    nunsup++;
    goto done;
  }
  if (ax_op_call(c->op, gpu_in, c->nin, &c->at, og, &eg)) {
    printf("FAIL cuda %s: %s\n", c->name, eg.msg);
    nfail++;
    goto done;
  }
  for (int k = 0; k < nout; k++) {
    char what[32];
    snprintf(what, sizeof what, "forward[%d]", k);
    if (!oc[k] && !og[k]) continue;
    report(what, c->name, nerr(oc[k], og[k], &e), oc[k] ? tol_of(oc[k]->dtype) : 0, "outputs differ in shape/dtype/presence");
  }
  if (c->grad && ax_op_table[c->op].differentiable && ax_dtype_is_float(oc[0]->dtype)) {
    ax_tensor *w = NULL, *wg = NULL, *pc = NULL, *pg = NULL, *lc = NULL, *lg = NULL;
    if (ax_randn(oc[0]->shape, oc[0]->ndim, oc[0]->dtype, &w, &e) || to_dev(w, &wg, &e) || ax_mul(oc[0], w, &pc, &e) ||
        ax_sum(pc, NULL, 0, 0, &lc, &e) || ax_backward(lc, NULL, &e)) {
      printf("FAIL cpu backward %s: %s\n", c->name, e.msg);
      nfail++;
    } else if (ax_mul(og[0], wg, &pg, &eg) || ax_sum(pg, NULL, 0, 0, &lg, &eg) || ax_backward(lg, NULL, &eg)) {
      printf("FAIL cuda backward %s: %s\n", c->name, eg.msg);
      nfail++;
    } else {
      for (int i = 0; i < c->nin && i < ngrad; i++) {
        char what[16];
        snprintf(what, sizeof what, "grad[%d]", i);
        if (cpu_in[i]->requires_grad) report(what, c->name, nerr(cpu_in[i]->grad, gpu_in[i]->grad, &e), tol_of(cpu_in[i]->dtype),
                                             "gradient missing or of another shape");
      }
    }
    ax_tensor_release(w);
    ax_tensor_release(wg);
    ax_tensor_release(pc);
    ax_tensor_release(pg);
    ax_tensor_release(lc);
    ax_tensor_release(lg);
  }
done:
  for (int k = 0; k < AX_MAX_OUTPUTS; k++) {
    ax_tensor_release(oc[k]);
    ax_tensor_release(og[k]);
  }
  for (int i = 0; i < TC_MAXIN; i++) {
    ax_tensor_release(cpu_in[i]);
    ax_tensor_release(gpu_in[i]);
    ax_tensor_release(c->in[i]);
  }
}

static const ax_op UNARY[] = {AX_OP_NEG, AX_OP_ABS, AX_OP_EXP, AX_OP_LOG, AX_OP_SQRT, AX_OP_RSQRT, AX_OP_SIN,
                              AX_OP_COS, AX_OP_TANH, AX_OP_SIGMOID, AX_OP_RELU, AX_OP_GELU, AX_OP_SILU, AX_OP_ERF,
                              AX_OP_FLOOR, AX_OP_CEIL, AX_OP_ROUND, AX_OP_SIGN, AX_OP_CLAMP};
static const ax_op BINARY[] = {AX_OP_ADD, AX_OP_SUB, AX_OP_MUL, AX_OP_DIV, AX_OP_POW, AX_OP_MAXIMUM, AX_OP_MINIMUM,
                               AX_OP_EQ, AX_OP_NE, AX_OP_LT, AX_OP_LE, AX_OP_GT, AX_OP_GE};
static const ax_op REDUCE[] = {AX_OP_SUM, AX_OP_MEAN, AX_OP_VAR, AX_OP_STD, AX_OP_NORM, AX_OP_PROD,
                               AX_OP_MAX, AX_OP_MIN, AX_OP_ARGMAX, AX_OP_ARGMIN};

#if defined(__has_include) && !defined(AX_NO_NN_ROWS)
#if __has_include("neural/ax_nn_oplist.h")
#define TC_NN_ROWS 1
#endif
#endif

#ifdef TC_NN_ROWS
/* Neural rows: forward outputs (saved statistics and indices included) and, through autograd,
** their backward rows. Written without a GPU: first run on one is owed (docs/cuda.md). */
static void nn_cases(ax_dtype dt) {
  char name[96];
  const char *dn = ax_dtype_name(dt);
#define NNAME(op, v) (snprintf(name, sizeof name, "%s/%s/%s", ax_op_name(op), v, dn), name)
  const int64_t x4[] = {2, 4, 7, 6};
  {   /* conv2d: symmetric pads (cuDNN pads), asymmetric pads (explicit copy), groups, dilation, bias */
    tcase a = {NNAME(AX_OP_CONV2D, "pad1"), AX_OP_CONV2D, 3, {randn(x4, 4, dt), randn((int64_t[]){5, 4, 3, 3}, 4, dt), randn((int64_t[]){5}, 1, dt)},
               {.iv = {1, 1, 1, 1, 1, 1, 1, 1, 1}}, 3};
    run_case(&a);
    tcase b = {NNAME(AX_OP_CONV2D, "asym-groups-dil"), AX_OP_CONV2D, 3, {transposed(randn((int64_t[]){2, 4, 7, 6}, 4, dt)), randn((int64_t[]){6, 2, 3, 2}, 4, dt), randn((int64_t[]){6}, 1, dt)},
               {.iv = {2, 1, 1, 0, 2, 1, 1, 2, 2}}, 3};
    run_case(&b);
    tcase n = {NNAME(AX_OP_CONV2D, "nobias-stride"), AX_OP_CONV2D, 2, {randn(x4, 4, dt), randn((int64_t[]){3, 4, 1, 2}, 4, dt)}, {.iv = {2, 3, 0, 0, 0, 0, 1, 1, 1}}, 1};
    run_case(&n);
  }
  {   /* conv_transpose2d: output padding, groups, asymmetric pads */
    tcase a = {NNAME(AX_OP_CONV_TRANSPOSE2D, "s2-outpad"), AX_OP_CONV_TRANSPOSE2D, 3, {randn((int64_t[]){2, 4, 5, 4}, 4, dt), randn((int64_t[]){4, 3, 3, 2}, 4, dt), randn((int64_t[]){3}, 1, dt)},
               {.iv = {2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0}}, 3};
    run_case(&a);
    tcase b = {NNAME(AX_OP_CONV_TRANSPOSE2D, "asym-groups"), AX_OP_CONV_TRANSPOSE2D, 2, {randn((int64_t[]){2, 4, 5, 4}, 4, dt), randn((int64_t[]){4, 2, 3, 3}, 4, dt)},
               {.iv = {1, 2, 1, 0, 0, 1, 1, 1, 2, 0, 1}}, 3};
    run_case(&b);
  }
  {   /* pools: ceil mode, padding, dilation (max), count_include_pad (avg), adaptive */
    tcase m = {NNAME(AX_OP_MAX_POOL2D, "k3x2-s2x1-p1-d2x1-ceil"), AX_OP_MAX_POOL2D, 1, {transposed(randn((int64_t[]){2, 3, 7, 6}, 4, dt))},
               {.iv = {3, 2, 2, 1, 1, 0, 2, 1, 1}}, 1};
    run_case(&m);
    tcase m2 = {NNAME(AX_OP_MAX_POOL2D, "k2-s2"), AX_OP_MAX_POOL2D, 1, {randn(x4, 4, dt)}, {.iv = {2, 2, 2, 2, 0, 0, 1, 1, 0}}, 1};
    run_case(&m2);
    for (int cip = 0; cip < 2; cip++) {
      tcase a = {NNAME(AX_OP_AVG_POOL2D, cip ? "count_include_pad" : "exclude_pad"), AX_OP_AVG_POOL2D, 1, {randn(x4, 4, dt)},
                 {.iv = {3, 3, 2, 2, 1, 1, 1, 1, 1, cip}}, 1};
      run_case(&a);
    }
    tcase ad = {NNAME(AX_OP_ADAPTIVE_AVG_POOL2D, "5x4"), AX_OP_ADAPTIVE_AVG_POOL2D, 1, {randn(x4, 4, dt)}, {.iv = {5, 4}}, 1};
    run_case(&ad);
    tcase a1 = {NNAME(AX_OP_ADAPTIVE_AVG_POOL2D, "1x1"), AX_OP_ADAPTIVE_AVG_POOL2D, 1, {randn(x4, 4, dt)}, {.iv = {1, 1}}, 1};
    run_case(&a1);
  }
  {   /* batch_norm: training (saved mean/rstd; running statistics checked by bn_running) and evaluation */
    const int64_t c3[] = {3}, x3[] = {4, 3, 5};
    tcase t = {NNAME(AX_OP_BATCH_NORM, "train"), AX_OP_BATCH_NORM, 5,
               {transposed(randn((int64_t[]){4, 3, 5}, 3, dt)), randn(c3, 1, dt), randn(c3, 1, dt), randn(c3, 1, dt), randpos(c3, 1, dt)},
               {.iv = {1, 0}, .fv = {1e-5, 0.1}}, 3};
    run_case(&t);
    tcase e = {NNAME(AX_OP_BATCH_NORM, "eval"), AX_OP_BATCH_NORM, 5,
               {randn(x3, 3, dt), randn(c3, 1, dt), randn(c3, 1, dt), randn(c3, 1, dt), randpos(c3, 1, dt)},
               {.iv = {0, 0}, .fv = {1e-5, 0.1}}, 3};
    run_case(&e);
  }
  {   /* cross_entropy: reductions, ignore_index, label smoothing, class weights */
    const int64_t lg[] = {6, 5}, n6[] = {6}, c5[] = {5};
    for (int red = 0; red < 3; red++) {
      tcase a = {NNAME(AX_OP_CROSS_ENTROPY, red == 0 ? "none" : red == 1 ? "mean" : "sum"), AX_OP_CROSS_ENTROPY, 2,
                 {randn(lg, 2, dt), randint(5, n6, 1)}, {.iv = {-100, red}}, 1};
      run_case(&a);
    }
    tcase w = {NNAME(AX_OP_CROSS_ENTROPY, "weight-ignore-smooth"), AX_OP_CROSS_ENTROPY, 3,
               {transposed(randn((int64_t[]){6, 5}, 2, dt)), randint(5, n6, 1), randpos(c5, 1, dt)}, {.iv = {2, 1}, .fv = {0.1}}, 1};
    run_case(&w);
  }
  {   /* attention (fv[0] scale, iv[0] causal): t != s, d != dv, sizes off the 32 x 64 tiles, a
      ** strided q, causal, additive masks with -inf cells and a query row that sees no key, heads
      ** wider than one contraction chunk (d 72) and than one output chunk (dv 80); gradients of q,
      ** k and v through attention_backward, which also runs once directly with a mask */
    tcase a = {NNAME(AX_OP_ATTENTION, "t5-s7-d3-dv4"), AX_OP_ATTENTION, 3,
               {randn((int64_t[]){2, 2, 5, 3}, 4, dt), randn((int64_t[]){2, 2, 7, 3}, 4, dt), randn((int64_t[]){2, 2, 7, 4}, 4, dt)},
               {.fv = {0.4}}, 3};
    run_case(&a);
    tcase c = {NNAME(AX_OP_ATTENTION, "causal-t37-strided"), AX_OP_ATTENTION, 3,
               {transposed(randn((int64_t[]){1, 2, 37, 8}, 4, dt)), randn((int64_t[]){1, 2, 37, 8}, 4, dt), randn((int64_t[]){1, 2, 37, 8}, 4, dt)},
               {.iv = {1}, .fv = {0.35}}, 3};
    run_case(&c);
    tcase m = {NNAME(AX_OP_ATTENTION, "mask-t33-s70-d20-dv40"), AX_OP_ATTENTION, 4,
               {randn((int64_t[]){1, 2, 33, 20}, 4, dt), randn((int64_t[]){1, 2, 70, 20}, 4, dt), randn((int64_t[]){1, 2, 70, 40}, 4, dt),
                attmask(33, 70, dt)},
               {.fv = {0.2}}, 3};
    run_case(&m);
    tcase w = {NNAME(AX_OP_ATTENTION, "causal-mask-d72-dv80"), AX_OP_ATTENTION, 4,
               {randn((int64_t[]){1, 1, 40, 72}, 4, dt), randn((int64_t[]){1, 1, 70, 72}, 4, dt), randn((int64_t[]){1, 1, 70, 80}, 4, dt),
                attmask(40, 70, dt)},
               {.iv = {1}, .fv = {0.12}}, 3};
    run_case(&w);
    tcase b = {NNAME(AX_OP_ATTENTION_BWD, "mask-t9-s11"), AX_OP_ATTENTION_BWD, 7,
               {randn((int64_t[]){1, 2, 9, 6}, 4, dt), randn((int64_t[]){1, 2, 11, 6}, 4, dt), randn((int64_t[]){1, 2, 11, 5}, 4, dt),
                randn((int64_t[]){1, 2, 9, 5}, 4, dt), randn((int64_t[]){1, 2, 9}, 3, dt), randn((int64_t[]){1, 2, 9, 5}, 4, dt),
                attmask(9, 11, dt)},
               {.fv = {0.3}}, 0};
    run_case(&b);
  }
#undef NNAME
}

/* In-place rows: run op on CPU tensors and on device copies, then compare inputs `check` (a
** mask) afterwards; steps times. */
static void inplace_case(const char *name, ax_op op, ax_tensor **in, int nin, const ax_attrs *at, unsigned check, int steps,
                         double tol) {
  ax_err e = {0};
  ax_tensor *gin[TC_MAXIN] = {0};
  int ok = 1;
  for (int i = 0; i < nin && ok; i++) ok = in[i] && !to_dev(in[i], &gin[i], &e);
  for (int k = 0; k < steps && ok; k++) {
    ax_attrs a = *at;
    if (op == AX_OP_SGD_STEP || op == AX_OP_ADAM_STEP) a.iv[0] = k + 1;   /* the step number */
    ax_tensor *oc[AX_MAX_OUTPUTS] = {0}, *og[AX_MAX_OUTPUTS] = {0};
    if (ax_op_call(op, in, nin, &a, oc, &e) || ax_op_call(op, gin, nin, &a, og, &e)) {
      printf("FAIL %s: %s\n", name, e.msg);
      nfail++;
      ok = 0;
    }
    for (int j = 0; j < AX_MAX_OUTPUTS; j++) {
      ax_tensor_release(oc[j]);
      ax_tensor_release(og[j]);
    }
  }
  for (int i = 0; i < nin && ok; i++)
    if (check >> i & 1) {
      char what[32];
      snprintf(what, sizeof what, "in-place[%d]", i);
      report(what, name, nerr(in[i], gin[i], &e), tol, "inputs differ after the update");
    }
  for (int i = 0; i < nin; i++) {
    ax_tensor_release(in[i]);
    ax_tensor_release(gin[i]);
  }
}

/* rand_like, randn_like and dropout masks of a device tensor come from the device's Philox with
** the CPU's counters: with the same seed, two draws in a row equal the CPU's (uniforms and masks
** exactly; normals within the dtype's tolerance, the device's log/sin/cos being a few ulp off). */
static void random_cases(ax_dtype dt) {
  const char *kinds[3] = {"rand_like", "randn_like", "dropout_mask"};
  for (int k = 0; k < 3; k++) {
    ax_err e = {0};
    ax_tensor *x = randn((int64_t[]){5, 7}, 2, dt), *xd = NULL, *a[2] = {0}, *b[2] = {0};
    int ok = x && !to_dev(x, &xd, &e);
    for (int dev = 0; dev < 2 && ok; dev++) {
      ax_seed(4321);
      for (int j = 0; j < 2 && ok; j++) {
        ax_tensor *src = dev ? xd : x, **o = dev ? &b[j] : &a[j];
        ok = !(k == 0 ? ax_rand_like(src, o, &e) : k == 1 ? ax_randn_like(src, o, &e) : ax_dropout_mask(src, 0.3, o, &e));
      }
    }
    char name[64];
    snprintf(name, sizeof name, "%s/%s", kinds[k], ax_dtype_name(dt));
    if (!ok) {
      printf("FAIL %s: %s\n", name, e.msg);
      nfail++;
    }
    for (int j = 0; j < 2 && ok; j++) report(j ? "second draw" : "first draw", name, nerr(a[j], b[j], &e), k == 1 ? tol_of(dt) : 0, "draws differ");
    ax_tensor_release(x);
    ax_tensor_release(xd);
    for (int j = 0; j < 2; j++) {
      ax_tensor_release(a[j]);
      ax_tensor_release(b[j]);
    }
  }
}

static void inplace_cases(ax_dtype dt) {
  char name[96];
  const int64_t s[] = {7, 3};
  for (int v = 0; v < 3; v++) {   /* plain, momentum + weight decay, nesterov */
    ax_tensor *in[3] = {randn(s, 2, dt), randn(s, 2, dt), randn(s, 2, dt)};
    ax_attrs at = {.fv = {0.1, v ? 0.9 : 0, 0, v == 1 ? 0.01 : 0}, .iv = {1, v == 2, 0}};
    snprintf(name, sizeof name, "sgd_step/%d/%s", v, ax_dtype_name(dt));
    inplace_case(name, AX_OP_SGD_STEP, in, v ? 3 : 2, &at, v ? 5 : 1, 3, tol_of(dt));
    if (!v) ax_tensor_release(in[2]);
  }
  for (int v = 0; v < 4; v++) {   /* adam, adam + weight decay, amsgrad + maximize, adamw */
    ax_tensor *in[5] = {randn(s, 2, dt), randn(s, 2, dt), NULL, NULL, NULL};
    ax_err e;
    for (int k = 2; k < 5; k++) ax_zeros(s, 2, dt, &in[k], &e);
    ax_attrs at = {.fv = {1e-2, 0.9, 0.999, 1e-8}, .a = v == 1 || v == 3 ? 0.05 : 0, .iv = {1, v == 2, v == 2, v == 3}};
    snprintf(name, sizeof name, "adam_step/%d/%s", v, ax_dtype_name(dt));
    int nin = v == 2 ? 5 : 4;
    inplace_case(name, AX_OP_ADAM_STEP, in, nin, &at, nin == 5 ? 29 : 13, 3, tol_of(dt));
    if (nin == 4) ax_tensor_release(in[4]);
  }
  {   /* batch_norm updating its running statistics (inputs 3 and 4) */
    const int64_t c3[] = {3};
    ax_tensor *in[5] = {randn((int64_t[]){4, 3, 5}, 3, dt), randn(c3, 1, dt), randn(c3, 1, dt), randn(c3, 1, dt), randpos(c3, 1, dt)};
    ax_attrs at = {.iv = {1, 1}, .fv = {1e-5, 0.1}};
    snprintf(name, sizeof name, "batch_norm/running/%s", ax_dtype_name(dt));
    inplace_case(name, AX_OP_BATCH_NORM, in, 5, &at, 24, 2, tol_of(dt));
  }
}

/* Issue #5's device and mixed-precision paths on device tensors (their CPU side is tested by
** tests/unit_runtime/test_amp.c and tests/net/amp_*.anx): a leaf moved in place (Net.to) keeps
** its identity, values and gradient; under autocast, matmul and conv2d (a neural row: half inputs
** go through ax_half_call) give the CPU's dtypes and values, and their gradients reach float32 leaves. */
static void amp_cases(void) {
  ax_err e = {0};
  char name[64];
  const int64_t s43[] = {4, 3};
  ax_tensor *x = randn(s43, 2, AX_FLOAT32), *g = randn(s43, 2, AX_FLOAT32), *p = NULL;
  int ok = x && g && !ax_param(x, &p, &e);
  if (ok) p->grad = ax_tensor_retain(g);
  ax_tensor *same = p;
  ok = ok && !ax_tensor_move_(p, CUDA0, &e);
  ok = ok && ax_device_eq(p->storage->device, CUDA0) && ax_device_eq(p->grad->storage->device, CUDA0) &&
       p->requires_grad && p == same;
  report("move", "tensor_move_/there", ok ? fmax(nerr(p, x, &e), nerr(p->grad, g, &e)) : -1, 0, e.msg);
  ok = ok && !ax_tensor_move_(p, AX_CPU, &e) && p->storage->device.type == AX_DEV_CPU;
  report("move", "tensor_move_/back", ok ? fmax(nerr(p, x, &e), nerr(p->grad, g, &e)) : -1, 0, e.msg);
  ax_tensor_release(p);
  ax_tensor_release(x);
  ax_tensor_release(g);
  const ax_dtype half[2] = {AX_BFLOAT16, AX_FLOAT16};
  for (int h = 0; h < 2; h++) {
    const int64_t si[] = {2, 3, 6, 6}, sw[] = {4, 3, 3, 3}, sa[] = {5, 7}, sb[] = {7, 3};
    ax_tensor *in[2][2] = {{randn(sa, 2, AX_FLOAT32), randn(sb, 2, AX_FLOAT32)},
                           {randn(si, 4, AX_FLOAT32), randn(sw, 4, AX_FLOAT32)}};
    const ax_op ops[2] = {AX_OP_MATMUL, AX_OP_CONV2D};
    ax_attrs conv = {.iv = {1, 1, 1, 1, 1, 1, 1, 1, 1}};
    for (int k = 0; k < 2; k++) {
      ax_tensor *dev[2] = {0}, *lf[2][2] = {{0}}, *out[2][AX_MAX_OUTPUTS] = {{0}}, *l[2] = {0};
      ok = in[k][0] && in[k][1] && !to_dev(in[k][0], &dev[0], &e) && !to_dev(in[k][1], &dev[1], &e);
      for (int d = 0; d < 2 && ok; d++) {   /* d 0: CPU, 1: the device; the weight is a float32 leaf */
        ax_tensor *src[2] = {d ? dev[0] : in[k][0], d ? dev[1] : in[k][1]};
        ok = !ax_param(src[1], &lf[d][1], &e);
        lf[d][0] = ax_tensor_retain(src[0]);
        ax_autocast_set(half[h]);
        ok = ok && !ax_op_call(ops[k], lf[d], 2, k ? &conv : NULL, out[d], &e) && !ax_sum(out[d][0], NULL, 0, 0, &l[d], &e);
        ax_autocast_set(AX_NDTYPES);
        ok = ok && out[d][0]->dtype == half[h] && l[d]->dtype == AX_FLOAT32 && !ax_backward(l[d], NULL, &e) &&
             lf[d][1]->grad && lf[d][1]->grad->dtype == AX_FLOAT32;
      }
      snprintf(name, sizeof name, "%s/%s", ax_op_name(ops[k]), ax_dtype_name(half[h]));
      report("autocast", name, ok ? nerr(out[1][0], out[0][0], &e) : -1, tol_of(half[h]), e.msg);
      report("autocast grad", name, ok ? nerr(lf[1][1]->grad, lf[0][1]->grad, &e) : -1, tol_of(half[h]), e.msg);
      for (int d = 0; d < 2; d++) {
        ax_tensor_release(dev[d]);
        ax_tensor_release(l[d]);
        for (int i = 0; i < 2; i++) ax_tensor_release(lf[d][i]);
        for (int i = 0; i < AX_MAX_OUTPUTS; i++) ax_tensor_release(out[d][i]);
        ax_tensor_release(in[k][d]);
      }
    }
  }
}
#endif

static void all_cases(ax_dtype dt) {
  const int64_t s35[] = {3, 5}, s415[] = {4, 1, 5}, s5[] = {5}, s465[] = {4, 6, 5}, s45[] = {4, 5};
  char name[64];
  const char *dn = ax_dtype_name(dt);
#define NAME(op) (snprintf(name, sizeof name, "%s/%s", ax_op_name(op), dn), name)
  for (size_t i = 0; i < sizeof UNARY / sizeof *UNARY; i++) {
    ax_op op = UNARY[i];
    int pos = op == AX_OP_LOG || op == AX_OP_SQRT || op == AX_OP_RSQRT;
    int64_t s53[] = {5, 3};
    tcase c = {NAME(op), op, 1, {transposed(pos ? randpos(s53, 2, dt) : randn(s53, 2, dt))}, {.keepdim = 0}, 1};
    if (op == AX_OP_CLAMP) c.at = (ax_attrs){.a = -0.5, .has_a = 1, .b = 0.7, .has_b = 1};
    run_case(&c);
  }
  {
    tcase c = {NAME(AX_OP_LOGICAL_NOT), AX_OP_LOGICAL_NOT, 1, {boolmask(s35, 2)}, {.keepdim = 0}, 0};
    run_case(&c);
  }
  for (size_t i = 0; i < sizeof BINARY / sizeof *BINARY; i++) {
    ax_op op = BINARY[i];
    int pos = op == AX_OP_POW || op == AX_OP_DIV;
    tcase c = {NAME(op), op, 2, {pos ? randpos(s415, 3, dt) : randn(s415, 3, dt), transposed(pos ? randpos((int64_t[]){3, 5}, 2, dt) : randn((int64_t[]){3, 5}, 2, dt))}, {.keepdim = 0}, 1};
    run_case(&c);
  }
  {
    ax_err e;
    ax_tensor *s = NULL;
    ax_scalar_f64(2.5, &s, &e);   /* a script number: a CPU 0-d tensor joins a CUDA tensor */
    tcase c = {"mul-by-number", AX_OP_MUL, 2, {randn(s35, 2, dt), s}, {.keepdim = 0}, 1};
    run_case(&c);
  }
  for (int op = AX_OP_LOGICAL_AND; op <= AX_OP_LOGICAL_OR; op++) {
    tcase c = {NAME((ax_op)op), (ax_op)op, 2, {boolmask(s35, 2), boolmask(s5, 1)}, {.keepdim = 0}, 0};
    run_case(&c);
  }
  {
    tcase c = {NAME(AX_OP_WHERE), AX_OP_WHERE, 3, {boolmask(s35, 2), randn(s35, 2, dt), randn(s5, 1, dt)}, {.keepdim = 0}, 1};
    run_case(&c);
    tcase m = {NAME(AX_OP_MASKED_FILL), AX_OP_MASKED_FILL, 2, {randn(s35, 2, dt), boolmask(s5, 1)}, {.a = 2.5}, 1};
    run_case(&m);
  }
  for (size_t i = 0; i < sizeof REDUCE / sizeof *REDUCE; i++) {
    ax_op op = REDUCE[i];
    int idx = op == AX_OP_MAX || op == AX_OP_MIN || op == AX_OP_ARGMAX || op == AX_OP_ARGMIN;
    for (int v = 0; v < 3; v++) {   /* 0: one dim, 1: two dims kept, 2: everything */
      tcase c = {NAME(op), op, 1, {op == AX_OP_PROD ? randpos(s465, 3, dt) : randn(s465, 3, dt)}, {.keepdim = 0}, 1};
      if (idx) c.at = (ax_attrs){.dim = v == 0 ? 1 : -1, .has_dim = v < 2, .keepdim = v == 1};
      else if (v == 0) c.at = (ax_attrs){.dims = {1}, .ndims = 1};
      else if (v == 1) c.at = (ax_attrs){.dims = {0, 2}, .ndims = 2, .keepdim = 1};
      if (op == AX_OP_VAR || op == AX_OP_STD) c.at.a = 1;
      if (op == AX_OP_NORM) c.at.a = v == 0 ? 2 : (v == 1 ? 1 : 3);
      run_case(&c);
    }
  }
  for (int op = AX_OP_CUMSUM; op <= AX_OP_LOG_SOFTMAX; op++)
    for (int d = 0; d < 3; d++) {
      tcase c = {NAME((ax_op)op), (ax_op)op, 1, {randn(s465, 3, dt)}, {.dim = d}, 1};
      run_case(&c);
    }
  {
    tcase a = {NAME(AX_OP_MATMUL), AX_OP_MATMUL, 2, {randn((int64_t[]){2, 3, 64}, 3, dt), transposed(randn((int64_t[]){64, 7}, 2, dt))}, {.keepdim = 0}, 1};
    run_case(&a);
    tcase b = {NAME(AX_OP_MATMUL), AX_OP_MATMUL, 2, {randn((int64_t[]){3, 64}, 2, dt), randn((int64_t[]){2, 1, 64, 5}, 4, dt)}, {.keepdim = 0}, 1};
    run_case(&b);
  }
  {
    tcase g = {NAME(AX_OP_GATHER), AX_OP_GATHER, 2, {randn(s45, 2, dt), randint(5, (int64_t[]){4, 3}, 2)}, {.dim = 1}, 1};
    run_case(&g);
    tcase s = {NAME(AX_OP_SCATTER), AX_OP_SCATTER, 3, {randn(s45, 2, dt), randint(4, (int64_t[]){3, 5}, 2), randn(s45, 2, dt)}, {.dim = 0}, 1};
    run_case(&s);
    tcase sa = {NAME(AX_OP_SCATTER), AX_OP_SCATTER, 3, {randn(s45, 2, dt), randint(4, (int64_t[]){3, 5}, 2), randn(s45, 2, dt)}, {.dim = 0, .reduce = 1}, 1};
    run_case(&sa);
    tcase is = {NAME(AX_OP_INDEX_SELECT), AX_OP_INDEX_SELECT, 2, {transposed(randn((int64_t[]){5, 4}, 2, dt)), randint(4, (int64_t[]){6}, 1)}, {.dim = 0}, 1};
    run_case(&is);
    tcase ct = {NAME(AX_OP_CAT), AX_OP_CAT, 3, {randn((int64_t[]){2, 3}, 2, dt), randn((int64_t[]){4, 3}, 2, dt), randn((int64_t[]){1, 3}, 2, dt)}, {.dim = 0}, 1};
    run_case(&ct);
    tcase ss = {NAME(AX_OP_SLICE_SCATTER), AX_OP_SLICE_SCATTER, 2, {randn((int64_t[]){6, 4}, 2, dt), randn((int64_t[]){2, 4}, 2, dt)}, {.dim = 0, .start = 1, .stop = 5, .step = 2}, 1};
    run_case(&ss);
  }
#if defined(__has_include) && !defined(AX_NO_NN_ROWS)
#if __has_include("neural/ax_nn_oplist.h")
  {   /* neural rows with a CUDA kernel; the backward row runs through the gradient check */
    tcase ln = {NAME(AX_OP_LAYER_NORM), AX_OP_LAYER_NORM, 3, {transposed(randn((int64_t[]){6, 4}, 2, dt)), randn((int64_t[]){4}, 1, dt), randn((int64_t[]){4}, 1, dt)}, {.iv = {1}, .fv = {1e-5}}, 1};
    run_case(&ln);
    tcase l2 = {NAME(AX_OP_LAYER_NORM), AX_OP_LAYER_NORM, 3, {randn(s465, 3, dt), randn((int64_t[]){6, 5}, 2, dt), randn((int64_t[]){6, 5}, 2, dt)}, {.iv = {2}, .fv = {1e-5}}, 1};
    run_case(&l2);
    for (int k = 0; k < 3; k++) {   /* activation_backward (relu, gelu, silu), x a transposed view */
      snprintf(name, sizeof name, "activation_backward/%s/%s", k == 0 ? "relu" : k == 1 ? "gelu" : "silu", dn);
      tcase a = {name, AX_OP_ACT_BWD, 2,
                 {transposed(randn((int64_t[]){6, 5}, 2, dt)), randn((int64_t[]){6, 5}, 2, dt)}, {.iv = {k}}, 0};
      run_case(&a);
    }
  }
  nn_cases(dt);
#endif
#endif
  for (int k = 0; k < AX_NDTYPES; k++) {
    snprintf(name, sizeof name, "cast/%s->%s", dn, ax_dtype_name((ax_dtype)k));
    tcase c = {name, AX_OP_CAST, 1, {transposed(randn((int64_t[]){5, 3}, 2, dt))}, {.dtype = (ax_dtype)k}, 1};
    run_case(&c);
  }
  {
    tcase c = {NAME(AX_OP_COPY), AX_OP_COPY, 1, {transposed(randn((int64_t[]){5, 3}, 2, dt))}, {.device = CUDA0}, 0};
    run_case(&c);   /* CPU copy with device cuda = upload; CUDA copy with device cuda = clone */
  }
#undef NAME
}

/* ==== tensor-core paths (issue #5): half-type GEMM, CUBLAS_OP_T / strided operands, TF32 ==========
** Each layout is built twice from one CPU float32 tensor: the reference is the CPU's float32 matmul of
** the float32 views; the device gets the same view of a copy in the type under test (a transposed
** view is passed to cuBLAS with CUBLAS_OP_T, a sliced one with its row stride, a batch of
** [B, T, C] @ [C, D] folds into one GEMM, a broadcast that has no single batch stride is packed).
** Float32 under "highest" must match within 1e-6; float16/bfloat16 (cublasGemmEx, float32
** accumulation) and float32 under "high" (TF32) within 1e-2 of the float32 reference. On a GPU,
** TF32 must also be seen to act: a 512 x 512 x 512 GEMM (tensor-core sized) under "high" differs
** from the CPU by more than 1e-5 (TF32 keeps 10 mantissa bits: about 3e-4 here; under "highest"
** two float32 summation orders differ by a few 1e-7; NVIDIA_TF32_OVERRIDE=0 would turn TF32 off).
** Convolutions: float16/bfloat16 inputs reach cuDNN as they are (the rows are half_native) and are
** compared with the CPU's half semantics (computed in float32, rounded once); float32 under "high"
** within 1e-2. */
typedef enum { TCV_PLAIN, TCV_T, TCV_SLICE_COLS, TCV_SLICE_ROWS, TCV_EXPAND_ROWS } tc_view;

/* x (any device) seen through view v: TCV_T swaps the last two dims, the slices drop 3 leading
** columns / 2 leading rows (so the stored tensor is bigger), TCV_EXPAND_ROWS repeats a 1-row matrix
** 6 times (row stride 0). */
static ax_tensor *tc_view_of(ax_tensor *x, tc_view v, ax_err *e) {
  ax_tensor *o = NULL;
  int nd = x->ndim;
  ax_status s = AX_OK;
  switch (v) {
  case TCV_T: s = ax_transpose(x, nd - 2, nd - 1, &o, e); break;
  case TCV_SLICE_COLS: s = ax_slice(x, nd - 1, 3, x->shape[nd - 1], 1, &o, e); break;
  case TCV_SLICE_ROWS: s = ax_slice(x, nd - 2, 2, x->shape[nd - 2], 1, &o, e); break;
  case TCV_EXPAND_ROWS: {
    int64_t sh[AX_MAX_DIMS];
    memcpy(sh, x->shape, sizeof(int64_t) * (size_t)nd);
    sh[nd - 2] = 6;
    s = ax_expand(x, sh, nd, &o, e);
    break;
  }
  default: o = ax_tensor_retain(x);
  }
  return s ? NULL : o;
}

/* The normalised error of op(view(a), view(b)) on the device in dtype dt against the CPU's float32
** result (the device result cast to float32); -1 on a failure (message in e). */
static double tc_err_vs_f32(ax_op op, ax_tensor *a, tc_view va, ax_tensor *b, tc_view vb, const ax_attrs *at, ax_dtype dt,
                            ax_err *e) {
  ax_tensor *ca = NULL, *cb = NULL, *ref[AX_MAX_OUTPUTS] = {0}, *ha = NULL, *hb = NULL, *da = NULL, *db = NULL, *ga = NULL,
            *gb = NULL, *got[AX_MAX_OUTPUTS] = {0}, *g32 = NULL;
  double r = -1;
  ax_tensor *cin[2], *gin[2];
  if (!(ca = tc_view_of(a, va, e)) || !(cb = tc_view_of(b, vb, e))) goto done;
  cin[0] = ca, cin[1] = cb;
  if (ax_op_call(op, cin, 2, at, ref, e)) goto done;
  if (ax_cast(a, dt, &ha, e) || ax_cast(b, dt, &hb, e) || to_dev(ha, &da, e) || to_dev(hb, &db, e)) goto done;
  if (!(ga = tc_view_of(da, va, e)) || !(gb = tc_view_of(db, vb, e))) goto done;
  gin[0] = ga, gin[1] = gb;
  if (ax_op_call(op, gin, 2, at, got, e)) goto done;
  if (got[0]->dtype != dt) {
    snprintf(e->msg, sizeof e->msg, "result is %s, expected %s", ax_dtype_name(got[0]->dtype), ax_dtype_name(dt));
    goto done;
  }
  if (ax_cast(got[0], AX_FLOAT32, &g32, e)) goto done;
  r = nerr(ref[0], g32, e);
done:;
  ax_tensor *all[] = {ca, cb, ha, hb, da, db, ga, gb, g32};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) ax_tensor_release(all[i]);
  for (int k = 0; k < AX_MAX_OUTPUTS; k++) {
    ax_tensor_release(ref[k]);
    ax_tensor_release(got[k]);
  }
  return r;
}

#ifdef TC_NN_ROWS
/* float16/bfloat16 attention: the device against the CPU's half semantics (float32 on the half
** values, out rounded to the half type, lse float32). Shapes in the tensor-core forward's domain
** (attention_tc.cuh: d == dv in {64, 128}, contiguous, no mask, causal or not; P is rounded to
** the half type before P V there) within 2e-3 (float16) / 1e-2 (bfloat16), lse within 1e-5; the
** others take the float32 kernel inside the row and must do as well. Gradients of q, k, v (the
** backward row on float32 copies, from each device's own out and lse) within 1e-2 / 5e-2: they
** show that the backward keeps working, not how precise it is. */
static void att_half_case(const char *name, ax_dtype dt, const int64_t *qs, const int64_t *ks, const int64_t *vs, int causal, double scale,
                          int mask, int strided_q) {
  const double tol = dt == AX_FLOAT16 ? 2e-3 : 1e-2, gtol = dt == AX_FLOAT16 ? 1e-2 : 5e-2;
  ax_err e = {0}, eg = {0};
  ax_tensor *in[4] = {strided_q ? transposed(randn(qs, 4, dt)) : randn(qs, 4, dt), randn(ks, 4, dt), randn(vs, 4, dt),
                      mask ? attmask(qs[2], ks[2], dt) : NULL};
  ax_tensor *cpu_in[4] = {0}, *gpu_in[4] = {0}, *oc[AX_MAX_OUTPUTS] = {0}, *og[AX_MAX_OUTPUTS] = {0};
  ax_tensor *w = NULL, *wg = NULL, *pc = NULL, *pg = NULL, *lc = NULL, *lg = NULL;
  const int nin = mask ? 4 : 3;
  ax_attrs at = {.iv = {causal}, .fv = {scale}};
  char what[160];
  int ok = 1;
  for (int i = 0; i < nin; i++) ok &= in[i] != NULL;
  for (int i = 0; i < nin && ok; i++) {
    ax_tensor *g = NULL;
    if (to_dev(in[i], &g, &e)) ok = 0;
    else if (i < 3) {
      ok = !ax_param(in[i], &cpu_in[i], &e) && !ax_param(g, &gpu_in[i], &e);
      ax_tensor_release(g);
    } else {
      cpu_in[i] = ax_tensor_retain(in[i]);
      gpu_in[i] = g;
    }
  }
  snprintf(what, sizeof what, "attention/%s/%s", ax_dtype_name(dt), name);
  if (!ok || ax_op_call(AX_OP_ATTENTION, cpu_in, nin, &at, oc, &e)) {
    report("setup", what, -1, 0, e.msg);
    goto done;
  }
  if (ax_op_call(AX_OP_ATTENTION, gpu_in, nin, &at, og, &eg)) {
    report("cuda", what, -1, 0, eg.msg);
    goto done;
  }
  if (og[0]->dtype != dt || og[1]->dtype != AX_FLOAT32) {
    report("dtypes", what, -1, 0, "out must keep the half type and lse be float32");
    goto done;
  }
  report("forward out", what, nerr(oc[0], og[0], &e), tol, "outputs differ in shape/dtype");
  report("forward lse", what, nerr(oc[1], og[1], &e), 1e-5, "lse differs in shape/dtype");
  if (ax_randn(oc[0]->shape, 4, dt, &w, &e) || to_dev(w, &wg, &e) || ax_mul(oc[0], w, &pc, &e) || ax_sum(pc, NULL, 0, 0, &lc, &e) ||
      ax_backward(lc, NULL, &e)) {
    report("cpu backward", what, -1, 0, e.msg);
  } else if (ax_mul(og[0], wg, &pg, &eg) || ax_sum(pg, NULL, 0, 0, &lg, &eg) || ax_backward(lg, NULL, &eg)) {
    report("cuda backward", what, -1, 0, eg.msg);
  } else {
    for (int i = 0; i < 3; i++) {
      char g[16];
      snprintf(g, sizeof g, "grad[%d]", i);
      report(g, what, nerr(cpu_in[i]->grad, gpu_in[i]->grad, &e), gtol, "gradient missing or of another shape/dtype");
    }
  }
done:;
  ax_tensor *all[] = {w, wg, pc, pg, lc, lg};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) ax_tensor_release(all[i]);
  for (int k = 0; k < AX_MAX_OUTPUTS; k++) {
    ax_tensor_release(oc[k]);
    ax_tensor_release(og[k]);
  }
  for (int i = 0; i < 4; i++) {
    ax_tensor_release(in[i]);
    ax_tensor_release(cpu_in[i]);
    ax_tensor_release(gpu_in[i]);
  }
}

static void att_half_cases(void) {
  const ax_dtype half[2] = {AX_FLOAT16, AX_BFLOAT16};
  for (int h = 0; h < 2; h++) {
    const ax_dtype dt = half[h];
    /* the tensor-core forward */
    att_half_case("tc-t100-s77-d64", dt, (int64_t[]){2, 2, 100, 64}, (int64_t[]){2, 2, 77, 64}, (int64_t[]){2, 2, 77, 64}, 0, 0.125, 0, 0);
    att_half_case("tc-causal-t130-d128", dt, (int64_t[]){1, 2, 130, 128}, (int64_t[]){1, 2, 130, 128}, (int64_t[]){1, 2, 130, 128}, 1,
                  0.0884, 0, 0);
    att_half_case("tc-causal-t40-s150-d64", dt, (int64_t[]){1, 1, 40, 64}, (int64_t[]){1, 1, 150, 64}, (int64_t[]){1, 1, 150, 64}, 1,
                  0.125, 0, 0);
    att_half_case("tc-causal-t150-s40-d128", dt, (int64_t[]){1, 3, 150, 128}, (int64_t[]){1, 3, 40, 128}, (int64_t[]){1, 3, 40, 128}, 1,
                  0.0884, 0, 0);
    /* outside its domain: the float32 kernel inside the row */
    att_half_case("mask-t33-s70-d64", dt, (int64_t[]){1, 2, 33, 64}, (int64_t[]){1, 2, 70, 64}, (int64_t[]){1, 2, 70, 64}, 0, 0.125, 1, 0);
    att_half_case("d32-dv48", dt, (int64_t[]){2, 1, 20, 32}, (int64_t[]){2, 1, 30, 32}, (int64_t[]){2, 1, 30, 48}, 1, 0.2, 0, 0);
    att_half_case("strided-q-d64", dt, (int64_t[]){1, 2, 37, 64}, (int64_t[]){1, 2, 37, 64}, (int64_t[]){1, 2, 37, 64}, 0, 0.125, 0, 1);
  }
}
#endif

static void tensor_core_cases(void) {
  static const struct {
    const char *name;
    int64_t a[4], b[4];
    int na, nb;
    tc_view va, vb;
  } L[] = {
      {"nn", {37, 64}, {64, 29}, 2, 2, TCV_PLAIN, TCV_PLAIN},
      {"tn (A transposed: OP_T)", {64, 37}, {64, 29}, 2, 2, TCV_T, TCV_PLAIN},
      {"nt (B transposed: OP_T)", {37, 64}, {29, 64}, 2, 2, TCV_PLAIN, TCV_T},
      {"tt", {64, 37}, {29, 64}, 2, 2, TCV_T, TCV_T},
      {"sliced (row stride > cols)", {37, 67}, {66, 29}, 2, 2, TCV_SLICE_COLS, TCV_SLICE_ROWS},
      {"batch folded [4,12,64]@[64,29]", {4, 12, 64}, {64, 29}, 3, 2, TCV_PLAIN, TCV_PLAIN},
      {"batch q@k^T [2,3,16,32]@T[2,3,20,32]", {2, 3, 16, 32}, {2, 3, 20, 32}, 4, 4, TCV_PLAIN, TCV_T},
      {"batch A^T [3,8,32]^T@[3,8,5]", {3, 8, 32}, {3, 8, 5}, 3, 3, TCV_T, TCV_PLAIN},
      {"broadcast packed [2,1,8,32]@[3,32,8]", {2, 1, 8, 32}, {3, 32, 8}, 4, 3, TCV_PLAIN, TCV_PLAIN},
      {"M=1", {1, 64}, {64, 7}, 2, 2, TCV_PLAIN, TCV_PLAIN},
      {"N=1 transposed", {5, 64}, {1, 64}, 2, 2, TCV_PLAIN, TCV_T},
      {"expanded rows (stride 0: packed)", {1, 64}, {64, 9}, 2, 2, TCV_EXPAND_ROWS, TCV_PLAIN},
  };
  const ax_dtype types[3] = {AX_FLOAT32, AX_FLOAT16, AX_BFLOAT16};
  char name[128];
  ax_err e = {0};
  int before = npass + nfail;
  for (size_t i = 0; i < sizeof L / sizeof *L; i++) {
    ax_tensor *a = randn(L[i].a, L[i].na, AX_FLOAT32), *b = randn(L[i].b, L[i].nb, AX_FLOAT32);
    for (int t = 0; t < 3; t++)
      for (int tf32 = 0; tf32 < (types[t] == AX_FLOAT32 ? 2 : 1); tf32++) {
        ax_set_float32_matmul_precision(tf32 ? AX_PRECISION_HIGH : AX_PRECISION_HIGHEST);
        snprintf(name, sizeof name, "matmul/%s/%s%s", L[i].name, ax_dtype_name(types[t]), tf32 ? "/tf32" : "");
        double r = a && b ? tc_err_vs_f32(AX_OP_MATMUL, a, L[i].va, b, L[i].vb, NULL, types[t], &e) : -1;
        report("tensor-core", name, r, types[t] == AX_FLOAT32 && !tf32 ? 1e-6 : 1e-2, e.msg);
      }
    ax_set_float32_matmul_precision(AX_PRECISION_HIGHEST);
    ax_tensor_release(a);
    ax_tensor_release(b);
  }
  /* TF32 acts on the device (not in the self-check: the CPU ignores the setting) */
  {
    ax_tensor *a = randn((int64_t[]){512, 512}, 2, AX_FLOAT32), *b = randn((int64_t[]){512, 512}, 2, AX_FLOAT32);
    double r[2];
    for (int tf32 = 0; tf32 < 2; tf32++) {
      ax_set_float32_matmul_precision(tf32 ? AX_PRECISION_HIGH : AX_PRECISION_HIGHEST);
      r[tf32] = a && b ? tc_err_vs_f32(AX_OP_MATMUL, a, TCV_PLAIN, b, TCV_PLAIN, NULL, AX_FLOAT32, &e) : -1;
    }
    ax_set_float32_matmul_precision(AX_PRECISION_HIGHEST);
    report("tensor-core", "matmul/512x512x512/float32/highest", r[0], 2e-6, e.msg);   /* K = 512 sums */
    report("tensor-core", "matmul/512x512x512/float32/tf32", r[1], 1e-2, e.msg);
    if (CUDA0.type != AX_DEV_CPU && r[1] >= 0) {
      printf("tf32: normalised error of a 512x512x512 float32 GEMM: %.3g under \"high\", %.3g under \"highest\"\n", r[1], r[0]);
      report("tensor-core", "matmul/tf32 acts (error under \"high\" > 1e-5)", r[1] > 1e-5 ? 0 : -1, 0,
             "TF32 changed nothing: is NVIDIA_TF32_OVERRIDE=0 set?");
    }
    ax_tensor_release(a);
    ax_tensor_release(b);
  }
  /* half-type matmul against the CPU's half semantics, forward and gradients (run_case: tol_of) */
  for (int h = 1; h < 3; h++) {
    const char *dn = ax_dtype_name(types[h]);
    snprintf(name, sizeof name, "matmul/%s/bcast-transposed", dn);
    tcase a = {name, AX_OP_MATMUL, 2, {randn((int64_t[]){2, 3, 64}, 3, types[h]), transposed(randn((int64_t[]){64, 7}, 2, types[h]))}, {.keepdim = 0}, 1};
    run_case(&a);
    char name2[128];
    snprintf(name2, sizeof name2, "matmul/%s/batch-bcast", dn);
    tcase b = {name2, AX_OP_MATMUL, 2, {randn((int64_t[]){3, 64}, 2, types[h]), randn((int64_t[]){2, 1, 64, 5}, 4, types[h])}, {.keepdim = 0}, 1};
    run_case(&b);
  }
#ifdef TC_NN_ROWS
  /* convolutions: half inputs straight to cuDNN (half_native rows), against the CPU's half rows */
  for (int h = 1; h < 3; h++) {
    const ax_dtype dt = types[h];
    const char *dn = ax_dtype_name(dt);
    snprintf(name, sizeof name, "conv2d/pad1-bias/%s", dn);
    tcase a = {name, AX_OP_CONV2D, 3, {randn((int64_t[]){2, 4, 7, 6}, 4, dt), randn((int64_t[]){5, 4, 3, 3}, 4, dt), randn((int64_t[]){5}, 1, dt)},
               {.iv = {1, 1, 1, 1, 1, 1, 1, 1, 1}}, 3};
    run_case(&a);
    char n2[128], n3[128];
    snprintf(n2, sizeof n2, "conv2d/asym-groups-dil/%s", dn);
    tcase b = {n2, AX_OP_CONV2D, 3, {transposed(randn((int64_t[]){2, 4, 7, 6}, 4, dt)), randn((int64_t[]){6, 2, 3, 2}, 4, dt), randn((int64_t[]){6}, 1, dt)},
               {.iv = {2, 1, 1, 0, 2, 1, 1, 2, 2}}, 3};
    run_case(&b);
    snprintf(n3, sizeof n3, "conv_transpose2d/s2-outpad/%s", dn);
    tcase c = {n3, AX_OP_CONV_TRANSPOSE2D, 3, {randn((int64_t[]){2, 4, 5, 4}, 4, dt), randn((int64_t[]){4, 3, 3, 2}, 4, dt), randn((int64_t[]){3}, 1, dt)},
               {.iv = {2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0}}, 3};
    run_case(&c);
  }
  {   /* float32 convolution with TF32 allowed, against the exact CPU result */
    ax_tensor *x = randn((int64_t[]){4, 16, 12, 12}, 4, AX_FLOAT32), *w = randn((int64_t[]){32, 16, 3, 3}, 4, AX_FLOAT32);
    ax_attrs at = {.iv = {1, 1, 1, 1, 1, 1, 1, 1, 1}};
    for (int tf32 = 0; tf32 < 2; tf32++) {
      ax_set_float32_matmul_precision(tf32 ? AX_PRECISION_HIGH : AX_PRECISION_HIGHEST);
      double r = x && w ? tc_err_vs_f32(AX_OP_CONV2D, x, TCV_PLAIN, w, TCV_PLAIN, &at, AX_FLOAT32, &e) : -1;
      report("tensor-core", tf32 ? "conv2d/float32/tf32" : "conv2d/float32/highest", r, tf32 ? 1e-2 : 1e-6, e.msg);
      if (tf32 && CUDA0.type != AX_DEV_CPU && r >= 0)   /* cuDNN may still pick an FMA kernel: reported, not required */
        printf("tf32: normalised error of a float32 conv2d under \"high\": %.3g\n", r);
    }
    ax_set_float32_matmul_precision(AX_PRECISION_HIGHEST);
    ax_tensor_release(x);
    ax_tensor_release(w);
  }
  att_half_cases();   /* float16/bfloat16 attention: tensor-core forward and the float32 route */
#endif
  printf("tensor-core cases: %d checks\n", npass + nfail - before);
}
/* ==== end of the tensor-core paths ==== */

int main(int argc, char **argv) {
  const ax_backend *be;
  ax_err e;
#ifdef AX_TEST_CUDA_MODULE   /* this build tree's module, unless ANX_CUDA_MODULE names another */
  setenv("ANX_CUDA_MODULE", AX_TEST_CUDA_MODULE, 0);
#endif
  int self = argc > 1 && !strcmp(argv[1], "--cpu-self-check");
  if (self) CUDA0 = AX_CPU;
  if (ax_backend_get(CUDA0, &be, &e)) {
    /* no GPU is a SKIP; a module that does not load is a broken build (FAIL) */
    int nodev = strstr(e.msg, "no CUDA device available") != NULL;
    printf("%s: %s\n", nodev ? "SKIP" : "FAIL", e.msg);
    return nodev ? 77 : 1;
  }
  ax_seed(1234);
  all_cases(AX_FLOAT32);
  all_cases(AX_FLOAT64);
#ifdef TC_NN_ROWS
  inplace_cases(AX_FLOAT32);
  inplace_cases(AX_FLOAT64);
  random_cases(AX_FLOAT32);
  random_cases(AX_FLOAT64);
  amp_cases();
#endif
  tensor_core_cases();   /* #5: half-type GEMM and convolutions, CUBLAS_OP_T operands, TF32 */
  /* rows the table leaves empty: reported, so the gap stays visible */
  int empty = 0;
  for (int op = 0; op < AX_OP_COUNT && !self; op++)
    if (!ax_op_table[op].is_view && !ax_backend_kernels(CUDA0)->fn[op]) {
      printf("no CUDA kernel: %s\n", ax_op_name((ax_op)op));
      empty++;
    }
  ax_backend_mem m;
  if (be->mem_stats && !be->mem_stats(&m, &e))
    printf("device memory: %zu B in use, %zu B cached, peak %zu B, %llu cudaMalloc calls\n", m.in_use, m.cached, m.peak,
           (unsigned long long)m.raw_allocs);
  printf("test_cuda_ops: %d passed, %d failed, %d unsupported cases; %d rows without a CUDA kernel\n", npass, nfail, nunsup,
         empty);
  return nfail ? 1 : 0;
}
