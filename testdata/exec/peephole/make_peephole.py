#!/usr/bin/python3
"""Reference for LSTM with peepholes (PyTorch's nn.LSTM has none, so there is no PyTorch truth).

    /usr/bin/python3 testdata/exec/peephole/make_peephole.py [--ort DIR]

Also lstm_clip.onnx/.npz: the same with clip=1.0 (and larger weights, so that it bites), clip applied
to every gate's pre-activation, peephole term included, the cell state not clipped (what ONNX Runtime
computes).

And gru_clip, gru_clip_lbr0 (linear_before_reset 0) and rnn_clip (tanh): forward, clip=0.9 applied to the
input of every activation (z, r, h; f for RNN), as ONNX Runtime computes.

Writes lstm_peephole.onnx (one bidirectional LSTM node, opset 13, hidden 3, input 4, weights W, R, B, P
as initializers, X [5, 2, 4] and initial states as graph inputs) and lstm_peephole.npz with the inputs
and Y, Y_h, Y_c computed by a float64 numpy implementation of the ONNX specification:
  i = σ(X·Wiᵀ + H·Riᵀ + Pi⊙C + Wbi + Rbi), f = σ(... + Pf⊙C ...), c̃ = tanh(...),
  C' = f⊙C + i⊙c̃, o = σ(... + Po⊙C' ...), H' = o⊙tanh(C').
With --ort DIR (a directory holding onnxruntime-node), the script also writes X and the states as
raw float32 and runs ONNX Runtime through node to confirm the reference (max abs diff printed).
"""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
T, N, I, H, D = 5, 2, 4, 3, 2


def sig(v):
    return 1 / (1 + np.exp(-v))


def reference(x, W, R, B, P, h0, c0, clip=None):
    ys, hs, cs = [], [], []
    for d in range(D):
        h, c = h0[d], c0[d]
        Pi, Po, Pf = P[d, :H], P[d, H:2 * H], P[d, 2 * H:]
        bias = B[d, :4 * H] + B[d, 4 * H:]
        out = [None] * T
        for t in (range(T) if d == 0 else reversed(range(T))):
            z = x[t] @ W[d].T + h @ R[d].T + bias
            zi, zo, zf, zc = (z[:, k * H:(k + 1) * H] for k in range(4))
            cl = (lambda v: np.clip(v, -clip, clip)) if clip else (lambda v: v)
            i, f, g = sig(cl(zi + Pi * c)), sig(cl(zf + Pf * c)), np.tanh(cl(zc))
            c = f * c + i * g
            o = sig(cl(zo + Po * c))
            h = o * np.tanh(c)
            out[t] = h
        ys.append(np.stack(out))
        hs.append(h)
        cs.append(c)
    return np.stack(ys, 1), np.stack(hs), np.stack(cs)


def main():
    build("lstm_peephole", None)
    build("lstm_clip", 1.0)
    for name, op, lbr in (("gru_clip", "GRU", 1), ("gru_clip_lbr0", "GRU", 0), ("rnn_clip", "RNN", 0)):
        build_gru_rnn(name, op, lbr, 0.9)


def gru_rnn_reference(op, lbr, x, W, R, B, clip):
    """Forward GRU (z, r, h) or tanh RNN with every activation's input clipped to [-clip, clip]."""
    G = W.shape[1] // H
    cl = lambda v: np.clip(v, -clip, clip)
    h = np.zeros((N, H))
    wb, rb = B[0, :G * H], B[0, G * H:]
    ys = []
    for t in range(T):
        xa = x[t] @ W[0].T + wb
        if op == "RNN":
            h = np.tanh(cl(xa + h @ R[0].T + rb))
        else:
            z = sig(cl(xa[:, :H] + h @ R[0, :H].T + rb[:H]))
            r = sig(cl(xa[:, H:2 * H] + h @ R[0, H:2 * H].T + rb[H:2 * H]))
            if lbr:
                hh = np.tanh(cl(xa[:, 2 * H:] + r * (h @ R[0, 2 * H:].T + rb[2 * H:])))
            else:
                hh = np.tanh(cl(xa[:, 2 * H:] + (r * h) @ R[0, 2 * H:].T + rb[2 * H:]))
            h = (1 - z) * hh + z * h
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


