/* runtime/cuda/attention.cuh — the block algorithm of the fused attention kernels (attention.cu):
** tile sizes, shared-memory layout, per-thread state, the per-step element code (CU_HD) and the
** three block drivers (forward, backward dK/dV, backward dQ), written once against an executor X
** whose each(f) runs f(tid, registers of tid) on every thread of the block and then synchronises
** it. attention.cu's executor is one thread plus __syncthreads(); tests/cuda/test_cuda_host.cpp's
** is a loop over the 256 threads, so the host runs this very code against neural/attention.inc.
** Needs ax_nn_kernels.h (the descriptor, ax_err_set) included first.
** Invariants: within one step a thread writes only shared cells that no other thread reads or
** writes in that step (so a sequential loop over the threads computes what the device does);
** the T x S scores exist only as one [ATT_ROWS, ATT_COLS] tile per block (registers + shared
** memory), never in global memory; every output element is written by exactly one block. */
#ifndef AX_CUDA_ATTENTION_CUH
#define AX_CUDA_ATTENTION_CUH

#include "cuda_hd.h"

#ifdef __CUDA_ARCH__   /* nvcc's device pass (its host pass would warn about the pragma) */
#define ATT_UNROLL _Pragma("unroll")
#else
#define ATT_UNROLL
#endif
#ifdef __CUDACC__
#define ATT_BLOCK __device__ __forceinline__   /* the drivers call the executor's __device__ each() */
#else
#define ATT_BLOCK inline
#endif

/* A block is 256 threads over a tile of 32 rows x 64 columns: thread tid owns row tid / 8 and the
** 8 columns tid % 8 + 8m (m = 0..7), so a row's 8 threads are 8 consecutive lanes of one warp.
** Rows are queries in the forward and dQ passes (columns: keys) and keys in the dK/dV pass
** (columns: queries). */
#define ATT_THREADS 256
#define ATT_ROWS 32
#define ATT_COLS 64
#define ATT_LANES 8
#define ATT_CPT (ATT_COLS / ATT_LANES)   /* tile columns per thread */

/* LC: contraction chunk (of d or dv) staged in shared memory per step; OC: output columns (of dv
** or d) one block accumulates in registers (OC / 8 per thread). Wider heads take more chunks
** (LC) or more blocks (OC, grid.y), each recomputing its tile's scores. Sized so att_smem stays
** under the 48 KiB of static shared memory: 35 KiB for float, 46 KiB for double. */
template <typename T> struct att_tile;
template <> struct att_tile<float> {
  static constexpr int LC = 64, OC = 64;
};
template <> struct att_tile<double> {
  static constexpr int LC = 32, OC = 32;
};

template <typename T> struct att_smem {
  static constexpr int LC = att_tile<T>::LC, OC = att_tile<T>::OC;
  static constexpr int AW = LC + 1;                     /* +1: rows in different banks */
  static constexpr int BW = (LC > OC ? LC : OC) + 1;
  static constexpr int PW = ATT_COLS + 1;
  T a[ATT_ROWS * AW];           /* row operand, one contraction chunk: [ROWS, LC] */
  T b[ATT_COLS * BW];           /* column operand chunk [COLS, LC], or the accumulated one [COLS, OC] */
  T p[ATT_ROWS * PW];           /* P (forward, dV) or dS (dK, dQ) of the tile */
  T red[2][ATT_THREADS];        /* forward: per-thread partial row max [0] and row sum [1] */
  T col[2][ATT_COLS];           /* dK/dV: lse [0] and D [1] of the tile's queries */
};

template <typename T> struct att_regs {
  static constexpr int NO = att_tile<T>::OC / ATT_LANES;
  T s[ATT_CPT];     /* the thread's scores, then P */
  T g[ATT_CPT];     /* dP */
  T acc[NO];        /* out (forward), dV (dK/dV pass), dQ (dQ pass): columns lane + 8m of the block's chunk */
  T acc2[NO];       /* dK */
  T m, l, corr;     /* forward: running max, sum, last rescale (same in a row's 8 threads); dQ: lse, D */
};

