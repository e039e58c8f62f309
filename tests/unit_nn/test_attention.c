/* tests/unit_nn/test_attention.c — streaming attention vs the naive float64 softmax(QK^T)V
** (several tiles in both directions, causal, additive masks with -inf, fully masked rows),
** gradient checks of dq, dk, dv, and float32.
** Invariant: the reference materialises the full score matrix, the kernel never does. */
#include "test_nn.h"

typedef struct {
  ax_nn_attention_desc a;
  double *q, *k, *v, *mask;
} att_ctx;

static void ref_att(void *p, double *out) {
  att_ctx *c = p;
  const ax_nn_attention_desc *a = &c->a;
  double *s = malloc((size_t)a->s * sizeof *s);
  for (int64_t bh = 0; bh < a->b * a->h; bh++)
    for (int64_t i = 0; i < a->t; i++) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < a->s; j++) {
        double d = 0;
        for (int64_t x = 0; x < a->d; x++)
          d += c->q[(bh * a->t + i) * a->d + x] * c->k[(bh * a->s + j) * a->d + x];
        double mv = 0;
        if (c->mask && !a->mask_strided) mv = c->mask[i * a->s + j];
        if (c->mask && a->mask_strided)
          mv = c->mask[(bh / a->h) * a->mask_sb + (bh % a->h) * a->mask_sh + i * a->mask_st + j];
        s[j] = d * a->scale + mv;
        if (a->causal && j > i) s[j] = -INFINITY;
        if (s[j] > mx) mx = s[j];
      }
      double z = 0;
      for (int64_t j = 0; j < a->s; j++) z += s[j] = mx == -INFINITY ? 0 : exp(s[j] - mx);
      for (int64_t x = 0; x < a->dv; x++) {
        double o = 0;
        for (int64_t j = 0; j < a->s; j++) o += s[j] * c->v[(bh * a->s + j) * a->dv + x];
        out[(bh * a->t + i) * a->dv + x] = z > 0 ? o / z : 0;
      }
    }
  free(s);
}

