#!/usr/bin/python3
# tests/nn_ref/gen_ref.py — writes the PyTorch reference values that tests/nn_ref/*.anx compare against.
# Run with the Debian interpreter that has torch (1.13) and numpy:   /usr/bin/python3 tests/nn_ref/gen_ref.py
# Everything is computed in float64 from float32 inputs and stored as float32 .npy (int64 for ids/targets),
# one file per tensor: data/<case>.<name>.npy. Modules (MultiheadAttention, TransformerEncoderLayer, LSTM,
# GRU, RNN) also get their parameters as safetensors (data/<case>.safetensors, written by the small numpy
# writer below) under PyTorch's state_dict names, which anx's Net.load reads.
# Gradients: y is reduced as sum(y * gy) with a stored random gy; g_<name> is d/d<name> of that.
# The test run never needs torch: the data files are committed.
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'data')
torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def f32(t):
    """Round to float32 values (kept as float64 for the reference computation)."""
    return t.detach().to(torch.float32).to(torch.float64)


def save(case, name, t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if a.dtype.kind == 'f':
        a = a.astype(np.float32)
    elif a.dtype.kind == 'b':
        a = a.astype(np.bool_)
    else:
        a = a.astype(np.int64)
    np.save(os.path.join(OUT, '%s.%s.npy' % (case, name)), a.copy(order='C'))   # keeps 0-d arrays 0-d


def save_safetensors(path, tensors, meta=None):
    """A minimal safetensors writer: 8-byte little-endian header size, JSON header, raw little-endian data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if a.dtype.kind == 'f':
            a, dt = a.astype('<f4'), 'F32'
        else:
            a, dt = a.astype('<i8'), 'I64'
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = dict(meta or {'format': 'pt'})
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def leaf(*shape, scale=1.0):
    return (f32(torch.randn(*shape) * scale)).requires_grad_(True)


def grads(case, y, named, gy=None):
    """Save y, a random upstream gradient gy, and d sum(y*gy) / d each named leaf."""
    gy = f32(torch.randn_like(y)) if gy is None else gy
    save(case, 'y', y)
    save(case, 'gy', gy)
    ts = [t for _, t in named]
    gs = torch.autograd.grad((y * gy).sum(), ts, allow_unused=True)
    for (n, _), g in zip(named, gs):
        save(case, 'g_' + n, g if g is not None else torch.zeros_like(_))


def case_inputs(case, named):
    for n, t in named:
        save(case, n, t)


# ---------------------------------------------------------------- linear, conv, pools
def gen_linear():
    x, w, b = leaf(3, 5), leaf(4, 5), leaf(4)
    case_inputs('linear', [('x', x), ('w', w), ('b', b)])
    grads('linear', F.linear(x, w, b), [('x', x), ('w', w), ('b', b)])
    x3 = leaf(2, 3, 5)   # a 3-d input: the layer acts on the last dim
    case_inputs('linear3d', [('x', x3), ('w', w), ('b', b)])
    grads('linear3d', F.linear(x3, w, b), [('x', x3), ('w', w), ('b', b)])


CONV = {
    'conv_s2p1': dict(cin=3, cout=4, k=(3, 3), stride=2, padding=1, dilation=1, groups=1, hw=(7, 7)),
    'conv_d2p2': dict(cin=2, cout=3, k=(3, 3), stride=1, padding=2, dilation=2, groups=1, hw=(6, 7)),
    'conv_g2': dict(cin=4, cout=6, k=(3, 2), stride=(2, 1), padding=(1, 0), dilation=1, groups=2, hw=(6, 5)),
    'conv_dw': dict(cin=3, cout=3, k=(3, 3), stride=1, padding=1, dilation=1, groups=3, hw=(5, 5)),
    'conv_same': dict(cin=2, cout=3, k=(4, 3), stride=1, padding='same', dilation=1, groups=1, hw=(6, 6)),
}


def gen_conv():
    for case, c in CONV.items():
        x = leaf(2, c['cin'], *c['hw'])
        w = leaf(c['cout'], c['cin'] // c['groups'], *c['k'], scale=0.5)
        b = leaf(c['cout'])
        y = F.conv2d(x, w, b, stride=c['stride'], padding=c['padding'], dilation=c['dilation'], groups=c['groups'])
        case_inputs(case, [('x', x), ('w', w), ('b', b)])
        grads(case, y, [('x', x), ('w', w), ('b', b)])
    # conv_transpose2d: weight [in, out/groups, kh, kw]
    for case, c in {'convt_s2': dict(cin=3, cout=4, k=3, stride=2, padding=1, opad=1, groups=1, dilation=1),
                    'convt_g2d2': dict(cin=4, cout=2, k=2, stride=(1, 2), padding=0, opad=(0, 1), groups=2,
                                       dilation=2)}.items():
        x = leaf(2, c['cin'], 4, 5)
        w = leaf(c['cin'], c['cout'] // c['groups'], c['k'], c['k'], scale=0.5)
        b = leaf(c['cout'])
        y = F.conv_transpose2d(x, w, b, stride=c['stride'], padding=c['padding'], output_padding=c['opad'],
                               groups=c['groups'], dilation=c['dilation'])
        case_inputs(case, [('x', x), ('w', w), ('b', b)])
        grads(case, y, [('x', x), ('w', w), ('b', b)])
    # the conv2d layer's padding: same with stride 2 pads like TensorFlow: the extra row/column at the bottom/right
    x, w, b = leaf(2, 3, 8, 7), leaf(4, 3, 3, 4, scale=0.5), leaf(4)
    y = F.conv2d(F.pad(x, (1, 2, 0, 1)), w, b, stride=2)   # H 8, k 3: pad 0 top, 1 bottom; W 7, k 4: 1 left, 2 right
    case_inputs('conv_layer_same_s2', [('x', x), ('w', w), ('b', b)])
    grads('conv_layer_same_s2', y, [('x', x), ('w', w), ('b', b)])


def gen_conv_nd():
    # conv1d and conv3d (anx composes them from conv2d)
    for case, c in {'conv1d_s2p1g2': dict(cin=4, cout=6, k=3, stride=2, padding=1, dilation=1, groups=2, L=9),
                    'conv1d_same_d2': dict(cin=3, cout=2, k=4, stride=1, padding='same', dilation=2, groups=1, L=8)}.items():
        x, w, b = leaf(2, c['cin'], c['L']), leaf(c['cout'], c['cin'] // c['groups'], c['k'], scale=0.5), leaf(c['cout'])
        y = F.conv1d(x, w, b, stride=c['stride'], padding=c['padding'], dilation=c['dilation'], groups=c['groups'])
        case_inputs(case, [('x', x), ('w', w), ('b', b)])
        grads(case, y, [('x', x), ('w', w), ('b', b)])
    for case, c in {'conv3d_s2p1': dict(cin=3, cout=4, k=(3, 3, 3), stride=(2, 1, 2), padding=1, dilation=1, groups=1),
                    'conv3d_d2g2': dict(cin=4, cout=2, k=(2, 3, 2), stride=1, padding=(1, 0, 2), dilation=(2, 1, 1),
                                        groups=2),
                    'conv3d_same': dict(cin=2, cout=3, k=(2, 3, 3), stride=1, padding='same', dilation=1, groups=1)}.items():
        x = leaf(2, c['cin'], 5, 6, 5)
        w, b = leaf(c['cout'], c['cin'] // c['groups'], *c['k'], scale=0.3), leaf(c['cout'])
        y = F.conv3d(x, w, b, stride=c['stride'], padding=c['padding'], dilation=c['dilation'], groups=c['groups'])
        case_inputs(case, [('x', x), ('w', w), ('b', b)])
        grads(case, y, [('x', x), ('w', w), ('b', b)])


def gen_pool():
    x = leaf(2, 3, 7, 6)
    case_inputs('pool', [('x', x)])
    grads('maxpool_k3s2p1', F.max_pool2d(x, 3, stride=2, padding=1), [('x', x)])
    grads('maxpool_k2', F.max_pool2d(x, 2), [('x', x)])
    grads('maxpool_ceil', F.max_pool2d(x, 2, ceil_mode=True), [('x', x)])
    grads('avgpool_k3s2p1', F.avg_pool2d(x, 3, stride=2, padding=1), [('x', x)])
    grads('avgpool_nopad', F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), [('x', x)])
    grads('avgpool_ceil', F.avg_pool2d(x, 2, ceil_mode=True), [('x', x)])
    grads('adaptive_3x2', F.adaptive_avg_pool2d(x, (3, 2)), [('x', x)])
    grads('adaptive_5x4', F.adaptive_avg_pool2d(x, (5, 4)), [('x', x)])


# ---------------------------------------------------------------- norms
def gen_norms():
    # batch norm: one training step (batch statistics, running stats updated with momentum 0.1), then eval
    x, w, b = leaf(4, 3, 5, 5, scale=2.0), leaf(3), leaf(3)
    x = (x.detach() + 1.5).requires_grad_(True)
    rm, rv = f32(torch.randn(3) * 0.1), f32(torch.rand(3) + 0.5)
    case_inputs('bn', [('x', x), ('w', w), ('b', b), ('rm', rm), ('rv', rv)])
    rm2, rv2 = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm2, rv2, w, b, training=True, momentum=0.1, eps=1e-5)
    grads('bn', y, [('x', x), ('w', w), ('b', b)])
    save('bn', 'rm_after', rm2)
    save('bn', 'rv_after', rv2)
    ye = F.batch_norm(x, rm2, rv2, w, b, training=False, eps=1e-5)
    grads('bn_eval', ye, [('x', x), ('w', w), ('b', b)])
    # 2-d input [N, C]
    x2 = leaf(6, 4)
    rm, rv = torch.zeros(4), torch.ones(4)
    case_inputs('bn1d', [('x', x2)])
    grads('bn1d', F.batch_norm(x2, rm, rv, None, None, training=True, momentum=0.3), [('x', x2)])
    save('bn1d', 'rm_after', rm)
    save('bn1d', 'rv_after', rv)

    x, w, b = leaf(2, 3, 8), leaf(8), leaf(8)
    case_inputs('ln', [('x', x), ('w', w), ('b', b)])
    grads('ln', F.layer_norm(x, (8,), w, b, eps=1e-5), [('x', x), ('w', w), ('b', b)])
    w2, b2 = leaf(3, 8), leaf(3, 8)
    case_inputs('ln2', [('w', w2), ('b', b2)])
    grads('ln2', F.layer_norm(x, (3, 8), w2, b2, eps=1e-5), [('x', x), ('w', w2), ('b', b2)])

    x, w, b = leaf(2, 6, 4, 3), leaf(6), leaf(6)
    case_inputs('gn', [('x', x), ('w', w), ('b', b)])
    grads('gn', F.group_norm(x, 3, w, b, eps=1e-5), [('x', x), ('w', w), ('b', b)])
    grads('in', F.instance_norm(x, weight=w, bias=b, eps=1e-5), [('x', x), ('w', w), ('b', b)])
    grads('in_noaffine', F.instance_norm(x, eps=1e-5), [('x', x)])

    # RMSNorm (no torch op in 1.13): y = x / sqrt(mean(x^2, last dim) + eps) * w
    x, w = leaf(2, 3, 8), leaf(8)
    case_inputs('rms', [('x', x), ('w', w)])
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w
    grads('rms', y, [('x', x), ('w', w)])


# ---------------------------------------------------------------- embedding, positional encoding
def gen_embedding():
    w = leaf(10, 6)
    ids = torch.tensor([[1, 4, 4, 9], [0, 2, 7, 4]])
    case_inputs('emb', [('w', w), ('ids', ids)])
    grads('emb', F.embedding(ids, w), [('w', w)])
    # Vaswani et al.: pe[pos, 2i] = sin(pos / 10000^(2i/d)), pe[pos, 2i+1] = cos(same)
    for t, d in [(7, 6), (5, 7)]:
        pos = torch.arange(t).unsqueeze(1).double()
        div = torch.exp(torch.arange(0, d, 2).double() * (-np.log(10000.0) / d))
        pe = torch.zeros(t, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div[: d // 2])
        save('pe_%dx%d' % (t, d), 'table', pe)


# ---------------------------------------------------------------- attention
def sdpa(q, k, v, mask=None, causal=False):
    s = q @ k.transpose(-2, -1) / np.sqrt(q.shape[-1])
    if causal:
        tq, tk = q.shape[-2], k.shape[-2]
        s = s.masked_fill(~torch.ones(tq, tk, dtype=torch.bool).tril(), float('-inf'))
    if mask is not None:
        s = s.masked_fill(~mask, float('-inf')) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, -1) @ v


def gen_attention():
    q, k, v = leaf(2, 2, 5, 4), leaf(2, 2, 5, 4), leaf(2, 2, 5, 4)
    nm = [('q', q), ('k', k), ('v', v)]
    case_inputs('sdpa', nm)
    grads('sdpa', sdpa(q, k, v), nm)
    grads('sdpa_causal', sdpa(q, k, v, causal=True), nm)
    bmask = torch.rand(2, 1, 5, 5) > 0.3
    bmask[..., 0] = True   # every query sees at least one key
    save('sdpa_bool', 'mask', bmask)
    grads('sdpa_bool', sdpa(q, k, v, mask=bmask), nm)
    fmask = f32(torch.randn(5, 5))
    save('sdpa_float', 'mask', fmask)
    grads('sdpa_float', sdpa(q, k, v, mask=fmask), nm)
    k7, v7 = leaf(2, 2, 7, 4), leaf(2, 2, 7, 4)   # cross: 5 queries over 7 keys
    case_inputs('sdpa_cross', [('k', k7), ('v', v7)])
    grads('sdpa_cross', sdpa(q, k7, v7), [('q', q), ('k', k7), ('v', v7)])


def module_case(case, mod, prefix, inputs, out_fn):
    """Store a module's parameters (safetensors under prefix.<state_dict name>), its inputs, output and grads."""
    for p in mod.parameters():
        p.data = f32(p.data)
    sd = {prefix + '.' + n: t for n, t in mod.state_dict().items()}
    save_safetensors(os.path.join(OUT, case + '.safetensors'), sd)
    case_inputs(case, inputs)
    y = out_fn()
    named = list(inputs) + [(prefix + '.' + n, p) for n, p in mod.named_parameters()]
    named = [(n, t) for n, t in named if t.dtype.is_floating_point and t.requires_grad]
    grads(case, y, named)


def gen_mha():
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    x = leaf(2, 5, 8)
    module_case('mha_self', mha, 'attn', [('x', x)], lambda: mha(x, x, x, need_weights=False)[0])
    # key padding mask: PyTorch's True = ignore; anx's mask is True = attend
    kpm = torch.tensor([[False, False, False, True, True], [False, False, False, False, True]])
    save('mha_kpm', 'attend', ~kpm)
    module_case('mha_kpm', mha, 'attn', [('x', x)],
                lambda: mha(x, x, x, key_padding_mask=kpm, need_weights=False)[0])
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    module_case('mha_causal', mha, 'attn', [('x', x)], lambda: mha(x, x, x, attn_mask=causal, need_weights=False)[0])
    mem = leaf(2, 7, 8)
    module_case('mha_cross', mha, 'attn', [('x', x), ('mem', mem)],
                lambda: mha(x, mem, mem, need_weights=False)[0])


def gen_encoder():
    for nf in (False, True):
        for act in ('relu', 'gelu'):
            enc = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=act,
                                                   batch_first=True, norm_first=nf)
            enc.eval()   # dropout 0 anyway; eval also keeps the plain (non fast-path) math identical
            x = leaf(2, 5, 8)
            case = 'enc_%s_%s' % ('prenorm' if nf else 'postnorm', act)
            module_case(case, enc, 'enc', [('x', x)], lambda: enc(x))
    enc = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    x = leaf(2, 5, 8)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
    module_case('enc_causal', enc, 'enc', [('x', x)], lambda: enc(x, src_mask=mask))