/* One call's sizes and buffers (contiguous [b, h, rows, cols] like attention.inc's). */
template <typename T> struct att_args {
  int64_t b, h, t, s, d, dv;
  T scale;
  int causal;
  const T *mask;                          /* NULL: none */
  int mask_strided;
  int64_t msb, msh, mst;
  const T *q, *k, *v;
  const T *o, *dout, *lse_in, *delta;     /* backward inputs; delta = rowsum(dout * o), [b, h, t] */
  T *out, *lse;                           /* forward outputs */
  T *gq, *gk, *gv;                        /* backward outputs */
};

template <typename T> inline att_args<T> att_args_of(const ax_nn_attention_desc &d) {
  att_args<T> a = {};
  a.b = d.b, a.h = d.h, a.t = d.t, a.s = d.s, a.d = d.d, a.dv = d.dv;
  a.scale = (T)d.scale;
  a.causal = d.causal;
  a.mask_strided = d.mask_strided;
  a.msb = d.mask_sb, a.msh = d.mask_sh, a.mst = d.mask_st;
  return a;
}

/* attention.c's att_check, message for message (the CUDA rows and the host test call it). */
static inline ax_status att_check(const ax_nn_attention_desc *a, const char *op, ax_err *err) {
  if (!a) return ax_err_set(err, AX_E_VALUE, "%s: no descriptor", op);
  if (a->b <= 0 || a->h <= 0 || a->t <= 0 || a->s <= 0 || a->d <= 0 || a->dv <= 0)
    return ax_err_set(err, AX_E_SHAPE,
                      "%s: sizes must be positive (b %lld, h %lld, t %lld, s %lld, d %lld, dv %lld)",
                      op, (long long)a->b, (long long)a->h, (long long)a->t, (long long)a->s,
                      (long long)a->d, (long long)a->dv);
  if (!(a->scale == a->scale) || isinf(a->scale))
    return ax_err_set(err, AX_E_VALUE, "%s: scale must be finite", op);
  if (a->mask_strided && (a->mask_sb < 0 || a->mask_sh < 0 || a->mask_st < 0))
    return ax_err_set(err, AX_E_VALUE, "%s: mask strides must be >= 0", op);
  if (a->d > (1 << 20) || a->dv > (1 << 20) || a->t > ((int64_t)1 << 30) || a->s > ((int64_t)1 << 30))
    return ax_err_set(err, AX_E_LIMIT, "%s: sizes too large", op);
  return AX_OK;
}

/* Launch geometry: blocks along x (a grid-stride loop goes over the units) and y. */
template <typename T> inline int64_t att_fwd_units(const att_args<T> &a) { return a.b * a.h * ((a.t + ATT_ROWS - 1) / ATT_ROWS); }
template <typename T> inline int att_fwd_ychunks(const att_args<T> &a) { return (int)((a.dv + att_tile<T>::OC - 1) / att_tile<T>::OC); }
template <typename T> inline int64_t att_kv_units(const att_args<T> &a) { return a.b * a.h * ((a.s + ATT_ROWS - 1) / ATT_ROWS); }
template <typename T> inline int att_kv_ychunks(const att_args<T> &a) {
  const int64_t m = a.d > a.dv ? a.d : a.dv;
  return (int)((m + att_tile<T>::OC - 1) / att_tile<T>::OC);
}
template <typename T> inline int att_q_ychunks(const att_args<T> &a) { return (int)((a.d + att_tile<T>::OC - 1) / att_tile<T>::OC); }

/* ---- element code ---- */

/* The mask rows of head bh and their stride (attention.inc's att_mask); NULL without a mask. */
template <typename T> CU_HD const T *att_mask_head(const att_args<T> &a, int64_t bh, int64_t *rs) {
  if (!a.mask) return (const T *)0;
  if (!a.mask_strided) {
    *rs = a.s;
    return a.mask;
  }
  *rs = a.mst;
  return a.mask + (bh / a.h) * a.msb + (bh % a.h) * a.msh;
}

/* Score of query i and key j from their dot product: dot * scale + mask, or -inf when i or j
** lies outside the sequences or causal hides key j (j > i), as attention.inc's att_scores. */
template <typename T> CU_HD T att_score(const att_args<T> &a, const T *mh, int64_t mrs, int64_t i, int64_t j, T dot) {
  if (i >= a.t || j >= a.s || (a.causal && j > i)) return (T)-INFINITY;
  const T v = dot * a.scale;
  return mh ? v + mh[i * mrs + j] : v;
}