def build_gru_rnn(name, op, lbr, clip):
    """GRU/RNN with clip: what ONNX Runtime computes (checked with --ort)."""
    rng = np.random.default_rng(3)
    G = {"GRU": 3, "RNN": 1}[op]
    W = (rng.standard_normal((1, G * H, I)) * 3).astype(np.float32)
    R = (rng.standard_normal((1, G * H, H)) * 3).astype(np.float32)
    B = (rng.standard_normal((1, 2 * G * H)) + 1).astype(np.float32)
    x = (rng.standard_normal((T, N, I)) * 2).astype(np.float32)
    kw = dict(hidden_size=H, clip=clip)
    if op == "GRU":
        kw["linear_before_reset"] = lbr
    node = helper.make_node(op, ["X", "W", "R", "B"], ["Y", "Y_h"], **kw)
    g = helper.make_graph([node], name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, I])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, 1, N, H]),
                           helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, N, H])],
                          [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (B, "B"))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_peephole.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name + ".onnx"))
    d64 = lambda a: a.astype(np.float64)
    y, yh = gru_rnn_reference(op, lbr, d64(x), d64(W), d64(R), d64(B), float(np.float32(clip)))  # as the file stores it
    np.savez_compressed(os.path.join(HERE, name + ".npz"), x=d64(x), y=y, y_h=yh)
    if "--ort" in sys.argv:
        ort = sys.argv[sys.argv.index("--ort") + 1]
        tmp = "/tmp/lstm_peephole_ort"
        os.makedirs(tmp, exist_ok=True)
        x.tofile(os.path.join(tmp, "X.bin"))
        js = """
const ort = require('onnxruntime-node'); const fs = require('fs');
(async () => {
  const s = await ort.InferenceSession.create('%s');
  const b = fs.readFileSync('%s/X.bin');
  const r = await s.run({X: new ort.Tensor('float32', new Float32Array(b.buffer, b.byteOffset, b.length / 4), [%d, %d, %d])});
  fs.writeFileSync('%s/Y.out', Buffer.from(r.Y.data.buffer, r.Y.data.byteOffset, r.Y.data.byteLength));
})();""" % (os.path.join(HERE, name + ".onnx"), tmp, T, N, I, tmp)
        subprocess.run(["node", "-e", js], check=True, env=dict(os.environ, NODE_PATH=ort))
        got = np.fromfile(os.path.join(tmp, "Y.out"), dtype=np.float32).reshape(y.shape)
        print("%s: ONNX Runtime vs reference Y: max abs diff %.2e" % (name, np.abs(got - y).max()))


def build(name, clip):
    rng = np.random.default_rng(2024)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    W, R, B, P = f32(D, 4 * H, I) * 0.5, f32(D, 4 * H, H) * 0.5, f32(D, 8 * H) * 0.3, f32(D, 3 * H)
    x, h0, c0 = f32(T, N, I), f32(D, N, H), f32(D, N, H)
    if clip:  # large enough pre-activations that the clip matters
        W, R, B = W * 4, R * 4, B + 2
    kw = {"clip": clip} if clip else {}
    node = helper.make_node("LSTM", ["X", "W", "R", "B", "", "h0", "c0", "P"], ["Y", "Y_h", "Y_c"],
                            hidden_size=H, direction="bidirectional", **kw)
    g = helper.make_graph([node], "lstm_peephole",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, I]),
                           helper.make_tensor_value_info("h0", TensorProto.FLOAT, [D, N, H]),
                           helper.make_tensor_value_info("c0", TensorProto.FLOAT, [D, N, H])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, D, N, H]),
                           helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [D, N, H]),
                           helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, [D, N, H])],
                          [numpy_helper.from_array(a, n) for a, n in ((W, "W"), (R, "R"), (B, "B"), (P, "P"))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_peephole.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name + ".onnx"))
    d64 = lambda a: a.astype(np.float64)
    y, yh, yc = reference(d64(x), d64(W), d64(R), d64(B), d64(P), d64(h0), d64(c0), clip)
    np.savez_compressed(os.path.join(HERE, name + ".npz"), x=d64(x), h0=d64(h0), c0=d64(c0), y=y, y_h=yh, y_c=yc)
    if "--ort" in sys.argv:
        ort = sys.argv[sys.argv.index("--ort") + 1]
        tmp = "/tmp/lstm_peephole_ort"
        os.makedirs(tmp, exist_ok=True)
        for n, a in (("X", x), ("h0", h0), ("c0", c0)):
            a.tofile(os.path.join(tmp, n + ".bin"))
        js = """
const ort = require('onnxruntime-node'); const fs = require('fs');
(async () => {
  const s = await ort.InferenceSession.create('%s');
  const rd = (n, dims) => { const b = fs.readFileSync('%s/' + n + '.bin');
    return new ort.Tensor('float32', new Float32Array(b.buffer, b.byteOffset, b.length / 4), dims); };
  const r = await s.run({X: rd('X', [%d, %d, %d]), h0: rd('h0', [%d, %d, %d]), c0: rd('c0', [%d, %d, %d])});
  for (const k of ['Y', 'Y_h', 'Y_c']) fs.writeFileSync('%s/' + k + '.out', Buffer.from(r[k].data.buffer, r[k].data.byteOffset, r[k].data.byteLength));
})();""" % (os.path.join(HERE, name + ".onnx"), tmp, T, N, I, D, N, H, D, N, H, tmp)
        subprocess.run(["node", "-e", js], check=True, env=dict(os.environ, NODE_PATH=ort))
        for k, ref in (("Y", y), ("Y_h", yh), ("Y_c", yc)):
            got = np.fromfile(os.path.join(tmp, k + ".out"), dtype=np.float32).reshape(ref.shape)
            print("%s: ONNX Runtime vs reference %s: max abs diff %.2e" % (name, k, np.abs(got - ref).max()))


if __name__ == "__main__":
    main()
