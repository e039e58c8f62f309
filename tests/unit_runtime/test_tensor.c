/* tests/unit_runtime/test_tensor.c — views share storage (reshape, transpose, permute, slicing
** with negative indices and steps, expand, squeeze/unsqueeze, flatten, select), contiguous(),
** broadcasting, PyTorch type promotion, creation, item/tolist, RNG reproducibility. */
#include "rt_test.h"

static void test_views(void) {
  ax_err err;
  ax_tensor *junk;
  ax_tensor *x = rt_arange(24, AX_FLOAT32), *r, *t, *p, *s, *e, *u, *q, *f, *c, *v, *sel;
  OK(ax_reshape(x, SHP(2, 3, 4), &r, &e_));
  CHECK(r->storage == x->storage && ax_is_contiguous(r));
  CHECK(rt_at(r, 1, 2, 3) == 23);
  OK(ax_transpose(r, 0, 2, &t, &e_));
  CHECK(t->storage == x->storage && !ax_is_contiguous(t));
  CHECK(t->shape[0] == 4 && t->shape[2] == 2 && t->stride[0] == 1 && t->stride[2] == 12);
  CHECK(rt_at(t, 3, 2, 1) == 23);
  OK(ax_permute(r, (int64_t[]){1, 2, 0}, 3, &p, &e_));
  CHECK(p->shape[0] == 3 && p->shape[1] == 4 && p->shape[2] == 2 && rt_at(p, 2, 3, 1) == 23);
  /* x[1:-1:2] on a 1-d arange(24): elements 1, 3, ..., 21 */
  OK(ax_slice(x, 0, 1, -1, 2, &s, &e_));
  CHECK(s->storage == x->storage && s->shape[0] == 11 && s->stride[0] == 2 && s->offset == 1);
  CHECK(rt_at(s, 10, 0, 0) == 21);
  ax_tensor *s2;
  OK(ax_slice(x, 0, -3, AX_SLICE_NONE, 1, &s2, &e_));
  CHECK(s2->shape[0] == 3 && rt_at(s2, 0, 0, 0) == 21);
  ERR(ax_slice(x, 0, 0, 5, 0, &junk, &err), AX_E_VALUE, "step must be positive");
  ax_tensor *s3;
  OK(ax_slice(x, 0, 30, 40, 1, &s3, &e_));   /* out-of-range bounds clamp like Python */
  CHECK(s3->shape[0] == 0);
  ax_tensor_release(s3);
  ax_tensor *col;
  OK(ax_slice(r, 2, 1, 2, 1, &col, &e_));   /* [2, 3, 1] */
  OK(ax_expand(col, SHP(5, 2, 3, 4), &e, &e_));
  CHECK(e->storage == x->storage && e->stride[0] == 0 && e->stride[3] == 0 && rt_at(e, 0, 0, 0) == 1);
  OK(ax_unsqueeze(t, 1, &u, &e_));
  CHECK(u->ndim == 4 && u->shape[1] == 1 && u->storage == x->storage);
  OK(ax_squeeze(u, NULL, 0, &q, &e_));
  CHECK(q->ndim == 3 && q->storage == x->storage);
  OK(ax_flatten(r, 1, -1, &f, &e_));
  CHECK(f->ndim == 2 && f->shape[1] == 12 && f->storage == x->storage);
  OK(ax_contiguous(t, &c, &e_));
  CHECK(c->storage != x->storage && ax_is_contiguous(c) && rt_at(c, 3, 2, 1) == 23);
  ERR(ax_view(t, SHP(24), &junk, &err), AX_E_SHAPE, "not compatible");
  OK(ax_reshape(t, SHP(24), &v, &e_));   /* reshape copies instead */
  CHECK(v->storage != x->storage && rt_at(v, 1, 0, 0) == 12);
  OK(ax_select(r, 1, -1, &sel, &e_));
  CHECK(sel->ndim == 2 && sel->shape[0] == 2 && sel->shape[1] == 4 && rt_at(sel, 1, 0, 0) == 20);
  ERR(ax_select(r, 1, 3, &junk, &err), AX_E_INDEX, "index 3 is out of bounds for dim 1 with size 3");
  ERR(ax_reshape(x, SHP(5, -1), &junk, &err), AX_E_SHAPE, "reshape: shape [5, -1] is invalid for input of shape [24]");
  ax_tensor **parts;
  int np;
  OK(ax_chunk(x, 5, 0, &parts, &np, &e_));
  CHECK(np == 5 && parts[4]->shape[0] == 4 && parts[0]->storage == x->storage);
  ax_tensor_list_free(parts, np);
  OK(ax_split(r, 2, 1, &parts, &np, &e_));
  CHECK(np == 2 && parts[1]->shape[1] == 1);
  ax_tensor *st;
  OK(ax_stack(parts, 1, 0, &st, &e_));
  CHECK(st->ndim == 4 && st->shape[0] == 1);
  ax_tensor_release(st);
  ax_tensor_list_free(parts, np);
  ax_tensor *mods[] = {x, r, t, p, s, s2, col, e, u, q, f, c, v, sel};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) ax_tensor_release(mods[i]);
}

