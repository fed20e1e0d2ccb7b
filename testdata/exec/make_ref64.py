#!/usr/bin/python3
"""Float64 PyTorch references for the executor's float64 tests (exec/fixtures64_test.go).

    /usr/bin/python3 testdata/exec/make_ref64.py        # writes testdata/exec/ref64/<model>.npz

For every fixture of testdata/models, this rebuilds the PyTorch module with make_fixtures.py,
loads the exact state stored in train.onnx(.gz), converts it to float64 and records:

  eval_output                 model.eval()(input)
  train_output                model.train()(input), every dropout p = 0, BN on batch statistics
  running_mean:<bn> / running_var:<bn>   after that forward
  grad:<param> (or grad_head:<param> = first 1024 elements, grad_sum:, grad_sumsq: for tensors
  with more than 16384 elements), grad_input    of L = sum(train_output * loss_weight) / batch

BatchNorm's eps and momentum are set to the float32 values the ONNX files store (1e-5 and 0.9 as
float32), so the references are the exact answer to the computation the files describe.
Deterministic: rerunning reproduces the files bit for bit (torch.set_num_threads(1)).
"""

import copy
import gzip
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import make_fixtures as mf  # noqa: E402

OUT = os.path.join(HERE, "ref64")
FULL_MAX = 16384
HEAD = 1024


def load(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            return onnx.load_from_string(fh.read())
    return onnx.load(path)


def main(names):
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for name in names or list(mf.FIXTURES):
        model, _, _, opts = mf.build(name)
        d = os.path.join(mf.MODELS, name)
        proto = load(os.path.join(d, "train.onnx.gz" if opts.get("gzip") else "train.onnx"))
        inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
        sd = model.state_dict()
        with torch.no_grad():
            for k, v in sd.items():
                if k in inits:
                    v.copy_(torch.from_numpy(inits[k].copy()))
                elif not k.endswith("num_batches_tracked"):
                    raise SystemExit("%s: %s is not an initializer of train.onnx" % (name, k))
        for _, bn in mf.bn_modules(model):
            bn.eps = float(np.float32(bn.eps))
            bn.momentum = 1.0 - float(np.float32(1.0 - bn.momentum))
        z = np.load(os.path.join(d, "golden.npz"))
        x_np, w_np = z["input"], z["loss_weight"]
        arrays = {}
        m64 = copy.deepcopy(model).double()
        arrays["eval_output"] = m64.eval()(torch.from_numpy(x_np).double()).detach().numpy()
        m64 = mf.zero_dropout(copy.deepcopy(model).double()).train()
        x = torch.from_numpy(x_np).double().requires_grad_(True)
        out = m64(x)
        arrays["train_output"] = out.detach().numpy()
        for bn_name, bn in mf.bn_modules(m64):
            arrays["running_mean:" + bn_name] = bn.running_mean.numpy()
            arrays["running_var:" + bn_name] = bn.running_var.numpy()
        (out * torch.from_numpy(w_np).double()).sum().div(out.shape[0]).backward()
        arrays["grad_input"] = x.grad.numpy()
        for pn, p in m64.named_parameters():
            g = p.grad.numpy()
            if g.size > FULL_MAX:
                arrays["grad_head:" + pn] = g.reshape(-1)[:HEAD].copy()
                arrays["grad_sum:" + pn] = np.array(g.sum())
                arrays["grad_sumsq:" + pn] = np.array((g * g).sum())
            else:
                arrays["grad:" + pn] = g
        np.savez_compressed(os.path.join(OUT, name + ".npz"), **arrays)
        print("%-20s %d arrays" % (name, len(arrays)))


if __name__ == "__main__":
    main(sys.argv[1:])
