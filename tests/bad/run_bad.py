#!/usr/bin/env python3
# tests/bad/run_bad.py — hostile inputs: each must end with exit 65 or 70 and an "error:" message,
# never a signal, a hang or exit 0. Inputs are generated here (binary data has no room for comments).
# Usage: run_bad.py ANX [CASE]   (one ctest per case: run_bad.py ANX --list prints the names)
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

MNIST_SCRIPT = 'import data\nlet x, y = data.mnist("%s", split: "train")\nprint(x.shape)\n'


def script(src):
    return ('main.anx', src.encode() if isinstance(src, str) else src, {})


def data_case(fname, payload, loader):
    return ('main.anx', loader.encode(), {fname: payload})


def idx_header(dtype, dims):
    return bytes([0, 0, dtype, len(dims)]) + b''.join(struct.pack('>I', d) for d in dims)


def cases():
    rnd = random.Random(7)
    c = {}
    c['binary_garbage'] = script(bytes(rnd.randrange(256) for _ in range(4096)))
    c['nul_bytes'] = script(b'let x = 1\n\x00\x00print(x)\n')
    c['nul_in_string'] = script(b'print("a\x00b")\nlet y = \x00\n')
    c['deep_parens'] = script('let x = ' + '(' * 100000 + '1' + ')' * 100000 + '\n')
    c['deep_lists'] = script('let x = ' + '[' * 100000 + ']' * 100000 + '\n')
    c['deep_blocks'] = script('if true { ' * 100000 + '}' * 100000 + '\n')
    c['deep_unary'] = script('let x = ' + '-' * 100000 + '1\n')
    c['deep_not'] = script('let x = ' + 'not ' * 100000 + 'true\n')
    c['huge_identifier'] = script('let ' + 'a' * (1 << 20) + ' = 1\nprint(b)\n')
    c['deep_recursion'] = script('fn f(n) { return f(n + 1) + 1 }\nf(0)\n')
    c['huge_tensor'] = script('let t = zeros([1000000, 1000000, 1000000])\n')
    c['tensor_dims_overflow'] = script('let t = ones([4294967296, 4294967296, 4294967296, 4294967296])\n')
    c['invalid_utf8_string'] = script(b'let s = "\xff\xfe"\n')
    c['unterminated_everything'] = script('fn f( { [ "abc')
    c['only_operators'] = script('+-*/%@ ** == != -> => .. \n' * 1000)
    c['bad_escape_unicode'] = script('print("\\u{110000}")\n')
    # data files: wrong magic, absurd header lengths, truncated data, overflowing dims
    d = {}
    d['train-images-idx3-ubyte'] = idx_header(8, [60000, 28, 28]) + b'\x00' * 100
    d['train-labels-idx1-ubyte'] = idx_header(8, [60000]) + b'\x00' * 60000
    c['idx_truncated'] = ('main.anx', (MNIST_SCRIPT % '.').encode(), d)
    d = {'train-images-idx3-ubyte': b'\x12\x34\x56\x78' + b'\x00' * 64, 'train-labels-idx1-ubyte': b'\x00' * 8}
    c['idx_wrong_magic'] = ('main.anx', (MNIST_SCRIPT % '.').encode(), d)
    d = {'train-images-idx3-ubyte': idx_header(8, [0xffffffff, 0xffffffff, 0xffffffff]),
         'train-labels-idx1-ubyte': idx_header(8, [1]) + b'\x00'}
    c['idx_dims_overflow'] = ('main.anx', (MNIST_SCRIPT % '.').encode(), d)
    d = {'train-images-idx3-ubyte.gz': zlib.compress(b'garbage')[:5], 'train-labels-idx1-ubyte': b''}
    c['idx_bad_gzip'] = ('main.anx', (MNIST_SCRIPT % '.').encode(), d)
    c['npy_bad_header_len'] = data_case('a.npy', b'\x93NUMPY\x01\x00\xff\xff{', 'import data\ndata.npy_load("a.npy")\n')
    c['npy_wrong_magic'] = data_case('a.npy', b'PK\x03\x04' * 10, 'import data\ndata.npy_load("a.npy")\n')
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"
    c['npy_shape_overflow'] = data_case('a.npy', b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr,
                                        'import data\ndata.npy_load("a.npy")\n')
    c['npy_object_dtype'] = data_case('a.npy', b'\x93NUMPY\x01\x00' + struct.pack('<H', 60) +
                                      b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }    ",
                                      'import data\ndata.npy_load("a.npy")\n')
    c['csv_ragged'] = data_case('a.csv', b'a,b,label\n1,2,0\n3,4\n', 'import data\ndata.csv("a.csv", label: "label")\n')
    c['csv_not_numbers'] = data_case('a.csv', b'a,label\nfoo,1\n', 'import data\ndata.csv("a.csv", label: "label")\n')
    c['csv_unterminated_quote'] = data_case('a.csv', b'a,label\n"1,1\n', 'import data\ndata.csv("a.csv", label: "label")\n')
    c['csv_nul_in_field'] = data_case('a.csv', b'a,label\n1\x002,1\n', 'import data\ndata.csv("a.csv", label: "label")\n')
    c['csv_nul_in_quoted_field'] = data_case('a.csv', b'a,label\n"1\x00",1\n', 'import data\ndata.csv("a.csv", label: "label")\n')
    c['text_missing'] = script('import data\ndata.text("/no/such/dir/anywhere")\n')
    c['import_self'] = ('main.anx', b'import "main.anx" as m\nprint(1)\n', {})
    c['import_binary_module'] = ('main.anx', b'import "lib.anx" as m\n', {'lib.anx': bytes(range(256)) * 8})
    return c


# what the message must say, for cases where "error:" alone is not enough
EXPECT = {
    'csv_nul_in_field': 'a.csv:2: NUL byte inside a field',
    'csv_nul_in_quoted_field': 'a.csv:2: NUL byte inside a field',
}


def run(anx, name, case):
    fname, src, files = case
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, fname), 'wb') as f:
            f.write(src)
        for n, data in files.items():
            with open(os.path.join(d, n), 'wb') as f:
                f.write(data)
        try:
            p = subprocess.run([anx, fname], cwd=d, capture_output=True, timeout=60,
                               env=dict(os.environ, ANX_MAX_MEMORY=os.environ.get('ANX_MAX_MEMORY', '')))
        except subprocess.TimeoutExpired:
            return 'hang (no exit within 60 s)'
    err = p.stderr.decode('utf-8', 'replace')
    if p.returncode < 0:
        return 'killed by signal %d\n%s' % (-p.returncode, err[-2000:])
    if p.returncode not in (65, 70):
        return 'exit %d (expected 65 or 70)\nstdout: %s\nstderr: %s' % (p.returncode, p.stdout[-500:], err[-2000:])
    if 'error:' not in err:
        return 'no "error:" message on stderr: %r' % err[-2000:]
    if name in EXPECT and EXPECT[name] not in err:
        return 'stderr lacks %r: %r' % (EXPECT[name], err[-2000:])
    return None


def main():
    anx = os.path.abspath(sys.argv[1])
    all_cases = cases()
    if len(sys.argv) > 2 and sys.argv[2] == '--list':
        print('\n'.join(sorted(all_cases)))
        return 0
    names = sys.argv[2:] or sorted(all_cases)
    failed = 0
    for n in names:
        why = run(anx, n, all_cases[n])
        if why:
            failed += 1
            print('FAIL %s: %s' % (n, why))
    if len(names) > 1:
        print('%d passed, %d failed' % (len(names) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
