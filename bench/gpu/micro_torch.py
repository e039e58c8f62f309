#!/usr/bin/env python3
# bench/gpu/micro_torch.py — PyTorch's side of the GEMM and attention microbenches (anx's side:
# gemm.anx, attention.anx; driver: run.sh). Same shapes, dtypes and modes, same RESULT lines:
#   micro_torch.py gemm MODES SIZES              torch.matmul(A, B), A, B [n, n]
#   micro_torch.py attention DTYPES TS [B H D]   F.scaled_dot_product_attention(q, k, v), [B, H, T, D]
# DEVICE=cuda|cpu (default cuda). Timing: CUDA events around the calls on a GPU (perf_counter on the
# CPU), after warm-up calls, enough calls for about BENCH_SECONDS (default 0.3). Modes: float32
# (torch.backends.cuda.matmul.allow_tf32 = False, i.e. precision "highest"), tf32 (allow_tf32 =
# True), float16, bfloat16. A torch without scaled_dot_product_attention (< 2.0) times the same
# computation written out (softmax(q k^T / sqrt(d)) v) and says impl=math.
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

DEV = torch.device(os.environ.get('DEVICE', 'cuda'))
TARGET = float(os.environ.get('BENCH_SECONDS', '0.3'))
DTYPES = {'float32': torch.float32, 'tf32': torch.float32, 'float16': torch.float16, 'bfloat16': torch.bfloat16}


def sync():
    if DEV.type == 'cuda':
        torch.cuda.synchronize()


def per_call(fn, iters):
    """seconds per call of fn over iters calls"""
    if DEV.type == 'cuda':
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / iters
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def measure(fn, warm, lo, hi):
    fn_warm = per_call(fn, warm)   # cuBLAS/cuDNN heuristics, the caching allocator
    est = per_call(fn, warm) or fn_warm
    iters = max(lo, min(hi, int(TARGET / max(est, 1e-7))))
    return per_call(fn, iters), iters


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def gemm(modes, sizes):
    for mode in modes:
        set_tf32(mode == 'tf32')
        for n in sizes:
            try:
                g = torch.Generator().manual_seed(1)
                a = torch.randn(n, n, generator=g).to(DEV, DTYPES[mode])
                b = torch.randn(n, n, generator=g).to(DEV, DTYPES[mode])
                t, iters = measure(lambda: torch.matmul(a, b), 3, 5, 1000)
                print(f'RESULT part=gemm mode={mode} n={n} ms={t * 1e3:.4f} tflops={2.0 * n ** 3 / t / 1e12:.3f} iters={iters}')
            except Exception as e:   # one point failing (e.g. float16 matmul on an old CPU torch) is reported
                print(f'RESULT part=gemm mode={mode} n={n} error={type(e).__name__}: {str(e).splitlines()[0]}')
            sys.stdout.flush()
    set_tf32(False)


def attention(dtypes, ts, b, h, d):
    sdpa = getattr(F, 'scaled_dot_product_attention', None)
    impl = 'sdpa' if sdpa else 'math'
    if sdpa is None:
        def sdpa(q, k, v):
            return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v
    set_tf32(False)
    with torch.no_grad():
        for dt in dtypes:
            for t in ts:
                try:
                    g = torch.Generator().manual_seed(1)
                    q, k, v = (torch.randn(b, h, t, d, generator=g).to(DEV, DTYPES[dt]) for _ in range(3))
                    s, iters = measure(lambda: sdpa(q, k, v), 2, 3, 500)
                    print(f'RESULT part=attention mode={dt} n={t} ms={s * 1e3:.4f} '
                          f'tflops={4.0 * b * h * t * t * d / s / 1e12:.3f} iters={iters} impl={impl}')
                except Exception as e:
                    print(f'RESULT part=attention mode={dt} n={t} error={type(e).__name__}: {str(e).splitlines()[0]}')
                sys.stdout.flush()


def main():
    part = sys.argv[1] if len(sys.argv) > 1 else ''
    if part == 'gemm':
        modes = (sys.argv[2] if len(sys.argv) > 2 else 'float32,tf32,float16,bfloat16').split(',')
        sizes = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else '1024,2048,4096,8192').split(',')]
        gemm(modes, sizes)
    elif part == 'attention':
        dtypes = (sys.argv[2] if len(sys.argv) > 2 else 'float16,float32').split(',')
        ts = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else '1024,2048,4096').split(',')]
        b, h, d = (int(x) for x in (sys.argv[4:7] if len(sys.argv) > 6 else ['8', '16', '64']))
        attention(dtypes, ts, b, h, d)
    else:
        sys.exit('usage: micro_torch.py gemm MODES SIZES | attention DTYPES TS [B H D]')


if __name__ == '__main__':
    main()
