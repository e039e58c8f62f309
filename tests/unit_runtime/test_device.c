/* tests/unit_runtime/test_device.c — the runtime's device paths on the fake accelerator
** (fake_device.c: "cuda:0" whose memory is PROT_NONE to host code): item, tolist, printing, fill_,
** copy_ (index assignment), saving, gradient clipping and the composed optimizer steps, each
** against the same work on the CPU (1e-6 float32, 1e-12 float64), plus the device byte counter.
** A host dereference of device memory anywhere on these paths is a SIGSEGV, i.e. a failed test. */
#include <math.h>
#include <unistd.h>

#include "ax_io.h"
#include "ax_optim.h"
#include "fake_device.h"
#include "rt_test.h"

#define DEV ((ax_device){AX_DEV_CUDA, 0})


static ax_tensor *dev(ax_tensor *t) {
  ax_tensor *d = NULL;
  ax_err e;
  if (ax_to(t, DEV, &d, &e)) printf("to(cuda): %s\n", e.msg);
  return d;
}

static ax_tensor *randn_t(const int64_t *shape, int nd, ax_dtype dt) {
  ax_tensor *t = NULL;
  ax_err e;
  if (ax_randn(shape, nd, dt, &t, &e)) printf("randn: %s\n", e.msg);
  return t;
}

/* every element of t (any device) as doubles; caller frees */
static double *vals(const ax_tensor *t) {
  int64_t n = ax_numel(t);
  double *v = calloc((size_t)(n ? n : 1), sizeof(double));
  ax_err e;
  if (ax_to_f64_buffer(t, v, &e)) printf("vals: %s\n", e.msg);
  return v;
}

/* max |a - b| / max(max |b|, 1e-30): the normalised error of the device ops test */
static double nerr(const ax_tensor *a, const ax_tensor *b) {
  if (ax_numel(a) != ax_numel(b)) return INFINITY;
  double *x = vals(a), *y = vals(b), d = 0, m = 1e-30;
  for (int64_t i = 0; i < ax_numel(a); i++) {
    double di = fabs(x[i] - y[i]);
    if (isnan(x[i]) != isnan(y[i])) di = INFINITY;
    if (di > d) d = di;
    if (fabs(y[i]) > m) m = fabs(y[i]);
  }
  free(x);
  free(y);
  return d / m;
}
static double tol(ax_dtype dt) { return dt == AX_FLOAT64 ? 1e-12 : 1e-6; }
static int same(const ax_tensor *a, const ax_tensor *b) { return nerr(a, b) == 0; }

static char *str(const ax_tensor *t) {
  char *s = NULL;
  ax_err e;
  if (ax_tensor_to_string(t, &s, &e)) {
    printf("format: %s\n", e.msg);
    return NULL;
  }
  return s;
}

static void rel(ax_tensor **ts, int n) {
  for (int i = 0; i < n; i++) ax_tensor_release(ts[i]);
}

/* ---- before anything is on the device ---- */
static void test_registry(void) {
  CHECK(ax_backend_loaded(DEV) == NULL);   /* asking does not load: the GC and the debugger ask */
  CHECK(ax_device_mem_live() == 0);
  const ax_backend *be = NULL;
  OK(ax_backend_get(DEV, &be, &e_));
  CHECK(be && !strcmp(be->name, "fake") && ax_backend_loaded(DEV) == be);
  ax_err err;
  ERR(ax_backend_get(((ax_device){AX_DEV_CUDA, 1}), &be, &err), AX_E_DEVICE, "addresses cuda:0 only");
  ax_tensor *c = randn_t(SHP(3, 5), AX_FLOAT32), *d = dev(c);
  CHECK(d && d->storage->device.type == AX_DEV_CUDA && ax_device_mem_live() == 60);
  ax_tensor *v = NULL;
  OK(ax_transpose(d, 0, 1, &v, &e_));   /* views share the storage: no new device bytes */
  CHECK(ax_device_mem_live() == 60);
  ax_tensor_release(d);
  CHECK(ax_device_mem_live() == 60);
  ax_tensor_release(v);
  CHECK(ax_device_mem_live() == 0);
  ax_tensor_release(c);
}