static void test_broadcast_promotion(void) {
  ax_err err;
  ax_tensor *junk;
  ax_tensor *a = rt_arange(6, AX_INT64), *b, *c, *f, *o;
  OK(ax_reshape(a, SHP(2, 3), &b, &e_));
  double fv[] = {0.5, 1.5, 2.5};
  f = rt_vals(fv, SHP(3), AX_FLOAT32);
  OK(ax_add(b, f, &c, &e_));   /* int64 [2,3] + float32 [3] -> float32 [2,3] */
  CHECK(c->dtype == AX_FLOAT32 && c->ndim == 2 && rt_at(c, 1, 2, 0) == 7.5);
  ax_tensor_release(c);
  ERR(ax_add(b, a, &junk, &err), AX_E_SHAPE, "add: shapes [2, 3] and [6] cannot be broadcast");
  ax_tensor *s;
  OK(ax_scalar_f64(2.5, &s, &e_));   /* int tensor * python float -> float32 */
  OK(ax_mul(b, s, &o, &e_));
  CHECK(o->dtype == AX_FLOAT32 && rt_at(o, 1, 0, 0) == 7.5);
  ax_tensor_release(o);
  ax_tensor_release(s);
  ax_tensor *h, *hs;
  h = rt_vals(fv, SHP(3), AX_FLOAT16);
  OK(ax_scalar_f64(1.0, &hs, &e_));   /* half tensor + python float stays half */
  OK(ax_add(h, hs, &o, &e_));
  CHECK(o->dtype == AX_FLOAT16 && rt_at(o, 2, 0, 0) == 3.5);
  ax_tensor_release(o);
  ax_tensor *bf = rt_vals(fv, SHP(3), AX_BFLOAT16);
  OK(ax_add(h, bf, &o, &e_));   /* float16 + bfloat16 -> float32 */
  CHECK(o->dtype == AX_FLOAT32);
  ax_tensor_release(o);
  ax_tensor *i32 = rt_vals(fv, SHP(3), AX_INT32), *si;
  OK(ax_scalar_i64(3, &si, &e_));   /* int32 tensor + python int stays int32 */
  OK(ax_add(i32, si, &o, &e_));
  CHECK(o->dtype == AX_INT32);
  ax_tensor_release(o);
  OK(ax_add(i32, b, &o, &e_));   /* int32 + int64 -> int64 */
  CHECK(o->dtype == AX_INT64);
  ax_tensor_release(o);
  ax_tensor *z64, *zd;
  OK(ax_tensor_from_f64((double[]){2}, NULL, 0, AX_FLOAT64, &zd, &e_));   /* 0-d float64, not wrapped */
  OK(ax_add(b, zd, &z64, &e_));   /* int64 [2,3] + 0-d float64 -> float64 (higher category) */
  CHECK(z64->dtype == AX_FLOAT64);
  ax_tensor_release(z64);
  OK(ax_add(f, zd, &z64, &e_));   /* float32 [3] + 0-d float64 -> float32 (same category) */
  CHECK(z64->dtype == AX_FLOAT32);
  ax_tensor_release(z64);
  OK(ax_div(b, b, &o, &e_));   /* int / int -> float32 true division */
  CHECK(o->dtype == AX_FLOAT32 && isnan(rt_at(o, 0, 0, 0)) && rt_at(o, 1, 1, 0) == 1);
  ax_tensor_release(o);
  OK(ax_lt(b, f, &o, &e_));
  CHECK(o->dtype == AX_BOOL && rt_at(o, 0, 0, 0) == 1 && rt_at(o, 1, 0, 0) == 0);
  ax_tensor *bo = o, *bs;
  OK(ax_scalar_i64(2, &bs, &e_));
  OK(ax_add(bo, bs, &o, &e_));   /* bool + python int -> int64 */
  CHECK(o->dtype == AX_INT64 && rt_at(o, 0, 0, 0) == 3);
  ax_tensor_release(o);
  OK(ax_sum(bo, NULL, 0, 0, &o, &e_));   /* sum of bools counts, as int64 */
  CHECK(o->dtype == AX_INT64 && o->ndim == 0 && rt_at(o, 0, 0, 0) == 3);
  ax_tensor_release(o);
  OK(ax_mean(b, NULL, 0, 0, &o, &e_));
  CHECK(o->dtype == AX_FLOAT32 && rt_at(o, 0, 0, 0) == 2.5);
  ax_tensor_release(o);
  OK(ax_exp(b, &o, &e_));
  CHECK(o->dtype == AX_FLOAT32);
  ax_tensor_release(o);
  ax_tensor *mods[] = {a, b, f, h, hs, bf, i32, si, zd, bo, bs};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) ax_tensor_release(mods[i]);
}

