#!/usr/bin/python3
"""Executor speed against PyTorch, measured side by side in one invocation.

    /usr/bin/python3 testdata/exec/bench_torch.py [--seconds 3] [--no-go]

Times, with torch.set_num_threads(2) (baselines.md):
  * the three training baselines (batch 64, random data): the baseline loop
    zero_grad / forward / CrossEntropyLoss / backward / clip_grad_norm_(1.0) / Adam.step, and
    the same step the Go benchmark times (forward, backward of a fixed output gradient, plain SGD);
  * SGEMM 256³, 512³, 1024³ (torch.mm, float32);
then runs `go test -run XXX -bench 'TrainMLP$|TrainBNMLP$|TrainCNN$|SGEMM' -benchmem ./exec/` and prints Go/PyTorch ratios.
Absolute numbers drift with machine load; the ratios of one run are what to quote. On a shared
machine the two sides are measured in --repeat interleaved rounds (PyTorch, then Go, then PyTorch
...) and every figure is the best of its rounds, so that both get the same chance of a quiet moment.
"""

import argparse
import os
import re
import subprocess
import sys
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10)), [784]


def bn_mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(256, 10)), [784]


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10)), [1, 28, 28]


def timed(step, seconds):
    for _ in range(5):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def train_rate(ctor, seconds, baseline):
    torch.manual_seed(0)
    model, shape = ctor()
    model.train()
    x = torch.randn([64] + shape)
    y = torch.randint(0, 10, (64,))
    g = torch.randn(64, 10) / 64
    if baseline:
        opt = torch.optim.Adam(model.parameters())
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
    else:
        params = list(model.parameters())

        def step():
            for p in params:
                p.grad = None
            model(x).backward(g)
            with torch.no_grad():
                for p in params:
                    p.sub_(1e-4 * p.grad)
    return 64 * timed(step, seconds)


def gemm_rate(n, seconds):
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    return 2 * n ** 3 * timed(lambda: torch.mm(a, b, out=c), seconds) / 1e9


def go_bench():
    out = subprocess.run(["go", "test", "-run", "XXX", "-bench", "TrainMLP$|TrainBNMLP$|TrainCNN$|SGEMM", "-benchmem", "./exec/"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        m = re.match(r"Benchmark(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op(.*)", line)
        if not m:
            continue
        metrics = dict((u, float(v)) for v, u in re.findall(r"([\d.]+) (\S+)", m.group(3)))
        res[m.group(1)] = metrics
    return res, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds; best of each is reported")
    ap.add_argument("--no-go", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    print("PyTorch %s, %d threads; best of %d interleaved rounds" % (torch.__version__, torch.get_num_threads(), a.repeat))
    models = [("TrainMLP", mlp), ("TrainBNMLP", bn_mlp), ("TrainCNN", cnn)]
    best = {}

    def keep(key, v):
        best[key] = max(best.get(key, 0.0), v)

    raw = ""
    for r in range(a.repeat):
        for name, ctor in models:
            keep(("torch base", name), train_rate(ctor, a.seconds, True))
            keep(("torch same", name), train_rate(ctor, a.seconds, False))
        for n in (256, 512, 1024):
            keep(("torch", "SGEMM/%d" % n), gemm_rate(n, a.seconds / 2))
        if not a.no_go:
            res, raw = go_bench()
            for name, m in res.items():
                for unit in ("samples/s", "GFLOPS"):
                    if unit in m:
                        keep(("go", name), m[unit])
                if "allocs/op" in m:
                    best[("allocs", name)] = m["allocs/op"]
        print("round %d done" % (r + 1), file=sys.stderr)
    if raw:
        print(raw.strip())
        print()
    print("%-11s %12s %12s %12s %10s %10s %8s" % ("", "go", "torch base", "torch same", "go/base", "go/same", "allocs"))
    for name, _ in models:
        g = best.get(("go", name), float("nan"))
        b, s_ = best[("torch base", name)], best[("torch same", name)]
        print("%-11s %12.0f %12.0f %12.0f %10.2f %10.2f %8.0f" % (name, g, b, s_, g / b, g / s_, best.get(("allocs", name), float("nan"))))
    for n in (256, 512, 1024):
        g = best.get(("go", "SGEMM/exec/%d" % n), float("nan"))
        t = best[("torch", "SGEMM/%d" % n)]
        print("SGEMM %-5d %12.1f %12.1f %12s %10.2f" % (n, g, t, "", g / t))
    print("(samples/s for training steps, GFLOPS for SGEMM; 'torch base' is baselines.md's loop with "
          "CrossEntropyLoss + clip_grad_norm_ + Adam, 'torch same' the Go benchmark's step: fixed output "
          "gradient + SGD)")


if __name__ == "__main__":
    main()
