#!/usr/bin/python3
"""Generate nnkit's PyTorch fixture zoo (ONNX exports + golden numbers + digits data set).

Run from the repository root with Debian's Python (it has torch 1.13, torchvision 0.14,
onnx 1.12, scikit-learn and numpy):

    /usr/bin/python3 testdata/make_fixtures.py

Everything is seeded, so a rerun reproduces every array bit for bit.  See testdata/README.md
for the layout and the array-name conventions.
"""

import copy
import gzip
import io
import json
import math
import os
import sys
import warnings
import zlib
from collections import Counter, OrderedDict

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

warnings.filterwarnings("ignore")
torch.set_num_threads(1)  # fixed reduction order -> reproducible arrays

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
DATA = os.path.join(HERE, "data")

OPSET = 13
BATCH = 4
# Gradients of parameters with more elements than this are stored only partially (first
# GRAD_HEAD elements + float64 sum and sum of squares) to keep testdata small; see golden().
# Only dropoutnet.fc1, robustnet.fc1/fc2, small_cnn.fc1 and the two zoo models are affected.
FULL_GRAD_MAX = 65536
ZOO_FULL_GRAD_MAX = 16384
GRAD_HEAD = 4096
TILE_PERIOD = 4099  # prime period used to make the zoo weights compressible
LOSS_DESC = ("L = sum(train_output * loss_weight) / batch; train_output from model.train() with every "
             "dropout probability set to 0 (BatchNorm uses batch statistics), initial (exported) weights")


