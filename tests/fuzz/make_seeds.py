#!/usr/bin/env python3
# tests/fuzz/make_seeds.py — writes the small valid files of the binary seed corpora
# (corpus/idx, corpus/npy, corpus/safetensors, corpus/csv). Pure Python, no numpy: the files are
# built byte by byte so the seeds do not depend on a library's writer. Rerun after changing it;
# the output is deterministic. The parse corpus is hand-written (corpus/parse) plus tests/lang,
# tests/parse/cases and examples/, which scripts/ci-fuzz.sh passes as extra seed directories.
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def gzip_bytes(b):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(b) + c.flush()


def idx(dtype, dims, payload):
    return bytes([0, 0, dtype, len(dims)]) + b''.join(struct.pack('>I', d) for d in dims) + payload


def idx_seeds():
    # first byte: 0 = plain, 1 = the fuzz target gzips the rest
    cases = {
        'u8_2x3': idx(0x08, [2, 3], bytes(range(6))),
        'u8_labels': idx(0x08, [4], bytes([0, 1, 2, 9])),
        'i8_4': idx(0x09, [4], bytes([0, 127, 128, 255])),
        'i16_2x2': idx(0x0B, [2, 2], struct.pack('>4h', 1, -1, 300, -300)),
        'i32_3': idx(0x0C, [3], struct.pack('>3i', 1, -2, 1 << 30)),
        'f32_2x2': idx(0x0D, [2, 2], struct.pack('>4f', 0.5, -1.0, 3.25, 1e30)),
        'f64_2': idx(0x0E, [2], struct.pack('>2d', 1.5, -2.0)),
        'u8_1x2x2x2': idx(0x08, [1, 2, 2, 2], bytes(8)),
        'u8_empty': idx(0x08, [0, 28, 28], b''),
    }
    for k, v in cases.items():
        put('idx', 'plain_' + k, b'\x00' + v)
        put('idx', 'gz_' + k, b'\x01' + v)
    put('idx', 'pregz_u8_2x3', b'\x00' + gzip_bytes(cases['u8_2x3']))


def npy(descr, shape, payload, fortran=False, version=1):
    shp = '(' + ''.join('%d, ' % s for s in shape) + ')' if len(shape) != 1 else '(%d,)' % shape[0]
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, 'True' if fortran else 'False', shp)
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = (h + ' ' * pad + '\n').encode()
    if version == 1:
        head = b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h))
    else:
        head = b'\x93NUMPY' + bytes([version, 0]) + struct.pack('<I', len(h))
    return head + h + payload


def npy_seeds():
    put('npy', 'f4_2x3', npy('<f4', [2, 3], struct.pack('<6f', *range(6))))
    put('npy', 'f8_3', npy('<f8', [3], struct.pack('<3d', 1, 2, 3)))
    put('npy', 'f2_2', npy('<f2', [2], struct.pack('<2e', 1.0, -0.5)))
    put('npy', 'i8_2x2_fortran', npy('<i8', [2, 2], struct.pack('<4q', 1, 2, 3, 4), fortran=True))
    put('npy', 'i4_2x3x2_fortran', npy('<i4', [2, 3, 2], struct.pack('<12i', *range(12)), fortran=True))
    put('npy', 'u1_4', npy('|u1', [4], bytes([1, 2, 3, 255])))
    put('npy', 'b1_3', npy('|b1', [3], bytes([1, 0, 1])))
    put('npy', 'scalar_f4', npy('<f4', [], struct.pack('<f', 7.0)))
    put('npy', 'empty_0x3', npy('<f4', [0, 3], b''))
    put('npy', 'v2_f4_2', npy('<f4', [2], struct.pack('<2f', 1, 2), version=2))
    put('npy', 'v3_i4_1', npy('<i4', [1], struct.pack('<i', 5), version=3))


def safetensors(tensors, meta=None):
    hdr, data = {}, b''
    if meta is not None:
        hdr['__metadata__'] = meta
    for name, (dtype, shape, payload) in tensors.items():
        hdr[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(payload)]}
        data += payload
    h = json.dumps(hdr, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    return struct.pack('<Q', len(h)) + h + data


def safetensors_seeds():
    put('safetensors', 'one_f32', safetensors({'w': ('F32', [2, 2], struct.pack('<4f', 1, 2, 3, 4))}))
    put('safetensors', 'mlp', safetensors({
        'fc1.weight': ('F32', [3, 2], struct.pack('<6f', *range(6))),
        'fc1.bias': ('F32', [3], struct.pack('<3f', 0, 0, 1)),
        'fc2.weight': ('F64', [1, 3], struct.pack('<3d', 1, 2, 3)),
    }, meta={'format': 'pt', 'epoch': '3'}))
    put('safetensors', 'dtypes', safetensors({
        'a': ('F16', [2], struct.pack('<2e', 1, 2)), 'b': ('BF16', [1], b'\x80\x3f'),
        'c': ('I64', [1], struct.pack('<q', -1)), 'd': ('I32', [2], struct.pack('<2i', 1, 2)),
        'e': ('U8', [3], b'\x01\x02\x03'), 'f': ('BOOL', [2], b'\x01\x00'),
    }))
    put('safetensors', 'scalar_and_empty', safetensors({
        's': ('F32', [], struct.pack('<f', 1)), 'z': ('F32', [0, 4], b'')}))
    put('safetensors', 'meta_only', safetensors({}, meta={'k': 'v'}))


def csv_seeds():
    # first byte: bit 3 = header off, bits 0-2 = label option (see fuzz_csv.c)
    put('csv', 'label_name', b'\x01a,b,label\n1,2,0\n3,4,1\n')
    put('csv', 'label_float', b'\x01a,label\n1.5,0.25\n-3e4,2\n')
    put('csv', 'no_header', b'\x081,2,3\n4,5,6\n')
    put('csv', 'no_header_label0', b'\x0a1,2\n3,4\n')
    put('csv', 'quoted_crlf', b'\x01"a","b,c",label\r\n"1","2",3\r\n"4",5,6\r\n')
    put('csv', 'blank_lines', b'\x00x,y\n\n1,2\n\n3,4\n')
    put('csv', 'spaces_nan_inf', b'\x00x,y\n 1 , nan\ninf,-inf\n')
    put('csv', 'neg_label', b'\x04a,b\n1,2\n')


if __name__ == '__main__':
    idx_seeds()
    npy_seeds()
    safetensors_seeds()
    csv_seeds()