static void test_creation_access(void) {
  ax_err err;
  ax_tensor *junk;
  (void)junk;
  ax_tensor *t;
  OK(ax_arange(0, 1, 0.25, AX_NDTYPES, &t, &e_));
  CHECK(t->dtype == AX_FLOAT32 && t->shape[0] == 4 && rt_at(t, 3, 0, 0) == 0.75);
  ax_tensor_release(t);
  OK(ax_arange(5, 0, -2, AX_NDTYPES, &t, &e_));
  CHECK(t->dtype == AX_INT64 && t->shape[0] == 3 && rt_at(t, 2, 0, 0) == 1);
  ax_tensor_release(t);
  OK(ax_linspace(0, 1, 5, AX_FLOAT64, &t, &e_));
  CHECK(t->shape[0] == 5 && rt_at(t, 4, 0, 0) == 1.0 && rt_at(t, 1, 0, 0) == 0.25);
  ax_tensor_release(t);
  OK(ax_eye(3, -1, AX_FLOAT32, &t, &e_));
  CHECK(rt_at(t, 1, 1, 0) == 1 && rt_at(t, 1, 2, 0) == 0);
  double item;
  ERR(ax_item_f64(t, &item, &err), AX_E_VALUE, "cannot be converted to a number");
  double buf[9];
  OK(ax_to_f64_buffer(t, buf, &e_));
  CHECK(buf[0] == 1 && buf[4] == 1 && buf[8] == 1 && buf[1] == 0);
  ax_tensor *tt;
  OK(ax_transpose(t, 0, 1, &tt, &e_));
  int64_t ib[9];
  OK(ax_to_i64_buffer(tt, ib, &e_));
  CHECK(ib[0] == 1 && ib[3] == 0);
  ax_tensor_release(tt);
  ax_tensor_release(t);
  OK(ax_full(SHP(2, 2), 7, AX_INT32, &t, &e_));
  int64_t iv;
  ax_tensor *one;
  OK(ax_select(t, 0, 1, &one, &e_));
  ax_tensor *el;
  OK(ax_select(one, 0, -1, &el, &e_));
  OK(ax_item_i64(el, &iv, &e_));
  CHECK(iv == 7);
  ax_tensor_release(el);
  ax_tensor_release(one);
  ax_tensor_release(t);
  double hv[] = {1.0 / 3, 65504, 1e-8, -2.5};
  OK(ax_tensor_from_f64(hv, SHP(4), AX_FLOAT16, &t, &e_));
  CHECK(fabs(rt_at(t, 0, 0, 0) - 0.333251953125) < 1e-12 && rt_at(t, 1, 0, 0) == 65504 && rt_at(t, 3, 0, 0) == -2.5);
  ax_tensor_release(t);
  OK(ax_tensor_from_f64(hv, SHP(4), AX_BFLOAT16, &t, &e_));
  CHECK(fabs(rt_at(t, 0, 0, 0) - 0.333984375) < 1e-12 && rt_at(t, 3, 0, 0) == -2.5);
  ax_tensor_release(t);
}