def seed_of(name):
    """Stable per-fixture seed derived from the fixture name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------

# dropoutnet: 784-256-10 MLP with one Dropout(0.5) after the hidden ReLU.
class DropoutNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.relu = nn.ReLU()
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(self.drop(self.relu(self.fc1(x))))


# robustnet: 784-512-256-10 MLP with BatchNorm1d + ReLU + Dropout(0.5), kaiming-normal weights.
class RobustNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 512)
        self.bn1 = nn.BatchNorm1d(512)
        self.drop1 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(512, 256)
        self.bn2 = nn.BatchNorm1d(256)
        self.drop2 = nn.Dropout(0.5)
        self.fc3 = nn.Linear(256, 10)
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
            nn.init.zeros_(fc.bias)

    def forward(self, x):
        x = self.drop1(F.relu(self.bn1(self.fc1(x))))
        x = self.drop2(F.relu(self.bn2(self.fc2(x))))
        return self.fc3(x)


# deep_sigmoid_mlp / deep_tanh_mlp: 12 x (Linear(64,64) + act) then Linear(64,10), default init.
class DeepMLP(nn.Module):
    def __init__(self, act):
        super().__init__()
        layers = []
        for _ in range(12):
            layers += [nn.Linear(64, 64), act()]
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        return self.head(self.layers(x))


# small_cnn: two Conv3x3-BN-ReLU-MaxPool stages on 28x28, then 3136-128-10 classifier.
class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(3136, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        return self.fc2(F.relu(self.fc1(self.flatten(x))))


# BasicBlock: conv3x3-BN-ReLU-conv3x3-BN plus identity or 1x1-conv-BN shortcut, then ReLU.
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        idn = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + idn)


# resnet_narrow: stem Conv(3,16)-BN-ReLU, 3 BasicBlocks (16->16, 16->32 s2, 32->64 s2), GAP, Linear.
class ResNetNarrow(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.layer3 = BasicBlock(32, 64, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# InvertedResidual: 1x1 expand-BN-ReLU6, 3x3 depthwise-BN-ReLU6, 1x1 project-BN, add if shapes match.
class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.expand = nn.Sequential(nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(hid, hid, 3, stride=stride, padding=1, groups=hid, bias=False),
                                nn.BatchNorm2d(hid), nn.ReLU6())
        self.project = nn.Sequential(nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.use_res else y


# mobilenet_block: stem Conv-BN-ReLU6, residual block 16->16, strided block 16->24, GAP, Linear.
class MobileNetBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.block1 = InvertedResidual(16, 16, 1, 4)
        self.block2 = InvertedResidual(16, 24, 2, 4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


# transformer_encoder: 2 post-norm nn.TransformerEncoderLayer (d32, 4 heads, FFN 64, erf GELU), mean pool, Linear.
class TransformerNet(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.1,
                                           activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        # nn.TransformerEncoder deep-copies the layer, so both layers would start identical
        # (and the eval exporter would then deduplicate their initializers): re-draw them.
        # MultiheadAttention's biases start at 0; give them Linear-style U(-1/sqrt(32), 1/sqrt(32))
        # values so no two tensors are equal and the bias gradients are exercised from nonzero values.
        for lyr in self.encoder.layers:
            lyr.self_attn._reset_parameters()
            lyr.self_attn.out_proj.reset_parameters()
            lyr.linear1.reset_parameters()
            lyr.linear2.reset_parameters()
            with torch.no_grad():
                b = 1.0 / math.sqrt(32)
                lyr.self_attn.in_proj_bias.uniform_(-b, b)
                lyr.self_attn.out_proj.bias.uniform_(-b, b)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.encoder(x).mean(dim=1))


# groupnorm_cnn: Conv(3,8,3,p1)-GroupNorm(2,8)-ReLU, Conv(8,8,3,p1)-InstanceNorm2d(8,affine)-ReLU,
# Conv(8,8,3,p1)-InstanceNorm2d(8) (no affine)-ReLU, GAP, Linear(8,10) on [N,3,8,8].
class GroupNormCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.gn1 = nn.GroupNorm(2, 8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.in2 = nn.InstanceNorm2d(8, affine=True)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1)
        self.in3 = nn.InstanceNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.gn1(self.conv1(x)))
        x = F.relu(self.in2(self.conv2(x)))
        x = F.relu(self.in3(self.conv3(x)))
        return self.fc(x.mean(dim=(2, 3)))


# unet_tiny: a two-level U-Net on [N,3,8,8] with 4 output classes per pixel ([N,4,8,8]): GroupNorm
# everywhere, two ConvTranspose2d up-paths (2x2 stride 2; 3x3 stride 2 pad 2 dilation 2 output_padding 1
# groups 2) and the three common F.interpolate modes (nearest x2, bilinear x2 align_corners=False,
# bilinear to size (8,8) align_corners=True), merged by a 1x1 conv, skip connection by concatenation.
class UNetTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.gn1 = nn.GroupNorm(2, 8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.gn2 = nn.GroupNorm(4, 16)
        self.up1 = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.up2 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=2, output_padding=1, dilation=2, groups=2)
        self.proj = nn.Conv2d(16, 8, 1)
        self.conv3 = nn.Conv2d(16, 8, 3, padding=1)
        self.gn3 = nn.GroupNorm(2, 8)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        e1 = F.relu(self.gn1(self.conv1(x)))
        e2 = F.relu(self.gn2(self.conv2(F.max_pool2d(e1, 2))))
        u = (F.interpolate(e2, scale_factor=2, mode="nearest")
             + F.interpolate(e2, scale_factor=2, mode="bilinear", align_corners=False)
             + F.interpolate(e2, size=(8, 8), mode="bilinear", align_corners=True))
        up = self.up1(e2) + self.up2(e2) + self.proj(u)
        d = F.relu(self.gn3(self.conv3(torch.cat([e1, up], 1))))
        return self.head(d)


# gru_classifier: bidirectional nn.GRU(8,16) -> nn.RNN(32,12,relu) over [N,6,8], and nn.RNN(8,12,tanh) on the
# input; the last steps of both RNNs concatenated -> Linear(24,10).
class GRUClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True, bidirectional=True)
        self.rnn = nn.RNN(32, 12, nonlinearity="relu", batch_first=True)
        self.rnn2 = nn.RNN(8, 12, batch_first=True)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        g, _ = self.gru(x)
        r, _ = self.rnn(g)
        t, _ = self.rnn2(x)
        return self.fc(torch.cat([r[:, -1], t[:, -1]], 1))


# conv3d_net: a small video/volume network on [N,2,8,8,8]: Conv3d(2,4,3,p1)-BatchNorm3d-ReLU-MaxPool3d(2) = x1
# [4,4,4,4]; Conv3d(4,6,3,stride 2,p1,groups 2)-ReLU = x2 [6,2,2,2]; up: ConvTranspose3d(6,4,2,stride 2)(x2) + x1,
# concatenated with trilinear x2 upsampling of x2 (align_corners=False); AvgPool3d(2,stride 1,padding 1,ceil_mode)
# (count_include_pad); mean over D,H,W; Linear(10,10).
class Conv3DNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv3d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm3d(4)
        self.conv2 = nn.Conv3d(4, 6, 3, stride=2, padding=1, groups=2)
        self.up = nn.ConvTranspose3d(6, 4, 2, stride=2)
        self.fc = nn.Linear(10, 10)

    def forward(self, x):
        x1 = F.max_pool3d(F.relu(self.bn1(self.conv1(x))), 2)
        x2 = F.relu(self.conv2(x1))
        u = torch.cat([self.up(x2) + x1, F.interpolate(x2, scale_factor=2, mode="trilinear", align_corners=False)], 1)
        u = F.avg_pool3d(u, 2, stride=1, padding=1, ceil_mode=True)
        return self.fc(u.mean(dim=(2, 3, 4)))


# bicubic_cnn: Conv(3,4,3,p1)-ReLU, then bicubic x2 (align_corners=False) + bicubic to (16,16)
# (align_corners=True), Conv(4,4,3,p1), mean over H,W, Linear(4,10) on [N,3,8,8].
class BicubicCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        u = (F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
             + F.interpolate(x, size=(16, 16), mode="bicubic", align_corners=True))
        return self.fc(self.conv2(u).mean(dim=(2, 3)))


# lstm_classifier: nn.LSTM(8,16,batch_first) over [N,6,8], last step via out[:, -1], Linear(16,10).
class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


# mlp_relu_6 and badinit_*: 6-layer ReLU MLP 64-64-64-64-64-64-10 (init chosen by the factory).
class MLP6(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(5):
            layers += [nn.Linear(64, 64), nn.ReLU()]
        layers.append(nn.Linear(64, 10))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


# vgg_bn: VGG-style cfg [16,M,32,M,64,64,M] of Conv3x3-BN-ReLU on 32x32, classifier 1024-64-10 with Dropout.
class VGGBN(nn.Module):
    CFG = [16, "M", 32, "M", 64, 64, "M"]

    def __init__(self):
        super().__init__()
        layers, c = [], 3
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
                c = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(64 * 4 * 4, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# mlp_digits: Linear(64,32)-ReLU-Linear(32,10) for the 8x8 digits data set.
class MLPDigits(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


# cnn_digits: Conv(1,8,3,pad1)-BN-ReLU-MaxPool2-Flatten-Linear(128,10) on [N,1,8,8] digits.
class CNNDigits(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(F.relu(self.bn(self.conv(x))))))


# ----------------------------------------------------------------------------------------------
# Factories (seeded construction + any init changes)
# ----------------------------------------------------------------------------------------------

def randomize_norm_layers(model, seed):
    """Give BatchNorm/LayerNorm layers 'trained-looking' affine params and running stats.

    With PyTorch's defaults (gamma 1, beta 0, mean 0, var 1) eval-mode BN is almost the identity
    and a loader that ignores running stats would still pass; these values make every tensor
    distinct and matter.  num_batches_tracked stays 0.
    """
    g = torch.Generator().manual_seed(seed ^ 0x5EED)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)) or (
                    isinstance(m, nn.modules.instancenorm._InstanceNorm) and m.affine):
                n = m.weight.numel()
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                    m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model


def mlp6(kind):
    def make():
        m = MLP6()
        with torch.no_grad():
            for lin in m.modules():
                if not isinstance(lin, nn.Linear):
                    continue
                if kind == "zero":
                    lin.weight.zero_()
                    lin.bias.zero_()
                elif kind == "huge":
                    lin.weight.normal_(0.0, 10.0)
                    lin.bias.zero_()
                elif kind == "tiny":
                    lin.weight.normal_(0.0, 1e-4)
                    lin.bias.zero_()
        return m
    return make


def tile_state(model, period=TILE_PERIOD):
    """Replace every floating param/buffer with >period elements by a tiling of its first period."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point() and t.numel() > period:
                flat = t.detach().reshape(-1)
                reps = math.ceil(flat.numel() / period)
                t.copy_(flat[:period].repeat(reps)[:flat.numel()].view_as(t))
    return model


