#!/usr/bin/python3
"""Independent check of the committed fixtures: run every exported ONNX graph with a small float64
numpy interpreter (no torch, no onnxruntime) and compare with golden.npz.

    /usr/bin/python3 testdata/check_fixtures.py [model ...]

* eval.onnx(.gz) on `input` must give `eval_output`.
* train*.onnx(.gz) on `input`, with every Dropout forced to ratio 0, must give `train_output`, and
  the running_mean / running_var outputs of each BatchNormalization, updated the PyTorch way
  (unbiased batch variance), must give `train_running_mean:<bn>` / `train_running_var:<bn>`.

It covers exactly the operators PyTorch 1.13 emits for this zoo.  It also documents, in code, the
semantics a loader must implement (LSTM gate order, BN training outputs, Gather with -1, ...).
"""

import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
from scipy.special import erf
from onnx_ref_ops import convtranspose, gru_rnn, resize, sigmoid, swin_ops, volume_ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")


def attrs(node):
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = numpy_helper.to_array(v)
        if isinstance(v, bytes):
            v = v.decode()
        out[a.name] = v
    return out


def f64(a):
    return a.astype(np.float64) if a.dtype == np.float32 else a


def conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    dh, dw = a.get("dilations", [1, 1])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, m, oh, ow))
    mg = m // g
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        cols = np.empty((n, cg, kh, kw, oh, ow))
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
        wg = w[gi * mg:(gi + 1) * mg].reshape(mg, -1)
        y[:, gi * mg:(gi + 1) * mg] = np.einsum("mk,nkhw->nmhw", wg, cols.reshape(n, -1, oh, ow))
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    assert not a.get("ceil_mode", 0) and a.get("dilations", [1, 1]) == [1, 1]
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    n, c, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw])
    return y


def lstm(x, W, R, B, h0, c0, a):
    # ONNX LSTM, one direction, gates stacked i, o, f, c (PyTorch stacks i, f, g, o)
    assert a.get("direction", "forward") == "forward"
    H = a["hidden_size"]
    T = x.shape[0]
    h, c = h0[0], c0[0]
    Wb, Rb = (B[0, :4 * H], B[0, 4 * H:]) if B is not None else (0.0, 0.0)
    ys = []
    for t in range(T):
        z = x[t] @ W[0].T + h @ R[0].T + Wb + Rb
        i, o, f, g = (z[:, k * H:(k + 1) * H] for k in range(4))
        i, o, f, g = sigmoid(i), sigmoid(o), sigmoid(f), np.tanh(g)
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    Y = np.stack(ys)[:, None]  # [T, num_directions, N, H]
    return Y, h[None], c[None]


