/* tests/unit_runtime/test_print.c — tensor repr vs strings printed by PyTorch 1.13, anx dtype names.
** Intended difference (LANGUAGE.md section 3): integral floats print as 1.0000, not "1."
** (ax_print_set_int_mode(1) restores PyTorch's form; checked too). */
#include "rt_test.h"

static ax_tensor *V(const double *v, const int64_t *shape, int nd, ax_dtype dt) { return rt_vals(v, shape, nd, dt); }

static ax_tensor *scaled_arange(double n, double div, const int64_t *shape, int nd) {
  ax_tensor *a = rt_arange(n, AX_FLOAT32), *d, *s, *r;
  ax_err e;
  ax_scalar_f64(div, &d, &e);
  ax_div(a, d, &s, &e);
  ax_reshape(s, shape, nd, &r, &e);
  ax_tensor_release(a);
  ax_tensor_release(d);
  ax_tensor_release(s);
  return r;
}

#define PR(t, want) do { ax_tensor *t_ = (t); rt_checks++; if (!rt_str_is(t_, want)) { rt_fail++; printf("  at line %d\n", __LINE__); } ax_tensor_release(t_); } while (0)

int main(void) {
  ax_err err;
  PR(V((double[]){1, 2, 3, 4}, SHP(2, 2), AX_FLOAT32), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])");
  PR(V((double[]){1.5, 2.25, 3, -4.125}, SHP(2, 2), AX_FLOAT32), "tensor([[ 1.5000,  2.2500],\n        [ 3.0000, -4.1250]])");
  PR(V((double[]){0.5, -1.25, 3}, SHP(3), AX_FLOAT32), "tensor([ 0.5000, -1.2500,  3.0000])");
  PR(V((double[]){1e-5, 1, 123456}, SHP(3), AX_FLOAT32), "tensor([1.0000e-05, 1.0000e+00, 1.2346e+05])");
  PR(V((double[]){1e9, 2.5}, SHP(2), AX_FLOAT32), "tensor([1.0000e+09, 2.5000e+00])");
  PR(V((double[]){1, -20, 300, 4}, SHP(2, 2), AX_INT64), "tensor([[  1, -20],\n        [300,   4]])");
  PR(V((double[]){1, 2, 3}, SHP(3), AX_INT32), "tensor([1, 2, 3], dtype=int32)");
  PR(V((double[]){0.1, 0.2}, SHP(2), AX_FLOAT64), "tensor([0.1000, 0.2000], dtype=float64)");
  PR(V((double[]){1, 0, 1}, SHP(3), AX_BOOL), "tensor([ True, False,  True])");
  PR(V((double[]){3.14159}, NULL, 0, AX_FLOAT32), "tensor(3.1416)");
  PR(V((double[]){7}, NULL, 0, AX_INT64), "tensor(7)");
  PR(V(NULL, SHP(0), AX_FLOAT32), "tensor([])");
  PR(V(NULL, SHP(0, 3), AX_FLOAT32), "tensor([], size=(0, 3))");
  PR(V(NULL, SHP(0), AX_INT64), "tensor([], dtype=int64)");
  PR(V((double[]){NAN, 1.5, INFINITY, -INFINITY}, SHP(4), AX_FLOAT32), "tensor([   nan, 1.5000,    inf,   -inf])");
  PR(V((double[]){1.5, 2.25}, SHP(2), AX_FLOAT16), "tensor([1.5000, 2.2500], dtype=float16)");
  PR(V((double[]){1, 255}, SHP(2), AX_UINT8), "tensor([  1, 255], dtype=uint8)");
  PR(V((double[]){-0.0, 0.0, 1.25}, SHP(3), AX_FLOAT32), "tensor([-0.0000, 0.0000, 1.2500])");
  PR(V((double[]){0.001, 0.5}, SHP(2), AX_FLOAT32), "tensor([0.0010, 0.5000])");
  PR(scaled_arange(12, 4, SHP(2, 2, 3)),
     "tensor([[[0.0000, 0.2500, 0.5000],\n         [0.7500, 1.0000, 1.2500]],\n\n"
     "        [[1.5000, 1.7500, 2.0000],\n         [2.2500, 2.5000, 2.7500]]])");
  PR(scaled_arange(30, 3, SHP(30)),
     "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n"
     "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n"
     "        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n"
     "        9.0000, 9.3333, 9.6667])");
  /* summarised: > 1000 elements, 3 edge items, formatter sized on the printed items only */
  PR(scaled_arange(2000, 7, SHP(2000)),
     "tensor([0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 2.8529e+02, 2.8543e+02,\n        2.8557e+02])");
  PR(scaled_arange(1200, 3, SHP(24, 50)),
     "tensor([[0.0000e+00, 3.3333e-01, 6.6667e-01,  ..., 1.5667e+01, 1.6000e+01,\n"
     "         1.6333e+01],\n"
     "        [1.6667e+01, 1.7000e+01, 1.7333e+01,  ..., 3.2333e+01, 3.2667e+01,\n"
     "         3.3000e+01],\n"
     "        [3.3333e+01, 3.3667e+01, 3.4000e+01,  ..., 4.9000e+01, 4.9333e+01,\n"
     "         4.9667e+01],\n"
     "        ...,\n"
     "        [3.5000e+02, 3.5033e+02, 3.5067e+02,  ..., 3.6567e+02, 3.6600e+02,\n"
     "         3.6633e+02],\n"
     "        [3.6667e+02, 3.6700e+02, 3.6733e+02,  ..., 3.8233e+02, 3.8267e+02,\n"
     "         3.8300e+02],\n"
     "        [3.8333e+02, 3.8367e+02, 3.8400e+02,  ..., 3.9900e+02, 3.9933e+02,\n"
     "         3.9967e+02]])");
  PR(rt_arange(2000, AX_INT64), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
  /* autograd suffixes */
  ax_tensor *x = V((double[]){1.5, 2.5}, SHP(2), AX_FLOAT32), *p, *two, *y;
  OK(ax_param(x, &p, &e_));
  PR(ax_tensor_retain(p), "tensor([1.5000, 2.5000], requires_grad=True)");
  OK(ax_scalar_f64(2, &two, &e_));
  OK(ax_mul(p, two, &y, &e_));
  PR(y, "tensor([3.0000, 5.0000], grad_fn=<MulBackward0>)");
  ax_tensor *ls;
  OK(ax_log_softmax(p, 0, &ls, &e_));
  PR(ls, "tensor([-1.3133, -0.3133], grad_fn=<LogSoftmaxBackward0>)");
  /* a non-contiguous view prints its logical order */
  ax_tensor *m = scaled_arange(6, 1, SHP(2, 3)), *mt;
  OK(ax_transpose(m, 0, 1, &mt, &e_));
  PR(mt, "tensor([[0.0000, 3.0000],\n        [1.0000, 4.0000],\n        [2.0000, 5.0000]])");
  /* PyTorch's own int mode, on request */
  ax_print_set_int_mode(1);
  PR(V((double[]){1, 2, 3, 4}, SHP(2, 2), AX_FLOAT32), "tensor([[1., 2.],\n        [3., 4.]])");
  PR(V((double[]){0, NAN}, SHP(2), AX_FLOAT32), "tensor([0., nan])");
  PR(V((double[]){1, 2000}, SHP(2), AX_FLOAT64), "tensor([1.0000e+00, 2.0000e+03], dtype=float64)");
  PR(V((double[]){-13}, NULL, 0, AX_FLOAT16), "tensor(-13., dtype=float16)");
  PR(V((double[]){1.5, 2}, SHP(2), AX_FLOAT32), "tensor([1.5000, 2.0000])");
  ax_print_set_int_mode(0);
  ax_tensor_release(m);
  ax_tensor_release(x);
  ax_tensor_release(p);
  ax_tensor_release(two);
  (void)err;
  ax_cpu_cache_clear();
  CHECK(ax_mem_live() == 0);
  return RT_DONE();
}
