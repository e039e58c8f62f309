#!/usr/bin/env python3
# bench/gpu/report.py — the side-by-side tables of bench/gpu/run.sh: reads the RESULT lines anx and
# PyTorch printed for one part and prints each point with both figures, the ratio anx/torch and the
# target. Usage: report.py gemm|attention|train ANX_OUTPUT TORCH_OUTPUT
# A point that one side could not run shows that side's error instead of a figure; a point missing
# from a side's output (the process failed before reaching it) shows "missing". Plain Python, no torch.
import sys

TARGETS = {'gemm': 0.9, 'attention': 1.0, 'train': 1.0}
# training: samples (tokens for charlm) per step, to turn the scripts' rates into steps/s
PER_STEP = {'mlp': 64, 'mlp_u8': 64, 'cnn': 64, 'charlm': 32 * 64}


def results(path):
    out = []
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                if line.startswith('RESULT '):   # key=value fields; error=, when there, is the rest of the line
                    line, _, err = line.rstrip('\n').partition(' error=')
                    r = dict(kv.split('=', 1) for kv in line.split()[1:] if '=' in kv)
                    if _:
                        r['error'] = err
                    out.append(r)
    except OSError:
        pass
    return out


def key(r):
    return (r.get('mode', ''), int(r['n'])) if 'n' in r else (r.get('workload', ''),)


NOTES = []   # the errors behind 'error [i]' cells, printed under the table


def cell(r, field):
    if r is None:
        return 'missing', None
    if 'error' in r:
        msg = r['error']
        if msg not in NOTES:
            NOTES.append(msg)
        return 'error [%d]' % (NOTES.index(msg) + 1), None
    v = float(r[field])
    return '%.3f' % v if v < 100 else '%.1f' % v, v


def main():
    part, anx_path, torch_path = sys.argv[1:4]
    a = {key(r): r for r in results(anx_path)}
    t = {key(r): r for r in results(torch_path)}
    target = TARGETS[part]
    keys = list(a) + [k for k in t if k not in a]   # anx's order, then points only torch ran
    below = compared = 0
    if part == 'train':
        print('%-8s %12s %12s %8s %8s %12s %12s' % ('workload', 'anx step/s', 'torch step/s', 'ratio', 'target', 'anx metric',
                                                   'torch metric'))
    else:
        print('%-9s %6s %12s %12s %8s %8s %s' % ('mode', 'n', 'anx TFLOP/s', 'torch TFLOP/s', 'ratio', 'target', ''))
    for k in keys:
        ra, rt = a.get(k), t.get(k)
        if part == 'train':
            per = PER_STEP.get(k[0], 1)
            sa, va = cell(ra, 'rate')
            st, vt = cell(rt, 'rate')
            if va is not None:
                sa = '%.1f' % (va / per)
            if vt is not None:
                st = '%.1f' % (vt / per)
            ma = ra['metric'] if ra and 'metric' in ra else '-'
            mt = rt['metric'] if rt and 'metric' in rt else '-'
        else:
            sa, va = cell(ra, 'tflops')
            st, vt = cell(rt, 'tflops')
        ratio = '%.2fx' % (va / vt) if va is not None and vt else '-'
        verdict = ''
        if va is not None and vt:
            verdict = 'ok' if va / vt >= target else 'BELOW'
            below += va / vt < target
            compared += 1
        goal = '>=%.2fx' % target
        if part == 'train':
            print('%-8s %12s %12s %8s %8s %12s %12s %s' % (k[0], sa, st, ratio, goal, ma, mt, verdict))
        else:
            print('%-9s %6d %12s %12s %8s %8s %s' % (k[0], k[1], sa, st, ratio, goal, verdict))
    if part == 'train':
        print('step/s: optimizer steps per second over the training time (batch 64; charlm 32 x 64 tokens);'
              ' metric: test accuracy (charlm: validation loss)')
    elif part == 'attention':
        impl = {r.get('impl') for r in t.values() if r.get('impl')}
        print('TFLOP/s: 4 B H T^2 D per forward (no mask, not causal); torch: %s'
              % ('F.scaled_dot_product_attention' if impl == {'sdpa'} else 'softmax(q k^T / sqrt(d)) v written out (no SDPA in this torch)'))
    else:
        print('TFLOP/s: 2 n^3 per [n, n] @ [n, n]; tf32 = float32 with TF32 allowed on both sides')
    for i, msg in enumerate(NOTES, 1):
        print('[%d] %s' % (i, msg))
    print('%d of %d points compared (both sides ran), %d of them below the target' % (compared, len(keys), below))


if __name__ == '__main__':
    main()
