/* bench/nn_kernels.c — times the conv/pool layers of the training issue's CNN (batch 64,
** [64,1,28,28] -> conv3x3 1->32 pad 1 -> relu -> maxpool 2 -> conv3x3 32->64 pad 1 -> relu ->
** maxpool 2), forward + backward, with the raw kernels. Not part of ctest (bench/nn_kernels.sh). */
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

/* CPU seconds of the whole process (all threads): robust to other processes on the cores */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rnd(size_t n, float scale) {
  float *p = malloc(n * sizeof *p);
  uint32_t s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = scale * ((float)(s >> 8) / 16777216.0f - 0.5f);
  }
  return p;
}

static void relu_fwd(float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = y[i] > 0 ? y[i] : 0;
}
static void relu_bwd(const float *y, float *d, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = y[i] > 0 ? d[i] : 0;
}

#define OK(call)                                                 \
  do {                                                           \
    if ((call) != AX_OK) {                                       \
      fprintf(stderr, "%s failed: %s\n", #call, e.msg);          \
      return 1;                                                  \
    }                                                            \
  } while (0)

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 30;
  if (argc > 2) ax_nn_set_num_threads(atoi(argv[2]));   /* default: the CPU affinity mask */
  const int64_t N = 64;
  ax_err e = {0};
  ax_nn_conv2d_desc c1 = {N, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ax_nn_conv2d_desc c2 = {N, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ax_nn_pool2d_desc p1 = {N, 32, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, 0, 1};
  ax_nn_pool2d_desc p2 = {N, 64, 14, 14, 2, 2, 2, 2, 0, 0, 1, 1, 0, 1};
  float *x = rnd(N * 784, 2), *w1 = rnd(32 * 9, 0.6f), *b1 = rnd(32, 0.1f);
  float *w2 = rnd(64 * 32 * 9, 0.1f), *b2 = rnd(64, 0.1f);
  size_t n1 = N * 32 * 784, n1p = N * 32 * 196, n2 = N * 64 * 196, n2p = N * 64 * 49;
  float *y1 = malloc(n1 * 4), *z1 = malloc(n1p * 4), *y2 = malloc(n2 * 4), *z2 = malloc(n2p * 4);
  int64_t *i1 = malloc(n1p * 8), *i2 = malloc(n2p * 8);
  float *dz2 = rnd(n2p, 0.01f), *dy2 = malloc(n2 * 4), *dz1 = malloc(n1p * 4), *dy1 = malloc(n1 * 4);
  float *dw1 = malloc(32 * 9 * 4), *db1 = malloc(32 * 4), *dw2 = malloc(64 * 288 * 4), *db2 = malloc(64 * 4);
  double t_fwd = 0, t_bwd = 0, best = 1e30, best_cpu = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double tf = 0, tb = 0, c0 = 0;
    for (int it = -3; it < iters; it++) {
      if (it == 0) c0 = cpu_now();
      double t0 = now();
      OK(ax_nn_conv2d_fwd_f32(&c1, x, w1, b1, y1, &e));
      relu_fwd(y1, n1);
      OK(ax_nn_max_pool2d_fwd_f32(&p1, y1, z1, i1, &e));
      OK(ax_nn_conv2d_fwd_f32(&c2, z1, w2, b2, y2, &e));
      relu_fwd(y2, n2);
      OK(ax_nn_max_pool2d_fwd_f32(&p2, y2, z2, i2, &e));
      double t1 = now();
      OK(ax_nn_max_pool2d_bwd_f32(&p2, dz2, i2, dy2, &e));
      relu_bwd(y2, dy2, n2);
      OK(ax_nn_conv2d_bwd_f32(&c2, z1, w2, dy2, dz1, dw2, db2, &e));
      OK(ax_nn_max_pool2d_bwd_f32(&p1, dz1, i1, dy1, &e));
      relu_bwd(y1, dy1, n1);
      OK(ax_nn_conv2d_bwd_f32(&c1, x, w1, dy1, NULL, dw1, db1, &e));
      double t2 = now();
      if (it >= 0) tf += t1 - t0, tb += t2 - t1;
    }
    const double cpu = cpu_now() - c0;
    if (cpu < best_cpu) best_cpu = cpu;
    if (tf + tb < best) best = tf + tb, t_fwd = tf, t_bwd = tb;
  }
  printf("anx_fwd_ms=%.3f anx_bwd_ms=%.3f anx_ms=%.3f anx_cpu_ms=%.3f threads=%d checksum=%.6g\n",
         1e3 * t_fwd / iters, 1e3 * t_bwd / iters, 1e3 * best / iters, 1e3 * best_cpu / iters,
         ax_nn_num_threads(),
         (double)dw1[0] + (double)dw2[5] + (double)z2[7]);
  return 0;
}
