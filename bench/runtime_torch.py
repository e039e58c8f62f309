#!/usr/bin/env python3
# bench/runtime_torch.py — the PyTorch peer of bench/runtime_bench.c: the same workloads on
# 2 threads, printed as "name value" lines that runtime_bench parses to print ratios.
# Run it under `env -u OPENBLAS_CORETYPE` like the C side (runtime_bench does that for you).
import time

import torch

torch.set_num_threads(2)


def best(fn, reps):
    fn()
    t = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


n = 1024
a = torch.randn(n, n)
b = torch.randn(n, n)
t = best(lambda: a @ b, 10)
print("matmul_gflops", 2 * n**3 / t / 1e9)

N = 16 * 1024 * 1024
x = torch.rand(N)
y = torch.rand(N)
out = torch.empty(N)
for name, fn, streams in (("add", lambda: x + y, 3), ("mul", lambda: x * y, 3), ("exp", lambda: torch.exp(x), 2)):
    t = best(fn, 5)
    print(name + "_gbs", streams * 4 * N / t / 1e9)

s1 = torch.rand(64)
s2 = torch.rand(64)


def small():
    for _ in range(1000):
        s1 + s2


t = best(small, 20)
print("small_add_us", t / 1000 * 1e6)