def gen_decoder():
    # decoder_block: anx's self-attention is always causal, so torch gets the causal tgt_mask
    for nf in (False, True):
        dec = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=nf)
        x, mem = leaf(2, 5, 8), leaf(2, 7, 8)
        mask = torch.nn.Transformer.generate_square_subsequent_mask(5)
        case = 'dec_%s' % ('prenorm' if nf else 'postnorm')
        module_case(case, dec, 'dec', [('x', x), ('mem', mem)], lambda: dec(x, mem, tgt_mask=mask))


def gen_rotary():
    # rotary (Su et al.), interleaved pairs: (x[2i], x[2i+1]) at position p rotated by p * 10000^(-2i/D)
    x = leaf(2, 2, 6, 8)
    t, d = 6, 8
    for off in (0, 3):
        pos = torch.arange(off, off + t).double().unsqueeze(1)
        ang = pos * torch.pow(10000.0, -torch.arange(0, d, 2).double() / d)
        c, s_ = torch.cos(ang), torch.sin(ang)
        a, b = x[..., 0::2], x[..., 1::2]
        y = torch.stack([a * c - b * s_, b * c + a * s_], -1).flatten(-2)
        case_inputs('rotary%d' % off, [('x', x)])
        grads('rotary%d' % off, y, [('x', x)])


