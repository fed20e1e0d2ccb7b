#!/usr/bin/python3
"""Golden numbers for nnkit's train/ packages, computed by PyTorch 1.13.

Run from the repository root with Debian's Python (torch 1.13, numpy, onnx):

    /usr/bin/python3 testdata/train/make_train_golden.py            # everything
    /usr/bin/python3 testdata/train/make_train_golden.py pieces     # only pieces.json
    /usr/bin/python3 testdata/train/make_train_golden.py curves     # only the training curves

Writes, next to this script:
  pieces.json   optimizer trajectories, LR schedules, clipping, L1 gradients and
                loss values/gradients, each piece on its own (no model)
  curves.json   per-epoch train/val loss of short full-batch-order training runs on
                the digits data set, for every optimizer x scheduler x clip/L1
                combination, starting from the exact initial weights in the fixture
                .onnx files (see curves())

Every float32 number is written as the shortest decimal that reads back to the same
float64, which converts exactly to the float32 PyTorch produced. Everything is seeded and
single-threaded: a rerun reproduces the files byte for byte.
"""

import json
import math
import os
import re
import sys
import warnings
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def f32list(t):
    """A float32 tensor/array as a flat list of Python floats (exact)."""
    a = np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float32)
    return [float(v) for v in a.reshape(-1)]


def write_json(name, obj):
    """Indented JSON with every list of numbers on one line (small, diffable)."""
    text = json.dumps(obj, indent=1)
    text = re.sub(r"\[\s*([-0-9.eE+,\s]*?)\s*\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",") if v.strip()) + "]", text)
    with open(os.path.join(HERE, name), "w") as fh:
        fh.write(text + "\n")


# ----------------------------------------------------------------------------------------------
# Pieces: optimizers, schedulers, clipping, L1, losses
# ----------------------------------------------------------------------------------------------

