#!/usr/bin/python3
# bench/train_torch.py — the PyTorch peer of bench/train_*.anx: same data, model, optimizer, batch
# and epochs. Prints one RESULT line per workload:
#   RESULT workload=mlp rate=<samples/s> metric=<test accuracy | val loss> seconds=<train time>
# Run through bench/train.sh (it unsets OPENBLAS_CORETYPE and sets OPENBLAS_NUM_THREADS=1 so
# OpenBLAS does not fight torch's own threads; torch uses 2 threads, the machine's cores).
# On a GPU (bench/gpu/run.sh): --device cuda (or DEVICE=cuda) puts the model there and moves each
# batch there, as anx's train() does, and synchronises before reading the clock; PRECISION=high
# allows TF32 in matmuls and cuDNN convolutions (default highest: neither, as anx's default).
# LIMIT=N trains and tests on the first N images only (smoke runs).
import gzip
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get('TORCH_THREADS', '2')))   # accuracy.sh: 1 (accuracy does not depend on it)
DIR = os.environ.get('MNIST_DIR', '/usr/share/datasets/fashion-mnist')
DEVICE = torch.device(os.environ.get('DEVICE', 'cpu'))
LIMIT = int(os.environ.get('LIMIT', '0'))
PRECISION = os.environ.get('PRECISION', 'highest')
torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = PRECISION != 'highest'


def sync():   # the clock is read after the device has finished the work queued so far
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist(split):
    p = 'train' if split == 'train' else 't10k'
    x = torch.from_numpy(idx(f'{DIR}/{p}-images-idx3-ubyte.gz').astype(np.float32) / 255.0).unsqueeze(1)
    x.sub_(0.2860).div_(0.3530)   # standardized in place, as the anx side's data.normalize(0.2860, 0.3530)
    y = torch.from_numpy(idx(f'{DIR}/{p}-labels-idx1-ubyte.gz').astype(np.int64))
    return (x[:LIMIT], y[:LIMIT]) if LIMIT else (x, y)


def mnist_u8(split):
    p = 'train' if split == 'train' else 't10k'
    x = torch.from_numpy(idx(f'{DIR}/{p}-images-idx3-ubyte.gz').copy()).unsqueeze(1)
    y = torch.from_numpy(idx(f'{DIR}/{p}-labels-idx1-ubyte.gz').astype(np.int64))
    return (x[:LIMIT], y[:LIMIT]) if LIMIT else (x, y)


def to_input(xb):   # uint8 pixels -> standardized float32, per batch (the mlp_u8 workload)
    return (xb.float() * (1.0 / 255.0) - 0.2860) * (1.0 / 0.3530)


def classify(model, epochs, batch=64, u8=False):
    seed = int(os.environ.get('SEED', '1'))
    x, y = mnist_u8('train') if u8 else mnist('train')
    xt, yt = mnist_u8('test') if u8 else mnist('test')
    conv = to_input if u8 else (lambda t: t)
    model.to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    seen, train_time = 0, 0.0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        sync()
        t0 = time.perf_counter()
        for i in range(0, len(x), batch):
            idxs = perm[i:i + batch]
            xb, yb = x[idxs].to(DEVICE, non_blocking=True), y[idxs].to(DEVICE, non_blocking=True)
            loss = F.cross_entropy(model(conv(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += len(idxs)
        sync()
        train_time += time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        correct = sum((model(conv(xt[i:i + 1000].to(DEVICE))).argmax(1).cpu() == yt[i:i + 1000]).sum().item()
                      for i in range(0, len(xt), 1000))
    return seen / train_time, correct / len(xt), train_time


def mlp(epochs):
    torch.manual_seed(int(os.environ.get('SEED', '1')))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return classify(model, epochs)


def mlp_u8(epochs):
    torch.manual_seed(int(os.environ.get('SEED', '1')))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return classify(model, epochs, u8=True)


def cnn(epochs):
    torch.manual_seed(int(os.environ.get('SEED', '1')))
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    return classify(model, epochs)


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x, mask):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.ff(self.ln2(x))


class CharLM(nn.Module):
    def __init__(self, v, d=128, t=64, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(v, d)
        pe = torch.zeros(t, d)
        pos = torch.arange(t).unsqueeze(1).float()
        div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer('pe', pe)
        self.blocks = nn.ModuleList(Block(d, heads, 4 * d) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, v)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.tok(ids) + self.pe[:t]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=ids.device), 1)   # True = not allowed
        for b in self.blocks:
            x = b(x, mask)
        return self.head(self.norm(x))


def text_ids():
    root = '/usr/share/common-licenses'
    chunks = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            with open(os.path.join(dirpath, f), 'rb') as fh:
                chunks.append(fh.read())
    text = b''.join(chunks).decode('latin-1')
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    return torch.tensor([index[c] for c in text], dtype=torch.int64), len(vocab)


def charlm(steps, seq=64, batch=32, d=128):
    ids, v = text_ids()
    n = len(ids)
    split = int(n * 0.9)
    train_ids, val_ids = ids[:split], ids[split:]
    torch.manual_seed(1)
    model = CharLM(v, d, seq).to(DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: d ** -0.5 * min((s + 1) ** -0.5, (s + 1) * 200 ** -1.5))
    g = torch.Generator().manual_seed(1)

    def batch_of(src):
        off = torch.randint(0, len(src) - seq - 1, (batch,), generator=g)
        xb = torch.stack([src[o:o + seq] for o in off])
        yb = torch.stack([src[o + 1:o + seq + 1] for o in off])
        return xb.to(DEVICE), yb.to(DEVICE)

    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        xb, yb = batch_of(train_ids)
        loss = F.cross_entropy(model(xb).reshape(-1, v), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    sync()
    train_time = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        losses = []
        for _ in range(20):
            xb, yb = batch_of(val_ids)
            losses.append(F.cross_entropy(model(xb).reshape(-1, v), yb.reshape(-1)).item())
    return steps * batch * seq / train_time, sum(losses) / len(losses), train_time


def main():
    global DEVICE
    argv = sys.argv[1:]
    if '--device' in argv:   # --device DEV, as anx's
        i = argv.index('--device')
        DEVICE = torch.device(argv[i + 1])
        del argv[i:i + 2]
    which = argv[0] if len(argv) > 0 else 'mlp'
    size = int(argv[1]) if len(argv) > 1 else 0
    if which == 'mlp':
        rate, metric, secs = mlp(size or 5)
    elif which == 'mlp_u8':
        rate, metric, secs = mlp_u8(size or 5)
    elif which == 'cnn':
        rate, metric, secs = cnn(size or 3)
    elif which == 'charlm':
        rate, metric, secs = charlm(size or 400)
    else:
        sys.exit('usage: train_torch.py mlp|mlp_u8|cnn|charlm [epochs|steps]')
    print(f'RESULT workload={which} rate={rate:.1f} metric={metric:.4f} seconds={secs:.2f}')


if __name__ == '__main__':
    main()
