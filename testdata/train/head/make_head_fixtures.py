#!/usr/bin/python3
"""Fixtures for nntrain --num-classes (replacing the classifier), made with torch 1.13.

Run from the repository root with Debian's Python:

    /usr/bin/python3 testdata/train/head/make_head_fixtures.py

Writes next to this script:
  conv_head.onnx    SqueezeNet-style classifier: the last weighted layer is a 1x1 Conv
                    (8 -> 10 channels), followed by ReLU, global average pooling and Flatten.
                    Input [batch, 1, 8, 8] (the digits images).
  matmul_head.onnx  a Linear applied to a 3-D tensor, which exports as MatMul + Add, then a
                    mean and x.view(-1, 10): a Reshape whose constant holds the class count.
                    Input [batch, 64].
  init_bounds.json  the bounds PyTorch's nn.Linear / nn.Conv2d reset_parameters() use
                    (kaiming_uniform_(a=sqrt(5)) for the weight, U(+-1/sqrt(fan_in)) for
                    the bias), computed by torch's own init helpers for several shapes, plus
                    the moments of 200,000 weights drawn by torch (mean, variance, max |w|)
                    for one large layer.
Seeded; a rerun reproduces the files byte for byte.
"""
import json
import math
import os

import torch
import torch.nn as nn

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))


class ConvHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.classifier = nn.Sequential(nn.Conv2d(8, 10, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.classifier(self.features(x))


class MatMulHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = x.view(x.shape[0], 4, 16)
        x = torch.relu(self.proj(x))
        x = self.head(x).mean(dim=1)
        return x.view(-1, 10)


def export(model, x, name):
    model.eval()
    torch.onnx.export(model, x, os.path.join(HERE, name), opset_version=13, do_constant_folding=True,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def bounds():
    out = []
    for kind, args in [("linear", (512, 7)), ("linear", (64, 10)), ("linear", (3, 1000)),
                       ("conv", (8, 10, 1)), ("conv", (64, 5, 3)), ("conv", (3, 16, 7))]:
        m = nn.Linear(*args) if kind == "linear" else nn.Conv2d(*args)
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
        gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
        wb = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        bb = 1 / math.sqrt(fan_in)
        out.append({"kind": kind, "weight_shape": list(m.weight.shape), "fan_in": fan_in,
                    "weight_bound": wb, "bias_bound": bb})
    torch.manual_seed(0)
    big = nn.Linear(100, 2000)
    w = big.weight.detach().double()
    moments = {"weight_shape": list(big.weight.shape), "mean": w.mean().item(), "var": w.var().item(),
               "max_abs": w.abs().max().item()}
    return {"layers": out, "torch_draw": moments}


if __name__ == "__main__":
    torch.manual_seed(1)
    export(ConvHead(), torch.randn(2, 1, 8, 8), "conv_head.onnx")
    torch.manual_seed(2)
    export(MatMulHead(), torch.randn(2, 64), "matmul_head.onnx")
    with open(os.path.join(HERE, "init_bounds.json"), "w") as f:
        json.dump(bounds(), f, indent=1)
        f.write("\n")
