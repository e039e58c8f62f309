/* tests/unit_runtime/test_gemm.c — matmul against a float64 triple loop on shapes big enough for
** cpu_matmul to cut the GEMM into row or column blocks over the pool (and small ones that are
** not cut), with transposed operands (BLAS "trans", no copy), batched and folded batches. */
#include "rt_test.h"

static double *rnd(int64_t n, unsigned *seed) {
  double *v = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    v[i] = ((*seed >> 9) % 2001) / 1000.0 - 1.0;
  }
  return v;
}

/* a [B?, M, K] (stored transposed when ta) @ b [B?, K, N] (or [K, N] when fold) */
static void check(int64_t B, int64_t M, int64_t N, int64_t K, int ta, int tb, int fold, ax_dtype dt) {
  unsigned seed = (unsigned)(M * 131 + N * 7 + K + ta * 3 + tb * 5 + fold * 11 + B);
  int64_t nb = B ? B : 1, nbb = fold ? 1 : nb;
  double *av = rnd(nb * M * K, &seed), *bv = rnd(nbb * K * N, &seed);
  /* a stored as [.., K, M] and transposed back when ta (likewise b) */
  int64_t ash[3], bsh[3];
  int and_ = 0, bnd = 0;
  if (B) ash[and_++] = B;
  ash[and_++] = ta ? K : M;
  ash[and_++] = ta ? M : K;
  if (B && !fold) bsh[bnd++] = B;
  bsh[bnd++] = tb ? N : K;
  bsh[bnd++] = tb ? K : N;
  ax_tensor *a = rt_vals(av, ash, and_, dt), *b = rt_vals(bv, bsh, bnd, dt), *at = a, *bt = b, *c = NULL;
  if (ta) OK(ax_transpose(a, -1, -2, &at, &e_));
  if (tb) OK(ax_transpose(b, -1, -2, &bt, &e_));
  ax_tensor *in[2] = {at, bt};
  OK(ax_op_call(AX_OP_MATMUL, in, 2, NULL, &c, &e_));
  double worst = 0;
  if (c) {
    double *cv = malloc(sizeof(double) * (size_t)(nb * M * N));
    OK(ax_to_f64_buffer(c, cv, &e_));
    for (int64_t q = 0; q < nb; q++)
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          double s = 0;
          for (int64_t k = 0; k < K; k++) {
            double x = ta ? av[q * M * K + k * M + i] : av[q * M * K + i * K + k];
            int64_t bo = fold ? 0 : q * K * N;
            double y = tb ? bv[bo + j * K + k] : bv[bo + k * N + j];
            s += x * y;
          }
          double d = fabs(cv[q * M * N + i * N + j] - s) / (1.0 + fabs(s));
          if (d > worst) worst = d;
        }
    free(cv);
  }
  double tol = (dt == AX_FLOAT64 ? 1e-14 : 2e-6) * sqrt((double)K);   /* float32 accumulates over K */
  CHECK(c && worst <= tol);
  if (!(c && worst <= tol))
    printf("  B=%lld M=%lld N=%lld K=%lld ta=%d tb=%d fold=%d %s: worst %.3g\n", (long long)B, (long long)M,
           (long long)N, (long long)K, ta, tb, fold, ax_dtype_name(dt), worst);
  if (at != a) ax_tensor_release(at);
  if (bt != b) ax_tensor_release(bt);
  ax_tensor_release(a);
  ax_tensor_release(b);
  ax_tensor_release(c);
  free(av);
  free(bv);
}

int main(void) {
  static const int64_t shapes[][3] = {
      {64, 256, 784}, {64, 784, 256}, {784, 256, 64},   /* an MLP layer's three GEMMs */
      {200, 33, 150}, {33, 200, 150}, {47, 301, 97},    /* split sizes that are not multiples of 16 */
      {5, 7, 3}, {1, 1, 1}, {16, 16, 16},              /* too small to split */
  };
  ax_dtype dts[2] = {AX_FLOAT32, AX_FLOAT64};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (int d = 0; d < 2; d++) check(0, shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, 0, dts[d]);
  for (int d = 0; d < 2; d++) {
    check(6, 64, 64, 32, 0, 1, 0, dts[d]);    /* attention-like batched GEMMs over the pool */
    check(6, 64, 32, 64, 0, 0, 0, dts[d]);
    check(3, 100, 120, 80, 1, 0, 0, dts[d]);
    check(4, 64, 128, 96, 0, 0, 1, dts[d]);   /* [B, M, K] @ [K, N] folds into one GEMM */
    check(4, 64, 128, 96, 0, 1, 1, dts[d]);
  }
  return RT_DONE();
}
