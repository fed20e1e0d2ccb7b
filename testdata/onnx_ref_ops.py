"""Float64 numpy references of the ONNX operators added for issue 12 (ConvTranspose, Resize,
GRU/RNN, Swin's Mod/ScatterND, 3-D convolution and pooling), shared by the two independent
interpreters: testdata/check_fixtures.py (outputs against golden.npz) and
testdata/shapes/make_shapes.py (shapes against ONNX's own inference). Numpy only: no torch, no
onnxruntime.
"""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))



def convtranspose(x, w, b, a):
    """ONNX ConvTranspose, 2-D, NOTSET padding: scatter every input pixel through the kernel into
    the unpadded output, then crop pads."""
    n, c, h, wd = x.shape
    _, cog, kh, kw = w.shape
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    oph, opw = a.get("output_padding", [0, 0])
    fh, fw = sh * (h - 1) + dh * (kh - 1) + 1 + oph, sw * (wd - 1) + dw * (kw - 1) + 1 + opw
    full = np.zeros((n, cog * g, fh, fw))
    cig = c // g
    for gi in range(g):
        xg = x[:, gi * cig:(gi + 1) * cig]
        wg = w[gi * cig:(gi + 1) * cig]
        for i in range(kh):
            for j in range(kw):
                full[:, gi * cog:(gi + 1) * cog, i * dh:i * dh + sh * (h - 1) + 1:sh,
                     j * dw:j * dw + sw * (wd - 1) + 1:sw] += np.einsum("nchw,co->nohw", xg, wg[:, :, i, j])
    y = full[:, :, pt:fh - pb, pl:fw - pr]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y


def resize(x, scales, sizes, a):
    """ONNX Resize (opset 11+), nearest and linear, one axis at a time (both are separable)."""
    mode = a.get("mode", "nearest")
    ctm = a.get("coordinate_transformation_mode", "half_pixel")
    nm = a.get("nearest_mode", "round_prefer_floor")
    if sizes is not None and sizes.size:
        out = [int(v) for v in sizes]
        scales = [o / i for o, i in zip(out, x.shape)]
    else:
        scales = [float(s) for s in scales]
        out = [int(np.floor(i * s)) for i, s in zip(x.shape, scales)]
    y = x
    for ax, (n_in, n_out, s) in enumerate(zip(x.shape, out, scales)):
        if n_in == n_out and s == 1:
            continue
        j = np.arange(n_out, dtype=np.float64)
        if ctm == "half_pixel":
            src = (j + 0.5) / s - 0.5
        elif ctm == "pytorch_half_pixel":
            src = (j + 0.5) / s - 0.5 if n_out > 1 else 0 * j
        elif ctm == "align_corners":
            src = j * (n_in - 1) / (n_out - 1) if n_out > 1 else 0 * j
        elif ctm == "asymmetric":
            src = j / s
        else:
            raise NotImplementedError(ctm)
        if mode == "cubic":  # Keys' kernel, taps floor(x)-1 .. floor(x)+2 read clamped to the edge
            A = a.get("cubic_coeff_a", -0.75)

            def keys(d):
                d = np.abs(d)
                return np.where(d <= 1, ((A + 2) * d - (A + 3)) * d * d + 1,
                                np.where(d < 2, ((A * d - 5 * A) * d + 8 * A) * d - 4 * A, 0.0))
            i0 = np.floor(src).astype(np.int64)
            f = src - i0
            acc = 0
            for k in range(4):
                wk = keys(f + 1 - k).reshape([-1 if q == ax else 1 for q in range(x.ndim)])
                acc = acc + np.take(y, np.clip(i0 - 1 + k, 0, n_in - 1), axis=ax) * wk
            y = acc
        elif mode == "linear":
            src = np.clip(src, 0, n_in - 1)
            i0 = np.floor(src).astype(np.int64)
            i1 = np.minimum(i0 + 1, n_in - 1)
            f = (src - i0).reshape([-1 if k == ax else 1 for k in range(x.ndim)])
            y = np.take(y, i0, axis=ax) * (1 - f) + np.take(y, i1, axis=ax) * f
        else:
            half = src - np.floor(src) == 0.5
            k = {"floor": np.floor(src), "ceil": np.ceil(src),
                 "round_prefer_floor": np.where(half, np.floor(src), np.round(src)),
                 "round_prefer_ceil": np.where(half, np.ceil(src), np.round(src))}[nm]
            y = np.take(y, np.clip(k, 0, n_in - 1).astype(np.int64), axis=ax)
    return y


