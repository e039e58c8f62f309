#!/usr/bin/python3
# bench/same_init.py INIT.safetensors — bench/train_torch.py's MLP recipe starting from the weights in
# INIT (an anx Net.save of the same MLP), shuffled by LSEED: tells init/shuffle luck from a training
# difference (bench/same_init.sh runs both sides).
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_torch as tt  # noqa: E402


def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    head, data = json.loads(b[8:8 + n]), b[8 + n:]
    out = {}
    for k, v in head.items():
        if k != '__metadata__':
            s, e = v['data_offsets']
            out[k] = torch.from_numpy(np.frombuffer(data[s:e], dtype=np.float32).reshape(v['shape']).copy())
    return out


w = load(sys.argv[1])
m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                        torch.nn.ReLU(), torch.nn.Linear(128, 10))
with torch.no_grad():
    for i, name in [(1, 'hidden1'), (3, 'hidden2'), (5, 'logits')]:
        m[i].weight.copy_(w[name + '.weight'])
        m[i].bias.copy_(w[name + '.bias'])
os.environ['SEED'] = os.environ.get('LSEED', '1')   # classify() shuffles with SEED
rate, acc, secs = tt.classify(m, 5)
print(f'RESULT workload=mlp_same_init rate={rate:.1f} metric={acc:.4f} seconds={secs:.2f}')