def swin_tiny():
    """A small torchvision Swin Transformer: patch 4, embed 8, one stage of 2 blocks (2 heads), window 4 on 8x8 patches
    (so the second block uses shifted windows: Mod and ScatterND in the export), no stochastic
    depth (its Bernoulli has no training-mode export)."""
    from torchvision.models.swin_transformer import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[2], num_heads=[2], window_size=[4, 4],
                           stochastic_depth_prob=0.0, num_classes=10)


def zoo(ctor):
    def make():
        return tile_state(ctor(num_classes=10))
    return make


# name -> (factory, per-sample input shape, extra options)
FIXTURES = OrderedDict([
    ("dropoutnet", (DropoutNet, [784], {"opset15": True})),
    ("robustnet", (RobustNet, [784], {"norm": True})),
    ("deep_sigmoid_mlp", (lambda: DeepMLP(nn.Sigmoid), [64], {})),
    ("deep_tanh_mlp", (lambda: DeepMLP(nn.Tanh), [64], {})),
    ("small_cnn", (SmallCNN, [1, 28, 28], {"opset15": True, "norm": True})),
    ("resnet_narrow", (ResNetNarrow, [3, 16, 16], {"norm": True})),
    ("mobilenet_block", (MobileNetBlock, [3, 16, 16], {"norm": True})),
    ("transformer_encoder", (TransformerNet, [8, 32], {"norm": True})),
    ("lstm_classifier", (LSTMClassifier, [6, 8], {})),
    ("mlp_relu_6", (mlp6("default"), [64], {})),
    ("badinit_zero", (mlp6("zero"), [64], {})),
    ("badinit_huge", (mlp6("huge"), [64], {})),
    ("badinit_tiny", (mlp6("tiny"), [64], {})),
    ("vgg_bn", (VGGBN, [3, 32, 32], {"norm": True})),
    ("resnet18", (zoo(torchvision.models.resnet18), [3, 32, 32], {"gzip": True, "zoo": True})),
    ("mobilenet_v2", (zoo(torchvision.models.mobilenet_v2), [3, 32, 32], {"gzip": True, "zoo": True})),
    ("mlp_digits", (MLPDigits, [64], {})),
    ("cnn_digits", (CNNDigits, [1, 8, 8], {"norm": True})),
    ("groupnorm_cnn", (GroupNormCNN, [3, 8, 8], {"opset15": True, "norm": True})),
    ("unet_tiny", (UNetTiny, [3, 8, 8], {"norm": True, "opsets": [11, 17]})),
    ("gru_classifier", (GRUClassifier, [6, 8], {"opsets": [17]})),
    ("swin_tiny", (swin_tiny, [3, 32, 32], {"norm": True, "gzip": True})),
    ("conv3d_net", (Conv3DNet, [2, 8, 8, 8], {"norm": True, "opset15": True})),
    ("bicubic_cnn", (BicubicCNN, [3, 8, 8], {"opsets": [11]})),
])


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------

