#!/usr/bin/python3
"""Generate nnlint's seeded-fault fixtures: small PyTorch models, each exported to ONNX the way
a user exporting for fine-tuning would (train mode, no constant folding), with one known
training-health problem each (or, for the *_ok models, a pattern that must NOT be flagged).

Run from the repository root with Debian's Python (torch 1.13, onnx 1.12):

    /usr/bin/python3 testdata/lint/make_lint_fixtures.py

Everything is seeded (torch.manual_seed(crc32(name))), so reruns give identical files.  What
each fixture must produce is asserted in lint/rules/rules_test.go; the list below is the intent.
"""

import io
import os
import sys
import warnings
import zlib

import onnx
from onnx import helper, numpy_helper
import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def kaiming(model):
    """He init (kaiming_normal_, ReLU gain) for every Linear/Conv weight, zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def mlp(widths, act, final=None, norm=False, bias=True):
    """Linear layers of the given widths with `act` after each hidden one."""
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1], bias=bias))
        if i < len(widths) - 2:
            if norm:
                layers.append(nn.BatchNorm1d(widths[i + 1]))
            layers.append(act())
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """x + act(fc(x)): the skip connection bypasses the activation."""

    def __init__(self, width, act):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = act()

    def forward(self, x):
        return x + self.act(self.fc(x))


class Scaled(nn.Module):
    """relu(fc(x)) * scale: a constant gain the weights do not show."""

    def __init__(self, width, scale):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.scale = scale

    def forward(self, x):
        return torch.relu(self.fc(x)) * self.scale


class ConvBiasBN(nn.Module):
    """Conv2d with a bias, then MaxPool, then BatchNorm: the bias is still redundant."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.pool = nn.MaxPool2d(2)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.pool(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class EinsumBilinear(nn.Module):
    """Linear-ReLU, then a weight applied by torch.einsum (exported as Einsum)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.w = nn.Parameter(torch.randn(16, 10) / 4)

    def forward(self, x):
        return torch.einsum("bi,ij->bj", torch.relu(self.fc(x)), self.w)


def build(name):
    torch.manual_seed(seed_of(name))
    if name == "dropout_high":  # NN301: Dropout(0.8)
        return kaiming(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.8), nn.Linear(64, 10))), (64,)
    if name == "dropout_before_bn":  # NN302: Dropout feeds BatchNorm1d directly
        return kaiming(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.3), nn.BatchNorm1d(64),
                                     nn.Linear(64, 10))), (64,)
    if name == "dropout_before_output":  # NN303: Dropout on the logits
        return kaiming(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10), nn.Dropout(0.2))), (64,)
    if name == "softmax_output":  # NN401 warning
        return kaiming(mlp([64, 64, 10], nn.ReLU, final=nn.Softmax(dim=1))), (64,)
    if name == "sigmoid_output":  # NN401 warning
        return kaiming(mlp([64, 64, 10], nn.ReLU, final=nn.Sigmoid())), (64,)
    if name == "logsoftmax_output":  # NN401 info
        return kaiming(mlp([64, 64, 10], nn.ReLU, final=nn.LogSoftmax(dim=1))), (64,)
    if name == "conv_bias_bn":  # NN304 info: conv bias, max pool, BatchNorm
        return kaiming(ConvBiasBN()), (3, 8, 8)
    if name == "deep_plain_relu20":  # NN102, NN203 (default init, 20 layers), probe: vanishing
        return mlp([64] * 20 + [10], nn.ReLU), (64,)
    if name == "deep_plain_bn34":  # NN103: 34 Linear-BN-ReLU layers, no residual connection
        return kaiming(mlp([64] * 34 + [10], nn.ReLU, norm=True, bias=False)), (64,)
    if name == "dead_relu":  # NN603: 80 % of the hidden units have bias -10
        m = kaiming(nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)))
        with torch.no_grad():
            m[0].bias[:52] = -10.0
        return m, (64,)
    if name == "exploding_scaled":  # NN602: relu(fc(x)) * 10, eight times; init itself is fine
        return kaiming(nn.Sequential(*[Scaled(64, 10.0) for _ in range(8)], nn.Linear(64, 10))), (64,)
    if name == "identical_rows":  # NN201: every hidden unit starts with the same weights
        m = kaiming(mlp([64, 64, 64, 10], nn.ReLU))
        with torch.no_grad():
            m[2].weight.copy_(torch.randn(1, 64).repeat(64, 1) * 0.15)
        return m, (64,)
    if name == "nan_weight":  # NN202 (and the probe's NaN): one NaN in a weight
        m = kaiming(mlp([64, 64, 10], nn.ReLU))
        with torch.no_grad():
            m[0].weight[3, 5] = float("nan")
        return m, (64,)
    if name == "unsupported_einsum":  # NN503 + NN600: Einsum is not supported by the executor
        return EinsumBilinear(), (8,)
    if name == "residual_sigmoid_ok":  # must NOT get NN101: residual Adds bypass every Sigmoid
        return nn.Sequential(*[Residual(64, nn.Sigmoid) for _ in range(6)], nn.Linear(64, 10)), (64,)
    if name == "silu_mlp_ok":  # must NOT get NN101: x * sigmoid(x) has a path around the sigmoid
        return kaiming(mlp([64] * 7 + [10], nn.SiLU)), (64,)
    if name == "unused_initializer":  # NN502: an initializer no node reads (added after export)
        return kaiming(mlp([64, 64, 10], nn.ReLU)), (64,)
    raise KeyError(name)


NAMES = ["dropout_high", "dropout_before_bn", "dropout_before_output", "softmax_output",
         "sigmoid_output", "logsoftmax_output", "conv_bias_bn", "deep_plain_relu20",
         "deep_plain_bn34", "dead_relu", "exploding_scaled", "identical_rows", "nan_weight",
         "unsupported_einsum", "residual_sigmoid_ok", "silu_mlp_ok", "unused_initializer"]


def export(name):
    model, shape = build(name)
    model.train()
    x = torch.randn(4, *shape)
    state = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    f = io.BytesIO()
    torch.onnx.export(model, x, f, opset_version=OPSET, training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    m = onnx.load_from_string(f.getvalue())
    # A training-mode export traces forward once, which updates BatchNorm running stats:
    # put the pre-export values back (as testdata/make_fixtures.py does).
    for init in m.graph.initializer:
        if init.name in state and ("running_mean" in init.name or "running_var" in init.name):
            init.CopyFrom(numpy_helper.from_array(state[init.name].astype(np.float32), init.name))
    if name == "unused_initializer":
        m.graph.initializer.append(numpy_helper.from_array(
            np.zeros((64, 64), dtype=np.float32), "leftover.weight"))
    m.producer_name, m.producer_version = "pytorch", torch.__version__.split("+")[0]
    if name != "nan_weight":  # the checker rejects nothing here, but keep NaN out of its way
        onnx.checker.check_model(m)
    path = os.path.join(HERE, name + ".onnx")
    with open(path, "wb") as out:
        out.write(m.SerializeToString())
    return path


def main(argv):
    names = argv[1:] or NAMES
    for n in names:
        p = export(n)
        print("%-28s %7d bytes" % (os.path.relpath(p), os.path.getsize(p)))


if __name__ == "__main__":
    main(sys.argv)
