#!/usr/bin/env python3
# Builds a corpus of hostile data sets for nntrain (issue 9): broken and
# crafted .npy headers, .npz archives (zip bombs, size lies, CRC damage),
# CSV files (stray quotes, huge fields and rows, odd encodings), image
# folders (decompression bombs, symlink loops, FIFOs). Standard library
# only. Usage: make_corpus.py DIR (default ./corpus); run.sh uses it.
import os, struct, zipfile, zlib, shutil, random
import sys
R = sys.argv[1] if len(sys.argv) > 1 else 'corpus'
os.makedirs(R)  # a new directory: never wipes an existing one
def npy(descr, shape, data=b'', fortran=False, ver=1, raw_hdr=None):
    hdr = raw_hdr if raw_hdr is not None else "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    if raw_hdr is None:
        hdr += ' ' * (63 - (10 + len(hdr)) % 64) + '\n'
    h = hdr.encode('utf-8')
    if ver == 1: return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + data
    return b'\x93NUMPY' + bytes([ver, 0]) + struct.pack('<I', len(h)) + h + data
def f32(*v): return struct.pack('<%df' % len(v), *v)
X = npy('<f4', '(2, 64)', f32(*([0.5] * 128)))
Y = npy('|u1', '(2,)', b'\x00\x01')
def npz(name, members, method=zipfile.ZIP_STORED):
    d = os.path.join(R, name); os.makedirs(d)
    with zipfile.ZipFile(os.path.join(d, 'train.npz'), 'w', method) as z:
        for k, v in members: z.writestr(k, v)
    return d
def rawfile(name, fname, data):
    d = os.path.join(R, name); os.makedirs(os.path.dirname(os.path.join(d, fname)), exist_ok=True)
    open(os.path.join(d, fname), 'wb').write(data)
# npy headers inside npz
hdrs = {
 'no_newline': npy(None, None, raw_hdr="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64), }"),
 'keys_reordered': npy(None, None, raw_hdr="{'shape': (2, 64), 'descr': '<f4', 'fortran_order': False}\n", data=f32(*([0.5]*128))),
 'brace_first': npy(None, None, raw_hdr="}{'descr': '<f4', 'fortran_order': False, 'shape': (2, 64)\n"),
 'v2_huge_len': b'\x93NUMPY\x02\x00' + struct.pack('<I', 0xFFFFFFF0) + b'{',
 'v3_utf8': npy('<f4', '(2, 64)', f32(*([0.5]*128)), ver=3),
 'neg_dim': npy('<f4', '(-2, 64)'),
 'giant_dims': npy('<f4', '(4611686018427387904, 4)'),
 'overflow_product': npy('<f4', '(65536, 65536, 65536)'),
 'unicode_dtype': npy('<U4', '(2, 64)', b'\x00' * 1024),
 'object_pickle': npy('|O', '(2,)', b'\x80\x04N.'),
 'fortran_3d': npy('<f4', '(2, 8, 8)', f32(*range(128)), fortran=True),
 'big_endian': npy('>f8', '(2, 64)', struct.pack('>128d', *([0.25]*128))),
 'half': npy('<f2', '(2, 64)', b'\x00\x3c' * 128),
 'bool_x': npy('|b1', '(2, 64)', b'\x01' * 128),
 'truncated_data': npy('<f4', '(2, 64)', f32(*([0.5]*100))),
 'zero_samples': npy('<f4', '(0, 64)'),
 'scalar': npy('<f4', '()', f32(1)),
 'nan_x': npy('<f4', '(2, 64)', f32(*([float('nan')]*128))),
 'version_9': b'\x93NUMPY\x09\x00\x10\x00' + b' ' * 16,
 'empty_member': b'',
 'random_bytes': bytes(random.Random(1).randrange(256) for _ in range(500)),
 'nested_tuple': npy(None, None, raw_hdr="{'descr': '<f4', 'fortran_order': False, 'shape': ((2,), 64), }\n"),
 'dup_keys': npy(None, None, raw_hdr="{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2, 64), }\n"),
 'int64_huge_vals': npy('<i8', '(2, 64)', struct.pack('<128q', *([2**62]*128))),
}
for k, v in hdrs.items():
    npz('npz_x_' + k, [('x.npy', v), ('y.npy', Y)])
    rawfile('npy_' + k, 'input.npy', v)
ys = {
 'labels_neg': npy('<i8', '(2,)', struct.pack('<2q', -1, 0)),
 'labels_huge': npy('<i8', '(2,)', struct.pack('<2q', 2**62, 0)),
 'labels_u8max': npy('<u8', '(2,)', struct.pack('<2Q', 2**64-1, 0)),
 'y_3d': npy('<f4', '(2, 1, 1)', f32(0, 1)),
 'y_wrong_len': npy('|u1', '(3,)', b'\x00\x01\x02'),
 'y_nan': npy('<f4', '(2,)', f32(float('nan'), 0)),
 'y_int_2col': npy('<i8', '(2, 2)', struct.pack('<4q', 0, 1, 1, 0)),
}
for k, v in ys.items():
    npz('npz_y_' + k, [('x.npy', X), ('y.npy', v)])