/* ---- item and tolist: one download of the elements asked for ---- */
static void test_item_tolist(void) {
  ax_err err;
  ax_tensor *c = randn_t(SHP(4, 6), AX_FLOAT64), *d = dev(c), *cr = NULL, *dr = NULL, *ce = NULL, *de = NULL;
  OK(ax_select(c, 0, 2, &cr, &e_));
  OK(ax_select(d, 0, 2, &dr, &e_));
  OK(ax_select(cr, 0, 5, &ce, &e_));
  OK(ax_select(dr, 0, 5, &de, &e_));
  double a = 0, b = 1;
  fake_device_stats s0 = fake_device_get_stats();
  OK(ax_item_f64(de, &a, &e_));
  fake_device_stats s1 = fake_device_get_stats();
  OK(ax_item_f64(ce, &b, &e_));
  CHECK(a == b && s1.downloads == s0.downloads + 1 && s1.down_bytes == s0.down_bytes + 8);
  ERR(ax_item_f64(dr, &a, &err), AX_E_VALUE, "a tensor with 6 elements (shape [6]) cannot be converted");
  ax_tensor *ci = NULL, *di = NULL;
  OK(ax_cast(c, AX_INT64, &ci, &e_));
  OK(ax_cast(d, AX_INT64, &di, &e_));
  int64_t ia = 0, ib = 1;
  ax_tensor *cie = NULL, *die = NULL;
  OK(ax_select(ci, 1, 3, &cie, &e_));
  OK(ax_select(di, 1, 3, &die, &e_));
  ax_tensor *cie0 = NULL, *die0 = NULL;
  OK(ax_select(cie, 0, 3, &cie0, &e_));
  OK(ax_select(die, 0, 3, &die0, &e_));
  OK(ax_item_i64(die0, &ia, &e_));
  OK(ax_item_i64(cie0, &ib, &e_));
  CHECK(ia == ib);
  /* tolist of a transposed view: row-major order of the view, one download of 24 elements */
  ax_tensor *ct = NULL, *dt = NULL;
  OK(ax_transpose(c, 0, 1, &ct, &e_));
  OK(ax_transpose(d, 0, 1, &dt, &e_));
  double bc[24], bd[24];
  int64_t ic[4], id[4];
  s0 = fake_device_get_stats();
  OK(ax_to_f64_buffer(dt, bd, &e_));
  s1 = fake_device_get_stats();
  OK(ax_to_f64_buffer(ct, bc, &e_));
  CHECK(!memcmp(bc, bd, sizeof bc) && s1.downloads == s0.downloads + 1 && s1.down_bytes == s0.down_bytes + 24 * 8);
  OK(ax_to_i64_buffer(die, id, &e_));
  OK(ax_to_i64_buffer(cie, ic, &e_));
  CHECK(!memcmp(ic, id, sizeof ic));
  ax_tensor *ts[] = {c, d, cr, dr, ce, de, ci, di, cie, die, cie0, die0, ct, dt};
  rel(ts, 14);
}

/* ---- printing: the CPU's text plus the device suffix; big tensors download only what shows ---- */
/* a without whitespace, and without ",device='cuda:0'" (the suffix wraps lines differently) */
static void squeeze_text(const char *a, char *out, size_t n) {
  size_t k = 0;
  for (; *a && k + 1 < n; a++)
    if (*a != ' ' && *a != '\n') out[k++] = *a;
  out[k] = 0;
  char *d = strstr(out, ",device='cuda:0'");
  if (d) memmove(d, d + 16, strlen(d + 16) + 1);
}

static int prints_as_cpu(const ax_tensor *c, const ax_tensor *d) {
  char *a = str(c), *b = str(d);
  int ok = 0;
  if (a && b) {
    static char x[16384], y[16384];
    squeeze_text(a, x, sizeof x);
    squeeze_text(b, y, sizeof y);
    ok = strstr(b, "device='cuda:0'") && !strstr(a, "device=") && !strcmp(x, y);
    if (!ok) printf("--- device:\n%s\n--- cpu:\n%s\n", b, a);
  }
  ax_str_free(a);
  ax_str_free(b);
  return ok;
}