/* Backward's recomputed probability exp(score - lse): exactly 0 for hidden cells and rows that
** see no key (lse = -inf), as attention.inc's backward. */
template <typename T> CU_HD T att_prob(const att_args<T> &a, const T *mh, int64_t mrs, int64_t i, int64_t j, T dot, T lse) {
  if (i >= a.t || j >= a.s || (a.causal && j > i) || lse == (T)-INFINITY) return (T)0;
  return exp(att_score(a, mh, mrs, i, j, dot) - lse);
}

/* D_i = rowsum(dout * o) of row i, summed as nn_vec.inc's vdot (8 partial sums). */
template <typename T> CU_HD void att_delta_at(const T *dout, const T *o, int64_t dv, T *delta, int64_t i) {
  const T *x = dout + i * dv, *y = o + i * dv;
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t e = 0;
  for (; e + 8 <= dv; e += 8)
    for (int k = 0; k < 8; k++) acc[k] += x[e + k] * y[e + k];
  T s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; e < dv; e++) s += x[e] * y[e];
  delta[i] = s;
}

/* Cooperative copy: dst[r * ld_dst + c] = src[(r0 + r) * ld + c0 + c] for r < rows, c < cols,
** 0 where r0 + r >= nr or c0 + c >= nc. Consecutive threads read consecutive columns. */
template <typename T>
CU_HD void att_stage(T *dst, int ld_dst, int rows, int cols, const T *src, int64_t ld, int64_t r0, int64_t nr, int64_t c0,
                     int64_t nc, int tid) {
  for (int e = tid; e < rows * cols; e += ATT_THREADS) {
    const int r = e / cols, c = e % cols;
    dst[r * ld_dst + c] = r0 + r < nr && c0 + c < nc ? src[(r0 + r) * ld + c0 + c] : (T)0;
  }
}

/* acc[m] (= or +=) sum over the first kc staged columns k of a[row][k] * b[lane + 8m][k]. */
template <typename T> CU_HD void att_dot_step(const att_smem<T> &sh, int tid, int kc, int first, T *acc) {
  const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
  if (first) {
    ATT_UNROLL
    for (int m = 0; m < ATT_CPT; m++) acc[m] = (T)0;
  }
  const T *ar = sh.a + row * att_smem<T>::AW;
  const T *bc = sh.b + lane * att_smem<T>::BW;
  for (int k = 0; k < kc; k++) {
    const T x = ar[k];
    ATT_UNROLL
    for (int m = 0; m < ATT_CPT; m++) acc[m] += x * bc[m * ATT_LANES * att_smem<T>::BW + k];
  }
}

/* acc[m] += sum over the tile's columns c of p[row][c] * b[c][lane + 8m] (P or dS times the
** staged [COLS, OC] chunk; P is 0 on hidden and out-of-range columns, b is 0 on missing rows). */
template <typename T> CU_HD void att_acc_step(const att_smem<T> &sh, int tid, T *acc) {
  const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
  const T *pr = sh.p + row * att_smem<T>::PW;
  for (int c = 0; c < ATT_COLS; c++) {
    const T x = pr[c];
    const T *br = sh.b + c * att_smem<T>::BW + lane;
    ATT_UNROLL
    for (int m = 0; m < att_regs<T>::NO; m++) acc[m] += x * br[m * ATT_LANES];
  }
}

/* ---- block drivers ---- */

/* which ? r.g : r.s = A[ar0 + row] . B[br0 + lane + 8m] over rows of length L (rows at or past
** an / bn count as 0), LC columns per step through shared memory. */
template <typename T, class X>
ATT_BLOCK void att_tile_dot(X &x, att_smem<T> &sh, const T *A, int64_t ar0, int64_t an, const T *B, int64_t br0, int64_t bn,
                            int64_t L, int which) {
  constexpr int LC = att_tile<T>::LC;
  for (int64_t l0 = 0; l0 < L; l0 += LC) {
    const int kc = (int)(L - l0 < LC ? L - l0 : LC);
    x.each([&](int tid, att_regs<T> &) {
      att_stage(sh.a, att_smem<T>::AW, ATT_ROWS, LC, A, L, ar0, an, l0, L, tid);
      att_stage(sh.b, att_smem<T>::BW, ATT_COLS, LC, B, L, br0, bn, l0, L, tid);
    });
    x.each([&](int tid, att_regs<T> &r) { att_dot_step(sh, tid, kc, l0 == 0, which ? r.g : r.s); });
  }
}