static void test_rng(void) {
  ax_tensor *a, *b, *c, *n, *ri, *m;
  ax_seed(42);
  OK(ax_rand(SHP(1000), AX_FLOAT32, &a, &e_));
  ax_seed(42);
  OK(ax_rand(SHP(1000), AX_FLOAT32, &b, &e_));
  OK(ax_rand(SHP(1000), AX_FLOAT32, &c, &e_));
  double va[1000], vb[1000], vc[1000];
  ax_err err;
  ax_to_f64_buffer(a, va, &err);
  ax_to_f64_buffer(b, vb, &err);
  ax_to_f64_buffer(c, vc, &err);
  CHECK(!memcmp(va, vb, sizeof va));
  CHECK(memcmp(va, vc, sizeof va) != 0);
  int inrange = 1;
  for (int i = 0; i < 1000; i++) inrange &= va[i] >= 0 && va[i] < 1;
  CHECK(inrange);
  ax_seed(7);
  OK(ax_randn(SHP(100000), AX_FLOAT64, &n, &e_));
  ax_tensor *mean, *sd;
  OK(ax_mean(n, NULL, 0, 0, &mean, &e_));
  OK(ax_std(n, NULL, 0, 1, 0, &sd, &e_));
  CHECK(fabs(rt_at(mean, 0, 0, 0)) < 0.02 && fabs(rt_at(sd, 0, 0, 0) - 1) < 0.02);
  OK(ax_randint(-3, 4, SHP(10000), AX_INT64, &ri, &e_));
  ax_tensor *mx, *mn;
  OK(ax_max_all(ri, &mx, &e_));
  OK(ax_min_all(ri, &mn, &e_));
  CHECK(rt_at(mx, 0, 0, 0) == 3 && rt_at(mn, 0, 0, 0) == -3);
  OK(ax_dropout_mask(n, 0.25, &m, &e_));
  ax_tensor *ms;
  OK(ax_mean(m, NULL, 0, 0, &ms, &e_));   /* E[mask] = 1 */
  CHECK(fabs(rt_at(ms, 0, 0, 0) - 1) < 0.02);
  ax_rng_state st = ax_rng_get_state();
  ax_tensor *r1, *r2;
  OK(ax_randn(SHP(5), AX_FLOAT32, &r1, &e_));
  ax_rng_set_state(st);
  OK(ax_randn(SHP(5), AX_FLOAT32, &r2, &e_));
  ax_tensor *eq, *all;
  OK(ax_eq(r1, r2, &eq, &e_));
  OK(ax_sum(eq, NULL, 0, 0, &all, &e_));
  CHECK(rt_at(all, 0, 0, 0) == 5);
  ax_tensor *mods[] = {a, b, c, n, ri, m, mean, sd, mx, mn, ms, r1, r2, eq, all};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) ax_tensor_release(mods[i]);
}