OPT_CASES = [
    # name, class, kwargs
    ("sgd_plain", "SGD", dict(lr=0.1)),
    ("sgd_momentum", "SGD", dict(lr=0.1, momentum=0.9)),
    ("sgd_dampening", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("sgd_nesterov", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_wd", "SGD", dict(lr=0.1, weight_decay=0.01)),
    ("sgd_all", "SGD", dict(lr=0.03, momentum=0.8, dampening=0.1, weight_decay=0.05)),
    ("sgd_nesterov_wd", "SGD", dict(lr=0.03, momentum=0.5, nesterov=True, weight_decay=0.1)),
    ("adam_default", "Adam", dict()),
    ("adam_custom", "Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adamw_default", "AdamW", dict()),
    ("adamw_custom", "AdamW", dict(lr=0.01, betas=(0.85, 0.995), eps=1e-7, weight_decay=0.1)),
    ("rmsprop_default", "RMSprop", dict()),
    ("rmsprop_centered", "RMSprop", dict(lr=0.001, centered=True)),
    ("rmsprop_momentum", "RMSprop", dict(lr=0.001, momentum=0.9)),
    ("rmsprop_all", "RMSprop", dict(lr=0.002, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.5, centered=True)),
]
OPT_STEPS = 8
OPT_LR_CHANGE = 5  # before this step the LR of the group is halved (what a scheduler does)


def opt_pieces():
    rng = np.random.default_rng(1234)
    shapes = [(3, 5), (7,)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    init[1][2] = 0.0  # exact zeros in the parameters and the gradients
    grads = []
    for t in range(OPT_STEPS):
        gs = [(rng.standard_normal(s) * (0.1 + t)).astype(np.float32) for s in shapes]
        gs[0][0, 0] = 0.0
        grads.append(gs)
    out = OrderedDict(shapes=[list(s) for s in shapes], init=[f32list(p) for p in init],
                      grads=[[f32list(g) for g in gs] for gs in grads], lr_change_step=OPT_LR_CHANGE,
                      cases=[])
    for name, cls, kw in OPT_CASES:
        params = [torch.tensor(p.copy(), requires_grad=True) for p in init]
        opt = getattr(torch.optim, cls)(params, **kw)
        traj = []
        for t in range(OPT_STEPS):
            if t == OPT_LR_CHANGE:
                for g in opt.param_groups:
                    g["lr"] = g["lr"] * 0.5
            for p, g in zip(params, grads[t]):
                p.grad = torch.tensor(g.copy())
            opt.step()
            traj.append([f32list(p) for p in params])
        d = opt.defaults
        hyper = OrderedDict((k, d[k]) for k in ("lr", "momentum", "dampening", "nesterov", "betas", "eps",
                                                "weight_decay", "alpha", "centered") if k in d)
        out["cases"].append(OrderedDict(name=name, optimizer=cls.lower(), hyper=hyper, params=traj))
    return out


SCHED_EPOCHS = 14


def sched_pieces():
    cases = []

    def run(name, make, metrics=None):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        s, desc = make(opt)
        lrs = []
        for e in range(SCHED_EPOCHS):
            opt.step()
            if metrics is not None:
                s.step(metrics[e])
            else:
                s.step()
            lrs.append(opt.param_groups[0]["lr"])
        c = OrderedDict(name=name, lr0=0.1, **desc)
        if metrics is not None:
            c["metrics"] = metrics
        c["lrs"] = lrs
        cases.append(c)

    S = torch.optim.lr_scheduler
    run("step_2_0.5", lambda o: (S.StepLR(o, step_size=2, gamma=0.5), dict(kind="step", step_size=2, gamma=0.5)))
    run("step_3_default", lambda o: (S.StepLR(o, step_size=3), dict(kind="step", step_size=3, gamma=0.1)))
    run("cosine_3", lambda o: (S.CosineAnnealingLR(o, T_max=3), dict(kind="cosine", t_max=3, eta_min=0.0)))
    run("cosine_4_min", lambda o: (S.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
                                   dict(kind="cosine", t_max=4, eta_min=0.01)))
    run("cosine_1", lambda o: (S.CosineAnnealingLR(o, T_max=1), dict(kind="cosine", t_max=1, eta_min=0.0)))
    falling = [1.0, 0.9, 0.8, 0.79995, 0.81, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.5, 0.5, 0.5]
    run("plateau_default", lambda o: (S.ReduceLROnPlateau(o), dict(kind="plateau", factor=0.1, patience=10,
                                      threshold=1e-4, cooldown=0, min_lr=0.0, eps=1e-8)), falling)
    run("plateau_p1", lambda o: (S.ReduceLROnPlateau(o, factor=0.5, patience=1),
                                 dict(kind="plateau", factor=0.5, patience=1, threshold=1e-4, cooldown=0,
                                      min_lr=0.0, eps=1e-8)), falling)
    run("plateau_cooldown", lambda o: (S.ReduceLROnPlateau(o, factor=0.5, patience=0, cooldown=2, min_lr=0.02,
                                                           threshold=0.05),
                                       dict(kind="plateau", factor=0.5, patience=0, threshold=0.05, cooldown=2,
                                            min_lr=0.02, eps=1e-8)), falling)
    run("plateau_eps", lambda o: (S.ReduceLROnPlateau(o, factor=0.9, patience=0, eps=0.009),
                                  dict(kind="plateau", factor=0.9, patience=0, threshold=1e-4, cooldown=0,
                                       min_lr=0.0, eps=0.009)), [1.0] * SCHED_EPOCHS)
    return cases


def clip_pieces():
    rng = np.random.default_rng(99)
    shapes = [(4, 6), (6,), (2, 3, 3)]
    grads = [(rng.standard_normal(s) * 2).astype(np.float32) for s in shapes]
    out = OrderedDict(shapes=[list(s) for s in shapes], grads=[f32list(g) for g in grads], norm=[], value=[])
    for max_norm in (1.0, 0.01, 100.0, 7.0):
        ps = [torch.zeros(s, requires_grad=True) for s in shapes]
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g.copy())
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        out["norm"].append(OrderedDict(max_norm=max_norm, total=float(total), grads=[f32list(p.grad) for p in ps]))
    for v in (0.5, 3.0):
        ps = [torch.zeros(s, requires_grad=True) for s in shapes]
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g.copy())
        torch.nn.utils.clip_grad_value_(ps, v)
        out["value"].append(OrderedDict(clip_value=v, grads=[f32list(p.grad) for p in ps]))
    return out


def l1_pieces():
    """Gradient of  sum(w * c) + lam * sum(|w|)  by autograd: c + lam*sign(w), sign(0) = 0."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    w[0, :] = 0.0
    c = rng.standard_normal((5, 4)).astype(np.float32)
    cases = []
    for lam in (1e-3, 0.37):
        p = torch.tensor(w.copy(), requires_grad=True)
        l1 = sum(q.abs().sum() for q in [p])
        loss = (p * torch.tensor(c)).sum() + lam * l1
        loss.backward()
        cases.append(OrderedDict(lam=lam, penalty=float(l1), grad=f32list(p.grad)))
    return OrderedDict(shape=[5, 4], w=f32list(w), base_grad=f32list(c), cases=cases)


def loss_pieces():
    rng = np.random.default_rng(5)
    n, k = 6, 4
    x = (rng.standard_normal((n, k)) * 3).astype(np.float32)
    labels = rng.integers(0, k, n).astype(np.int64)
    probs = rng.random((n, k)).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    probs = probs.astype(np.float32)
    y01 = (rng.random((n, k)) < 0.5).astype(np.float32)
    yfloat = rng.standard_normal((n, k)).astype(np.float32)
    yfloat[1, 2] = x[1, 2]  # an exact tie: L1's gradient is 0 there
    x1 = (rng.standard_normal((n, 1)) * 2).astype(np.float32)
    lab01 = rng.integers(0, 2, n).astype(np.int64)
    onehot = F.one_hot(torch.tensor(labels), k).float()
    cases = []

    def case(name, loss, out, labels=None, values=None, tensor_target=None):
        o = torch.tensor(out.copy(), requires_grad=True)
        l = loss(o, tensor_target)
        l.backward()
        c = OrderedDict(name=name, n=out.shape[0], k=out.shape[1], out=f32list(out))
        if labels is not None:
            c["labels"] = [int(v) for v in labels]
        if values is not None:
            c["values"] = f32list(values)
        c["loss"] = float(l)
        c["grad"] = f32list(o.grad)
        cases.append(c)

    case("ce_labels", F.cross_entropy, x, labels=labels, tensor_target=torch.tensor(labels))
    case("ce_probs", F.cross_entropy, x, values=probs, tensor_target=torch.tensor(probs))
    case("bce_multilabel", F.binary_cross_entropy_with_logits, x, values=y01, tensor_target=torch.tensor(y01))
    case("bce_soft", F.binary_cross_entropy_with_logits, x, values=probs, tensor_target=torch.tensor(probs))
    case("bce_binary_labels", F.binary_cross_entropy_with_logits, x1, labels=lab01,
         tensor_target=torch.tensor(lab01, dtype=torch.float32).reshape(n, 1))
    case("bce_onehot_labels", F.binary_cross_entropy_with_logits, x, labels=labels, tensor_target=onehot)
    case("mse_values", F.mse_loss, x, values=yfloat, tensor_target=torch.tensor(yfloat))
    case("mse_onehot_labels", F.mse_loss, x, labels=labels, tensor_target=onehot)
    case("mse_scalar_labels", F.mse_loss, x1, labels=labels,
         tensor_target=torch.tensor(labels, dtype=torch.float32).reshape(n, 1))
    case("l1_values", F.l1_loss, x, values=yfloat, tensor_target=torch.tensor(yfloat))
    case("l1_onehot_labels", F.l1_loss, x, labels=labels, tensor_target=onehot)
    big = x.copy()
    big[0] = [1000.0, -1000.0, 0.0, 5.0]  # log-sum-exp must not overflow
    case("ce_large_logits", F.cross_entropy, big, labels=labels, tensor_target=torch.tensor(labels))
    case("bce_large_logits", F.binary_cross_entropy_with_logits, big, values=y01, tensor_target=torch.tensor(y01))
    return cases


def pieces():
    out = OrderedDict(torch=torch.__version__, generator="testdata/train/make_train_golden.py pieces")
    out["optimizers"] = opt_pieces()
    out["schedulers"] = sched_pieces()
    out["clip"] = clip_pieces()
    out["l1"] = l1_pieces()
    out["losses"] = loss_pieces()
    write_json("pieces.json", out)
    print("pieces.json: %d optimizer cases, %d schedules, %d loss cases" % (
        len(out["optimizers"]["cases"]), len(out["schedulers"]), len(out["losses"])))


# ----------------------------------------------------------------------------------------------
# Image folders: torchvision's ImageFolder + Grayscale/Resize/ToTensor/Normalize on PIL
# ----------------------------------------------------------------------------------------------

IMAGE_FILES = [
    # split, class, file, mode, (width, height)
    ("train", "cat", "a.png", "RGB", (13, 7)),
    ("train", "cat", "b.png", "L", (8, 8)),
    ("train", "cat", "sub/c.png", "RGBA", (30, 20)),
    ("train", "dog", "d.png", "P", (5, 9)),
    ("train", "dog", "e.PNG", "RGB", (64, 3)),
    ("train", "dog", "notes.txt", None, None),  # not an image: skipped, as ImageFolder does
    ("val", "dog", "f.png", "RGB", (9, 9)),
]

IMAGE_CONFIGS = [
    # name, channels, (H, W), mean, std
    ("gray_8x8", 1, (8, 8), None, None),
    ("rgb_6x5_norm", 3, (6, 5), [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ("gray_12x12_norm", 1, (12, 12), [0.5], [0.25]),
]


def images():
    from PIL import Image
    import torchvision
    import torchvision.transforms as T
    root = os.path.join(HERE, "images")
    rng = np.random.default_rng(2024)
    for split, cls, name, mode, size in IMAGE_FILES:
        path = os.path.join(root, split, cls, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if mode is None:
            with open(path, "w") as fh:
                fh.write("not an image\n")
            continue
        w, h = size
        if mode == "P":
            im = Image.fromarray(rng.integers(0, 16, (h, w)).astype(np.uint8), "P")
            im.putpalette(rng.integers(0, 256, 16 * 3).astype(np.uint8).tolist())
        elif mode == "L":
            im = Image.fromarray(rng.integers(0, 256, (h, w)).astype(np.uint8), "L")
        else:
            c = 4 if mode == "RGBA" else 3
            im = Image.fromarray(rng.integers(0, 256, (h, w, c)).astype(np.uint8), mode)
        im.save(path, optimize=False)
    out = OrderedDict(generator="testdata/train/make_train_golden.py images", root="testdata/train/images",
                      configs=[])
    for name, ch, (h, w), mean, std in IMAGE_CONFIGS:
        tf = []
        if ch == 1:
            tf.append(T.Grayscale())
        tf += [T.Resize((h, w)), T.ToTensor()]
        if mean is not None:
            tf.append(T.Normalize(mean, std))
        cfg = OrderedDict(name=name, channels=ch, h=h, w=w, mean=mean, std=std, splits=OrderedDict())
        train_ds = None
        for split in ("train", "val"):
            ds = torchvision.datasets.ImageFolder(os.path.join(root, split), transform=T.Compose(tf))
            if split == "train":
                train_ds = ds
            samples = []
            for (path, _), (x, _) in zip(ds.samples, ds):
                # class = first folder under the split; indices are the training set's
                cls = os.path.relpath(path, os.path.join(root, split)).split(os.sep)[0]
                samples.append(OrderedDict(path=os.path.relpath(path, ROOT), label=train_ds.class_to_idx[cls],
                                           x=f32list(x)))
            cfg["splits"][split] = samples
        out["configs"].append(cfg)
    write_json("images.json", out)
    print("images.json: %d configs" % len(out["configs"]))


def main():
    what = sys.argv[1:] or ["pieces", "images", "curves"]
    if "pieces" in what:
        pieces()
    if "images" in what:
        images()
    if "curves" in what:
        curves()


# ----------------------------------------------------------------------------------------------
# Training curves: the nntrain loop, in PyTorch
# ----------------------------------------------------------------------------------------------

sys.path.insert(0, os.path.join(ROOT, "testdata"))
import make_fixtures as fx  # noqa: E402  (the fixture zoo's model classes and export helpers)

CURVE_EPOCHS = 3
CURVE_BATCH = 64
OPTIMIZERS = OrderedDict([
    ("sgd", ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4))),
    ("adam", ("Adam", dict(lr=0.01, betas=(0.9, 0.99), eps=1e-7, weight_decay=1e-4))),
    ("adamw", ("AdamW", dict(lr=0.01))),  # PyTorch's default weight decay 0.01
    ("rmsprop", ("RMSprop", dict(lr=0.002, alpha=0.95, momentum=0.5, centered=True))),
])
SCHEDULERS = OrderedDict([
    ("none", None),
    ("step", ("StepLR", dict(step_size=1, gamma=0.5))),
    ("cosine", ("CosineAnnealingLR", dict(T_max=2, eta_min=1e-4))),  # epoch 3 runs at eta_min
    # Only a 90% drop counts as better: epoch 2 reduces the LR, epoch 3 is in cooldown.
    # Every decision is checked to be far from the threshold (PLATEAU_MARGIN), so a float32
    # difference in the validation loss cannot flip it.
    ("plateau", ("ReduceLROnPlateau", dict(factor=0.2, patience=0, threshold=0.9, cooldown=1))),
])
PLATEAU_MARGIN = 0.01
REGULARIZERS = OrderedDict([
    ("none", dict()),
    ("clip", dict(clip_norm=0.5)),
    ("l1", dict(l1=1e-4)),
    ("clip+l1", dict(clip_norm=0.5, l1=1e-4)),
    ("clipvalue", dict(clip_value=0.01)),
])


class BNMLPDigits(torch.nn.Module):
    """bn_mlp_digits: Linear(64,32,bias=False)-BatchNorm1d-ReLU-Dropout(0.2)-Linear(32,10).

    No bias before the BatchNorm: such a bias has a gradient that is zero in exact arithmetic
    and float32 noise in practice, which Adam/RMSprop turn into steps of random sign (see
    cnn_digits in curves(), which has one)."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 32, bias=False)
        self.bn = torch.nn.BatchNorm1d(32)
        self.drop = torch.nn.Dropout(0.2)
        self.fc2 = torch.nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))