def bn_modules(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def dropout_sites(model):
    """All stochastic dropout sites: nn.Dropout modules and nn.MultiheadAttention's attention dropout."""
    sites = OrderedDict()
    for n, m in model.named_modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            sites[n] = float(m.p)
        elif isinstance(m, nn.MultiheadAttention):
            sites[n + " (attention weights)"] = float(m.dropout)
    return sites


def zero_dropout(model):
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.p = 0.0
        elif isinstance(m, nn.MultiheadAttention):
            m.dropout = 0.0
    return model


def export_bytes(model, x, train, opset):
    """torch.onnx.export from a deepcopy (export in training mode runs a forward that mutates BN)."""
    m = copy.deepcopy(model)
    f = io.BytesIO()
    common = dict(opset_version=opset, input_names=["input"], output_names=["output"],
                  dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    if train:
        torch.onnx.export(m.train(), x, f, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, **common)
    else:
        torch.onnx.export(m.eval(), x, f, do_constant_folding=True, **common)
    return f.getvalue()


def restore_initializers(proto, state):
    """Put the pre-export state back into initializers that share a state_dict name.

    The exporter traces a training-mode forward and only then reads the module state, so the
    BatchNorm running_mean/var initializers of a training export hold the stats AFTER that traced
    forward.  Overwrite them with the exact state the golden numbers start from.
    Returns the names that were changed.
    """
    changed = []
    for i, init in enumerate(proto.graph.initializer):
        if init.name not in state:
            continue
        want = state[init.name].detach().cpu().numpy()
        have = numpy_helper.to_array(init)
        if have.shape != want.shape or have.dtype != want.dtype:
            raise SystemExit("initializer %s: %s %s vs state %s %s" % (init.name, have.shape, have.dtype,
                                                                       want.shape, want.dtype))
        if not np.array_equal(have, want):
            proto.graph.initializer[i].CopyFrom(numpy_helper.from_array(want, init.name))
            changed.append(init.name)
    return changed


def op_types(proto):
    c = Counter(n.op_type for n in proto.graph.node)
    return ",".join("%s:%d" % (k, c[k]) for k in sorted(c))


def human(n):
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


SUMMARY = []  # rows for the final table
NOTES = []


def write_onnx(name, fname, data, gz, state=None):
    """Restore initializers (train exports), check, write (optionally gzip), record a table row."""
    proto = onnx.load_from_string(data)
    changed = []
    if state is not None:
        changed = restore_initializers(proto, state)
        data = proto.SerializeToString()
    onnx.checker.check_model(proto)
    path = os.path.join(MODELS, name, fname + (".gz" if gz else ""))
    if gz:
        blob = gzip.compress(data, compresslevel=9, mtime=0)
    else:
        blob = data
    with open(path, "wb") as fh:
        fh.write(blob)
    SUMMARY.append((name, os.path.basename(path), len(blob), len(data), op_types(proto)))
    if changed:
        NOTES.append("%s/%s: restored %d initializers to pre-export state (%s%s)" % (
            name, fname, len(changed), ", ".join(changed[:4]), ", ..." if len(changed) > 4 else ""))
    return proto


def check_params_are_initializers(name, fname, proto, model):
    """Every named parameter must be an initializer of the same shape; return a mapping if not."""
    inits = {i.name: i for i in proto.graph.initializer}
    mapping, ok = {}, True
    for pn, p in model.named_parameters():
        init = inits.get(pn)
        if init is not None and list(init.dims) == list(p.shape):
            mapping[pn] = pn
            continue
        ok = False
        # look for an initializer holding exactly this tensor's values under another name
        want = p.detach().numpy()
        hit = None
        for iname, ini in inits.items():
            if list(ini.dims) == list(p.shape) and np.array_equal(numpy_helper.to_array(ini), want):
                hit = iname
                break
        mapping[pn] = hit
        print("  !! %s/%s: parameter %s %s is not an initializer of that name; match by value: %s"
              % (name, fname, pn, list(p.shape), hit))
    return ok, mapping


def describe_inits(name, fname, proto, model):
    params = dict(model.named_parameters())
    bufs = dict(model.named_buffers())
    extra = [i.name for i in proto.graph.initializer if i.name not in params and i.name not in bufs]
    bufinits = [i.name for i in proto.graph.initializer if i.name in bufs]
    missing = [n for n in params if n not in {i.name for i in proto.graph.initializer}]
    return {"file": fname, "initializers": len(proto.graph.initializer), "param_inits": len(params) - len(missing),
            "buffer_inits": len(bufinits), "other_inits": extra, "params_missing": missing}


# ----------------------------------------------------------------------------------------------
# Golden numbers
# ----------------------------------------------------------------------------------------------

def golden(name, model, x_np, w_np, opts, init_map):
    state = copy.deepcopy(model.state_dict())
    arrays = OrderedDict()
    arrays["input"] = x_np

    # eval output (grad enabled, same code path as the traced export)
    me = copy.deepcopy(model).eval()
    arrays["eval_output"] = me(torch.from_numpy(x_np)).detach().numpy().astype(np.float32)

    # one training-mode forward with dropout disabled, then the fixed loss and its gradients
    mt = zero_dropout(copy.deepcopy(model)).train()
    x = torch.from_numpy(x_np.copy()).requires_grad_(True)
    out = mt(x)
    arrays["train_output"] = out.detach().numpy().astype(np.float32)
    for bn_name, bn in bn_modules(mt):
        arrays["train_running_mean:" + bn_name] = bn.running_mean.detach().numpy().astype(np.float32)
        arrays["train_running_var:" + bn_name] = bn.running_var.detach().numpy().astype(np.float32)
    w = torch.from_numpy(w_np)
    loss = (out * w).sum() / out.shape[0]
    loss.backward()
    arrays["loss_weight"] = w_np
    arrays["loss"] = np.array((out.detach().double() * w.double()).sum().item() / out.shape[0], dtype=np.float64)
    partial = []
    full_max = ZOO_FULL_GRAD_MAX if opts.get("zoo") else FULL_GRAD_MAX
    for pn, p in mt.named_parameters():
        g = p.grad.detach().numpy().astype(np.float32)
        if g.size > full_max:
            partial.append(pn)
            arrays["grad_head:" + pn] = g.reshape(-1)[:GRAD_HEAD].copy()
            g64 = g.astype(np.float64)
            arrays["grad_sum:" + pn] = np.array(g64.sum(), dtype=np.float64)
            arrays["grad_sumsq:" + pn] = np.array((g64 * g64).sum(), dtype=np.float64)
        else:
            arrays["grad:" + pn] = g
    arrays["grad_input"] = x.grad.detach().numpy().astype(np.float32)

    # float64 replay of the same computation: how far PyTorch's own float32 result is from exact,
    # a floor for the tolerance any other float32 implementation can be held to
    m64 = copy.deepcopy(model).double()
    e64 = m64.eval()(torch.from_numpy(x_np).double()).detach().numpy()
    m64 = zero_dropout(m64).train()
    x64 = torch.from_numpy(x_np).double().requires_grad_(True)
    o64 = m64(x64)
    (o64 * w.double()).sum().div(o64.shape[0]).backward()

    def rel(a32, a64):
        a64 = np.asarray(a64, np.float64)
        den = np.abs(a64).max() if a64.size else 0.0
        d = np.abs(np.asarray(a32, np.float64) - a64).max() if a64.size else 0.0
        return float(d / den) if den > 0 else float(d)

    grads64 = dict((pn, p.grad.numpy()) for pn, p in m64.named_parameters())
    gscale = max(float(np.abs(g).max()) for g in grads64.values())
    f64check = OrderedDict()
    f64check["eval_output"] = rel(arrays["eval_output"], e64)
    f64check["train_output"] = rel(arrays["train_output"], o64.detach().numpy())
    f64check["loss"] = rel(arrays["loss"], (o64.detach() * w.double()).sum().item() / o64.shape[0])
    f64check["grad_input"] = rel(arrays["grad_input"], x64.grad.numpy())
    # parameter gradients: max abs diff over all params / largest |grad| of any param
    gdiff = max(float(np.abs(p.grad.numpy().astype(np.float64) - grads64[pn]).max()) for pn, p in mt.named_parameters())
    f64check["grad_params"] = gdiff / gscale if gscale > 0 else gdiff
    bns64 = bn_modules(m64)
    if bns64:  # running stats are O(1): plain max abs diff
        f64check["running_stats_abs"] = max(max(
            float(np.abs(arrays["train_running_mean:" + n].astype(np.float64) - bn.running_mean.numpy()).max()),
            float(np.abs(arrays["train_running_var:" + n].astype(np.float64) - bn.running_var.numpy()).max()))
            for n, bn in bns64)
    # gradients that are negligible next to the largest one in the float64 replay: exactly zero
    # in exact arithmetic (a bias feeding a train-mode BN, all-zero weights) or vanished (deep
    # sigmoid, tiny init).  Their float32 golden values are mostly rounding noise: compare them
    # with an absolute tolerance scaled by the largest gradient.
    zero_grads = [pn for pn, g in grads64.items() if gscale > 0 and np.abs(g).max() <= 1e-9 * gscale]

    # the model handed in must not have been touched by any of the above
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), (name, k)

    d = os.path.join(MODELS, name)
    np.savez(os.path.join(d, "golden.npz"), **arrays)

    bns = bn_modules(model)
    buffer_names = []
    for bn_name, _ in bns:
        buffer_names += [bn_name + ".running_mean", bn_name + ".running_var"]
    meta = OrderedDict()
    meta["model"] = name
    meta["input_shape"] = list(x_np.shape)
    meta["params"] = sum(p.numel() for p in model.parameters())
    meta["trainable_params"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    meta["buffers"] = sum(bn.running_mean.numel() + bn.running_var.numel() for _, bn in bns)
    meta["param_names"] = [n for n, _ in model.named_parameters()]
    meta["param_shapes"] = {n: list(p.shape) for n, p in model.named_parameters()}
    meta["buffer_names"] = buffer_names
    meta["opset"] = OPSET
    meta["loss"] = LOSS_DESC
    meta["seed"] = seed_of(name)
    meta["dropout"] = dropout_sites(model)
    meta["batchnorm"] = {n: {"eps": bn.eps, "momentum": bn.momentum} for n, bn in bns}
    meta["float32_error"] = OrderedDict(
        [("note", "max |float32 golden - float64 PyTorch replay| / max |float64 value| per array; "
                  "grad_params: over all parameter grads, divided by the largest |grad|; "
                  "running_stats_abs: max abs diff")] + list(f64check.items()))
    meta["negligible_grads"] = zero_grads
    if init_map is not None:
        meta["initializer_names"] = init_map
    if partial:
        meta["grad_partial"] = {
            "params": partial,
            "full_grad_max": full_max,
            "rule": "parameters with more than %d elements store grad_head:<name> (first %d elements of "
                    "the row-major flattened gradient, float32), grad_sum:<name> and grad_sumsq:<name> "
                    "(float64 scalars: sum and sum of squares of all elements) instead of grad:<name>"
                    % (full_max, GRAD_HEAD),
        }
    if opts.get("zoo"):
        meta["weights"] = ("torchvision init (seeded), then every floating param/buffer with more than "
                           "%d elements replaced by a tiling of its first %d elements" % (TILE_PERIOD, TILE_PERIOD))
    if opts.get("norm"):
        meta["norm_init"] = ("BatchNorm/LayerNorm weight~U(0.5,1.5), bias~N(0,0.1^2); BN running_mean~N(0,0.1^2), "
                             "running_var~U(0.5,1.5) (seeded), num_batches_tracked=0")
    return meta, arrays


def check_npz(name, meta):
    z = np.load(os.path.join(MODELS, name, "golden.npz"))
    n = meta["input_shape"][0]
    assert z["input"].shape == tuple(meta["input_shape"]) and z["input"].dtype == np.float32
    assert z["eval_output"].shape == z["train_output"].shape == z["loss_weight"].shape
    assert z["eval_output"].shape[0] == n
    assert z["loss"].dtype == np.float64 and z["loss"].shape == ()
    assert z["grad_input"].shape == z["input"].shape
    for pn in meta["param_names"]:
        shape = tuple(meta["param_shapes"][pn])
        if "grad:" + pn in z:
            assert z["grad:" + pn].shape == shape, (name, pn)
        else:
            assert "grad_head:" + pn in z and "grad_sum:" + pn in z and "grad_sumsq:" + pn in z, (name, pn)
    for b in meta["buffer_names"]:
        mod, kind = b.rsplit(".", 1)
        key = "train_%s:%s" % (kind, mod)
        assert key in z, (name, key)
    for k in z.files:
        if k not in ("loss",) and not k.startswith(("grad_sum:", "grad_sumsq:")):
            assert z[k].dtype == np.float32, (name, k, z[k].dtype)
    recomputed = (z["train_output"].astype(np.float64) * z["loss_weight"]).sum() / n
    assert abs(recomputed - float(z["loss"])) <= 1e-9 * max(1.0, abs(recomputed)), (name, recomputed, z["loss"])
    return len(z.files)


# ----------------------------------------------------------------------------------------------
# Per-fixture driver
# ----------------------------------------------------------------------------------------------

INIT_REPORT = OrderedDict()


def build(name):
    factory, shape, opts = FIXTURES[name]
    seed = seed_of(name)
    torch.manual_seed(seed)
    model = factory()
    if opts.get("norm"):
        randomize_norm_layers(model, seed)
    model.train()
    rng = np.random.default_rng(seed)
    x_np = rng.standard_normal([BATCH] + shape).astype(np.float32)
    return model, x_np, rng, opts


def make_fixture(name):
    model, x_np, rng, opts = build(name)
    d = os.path.join(MODELS, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    state = copy.deepcopy(model.state_dict())
    x = torch.from_numpy(x_np)
    gz = opts.get("gzip", False)

    reports = []
    eval_proto = write_onnx(name, "eval.onnx", export_bytes(model, x, False, OPSET), gz)
    reports.append(describe_inits(name, "eval.onnx", eval_proto, model))
    train_proto = write_onnx(name, "train.onnx", export_bytes(model, x, True, OPSET), gz, state)
    reports.append(describe_inits(name, "train.onnx", train_proto, model))
    ok, mapping = check_params_are_initializers(name, "train.onnx", train_proto, model)
    if opts.get("opset15"):
        p15 = write_onnx(name, "train_opset15.onnx", export_bytes(model, x, True, 15), gz, state)
        reports.append(describe_inits(name, "train_opset15.onnx", p15, model))
        ok15, _ = check_params_are_initializers(name, "train_opset15.onnx", p15, model)
        ok = ok and ok15
    for op in opts.get("opsets", []):
        fn = "train_opset%d.onnx" % op
        po = write_onnx(name, fn, export_bytes(model, x, True, op), gz, state)
        reports.append(describe_inits(name, fn, po, model))
        oko, _ = check_params_are_initializers(name, fn, po, model)
        ok = ok and oko
    INIT_REPORT[name] = reports

    # the model object itself must still hold the pre-export state
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), (name, k)

    with torch.no_grad():
        out_shape = copy.deepcopy(model).eval()(x).shape
    w_np = rng.standard_normal(list(out_shape)).astype(np.float32)
    meta, _ = golden(name, model, x_np, w_np, opts, None if ok else mapping)
    meta["files"] = sorted(set(os.listdir(d)) | {"golden.json"})
    with open(os.path.join(d, "golden.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    n_arrays = check_npz(name, meta)
    print("%-20s params=%-9d buffers=%-6d arrays=%d" % (name, meta["params"], meta["buffers"], n_arrays))
    return meta


# ----------------------------------------------------------------------------------------------
# Digits data set + reference training runs
# ----------------------------------------------------------------------------------------------

def make_digits():
    from sklearn.datasets import load_digits
    d = os.path.join(DATA, "digits")
    os.makedirs(d, exist_ok=True)
    ds = load_digits()
    x = (ds.data / 16.0).astype(np.float32)
    y = ds.target.astype(np.int64)
    assert x.shape == (1797, 64)
    perm = np.random.RandomState(0).permutation(len(x))
    tr, va = perm[:1437], perm[1437:]
    header = ",".join(["p%d" % i for i in range(64)] + ["label"])
    for split, idx in (("train", tr), ("val", va)):
        np.savez(os.path.join(d, split + ".npz"), x=x[idx], y=y[idx])
        with open(os.path.join(d, split + ".csv"), "w") as fh:
            fh.write(header + "\n")
            for i in idx:
                # values are k/16: %.8g prints them exactly (0, 0.0625, ..., 1)
                fh.write(",".join("%.8g" % v for v in x[i]) + ",%d\n" % y[i])
        z = np.load(os.path.join(d, split + ".npz"))
        assert z["x"].dtype == np.float32 and z["y"].dtype == np.int64 and z["x"].shape == (len(idx), 64)
    print("digits: train %d, val %d (classes %s)" % (len(tr), len(va), np.bincount(y[tr]).tolist()))
    return x[tr], y[tr], x[va], y[va]


def reference_training(name, xtr, ytr, xva, yva, opt_name, reshape):
    """A short, fully specified PyTorch training run on digits, starting from the fixture weights."""
    model, _, _, _ = build(name)  # identical to the exported initial weights
    cfg = OrderedDict(model=name, optimizer=opt_name, epochs=2, batch_size=64, shuffle=False,
                      loss="CrossEntropyLoss (mean over batch)", data="data/digits train.npz / val.npz",
                      input_reshape=reshape)
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        cfg["hyper"] = {"lr": 0.1, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False}
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        cfg["hyper"] = {"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0}
    lossf = nn.CrossEntropyLoss()

    def prep(a):
        t = torch.from_numpy(a)
        return t.reshape([t.shape[0]] + reshape) if reshape else t

    step_loss, val_loss, val_acc = [], [], []
    for _ in range(cfg["epochs"]):
        model.train()
        for s in range(0, len(xtr), cfg["batch_size"]):
            xb = prep(xtr[s:s + cfg["batch_size"]])
            yb = torch.from_numpy(ytr[s:s + cfg["batch_size"]])
            opt.zero_grad()
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            step_loss.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model(prep(xva))
            val_loss.append(lossf(logits, torch.from_numpy(yva)).item())
            val_acc.append((logits.argmax(1).numpy() == yva).mean())
    arrays = OrderedDict()
    arrays["step_loss"] = np.array(step_loss, dtype=np.float64)
    arrays["epoch_val_loss"] = np.array(val_loss, dtype=np.float64)
    arrays["epoch_val_acc"] = np.array(val_acc, dtype=np.float64)
    for pn, p in model.named_parameters():
        arrays["final:" + pn] = p.detach().numpy().astype(np.float32)
    for bn_name, bn in bn_modules(model):
        arrays["final_running_mean:" + bn_name] = bn.running_mean.numpy().astype(np.float32)
        arrays["final_running_var:" + bn_name] = bn.running_var.numpy().astype(np.float32)
    base = os.path.join(MODELS, name, "train_ref_" + opt_name)
    np.savez(base + ".npz", **arrays)
    cfg["steps"] = len(step_loss)
    cfg["arrays"] = list(arrays.keys())
    with open(base + ".json", "w") as fh:
        json.dump(cfg, fh, indent=1)
        fh.write("\n")
    print("%s %s: loss %.4f -> %.4f, val acc %s" % (name, opt_name, step_loss[0], step_loss[-1],
                                                    ["%.3f" % a for a in val_acc]))


def update_files_list(name):
    d = os.path.join(MODELS, name)
    p = os.path.join(d, "golden.json")
    with open(p) as fh:
        meta = json.load(fh, object_pairs_hook=OrderedDict)
    meta["files"] = sorted(os.listdir(d))
    with open(p, "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")


# ----------------------------------------------------------------------------------------------

def main():
    only = sys.argv[1:]
    os.makedirs(MODELS, exist_ok=True)
    print("torch %s, torchvision %s, onnx %s, numpy %s" % (torch.__version__, torchvision.__version__,
                                                          onnx.__version__, np.__version__))
    xtr, ytr, xva, yva = make_digits()
    metas = OrderedDict()
    for name in FIXTURES:
        if only and name not in only:
            continue
        metas[name] = make_fixture(name)
    if not only or "mlp_digits" in only:
        reference_training("mlp_digits", xtr, ytr, xva, yva, "sgd", None)
        reference_training("mlp_digits", xtr, ytr, xva, yva, "adam", None)
        update_files_list("mlp_digits")
    if not only or "cnn_digits" in only:
        reference_training("cnn_digits", xtr, ytr, xva, yva, "sgd", [1, 8, 8])
        update_files_list("cnn_digits")

    print()
    print("%-20s %-24s %10s %10s  %s" % ("model", "file", "size", "onnx", "op types"))
    for name, fname, size, raw, ops in SUMMARY:
        print("%-20s %-24s %10s %10s  %s" % (name, fname, human(size), human(raw), ops))
    print()
    print("initializers per export (other_inits = float initializers that are neither params nor buffers):")
    for name, reps in INIT_REPORT.items():
        for r in reps:
            other = r["other_inits"]
            print("  %-20s %-20s inits=%-3d params=%-3d buffers=%-3d other=%d %s%s" % (
                name, r["file"], r["initializers"], r["param_inits"], r["buffer_inits"], len(other),
                other[:6], " missing_params=%d" % len(r["params_missing"]) if r["params_missing"] else ""))
    if NOTES:
        print()
        for n in NOTES:
            print("note:", n)


if __name__ == "__main__":
    main()