def run(model, x, pytorch_running_var=True):
    g = model.graph
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    env = {i.name: f64(numpy_helper.to_array(i)) for i in g.initializer}
    env[g.input[0].name] = f64(x)
    env[""] = None
    bn_stats = {}
    for nd in g.node:
        a = attrs(nd)
        ins = [env[i] for i in nd.input]
        op = nd.op_type
        vol = volume_ops(op, ins, a)
        if vol is not None:
            out = vol
        elif op == "Constant":
            out = [f64(np.asarray(a["value"]))]
        elif op == "Identity":
            out = [ins[0]]
        elif op == "Gemm":
            A, Bm = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                Bm = Bm.T
            y = a.get("alpha", 1.0) * (A @ Bm)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
            out = [y]
        elif op == "MatMul":
            out = [np.matmul(ins[0], ins[1])]
        elif op in ("Add", "Sub", "Mul", "Pow"):
            fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power}[op]
            out = [fn(ins[0], ins[1])]
        elif op == "Div":
            if np.issubdtype(np.asarray(ins[0]).dtype, np.integer):
                out = [np.trunc(np.asarray(ins[0]) / ins[1]).astype(np.int64)]
            else:
                out = [ins[0] / ins[1]]
        elif op == "Relu":
            out = [np.maximum(ins[0], 0)]
        elif op == "Sigmoid":
            out = [sigmoid(ins[0])]
        elif op == "Tanh":
            out = [np.tanh(ins[0])]
        elif op == "Erf":
            out = [erf(ins[0])]
        elif op == "Sqrt":
            out = [np.sqrt(ins[0])]
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
            out = [np.clip(ins[0], lo, hi)]
        elif op == "Softmax":
            ax = a.get("axis", -1)
            e = np.exp(ins[0] - ins[0].max(axis=ax, keepdims=True))
            out = [e / e.sum(axis=ax, keepdims=True)]
        elif op == "ReduceMean":
            out = [ins[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))]
        elif op == "Conv":
            out = [conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
        elif op == "MaxPool":
            out = [maxpool(ins[0], a)]
        elif op == "GlobalAveragePool":
            out = [ins[0].mean(axis=(2, 3), keepdims=True)]
        elif op == "Flatten":
            ax = a.get("axis", 1)
            out = [ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)]
        elif op == "Dropout":
            # golden train_output is defined with every dropout probability at 0
            out = [ins[0], np.ones(ins[0].shape, dtype=bool)]
        elif op == "BatchNormalization":
            X, s, bb, mean, var = ins
            eps = a.get("epsilon", 1e-5)
            mom = a.get("momentum", 0.9)
            training = a.get("training_mode", 0) == 1 if opset >= 14 else len(nd.output) > 1
            shp = (1, -1) + (1,) * (X.ndim - 2)
            if training:
                axes = (0,) + tuple(range(2, X.ndim))
                bm = X.mean(axis=axes)
                bv = X.var(axis=axes)  # biased: used to normalize
                cnt = X.size // X.shape[1]
                upd_var = bv * cnt / (cnt - 1) if pytorch_running_var else bv
                rm = mean * mom + bm * (1 - mom)
                rv = var * mom + upd_var * (1 - mom)
                y = (X - bm.reshape(shp)) / np.sqrt(bv.reshape(shp) + eps) * s.reshape(shp) + bb.reshape(shp)
                out = [y, rm, rv, bm, bv][:len(nd.output)]
                bn_stats[nd.input[3]] = rm
                bn_stats[nd.input[4]] = rv
            else:
                y = (X - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps) * s.reshape(shp) + bb.reshape(shp)
                out = [y]
        elif op == "Shape":
            out = [np.array(ins[0].shape, dtype=np.int64)]
        elif op == "Gather":
            out = [np.take(ins[0], ins[1].astype(np.int64), axis=a.get("axis", 0))]
        elif op == "Unsqueeze":
            y = ins[0]
            axes = ins[1] if len(ins) > 1 else a["axes"]  # an attribute before opset 13
            r = y.ndim + len(np.atleast_1d(axes))
            for ax in sorted(int(v) % r for v in np.atleast_1d(axes)):
                y = np.expand_dims(y, ax)
            out = [y]
        elif op == "Squeeze":
            out = [np.squeeze(ins[0], axis=tuple(int(v) for v in np.atleast_1d(ins[1])))]
        elif op == "Concat":
            out = [np.concatenate([np.atleast_1d(v) for v in ins], axis=a["axis"])]
        elif op == "Reshape":
            shape = [int(v) for v in ins[1]]
            shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
            out = [ins[0].reshape(shape)]
        elif op == "Transpose":
            out = [np.transpose(ins[0], a.get("perm"))]
        elif op == "Slice":
            data, starts, ends = ins[0], ins[1], ins[2]
            axes = ins[3] if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
            steps = ins[4] if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), dtype=np.int64)
            sl = [slice(None)] * data.ndim
            for s0, e0, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s0), int(min(e0, 2 ** 62)), int(st))
            out = [data[tuple(sl)]]
        elif op == "Cast":
            to = a["to"]
            dt = {onnx.TensorProto.INT64: np.int64, onnx.TensorProto.FLOAT: np.float64,
                  onnx.TensorProto.BOOL: bool}[to]
            out = [np.asarray(ins[0]).astype(dt)]
        elif op == "ConstantOfShape":
            val = a.get("value", np.zeros(1, dtype=np.float32))
            out = [np.full([int(v) for v in ins[0]], f64(val).reshape(-1)[0])]
        elif op == "LSTM":
            out = list(lstm(ins[0], ins[1], ins[2], ins[3] if len(ins) > 3 else None,
                            ins[5], ins[6], a))
        elif op in ("GRU", "RNN"):
            get = lambda i: ins[i] if len(ins) > i else None
            assert get(4) is None, "sequence_lens"
            out = list(gru_rnn(op, ins[0], ins[1], ins[2], get(3), get(5), a))
        elif op == "ConvTranspose":
            out = [convtranspose(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
        elif op == "Resize":
            out = [resize(ins[0], ins[2] if len(ins) > 2 else None, ins[3] if len(ins) > 3 else None, a)]
        elif op == "InstanceNormalization":
            # per sample and channel over the spatial axes, biased variance; GroupNorm exports
            # reshape to [N, groups, -1] around it
            X, sc, bi = ins
            ax = tuple(range(2, X.ndim))
            shp = (1, -1) + (1,) * (X.ndim - 2)
            y = (X - X.mean(axis=ax, keepdims=True)) / np.sqrt(X.var(axis=ax, keepdims=True) + a.get("epsilon", 1e-5))
            out = [y * sc.reshape(shp) + bi.reshape(shp)]
        elif swin_ops(op, ins, a) is not None:
            out = swin_ops(op, ins, a)
        else:
            raise NotImplementedError(op)
        for name, v in zip(nd.output, out):
            env[name] = v
    return env[g.output[0].name], bn_stats


def load(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return onnx.load_from_string(fh.read())
    return onnx.load(path)


def close(a, b, rtol=2e-4, atol=2e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(1.0, np.abs(b).max()) if b.size else 1.0
    err = np.abs(a - b).max() / scale if a.size else 0.0
    return a.shape == b.shape and err <= max(rtol, atol), err


def check(name):
    d = os.path.join(MODELS, name)
    z = np.load(os.path.join(d, "golden.npz"))
    meta = json.load(open(os.path.join(d, "golden.json")))
    ok = True
    for fname in sorted(os.listdir(d)):
        if ".onnx" not in fname:
            continue
        model = load(os.path.join(d, fname))
        y, stats = run(model, z["input"])
        fe = meta["float32_error"]
        if fname.startswith("eval"):
            good, err = close(y, z["eval_output"], max(2e-4, 10 * fe["eval_output"]))
            what = "eval_output"
        else:
            good, err = close(y, z["train_output"], max(2e-4, 10 * fe["train_output"]))
            what = "train_output"
            for b in meta["buffer_names"]:
                mod, kind = b.rsplit(".", 1)
                g2, e2 = close(stats[b], z["train_%s:%s" % (kind, mod)], max(1e-5, 10 * fe["running_stats_abs"]))
                good, err = good and g2, max(err, e2)
        print("%-20s %-24s %-13s max rel err %.2e %s" % (name, fname, what, err, "ok" if good else "MISMATCH"))
        ok = ok and good
    return ok


def main():
    names = sys.argv[1:] or sorted(os.listdir(MODELS))
    ok = all([check(n) for n in names])
    print("ALL OK" if ok else "FAILURES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