class CNNBNDigits(torch.nn.Module):
    """cnn_bn_digits: Conv(1,8,3,pad1,bias=False)-BatchNorm2d-ReLU-MaxPool2-Flatten-Linear(128,10)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.MaxPool2d(2)
        self.flatten = torch.nn.Flatten()
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(F.relu(self.bn(self.conv(x))))))


OWN_MODELS = OrderedDict([("bn_mlp_digits", (BNMLPDigits, [64])), ("cnn_bn_digits", (CNNBNDigits, [1, 8, 8]))])


def own_model(name):
    """Seeded construction of one of our own models (BN layers randomized like the zoo's)."""
    seed = fx.seed_of(name)
    torch.manual_seed(seed)
    return fx.randomize_norm_layers(OWN_MODELS[name][0](), seed)


def make_own_models():
    """Build, export (training mode, opset 13, no folding) and write testdata/train/<name>.onnx."""
    import onnx
    for name, (_, shape) in OWN_MODELS.items():
        model = own_model(name)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        x = torch.from_numpy(np.random.default_rng(fx.seed_of(name)).standard_normal([4] + shape).astype(np.float32))
        proto = onnx.load_from_string(fx.export_bytes(model, x, True, 13))
        fx.restore_initializers(proto, state)  # the traced export ran a BN update
        onnx.checker.check_model(proto)
        with open(os.path.join(HERE, name + ".onnx"), "wb") as fh:
            fh.write(proto.SerializeToString())


def load_from_onnx(model, path):
    """Copy every parameter and BN buffer of model from the ONNX file's initializers (by name)."""
    import onnx
    from onnx import numpy_helper
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name not in inits or tuple(inits[name].shape) != tuple(t.shape):
                raise SystemExit("%s: no initializer %s %s" % (path, name, tuple(t.shape)))
            t.copy_(torch.from_numpy(inits[name].copy()))
    return model


CURVE_MODELS = OrderedDict([
    ("mlp_digits", ("testdata/models/mlp_digits/train.onnx", None)),
    ("bn_mlp_digits", ("testdata/train/bn_mlp_digits.onnx", None)),
    ("cnn_bn_digits", ("testdata/train/cnn_bn_digits.onnx", [1, 8, 8])),
    # conv.bias feeds the BatchNorm: ill-conditioned under Adam/AdamW/RMSprop (see ILL_CONDITIONED)
    ("cnn_digits", ("testdata/models/cnn_digits/train.onnx", [1, 8, 8])),
])
# Parameters whose gradient is zero in exact arithmetic (a bias right before a BatchNorm, which
# subtracts the batch mean). In float32 the gradient is rounding noise (~1e-8) whose sign differs
# between any two implementations -- and between PyTorch builds. SGD scales it by the LR
# (harmless); Adam, AdamW and RMSprop divide it by its own running RMS and turn it into steps of
# about lr with a random sign. Training-mode outputs do not depend on such a bias (BN removes
# it), so the train loss still agrees; the eval-mode path (bias - running_mean) does not.
# The float64 replay shows PyTorch's own float32 result is that far from the exact one.
ILL_CONDITIONED = {"cnn_digits": ["conv.bias"]}


def initial_model(name):
    path = os.path.join(ROOT, CURVE_MODELS[name][0])
    if name in OWN_MODELS:
        ref = own_model(name)
        model = load_from_onnx(OWN_MODELS[name][0](), path)
    else:
        ref = fx.build(name)[0]  # the fixture's own seeded construction
        model = load_from_onnx(type(ref)(), path)
    # The weights in the .onnx must be exactly the seeded PyTorch model's.
    for (k, a), (_, b) in zip(ref.state_dict().items(), model.state_dict().items()):
        if not torch.equal(a, b):
            raise SystemExit("%s: initializer %s differs from the seeded model" % (name, k))
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0  # parity runs: nntrain --dropout 0
    return model


def train_run(name, xtr, ytr, xva, yva, opt_name, sched_name, reg, dtype=torch.float32):
    model = initial_model(name).to(dtype)
    reshape = CURVE_MODELS[name][1]
    cls, kw = OPTIMIZERS[opt_name]
    opt = getattr(torch.optim, cls)(model.parameters(), **kw)
    sched = None
    if SCHEDULERS[sched_name] is not None:
        scls, skw = SCHEDULERS[sched_name]
        sched = getattr(torch.optim.lr_scheduler, scls)(opt, **skw)
    lossf = torch.nn.CrossEntropyLoss()
    def prep(a):
        t = torch.from_numpy(a).to(dtype)
        return t.reshape([t.shape[0]] + reshape) if reshape else t

    xv, yv = prep(xva), torch.from_numpy(yva)
    rec = OrderedDict((k, []) for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm"))
    for _ in range(CURVE_EPOCHS):
        model.train()
        lr = opt.param_groups[0]["lr"]
        tot, correct, norms = 0.0, 0, []
        for s in range(0, len(xtr), CURVE_BATCH):
            xb, yb = prep(xtr[s:s + CURVE_BATCH]), torch.from_numpy(ytr[s:s + CURVE_BATCH])
            opt.zero_grad()
            out = model(xb)
            loss = lossf(out, yb)
            total = loss
            if reg.get("l1"):
                total = loss + reg["l1"] * sum(p.abs().sum() for p in model.parameters())
            total.backward()
            if reg.get("clip_norm"):
                norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), reg["clip_norm"])))
            else:
                norms.append(float(torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))))
            if reg.get("clip_value"):
                torch.nn.utils.clip_grad_value_(model.parameters(), reg["clip_value"])
            opt.step()
            tot += loss.item() * len(yb)
            correct += int((out.argmax(1) == yb).sum())
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            vl = lossf(logits, yv).item()
            va = float((logits.argmax(1) == yv).float().mean())
        if sched is not None:
            if sched_name == "plateau":
                if sched.best != float("inf") and dtype == torch.float32:
                    edge = sched.best * (1 - sched.threshold)
                    assert abs(vl - edge) > PLATEAU_MARGIN * edge, (name, opt_name, reg, vl, edge)
                sched.step(vl)
            else:
                sched.step()
        rec["train_loss"].append(tot / len(xtr))
        rec["train_acc"].append(correct / len(xtr))
        rec["val_loss"].append(vl)
        rec["val_acc"].append(va)
        rec["lr"].append(lr)
        rec["grad_norm"].append(float(np.mean(norms)))
    return rec


