/* tests/unit_runtime/test_errors.c — every failure is a status + message naming the op and the
** shapes; impossible allocations are AX_E_NOMEM; and a workload run with the N-th allocation
** failing (for every N, as Lua's memerr tests do) never crashes and leaks nothing. */
#include "rt_test.h"

static void test_messages(void) {
  ax_err err;
  ax_tensor *junk, *a, *b, *idx;
  int64_t big = 1000000000000LL;
  ERR(ax_zeros(&big, 1, AX_FLOAT32, &junk, &err), AX_E_NOMEM, "cannot allocate 4000000000000 bytes for tensor of shape [1000000000000]");
  ERR(ax_zeros(SHP(1LL << 40, 1LL << 40), AX_FLOAT32, &junk, &err), AX_E_LIMIT, "shape [1099511627776, 1099511627776] has too many elements");
  ERR(ax_zeros(SHP(3, -1), AX_FLOAT32, &junk, &err), AX_E_SHAPE, "negative size");
  ax_mem_set_limit(1 << 20);
  ERR(ax_ones(SHP(1 << 20), AX_FLOAT32, &junk, &err), AX_E_NOMEM, "out of memory");
  ax_mem_set_limit(0);
  OK(ax_randn(SHP(2, 3), AX_FLOAT32, &a, &e_));
  OK(ax_randn(SHP(4, 5), AX_FLOAT32, &b, &e_));
  ERR(ax_matmul(a, b, &junk, &err), AX_E_SHAPE, "matmul: shape mismatch [2, 3] @ [4, 5]");
  ERR(ax_sub(a, b, &junk, &err), AX_E_SHAPE, "sub: shapes [2, 3] and [4, 5] cannot be broadcast");
  ERR(ax_cat((ax_tensor *[]){a, b}, 2, 0, &junk, &err), AX_E_SHAPE, "cat: shapes [2, 3] and [4, 5] differ outside dim 0");
  ERR(ax_permute(a, SHP(0, 0), &junk, &err), AX_E_VALUE, "permute: dim 0 repeated");
  ERR(ax_sum(a, SHP(2), 0, &junk, &err), AX_E_INDEX, "sum: dim 2 out of range for 2-d tensor");
  ERR(ax_expand(a, SHP(4, 3), &junk, &err), AX_E_SHAPE, "expand: cannot expand [2, 3] to [4, 3]");
  const ax_backend *cuda_be;   /* no GPU: "cuda: no CUDA device available (...)"; no backend: "cuda:0: not available" */
  if (ax_backend_get((ax_device){AX_DEV_CUDA, 0}, &cuda_be, &err))
    ERR(ax_to(a, (ax_device){AX_DEV_CUDA, 0}, &junk, &err), AX_E_DEVICE, "available");
  ax_device d;
  ERR(ax_device_parse("tpu", &d, &err), AX_E_VALUE, "unknown device 'tpu'");
  OK(ax_tensor_from_i64((int64_t[]){0, 5}, SHP(1, 2), AX_INT64, &idx, &e_));
  ERR(ax_gather(a, 1, idx, &junk, &err), AX_E_INDEX, "gather: index 5 is out of bounds for size 3");
  ERR(ax_gather(a, 1, a, &junk, &err), AX_E_DTYPE, "gather: index must be an int64 tensor, got float32");
  ERR(ax_where(a, a, a, &junk, &err), AX_E_DTYPE, "where: condition must be a bool tensor, got float32");
  ax_tensor *bl;
  OK(ax_gt(a, a, &bl, &e_));
  ERR(ax_neg(bl, &junk, &err), AX_E_DTYPE, "neg: not supported for bool tensors");
  ERR(ax_op_call(AX_OP_ADD, &a, 1, NULL, &junk, &err), AX_E_VALUE, "add: expects 2 input tensors, got 1");
  ERR(ax_randint(5, 5, SHP(3), AX_INT64, &junk, &err), AX_E_VALUE, "randint: high (5) must be greater than low (5)");
  ax_tensor *empty = rt_vals(NULL, SHP(0, 3), AX_FLOAT32);
  ERR(ax_max_dim(empty, 0, 0, &junk, &junk, &err), AX_E_VALUE, "cannot reduce over an empty dimension");
  ax_tensor_release(empty);
  ERR(ax_rand(SHP(3), AX_INT64, &junk, &err), AX_E_DTYPE, "rand: dtype must be a floating point type");
  ERR(ax_view(a, SHP(7), &junk, &err), AX_E_SHAPE, "view: shape [7] is invalid for input of shape [2, 3]");
  ERR(ax_narrow(a, 1, 2, 5, &junk, &err), AX_E_INDEX, "narrow: range [2, 7) out of bounds");
  ax_tensor_release(a);
  ax_tensor_release(b);
  ax_tensor_release(idx);
  ax_tensor_release(bl);
}

