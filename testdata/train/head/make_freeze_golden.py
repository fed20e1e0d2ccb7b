#!/usr/bin/python3
"""Golden curves for nntrain --freeze / --train-only, computed by torch 1.13.

Run from the repository root with Debian's Python:

    /usr/bin/python3 testdata/train/head/make_freeze_golden.py

Writes freeze.json next to this script: per-epoch train and validation losses of cnn_bn_digits
(Conv-BatchNorm-ReLU-MaxPool-Linear, testdata/train/cnn_bn_digits.onnx) trained for 3 epochs on
the digits data (batches of 64, no shuffling) with conv.weight, bn.weight and bn.bias frozen
(requires_grad=False, only fc.* in the optimizer), in two BatchNorm modes:
  frozen_bn  the frozen BatchNorm in eval mode throughout (torchvision's FrozenBatchNorm2d;
             nntrain's default for a BatchNorm whose scale and bias are frozen)
  train_bn   the frozen BatchNorm left in train mode: batch statistics, running statistics
             updated (PyTorch's behaviour for requires_grad=False alone; --train-frozen-bn)
for SGD (momentum, Nesterov, weight decay) and Adam, as in make_train_golden.py's OPTIMIZERS. Also
the final running statistics, to check that they stay put (frozen_bn) or move (train_bn).
"""
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
import make_train_golden as tg  # noqa: E402

torch.set_num_threads(1)
FROZEN = ["conv.weight", "bn.weight", "bn.bias"]


def run(opt_name, bn_mode):
    model = tg.initial_model("cnn_bn_digits")
    for name, p in model.named_parameters():
        p.requires_grad_(name not in FROZEN)
    cls, kw = tg.OPTIMIZERS[opt_name]
    opt = getattr(torch.optim, cls)([p for p in model.parameters() if p.requires_grad], **kw)
    lossf = torch.nn.CrossEntropyLoss()
    d = np.load(os.path.join(ROOT, "testdata/data/digits/train.npz"))
    xtr, ytr = torch.from_numpy(d["x"]).reshape(-1, 1, 8, 8), torch.from_numpy(d["y"])
    d = np.load(os.path.join(ROOT, "testdata/data/digits/val.npz"))
    xva, yva = torch.from_numpy(d["x"]).reshape(-1, 1, 8, 8), torch.from_numpy(d["y"])
    rec = OrderedDict(train_loss=[], val_loss=[])
    for _ in range(tg.CURVE_EPOCHS):
        model.train()
        if bn_mode == "frozen_bn":
            model.bn.eval()
        tot = 0.0
        for s in range(0, len(xtr), tg.CURVE_BATCH):
            xb, yb = xtr[s:s + tg.CURVE_BATCH], ytr[s:s + tg.CURVE_BATCH]
            opt.zero_grad()
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            tot += loss.item() * len(yb)
        model.eval()
        with torch.no_grad():
            vl = lossf(model(xva), yva).item()
        rec["train_loss"].append(tot / len(xtr))
        rec["val_loss"].append(vl)
    rec["running_mean"] = [float(v) for v in model.bn.running_mean]
    rec["running_var"] = [float(v) for v in model.bn.running_var]
    return rec


def main():
    out = OrderedDict(generator="testdata/train/head/make_freeze_golden.py", torch=torch.__version__,
                      model="testdata/train/cnn_bn_digits.onnx", frozen=FROZEN, epochs=tg.CURVE_EPOCHS,
                      batch_size=tg.CURVE_BATCH, shuffle=False, runs=[])
    for opt_name in ["sgd", "adam"]:
        for bn_mode in ["frozen_bn", "train_bn"]:
            r = run(opt_name, bn_mode)
            out["runs"].append(OrderedDict(optimizer=opt_name, bn=bn_mode, **r))
    with open(os.path.join(HERE, "freeze.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
