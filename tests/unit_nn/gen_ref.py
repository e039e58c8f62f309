# tests/unit_nn/gen_ref.py — writes PyTorch reference values for the neural kernels to data/.
# Run with the system python that has torch 1.13: /usr/bin/python3 tests/unit_nn/gen_ref.py
# Each case is one file data/<case>.f64: float64 little-endian arrays concatenated in the order
# listed next to the case below (integer arrays are stored as float64 too). test_torch_ref.c
# reads them back in the same order; keep the two in step.
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)
out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
os.makedirs(out_dir, exist_ok=True)


def save(name, *arrays):
    flat = torch.cat([a.detach().to(torch.float64).reshape(-1) for a in arrays])
    flat.numpy().astype("<f8").tofile(os.path.join(out_dir, name + ".f64"))


def leaf(*shape):
    return torch.randn(*shape).requires_grad_()


# conv2d_a: x[2,3,7,6] w[4,3,3,3] b[4] dy | y dx dw db ; stride 2, padding 1
x, w, b = leaf(2, 3, 7, 6), leaf(4, 3, 3, 3), leaf(4)
y = F.conv2d(x, w, b, stride=2, padding=1)
dy = torch.randn_like(y)
y.backward(dy)
save("conv2d_a", x, w, b, dy, y, x.grad, w.grad, b.grad)

# conv2d_b: x[2,4,9,8] w[6,2,3,3] b[6] dy | y dx dw db ; groups 2, dilation 2, padding 2
x, w, b = leaf(2, 4, 9, 8), leaf(6, 2, 3, 3), leaf(6)
y = F.conv2d(x, w, b, padding=2, dilation=2, groups=2)
dy = torch.randn_like(y)
y.backward(dy)
save("conv2d_b", x, w, b, dy, y, x.grad, w.grad, b.grad)

# conv_transpose2d: x[2,3,4,5] w[3,2,3,3] b[2] dy | y dx dw db ; stride 2, padding 1, output_padding 1
x, w, b = leaf(2, 3, 4, 5), leaf(3, 2, 3, 3), leaf(2)
y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)
dy = torch.randn_like(y)
y.backward(dy)
save("conv_transpose2d", x, w, b, dy, y, x.grad, w.grad, b.grad)

# batch_norm: x[4,3,2,3] gamma[3] beta[3] rm0[3] rv0[3] dy | y rm rv dx dgamma dbeta ;
# training, momentum 0.1, eps 1e-5
x, g, bt = leaf(4, 3, 2, 3), leaf(3), leaf(3)
rm0, rv0 = torch.randn(3), torch.rand(3) + 0.5
rm, rv = rm0.clone(), rv0.clone()
y = F.batch_norm(x, rm, rv, g, bt, training=True, momentum=0.1, eps=1e-5)
dy = torch.randn_like(y)
y.backward(dy)
save("batch_norm", x, g, bt, rm0, rv0, dy, y, rm, rv, x.grad, g.grad, bt.grad)

# layer_norm: x[3,4,6] gamma[6] beta[6] dy | y dx dgamma dbeta ; over the last 6, eps 1e-5
x, g, bt = leaf(3, 4, 6), leaf(6), leaf(6)
y = F.layer_norm(x, (6,), g, bt, eps=1e-5)
dy = torch.randn_like(y)
y.backward(dy)
save("layer_norm", x, g, bt, dy, y, x.grad, g.grad, bt.grad)

# group_norm: x[2,6,5] gamma[6] beta[6] dy | y dx dgamma dbeta ; 3 groups, eps 1e-5
x, g, bt = leaf(2, 6, 5), leaf(6), leaf(6)
y = F.group_norm(x, 3, g, bt, eps=1e-5)
dy = torch.randn_like(y)
y.backward(dy)
save("group_norm", x, g, bt, dy, y, x.grad, g.grad, bt.grad)

# cross_entropy_a: logits[6,5] target[6] weight[5] | loss dlogits ;
# ignore_index 2 (target[1] = 2), label_smoothing 0.1, reduction mean, dloss = 1
x = leaf(6, 5)
t = torch.tensor([0, 2, 4, 1, 3, 4])
wt = torch.rand(5) + 0.5
loss = F.cross_entropy(x, t, weight=wt, ignore_index=2, label_smoothing=0.1)
loss.backward()
save("cross_entropy_a", x, t, wt, loss.reshape(1), x.grad)

# cross_entropy_b: logits[5,4] target[5] dloss[5] | loss[5] dlogits ; reduction none, ls 0.2
x = leaf(5, 4)
t = torch.tensor([3, 0, 1, 1, 2])
loss = F.cross_entropy(x, t, reduction="none", label_smoothing=0.2)
dl = torch.randn(5)
loss.backward(dl)
save("cross_entropy_b", x, t, dl, loss, x.grad)

# cross_entropy_soft: logits[4,3] probs[4,3] weight[3] | loss dlogits ; mean, ls 0.1
x = leaf(4, 3)
p = torch.softmax(torch.randn(4, 3), dim=1)
wt = torch.rand(3) + 0.5
loss = F.cross_entropy(x, p, weight=wt, label_smoothing=0.1)
loss.backward()
save("cross_entropy_soft", x, p, wt, loss.reshape(1), x.grad)

# max_pool2d: x[2,3,7,7] dy | y indices dx ; kernel 3, stride 2, padding 1
x = leaf(2, 3, 7, 7)
y, idx = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
dy = torch.randn_like(y)
y.backward(dy)
save("max_pool2d", x, dy, y, idx, x.grad)