def gru_rnn(op, x, W, R, B, h0, a):
    """ONNX GRU (gates z, r, h; linear_before_reset as given) or RNN (Tanh/Relu), layout 0, every
    direction; returns Y [T, D, N, H] and Y_h [D, N, H]."""
    H = a["hidden_size"]
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[a.get("direction", "forward")]
    acts = a.get("activations", ["Tanh", "Tanh"])
    T, N = x.shape[:2]
    G = W.shape[1]
    ys, hs = [], []
    for d, rev in enumerate(dirs):
        h = h0[d] if h0 is not None else np.zeros((N, H))
        wb = B[d, :G] if B is not None else np.zeros(G)
        rb = B[d, G:] if B is not None else np.zeros(G)
        out = [None] * T
        for t in (reversed(range(T)) if rev else range(T)):
            xa = x[t] @ W[d].T + wb
            if op == "RNN":
                v = xa + h @ R[d].T + rb
                h = np.maximum(v, 0) if (acts[d] if isinstance(acts[d], str) else acts[d].decode()) == "Relu" else np.tanh(v)
            else:
                Rz, Rr, Rh = R[d, :H], R[d, H:2 * H], R[d, 2 * H:]
                z = sigmoid(xa[:, :H] + h @ Rz.T + rb[:H])
                r = sigmoid(xa[:, H:2 * H] + h @ Rr.T + rb[H:2 * H])
                if a.get("linear_before_reset", 0):
                    hh = np.tanh(xa[:, 2 * H:] + r * (h @ Rh.T + rb[2 * H:]))
                else:
                    hh = np.tanh(xa[:, 2 * H:] + (r * h) @ Rh.T + rb[2 * H:])
                h = (1 - z) * hh + z * h
            out[t] = h
        ys.append(np.stack(out))
        hs.append(h)
    return np.stack(ys, axis=1), np.stack(hs)


def swin_ops(op, ins, a):
    """Operators of torchvision's Swin Transformer export (shifted-window mask and index arithmetic);
    None for any other op."""
    if op == "Mod":
        x, z = ins
        if a.get("fmod", 0):
            return [np.fmod(x, z)]  # sign of the dividend (C fmod, torch.fmod)
        return [np.mod(x, z)]  # sign of the divisor (Python %, torch.remainder)
    if op == "ScatterND":
        data, idx, upd = ins
        y = np.array(data, copy=True)
        k = idx.shape[-1]
        flat_idx = idx.reshape(-1, k)
        flat_upd = upd.reshape((flat_idx.shape[0],) + data.shape[k:])
        for j, t in enumerate(flat_idx):
            if a.get("reduction", "none") == "add":
                y[tuple(int(v) for v in t)] += flat_upd[j]
            else:
                y[tuple(int(v) for v in t)] = flat_upd[j]
        return [y]
    if op == "Range":
        start, limit, delta = (np.asarray(v).reshape(()) for v in ins)
        return [np.arange(start, limit, delta).astype(np.result_type(start, limit, delta))]
    if op == "Expand":
        shape = [int(v) for v in ins[1]]
        return [ins[0] * np.ones(shape, dtype=ins[0].dtype)]
    if op == "Equal":
        return [np.equal(ins[0], ins[1])]
    if op == "Where":
        return [np.where(ins[0], ins[1], ins[2])]
    if op == "Not":
        return [np.logical_not(ins[0])]
    if op == "Pad":
        x, pads = ins[0], [int(v) for v in ins[1]]
        val = ins[2] if len(ins) > 2 and ins[2] is not None else 0
        assert a.get("mode", "constant") == "constant"
        r = x.ndim
        return [np.pad(x, [(pads[i], pads[i + r]) for i in range(r)], constant_values=np.asarray(val).reshape(-1)[0] if np.size(val) else 0)]
    return None