def curves():
    make_own_models()
    d = np.load(os.path.join(ROOT, "testdata/data/digits/train.npz"))
    xtr, ytr = d["x"], d["y"]
    d = np.load(os.path.join(ROOT, "testdata/data/digits/val.npz"))
    xva, yva = d["x"], d["y"]
    out = OrderedDict(generator="testdata/train/make_train_golden.py curves", torch=torch.__version__,
                      note="every run also replayed in float64 (train_loss_f64, val_loss_f64); see ILL_CONDITIONED",
                      epochs=CURVE_EPOCHS, batch_size=CURVE_BATCH, shuffle=False, loss="ce",
                      data="testdata/data/digits (train.npz, val.npz)",
                      models=OrderedDict((k, OrderedDict(path=v[0], reshape=v[1])) for k, v in CURVE_MODELS.items()),
                      optimizers=OrderedDict((k, OrderedDict(cls=c, **{a: (list(b) if isinstance(b, tuple) else b)
                                                                       for a, b in kw.items()}))
                                             for k, (c, kw) in OPTIMIZERS.items()),
                      schedulers=OrderedDict((k, None if v is None else OrderedDict(cls=v[0], **v[1]))
                                             for k, v in SCHEDULERS.items()),
                      regularizers=REGULARIZERS, ill_conditioned=ILL_CONDITIONED, runs=[])
    for name in CURVE_MODELS:
        for opt_name in OPTIMIZERS:
            for sched_name in SCHEDULERS:
                for reg_name, reg in REGULARIZERS.items():
                    if reg_name == "clipvalue" and sched_name != "none":
                        continue  # clip_grad_value_ once per optimizer is enough
                    rec = train_run(name, xtr, ytr, xva, yva, opt_name, sched_name, reg)
                    run = OrderedDict(model=name, optimizer=opt_name, scheduler=sched_name, reg=reg_name)
                    run.update(rec)
                    # The same run in float64: how far PyTorch's own float32 result is from exact.
                    r64 = train_run(name, xtr, ytr, xva, yva, opt_name, sched_name, reg, torch.float64)
                    run["train_loss_f64"] = r64["train_loss"]
                    run["val_loss_f64"] = r64["val_loss"]
                    out["runs"].append(run)
        print("%s: %d runs, e.g. sgd/none/none val loss %s" % (
            name, sum(r["model"] == name for r in out["runs"]),
            ["%.4f" % v for v in next(r for r in out["runs"] if r["model"] == name)["val_loss"]]))
    write_json("curves.json", out)


if __name__ == "__main__":
    main()
