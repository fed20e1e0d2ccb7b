#!/usr/bin/python3
"""Golden shapes for ir.InferShapes: run every fixture model and record the concrete shape of
every value.

    /usr/bin/python3 testdata/shapes/make_shapes.py            # everything (about 15 s)
    /usr/bin/python3 testdata/shapes/make_shapes.py resnet18   # only these fixtures

For each testdata/models/<model>/<file>.onnx(.gz) it writes testdata/shapes/<model>__<stem>.json
(stem = file name without .onnx/.onnx.gz) holding, for batch sizes 3 and 5, the element type and
shape of every graph input and every node output, as a float64 numpy interpreter (written here,
no onnxruntime) computes them.

The interpreter is checked before anything is written:
  * at batch 4 on golden.npz's input it must reproduce PyTorch's eval_output (eval files) or
    train_output (train files, Dropout ratio 0, BatchNormalization on batch statistics) within
    the fixture's recorded float32 error (same bound as testdata/check_fixtures.py);
  * every element type it produces must agree with onnx.shape_inference's, wherever ONNX infers one.

The Go test (ir/infer_fixtures_test.go) infers shapes symbolically once per file and checks that
substituting batch = 3 and batch = 5 gives exactly these shapes.

It also writes testdata/shapes/ops.json: output sizes that PyTorch itself computes for
convolution, transposed convolution and pooling (ceil_mode included) and that Python computes for
slicing, over a grid of sizes, strides, paddings and dilations; ir/infer_ops_test.go checks the
symbolic formulas against them.

Finally it exports a few small PyTorch modules (testdata/shapes/extra/*.onnx, opsets 11-17) that use
operators the fixture zoo lacks (LayerNormalization, attention, GRU/RNN, ConvTranspose, ceil-mode
pooling, Resize, Split, Where, Range, TopK, ...) and records in testdata/shapes/extra.json the
shapes PyTorch gives their outputs at batch 3 and 5. Two runs write byte-identical files.
"""

import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference
from scipy.special import erf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from onnx_ref_ops import convtranspose, gru_rnn, resize, sigmoid, swin_ops, volume_ops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")
BATCHES = (3, 5)

# numpy dtype of an interpreted value -> ONNX element type. Every float tensor in the fixtures
# is FLOAT (checked in load()), so the interpreter computes floats in float64 and reports FLOAT.
ELEM = {np.dtype(np.float64): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
        np.dtype(np.int32): TensorProto.INT32, np.dtype(np.bool_): TensorProto.BOOL}