static void test_print(void) {
  ax_tensor *c = randn_t(SHP(3, 4), AX_FLOAT32), *d = dev(c);
  CHECK(prints_as_cpu(c, d));
  ax_tensor *lit = rt_vals((double[]){1.5, -2, 0.25}, SHP(3), AX_FLOAT64), *dlit = dev(lit);
  CHECK(rt_str_is(dlit, "tensor([ 1.5000, -2.0000,  0.2500], device='cuda:0', dtype=float64)"));
  ax_tensor_release(lit);
  ax_tensor_release(dlit);
  ax_tensor *c64 = randn_t(SHP(5), AX_FLOAT64), *d64 = dev(c64);
  CHECK(prints_as_cpu(c64, d64));
  ax_tensor *cb = NULL, *db = NULL, *ci = NULL, *di = NULL, *zero = rt_vals((double[]){0}, NULL, 0, AX_FLOAT32);
  OK(ax_gt(c, zero, &cb, &e_));   /* a bool tensor */
  ax_tensor_release(zero);
  db = dev(cb);
  CHECK(prints_as_cpu(cb, db));
  OK(ax_cast(c, AX_INT32, &ci, &e_));
  di = dev(ci);
  CHECK(prints_as_cpu(ci, di));
  /* a 0-d tensor and an empty one */
  ax_tensor *c0 = rt_vals((double[]){2.5}, NULL, 0, AX_FLOAT32), *d0 = dev(c0);
  CHECK(prints_as_cpu(c0, d0));
  ax_tensor *ce = NULL, *de = NULL;
  OK(ax_tensor_empty(SHP(0, 3), AX_FLOAT32, AX_CPU, &ce, &e_));
  de = dev(ce);
  CHECK(prints_as_cpu(ce, de));
  /* summarised: [100, 200] shows 6 x 6 elements; [2, 700] 2 x 6; a view with a step */
  ax_tensor *cbig = randn_t(SHP(100, 200), AX_FLOAT32), *dbig = dev(cbig);
  fake_device_stats s0 = fake_device_get_stats();
  CHECK(prints_as_cpu(cbig, dbig));
  fake_device_stats s1 = fake_device_get_stats();
  CHECK(s1.down_bytes - s0.down_bytes == 36 * 4);
  ax_tensor *cw = randn_t(SHP(2, 700), AX_FLOAT64), *dw = dev(cw);
  CHECK(prints_as_cpu(cw, dw));
  ax_tensor *cs = NULL, *ds = NULL;
  OK(ax_slice(cbig, 1, 1, AX_SLICE_NONE, 3, &cs, &e_));
  OK(ax_slice(dbig, 1, 1, AX_SLICE_NONE, 3, &ds, &e_));
  CHECK(prints_as_cpu(cs, ds));
  /* grad_fn and requires_grad suffixes come after the device, as in PyTorch */
  ax_tensor *pc = NULL, *pd = NULL, *yc = NULL, *yd = NULL;
  OK(ax_param(c, &pc, &e_));
  OK(ax_param(d, &pd, &e_));
  CHECK(prints_as_cpu(pc, pd));
  OK(ax_mul(pc, pc, &yc, &e_));
  OK(ax_mul(pd, pd, &yd, &e_));
  CHECK(prints_as_cpu(yc, yd));
  ax_tensor *ts[] = {c, d, c64, d64, cb, db, ci, di, c0, d0, ce, de, cbig, dbig, cw, dw, cs, ds, pc, pd, yc, yd};
  rel(ts, 22);
}

