/* tests/unit_nn/test_nn.c — the unit/nn test executable: harness helpers and main.
** Every kernel is checked against a naive float64 reference and, for backward kernels, by central
** differences in float64; see test_<family>.c. Invariant: exit status 0 iff no check failed. */
#include "test_nn.h"

int tn_failures;
int64_t tn_gradcheck_max = 2000;
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
const char *tn_data_dir = TN_DATA_DIR;

void tn_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }

double tn_rand(void) {
  /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

double *tn_randv(int64_t n) {
  double *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
  for (int64_t i = 0; i < n; i++) p[i] = tn_rand();
  return p;
}

double *tn_zeros(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }

float *tn_to_f32(const double *x, int64_t n) {
  float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
  for (int64_t i = 0; i < n; i++) p[i] = (float)x[i];
  return p;
}

int tn_close(const char *what, const double *a, const double *b, int64_t n, double atol,
             double rtol) {
  int64_t worst = -1;
  double wr = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(a[i] - b[i]), lim = atol + rtol * fabs(b[i]);
    if (isnan(a[i]) != isnan(b[i]) || (!isnan(b[i]) && (d > lim || isnan(d)))) {
      if (isinf(a[i]) && isinf(b[i]) && a[i] == b[i]) continue;
      double r = isnan(d) ? INFINITY : d / lim;
      if (worst < 0 || r > wr) { worst = i; wr = r; }
    }
  }
  if (worst >= 0) {
    fprintf(stderr, "  %s: element %lld: got %.12g, expected %.12g (atol %g, rtol %g)\n", what,
            (long long)worst, a[worst], b[worst], atol, rtol);
    tn_failures++;
    return 0;
  }
  return 1;
}

int tn_close_f32(const char *what, const float *a, const double *b, int64_t n, double atol,
                 double rtol) {
  double *ad = malloc((size_t)(n > 0 ? n : 1) * sizeof *ad);
  for (int64_t i = 0; i < n; i++) ad[i] = a[i];
  int ok = tn_close(what, ad, b, n, atol, rtol);
  free(ad);
  return ok;
}

int tn_gradcheck(const char *what, tn_fwd_fn fwd, void *ctx, double *buf, int64_t nbuf,
                 const double *analytic, const double *r, int64_t nout) {
  const double h = 1e-6;
  double *out = malloc((size_t)nout * sizeof *out);
  double *num = malloc((size_t)(nbuf > 0 ? nbuf : 1) * sizeof *num);
  double *ana = malloc((size_t)(nbuf > 0 ? nbuf : 1) * sizeof *ana);
  /* big cases: check a strided subset (at most ~2000 elements, ~1e7 output reads) */
  int64_t stride = nbuf * nout / 10000000 + 1, nchk = 0;
  if (nbuf / tn_gradcheck_max + 1 > stride) stride = nbuf / tn_gradcheck_max + 1;
  for (int64_t i = 0; i < nbuf; i += stride) {
    double keep = buf[i], lp = 0, lm = 0;
    buf[i] = keep + h;
    fwd(ctx, out);
    for (int64_t j = 0; j < nout; j++) lp += out[j] * r[j];
    buf[i] = keep - h;
    fwd(ctx, out);
    for (int64_t j = 0; j < nout; j++) lm += out[j] * r[j];
    buf[i] = keep;
    num[nchk] = (lp - lm) / (2 * h);
    ana[nchk++] = analytic[i];
  }
  char name[160];
  snprintf(name, sizeof name, "gradcheck %s", what);
  int ok = tn_close(name, ana, num, nchk, 1e-6, 1e-5);
  free(out);
  free(num);
  free(ana);
  return ok;
}

int tn_msg_has(const char *msg, const char *needle) {
  if (strstr(msg, needle)) return 1;
  fprintf(stderr, "  message '%s' lacks '%s'\n", msg, needle);
  tn_failures++;
  return 0;
}

double *tn_read_ref(const char *name, int64_t *count) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", tn_data_dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "  cannot open reference file %s\n", path);
    tn_failures++;
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  double *p = malloc((size_t)(sz > 0 ? sz : 8));
  size_t got = fread(p, 1, (size_t)sz, f);
  fclose(f);
  if (got != (size_t)sz || sz % 8) {
    fprintf(stderr, "  short reference file %s\n", path);
    tn_failures++;
    free(p);
    return NULL;
  }
  *count = sz / 8;
  return p;
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : NULL;
  struct { const char *name; void (*fn)(void); } tests[] = {
      {"conv", test_conv},
      {"conv3d", test_conv3d},
      {"pool", test_pool},
      {"norm", test_norm},
      {"loss", test_loss},
      {"optim", test_optim},
      {"attention", test_attention},
      {"rnn", test_rnn},
      {"torch", test_torch_ref},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    if (only && strcmp(only, tests[i].name)) continue;
    int before = tn_failures;
    tn_seed(i + 1);
    tests[i].fn();
    printf("%-10s %s\n", tests[i].name, tn_failures == before ? "ok" : "FAILED");
  }
  if (tn_failures) printf("%d check(s) failed\n", tn_failures);
  return tn_failures ? 1 : 0;
}