def gen_clip():
    g1, g2 = f32(torch.randn(4, 3) * 2), f32(torch.randn(5))
    save('clip', 'g1', g1)
    save('clip', 'g2', g2)
    for case, norm_type in (('clip_norm2', 2.0), ('clip_norminf', float('inf')), ('clip_norm1', 1.0)):
        p1, p2 = torch.zeros(4, 3, requires_grad=True), torch.zeros(5, requires_grad=True)
        p1.grad, p2.grad = g1.clone(), g2.clone()
        total = torch.nn.utils.clip_grad_norm_([p1, p2], 1.5, norm_type=norm_type)
        save(case, 'total', total.reshape(1))
        save(case, 'g1', p1.grad)
        save(case, 'g2', p2.grad)
    p1, p2 = torch.zeros(4, 3, requires_grad=True), torch.zeros(5, requires_grad=True)
    p1.grad, p2.grad = g1.clone(), g2.clone()
    torch.nn.utils.clip_grad_value_([p1, p2], 0.8)
    save('clip_value', 'g1', p1.grad)
    save('clip_value', 'g2', p2.grad)


def gen_rnn():
    cfgs = {
        'lstm_2l_bi': (torch.nn.LSTM, dict(num_layers=2, bidirectional=True, batch_first=True)),
        'lstm_1l': (torch.nn.LSTM, dict(num_layers=1, batch_first=True)),
        'gru_2l_bi': (torch.nn.GRU, dict(num_layers=2, bidirectional=True, batch_first=True)),
        'gru_seqfirst': (torch.nn.GRU, dict(num_layers=1, batch_first=False)),
        'rnn_2l': (torch.nn.RNN, dict(num_layers=2, batch_first=True)),
    }
    for case, (cls, kw) in cfgs.items():
        m = cls(5, 4, **kw)
        x = leaf(2, 6, 5) if kw['batch_first'] else leaf(6, 2, 5)
        hold = {}

        def run(m=m, x=x, hold=hold):
            out, h = m(x)
            hold['h'] = h
            return out
        module_case(case, m, 'r', [('x', x)], run)
        h = hold['h']
        save(case, 'h_n', h[0] if isinstance(h, tuple) else h)
        if isinstance(h, tuple):
            save(case, 'c_n', h[1])