/* ---- fill_ and copy_: the storage's views see the write; versions move ---- */
static void test_fill_copy(void) {
  ax_err err;
  ax_dtype dts[] = {AX_FLOAT32, AX_FLOAT64, AX_INT64, AX_BOOL, AX_FLOAT16};
  for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
    ax_tensor *c0 = randn_t(SHP(4, 5), AX_FLOAT64), *c = NULL;
    OK(ax_cast(c0, dts[k], &c, &e_));
    ax_tensor *d = dev(c), *cv = NULL, *dv = NULL;
    OK(ax_transpose(c, 0, 1, &cv, &e_));   /* a view taken before the writes */
    OK(ax_transpose(d, 0, 1, &dv, &e_));
    uint64_t ver = d->storage->version;
    /* whole tensor, one row (a contiguous run), one column (strided: scatter), a 0-d element */
    ax_tensor *cr = NULL, *dr = NULL, *cc = NULL, *dc = NULL, *ce = NULL, *de = NULL;
    OK(ax_fill_(d, 3, &e_));
    OK(ax_fill_(c, 3, &e_));
    OK(ax_select(c, 0, 1, &cr, &e_));
    OK(ax_select(d, 0, 1, &dr, &e_));
    OK(ax_fill_(cr, -2, &e_));
    OK(ax_fill_(dr, -2, &e_));
    OK(ax_select(c, 1, 3, &cc, &e_));
    OK(ax_select(d, 1, 3, &dc, &e_));
    OK(ax_fill_(cc, 0.5, &e_));
    OK(ax_fill_(dc, 0.5, &e_));
    OK(ax_select(cr, 0, 4, &ce, &e_));
    OK(ax_select(dr, 0, 4, &de, &e_));
    OK(ax_fill_(ce, 7, &e_));
    OK(ax_fill_(de, 7, &e_));
    CHECK(same(d, c) && same(dv, cv) && d->storage->version == ver + 4);
    /* copy_: broadcast rows from the CPU, a transposed device source, an overlapping shift, dtype change */
    ax_tensor *src = rt_vals((double[]){1, 2, 3, 4, 5}, SHP(5), AX_FLOAT64), *dsrc = dev(src);
    OK(ax_copy_(c, src, &e_));
    OK(ax_copy_(d, src, &e_));
    CHECK(same(d, c) && same(dv, cv));
    ax_tensor *sq = randn_t(SHP(5, 4), AX_FLOAT32), *dsq = dev(sq), *sqt = NULL, *dsqt = NULL;
    OK(ax_transpose(sq, 0, 1, &sqt, &e_));
    OK(ax_transpose(dsq, 0, 1, &dsqt, &e_));
    OK(ax_copy_(c, sqt, &e_));
    OK(ax_copy_(d, dsqt, &e_));
    CHECK(same(d, c));
    ax_tensor *a1 = NULL, *a2 = NULL, *b1 = NULL, *b2 = NULL;   /* x[1:] = x[:-1] along dim 1 */
    OK(ax_slice(c, 1, 1, AX_SLICE_NONE, 1, &a1, &e_));
    OK(ax_slice(c, 1, 0, -1, 1, &a2, &e_));
    OK(ax_slice(d, 1, 1, AX_SLICE_NONE, 1, &b1, &e_));
    OK(ax_slice(d, 1, 0, -1, 1, &b2, &e_));
    OK(ax_copy_(a1, a2, &e_));
    OK(ax_copy_(b1, b2, &e_));
    CHECK(same(d, c) && same(dv, cv));
    ERR(ax_copy_(dc, dsrc, &err), AX_E_SHAPE, "copy_: shape [5] cannot be broadcast to [4]");
    /* a CPU tensor from a device source: one download */
    ax_tensor *back = NULL;
    OK(ax_tensor_empty(SHP(4, 5), dts[k], AX_CPU, &back, &e_));
    OK(ax_copy_(back, d, &e_));
    CHECK(same(back, c));
    ax_tensor *ts[] = {c0, c, d, cv, dv, cr, dr, cc, dc, ce, de, src, dsrc, sq, dsq, sqt, dsqt, a1, a2, b1, b2, back};
    rel(ts, 22);
  }
}

/* ---- saving a device tensor (npy, safetensors): the file is the CPU's, byte for byte ---- */
static int same_file(const char *a, const char *b) {
  char *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  ax_err e;
  int ok = !ax_file_read(a, 1 << 20, &x, &nx, &e) && !ax_file_read(b, 1 << 20, &y, &ny, &e) && nx == ny &&
           !memcmp(x, y, nx);
  if (x) ax_free(x, nx + 1);
  if (y) ax_free(y, ny + 1);
  return ok;
}

