#!/usr/bin/python3
"""PyTorch references for LSTM/GRU/RNN with sequence_lens (packed sequences).

    /usr/bin/python3 testdata/exec/seqlens/make_seqlens.py

For each of nn.LSTM, nn.GRU, nn.RNN (tanh), bidirectional, hidden 3, input 4, this writes
<op>.onnx: one ONNX node (opset 13) X [T=5, N=3, 4] -> Y [T, 2, N, 3], Y_h [2, N, 3] with the
module's weights in ONNX's gate order (LSTM i,o,f,c; GRU z,r,h with linear_before_reset=1) and
sequence_lens = [5, 2, 4] as an initializer, and <op>.npz: x, the loss weights wy, wh, and PyTorch's
float64 results for the packed run (pack_padded_sequence(enforce_sorted=False) -> module ->
pad_packed_sequence, zeros past each sequence's end; h_n the last valid state of each direction):
y, y_h, and the gradients of L = sum(Y*wy) + sum(Y_h*wh) with respect to x, W, R and B (ONNX layout).
"""

import os

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
T, N, I, H = 5, 3, 4, 3
LENS = [5, 2, 4]


def onnx_order(op, w):
    """PyTorch's stacked gates -> ONNX's (along dim 0)."""
    if op == "LSTM":  # i,f,g,o -> i,o,f,c
        i, f, g, o = w.chunk(4, 0)
        return torch.cat([i, o, f, g], 0)
    if op == "GRU":  # r,z,n -> z,r,h
        r, z, n = w.chunk(3, 0)
        return torch.cat([z, r, n], 0)
    return w


def main():
    torch.set_num_threads(1)
    for op, cls in (("LSTM", nn.LSTM), ("GRU", nn.GRU), ("RNN", nn.RNN)):
        torch.manual_seed(12 + len(op))
        m = cls(I, H, bidirectional=True).double()
        with torch.no_grad():  # the file stores float32 weights: use exactly those
            for p in m.parameters():
                p.copy_(p.float().double())
        rng = np.random.default_rng(len(op))
        x = rng.standard_normal((T, N, I)).astype(np.float32).astype(np.float64)
        wy = rng.standard_normal((T, 2, N, H))
        wh = rng.standard_normal((2, N, H))
        xt = torch.from_numpy(x).requires_grad_(True)
        packed = pack_padded_sequence(xt, torch.tensor(LENS), enforce_sorted=False)
        out = m(packed)
        o, _ = pad_packed_sequence(out[0], total_length=T)
        hn = out[1][0] if op == "LSTM" else out[1]
        y = o.reshape(T, N, 2, H).permute(0, 2, 1, 3)
        loss = (y * torch.from_numpy(wy)).sum() + (hn * torch.from_numpy(wh)).sum()
        loss.backward()

        def stack(name):
            return torch.stack([onnx_order(op, getattr(m, name + sfx)) for sfx in ("_l0", "_l0_reverse")])

        def stack_grad(name):
            return torch.stack([onnx_order(op, getattr(m, name + sfx).grad) for sfx in ("_l0", "_l0_reverse")])

        W, R = stack("weight_ih"), stack("weight_hh")
        B = torch.cat([stack("bias_ih"), stack("bias_hh")], 1)
        gW, gR = stack_grad("weight_ih"), stack_grad("weight_hh")
        gB = torch.cat([stack_grad("bias_ih"), stack_grad("bias_hh")], 1)
        attrs = {"hidden_size": H, "direction": "bidirectional"}
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        inits = [numpy_helper.from_array(t.detach().numpy().astype(np.float32), n) for t, n in ((W, "W"), (R, "R"), (B, "B"))]
        inits.append(numpy_helper.from_array(np.array(LENS, dtype=np.int32), "sequence_lens"))
        outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
        node = helper.make_node(op, ["X", "W", "R", "B", "sequence_lens"], outs, **attrs)
        g = helper.make_graph([node], op.lower() + "_seqlens",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, N, I])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, 2, N, H]),
                               helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [2, N, H])], inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_seqlens.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(HERE, op.lower() + ".onnx"))
        np.savez_compressed(os.path.join(HERE, op.lower() + ".npz"), x=x, wy=wy, wh=wh,
                            y=y.detach().numpy(), y_h=hn.detach().numpy(), grad_x=xt.grad.numpy(),
                            grad_W=gW.numpy(), grad_R=gR.numpy(), grad_B=gB.numpy())
        print(op, "ok")



class Packed(nn.Module):
    """What users write: batch-first padded batch + lengths -> packed bidirectional LSTM -> padded output."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 3, batch_first=True, bidirectional=True)

    def forward(self, x, lens):
        p = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(p)
        o, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return o, h


def packed():
    """packed_lstm.onnx: PyTorch's own export of Packed (opset 13, training mode, no constant folding:
    Cast/TopK/Gather/ScatterElements around an LSTM with sequence_lens), inputs x [3, 6, 4] float32 and
    lens [3] int64; packed_lstm.npz: x, lens, loss weights wo, wh, PyTorch float64 outputs o, h and the
    gradients of L = sum(o*wo) + sum(h*wh) (grad_x, grad:<param>)."""
    import io
    torch.manual_seed(99)
    m = Packed()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.float())
    x = torch.from_numpy(np.random.default_rng(5).standard_normal((3, 6, 4)).astype(np.float32))
    lens = torch.tensor([4, 6, 2])
    f = io.BytesIO()
    torch.onnx.export(m, (x, lens), f, opset_version=13, input_names=["x", "lens"], output_names=["o", "h"],
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      dynamic_axes={"x": {0: "batch"}, "lens": {0: "batch"}, "o": {0: "batch"}, "h": {1: "batch"}})
    with open(os.path.join(HERE, "packed_lstm.onnx"), "wb") as fh:
        fh.write(f.getvalue())
    m64 = m.double()
    xt = x.double().requires_grad_(True)
    o, h = m64(xt, lens)
    rng = np.random.default_rng(6)
    wo, wh = rng.standard_normal(tuple(o.shape)), rng.standard_normal(tuple(h.shape))
    ((o * torch.from_numpy(wo)).sum() + (h * torch.from_numpy(wh)).sum()).backward()
    arrays = dict(x=x.double().numpy(), lens=lens.numpy().astype(np.float64), wo=wo, wh=wh,
                  o=o.detach().numpy(), h=h.detach().numpy(), grad_x=xt.grad.numpy())
    for n, p in m64.named_parameters():
        arrays["grad:" + n] = p.grad.numpy()
    np.savez_compressed(os.path.join(HERE, "packed_lstm.npz"), **arrays)
    print("packed LSTM ok")



if __name__ == "__main__":
    main()
    packed()