# ---------------------------------------------------------------- activations and losses
def gen_activations():
    x = f32(torch.randn(4, 5) * 3)
    x[0, 0], x[0, 1] = 0.5, -0.5
    x = x.requires_grad_(True)
    save('act', 'x', x)
    acts = {
        'relu': F.relu, 'leaky_relu': lambda t: F.leaky_relu(t, 0.1), 'elu': lambda t: F.elu(t, 1.5),
        'gelu': F.gelu, 'gelu_tanh': lambda t: F.gelu(t, approximate='tanh'), 'silu': F.silu, 'mish': F.mish,
        'sigmoid': torch.sigmoid, 'tanh': torch.tanh, 'hardsigmoid': F.hardsigmoid, 'hardswish': F.hardswish,
        'softplus': F.softplus, 'softmax': lambda t: F.softmax(t, 1), 'log_softmax': lambda t: F.log_softmax(t, -1),
        'softmax0': lambda t: F.softmax(t, 0),
    }
    for n, f in acts.items():
        grads('act_' + n, f(x), [('x', x)])


def gen_losses():
    def loss_case(case, fn, x, *others):
        case_inputs(case, [('x', x)] + [('t%d' % i, o) for i, o in enumerate(others)])
        y = fn(x, *others)
        gy = None if y.dim() else torch.tensor(1.0)
        grads(case, y, [('x', x)], gy=gy)

    x, t = leaf(4, 3), f32(torch.randn(4, 3))
    loss_case('mse', F.mse_loss, x, t)
    loss_case('mse_sum', lambda a, b: F.mse_loss(a, b, reduction='sum'), x, t)
    loss_case('mse_none', lambda a, b: F.mse_loss(a, b, reduction='none'), x, t)
    loss_case('l1', F.l1_loss, x, t)
    loss_case('smooth_l1', lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), x, t)
    loss_case('huber', lambda a, b: F.huber_loss(a, b, delta=0.7), x, t)
    p = f32(torch.rand(4, 3) * 0.9 + 0.05).requires_grad_(True)
    yb = f32((torch.rand(4, 3) > 0.5).double())
    wb = f32(torch.rand(4, 3) + 0.5)
    loss_case('bce', F.binary_cross_entropy, p, yb)
    loss_case('bce_w', lambda a, b, w: F.binary_cross_entropy(a, b, weight=w), p, yb, wb)
    loss_case('bce_logits', F.binary_cross_entropy_with_logits, x, yb)
    pw = f32(torch.rand(3) + 0.5)
    loss_case('bce_logits_pw', lambda a, b, w: F.binary_cross_entropy_with_logits(a, b, pos_weight=w), x, yb, pw)

    logits = leaf(6, 5, scale=2.0)
    tgt = torch.tensor([0, 3, 4, 1, 3, 2])
    tig = torch.tensor([0, 3, -100, 1, 3, 7 - 7])
    tig[5] = 2
    tig2 = torch.tensor([0, 3, 1, 1, 3, 2])
    w = f32(torch.rand(5) + 0.5)
    probs = f32(torch.softmax(torch.randn(6, 5), 1))
    loss_case('ce', F.cross_entropy, logits, tgt)
    loss_case('ce_sum', lambda a, b: F.cross_entropy(a, b, reduction='sum'), logits, tgt)
    loss_case('ce_none', lambda a, b: F.cross_entropy(a, b, reduction='none'), logits, tgt)
    loss_case('ce_ls', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), logits, tgt)
    loss_case('ce_ignore', F.cross_entropy, logits, tig)
    loss_case('ce_ignore3', lambda a, b: F.cross_entropy(a, b, ignore_index=1), logits, tig2)
    loss_case('ce_w', lambda a, b, c: F.cross_entropy(a, b, weight=c), logits, tgt, w)
    loss_case('ce_w_ls_ignore', lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.1), logits, tig, w)
    loss_case('ce_w_ls_ignore_sum', lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.1,
                                                                     reduction='sum'), logits, tig, w)
    loss_case('ce_prob', F.cross_entropy, logits, probs)
    loss_case('ce_prob_ls_w', lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.3), logits, probs, w)
    l4 = leaf(2, 5, 3, 2)   # [N, C, d1, d2]
    t4 = torch.randint(0, 5, (2, 3, 2))
    loss_case('ce_4d', F.cross_entropy, l4, t4)
    loss_case('ce_4d_none', lambda a, b: F.cross_entropy(a, b, reduction='none'), l4, t4)
    lp = f32(F.log_softmax(torch.randn(6, 5), 1)).requires_grad_(True)
    loss_case('nll', F.nll_loss, lp, tgt)
    loss_case('nll_w_ignore', lambda a, b, c: F.nll_loss(a, b, weight=c), lp, tig, w)
    # probability targets over [N, C, d] with reduction none, and unbatched [C] logits
    p3 = f32(torch.softmax(torch.randn(2, 5, 3), 1))
    l3 = leaf(2, 5, 3)
    loss_case('ce_prob_3d_none', lambda a, b: F.cross_entropy(a, b, reduction='none'), l3, p3)
    loss_case('ce_prob_3d_ls', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), l3, p3)
    l1d = leaf(5)
    loss_case('ce_unbatched', lambda a, b: F.cross_entropy(a, b), l1d, torch.tensor(3))
    loss_case('ce_unbatched_prob', lambda a, b: F.cross_entropy(a, b), l1d, f32(torch.softmax(torch.randn(5), 0)))