/* Forward, one block: query rows [i0, i0 + 32) of head bh (unit = bh * query tiles + tile) and
** output columns [y * OC, y * OC + OC) of dv. FlashAttention's online softmax over key tiles of
** 64: m = max(m, tile max), corr = exp(m_old - m), P = exp(S - m), l = l * corr + rowsum(P),
** acc = acc * corr + P V; at the end out = acc / l and lse = m + log(l) (0 and -inf for a row that
** sees no key). Every y block computes the same m and l; block y = 0 writes lse. */
template <typename T, class X> ATT_BLOCK void att_fwd_block(X &x, att_smem<T> &sh, const att_args<T> &a, int64_t unit, int y) {
  constexpr int OC = att_tile<T>::OC, NO = att_regs<T>::NO;
  const int64_t nqt = (a.t + ATT_ROWS - 1) / ATT_ROWS, bh = unit / nqt, i0 = unit % nqt * ATT_ROWS;
  const int64_t c0 = (int64_t)y * OC, ilast = (i0 + ATT_ROWS < a.t ? i0 + ATT_ROWS : a.t) - 1;
  const T *qh = a.q + bh * a.t * a.d, *kh = a.k + bh * a.s * a.d, *vh = a.v + bh * a.s * a.dv;
  int64_t mrs = 0;
  const T *mh = att_mask_head(a, bh, &mrs);
  x.each([&](int, att_regs<T> &r) {
    r.m = (T)-INFINITY;
    r.l = (T)0;
    r.corr = (T)1;
    ATT_UNROLL
    for (int m = 0; m < NO; m++) r.acc[m] = (T)0;
  });
  for (int64_t j0 = 0; j0 < a.s; j0 += ATT_COLS) {
    if (a.causal && j0 > ilast) break;   /* every later key is hidden from this tile */
    att_tile_dot(x, sh, qh, i0, a.t, kh, j0, a.s, a.d, 0);
    x.each([&](int tid, att_regs<T> &r) {   /* scores; the thread's partial row maximum */
      const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
      T pm = (T)0;
      ATT_UNROLL
      for (int m = 0; m < ATT_CPT; m++) {
        r.s[m] = att_score(a, mh, mrs, i0 + row, j0 + lane + ATT_LANES * m, r.s[m]);
        pm = m == 0 || r.s[m] > pm ? r.s[m] : pm;
      }
      sh.red[0][tid] = pm;
    });
    x.each([&](int tid, att_regs<T> &r) {   /* online softmax: P to shared memory; stage V's chunk */
      const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
      const T *rm = sh.red[0] + row * ATT_LANES;
      T mx = rm[0];
      for (int q = 1; q < ATT_LANES; q++) mx = rm[q] > mx ? rm[q] : mx;
      mx = r.m > mx ? r.m : mx;
      T ps = (T)0;
      T *pr = sh.p + row * att_smem<T>::PW + lane;
      if (mx == (T)-INFINITY) {   /* nothing visible in this row yet: l and acc stay 0 */
        r.corr = (T)1;
        ATT_UNROLL
        for (int m = 0; m < ATT_CPT; m++) pr[m * ATT_LANES] = (T)0;
      } else {
        r.corr = exp(r.m - mx);     /* exp(-inf) = 0 on the row's first visible tile */
        ATT_UNROLL
        for (int m = 0; m < ATT_CPT; m++) {
          const T p = exp(r.s[m] - mx);
          pr[m * ATT_LANES] = p;
          ps += p;
        }
        r.m = mx;
        ATT_UNROLL
        for (int m = 0; m < NO; m++) r.acc[m] *= r.corr;
      }
      sh.red[1][tid] = ps;
      att_stage(sh.b, att_smem<T>::BW, ATT_COLS, OC, vh, a.dv, j0, a.s, c0, a.dv, tid);
    });
    x.each([&](int tid, att_regs<T> &r) {   /* l = l * corr + rowsum(P); acc += P V */
      const T *rs = sh.red[1] + tid / ATT_LANES * ATT_LANES;
      T l = rs[0];
      for (int q = 1; q < ATT_LANES; q++) l += rs[q];
      r.l = r.l * r.corr + l;
      att_acc_step(sh, tid, r.acc);
    });
  }
  x.each([&](int tid, att_regs<T> &r) {
    const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
    const int64_t i = i0 + row;
    if (i >= a.t) return;
    const T inv = r.l > 0 ? 1 / r.l : (T)0;
    T *orow = a.out + (bh * a.t + i) * a.dv;
    ATT_UNROLL
    for (int m = 0; m < NO; m++) {
      const int64_t c = c0 + lane + ATT_LANES * m;
      if (c < a.dv) orow[c] = r.acc[m] * inv;
    }
    if (y == 0 && lane == 0) a.lse[bh * a.t + i] = r.l > 0 ? r.m + log(r.l) : (T)-INFINITY;
  });
}

