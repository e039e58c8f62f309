/* tests/unit_nn/test_nn.h — shared harness of the neural-kernel tests: checks, random data,
** comparisons and the central-difference gradient check.
** Invariant: every reference is float64 and written plainly (direct loops); helpers never abort. */
#ifndef TEST_NN_H
#define TEST_NN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ax_nn_kernels.h"

extern int tn_failures;
extern int64_t tn_gradcheck_max;   /* elements checked per buffer at most (expensive references) */
#define CHECK(c)                                                                   \
  do {                                                                             \
    if (!(c)) {                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);       \
      tn_failures++;                                                               \
    }                                                                              \
  } while (0)
#define CHECK_OK(st, e)                                                            \
  do {                                                                             \
    ax_status st_ = (st);                                                          \
    if (st_ != AX_OK) {                                                            \
      fprintf(stderr, "%s:%d: status %d: %s\n", __FILE__, __LINE__, (int)st_, (e)->msg); \
      tn_failures++;                                                               \
    }                                                                              \
  } while (0)

double tn_rand(void);                          /* uniform in [-1, 1), fixed seed */
void tn_seed(uint64_t s);
double *tn_randv(int64_t n);                   /* malloc'd random vector */
double *tn_zeros(int64_t n);
float *tn_to_f32(const double *x, int64_t n);  /* malloc'd copy */
/* max |a-b| / (atol + rtol*|b|) style comparison; prints the worst element on failure */
int tn_close(const char *what, const double *a, const double *b, int64_t n, double atol,
             double rtol);
int tn_close_f32(const char *what, const float *a, const double *b, int64_t n, double atol,
                 double rtol);
/* Central differences of L = sum(out * r) with respect to every element of buf (h = 1e-6),
** compared with analytic[]; fwd recomputes out (nout elements) from the current inputs. */
typedef void (*tn_fwd_fn)(void *ctx, double *out);
int tn_gradcheck(const char *what, tn_fwd_fn fwd, void *ctx, double *buf, int64_t nbuf,
                 const double *analytic, const double *r, int64_t nout);
/* Contains: returns 1 when msg contains needle, else reports */
int tn_msg_has(const char *msg, const char *needle);
/* Reads a file of little-endian float64 values written by gen_ref.py (NULL on failure). */
double *tn_read_ref(const char *name, int64_t *count);

void test_conv(void);
void test_conv3d(void);
void test_pool(void);
void test_norm(void);
void test_loss(void);
void test_embedding(void);
void test_optim(void);
void test_attention(void);
void test_rnn(void);
void test_torch_ref(void);

#endif
