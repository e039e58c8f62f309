#!/usr/bin/python3
# tests/nn_ref/interop_torch.py — torch interop both ways, through safetensors with PyTorch's state_dict names:
#   anx -> torch: anx builds networks (conv + batchnorm, a sequence model with an encoder block and a
#     bidirectional LSTM, nested nn.repeat blocks), runs them in eval mode and Net.save()s them; torch loads
#     the file into equivalent nn.Modules with load_state_dict(strict=True) and must give the same outputs.
#   torch -> anx: torch initialises the same modules, writes them with a small numpy safetensors writer;
#     anx Net.load()s them and must give torch's outputs.
# Tolerance: max abs diff < 1e-5 (float32). Usage: interop_torch.py ANX_BINARY
# Needs torch and numpy in the interpreter running it; without them it prints a skip line and exits 0.
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn as tnn
except ImportError as e:
    print('skip: interop_torch needs torch and numpy (%s)' % e)
    sys.exit(0)

TOL = 1e-5


def st_write(path, sd):
    header, blobs, off = {}, [], 0
    for name, t in sd.items():
        a = t.detach().cpu().numpy()
        a, dt = (a.astype('<f4'), 'F32') if a.dtype.kind == 'f' else (a.astype('<i8'), 'I64')
        b = a.tobytes()
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def st_read(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop('__metadata__', None)
    types = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4', 'BOOL': '?'}
    out = {}
    for name, h in header.items():
        a, b = h['data_offsets']
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=types[h['dtype']]).reshape(h['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out


# ---- the same three architectures in torch (attribute names = anx member names)
class ConvNet(tnn.Module):
    # network ConvNet { Conv2D_1 (conv2d 3->8, k3, pad 1, batch_norm: true); pool; Conv2D_2 (groups 2, bias:
    # false); gap; Dense_1 }
    def __init__(self):
        super().__init__()
        self.Conv2D_1 = tnn.Conv2d(3, 8, 3, padding=1)
        self.Conv2D_1.bn = tnn.BatchNorm2d(8)
        self.Conv2D_2 = tnn.Conv2d(8, 6, 3, groups=2, bias=False)
        self.norm = tnn.BatchNorm2d(6)
        self.Dense_1 = tnn.Linear(6, 5)

    def forward(self, x):
        x = torch.relu(self.Conv2D_1.bn(self.Conv2D_1(x)))
        x = torch.max_pool2d(x, 2)
        x = self.norm(self.Conv2D_2(x))
        return self.Dense_1(x.mean((2, 3)))


class SeqNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.tok = tnn.Embedding(11, 8)
        self.enc = tnn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True, norm_first=True)
        self.rnn = tnn.LSTM(8, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.head = tnn.Linear(10, 11)

    def forward(self, ids):
        x = self.tok(ids)
        t, d = x.shape[1], x.shape[2]
        pos = torch.arange(t).unsqueeze(1).float()
        div = torch.exp(torch.arange(0, d, 2).float() * (-np.log(10000.0) / d))
        pe = torch.zeros(t, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        x = self.enc(x + pe)
        return self.head(self.rnn(x)[0])


class Block(tnn.Module):
    def __init__(self):
        super().__init__()
        self.fc = tnn.Linear(6, 6)
        self.norm = tnn.LayerNorm(6)

    def forward(self, x):
        return self.norm(torch.relu(self.fc(x)))


class Nested(tnn.Module):
    def __init__(self):
        super().__init__()
        self.stem = tnn.Linear(4, 6)
        self.body = tnn.Sequential(Block(), Block())
        self.gru = tnn.GRU(6, 3, batch_first=True)

    def forward(self, x):
        return self.gru(self.body(self.stem(x)))[0]


ANX_NETS = r'''
import nn
import data
seed(%(seed)d)
network ConvNet {
    neuron Conv2D_1 { filters: 8, kernel_size: 3, padding: 1, batch_norm: true, activation: relu }
    neuron MaxPool_1 { pool_size: 2 }
    neuron Conv2D_2 { filters: 6, kernel_size: 3, groups: 2, bias: false }
    neuron norm { kind: batchnorm }
    neuron GlobalAvgPool { }
    neuron Dense_1 { units: 5 }
}
network SeqNet {
    neuron tok { kind: embedding, vocab_size: 11, embed_dim: 8 }
    neuron pos { kind: positional_encoding, max_len: 32 }
    neuron enc { kind: encoder_block, heads: 2, ff_dim: 16, norm_first: true }
    neuron rnn { kind: lstm, hidden: 5, layers: 2, bidirectional: true }
    neuron head { units: 11 }
}
network Block() {
    neuron fc { units: 6, activation: relu }
    neuron norm { kind: layernorm }
}
network Nested {
    neuron stem { units: 6 }
    layer body = nn.repeat(2, fn() => Block())
    neuron gru { kind: gru, hidden: 3 }
}
let xc = data.npy_load("xc.npy")
let ids = data.npy_load("ids.npy")
let xn = data.npy_load("xn.npy")
# a few training-mode batches so the batch-norm running statistics are not the initial ones
for i in range(3) { ConvNet(xc * (i + 1.0)) }
SeqNet(ids)
Nested(xn)
ConvNet.eval()
SeqNet.eval()
Nested.eval()
'''

ANX_SAVE = ANX_NETS + r'''
data.npy_save("anx_conv.npy", ConvNet(xc))
data.npy_save("anx_seq.npy", SeqNet(ids))
data.npy_save("anx_nested.npy", Nested(xn))
ConvNet.save("conv.safetensors")
SeqNet.save("seq.safetensors")
Nested.save("nested.safetensors")
print("saved")
'''

ANX_LOAD = ANX_NETS + r'''
ConvNet.load("t_conv.safetensors")
SeqNet.load("t_seq.safetensors")
Nested.load("t_nested.safetensors")
fn cmp(label, got, want) {
    let d = (got - want).abs().max().item()
    print(label, d < %(tol)g, d)
}
cmp("torch->anx conv", ConvNet(xc), data.npy_load("t_conv.npy"))
cmp("torch->anx seq", SeqNet(ids), data.npy_load("t_seq.npy"))
cmp("torch->anx nested", Nested(xn), data.npy_load("t_nested.npy"))
'''


def run_anx(anx, cwd, src):
    path = os.path.join(cwd, 'script.anx')
    with open(path, 'w') as f:
        f.write(src)
    p = subprocess.run([anx, path], cwd=cwd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        print('anx failed (%d):\n%s%s' % (p.returncode, p.stdout, p.stderr))
        sys.exit(1)
    return p.stdout


def main():
    anx = os.path.abspath(sys.argv[1])
    torch.manual_seed(0)
    failures = 0
    with tempfile.TemporaryDirectory(prefix='anx_interop_') as d:
        xc = torch.randn(4, 3, 8, 8)
        ids = torch.randint(0, 11, (2, 7))
        xn = torch.randn(2, 5, 4)
        np.save(os.path.join(d, 'xc.npy'), xc.numpy())
        np.save(os.path.join(d, 'ids.npy'), ids.numpy())
        np.save(os.path.join(d, 'xn.npy'), xn.numpy())

        # anx -> torch
        run_anx(anx, d, ANX_SAVE % {'seed': 1})
        for name, cls, x in (('conv', ConvNet, xc), ('seq', SeqNet, ids), ('nested', Nested, xn)):
            m = cls()
            sd = st_read(os.path.join(d, name + '.safetensors'))
            m.load_state_dict(sd, strict=True)
            m.eval()
            with torch.no_grad():
                y = m(x)
            want = torch.from_numpy(np.load(os.path.join(d, 'anx_%s.npy' % name)))
            diff = (y - want).abs().max().item()
            ok = diff < TOL
            failures += not ok
            print('anx->torch %s: %s (max abs diff %.3g, %d tensors, strict load)' % (name, 'ok' if ok else 'FAIL',
                                                                                   diff, len(sd)))

        # torch -> anx
        for name, cls, x in (('conv', ConvNet, xc), ('seq', SeqNet, ids), ('nested', Nested, xn)):
            m = cls()
            m.train()
            with torch.no_grad():
                for i in range(3):
                    if name == 'conv':
                        m(x * (i + 1.0))
            m.eval()
            with torch.no_grad():
                y = m(x)
            st_write(os.path.join(d, 't_%s.safetensors' % name), m.state_dict())
            np.save(os.path.join(d, 't_%s.npy' % name), y.numpy())
        out = run_anx(anx, d, ANX_LOAD % {'seed': 2, 'tol': TOL})
        for line in out.splitlines():
            ok = ' true ' in line
            failures += not ok
            print(line.replace(' true ', ': ok (max abs diff ').replace(' false ', ': FAIL (max abs diff ') + ')')
    print('interop: %s' % ('ok' if not failures else '%d FAILED' % failures))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