/* Backward dK/dV, one block: key rows [j0, j0 + 32) of head bh and output columns
** [y * OC, y * OC + OC) of d (dK, when y * OC < d) and of dv (dV, when y * OC < dv). Over query
** tiles of 64 (from the first one a causal key can see): S^T = K Q^T, P^T = exp(S^T * scale +
** mask - lse), dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - D), dK += dS^T Q; dK is scaled
** once at the end. Each block owns its rows of dK and dV: no atomics. */
template <typename T, class X> ATT_BLOCK void att_bwd_kv_block(X &x, att_smem<T> &sh, const att_args<T> &a, int64_t unit, int y) {
  constexpr int OC = att_tile<T>::OC, NO = att_regs<T>::NO;
  const int64_t nkt = (a.s + ATT_ROWS - 1) / ATT_ROWS, bh = unit / nkt, j0 = unit % nkt * ATT_ROWS;
  const int64_t c0 = (int64_t)y * OC;
  const int hask = c0 < a.d, hasv = c0 < a.dv;
  const T *qh = a.q + bh * a.t * a.d, *kh = a.k + bh * a.s * a.d, *vh = a.v + bh * a.s * a.dv;
  const T *doh = a.dout + bh * a.t * a.dv, *lh = a.lse_in + bh * a.t, *dh = a.delta + bh * a.t;
  int64_t mrs = 0;
  const T *mh = att_mask_head(a, bh, &mrs);
  x.each([&](int, att_regs<T> &r) {
    ATT_UNROLL
    for (int m = 0; m < NO; m++) r.acc[m] = r.acc2[m] = (T)0;
  });
  /* causal: query tiles that end before j0 see none of these keys */
  for (int64_t i0 = a.causal ? j0 / ATT_COLS * ATT_COLS : 0; i0 < a.t; i0 += ATT_COLS) {
    x.each([&](int tid, att_regs<T> &) {   /* lse and D of the tile's queries */
      if (tid < ATT_COLS) {
        const int64_t i = i0 + tid;
        sh.col[0][tid] = i < a.t ? lh[i] : (T)0;
        sh.col[1][tid] = i < a.t ? dh[i] : (T)0;
      }
    });
    att_tile_dot(x, sh, kh, j0, a.s, qh, i0, a.t, a.d, 0);
    x.each([&](int tid, att_regs<T> &r) {   /* P^T; stage dO's chunk for dV */
      const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
      T *pr = sh.p + row * att_smem<T>::PW + lane;
      ATT_UNROLL
      for (int m = 0; m < ATT_CPT; m++) {
        const int c = lane + ATT_LANES * m;
        r.s[m] = att_prob(a, mh, mrs, i0 + c, j0 + row, r.s[m], sh.col[0][c]);
        if (hasv) pr[m * ATT_LANES] = r.s[m];
      }
      if (hasv) att_stage(sh.b, att_smem<T>::BW, ATT_COLS, OC, doh, a.dv, i0, a.t, c0, a.dv, tid);
    });
    if (hasv) x.each([&](int tid, att_regs<T> &r) { att_acc_step(sh, tid, r.acc); });
    if (!hask) continue;
    att_tile_dot(x, sh, vh, j0, a.s, doh, i0, a.t, a.dv, 1);
    x.each([&](int tid, att_regs<T> &r) {   /* dS^T; stage Q's chunk for dK */
      const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
      T *pr = sh.p + row * att_smem<T>::PW + lane;
      ATT_UNROLL
      for (int m = 0; m < ATT_CPT; m++) pr[m * ATT_LANES] = r.s[m] * (r.g[m] - sh.col[1][lane + ATT_LANES * m]);
      att_stage(sh.b, att_smem<T>::BW, ATT_COLS, OC, qh, a.d, i0, a.t, c0, a.d, tid);
    });
    x.each([&](int tid, att_regs<T> &r) { att_acc_step(sh, tid, r.acc2); });
  }
  x.each([&](int tid, att_regs<T> &r) {
    const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
    const int64_t j = j0 + row;
    if (j >= a.s) return;
    ATT_UNROLL
    for (int m = 0; m < NO; m++) {
      const int64_t c = c0 + lane + ATT_LANES * m;
      if (hask && c < a.d) a.gk[(bh * a.s + j) * a.d + c] = r.acc2[m] * a.scale;
      if (hasv && c < a.dv) a.gv[(bh * a.s + j) * a.dv + c] = r.acc[m];
    }
  });
}

