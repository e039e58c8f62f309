/* runtime/cuda/attention_tc.cuh — the tensor-core forward of the attention row for float16 and
** bfloat16 inputs (FlashAttention-2 forward): a block of 4 warps owns 64 query rows (16 per warp),
** K/V tiles of 64 keys are staged in shared memory (double-buffered copies), S = Q K^T and
** O += P V are 16x16x16 MMAs with float accumulators, the online softmax runs in float32.
** Written once against an MMA policy P (attention.cu: WMMA + cp.async; tests/cuda/test_cuda_host.cpp:
** a plain-loop emulation whose accumulator-to-lane map is scrambled on purpose) and a block
** executor X (threads / sync / warps; each warp's lanes(f) runs f on its 32 lanes, then syncs
** the warp). Needs attention.cuh (ATT_BLOCK, ATT_UNROLL) first.
** Invariants: within one lanes() step no lane reads a shared cell another lane writes; nothing
** assumes which accumulator element a lane holds (the row of each is read once from an iota
** matrix); out = O / l and lse = m + log(l) exactly as attention.inc defines them (0 and -inf for
** a row that sees no key). Domain (attention.cu checks it): d == dv in {64, 128}, contiguous
** [b, h, t, d] inputs, no mask, causal or not. */
#ifndef AX_CUDA_ATTENTION_TC_CUH
#define AX_CUDA_ATTENTION_TC_CUH

#define TC_WARPS 4
#define TC_THREADS (32 * TC_WARPS)
#define TC_BR (16 * TC_WARPS)   /* query rows per block */
#define TC_BC 64                /* keys per tile */
#define TC_HPAD 8               /* halves of padding per Q/K/V/P row (16 bytes: rows stay 32-byte aligned per 16) */

template <typename H> struct tc_args {
  int64_t b, h, t, s;   /* d = dv = the template's D */
  float scale;
  int causal;
  const H *q, *k, *v;
  H *out;       /* [b, h, t, D] */
  float *lse;   /* [b, h, t] */
};

/* Shared memory of one block. Q is read into registers once, so its tile shares storage with
** the warps' float scratch (S of a tile, then O on the way out). Every array starts 32-byte
** aligned and every fragment pointer is a multiple of 16 rows / 16 columns into it (WMMA needs
** 256-bit aligned pointers; ldm a multiple of 8 halves / 4 floats). */
template <typename H, int D> struct tc_smem {
  static constexpr int LD = D + TC_HPAD;    /* halves per Q / K / V row */
  static constexpr int SW = TC_BC + 4;      /* floats per scratch row */
  static constexpr int PL = TC_BC + TC_HPAD;   /* halves per P row */
  union {
    alignas(32) H q[TC_BR * LD];
    alignas(32) float sc[TC_WARPS][16 * SW];
  } u;
  alignas(32) H k[2][TC_BC * LD];
  alignas(32) H v[2][TC_BC * LD];
  alignas(32) H p[TC_WARPS][16 * PL];
  float red[TC_WARPS][2][32];   /* per-lane partial row max [0] and row sum [1] */
  float m[TC_WARPS][16], l[TC_WARPS][16], corr[TC_WARPS][16];
};

/* A warp's registers: Q's fragments, O's accumulators (D / 16 column blocks of 16). */
template <class P, int D> struct tc_warp_state {
  typename P::fa qf[D / 16];
  typename P::fc o[D / 16];
};
/* A lane's registers: the tile row of each of its accumulator elements. */
template <class P> struct tc_lane {
  int rm[P::NE];
};

template <int D> inline int64_t tc_units(int64_t b, int64_t h, int64_t t) { return b * h * ((t + TC_BR - 1) / TC_BR); }

/* rows [r0, r0 + TC_BC or TC_BR) of a contiguous [n, D] matrix into a [rows][LD] tile, 16 bytes
** per copy; rows past n are zeros (P V must not meet garbage: 0 * NaN is NaN) */
template <class P, int D>
ATT_BLOCK void tc_stage(typename P::H *dst, const typename P::H *src, int64_t r0, int64_t n, int rows, int tid) {
  constexpr int CPR = D / 8, LD = D + TC_HPAD;   /* 16-byte chunks per row */
  for (int c = tid; c < rows * CPR; c += TC_THREADS) {
    const int r = c / CPR, c8 = (c % CPR) * 8;
    if (r0 + r < n) P::cp16(dst + r * LD + c8, src + (r0 + r) * D + c8);
    else P::zero16(dst + r * LD + c8);
  }
}

