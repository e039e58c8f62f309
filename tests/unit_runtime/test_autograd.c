/* tests/unit_runtime/test_autograd.c — leaves and param, gradient accumulation across backward
** calls, broadcasting in gradients, gradients through views (slice, transpose, expand), detach,
** no-grad mode, explicit output gradients, errors for non-scalar losses, long chains. */
#include "rt_test.h"

static double g_at(const ax_tensor *t, int64_t i) {
  int64_t idx[AX_MAX_DIMS] = {0};
  double buf[64];
  ax_err e;
  (void)idx;
  if (!t->grad) return NAN;
  ax_to_f64_buffer(t->grad, buf, &e);
  return buf[i];
}

int main(void) {
  ax_err err;
  ax_tensor *junk;
  /* y = sum(w * x) with w [2,3] param and x [3] param (broadcast): dy/dw = x, dy/dx = sum_rows(w) */
  ax_tensor *w0 = rt_vals((double[]){1, 2, 3, 4, 5, 6}, SHP(2, 3), AX_FLOAT32), *x0 = rt_vals((double[]){0.5, -1, 2}, SHP(3), AX_FLOAT32);
  ax_tensor *w, *x, *m, *l;
  OK(ax_param(w0, &w, &e_));
  OK(ax_param(x0, &x, &e_));
  CHECK(w->requires_grad && ax_is_leaf(w) && w->grad == NULL);
  OK(ax_mul(w, x, &m, &e_));
  OK(ax_sum(m, NULL, 0, 0, &l, &e_));
  CHECK(!ax_is_leaf(l) && l->requires_grad);
  OK(ax_backward(l, NULL, &e_));
  CHECK(w->grad && w->grad->ndim == 2 && g_at(w, 3) == 0.5 && g_at(w, 5) == 2);
  CHECK(x->grad && x->grad->ndim == 1 && g_at(x, 0) == 5 && g_at(x, 2) == 9);
  OK(ax_backward(l, NULL, &e_));   /* accumulates */
  CHECK(g_at(x, 0) == 10 && g_at(w, 5) == 4);
  CHECK(w->grad != x->grad && w->grad->storage != x->grad->storage);
  ax_zero_grad(x);
  CHECK(x->grad == NULL);
  /* non-scalar without gradient */
  ERR(ax_backward(m, NULL, &err), AX_E_SHAPE, "grad can be implicitly created only for scalar outputs; loss has shape [2, 3]");
  ax_tensor *go = rt_vals((double[]){1, 0, 0, 0, 0, 1}, SHP(2, 3), AX_FLOAT32);
  ax_zero_grad(w);
  OK(ax_backward(m, go, &e_));
  CHECK(g_at(w, 0) == 0.5 && g_at(w, 1) == 0 && g_at(w, 5) == 2 && g_at(x, 0) == 1 && g_at(x, 2) == 6);
  ax_tensor *bad = rt_vals((double[]){1}, SHP(1), AX_FLOAT32);
  ERR(ax_backward(m, bad, &err), AX_E_SHAPE, "gradient shape [1] does not match the tensor shape [2, 3]");
  ERR(ax_backward(w0, NULL, &err), AX_E_VALUE, "does not require grad");
  /* views: loss = sum(x_t[1:, ::2] * 3) on a transposed [3, 2] view of w */
  ax_tensor *wt, *sl, *three, *m2, *l2;
  ax_zero_grad(w);
  OK(ax_transpose(w, 0, 1, &wt, &e_));
  OK(ax_slice(wt, 0, 1, AX_SLICE_NONE, 2, &sl, &e_));   /* rows 1 of wt: w[:, 1] */
  OK(ax_scalar_f64(3, &three, &e_));
  OK(ax_mul(sl, three, &m2, &e_));
  OK(ax_sum(m2, NULL, 0, 0, &l2, &e_));
  OK(ax_backward(l2, NULL, &e_));
  CHECK(g_at(w, 0) == 0 && g_at(w, 1) == 3 && g_at(w, 4) == 3 && g_at(w, 5) == 0);
  /* expand + reshape */
  ax_tensor *xe, *xr, *l3;
  ax_zero_grad(x);
  OK(ax_expand(x, SHP(4, 3), &xe, &e_));
  OK(ax_reshape(xe, SHP(12), &xr, &e_));
  OK(ax_sum(xr, NULL, 0, 0, &l3, &e_));
  OK(ax_backward(l3, NULL, &e_));
  CHECK(g_at(x, 0) == 4 && g_at(x, 2) == 4);
  /* detach and no-grad */
  ax_tensor *d, *md;
  OK(ax_detach(w, &d, &e_));
  CHECK(!d->requires_grad && d->storage == w->storage);
  OK(ax_mul(d, x0, &md, &e_));
  CHECK(!md->requires_grad && md->node == NULL);
  ax_set_grad_enabled(0);
  ax_tensor *ng;
  OK(ax_mul(w, x, &ng, &e_));
  CHECK(!ng->requires_grad && ng->node == NULL);
  ax_set_grad_enabled(1);
  CHECK(ax_grad_enabled());
  ax_tensor *it = rt_arange(3, AX_INT64);
  ERR(ax_set_requires_grad(it, 1, &err), AX_E_DTYPE, "only floating point");
  ax_tensor_release(it);
  /* matmul with 1-d operands and broadcasting batch */
  ax_tensor *A, *Ap, *v, *vp, *mv, *lm;
  OK(ax_randn(SHP(2, 3, 4), AX_FLOAT64, &A, &e_));
  OK(ax_randn(SHP(4), AX_FLOAT64, &v, &e_));
  OK(ax_param(A, &Ap, &e_));
  OK(ax_param(v, &vp, &e_));
  OK(ax_matmul(Ap, vp, &mv, &e_));
  CHECK(mv->ndim == 2 && mv->shape[0] == 2 && mv->shape[1] == 3);
  OK(ax_sum(mv, NULL, 0, 0, &lm, &e_));
  OK(ax_backward(lm, NULL, &e_));
  CHECK(vp->grad && vp->grad->ndim == 1 && vp->grad->shape[0] == 4);
  ax_tensor *colsum;   /* d/dv sum(A v) = sum over batch and rows of A */
  OK(ax_sum(A, SHP(0, 1), 0, &colsum, &e_));
  double cs[4], gv[4];
  ax_to_f64_buffer(colsum, cs, &err);
  ax_to_f64_buffer(vp->grad, gv, &err);
  CHECK(fabs(cs[0] - gv[0]) < 1e-12 && fabs(cs[3] - gv[3]) < 1e-12);
  /* mixed dtypes: float32 leaf in a float64 graph gets a float32 gradient */
  ax_tensor *f32p, *mix, *lmix, *f64 = rt_vals((double[]){2, 3}, SHP(2), AX_FLOAT64);
  ax_tensor *f32 = rt_vals((double[]){1, 1}, SHP(2), AX_FLOAT32);
  OK(ax_param(f32, &f32p, &e_));
  OK(ax_mul(f32p, f64, &mix, &e_));
  CHECK(mix->dtype == AX_FLOAT64);
  OK(ax_sum(mix, NULL, 0, 0, &lmix, &e_));
  OK(ax_backward(lmix, NULL, &e_));
  CHECK(f32p->grad && f32p->grad->dtype == AX_FLOAT32 && g_at(f32p, 1) == 3);
  /* norm of a zero vector: gradient 0, not NaN (as PyTorch) */
  ax_tensor *z0, *zp, *zn;
  OK(ax_zeros(SHP(3), AX_FLOAT64, &z0, &e_));
  OK(ax_param(z0, &zp, &e_));
  OK(ax_norm(zp, 2, NULL, 0, 0, &zn, &e_));
  OK(ax_backward(zn, NULL, &e_));
  CHECK(zp->grad && g_at(zp, 0) == 0 && g_at(zp, 2) == 0);
  ax_tensor_release(z0);
  ax_tensor_release(zp);
  ax_tensor_release(zn);
  /* prod with zeros: d/dx_i = product of the others */
  ax_tensor *pv = rt_vals((double[]){2, 0, 3, 0, 0, 5}, SHP(2, 3), AX_FLOAT64), *pp, *pr, *pl;
  OK(ax_param(pv, &pp, &e_));
  OK(ax_prod(pp, SHP(1), 0, &pr, &e_));   /* rows: [2, 0, 3] -> 0, [0, 0, 5] -> 0 */
  OK(ax_sum(pr, NULL, 0, 0, &pl, &e_));
  OK(ax_backward(pl, NULL, &e_));
  CHECK(g_at(pp, 0) == 0 && g_at(pp, 1) == 6 && g_at(pp, 2) == 0 && g_at(pp, 3) == 0 && g_at(pp, 4) == 0 && g_at(pp, 5) == 0);
  ax_tensor_release(pv);
  ax_tensor_release(pp);
  ax_tensor_release(pr);
  ax_tensor_release(pl);
  /* scatter with a source larger than the index: the unused part of src gets 0 */
  ax_tensor *qsx = rt_vals((double[]){0, 0, 0, 0}, SHP(2, 2), AX_FLOAT64), *qss = rt_vals((double[]){1, 2, 3, 4, 5, 6}, SHP(2, 3), AX_FLOAT64);
  ax_tensor *qsi, *qsp, *qso, *qsw = rt_vals((double[]){1, 10, 100, 1000}, SHP(2, 2), AX_FLOAT64), *qsm, *qsl;
  OK(ax_tensor_from_i64((int64_t[]){1, 0}, SHP(1, 2), AX_INT64, &qsi, &e_));
  OK(ax_param(qss, &qsp, &e_));
  OK(ax_scatter(qsx, 0, qsi, qsp, &qso, &e_));   /* qso[1][0] = src[0][0], qso[0][1] = src[0][1] */
  OK(ax_mul(qso, qsw, &qsm, &e_));
  OK(ax_sum(qsm, NULL, 0, 0, &qsl, &e_));
  OK(ax_backward(qsl, NULL, &e_));
  CHECK(qsp->grad && qsp->grad->shape[1] == 3 && g_at(qsp, 0) == 100 && g_at(qsp, 1) == 10 && g_at(qsp, 2) == 0 && g_at(qsp, 3) == 0);
  ax_tensor *qsr[] = {qsx, qss, qsi, qsp, qso, qsw, qsm, qsl};
  for (size_t i = 0; i < sizeof qsr / sizeof qsr[0]; i++) ax_tensor_release(qsr[i]);
  /* in-place writes: to a saved input -> error; to an input whose values the rule does not read -> fine */
  ax_tensor *wva = rt_vals((double[]){1, 2}, SHP(2), AX_FLOAT64), *wvb = rt_vals((double[]){3, 4}, SHP(2), AX_FLOAT64);
  ax_tensor *wvp, *wvm, *wvl, *wvs, *wvl2;
  OK(ax_param(wva, &wvp, &e_));
  OK(ax_mul(wvp, wvb, &wvm, &e_));
  OK(ax_sum(wvm, NULL, 0, 0, &wvl, &e_));
  OK(ax_add(wvp, wvb, &wvs, &e_));
  OK(ax_sum(wvs, NULL, 0, 0, &wvl2, &e_));
  OK(ax_fill_(wvb, 7, &e_));
  ERR(ax_backward(wvl, NULL, &err), AX_E_VALUE, "backward: input 1 of mul (shape [2]) was modified in place after mul used it");
  OK(ax_backward(wvl2, NULL, &e_));
  CHECK(g_at(wvp, 0) == 1);
  ax_tensor *wvr[] = {wva, wvb, wvp, wvm, wvl, wvs, wvl2};
  for (size_t i = 0; i < sizeof wvr / sizeof wvr[0]; i++) ax_tensor_release(wvr[i]);
  /* a long chain (100k ops) is freed without deep recursion */
  ax_tensor *acc, *one;
  OK(ax_scalar_f64(1e-6, &one, &e_));
  OK(ax_mul(f32p, one, &acc, &e_));
  for (int i = 0; i < 100000; i++) {
    ax_tensor *nx;
    OK(ax_add(acc, one, &nx, &e_));
    ax_tensor_release(acc);
    acc = nx;
  }
  ax_tensor *lacc;
  OK(ax_sum(acc, NULL, 0, 0, &lacc, &e_));
  ax_zero_grad(f32p);
  OK(ax_backward(lacc, NULL, &e_));
  CHECK(f32p->grad && fabs(g_at(f32p, 0) - 1e-6) < 1e-12);
  ax_tensor_release(lacc);
  ax_tensor_release(acc);
  ax_tensor *mods[] = {w0, x0, w, x, m, l, go, bad, wt, sl, three, m2, l2, xe, xr, l3, d, md, ng, A, Ap, v, vp,
                       mv, lm, colsum, f32p, mix, lmix, f64, f32, one};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) ax_tensor_release(mods[i]);
  (void)junk;
  ax_cpu_cache_clear();
  CHECK(ax_mem_live() == 0);
  return RT_DONE();
}