def volume_ops(op, ins, a):
    """3-D Conv, ConvTranspose, MaxPool and AveragePool ([N, C, D, H, W]); None for anything else."""
    if op not in ("Conv", "ConvTranspose", "MaxPool", "AveragePool") or np.ndim(ins[0]) != 5:
        return None
    x = ins[0]
    r = 3
    strides = list(a.get("strides", [1] * r))
    dil = list(a.get("dilations", [1] * r))
    pads = list(a.get("pads", [0] * 2 * r))
    if op == "ConvTranspose":
        w, b = ins[1], ins[2] if len(ins) > 2 else None
        g = a.get("group", 1)
        cin, cog = w.shape[:2]
        cig = cin // g
        ksz = list(w.shape[2:])
        opad = list(a.get("output_padding", [0] * r))
        full = [strides[i] * (x.shape[2 + i] - 1) + dil[i] * (ksz[i] - 1) + 1 + opad[i] for i in range(r)]
        y = np.zeros((x.shape[0], cog * g) + tuple(full))
        for k in np.ndindex(*ksz):
            sl = tuple(slice(k[i] * dil[i], k[i] * dil[i] + strides[i] * (x.shape[2 + i] - 1) + 1, strides[i]) for i in range(r))
            for gi in range(g):
                y[(slice(None), slice(gi * cog, (gi + 1) * cog)) + sl] += np.einsum(
                    "ncdhw,co->nodhw", x[:, gi * cig:(gi + 1) * cig], w[(slice(gi * cig, (gi + 1) * cig), slice(None)) + k])
        y = y[(slice(None), slice(None)) + tuple(slice(pads[i], full[i] - pads[i + r]) for i in range(r))]
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1, 1)
        return [y]
    kernel = list(ins[1].shape[2:]) if op == "Conv" else list(a["kernel_shape"])
    strides = list(a.get("strides", [1] * r))
    dil = list(a.get("dilations", [1] * r))
    pads = list(a.get("pads", [0] * 2 * r))
    assert a.get("auto_pad", "NOTSET") in ("NOTSET", b"NOTSET")
    if op == "AveragePool":
        assert not any(pads) or a.get("count_include_pad", 0), "average pooling over padding"
    fill = -np.inf if op == "MaxPool" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + r]) for i in range(r)], constant_values=fill)
    ceil = a.get("ceil_mode", 0)
    out = []
    for i in range(r):
        span = xp.shape[2 + i] - dil[i] * (kernel[i] - 1) - 1
        o = span // strides[i] + 1
        if ceil and span % strides[i]:
            o += 1
            if (o - 1) * strides[i] >= x.shape[2 + i] + pads[i]:
                o -= 1
        out.append(o)
    need = [dil[i] * (kernel[i] - 1) + strides[i] * (out[i] - 1) + 1 for i in range(r)]
    xp = np.pad(xp, [(0, 0), (0, 0)] + [(0, max(0, need[i] - xp.shape[2 + i])) for i in range(r)],
                constant_values=np.nan)  # ceil_mode windows past the padded input: left out below

    def window(k):
        return xp[(slice(None), slice(None)) + tuple(
            slice(k[i] * dil[i], k[i] * dil[i] + strides[i] * (out[i] - 1) + 1, strides[i]) for i in range(r))]

    if op == "Conv":
        w, b = ins[1], ins[2] if len(ins) > 2 else None
        g = a.get("group", 1)
        m, cg = w.shape[:2]
        mg = m // g
        y = np.zeros((x.shape[0], m) + tuple(out))
        for k in np.ndindex(*kernel):
            xs = window(k)
            for gi in range(g):
                y[:, gi * mg:(gi + 1) * mg] += np.einsum("ncdhw,mc->nmdhw", xs[:, gi * cg:(gi + 1) * cg],
                                                         w[(slice(gi * mg, (gi + 1) * mg), slice(None)) + k])
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1, 1)
        return [y]
    wins = np.stack([window(k) for k in np.ndindex(*kernel)])
    if op == "MaxPool":
        return [np.nanmax(wins, axis=0)]
    return [np.nanmean(wins, axis=0)]