static void test_copy_inplace(void) {
  ax_err err;
  ax_tensor *x = rt_arange(12, AX_FLOAT32), *m, *col, *src, *a, *b;
  OK(ax_reshape(x, SHP(3, 4), &m, &e_));
  OK(ax_slice(m, 1, 1, 2, 1, &col, &e_));   /* m[:, 1:2], a strided [3, 1] view */
  src = rt_vals((double[]){-1}, SHP(1), AX_INT64);
  OK(ax_copy_(col, src, &e_));   /* broadcast + int64 -> float32 */
  CHECK(rt_at(m, 0, 1, 0) == -1 && rt_at(m, 2, 1, 0) == -1 && rt_at(m, 2, 2, 0) == 10);
  OK(ax_slice(x, 0, 1, AX_SLICE_NONE, 1, &a, &e_));   /* x[1:] = x[:-1] overlaps */
  OK(ax_slice(x, 0, 0, -1, 1, &b, &e_));
  OK(ax_copy_(a, b, &e_));
  CHECK(rt_at(x, 0, 0, 0) == 0 && rt_at(x, 1, 0, 0) == 0 && rt_at(x, 2, 0, 0) == -1 && rt_at(x, 11, 0, 0) == 10);
  ERR(ax_copy_(col, x, &err), AX_E_SHAPE, "copy_: shape [12] cannot be broadcast to [3, 1]");
  /* short rows through the packed iterator: strided destination, broadcast sources */
  ax_tensor *big = rt_arange(48, AX_FLOAT32), *src2, *dst0, *dstT, *rowv, *colv, *sum;
  OK(ax_reshape(big, SHP(6, 8), &src2, &e_));
  OK(ax_zeros(SHP(8, 6), AX_FLOAT64, &dst0, &e_));
  OK(ax_transpose(dst0, 0, 1, &dstT, &e_));   /* [6, 8] with strides [1, 6] */
  OK(ax_copy_(dstT, src2, &e_));
  CHECK(rt_at(dstT, 5, 7, 0) == 47 && rt_at(dst0, 7, 5, 0) == 47 && rt_at(dst0, 1, 0, 0) == 1);
  rowv = rt_vals((double[]){1, 2, 3, 4, 5, 6, 7, 8}, SHP(8), AX_FLOAT32);
  colv = rt_vals((double[]){10, 20, 30, 40, 50, 60}, SHP(6, 1), AX_INT32);
  ax_tensor *t1, *t2;
  OK(ax_add(dstT, rowv, &t1, &e_));   /* [6, 8] + [8] */
  OK(ax_mul(t1, colv, &t2, &e_));     /* [6, 8] * [6, 1] */
  CHECK(t2->dtype == AX_FLOAT64 && rt_at(t2, 5, 7, 0) == (47 + 8) * 60.0 && rt_at(t2, 2, 3, 0) == (19 + 4) * 30.0);
  OK(ax_sum(t2, NULL, 0, 0, &sum, &e_));
  double want = 0;
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 8; j++) want += (i * 8 + j + j + 1) * 10.0 * (i + 1);
  CHECK(rt_at(sum, 0, 0, 0) == want);
  ax_tensor *more[] = {big, src2, dst0, dstT, rowv, colv, t1, t2, sum};
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) ax_tensor_release(more[i]);
  ax_tensor *mods[] = {x, m, col, src, a, b};
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) ax_tensor_release(mods[i]);
}

/* Integer reductions are exact (int64 accumulation), including values past 2^53. */
static void test_int_reductions(void) {
  int64_t big = (1LL << 60) + 1;
  ax_tensor *x, *s, *p, *mx, *mi, *am, *cs, *v, *idx, *bo, *bs;
  OK(ax_tensor_from_i64((int64_t[]){big, 2, -3, 4, 5, -6}, SHP(2, 3), AX_INT64, &x, &e_));
  OK(ax_sum(x, SHP(1), 0, &s, &e_));
  CHECK(s->dtype == AX_INT64 && ax_get_i64(s, (int64_t[]){0}) == big - 1 && ax_get_i64(s, (int64_t[]){1}) == 3);
  OK(ax_prod(x, SHP(0), 0, &p, &e_));
  CHECK(ax_get_i64(p, (int64_t[]){1}) == 10 && ax_get_i64(p, (int64_t[]){2}) == 18);
  OK(ax_max_dim(x, 1, 0, &mx, &mi, &e_));
  CHECK(ax_get_i64(mx, (int64_t[]){0}) == big && ax_get_i64(mi, (int64_t[]){1}) == 1);
  OK(ax_argmin(x, 0, 0, 0, &am, &e_));
  CHECK(am->ndim == 0 && ax_get_i64(am, (int64_t[]){0}) == 5);
  OK(ax_cumsum(x, 0, &cs, &e_));
  CHECK(cs->dtype == AX_INT64 && ax_get_i64(cs, (int64_t[]){1, 0}) == big + 4 && ax_get_i64(cs, (int64_t[]){1, 2}) == -9);
  OK(ax_min_all(x, &v, &e_));
  CHECK(ax_get_i64(v, (int64_t[]){0}) == -6);
  OK(ax_gt(x, x, &bo, &e_));
  OK(ax_cumsum(bo, 1, &bs, &e_));
  CHECK(bs->dtype == AX_INT64 && ax_get_i64(bs, (int64_t[]){1, 2}) == 0);
  idx = NULL;
  ax_tensor *r[] = {x, s, p, mx, mi, am, cs, v, idx, bo, bs};
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) ax_tensor_release(r[i]);
}

static void test_large_parallel(void) {
  /* > 32K elements: runs on the pool; compare against a serial expectation */
  ax_tensor *x = rt_arange(1 << 20, AX_FLOAT32), *y, *s;
  OK(ax_mul(x, x, &y, &e_));
  CHECK(rt_at(y, 1000, 0, 0) == 1e6);
  OK(ax_sum(x, NULL, 0, 0, &s, &e_));
  CHECK(rt_at(s, 0, 0, 0) == 549755289600.0);
  ax_tensor_release(x);
  ax_tensor_release(y);
  ax_tensor_release(s);
}