def load(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            m = onnx.load_from_string(fh.read())
    else:
        m = onnx.load(path)
    for t in m.graph.initializer:
        assert t.data_type in (TensorProto.FLOAT, TensorProto.INT64), (path, t.name, t.data_type)
    return m


def attrs(node):
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = numpy_helper.to_array(v)
        elif isinstance(v, bytes):
            v = v.decode()
        out[a.name] = v
    return out


def arr(a):
    """Normalise a value: floats to float64, everything else kept."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    return a


# ---- operators ----

def windows(x, kernel, strides, dilations, pads, fill):
    """Pad x (N, C, H, W) and gather every kernel tap: (N, C, kh, kw, OH, OW), plus OH, OW.
    Output sizes follow floor((in + pads - dilation*(k-1) - 1) / stride) + 1."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    h, w = xp.shape[2], xp.shape[3]
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty(x.shape[:2] + (kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
    return cols, oh, ow


def op_conv(x, w, b, a):
    assert x.ndim == 4 and a.get("auto_pad", "NOTSET") == "NOTSET"
    g = a.get("group", 1)
    m = w.shape[0]
    cols, oh, ow = windows(x, w.shape[2:], a.get("strides", [1, 1]), a.get("dilations", [1, 1]),
                           a.get("pads", [0, 0, 0, 0]), 0.0)
    n, c = x.shape[:2]
    cols = cols.reshape(n, g, (c // g) * w.shape[2] * w.shape[3], oh * ow)
    wg = w.reshape(g, m // g, -1)
    y = np.einsum("gmk,ngkp->ngmp", wg, cols).reshape(n, m, oh, ow)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def op_maxpool(x, a):
    assert x.ndim == 4 and not a.get("ceil_mode", 0) and a.get("auto_pad", "NOTSET") == "NOTSET"
    cols, _, _ = windows(x, a["kernel_shape"], a.get("strides", [1, 1]), a.get("dilations", [1, 1]),
                         a.get("pads", [0, 0, 0, 0]), -np.inf)
    return cols.max(axis=(2, 3))


def op_lstm(x, W, R, B, h0, c0, a):
    """ONNX LSTM, layout 0, gates stacked i, o, f, c; every direction."""
    assert a.get("layout", 0) == 0
    H = a["hidden_size"]
    direction = a.get("direction", "forward")
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    T, N = x.shape[:2]
    ys, hs, cs = [], [], []
    for d, rev in enumerate(dirs):
        h = h0[d] if h0 is not None else np.zeros((N, H))
        c = c0[d] if c0 is not None else np.zeros((N, H))
        bias = B[d, :4 * H] + B[d, 4 * H:] if B is not None else 0.0
        out = [None] * T
        for t in (reversed(range(T)) if rev else range(T)):
            z = x[t] @ W[d].T + h @ R[d].T + bias
            i, o, f, g = (z[:, k * H:(k + 1) * H] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            out[t] = h
        ys.append(np.stack(out))
        hs.append(h)
        cs.append(c)
    return np.stack(ys, axis=1), np.stack(hs), np.stack(cs)


def op_slice(data, starts, ends, axes, steps):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    sl = [slice(None)] * data.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        sl[int(ax)] = slice(int(s), int(e), int(st))  # Python slicing clamps exactly like ONNX
    return data[tuple(sl)]


def op_batchnorm(nd, ins, a, opset):
    X, s, b, mean, var = ins
    eps, mom = a.get("epsilon", 1e-5), a.get("momentum", 0.9)
    training = a.get("training_mode", 0) == 1 if opset >= 14 else len(nd.output) > 1
    shp = (1, -1) + (1,) * (X.ndim - 2)
    if not training:
        return [(X - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps) * s.reshape(shp) + b.reshape(shp)]
    axes = (0,) + tuple(range(2, X.ndim))
    bm, bv = X.mean(axis=axes), X.var(axis=axes)
    cnt = X.size // X.shape[1]
    y = (X - bm.reshape(shp)) / np.sqrt(bv.reshape(shp) + eps) * s.reshape(shp) + b.reshape(shp)
    rm = mean * mom + bm * (1 - mom)
    rv = var * mom + bv * cnt / (cnt - 1) * (1 - mom)  # PyTorch's unbiased running variance
    return [y, rm, rv, bm, bv][:len(nd.output)]


def cast(x, to):
    return arr(x).astype({TensorProto.INT64: np.int64, TensorProto.INT32: np.int32,
                          TensorProto.FLOAT: np.float64, TensorProto.BOOL: np.bool_}[to])


def run_node(nd, ins, a, opset):
    op = nd.op_type
    vol = volume_ops(op, ins, a)
    if vol is not None:
        return vol
    if op == "Constant":
        return [arr(a["value"])]
    if op == "Identity":
        return [ins[0]]
    if op == "Gemm":
        A = ins[0].T if a.get("transA", 0) else ins[0]
        Bm = ins[1].T if a.get("transB", 0) else ins[1]
        y = a.get("alpha", 1.0) * (A @ Bm)
        if len(ins) > 2 and ins[2] is not None:
            y = y + a.get("beta", 1.0) * ins[2]
        return [y]
    if op == "MatMul":
        return [np.matmul(ins[0], ins[1])]
    if op in ("Add", "Sub", "Mul", "Pow"):
        return [{"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power}[op](ins[0], ins[1])]
    if op == "Div":
        if ins[0].dtype.kind in "iu":
            q = np.abs(ins[0]) // np.abs(ins[1])  # ONNX integer Div truncates toward zero
            return [(q * np.sign(ins[0]) * np.sign(ins[1])).astype(ins[0].dtype)]
        return [ins[0] / ins[1]]
    unary = {"Relu": lambda x: np.maximum(x, 0.0), "Sigmoid": sigmoid, "Tanh": np.tanh, "Erf": erf,
             "Sqrt": np.sqrt}
    if op in unary:
        return [unary[op](ins[0])]
    if op == "Clip":
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
        return [np.clip(ins[0], lo, hi)]
    if op == "Softmax":
        ax = a.get("axis", -1 if opset >= 13 else 1)
        e = np.exp(ins[0] - ins[0].max(axis=ax, keepdims=True))
        return [e / e.sum(axis=ax, keepdims=True)]
    if op == "ReduceMean":
        return [ins[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))]
    if op == "Conv":
        return [op_conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
    if op == "MaxPool":
        return [op_maxpool(ins[0], a)]
    if op == "GlobalAveragePool":
        return [ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)]
    if op == "Flatten":
        ax = a.get("axis", 1)
        return [ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)]
    if op == "Dropout":
        # Golden train outputs are defined with every dropout ratio at 0: identity, all-true mask.
        return [ins[0], np.ones(ins[0].shape, dtype=np.bool_)][:len(nd.output)]
    if op == "BatchNormalization":
        return op_batchnorm(nd, ins, a, opset)
    if op == "Shape":
        return [np.array(ins[0].shape, dtype=np.int64)]
    if op == "Gather":
        return [np.take(ins[0], ins[1], axis=a.get("axis", 0))]
    if op == "Unsqueeze":
        axes = ins[1] if opset >= 13 else a["axes"]
        y = ins[0]
        r = y.ndim + len(axes)
        for ax in sorted(int(v) % r for v in axes):
            y = np.expand_dims(y, ax)
        return [y]
    if op == "Squeeze":
        axes = ins[1] if opset >= 13 else a["axes"]
        return [np.squeeze(ins[0], axis=tuple(int(v) for v in axes))]
    if op == "Concat":
        return [np.concatenate(ins, axis=a["axis"])]
    if op == "Reshape":
        shape = [int(v) for v in ins[1]]
        if not a.get("allowzero", 0):
            shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return [ins[0].reshape(shape)]
    if op == "Transpose":
        return [np.transpose(ins[0], a.get("perm"))]
    if op == "Slice":
        return [op_slice(ins[0], ins[1], ins[2], ins[3] if len(ins) > 3 else None, ins[4] if len(ins) > 4 else None)]
    if op == "Cast":
        return [cast(ins[0], a["to"])]
    if op == "ConstantOfShape":
        val = a.get("value", np.zeros(1, dtype=np.float32))
        return [np.full([int(v) for v in ins[0]], arr(val).reshape(-1)[0])]
    if op == "LSTM":
        get = lambda i: ins[i] if len(ins) > i and ins[i] is not None else None
        assert get(4) is None, "sequence_lens"
        return list(op_lstm(ins[0], ins[1], ins[2], get(3), get(5), get(6), a))[:len(nd.output)]
    if op in ("GRU", "RNN"):
        get = lambda i: ins[i] if len(ins) > i and ins[i] is not None else None
        assert get(4) is None, "sequence_lens"
        return list(gru_rnn(op, ins[0], ins[1], ins[2], get(3), get(5), a))[:len(nd.output)]
    if op == "ConvTranspose":
        return [convtranspose(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)]
    if op == "Resize":
        return [resize(ins[0], ins[2] if len(ins) > 2 else None, ins[3] if len(ins) > 3 else None, a)]
    if op == "InstanceNormalization":
        X, sc, bi = ins
        ax = tuple(range(2, X.ndim))
        shp = (1, -1) + (1,) * (X.ndim - 2)
        y = (X - X.mean(axis=ax, keepdims=True)) / np.sqrt(X.var(axis=ax, keepdims=True) + a.get("epsilon", 1e-5))
        return [y * sc.reshape(shp) + bi.reshape(shp)]
    out = swin_ops(op, ins, a)
    if out is not None:
        return out
    raise NotImplementedError(op)


def run(model, x):
    """Interpret the graph on input x; return {name: array} for inputs and node outputs (in
    graph order) and the graph output."""
    g = model.graph
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    env = {t.name: arr(numpy_helper.to_array(t)) for t in g.initializer}
    env[""] = None
    inits = set(env)
    values = {}
    for inp in g.input:
        if inp.name not in inits:
            env[inp.name] = arr(x)
            values[inp.name] = env[inp.name]
    for nd in g.node:
        ins = [env[i] for i in nd.input]  # KeyError: not topologically sorted or dangling
        outs = run_node(nd, ins, attrs(nd), opset)
        assert len(outs) == len(nd.output), (nd.op_type, len(outs), len(nd.output))
        for name, v in zip(nd.output, outs):
            if name:
                env[name] = arr(v)
                values[name] = env[name]
    return values, env[g.output[0].name]


def input_shape(model, batch):
    t = model.graph.input[0].type.tensor_type
    return [batch if d.dim_param else d.dim_value for d in t.shape.dim]


def onnx_elem_types(model):
    """Element types ONNX's own shape inference assigns (value_info, outputs)."""
    inferred = shape_inference.infer_shapes(model)
    out = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        et = vi.type.tensor_type.elem_type
        if et:
            out[vi.name] = et
    return out


def check_against_golden(name, fname, model):
    d = os.path.join(MODELS, name)
    z = np.load(os.path.join(d, "golden.npz"))
    meta = json.load(open(os.path.join(d, "golden.json")))
    _, y = run(model, z["input"])
    what = "eval_output" if fname.startswith("eval") else "train_output"
    want = z[what].astype(np.float64)
    # Same bound as testdata/check_fixtures.py: PyTorch's float32 output vs a float64 replay
    # differs by the fixture's recorded float32 error; allow 10x that, at least 2e-4 relative.
    tol = max(2e-4, 10 * meta["float32_error"][what])
    err = np.abs(y - want).max() / max(1.0, np.abs(want).max())
    if y.shape != want.shape or not err <= tol:
        raise SystemExit("%s/%s: interpreter disagrees with golden %s (shape %s vs %s, rel err %.2e > %.2e)"
                         % (name, fname, what, y.shape, want.shape, err, tol))
    return err


def record(name, fname):
    model = load(os.path.join(MODELS, name, fname))
    err = check_against_golden(name, fname, model)
    elems = onnx_elem_types(model)
    runs = []
    rng = np.random.default_rng(12345)
    for b in BATCHES:
        values, _ = run(model, rng.standard_normal(input_shape(model, b)).astype(np.float32))
        runs.append(values)
    rows = []
    for vname, v in runs[0].items():
        et = ELEM[v.dtype]
        if vname in elems and elems[vname] != et:
            raise SystemExit("%s/%s: %s is %s here but ONNX infers %s" % (name, fname, vname, et, elems[vname]))
        rows.append({"name": vname, "elem_type": et, "shapes": [list(r[vname].shape) for r in runs]})
    stem = fname.split(".onnx")[0]
    out = {"model": name, "file": fname, "batches": list(BATCHES), "values": rows}
    path = os.path.join(HERE, "%s__%s.json" % (name, stem))
    write_json(path, out, "values")
    print("%-20s %-22s %4d values  golden rel err %.1e" % (name, fname, len(rows), err))


def write_json(path, obj, listkey):
    """One list entry per line: small diffs, readable."""
    head = {k: v for k, v in obj.items() if k != listkey}
    lines = ["{"]
    for k, v in head.items():
        lines.append("  %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append('  %s: [' % json.dumps(listkey))
    rows = [json.dumps(r, separators=(", ", ": ")) for r in obj[listkey]]
    lines.append(",\n".join("    " + r for r in rows))
    lines.append("  ]")
    lines.append("}")
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


# ---- ops.json: output sizes computed by PyTorch / Python ----

def op_cases():
    import torch
    import torch.nn.functional as F
    cases = []
    x_sizes = [1, 2, 5, 6, 7, 8, 16, 17, 32]
    for h in x_sizes:
        for k in (1, 2, 3, 5):
            for s in (1, 2, 3):
                for p in (0, 1, 2):
                    for d in (1, 2):
                        if p > (k - 1) * d // 2 + 1:
                            continue
                        x = torch.zeros(1, 2, h, 1)
                        try:
                            y = F.conv2d(x, torch.zeros(4, 2, k, 1), stride=(s, 1), padding=(p, 0), dilation=(d, 1))
                            cases.append({"op": "Conv", "in": h, "k": k, "s": s, "p": p, "d": d, "out": y.shape[2]})
                        except RuntimeError:
                            cases.append({"op": "Conv", "in": h, "k": k, "s": s, "p": p, "d": d, "out": None})
                        for ceil in (False, True):
                            if 2 * p > k:  # PyTorch: pad at most half the kernel
                                continue
                            for fn, opname in ((F.max_pool2d, "MaxPool"), (F.avg_pool2d, "AveragePool")):
                                if opname == "AveragePool" and d != 1:
                                    continue
                                kw = {"dilation": (d, 1)} if opname == "MaxPool" else {}
                                try:
                                    y = fn(x, (k, 1), stride=(s, 1), padding=(p, 0), ceil_mode=ceil, **kw)
                                    out = y.shape[2]
                                except RuntimeError:
                                    out = None
                                cases.append({"op": opname, "in": h, "k": k, "s": s, "p": p, "d": d,
                                              "ceil": int(ceil), "out": out})
                        for op_ in (0, 1):
                            if op_ >= s and op_ >= d:
                                continue
                            try:
                                y = F.conv_transpose2d(x, torch.zeros(2, 3, k, 1), stride=(s, 1), padding=(p, 0),
                                                       output_padding=(op_, 0), dilation=(d, 1))
                                out = y.shape[2]
                            except RuntimeError:
                                out = None
                            cases.append({"op": "ConvTranspose", "in": h, "k": k, "s": s, "p": p, "d": d,
                                          "output_padding": op_, "out": out})
    big = 9223372036854775807
    for n in (0, 1, 3, 7):
        for start in (-big, -9, -3, -1, 0, 1, 2, 5, 9, big):
            for end in (-big, -9, -3, -1, 0, 1, 2, 5, 9, big):
                for step in (-3, -1, 1, 2, 3):
                    if step < 0 and start + n < 0:
                        # The one corner where Python and ONNX differ: the spec clamps an
                        # adjusted start into [0, dim-1] for negative steps (element 0 is
                        # taken), Python treats it as before the beginning (nothing taken).
                        # ir/infer_ops_test.go pins the spec's answer.
                        continue
                    cases.append({"op": "Slice", "in": n, "start": start, "end": end, "step": step,
                                  "out": len(range(n)[start:end:step])})
    return cases


# ---- extra/: small PyTorch exports with operators the fixture zoo lacks ----

def extra_modules():
    """name -> (module, example-input maker(batch), opset, {output name: batch axis or (axis, name)}).
    Each module returns several tensors so that one export covers several operators."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = nn.LayerNorm(16)
            self.mha = nn.MultiheadAttention(16, 4, batch_first=True)
            self.gelu = nn.GELU(approximate="tanh")

        def forward(self, x):
            h = self.ln(x)
            a, w = self.mha(h, h, h)
            sc = torch.einsum("bqd,bkd->bqk", h, a)
            return self.gelu(a), w, F.log_softmax(a, dim=-1), torch.einsum("bqk,bkd->bqd", sc, h), torch.einsum("...d,d", h, self.ln.weight)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 12, batch_first=True, bidirectional=True)
            self.rnn = nn.RNN(24, 5, num_layers=2)
            self.lstm = nn.LSTM(8, 6, batch_first=True, bidirectional=True)

        def forward(self, x):
            y, h = self.gru(x)
            z, hz = self.rnn(y.transpose(0, 1))
            l, (hl, cl) = self.lstm(x)
            return y, h, z, hz, l[:, -1], cl

    class Spatial(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)
            self.dw = nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=3)
            self.maxp = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.avgp = nn.AvgPool2d(2, stride=2, ceil_mode=True, count_include_pad=False)
            self.inorm = nn.InstanceNorm2d(6, affine=True)

        def forward(self, x):
            u = self.up(x)
            d = F.leaky_relu(self.inorm(self.dw(u)), 0.1)
            m = self.maxp(d)
            a = self.avgp(F.hardswish(d))
            r = F.interpolate(m, scale_factor=2, mode="nearest")
            p = F.pixel_shuffle(d, 2) if d.shape[1] % 4 == 0 else F.pixel_shuffle(torch.cat([d, d], 1)[:, :8], 2)
            g = F.adaptive_avg_pool2d(F.elu(a), 1).flatten(1)
            return u, m, a, r, p, g, F.pad(x, (1, 2, 0, 3))

    class Tensors(nn.Module):
        def forward(self, x):  # x: [B, 6, 4]
            b = x.size(0)
            parts = torch.split(x, [2, 4], dim=1)
            s = x.sum(dim=1)
            wh = torch.where(x > 0, x, torch.zeros_like(x))
            ar = torch.arange(x.size(1)).unsqueeze(0).expand(b, -1)
            rep = x.repeat(2, 1, 3)
            fl = x.flip(1)
            top, idx = x.topk(3, dim=1)
            am = x.argmax(-1)
            cs = x.cumsum(1)
            z = x.new_zeros(x.shape[0], 2 * x.shape[1])
            v = x.reshape(b, -1)[:, 1:]
            mx, _ = x.max(dim=2, keepdim=True)
            bm = torch.matmul(x, x.transpose(1, 2))
            ch = x.chunk(2, dim=2)[1]
            mf = x.masked_fill(x < 0, 0.0).clamp(min=0.5)
            sq = x[:, :1].squeeze(1).softmax(-1)
            ex = x.mean(dim=(1, 2), keepdim=True).expand_as(x)
            return parts[1], s, wh, ar, rep, fl, top, idx, am, cs, z, v, mx, bm, ch, mf, sq, ex

    class Embed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            self.fc = nn.Linear(8, 3)

        def forward(self, tok):  # tok: [B, 7] int64
            e = self.emb(tok)
            onehot = F.one_hot(tok % 5, 5)
            return F.softplus(self.fc(e)), e.sum(1), onehot

    f = lambda *shape: (lambda b: torch.randn(b, *shape))
    return {
        "attention": (Attention(), f(5, 16), 17, {"y0": 0, "y1": 0, "y2": 0, "y3": 0, "y4": 0}),
        "recurrent": (Recurrent(), f(7, 8), 14, {"y0": 0, "y1": 1, "y2": 1, "y3": 1, "y4": 0, "y5": 1}),
        "spatial": (Spatial(), f(4, 7, 9), 13, {"y%d" % i: 0 for i in range(7)}),
        # y4 = x.repeat(2, 1, 3) has 2*batch rows: its axis gets a name of its own (calling it
        # "batch" would declare a shape that contradicts the graph).
        "tensors": (Tensors(), f(6, 4), 13, dict({"y%d" % i: 0 for i in range(18)}, y4=(0, "rows"))),
        "tensors_opset11": (Tensors(), f(6, 4), 11, dict({"y%d" % i: 0 for i in range(18)}, y4=(0, "rows"))),
        "embed": (Embed(), lambda b: torch.randint(0, 50, (b, 7)), 15, {"y0": 0, "y1": 0, "y2": 0}),
    }


def record_extra():
    """Export each extra module with a symbolic batch, then run it in PyTorch at batch 3 and 5:
    the graph outputs' shapes there are the truth for ir/infer_fixtures_test.go."""
    import io
    import warnings
    import torch
    torch.manual_seed(0)
    os.makedirs(os.path.join(HERE, "extra"), exist_ok=True)
    rows = []
    for name, (mod, make, opset, outs) in extra_modules().items():
        mod.eval()
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(mod, (make(2),), buf, opset_version=opset, input_names=["x"],
                              output_names=list(outs), do_constant_folding=True,
                              dynamic_axes=dict({"x": {0: "batch"}}, **{o: dict([ax if isinstance(ax, tuple) else (ax, "batch")])
                                                           for o, ax in outs.items()}))
        model = onnx.load_from_string(buf.getvalue())
        onnx.checker.check_model(model)
        path = os.path.join(HERE, "extra", name + ".onnx")
        with open(path + ".tmp", "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(path + ".tmp", path)
        shapes = {o: [] for o in outs}
        dtypes = {}
        with torch.no_grad():
            for b in BATCHES:
                ys = mod(make(b))
                ys = [ys] if torch.is_tensor(ys) else list(ys)
                assert len(ys) == len(outs), name
                for o, y in zip(outs, ys):
                    shapes[o].append(list(y.shape))
                    dtypes[o] = {torch.float32: TensorProto.FLOAT, torch.int64: TensorProto.INT64,
                                 torch.bool: TensorProto.BOOL}[y.dtype]
        ops = sorted({n.op_type for n in model.graph.node})
        rows.append({"file": "extra/%s.onnx" % name, "opset": opset, "ops": ops,
                     "outputs": [{"name": o, "elem_type": dtypes[o], "shapes": shapes[o]} for o in outs]})
        print("extra/%-18s opset %d: %s" % (name + ".onnx", opset, " ".join(ops)))
    write_json(os.path.join(HERE, "extra.json"), {"source": "torch %s" % torch.__version__, "batches": list(BATCHES),
                                                   "models": rows}, "models")


def main():
    names = [a for a in sys.argv[1:] if a != "--no-ops"]
    todo = names or sorted(os.listdir(MODELS))
    for name in todo:
        for fname in sorted(os.listdir(os.path.join(MODELS, name))):
            if ".onnx" in fname:
                record(name, fname)
    if not names:
        cases = op_cases()
        write_json(os.path.join(HERE, "ops.json"), {"source": "torch %s / Python slicing" % __import__("torch").__version__,
                                                     "cases": cases}, "cases")
        print("ops.json: %d cases" % len(cases))
        record_extra()


if __name__ == "__main__":
    main()