/* One block: query rows [i0, i0 + 64) of head bh = unit / tiles. */
template <class P, int D, class X>
ATT_BLOCK void tc_fwd_block(X &x, tc_smem<typename P::H, D> &sh, const tc_args<typename P::H> &a, int64_t unit) {
  typedef typename P::H H;
  typedef tc_smem<H, D> S;
  typedef tc_warp_state<P, D> W;
  typedef tc_lane<P> L;
  constexpr int NB = D / 16, KB = TC_BC / 16;
  const int64_t nqt = (a.t + TC_BR - 1) / TC_BR, bh = unit / nqt, i0 = (unit % nqt) * TC_BR;
  const H *qh = a.q + bh * a.t * D, *kh = a.k + bh * a.s * D, *vh = a.v + bh * a.s * D;
  /* causal: the block's last query is i0 + 63, so keys from i0 + 64 on are hidden from all rows */
  const int64_t send = a.causal && i0 + TC_BR < a.s ? i0 + TC_BR : a.s;
  const int64_t ntiles = (send + TC_BC - 1) / TC_BC;

  x.threads([&](int tid) { tc_stage<P, D>(sh.u.q, qh, i0, a.t, TC_BR, tid); });
  P::commit();
  x.threads([&](int tid) {
    tc_stage<P, D>(sh.k[0], kh, 0, a.s, TC_BC, tid);
    tc_stage<P, D>(sh.v[0], vh, 0, a.s, TC_BC, tid);
  });
  P::commit();
  P::template wait<1>();   /* Q has landed (the older group) */
  x.sync();
  x.warps([&](int w, auto &wx, W &st) {
    for (int kk = 0; kk < NB; kk++) P::load_a(st.qf[kk], sh.u.q + w * 16 * S::LD + kk * 16, S::LD);
    for (int nb = 0; nb < NB; nb++) P::zero(st.o[nb]);
    (void)wx;
  });
  x.sync();   /* every warp holds its Q: the scratch (Q's storage) may be written */
  x.warps([&](int w, auto &wx, W &st) {
    float *sc = sh.u.sc[w];
    wx.lanes([&](int lane, L &) {
      for (int e = lane; e < 256; e += 32) sc[(e / 16) * S::SW + e % 16] = (float)(e / 16);
      if (lane < 16) sh.m[w][lane] = -INFINITY, sh.l[w][lane] = 0, sh.corr[w][lane] = 1;
    });
    typename P::fc rows;
    P::load_c(rows, sc, S::SW);   /* the iota matrix: element i of a lane lies in tile row rm[i] */
    wx.lanes([&](int lane, L &r) {
      for (int i = 0; i < P::NE; i++) r.rm[i] = (int)P::el(rows, lane, i);
    });
    (void)st;
  });

  for (int64_t jt = 0; jt < ntiles; jt++) {
    const int buf = (int)(jt & 1);
    const int64_t j0 = jt * TC_BC;
    if (jt + 1 < ntiles) {   /* the other buffer was last read before the previous tile's final sync */
      x.threads([&](int tid) {
        tc_stage<P, D>(sh.k[buf ^ 1], kh, j0 + TC_BC, a.s, TC_BC, tid);
        tc_stage<P, D>(sh.v[buf ^ 1], vh, j0 + TC_BC, a.s, TC_BC, tid);
      });
      P::commit();
      P::template wait<1>();
    } else {
      P::template wait<0>();
    }
    x.sync();
    x.warps([&](int w, auto &wx, W &st) {
      const int64_t qi0 = i0 + 16 * w;
      /* rows past t, or (causal) a tile whose every key follows the warp's last query: nothing
      ** to add (attention.inc's result is the same: a fully hidden tile leaves m, l and O as they are) */
      if (qi0 >= a.t || (a.causal && j0 > qi0 + 15)) return;
      float *sc = sh.u.sc[w];
      H *pw = sh.p[w];
      for (int nb = 0; nb < KB; nb++) {   /* S = Q K^T, 16 keys at a time */
        typename P::fc s;
        P::zero(s);
        for (int kk = 0; kk < NB; kk++) {
          typename P::fbc kf;
          P::load_bc(kf, sh.k[buf] + nb * 16 * S::LD + kk * 16, S::LD);
          P::mma(s, st.qf[kk], kf, s);
        }
        P::store_c(sc + nb * 16, s, S::SW);
      }
      wx.sync();
      /* two lanes per row, interleaved columns: scale, hide, partial max */
      wx.lanes([&](int lane, L &) {
        const int r = lane >> 1;
        const int64_t i = qi0 + r;
        float mx = -INFINITY;
        for (int c = lane & 1; c < TC_BC; c += 2) {
          const int64_t j = j0 + c;
          const float v = (i >= a.t || j >= a.s || (a.causal && j > i)) ? -INFINITY : sc[r * S::SW + c] * a.scale;
          sc[r * S::SW + c] = v;
          mx = v > mx ? v : mx;
        }
        sh.red[w][0][lane] = mx;
      });
      /* P = exp(S - m_new) into the half tile, partial sums of the unrounded values */
      wx.lanes([&](int lane, L &) {
        const int r = lane >> 1;
        float mx = sh.m[w][r];
        mx = sh.red[w][0][2 * r] > mx ? sh.red[w][0][2 * r] : mx;
        mx = sh.red[w][0][2 * r + 1] > mx ? sh.red[w][0][2 * r + 1] : mx;
        float sum = 0;
        for (int c = lane & 1; c < TC_BC; c += 2) {
          const float p = mx == -INFINITY ? 0.0f : exp(sc[r * S::SW + c] - mx);
          pw[r * S::PL + c] = P::to_h(p);
          sum += p;
        }
        sh.red[w][1][lane] = sum;
      });
      /* the row's statistics (even lanes): m, l and this tile's rescale of O */
      wx.lanes([&](int lane, L &) {
        if (lane & 1) return;
        const int r = lane >> 1;
        float mx = sh.m[w][r];
        mx = sh.red[w][0][2 * r] > mx ? sh.red[w][0][2 * r] : mx;
        mx = sh.red[w][0][2 * r + 1] > mx ? sh.red[w][0][2 * r + 1] : mx;
        float corr = 1;
        if (mx != -INFINITY) {   /* attention.inc: a row with nothing visible yet is left alone */
          corr = exp(sh.m[w][r] - mx);   /* exp(-inf) = 0 on the first visible tile */
          sh.l[w][r] = sh.l[w][r] * corr + (sh.red[w][1][2 * r] + sh.red[w][1][2 * r + 1]);
          sh.m[w][r] = mx;
        }
        sh.corr[w][r] = corr;
      });
      wx.lanes([&](int lane, L &rg) {
        for (int nb = 0; nb < NB; nb++)
          for (int i = 0; i < P::NE; i++) P::el(st.o[nb], lane, i) *= sh.corr[w][rg.rm[i]];
      });
      for (int kk = 0; kk < KB; kk++) {   /* O += P V */
        typename P::fa pf;
        P::load_a(pf, pw + kk * 16, S::PL);
        for (int nb = 0; nb < NB; nb++) {
          typename P::fbr vf;
          P::load_br(vf, sh.v[buf] + kk * 16 * S::LD + nb * 16, S::LD);
          P::mma(st.o[nb], pf, vf, st.o[nb]);
        }
      }
      wx.sync();
    });
    x.sync();
  }

  /* out = O / l in the half type, 64 columns at a time through the scratch; lse = m + log(l) */
  x.warps([&](int w, auto &wx, W &st) {
    const int64_t qi0 = i0 + 16 * w;
    if (qi0 >= a.t) return;
    float *sc = sh.u.sc[w];
    for (int c0 = 0; c0 < D; c0 += TC_BC) {
      for (int f = 0; f < TC_BC / 16; f++) P::store_c(sc + f * 16, st.o[c0 / 16 + f], S::SW);
      wx.sync();
      wx.lanes([&](int lane, L &) {
        for (int r = 0; r < 16 && qi0 + r < a.t; r++) {
          const float l = sh.l[w][r], inv = l > 0 ? 1 / l : 0.0f;
          H *orow = a.out + (bh * a.t + qi0 + r) * D + c0;
          orow[2 * lane] = P::to_h(sc[r * S::SW + 2 * lane] * inv);
          orow[2 * lane + 1] = P::to_h(sc[r * S::SW + 2 * lane + 1] * inv);
        }
        if (c0 == 0 && lane < 16 && qi0 + lane < a.t) {
          const float l = sh.l[w][lane];
          a.lse[bh * a.t + qi0 + lane] = l > 0 ? sh.m[w][lane] + log(l) : -INFINITY;
        }
      });
    }
  });
  x.sync();   /* the next unit of this block restages Q over the scratch */
}

#endif