/* The CPU allocator's block cache: what it holds is counted apart (the GC's measure subtracts it),
** a trim frees the blocks no allocation took since the trim before, huge blocks are never kept. */
static void test_block_cache(void) {
  ax_tensor *t = NULL, *u = NULL;
  OK(ax_tensor_empty(SHP(256, 1024), AX_FLOAT32, AX_CPU, &t, &e_));   /* warm the header caches */
  ax_tensor_release(t);
  ax_cpu_cache_trim();
  ax_cpu_cache_trim();
  size_t base = ax_mem_live();
  OK(ax_tensor_empty(SHP(256, 1024), AX_FLOAT32, AX_CPU, &t, &e_));   /* 1 MiB */
  ax_tensor_release(t);
  CHECK(ax_cpu_cache_bytes() == ((size_t)1 << 20));
  CHECK(ax_mem_live() - ax_cpu_cache_bytes() == base);
  ax_cpu_cache_trim();                                   /* cached before this trim: kept once */
  CHECK(ax_cpu_cache_bytes() == ((size_t)1 << 20));
  OK(ax_tensor_empty(SHP(256, 1024), AX_FLOAT32, AX_CPU, &t, &e_));   /* reused: the age restarts */
  CHECK(ax_cpu_cache_bytes() == 0);
  ax_tensor_release(t);
  ax_cpu_cache_trim();
  CHECK(ax_cpu_cache_bytes() == ((size_t)1 << 20));
  ax_cpu_cache_trim();                                   /* unused through a whole cycle: freed */
  CHECK(ax_cpu_cache_bytes() == 0);
  CHECK(ax_mem_live() == base);
  OK(ax_tensor_empty(SHP(32, 1024, 1024), AX_FLOAT32, AX_CPU, &u, &e_));   /* 128 MiB: not kept */
  ax_tensor_release(u);
  CHECK(ax_cpu_cache_bytes() == 0);
  CHECK(ax_mem_live() == base);
}

/* relu over the input's own storage only when nothing else can see it. */
static void test_relu_reuse(void) {
  double v[4] = {-1, 2, -3, 4};
  ax_tensor *x = rt_vals(v, SHP(2, 2), AX_FLOAT32), *y = NULL;
  OK(ax_relu_reuse(x, &y, &e_));
  CHECK(y == x && rt_at(x, 0, 0, 0) == 0 && rt_at(x, 0, 1, 0) == 2 && rt_at(x, 1, 0, 0) == 0);
  ax_tensor_release(y);
  ax_tensor_release(x);
  /* a second holder (a script value, a view, the autograd graph): a new tensor, x unchanged */
  x = rt_vals(v, SHP(2, 2), AX_FLOAT32);
  ax_tensor *other = ax_tensor_retain(x);
  OK(ax_relu_reuse(x, &y, &e_));
  CHECK(y != x && rt_at(x, 0, 0, 0) == -1 && rt_at(y, 0, 0, 0) == 0 && rt_at(y, 1, 1, 0) == 4);
  ax_tensor_release(other);
  ax_tensor_release(y);
  ax_tensor *view = NULL;
  OK(ax_transpose(x, 0, 1, &view, &e_));
  OK(ax_relu_reuse(x, &y, &e_));   /* the view shares the storage */
  CHECK(y != x && rt_at(view, 0, 1, 0) == -3);
  ax_tensor_release(y);
  ax_tensor_release(view);
  x->requires_grad = 1;            /* needs a gradient: recorded as an op, never in place */
  OK(ax_relu_reuse(x, &y, &e_));
  CHECK(y != x && rt_at(x, 0, 0, 0) == -1);
  ax_tensor_release(y);
  ax_tensor_release(x);
}

int main(void) {
  test_block_cache();
  test_relu_reuse();
  test_views();
  test_broadcast_promotion();
  test_creation_access();
  test_rng();
  test_copy_inplace();
  test_int_reductions();
  test_large_parallel();
  ax_cpu_cache_clear();
  CHECK(ax_mem_live() == 0);
  return RT_DONE();
}
