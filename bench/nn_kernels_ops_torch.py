# bench/nn_kernels_ops_torch.py — PyTorch peer of bench/nn_kernels_ops.c: same ops, sizes and
# forward + backward, printing "name ms" lines (best of 3 repetitions).
import math
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)


def bench(name, iters, fn):
    """prints "name wall_ms cpu_ms", each the best of 3 repetitions"""
    best = bcpu = 1e30
    for _ in range(3):
        for _ in range(2):
            fn()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            fn()
        best = min(best, (time.perf_counter() - t0) / iters)
        bcpu = min(bcpu, (time.process_time() - c0) / iters)
    print("%s %.4f %.4f" % (name, best * 1e3, bcpu * 1e3))


q, k, v = (torch.rand(32, 4, 64, 32, requires_grad=True) for _ in range(3))
causal = torch.ones(64, 64).tril().bool()
do = torch.rand(32, 4, 64, 32)


def att():
    s = (q @ k.transpose(-1, -2) / math.sqrt(32)).masked_fill(~causal, float("-inf"))
    o = torch.softmax(s, -1) @ v
    o.backward(do)


bench("attention_fwd_bwd", 20, att)
x = torch.rand(2048, 128, requires_grad=True)
g, b = torch.rand(128, requires_grad=True), torch.rand(128, requires_grad=True)
dy = torch.rand(2048, 128)
bench("layer_norm_fwd_bwd", 50, lambda: F.layer_norm(x, (128,), g, b).backward(dy))
lg = torch.rand(2048, 65, requires_grad=True)
t = torch.arange(2048) * 7 % 65
bench("cross_entropy_fwd_bwd", 50, lambda: F.cross_entropy(lg, t).backward())
params = [torch.rand(256, 784), torch.rand(256), torch.rand(128, 256), torch.rand(128),
          torch.rand(10, 128), torch.rand(10)]
for p in params:
    p.grad = torch.rand_like(p)
opt = torch.optim.Adam(params, lr=1e-3)
bench("adam_step_235k", 50, opt.step)
bx = torch.rand(64, 32, 28, 28, requires_grad=True)
bg, bb = torch.rand(32, requires_grad=True), torch.rand(32, requires_grad=True)
rm, rv = torch.zeros(32), torch.ones(32)
bdy = torch.rand(64, 32, 28, 28)
bench("batch_norm_fwd_bwd", 20,
      lambda: F.batch_norm(bx, rm, rv, bg, bb, training=True).backward(bdy))
ew = torch.rand(65, 128, requires_grad=True)
edy = torch.rand(2048, 128)
bench("embedding_fwd_bwd", 50, lambda: F.embedding(t, ew).backward(edy))
