#!/usr/bin/python3
"""Reference fine-tuning runs of the model families of issue 12, computed by PyTorch 1.13.

    /usr/bin/python3 testdata/train/families/make_families.py

Writes next to this script:
  seg/{train,val}.npz        synthetic segmentation data for testdata/models/unet_tiny: x float32
                             [n,3,8,8], y int64 [n,8,8] class per pixel in 0..3, 10 % of the pixels
                             -100 (unlabeled: nn.CrossEntropyLoss's default ignore_index)
  text/{train,val}.npz       token sequences for text_gru.onnx: x int64 [n,7] ids in 0..49, y int64 [n]
                             in 0..2;  text/{train,val}.csv: the same data as CSV (t0..t6,label)
  text_gru.onnx              training-mode export (opset 13) of nn.Embedding(50,8) -> nn.GRU(8,16,
                             batch_first) -> last step -> Linear(16,3); int64 input [batch, 7]
  families.json              per run: the loop's settings and PyTorch's per-epoch train/val loss,
                             accuracy (per pixel for seg, ignored pixels left out) and mean gradient norm

Each run is nntrain's loop written out in PyTorch: batches in file order (no shuffle), model in
train mode for the steps, eval mode for validation after each epoch; train loss = sample-weighted
mean of the batch losses; accuracy = correct / counted labels; grad_norm = mean over the steps of
the total L2 norm of all parameter gradients. The starting weights are read from the ONNX files
themselves. Seeded and single-threaded: a rerun reproduces every file byte for byte (except the
.onnx, which PyTorch also writes deterministically).
"""

import copy
import io
import json
import os
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "testdata"))
import make_fixtures as mf  # noqa: E402


class TextGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.gru(self.emb(x))
        return self.fc(out[:, -1])


def load_state(model, path):
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if k not in inits:
                raise SystemExit("%s: %s is not an initializer" % (path, k))
            v.copy_(torch.from_numpy(inits[k].copy()))
    return model


def seg_data(rng, n):
    x = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
    # the class of a pixel: argmax of a fixed mix of the 3x3-smoothed channels
    mix = np.array([[1.0, -0.5, 0.2], [-0.3, 1.0, 0.4], [0.5, 0.5, -1.0], [0.0, -0.6, 0.8]])
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    sm = sum(xp[:, :, i:i + 8, j:j + 8] for i in range(3) for j in range(3)) / 9
    y = np.einsum("kc,nchw->nkhw", mix, sm).argmax(1).astype(np.int64)
    y[rng.random(y.shape) < 0.1] = -100
    return x, y


def text_data(rng, n):
    x = rng.integers(0, 50, size=(n, 7)).astype(np.int64)
    y = ((x < 20).sum(1) + (x[:, -1] >= 40)) % 3
    return x, y.astype(np.int64)


def run(model, xtr, ytr, xva, yva, opt, epochs, batch):
    crit = nn.CrossEntropyLoss()  # ignore_index -100, mean over the counted labels
    hist = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": [], "grad_norm": []}

    def counts(out, y):
        pred = out.argmax(1)
        keep = y != -100
        return int((pred[keep] == y[keep]).sum()), int(keep.sum())

    for _ in range(epochs):
        model.train()
        tot, cor, cnt, norms, steps = 0.0, 0, 0, 0.0, 0
        for s in range(0, len(xtr), batch):
            xb, yb = torch.from_numpy(xtr[s:s + batch]), torch.from_numpy(ytr[s:s + batch])
            opt.zero_grad()
            out = model(xb)
            loss = crit(out, yb)
            loss.backward()
            norms += float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters())))
            steps += 1
            opt.step()
            tot += float(loss) * len(xb)
            c, k = counts(out.detach(), yb)
            cor, cnt = cor + c, cnt + k
        hist["train_loss"].append(tot / len(xtr))
        hist["train_acc"].append(cor / cnt)
        hist["grad_norm"].append(norms / steps)
        model.eval()
        tot, cor, cnt = 0.0, 0, 0
        with torch.no_grad():
            for s in range(0, len(xva), batch):
                xb, yb = torch.from_numpy(xva[s:s + batch]), torch.from_numpy(yva[s:s + batch])
                out = model(xb)
                tot += float(crit(out, yb)) * len(xb)
                c, k = counts(out, yb)
                cor, cnt = cor + c, cnt + k
        hist["val_loss"].append(tot / len(xva))
        hist["val_acc"].append(cor / cnt)
    return hist


def main():
    runs = []
    # U-Net segmentation (ConvTranspose, GroupNorm, Resize), per-pixel CE with ignore_index
    rng = np.random.default_rng(12)
    os.makedirs(os.path.join(HERE, "seg"), exist_ok=True)
    xtr, ytr = seg_data(rng, 40)
    xva, yva = seg_data(rng, 16)
    np.savez_compressed(os.path.join(HERE, "seg", "train.npz"), x=xtr, y=ytr)
    np.savez_compressed(os.path.join(HERE, "seg", "val.npz"), x=xva, y=yva)
    model = load_state(mf.build("unet_tiny")[0], os.path.join(ROOT, "testdata/models/unet_tiny/train.onnx"))
    cfg = {"model": "testdata/models/unet_tiny/train.onnx", "data": "testdata/train/families/seg",
           "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "epochs": 3, "batch_size": 8}
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    cfg.update(run(model, xtr, ytr, xva, yva, opt, cfg["epochs"], cfg["batch_size"]))
    runs.append(cfg)

    # Embedding + GRU text classifier, int64 input
    torch.manual_seed(mf.seed_of("text_gru"))
    model = TextGRU()
    f = io.BytesIO()
    torch.onnx.export(copy.deepcopy(model).train(), torch.zeros(2, 7, dtype=torch.int64), f, opset_version=13,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["tokens"], output_names=["logits"],
                      dynamic_axes={"tokens": {0: "batch"}, "logits": {0: "batch"}})
    with open(os.path.join(HERE, "text_gru.onnx"), "wb") as fh:
        fh.write(f.getvalue())
    model = load_state(model, os.path.join(HERE, "text_gru.onnx"))
    os.makedirs(os.path.join(HERE, "text"), exist_ok=True)
    rng = np.random.default_rng(7)
    xtr, ytr = text_data(rng, 60)
    xva, yva = text_data(rng, 20)
    for part, x, y in (("train", xtr, ytr), ("val", xva, yva)):
        np.savez_compressed(os.path.join(HERE, "text", part + ".npz"), x=x, y=y)
        with open(os.path.join(HERE, "text", part + ".csv"), "w") as fh:
            fh.write(",".join("t%d" % i for i in range(7)) + ",label\n")
            for row, lab in zip(x, y):
                fh.write(",".join(str(v) for v in row) + ",%d\n" % lab)
    cfg = {"model": "testdata/train/families/text_gru.onnx", "data": "testdata/train/families/text",
           "optimizer": "adam", "lr": 0.01, "epochs": 4, "batch_size": 16}
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    cfg.update(run(model, xtr, ytr, xva, yva, opt, cfg["epochs"], cfg["batch_size"]))
    runs.append(cfg)

    with open(os.path.join(HERE, "families.json"), "w") as fh:
        json.dump({"torch": torch.__version__, "runs": runs}, fh, indent=1)
        fh.write("\n")
    for r in runs:
        print(r["model"], "train", ["%.4f" % v for v in r["train_loss"]], "val acc", ["%.3f" % v for v in r["val_acc"]])


if __name__ == "__main__":
    main()
