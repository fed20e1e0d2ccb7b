#!/usr/bin/python3
"""Build nnlint's real-architecture corpus (issue 8): torchvision and torch.nn architectures with
their own random initialization (fixed seeds), exported in training mode (TrainingMode.TRAINING,
no constant folding) and in eval mode (torch.onnx.export defaults), at small input sizes.

    /usr/bin/python3 testdata/lint/realarch/make_corpus.py OUTDIR [name ...]

writes OUTDIR/<name>.train.onnx and OUTDIR/<name>.eval.onnx.  The full corpus is ~1.2 GB and is
not committed; `testdata/lint/realarch/check_corpus.sh OUTDIR` lints it and compares with
expected.txt.  A small subset with reduced widths (`--small`, names ending in _s) is committed
under testdata/lint/realarch/ and checked by lint/rules/realarch_test.go without Python.

Everything is seeded (torch.manual_seed(crc32(name))), torch.set_num_threads(1).
"""

import io
import os
import sys
import warnings
import zlib

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torchvision.models as tvm

warnings.filterwarnings("ignore")
torch.set_num_threads(1)


def seed_of(name):
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class LSTMNet(nn.Module):
    def __init__(self, vocab=1000, emb=64, hidden=128, classes=10):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(self.emb(x))
        return self.fc(out[:, -1])


class TransformerNet(nn.Module):
    def __init__(self, d=64, heads=4, layers=4, classes=10, dropout=0.1):
        super().__init__()
        self.inp = nn.Linear(16, d)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=dropout, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(self.inp(x)).mean(1))


class GNNet(nn.Module):
    """Conv(bias) -> GroupNorm(groups < channels) -> ReLU blocks: the bias is NOT cancelled."""

    def __init__(self, width=32, groups=8, blocks=4, classes=10):
        super().__init__()
        layers, c = [], 3
        for _ in range(blocks):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=True), nn.GroupNorm(groups, width), nn.ReLU()]
            c = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


