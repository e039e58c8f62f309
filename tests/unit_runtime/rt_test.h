/* tests/unit_runtime/rt_test.h — tiny check macros and tensor helpers for the runtime C tests.
** Each test program returns nonzero when any CHECK failed and prints every failure. */
#ifndef RT_TEST_H
#define RT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_mem.h"
#include "ax_ops.h"

static int rt_fail, rt_checks;
#define CHECK(c) do { rt_checks++; if (!(c)) { rt_fail++; printf("%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)
#define OK(call) do { ax_err e_; rt_checks++; ax_status s_ = (call); if (s_) { rt_fail++; \
    printf("%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, e_.msg); } } while (0)
/* Expect an error of code `code` whose message contains `frag`. */
#define ERR(call, code, frag) do { rt_checks++; ax_status s_ = (call); \
    if (s_ != (code) || !strstr(err.msg, frag)) { rt_fail++; \
      printf("%s:%d: %s: got status %d msg '%s', expected %d containing '%s'\n", __FILE__, __LINE__, #call, \
             (int)s_, s_ ? err.msg : "", (int)(code), frag); } } while (0)
#define SHP(...) (int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define RT_DONE() (printf("%d checks, %d failures\n", rt_checks, rt_fail), fflush(stdout), rt_fail ? 1 : 0)

static inline ax_tensor *rt_vals(const double *v, const int64_t *shape, int nd, ax_dtype dt) {
  ax_tensor *t = NULL;
  ax_err e;
  if (ax_tensor_from_f64(v, shape, nd, dt, &t, &e)) printf("rt_vals: %s\n", e.msg);
  return t;
}

static inline ax_tensor *rt_arange(double n, ax_dtype dt) {
  ax_tensor *t = NULL;
  ax_err e;
  if (ax_arange(0, n, 1, dt, &t, &e)) printf("rt_arange: %s\n", e.msg);
  return t;
}

static inline double rt_at(const ax_tensor *t, int64_t i0, int64_t i1, int64_t i2) {
  int64_t idx[AX_MAX_DIMS] = {i0, i1, i2};
  return ax_get_f64(t, idx);
}

static inline int rt_str_is(const ax_tensor *t, const char *want) {
  char *s = NULL;
  ax_err e;
  if (ax_tensor_to_string(t, &s, &e)) { printf("format: %s\n", e.msg); return 0; }
  int ok = !strcmp(s, want);
  if (!ok) printf("--- got:\n%s\n--- expected:\n%s\n", s, want);
  ax_str_free(s);
  return ok;
}

#endif
