#!/usr/bin/python3
"""Training-step speed, nnkit vs PyTorch, measured side by side in one invocation.

    /usr/bin/python3 testdata/train/bench_train.py

Times PyTorch 1.13 (torch.set_num_threads(2)) on the workloads of BenchmarkTrainStep in
train/bench_test.go -- zero_grad / forward / CrossEntropyLoss / backward / clip_grad_norm_(1.0) /
Adam.step on a fixed random batch of 64, after 5 warm-up steps, for ~2 s -- then runs the Go
benchmark and prints samples/s and the ratio.
"""

import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "testdata"))
import make_fixtures as fx  # noqa: E402

WORKLOADS = [("dropoutnet", [784]), ("robustnet", [784]), ("small_cnn", [1, 28, 28])]


def torch_speed(name, shape, seconds=2.0):
    torch.set_num_threads(2)
    model = fx.build(name)[0].train()
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal([64] + shape).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 10, 64))
    opt = torch.optim.Adam(model.parameters())
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        lossf(model(x), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(5):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * 64 / (time.perf_counter() - t0)


def go_speed():
    out = subprocess.run(["go", "test", "./train", "-run", "^$", "-bench", "TrainStep", "-benchtime", "2s"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"TrainStep/(\w+)-\d+\s.*?([\d.]+) samples/s", out)}


def main():
    pt = {name: torch_speed(name, shape) for name, shape in WORKLOADS}
    go = go_speed()
    print("%-12s %14s %14s %8s" % ("workload", "PyTorch /s", "nnkit /s", "ratio"))
    for name, _ in WORKLOADS:
        print("%-12s %14.0f %14.0f %8.2f" % (name, pt[name], go.get(name, float("nan")), go.get(name, float("nan")) / pt[name]))


if __name__ == "__main__":
    main()