class DropLinBN(nn.Module):
    """Dropout -> Linear -> BatchNorm1d (Li et al. 2019's second case), `n` blocks."""

    def __init__(self, p, width=256, n=3, classes=10):
        super().__init__()
        layers = [nn.Linear(64, width), nn.BatchNorm1d(width), nn.ReLU()]
        for _ in range(n):
            layers += [nn.Dropout(p), nn.Linear(width, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.body(x))


class DropConvBN(nn.Module):
    """Conv-BN-ReLU-Dropout -> Conv -> BN: dropout before BatchNorm through a convolution."""

    def __init__(self, p, width=32, classes=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.Dropout(p),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.Dropout(p),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


def gn(c):
    return nn.GroupNorm(max(1, c // 16), c)


# Stochastic depth (Bernoulli) has no ONNX export in torch 1.13: EfficientNet, ConvNeXt and Swin
# are built with stochastic_depth_prob=0 (the block is then the identity, as in eval).
# name: (constructor, input shape without batch, integer input?)
FULL = {
    "alexnet": (lambda: tvm.alexnet(num_classes=10), (3, 224, 224)),  # adaptive pool needs 6×6 features
    "vgg11_bn": (lambda: tvm.vgg11_bn(num_classes=10), (3, 224, 224)),  # needs 7×7 features
    "squeezenet1_1": (lambda: tvm.squeezenet1_1(num_classes=10), (3, 64, 64)),
    "resnet18": (lambda: tvm.resnet18(num_classes=10), (3, 32, 32)),
    "resnet34": (lambda: tvm.resnet34(num_classes=10), (3, 32, 32)),
    "resnet50": (lambda: tvm.resnet50(num_classes=10), (3, 32, 32)),
    "resnet50_224": (lambda: tvm.resnet50(), (3, 224, 224)),  # the probe's scaling benchmark
    "resnet18_zir": (lambda: tvm.resnet18(num_classes=10, zero_init_residual=True), (3, 32, 32)),
    "resnet18_gn": (lambda: tvm.resnet18(num_classes=10, norm_layer=gn), (3, 32, 32)),
    "resnext50_32x4d": (lambda: tvm.resnext50_32x4d(num_classes=10), (3, 32, 32)),
    "densenet121": (lambda: tvm.densenet121(num_classes=10), (3, 32, 32)),
    "googlenet": (lambda: tvm.googlenet(num_classes=10, aux_logits=False, init_weights=True), (3, 64, 64)),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(num_classes=10), (3, 32, 32)),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(num_classes=10), (3, 32, 32)),
    "shufflenet_v2_x0_5": (lambda: tvm.shufflenet_v2_x0_5(num_classes=10), (3, 32, 32)),
    "mnasnet0_5": (lambda: tvm.mnasnet0_5(num_classes=10), (3, 32, 32)),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(num_classes=10, stochastic_depth_prob=0.0), (3, 32, 32)),
    "regnet_y_400mf": (lambda: tvm.regnet_y_400mf(num_classes=10), (3, 32, 32)),
    "convnext_tiny": (lambda: tvm.convnext_tiny(num_classes=10, stochastic_depth_prob=0.0), (3, 32, 32)),
    "vit_b_16": (lambda: tvm.vit_b_16(num_classes=10, image_size=32), (3, 32, 32)),
    # swin_t's configuration; swin_t() itself fixes stochastic_depth_prob = 0.2
    "swin_t": (lambda: tvm.SwinTransformer(patch_size=[4, 4], embed_dim=96, depths=[2, 2, 6, 2],
                                           num_heads=[3, 6, 12, 24], window_size=[7, 7],
                                           stochastic_depth_prob=0.0, num_classes=10), (3, 32, 32)),
    "transformer": (lambda: TransformerNet(), (12, 16)),
    "lstm": (lambda: LSTMNet(), ("int", 12)),
    "gn_convnet": (lambda: GNNet(), (3, 16, 16)),
    "drop_lin_bn_p5": (lambda: DropLinBN(0.5), (64,)),
    "drop_lin_bn_p1": (lambda: DropLinBN(0.1), (64,)),
    "drop_conv_bn_p5": (lambda: DropConvBN(0.5), (3, 16, 16)),
}

class MiniAlexNet(nn.Module):
    """AlexNet's layout (features, adaptive pool, classifier with Dropout at classifier.0 and .3)
    at 1/16 of its widths: its eval export has no BatchNorm and no Dropout left."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(4, 12, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(12, 24, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(24, 16, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(16 * 4, 64), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(64, 64), nn.ReLU(inplace=True), nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mini_squeezenet(classes=10):
    """SqueezeNet 1.1's layout (8 Fire modules, 26 convs, no normalization) at 1/8 of its widths,
    with torchvision's init (kaiming_uniform_, final conv N(0, 0.01))."""
    from torchvision.models.squeezenet import Fire
    m = tvm.squeezenet1_1(num_classes=classes)
    m.features = nn.Sequential(
        nn.Conv2d(3, 8, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(8, 2, 8, 8), Fire(16, 2, 8, 8), nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(16, 4, 16, 16), Fire(32, 4, 16, 16), nn.MaxPool2d(3, 2, ceil_mode=True),
        Fire(32, 6, 24, 24), Fire(48, 6, 24, 24), Fire(48, 8, 32, 32), Fire(64, 8, 32, 32))
    m.classifier[1] = nn.Conv2d(64, classes, 1)
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            if mod is m.classifier[1]:
                nn.init.normal_(mod.weight, mean=0.0, std=0.01)
            else:
                nn.init.kaiming_uniform_(mod.weight)
            nn.init.constant_(mod.bias, 0)
    return m


class TinyResNetZIR(nn.Module):
    """Two torchvision BasicBlocks of 8 channels built like resnet18(zero_init_residual=True):
    each block's last BatchNorm weight is 0, which the eval export folds into a zero Conv."""

    def __init__(self, classes=10):
        super().__init__()
        from torchvision.models.resnet import BasicBlock
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        self.fc = nn.Linear(8, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for b in self.blocks:
            nn.init.constant_(b.bn2.weight, 0)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


# Committed subset (testdata/lint/realarch/*.onnx, checked by lint/rules/realarch_test.go):
# reduced widths so that all files together stay a few hundred KB.
SMALL = {
    "squeezenet_s": (mini_squeezenet, (3, 64, 64)),
    "vit_s": (lambda: tvm.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                            hidden_dim=16, mlp_dim=32, num_classes=10), (3, 32, 32)),
    "swin_s": (lambda: tvm.SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1], num_heads=[1, 2],
                                           window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=10),
               (3, 32, 32)),
    "resnet_zir_s": (TinyResNetZIR, (3, 8, 8)),
    "alexnet_s": (MiniAlexNet, (3, 112, 112)),
    "gn_convnet_s": (lambda: GNNet(width=16, groups=4, blocks=3), (3, 16, 16)),
    "gn_instance_s": (lambda: GNNet(width=8, groups=8, blocks=2), (3, 8, 8)),  # groups == channels
    "drop_lin_bn_s": (lambda: DropLinBN(0.5, width=64, n=2), (64,)),
    "drop_lin_bn_p1_s": (lambda: DropLinBN(0.1, width=64, n=2), (64,)),
}


def export(model, shape, path, train):
    if shape[0] == "int":
        x = torch.randint(0, 1000, (2,) + tuple(shape[1:]))
    else:
        x = torch.randn(2, *shape)
    state = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    f = io.BytesIO()
    if train:
        model.train()
        torch.onnx.export(model, x, f, opset_version=13, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    else:
        model.eval()
        torch.onnx.export(model, x, f, opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    m = onnx.load_from_string(f.getvalue())
    if train:  # undo the traced forward's running-stat update
        for init in m.graph.initializer:
            if init.name in state and ("running_mean" in init.name or "running_var" in init.name):
                init.CopyFrom(numpy_helper.from_array(state[init.name].astype(np.float32), init.name))
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        out.write(m.SerializeToString())
    os.replace(tmp, path)


def main(argv):
    small = "--small" in argv
    args = [a for a in argv[1:] if a != "--small"]
    if not args:
        sys.exit(__doc__)
    out, names = args[0], args[1:]
    table = SMALL if small else FULL
    os.makedirs(out, exist_ok=True)
    for name in names or list(table):
        ctor, shape = table[name]
        for train in (True, False):
            torch.manual_seed(seed_of(name))
            model = ctor()
            path = os.path.join(out, "%s.%s.onnx" % (name, "train" if train else "eval"))
            try:
                export(model, shape, path, train)
                print("%-40s %10d bytes" % (path, os.path.getsize(path)), flush=True)
            except Exception as e:  # an architecture the exporter cannot handle: say so, go on
                print("%-40s FAILED: %s" % (path, str(e).splitlines()[0] if str(e) else type(e).__name__), flush=True)


if __name__ == "__main__":
    main(sys.argv)