/* A small training-like step touching most subsystems; returns the first error. */
#define STEP(call) do { if ((s = (call))) goto done; } while (0)
static ax_status workload(ax_err *err) {
  ax_tensor *t[24] = {0};
  ax_status s = AX_OK;
  char *str = NULL;
  ax_seed(1);
  STEP(ax_randn(SHP(8, 16), AX_FLOAT32, &t[0], err));
  STEP(ax_randn(SHP(16, 4), AX_FLOAT32, &t[1], err));
  STEP(ax_param(t[1], &t[2], err));
  STEP(ax_matmul(t[0], t[2], &t[3], err));
  STEP(ax_relu(t[3], &t[4], err));
  STEP(ax_log_softmax(t[4], -1, &t[5], err));
  STEP(ax_tensor_from_i64((int64_t[]){0, 1, 2, 3, 0, 1, 2, 3}, SHP(8, 1), AX_INT64, &t[6], err));
  STEP(ax_gather(t[5], 1, t[6], &t[7], err));
  STEP(ax_mean(t[7], NULL, 0, 0, &t[8], err));
  STEP(ax_neg(t[8], &t[9], err));
  STEP(ax_backward(t[9], NULL, err));
  STEP(ax_cat((ax_tensor *[]){t[3], t[4]}, 2, 0, &t[10], err));
  STEP(ax_transpose(t[10], 0, 1, &t[11], err));
  STEP(ax_contiguous(t[11], &t[12], err));
  STEP(ax_var(t[12], SHP(1), 1, 1, &t[13], err));
  STEP(ax_tensor_to_string(t[13], &str, err));
  STEP(ax_reshape(t[6], SHP(8), &t[19], err));
  STEP(ax_index_select(t[0], 0, t[19], &t[14], err));
  STEP(ax_cumsum(t[14], 1, &t[15], err));
  STEP(ax_cast(t[15], AX_FLOAT16, &t[16], err));
  STEP(ax_arange(0, 100000, 1, AX_FLOAT32, &t[17], err));   /* big enough for the pool */
  STEP(ax_exp(t[17], &t[18], err));
done:
  ax_str_free(str);
  for (int i = 0; i < 24; i++) ax_tensor_release(t[i]);
  return s;
}

static void test_alloc_failures(void) {
  ax_err err;
  ax_cpu_cache_clear();
  size_t base = ax_mem_live();
  ax_status s0 = workload(&err);
  CHECK(s0 == AX_OK);
  if (s0) printf("workload: %s\n", err.msg);
  int n = 1, nomem = 0;
  for (; n < 100000; n++) {
    ax_cpu_cache_clear();
    ax_mem_fail_at((uint64_t)n);
    ax_status s = workload(&err);
    int fired = ax_mem_injected_failure();
    ax_mem_fail_at(0);
    if (!fired) {
      CHECK(s == AX_OK);
      break;
    }
    if (s != AX_OK) {
      nomem++;
      if (s != AX_E_NOMEM) { rt_fail++; printf("failure %d: status %d (%s), expected NOMEM\n", n, (int)s, err.msg); }
    }
    ax_cpu_cache_clear();
    if (ax_mem_live() != base) {
      rt_fail++;
      printf("failure at allocation %d leaked %zu bytes (%s)\n", n, ax_mem_live() - base, err.msg);
      break;
    }
  }
  rt_checks++;
  printf("allocation failure injection: %d allocations, %d reported out of memory\n", n - 1, nomem);
  CHECK(n > 10 && nomem > 10);
}

int main(void) {
  test_messages();
  test_alloc_failures();
  ax_cpu_cache_clear();
  CHECK(ax_mem_live() == 0);
  return RT_DONE();
}