/* Backward dQ, one block: query rows [i0, i0 + 32) of head bh and columns [y * OC, y * OC + OC)
** of d, over key tiles of 64: S = Q K^T and dP = dO V^T recomputed, dS = P (dP - D), dQ += dS K,
** scaled once at the end. A separate pass instead of atomics: dQ is written once, in a fixed
** order, so the result does not depend on scheduling (at the cost of computing S and dP twice). */
template <typename T, class X> ATT_BLOCK void att_bwd_q_block(X &x, att_smem<T> &sh, const att_args<T> &a, int64_t unit, int y) {
  constexpr int OC = att_tile<T>::OC, NO = att_regs<T>::NO;
  const int64_t nqt = (a.t + ATT_ROWS - 1) / ATT_ROWS, bh = unit / nqt, i0 = unit % nqt * ATT_ROWS;
  const int64_t c0 = (int64_t)y * OC, ilast = (i0 + ATT_ROWS < a.t ? i0 + ATT_ROWS : a.t) - 1;
  const T *qh = a.q + bh * a.t * a.d, *kh = a.k + bh * a.s * a.d, *vh = a.v + bh * a.s * a.dv;
  const T *doh = a.dout + bh * a.t * a.dv, *lh = a.lse_in + bh * a.t, *dh = a.delta + bh * a.t;
  int64_t mrs = 0;
  const T *mh = att_mask_head(a, bh, &mrs);
  x.each([&](int tid, att_regs<T> &r) {   /* the row's lse and D, in registers */
    const int64_t i = i0 + tid / ATT_LANES;
    r.m = i < a.t ? lh[i] : (T)0;
    r.l = i < a.t ? dh[i] : (T)0;
    ATT_UNROLL
    for (int m = 0; m < NO; m++) r.acc[m] = (T)0;
  });
  for (int64_t j0 = 0; j0 < a.s; j0 += ATT_COLS) {
    if (a.causal && j0 > ilast) break;
    att_tile_dot(x, sh, qh, i0, a.t, kh, j0, a.s, a.d, 0);
    att_tile_dot(x, sh, doh, i0, a.t, vh, j0, a.s, a.dv, 1);
    x.each([&](int tid, att_regs<T> &r) {   /* dS; stage K's chunk */
      const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
      T *pr = sh.p + row * att_smem<T>::PW + lane;
      ATT_UNROLL
      for (int m = 0; m < ATT_CPT; m++) {
        const T p = att_prob(a, mh, mrs, i0 + row, j0 + lane + ATT_LANES * m, r.s[m], r.m);
        pr[m * ATT_LANES] = p * (r.g[m] - r.l);
      }
      att_stage(sh.b, att_smem<T>::BW, ATT_COLS, OC, kh, a.d, j0, a.s, c0, a.d, tid);
    });
    x.each([&](int tid, att_regs<T> &r) { att_acc_step(sh, tid, r.acc); });
  }
  x.each([&](int tid, att_regs<T> &r) {
    const int row = tid / ATT_LANES, lane = tid % ATT_LANES;
    const int64_t i = i0 + row;
    if (i >= a.t) return;
    ATT_UNROLL
    for (int m = 0; m < NO; m++) {
      const int64_t c = c0 + lane + ATT_LANES * m;
      if (c < a.d) a.gq[(bh * a.t + i) * a.d + c] = r.acc[m] * a.scale;
    }
  });
}

#endif
