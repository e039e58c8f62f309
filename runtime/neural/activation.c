/* runtime/neural/activation.c — activation backward in one pass: dx = dy * f'(x) for relu, gelu
** (the erf form) and silu. The autograd rules composed these from 2 (relu) to 11 (gelu) whole-tensor
** ops, each with its own temporary; in the char transformer that was a fifth of the step. */
#include "nn_internal.h"

#include "cpu/cpu.h"

typedef struct {
  int kind;
  const void *x, *dy;
  void *dx;
} act_ctx;

#define ACT_BWD_LOOP(T, ERF, EXP)                                                  \
  do {                                                                            \
    const act_ctx *c = ctx;                                                       \
    const T *x = c->x, *dy = c->dy;                                               \
    T *dx = c->dx;                                                                \
    switch (c->kind) {                                                            \
    case AX_NN_ACT_RELU:                                                          \
      for (int64_t i = b; i < e; i++) dx[i] = x[i] > 0 ? dy[i] : (T)0;            \
      break;                                                                      \
    case AX_NN_ACT_GELU:                                                          \
      for (int64_t i = b; i < e; i++) {                                           \
        T v = x[i];                                                               \
        T cdf = (T)0.5 * ((T)1 + ERF(v * (T)0.70710678118654752));                \
        T pdf = (T)0.3989422804014327 * EXP((T)-0.5 * v * v);                    \
        dx[i] = dy[i] * (cdf + v * pdf);                                          \
      }                                                                           \
      break;                                                                      \
    default:                                                                      \
      for (int64_t i = b; i < e; i++) {                                           \
        T v = x[i], sg = (T)1 / ((T)1 + EXP(-v));                                 \
        dx[i] = dy[i] * sg * ((T)1 + v * ((T)1 - sg));                            \
      }                                                                           \
    }                                                                             \
  } while (0)

NN_HOT static void act_bwd_f32_task(void *ctx, int tid, int64_t b, int64_t e) {
  (void)tid;
  ACT_BWD_LOOP(float, cpu_verff, cpu_vexpf);
}

static void act_bwd_f64_task(void *ctx, int tid, int64_t b, int64_t e) {
  (void)tid;
  ACT_BWD_LOOP(double, erf, exp);
}

/* ~32K elements per thread at least: below that waking the pool costs more than the pass */
static int act_threads(int64_t n) { return nn_threads_for(n, (int64_t)1 << 15); }

void ax_nn_act_bwd_f32(int kind, int64_t n, const float *x, const float *dy, float *dx) {
  act_ctx c = {kind, x, dy, dx};
  nn_parallel_for(n, act_threads(n), act_bwd_f32_task, &c);
}

void ax_nn_act_bwd_f64(int kind, int64_t n, const double *x, const double *dy, double *dx) {
  act_ctx c = {kind, x, dy, dx};
  nn_parallel_for(n, act_threads(n), act_bwd_f64_task, &c);
}
