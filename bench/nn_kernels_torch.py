# bench/nn_kernels_torch.py — the PyTorch peer of bench/nn_kernels.c: the training issue's CNN
# conv/relu/pool layers, forward + backward, batch 64, torch.set_num_threads(2).
# Run through bench/nn_kernels.sh (same environment as the anx side, OPENBLAS_CORETYPE unset).
import sys
import time

import torch
import torch.nn.functional as F

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 30
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
N = 64
g = torch.Generator().manual_seed(0)
x = torch.rand(N, 1, 28, 28, generator=g)
w1 = (torch.rand(32, 1, 3, 3, generator=g) - 0.5).requires_grad_()
b1 = torch.zeros(32).requires_grad_()
w2 = (torch.rand(64, 32, 3, 3, generator=g) * 0.1 - 0.05).requires_grad_()
b2 = torch.zeros(64).requires_grad_()
dz = torch.rand(N, 64, 7, 7, generator=g) * 0.01

best = None
best_cpu = None
for rep in range(3):
    tf = tb = 0.0
    for it in range(-3, iters):
        if it == 0:
            c0 = time.process_time()
        t0 = time.perf_counter()
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        z = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        t1 = time.perf_counter()
        for p in (w1, b1, w2, b2):
            p.grad = None
        z.backward(dz)
        t2 = time.perf_counter()
        if it >= 0:
            tf += t1 - t0
            tb += t2 - t1
    cpu = time.process_time() - c0
    best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    if best is None or tf + tb < best[0] + best[1]:
        best = (tf, tb)
tf, tb = best
print("torch_fwd_ms=%.3f torch_bwd_ms=%.3f torch_ms=%.3f torch_cpu_ms=%.3f threads=%d" %
      (1e3 * tf / iters, 1e3 * tb / iters, 1e3 * (tf + tb) / iters, 1e3 * best_cpu / iters,
       torch.get_num_threads()))
