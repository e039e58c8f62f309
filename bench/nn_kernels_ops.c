/* bench/nn_kernels_ops.c — per-op timings of the non-conv kernels at the training issue's sizes
** (char transformer d=128, 4 heads, seq 64, batch 32; CNN/MLP batch 64), forward + backward.
** Prints "name ms" lines; bench/nn_kernels_ops.sh puts them next to PyTorch's. Not in ctest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ax_nn_kernels.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rnd(size_t n) {
  float *p = malloc(n * sizeof *p);
  uint32_t s = 777;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
  }
  return p;
}

/* CPU seconds of the process (all threads): robust to other processes on the cores */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* prints "name wall_ms cpu_ms", each the best of 3 repetitions */
#define TIME(name, iters, body)                                        \
  do {                                                                 \
    double best_ = 1e30, bcpu_ = 1e30;                                 \
    for (int rep_ = 0; rep_ < 3; rep_++) {                             \
      for (int w_ = 0; w_ < 2; w_++) { body; }                         \
      double t0_ = now(), c0_ = cpu_now();                             \
      for (int it_ = 0; it_ < (iters); it_++) { body; }                \
      double t_ = (now() - t0_) / (iters), c_ = (cpu_now() - c0_) / (iters); \
      if (t_ < best_) best_ = t_;                                      \
      if (c_ < bcpu_) bcpu_ = c_;                                      \
    }                                                                  \
    printf("%s %.4f %.4f\n", name, 1e3 * best_, 1e3 * bcpu_);          \
  } while (0)

int main(int argc, char **argv) {
  if (argc > 1) ax_nn_set_num_threads(atoi(argv[1]));
  ax_err e;
  /* attention: [32, 4, 64, 32], causal */
  ax_nn_attention_desc a = {.b = 32, .h = 4, .t = 64, .s = 64, .d = 32, .dv = 32, .scale = 1 / sqrt(32.0), .causal = 1};
  size_t na = 32 * 4 * 64 * 32;
  float *q = rnd(na), *k = rnd(na), *v = rnd(na), *o = rnd(na), *lse = rnd(32 * 4 * 64), *dout = rnd(na);
  float *dq = rnd(na), *dk = rnd(na), *dv = rnd(na);
  TIME("attention_fwd_bwd", 20, {
    ax_nn_attention_fwd_f32(&a, q, k, v, NULL, o, lse, &e);
    ax_nn_attention_bwd_f32(&a, q, k, v, NULL, o, lse, dout, dq, dk, dv, &e);
  });
  /* layer_norm: [2048, 128] */
  float *x = rnd(2048 * 128), *y = rnd(2048 * 128), *g = rnd(128), *b = rnd(128), *mu = rnd(2048);
  float *rs = rnd(2048), *dy = rnd(2048 * 128), *dx = rnd(2048 * 128), *dg = rnd(128), *db = rnd(128);
  TIME("layer_norm_fwd_bwd", 50, {
    ax_nn_layer_norm_fwd_f32(2048, 128, x, g, b, 1e-5, y, mu, rs, &e);
    ax_nn_layer_norm_bwd_f32(2048, 128, x, dy, g, mu, rs, dx, dg, db, &e);
  });
  /* cross_entropy: [2048, 65] */
  int64_t *t = malloc(2048 * sizeof *t);
  for (int i = 0; i < 2048; i++) t[i] = (i * 7) % 65;
  float loss, one = 1, *lg = rnd(2048 * 65), *dl = rnd(2048 * 65), *ls = rnd(2048);
  TIME("cross_entropy_fwd_bwd", 50, {
    ax_nn_cross_entropy_fwd_f32(2048, 65, lg, t, NULL, -100, 0, AX_NN_REDUCE_MEAN, &loss, ls, &e);
    ax_nn_cross_entropy_bwd_f32(2048, 65, lg, t, NULL, -100, 0, AX_NN_REDUCE_MEAN, ls, &one, dl, &e);
  });
  /* adam over the MLP's 235k parameters */
  size_t np = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
  float *p = rnd(np), *gr = rnd(np), *m = calloc(np, 4), *vv = calloc(np, 4);
  ax_nn_adam_cfg cfg = {1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 0};
  int64_t step = 1;
  TIME("adam_step_235k", 50, { ax_nn_adam_step_f32(&cfg, (int64_t)np, p, gr, m, vv, NULL, step++, &e); });
  /* batch_norm: [64, 32, 28*28] */
  size_t nb = 64 * 32 * 784;
  float *bx = rnd(nb), *by = rnd(nb), *bdy = rnd(nb), *bdx = rnd(nb), *bg = rnd(32), *bb = rnd(32);
  float *bm = rnd(32), *bs = rnd(32), *rm = calloc(32, 4), *rv = calloc(32, 4), *bdg = rnd(32), *bdb = rnd(32);
  TIME("batch_norm_fwd_bwd", 20, {
    ax_nn_batch_norm_fwd_train_f32(64, 32, 784, bx, bg, bb, 1e-5, 0.1, rm, rv, by, bm, bs, &e);
    ax_nn_batch_norm_bwd_f32(64, 32, 784, bx, bdy, bg, bm, bs, bdx, bdg, bdb, &e);
  });
  /* embedding: vocab 65, dim 128, 2048 ids */
  float *ew = rnd(65 * 128), *ey = rnd(2048 * 128), *edw = rnd(65 * 128);
  TIME("embedding_fwd_bwd", 50, {
    ax_nn_embedding_fwd_f32(65, 128, 2048, ew, t, ey, &e);
    ax_nn_embedding_bwd_f32(65, 128, 2048, t, dy, -1, edw, &e);
  });
  return 0;
}