# avg_pool2d: x[2,2,7,6] dy | y dx ; kernel 3, stride 2, padding 1, ceil_mode, count_include_pad=False
x = leaf(2, 2, 7, 6)
y = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
dy = torch.randn_like(y)
y.backward(dy)
save("avg_pool2d", x, dy, y, x.grad)

# adaptive_avg_pool2d: x[2,3,7,5] dy | y dx ; output 3x2
x = leaf(2, 3, 7, 5)
y = F.adaptive_avg_pool2d(x, (3, 2))
dy = torch.randn_like(y)
y.backward(dy)
save("adaptive_avg_pool2d", x, dy, y, x.grad)

# attention: q[2,2,5,4] k[2,2,7,4] v[2,2,7,3] mask[5,7] dout | out dq dk dv ;
# scale 1/sqrt(4), additive mask, not causal (torch 1.13 has no fused sdpa: written out here)
q, k, v = leaf(2, 2, 5, 4), leaf(2, 2, 7, 4), leaf(2, 2, 7, 3)
mask = torch.randn(5, 7)
mask[0, 3] = float("-inf")
o = torch.softmax(q @ k.transpose(-1, -2) / 2.0 + mask, dim=-1) @ v
do = torch.randn_like(o)
o.backward(do)
save("attention", q, k, v, mask, do, o, q.grad, k.grad, v.grad)

# attention_causal: q[1,2,6,4] k[1,2,6,4] v[1,2,6,4] dout | out dq dk dv ; scale 0.5, causal
q, k, v = leaf(1, 2, 6, 4), leaf(1, 2, 6, 4), leaf(1, 2, 6, 4)
causal = torch.ones(6, 6).tril().bool()
s = (q @ k.transpose(-1, -2) * 0.5).masked_fill(~causal, float("-inf"))
o = torch.softmax(s, dim=-1) @ v
do = torch.randn_like(o)
o.backward(do)
save("attention_causal", q, k, v, do, o, q.grad, k.grad, v.grad)

# optimizers: p0[10] grads[3,10] | p after 3 steps, one file per configuration
p0 = torch.randn(10)
grads = torch.randn(3, 10)
optims = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02),
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adamw_amsgrad": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.05, amsgrad=True),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=0.01,
                                              momentum=0.9, centered=True),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, weight_decay=0.01,
                                              initial_accumulator_value=0.1, eps=1e-10),
    "adadelta": lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01),
}
for name, make in optims.items():
    p = p0.clone().requires_grad_()
    opt = make([p])
    for s in range(3):
        p.grad = grads[s].clone()
        opt.step()
    save("optim_" + name, p0, grads, p)

# lstm_cell: x[3,4] h[3,5] c[3,5] w_ih[20,4] w_hh[20,5] b_ih[20] b_hh[20] dh'[3,5] dc'[3,5] |
# h' c' dx dh dc dw_ih dw_hh db_ih db_hh
x, h, c = leaf(3, 4), leaf(3, 5), leaf(3, 5)
wi, wh, bi, bh = leaf(20, 4), leaf(20, 5), leaf(20), leaf(20)
h2, c2 = torch.lstm_cell(x, (h, c), wi, wh, bi, bh)
dh2, dc2 = torch.randn(3, 5), torch.randn(3, 5)
torch.autograd.backward([h2, c2], [dh2, dc2])
save("lstm_cell", x, h, c, wi, wh, bi, bh, dh2, dc2, h2, c2, x.grad, h.grad, c.grad, wi.grad,
     wh.grad, bi.grad, bh.grad)

# gru_cell: x[3,4] h[3,5] w_ih[15,4] w_hh[15,5] b_ih[15] b_hh[15] dh'[3,5] |
# h' dx dh dw_ih dw_hh db_ih db_hh
x, h = leaf(3, 4), leaf(3, 5)
wi, wh, bi, bh = leaf(15, 4), leaf(15, 5), leaf(15), leaf(15)
h2 = torch.gru_cell(x, h, wi, wh, bi, bh)
dh2 = torch.randn(3, 5)
h2.backward(dh2)
save("gru_cell", x, h, wi, wh, bi, bh, dh2, h2, x.grad, h.grad, wi.grad, wh.grad, bi.grad, bh.grad)

# conv3d: x[2,2,5,6,4] w[3,2,3,2,3] b[3] dy | y dx dw db ; stride (2,1,1), padding (1,0,1), dilation (1,2,1)
x, w, b = leaf(2, 2, 5, 6, 4), leaf(3, 2, 3, 2, 3), leaf(3)
y = F.conv3d(x, w, b, stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 2, 1))
dy = torch.randn_like(y)
y.backward(dy)
save("conv3d", x, w, b, dy, y, x.grad, w.grad, b.grad)

# conv2d_same: x[1,2,6,5] w[3,2,4,2] b[3] dy | y dx dw db ; padding="same", dilation (1, 2)
x, w, b = leaf(1, 2, 6, 5), leaf(3, 2, 4, 2), leaf(3)
y = F.conv2d(x, w, b, padding="same", dilation=(1, 2))
dy = torch.randn_like(y)
y.backward(dy)
save("conv2d_same", x, w, b, dy, y, x.grad, w.grad, b.grad)

print("wrote", len(os.listdir(out_dir)), "files to", out_dir)