static void test_save(void) {
  ax_tensor *c = randn_t(SHP(3, 2), AX_FLOAT32), *d = dev(c), *dt = NULL, *ct = NULL;
  OK(ax_transpose(d, 0, 1, &dt, &e_));
  OK(ax_transpose(c, 0, 1, &ct, &e_));
  char pa[64], pb[64];
  snprintf(pa, sizeof pa, "/tmp/anx_test_device_%d_a", (int)getpid());
  snprintf(pb, sizeof pb, "/tmp/anx_test_device_%d_b", (int)getpid());
  OK(ax_npy_save(pa, dt, &e_));
  OK(ax_npy_save(pb, ct, &e_));
  CHECK(same_file(pa, pb));
  ax_tensor_dict da, db;
  ax_tensor_dict_init(&da);
  ax_tensor_dict_init(&db);
  OK(ax_tensor_dict_add(&da, "w", dt, &e_));
  OK(ax_tensor_dict_add(&da, "v", d, &e_));
  OK(ax_tensor_dict_add(&db, "w", ct, &e_));
  OK(ax_tensor_dict_add(&db, "v", c, &e_));
  OK(ax_safetensors_save(pa, &da, &e_));
  OK(ax_safetensors_save(pb, &db, &e_));
  CHECK(same_file(pa, pb));
  ax_tensor_dict_fini(&da);
  ax_tensor_dict_fini(&db);
  unlink(pa);
  unlink(pb);
  ax_tensor *ts[] = {c, d, dt, ct};
  rel(ts, 4);
}

/* ---- gradient clipping ---- */
static void set_grads(ax_tensor **ps, ax_tensor **gs, int n, int on_dev) {
  for (int i = 0; i < n; i++) {
    ax_tensor_release(ps[i]->grad);
    ps[i]->grad = on_dev ? dev(gs[i]) : ax_tensor_retain(gs[i]);
  }
}