# ---------------------------------------------------------------- optimizers (3 steps)
OPTIMS = {
    'sgd': (torch.optim.SGD, dict(lr=0.1)),
    'sgd_momentum': (torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1)),
    'sgd_nesterov_wd': (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    'adam': (torch.optim.Adam, dict(lr=0.1)),
    'adam_wd_amsgrad': (torch.optim.Adam, dict(lr=0.1, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    'adamw': (torch.optim.AdamW, dict(lr=0.1, weight_decay=0.1)),
    'rmsprop': (torch.optim.RMSprop, dict(lr=0.01)),
    'rmsprop_centered': (torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5,
                                                   weight_decay=0.1)),
    'adagrad': (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    'adadelta': (torch.optim.Adadelta, dict(lr=1.0, rho=0.9, weight_decay=0.1)),
    'sgd_maximize': (torch.optim.SGD, dict(lr=0.1, momentum=0.5, maximize=True)),
    'adam_maximize': (torch.optim.Adam, dict(lr=0.1, maximize=True)),
    'adamw_amsgrad': (torch.optim.AdamW, dict(lr=0.05, betas=(0.5, 0.7), eps=1e-3, weight_decay=0.5, amsgrad=True)),
    'rmsprop_momentum': (torch.optim.RMSprop, dict(lr=0.01, momentum=0.9, eps=1e-4)),
    'adagrad_default': (torch.optim.Adagrad, dict(lr=0.1)),
}


def lamb_ref(ps, gsteps, lr=0.1, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    """LAMB (You et al. 2019) with Adam's bias correction and a per-tensor trust ratio ||p|| / ||r||."""
    ps = [p.detach().clone() for p in ps]
    m = [torch.zeros_like(p) for p in ps]
    v = [torch.zeros_like(p) for p in ps]
    out = []
    for step, gs in enumerate(gsteps, 1):
        for i, (p, g) in enumerate(zip(ps, gs)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            r = (m[i] / (1 - b1 ** step)) / ((v[i] / (1 - b2 ** step)).sqrt() + eps) + wd * p
            pn, rn = p.norm(), r.norm()
            ratio = pn / rn if pn > 0 and rn > 0 else 1.0
            p -= lr * ratio * r
        out.append([p.clone() for p in ps])
    return out


def gen_optim():
    w0, b0 = f32(torch.randn(4, 3)), f32(torch.randn(3))
    gsteps = [[f32(torch.randn(4, 3)), f32(torch.randn(3))] for _ in range(3)]
    save('opt', 'w0', w0)
    save('opt', 'b0', b0)
    for s, (gw, gb) in enumerate(gsteps, 1):
        save('opt', 'gw%d' % s, gw)
        save('opt', 'gb%d' % s, gb)
    for case, (cls, kw) in OPTIMS.items():
        w, b = w0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
        opt = cls([w, b], **kw)
        for s, (gw, gb) in enumerate(gsteps, 1):
            opt.zero_grad()
            w.grad, b.grad = gw.clone(), gb.clone()
            opt.step()
            save('opt_' + case, 'w%d' % s, w)
            save('opt_' + case, 'b%d' % s, b)
    for s, (w, b) in enumerate(lamb_ref([w0, b0], gsteps), 1):
        save('opt_lamb', 'w%d' % s, w)
        save('opt_lamb', 'b%d' % s, b)


# ---------------------------------------------------------------- schedules (lr before each of 12 steps)
def gen_sched():
    S = torch.optim.lr_scheduler
    cfgs = {
        'step_lr': (1.0, lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
        'multistep': (1.0, lambda o: S.MultiStepLR(o, milestones=[2, 5], gamma=0.1)),
        'exponential': (1.0, lambda o: S.ExponentialLR(o, gamma=0.9)),
        'cosine': (1.0, lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.01)),
        'cosine_restarts': (1.0, lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
        'one_cycle': (1.0, lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=12, cycle_momentum=False)),
        'lambda_lr': (0.5, lambda o: S.LambdaLR(o, lambda t: 0.9 ** t)),
    }
    for case, (lr, make) in cfgs.items():
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=lr)
        sch = make(opt)
        lrs = []
        for _ in range(12):
            lrs.append(opt.param_groups[0]['lr'])
            opt.step()
            sch.step()
        save('sched_' + case, 'lrs', torch.tensor(lrs))
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sch = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    metrics = [5.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0]
    lrs = []
    for m in metrics:
        sch.step(m)
        lrs.append(opt.param_groups[0]['lr'])
    save('sched_plateau', 'metrics', torch.tensor(metrics))
    save('sched_plateau', 'lrs', torch.tensor(lrs))


# ---------------------------------------------------------------- end to end: 5 training steps of a small net
class TrainNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 16)
        self.bn = torch.nn.BatchNorm1d(16)
        self.fc2 = torch.nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(self.bn(torch.relu(self.fc1(x))))


def gen_train():
    m = TrainNet()
    for p in m.parameters():
        p.data = f32(p.data)
    save_safetensors(os.path.join(OUT, 'train_mlp.safetensors'), m.state_dict())
    x, y = f32(torch.randn(12, 6)), torch.randint(0, 4, (12,))
    save('train_mlp', 'x', x)
    save('train_mlp', 'y', y)
    opt = torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=0.01)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    save('train_mlp', 'losses', torch.tensor(losses))
    for n, t in m.state_dict().items():
        if t.dtype.is_floating_point:
            save('train_mlp', 'after_' + n, t)
    m.eval()
    save('train_mlp', 'y_eval', m(x))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith('.npy') or f.endswith('.safetensors'):
            os.remove(os.path.join(OUT, f))
    for g in (gen_linear, gen_conv, gen_conv_nd, gen_pool, gen_norms, gen_embedding, gen_attention, gen_mha, gen_encoder, gen_decoder, gen_rotary, gen_clip,
              gen_rnn, gen_activations, gen_losses, gen_optim, gen_sched, gen_train):
        torch.manual_seed(zlib.crc32(g.__name__.encode()))   # each group's data is independent of the others
        g()
    n = len(os.listdir(OUT))
    size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print('wrote %d files, %d bytes, to %s' % (n, size, OUT), file=sys.stderr)


if __name__ == '__main__':
    main()