npz('npz_missing_y', [('x.npy', X)])
npz('npz_dup_members', [('x.npy', X), ('x.npy', X), ('y.npy', Y)])
npz('npz_deflated_ok', [('x.npy', X), ('y.npy', Y)], zipfile.ZIP_DEFLATED)
# zip-level damage
d = npz('npz_crc_corrupt', [('x.npy', X), ('y.npy', Y)])
b = bytearray(open(d + '/train.npz', 'rb').read()); i = b.find(b'\x00\x00\x00?'); b[i+3] ^= 0xff; open(d + '/train.npz', 'wb').write(b)
d = npz('npz_truncated', [('x.npy', X), ('y.npy', Y)])
b = open(d + '/train.npz', 'rb').read(); open(d + '/train.npz', 'wb').write(b[:len(b)//2])
rawfile('npz_empty', 'train.npz', b'')
rawfile('npz_random', 'train.npz', bytes(random.Random(2).randrange(256) for _ in range(4000)))
# zip bomb (lying): 2 GiB of zeros behind a small header
d = os.path.join(R, 'npz_bomb_lie'); os.makedirs(d)
with zipfile.ZipFile(d + '/train.npz', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('y.npy', Y)
    with z.open('x.npy', 'w', force_zip64=True) as f:
        f.write(X)
        for _ in range(32): f.write(b'\x00' * (64 << 20))
# zip bomb (honest): header promises 1.9 GiB of float32 (within element limit? no: 5e8 > 2^28)
d = os.path.join(R, 'npz_bomb_honest'); os.makedirs(d)
with zipfile.ZipFile(d + '/train.npz', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('y.npy', npy('|u1', '(4194304,)', b'\x00' * 4194304))
    with z.open('x.npy', 'w', force_zip64=True) as f:
        f.write(npy('<f4', '(4194304, 64)'))
        for _ in range(16): f.write(b'\x00' * (64 << 20))
# CSV
hdr = ','.join('p%d' % i for i in range(64)) + ',label\n'
row = lambda lab: ','.join(['0.5'] * 64) + ',' + lab + '\n'
csvs = {
 'stray_quote': hdr + row('0').replace('0.5', '0"5', 1) + row('1'),
 'unterminated_quote': hdr + '"' + row('0') + row('1') * 100,
 'quote_in_header': '"' + hdr + row('0'),
 'huge_field': hdr + '9' * (50 << 20) + row('0')[3:],
 'huge_line_no_newline': hdr + ('1,' * (12 << 20)),
 'one_column': 'a\n1\n2\n',
 'empty': '',
 'header_only': hdr,
 'bom_crlf': '\ufeff' + hdr.replace('\n', '\r\n') + row('0').replace('\n', '\r\n') + row('1'),
 'nul_bytes': hdr + row('0').replace('0.5', '0\x005', 1) + row('1'),
 'label_neg': hdr + row('-1') + row('1'),
 'label_huge': hdr + row('4611686018427387904') + row('1'),
 'label_overflow': hdr + row('99999999999999999999999') + row('1'),
 'label_nan': hdr + row('nan') + row('0.5'),
 'ragged': hdr + row('0')[4:] + row('1'),
 'wide_100k': ','.join('c%d' % i for i in range(100000)) + '\n' + ','.join(['1'] * 100000) + '\n',
 'inf_values': hdr + row('0').replace('0.5', '1e400', 1) + row('1'),
 'hex_floats': hdr + row('0').replace('0.5', '0x1p-2', 1) + row('1'),
}
for k, v in csvs.items():
    rawfile('csv_' + k, 'train.csv', v.encode('utf-8', 'surrogatepass'))
rawfile('csv_non_utf8', 'train.csv', hdr.encode() + b'\xff\xfe,' * 64 + b'0\n')
# images
def png(w, h, depth=8, ctype=0, idat=None):
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    ihdr = struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0)
    if idat is None:
        bpp = {0: 1, 2: 3, 6: 4}[ctype] * depth // 8
        idat = zlib.compress(b''.join(b'\x00' + b'\x80' * (w * bpp) for _ in range(h)))
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', idat) + chunk(b'IEND', b'')
ok = png(8, 8)
def imgs(name, files):
    for f, data in files.items(): rawfile(name, f, data)
imgs('img_png_bomb', {'train/a/bomb.png': png(100000, 100000, 16, 6, idat=zlib.compress(b'')), 'train/b/ok.png': ok})
imgs('img_png_bomb_small', {'train/a/b.png': png(65535, 65535, 8, 0, idat=zlib.compress(b'\x00' * 1000)), 'train/b/ok.png': ok})
imgs('img_truncated', {'train/a/t.png': ok[:40], 'train/b/ok.png': ok})
imgs('img_zero', {'train/a/z.png': png(0, 0), 'train/b/ok.png': ok})
imgs('img_16bit', {'train/a/x.png': png(8, 8, 16, 2), 'train/b/ok.png': ok})
imgs('img_jpeg_garbage', {'train/a/x.jpg': b'\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03' + b'\x00' * 100, 'train/b/ok.png': ok})
imgs('img_no_images', {'train/a/readme.txt': b'x', 'train/b/ok.png': ok})
imgs('img_symlink_loop', {'train/a/ok.png': ok, 'train/b/ok.png': ok})
os.symlink('..', R + '/img_symlink_loop/train/a/up')
os.symlink('.', R + '/img_symlink_loop/train/b/self')
imgs('img_symlink_class', {'store/c/ok.png': ok, 'train/b/ok.png': ok})
os.symlink('../store/c', R + '/img_symlink_class/train/a')
imgs('img_dangling', {'train/b/ok.png': ok})
os.makedirs(R + '/img_dangling/train/a'); os.symlink('missing.png', R + '/img_dangling/train/a/x.png')
imgs('img_fifo', {'train/b/ok.png': ok}); os.makedirs(R + '/img_fifo/train/a'); os.mkfifo(R + '/img_fifo/train/a/f.png')
os.makedirs(R + '/fifo_csv'); os.mkfifo(R + '/fifo_csv/train.csv')
os.makedirs(R + '/fifo_npz'); os.mkfifo(R + '/fifo_npz/train.npz')
os.makedirs(R + '/dir_npz/train.npz')
os.makedirs(R + '/npy_fifo'); os.mkfifo(R + '/npy_fifo/input.npy')
print(len(os.listdir(R)), 'cases')