static void check_att(const char *name, ax_nn_attention_desc a, int with_mask, int hide_row) {
  ax_err e = {0};
  int64_t nq = a.b * a.h * a.t * a.d, nk = a.b * a.h * a.s * a.d, nv = a.b * a.h * a.s * a.dv;
  int64_t no = a.b * a.h * a.t * a.dv;
  double *q = tn_randv(nq), *k = tn_randv(nk), *v = tn_randv(nv), *mask = NULL;
  int64_t nm = a.t * a.s;
  if (with_mask == 2) nm = a.b * a.s, a.mask_strided = 1, a.mask_sb = a.s;   /* key padding */
  if (with_mask == 3)
    nm = a.b * a.h * a.t * a.s, a.mask_strided = 1, a.mask_sb = a.h * a.t * a.s,
    a.mask_sh = a.t * a.s, a.mask_st = a.s;
  if (with_mask) {
    mask = tn_randv(nm);
    for (int64_t i = 0; i < nm; i += 7) mask[i] = -INFINITY;
    if (hide_row)
      for (int64_t j = 0; j < a.s; j++) mask[1 * a.s + j] = -INFINITY;   /* row 1 sees nothing */
  }
  double *o = tn_zeros(no), *oref = tn_zeros(no), *lse = tn_zeros(a.b * a.h * a.t), *r = tn_randv(no);
  att_ctx c = {a, q, k, v, mask};
  ref_att(&c, oref);
  CHECK_OK(ax_nn_attention_fwd_f64(&a, q, k, v, mask, o, lse, &e), &e);
  char what[96];
  snprintf(what, sizeof what, "attention fwd %s", name);
  tn_close(what, o, oref, no, 1e-12, 1e-10);
  if (hide_row) CHECK(lse[1] == -INFINITY && o[1 * a.dv] == 0);
  double *dq = tn_zeros(nq), *dk = tn_zeros(nk), *dv = tn_zeros(nv);
  CHECK_OK(ax_nn_attention_bwd_f64(&a, q, k, v, mask, o, lse, r, dq, dk, dv, &e), &e);
  snprintf(what, sizeof what, "attention dq %s", name);
  tn_gradcheck(what, ref_att, &c, q, nq, dq, r, no);
  snprintf(what, sizeof what, "attention dk %s", name);
  tn_gradcheck(what, ref_att, &c, k, nk, dk, r, no);
  snprintf(what, sizeof what, "attention dv %s", name);
  tn_gradcheck(what, ref_att, &c, v, nv, dv, r, no);
  /* dv alone matches */
  double *dv2 = tn_zeros(nv);
  CHECK_OK(ax_nn_attention_bwd_f64(&a, q, k, v, mask, o, lse, r, NULL, NULL, dv2, &e), &e);
  snprintf(what, sizeof what, "attention dv only %s", name);
  tn_close(what, dv2, dv, nv, 1e-14, 1e-12);
  float *qf = tn_to_f32(q, nq), *kf = tn_to_f32(k, nk), *vf = tn_to_f32(v, nv);
  float *mf = mask ? tn_to_f32(mask, nm) : NULL, *of = malloc((size_t)no * 4);
  float *lf = malloc((size_t)(a.b * a.h * a.t) * 4), *rf = tn_to_f32(r, no);
  float *dqf = malloc((size_t)nq * 4), *dkf = malloc((size_t)nk * 4), *dvf = malloc((size_t)nv * 4);
  CHECK_OK(ax_nn_attention_fwd_f32(&a, qf, kf, vf, mf, of, lf, &e), &e);
  snprintf(what, sizeof what, "attention fwd f32 %s", name);
  tn_close_f32(what, of, oref, no, 1e-5, 1e-4);
  CHECK_OK(ax_nn_attention_bwd_f32(&a, qf, kf, vf, mf, of, lf, rf, dqf, dkf, dvf, &e), &e);
  snprintf(what, sizeof what, "attention dq f32 %s", name);
  tn_close_f32(what, dqf, dq, nq, 1e-4, 1e-3);
  snprintf(what, sizeof what, "attention dk f32 %s", name);
  tn_close_f32(what, dkf, dk, nk, 1e-4, 1e-3);
  snprintf(what, sizeof what, "attention dv f32 %s", name);
  tn_close_f32(what, dvf, dv, nv, 1e-4, 1e-3);
  free(q), free(k), free(v), free(mask), free(o), free(oref), free(lse), free(r), free(dq), free(dk);
  free(dv), free(dv2), free(qf), free(kf), free(vf), free(mf), free(of), free(lf), free(rf);
  free(dqf), free(dkf), free(dvf);
}

#define ATT(b_, h_, t_, s_, d_, dv_, sc_, causal_) \
  ((ax_nn_attention_desc){.b = b_, .h = h_, .t = t_, .s = s_, .d = d_, .dv = dv_, .scale = sc_, .causal = causal_})

void test_attention(void) {
  check_att("small", ATT(2, 2, 5, 7, 4, 3, 0.5, 0), 0, 0);
  check_att("causal", ATT(1, 2, 6, 6, 3, 4, 1 / sqrt(3.0), 1), 0, 0);
  check_att("mask", ATT(1, 2, 5, 6, 4, 4, 0.5, 0), 1, 1);
  check_att("causal mask cross", ATT(2, 1, 7, 4, 3, 2, 0.7, 1), 1, 0);
  check_att("key padding mask", ATT(3, 2, 4, 5, 3, 3, 0.6, 0), 2, 0);
  check_att("per-head mask", ATT(2, 3, 4, 5, 2, 3, 0.6, 1), 3, 0);
  /* several query tiles (64) and key tiles (128); the reference is costly, check a subset */
  tn_gradcheck_max = 150;
  check_att("tiled", ATT(1, 2, 150, 300, 8, 5, 0.35, 0), 0, 0);
  check_att("tiled causal", ATT(2, 1, 200, 200, 6, 6, 0.4, 1), 1, 0);
  tn_gradcheck_max = 2000;
  ax_err e = {0};
  ax_nn_attention_desc bad = ATT(1, 1, 0, 3, 2, 2, 1, 0);
  float buf[16];
  CHECK(ax_nn_attention_fwd_f32(&bad, buf, buf, buf, NULL, buf, buf, &e) == AX_E_SHAPE);
}