static void test_clip(void) {
  ax_err err;
  ax_dtype dts[] = {AX_FLOAT32, AX_FLOAT64};
  double types[] = {2, 1, 3, HUGE_VAL};
  for (int k = 0; k < 2; k++)
    for (int t = 0; t < 4; t++)
      for (int big = 0; big < 2; big++) {   /* big: max_norm below the norm, so gradients scale */
        ax_tensor *g[3] = {randn_t(SHP(4, 3), dts[k]), randn_t(SHP(7), dts[k]), randn_t(SHP(2, 2, 2), dts[k])};
        ax_tensor *pc[3], *pd[3];
        for (int i = 0; i < 3; i++) {
          OK(ax_zeros_like(g[i], &pc[i], &e_));
          pd[i] = dev(pc[i]);
        }
        set_grads(pc, g, 3, 0);
        set_grads(pd, g, 3, 1);
        double tc = -1, td = -2, mx = big ? 0.5 : 1e6;
        OK(ax_clip_grad_norm(pc, 3, mx, types[t], &tc, &e_));
        OK(ax_clip_grad_norm(pd, 3, mx, types[t], &td, &e_));
        CHECK(fabs(tc - td) <= tol(dts[k]) * tc);
        for (int i = 0; i < 3; i++) CHECK(nerr(pd[i]->grad, pc[i]->grad) <= tol(dts[k]));
        /* clip_grad_value on the clipped gradients */
        OK(ax_clip_grad_value(pc, 3, 0.1, &e_));
        OK(ax_clip_grad_value(pd, 3, 0.1, &e_));
        for (int i = 0; i < 3; i++) CHECK(same(pd[i]->grad, pc[i]->grad));
        rel(g, 3);
        rel(pc, 3);
        rel(pd, 3);
      }
  /* a NaN gradient: the total is NaN on both, nothing is scaled */
  ax_tensor *g = rt_vals((double[]){1, NAN, 3}, SHP(3), AX_FLOAT32), *pc = NULL, *pd = NULL;
  OK(ax_zeros_like(g, &pc, &e_));
  pd = dev(pc);
  set_grads(&pc, &g, 1, 0);
  set_grads(&pd, &g, 1, 1);
  for (int t = 0; t < 4; t++) {
    double tc = 0, td = 0;
    OK(ax_clip_grad_norm(&pc, 1, 1.0, types[t], &tc, &e_));
    OK(ax_clip_grad_norm(&pd, 1, 1.0, types[t], &td, &e_));
    CHECK(isnan(tc) && isnan(td) && same(pd->grad, pc->grad));
  }
  /* a strided CPU gradient takes the composed path: same result as its contiguous copy */
  ax_tensor *m = randn_t(SHP(5, 6), AX_FLOAT64), *mt = NULL, *mc = NULL, *p1 = NULL, *p2 = NULL;
  OK(ax_transpose(m, 0, 1, &mt, &e_));
  OK(ax_contiguous(mt, &mc, &e_));
  OK(ax_zeros_like(mc, &p1, &e_));
  OK(ax_zeros_like(mc, &p2, &e_));
  ax_tensor *mcopy = NULL;
  OK(ax_copy(m, &mcopy, &e_));
  ax_tensor *mct = NULL;
  OK(ax_transpose(mcopy, 0, 1, &mct, &e_));
  p1->grad = ax_tensor_retain(mct);
  p2->grad = ax_tensor_retain(mc);
  double t1 = 0, t2 = 0;
  OK(ax_clip_grad_norm(&p1, 1, 0.3, 2, &t1, &e_));
  OK(ax_clip_grad_norm(&p2, 1, 0.3, 2, &t2, &e_));
  CHECK(fabs(t1 - t2) <= 1e-12 * t2 && nerr(p1->grad, p2->grad) <= 1e-12);
  OK(ax_clip_grad_value(&p1, 1, 0.01, &e_));
  OK(ax_clip_grad_value(&p2, 1, 0.01, &e_));
  CHECK(same(p1->grad, p2->grad));
  /* the kernels' argument and dtype errors on both paths */
  double tt;
  ERR(ax_clip_grad_norm(&pd, 1, 1.0, -1, &tt, &err), AX_E_VALUE, "norm_type must be > 0");
  ERR(ax_clip_grad_norm(&pd, 1, -1.0, 2, &tt, &err), AX_E_VALUE, "max_norm must be >= 0");
  ax_tensor *gi = NULL;
  OK(ax_cast(g, AX_FLOAT16, &gi, &e_));
  ax_tensor_release(pd->grad);
  pd->grad = dev(gi);
  ERR(ax_clip_grad_norm(&pd, 1, 1.0, 2, &tt, &err), AX_E_DTYPE, "gradient 0 is float16");
  ERR(ax_clip_grad_value(&pd, 1, 1.0, &err), AX_E_DTYPE, "gradient 0 is float16");
  ax_tensor *ts[] = {g, pc, pd, m, mt, mc, p1, p2, mcopy, mct, gi};
  rel(ts, 11);
}

/* ---- optimizers: rmsprop, adagrad, adadelta, lamb composed on the device vs the CPU kernels;
** sgd and adam through their rows ---- */
static void run_optim(const ax_optim_cfg *cfg, ax_dtype dt, const char *what) {
  enum { NP = 2, STEPS = 3 };
  ax_tensor *pc[NP] = {randn_t(SHP(3, 4), dt), randn_t(SHP(5), dt)}, *pd[NP];
  for (int i = 0; i < NP; i++) pd[i] = dev(pc[i]);
  ax_optim *oc = NULL, *od = NULL;
  OK(ax_optim_new(cfg, pc, NP, &oc, &e_));
  OK(ax_optim_new(cfg, pd, NP, &od, &e_));
  double worst = 0;
  for (int s = 0; s < STEPS; s++) {
    ax_tensor *g[NP] = {randn_t(SHP(3, 4), dt), randn_t(SHP(5), dt)};
    set_grads(pc, g, NP, 0);
    set_grads(pd, g, NP, 1);
    uint64_t v = pd[0]->storage->version;
    OK(ax_optim_step(oc, &e_));
    OK(ax_optim_step(od, &e_));
    CHECK(pd[0]->storage->version > v);   /* stale graphs that saved the parameter are detected */
    rel(g, NP);
  }
  for (int i = 0; i < NP; i++) {
    double e = nerr(pd[i], pc[i]);
    if (e > worst) worst = e;
    CHECK(pd[i]->storage->device.type == AX_DEV_CUDA);
    for (int k = 0; k < AX_OPTIM_NSTATE; k++) {
      CHECK(!oc->slots[i].state[k] == !od->slots[i].state[k]);
      if (!od->slots[i].state[k]) continue;
      CHECK(od->slots[i].state[k]->storage->device.type == AX_DEV_CUDA);
      e = nerr(od->slots[i].state[k], oc->slots[i].state[k]);
      if (e > worst) worst = e;
    }
  }
  if (!(worst <= tol(dt))) {
    rt_fail++;
    printf("optimizer %s (%s): normalised error %g\n", what, ax_dtype_name(dt), worst);
  }
  rt_checks++;
  ax_optim_free(oc);
  ax_optim_free(od);
  rel(pc, NP);
  rel(pd, NP);
}

static void test_optim(void) {
  ax_dtype dts[] = {AX_FLOAT32, AX_FLOAT64};
  for (int k = 0; k < 2; k++) {
    ax_optim_cfg c;
    ax_optim_defaults(AX_OPTIM_RMSPROP, &c);
    run_optim(&c, dts[k], "rmsprop");
    c.centered = 1, c.momentum = 0.9, c.weight_decay = 0.01;
    run_optim(&c, dts[k], "rmsprop centered momentum wd");
    c.maximize = 1, c.centered = 0;
    run_optim(&c, dts[k], "rmsprop maximize");
    ax_optim_defaults(AX_OPTIM_ADAGRAD, &c);
    run_optim(&c, dts[k], "adagrad");
    c.lr_decay = 0.1, c.weight_decay = 0.05, c.initial_accumulator = 0.3, c.maximize = 1;
    run_optim(&c, dts[k], "adagrad lr_decay wd accumulator maximize");
    ax_optim_defaults(AX_OPTIM_ADADELTA, &c);
    run_optim(&c, dts[k], "adadelta");
    c.weight_decay = 0.02, c.maximize = 1;
    run_optim(&c, dts[k], "adadelta wd maximize");
    ax_optim_defaults(AX_OPTIM_LAMB, &c);
    run_optim(&c, dts[k], "lamb");
    c.weight_decay = 0.01;
    run_optim(&c, dts[k], "lamb wd");
    ax_optim_defaults(AX_OPTIM_SGD, &c);
    c.momentum = 0.9;
    run_optim(&c, dts[k], "sgd momentum");
    ax_optim_defaults(AX_OPTIM_ADAMW, &c);
    c.amsgrad = 1;
    run_optim(&c, dts[k], "adamw amsgrad");
  }
  /* the kernels' argument checks hold on the composed path too */
  ax_err err;
  ax_optim_cfg c;
  ax_optim_defaults(AX_OPTIM_ADADELTA, &c);
  c.rho = 1.5;
  ax_tensor *p0 = randn_t(SHP(2), AX_FLOAT32), *p = dev(p0), *g = randn_t(SHP(2), AX_FLOAT32);
  ax_optim *o = NULL;
  OK(ax_optim_new(&c, &p, 1, &o, &e_));
  p->grad = dev(g);
  ERR(ax_optim_step(o, &err), AX_E_VALUE, "adadelta: rho must be in [0, 1]");
  ax_tensor_release(p->grad);   /* a gradient left on another device than its parameter */
  p->grad = ax_tensor_retain(g);
  ERR(ax_optim_step(o, &err), AX_E_DEVICE, "adadelta: parameter 0 is on cuda:0 but its gradient on cpu");
  ax_optim_free(o);
  ax_tensor *ts[] = {p0, p, g};
  rel(ts, 3);
}

int main(void) {
  if (fake_device_install()) return 1;
  ax_seed(5);
  test_registry();
  test_item_tolist();
  test_print();
  test_fill_copy();
  test_save();
  test_clip();
  test_optim();
  CHECK(ax_device_mem_live() == 0);   /* every device byte came back */
  fake_device_stats s = fake_device_get_stats();
  CHECK(s.in_use == 0 && s.allocs == s.frees);
  printf("fake device: %llu kernels, %llu uploads (%llu B), %llu downloads (%llu B)\n", (unsigned long long)s.kernels,
         (unsigned long long)s.uploads, (unsigned long long)s.up_bytes, (unsigned long long)s.downloads,
         (unsigned long long)s.down_bytes);
  return RT_DONE();
}
