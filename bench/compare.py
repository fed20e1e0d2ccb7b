#!/usr/bin/python3
"""nnkit against PyTorch 1.13 on this machine, side by side in one invocation.

    /usr/bin/python3 bench/compare.py [--rounds 3] [--seconds 2] [--only train|predict|gemm] [--no-224]

Each round runs, one after the other: PyTorch with libgomp as shipped (OMP_WAIT_POLICY unset),
PyTorch with OMP_WAIT_POLICY=PASSIVE (2-4x faster on small nets here, slower on ResNet/MobileNet),
and nnkit's Go benchmarks (test binaries built once, before the first round). Every figure is the
median of its rounds; a ratio is nnkit over the faster PyTorch configuration for that workload.
PyTorch uses torch.set_num_threads(2); nnkit uses every CPU (2 here).

Workloads (identical on both sides):
  * training steps on random data: zero_grad / forward (train mode) / CrossEntropyLoss /
    backward / clip_grad_norm_(1.0) / Adam.step, after 5 warm-up steps -- train/bench_test.go's
    BenchmarkTrainStep against the testdata/models fixtures as make_fixtures.py builds them, and
    torchvision's vgg11_bn (batch 8) and alexnet (batch 32) at 224x224 with 10 classes, exported
    in training mode into the temporary directory (hundreds of MB: not fixtures; --no-224 leaves
    them out of training);
  * inference (torch: eval mode under no_grad; nnkit: exec.Options{Inference: true}, as
    `nntrain predict` runs) at batch 1 and 32 of the ResNet-18 and MobileNetV2 fixtures (32x32)
    and of torchvision's ResNet-50 (224x224, 1000 classes, exported here into a temporary
    directory) -- exec/bench_test.go's BenchmarkPredict, given every workload's ONNX file and
    input through -predict.workloads; ONNX Runtime (npm onnxruntime-node, 2 intra-op threads,
    bench/ort_predict.js) runs the same files on the same input arrays as the anchor;
  * peak RSS of a process training one workload for 5 steps (once, after the rounds; the Go
    test binary against python3 with torch imported);
  * SGEMM C = op(A) op(B) on the nets' shapes, all four transpose combinations among them --
    exec/bench_test.go's BenchmarkSGEMM (package sgemm, and gonum's Sgemm, the fallback)
    against torch.mm on transposed views where op is a transpose.

Absolute numbers swing with load on a shared machine; quote the ratios of one invocation.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name in BenchmarkTrainStep, fixture, input shape, batch
TRAIN = [
    ("dropoutnet", "dropoutnet", [784], 64),
    ("robustnet", "robustnet", [784], 64),
    ("robustnet_b256", "robustnet", [784], 256),
    ("small_cnn", "small_cnn", [1, 28, 28], 64),
    ("resnet18", "resnet18", [3, 32, 32], 16),
    ("mobilenet_v2", "mobilenet_v2", [3, 32, 32], 16),
    # torchvision at 224x224 ("tv:" + constructor, 10 classes); batch sizes as in
    # train/bench_test.go: what this 24 GB, 2-core machine trains in about a second per step
    ("vgg11_bn", "tv:vgg11_bn", [3, 224, 224], 8),
    ("alexnet", "tv:alexnet", [3, 224, 224], 32),
]


def train_list(a):
    return [w for w in TRAIN if not (a.no_224 and w[1].startswith("tv:"))]


def train_model(fixture):
    """The training-mode PyTorch module of a TRAIN entry."""
    import torch
    if fixture.startswith("tv:"):
        import torchvision
        torch.manual_seed(0)
        return getattr(torchvision.models, fixture[3:])(num_classes=10).train()
    sys.path.insert(0, os.path.join(ROOT, "testdata"))
    import make_fixtures as fx
    return fx.build(fixture)[0].train()


def export_train_worker(a):
    """Exports the "tv:" workloads of TRAIN to a.export_train/<name>/train.onnx as make_fixtures.py
    exports the fixtures (training mode, opset 13, dynamic batch), for BenchmarkTrainStep; in a
    child process, as export_worker."""
    import torch
    sys.path.insert(0, os.path.join(ROOT, "testdata"))
    import make_fixtures as fx
    for name, fixture, shape, _ in TRAIN:
        if fixture.startswith("tv:"):
            os.makedirs(os.path.join(a.export_train, name), exist_ok=True)
            data = fx.export_bytes(train_model(fixture), torch.randn([2] + shape), True, fx.OPSET)
            with open(os.path.join(a.export_train, name, "train.onnx"), "wb") as f:
                f.write(data)


def go_env(a):
    """The Go benchmarks' environment: NNKIT_BENCH_MODELS names the exported training models."""
    env = dict(os.environ)
    env.pop("NNKIT_BENCH_MODELS", None)
    if a.zoo_dir:
        env["NNKIT_BENCH_MODELS"] = a.zoo_dir
    return env

# inference: name in BenchmarkPredict, model, batch, per-sample input shape. A model is a
# testdata/models fixture (its eval.onnx.gz) or "tv:<torchvision constructor>" (eval mode,
# exported with do_constant_folding like make_fixtures.py's eval.onnx, so BatchNorm is folded).
PREDICT = [
    ("resnet18_b1", "resnet18", 1, [3, 32, 32]),
    ("resnet18_b32", "resnet18", 32, [3, 32, 32]),
    ("mobilenet_v2_b1", "mobilenet_v2", 1, [3, 32, 32]),
    ("mobilenet_v2_b32", "mobilenet_v2", 32, [3, 32, 32]),
    ("resnet50_b1", "tv:resnet50", 1, [3, 224, 224]),
    ("resnet50_b32", "tv:resnet50", 32, [3, 224, 224]),
]
ORT_NODE_PATH = "/work/ort/node_modules"

# kept in sync with gemmShapes in exec/bench_test.go: name, tA, tB, m, n, k
GEMM = [
    ("fc784x512/fwd", False, True, 64, 512, 784),
    ("fc784x512/dX", False, False, 64, 784, 512),
    ("fc784x512/dW", True, False, 512, 784, 64),
    ("fc3136x128/fwd", False, True, 64, 128, 3136),
    ("fc3136x128/dW", True, False, 128, 3136, 64),
    ("conv32x64/fwd", False, False, 64, 12544, 288),
    ("conv32x64/dW", False, True, 64, 288, 12544),
    ("conv32x64/dcol", True, False, 288, 12544, 64),
    ("square256/TT", True, True, 256, 256, 256),
    ("square512", False, False, 512, 512, 512),
    ("square1024", False, False, 1024, 1024, 1024),
]


def timed(step, seconds, warm=5):
    for _ in range(warm):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 3:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def torch_worker(a):
    """Runs in a child process so that OMP_WAIT_POLICY takes effect; prints JSON."""
    import numpy as np
    import torch
    sys.path.insert(0, os.path.join(ROOT, "testdata"))
    import make_fixtures as fx
    torch.set_num_threads(2)
    out = {}
    if a.only in (None, "train"):
        for name, fixture, shape, batch in train_list(a):
            model = train_model(fixture)
            rng = np.random.default_rng(1)
            x = torch.from_numpy(rng.standard_normal([batch] + shape).astype(np.float32))
            y = torch.from_numpy(rng.integers(0, 10, batch))
            opt = torch.optim.Adam(model.parameters())
            lossf = torch.nn.CrossEntropyLoss()

            def step():
                opt.zero_grad()
                lossf(model(x), y).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            out["train/" + name] = batch * timed(step, a.seconds)
    if a.only in (None, "predict"):
        for name, model_name, batch, shape in PREDICT:
            model = torch_model(model_name).eval()
            x = torch.from_numpy(predict_input(a.work, name, batch, shape))

            def infer():
                with torch.no_grad():
                    model(x)
            out["predict/" + name] = batch * timed(infer, a.seconds / 2, warm=predict_warmups(shape, batch))
    if a.only in (None, "gemm"):
        for name, ta, tb, m, n, k in GEMM:
            A = torch.randn(k, m).t() if ta else torch.randn(m, k)
            B = torch.randn(n, k).t() if tb else torch.randn(k, n)
            C = torch.empty(m, n)
            out["gemm/" + name] = 2 * m * n * k * timed(lambda: torch.mm(A, B, out=C), a.seconds / 4) / 1e9
    print(json.dumps(out))


def torch_model(model_name):
    """The PyTorch module of an inference workload (the one its ONNX file was exported from)."""
    import torch
    import torchvision
    if model_name.startswith("tv:"):
        torch.manual_seed(0)
        return getattr(torchvision.models, model_name[3:])()
    sys.path.insert(0, os.path.join(ROOT, "testdata"))
    import make_fixtures as fx
    return fx.build(model_name)[0]


def predict_warmups(shape, batch):
    """Warm-up runs before timing: 5, or 1 where one run takes seconds (ResNet-50 224x224 b32)."""
    return 1 if shape[-1] * shape[-2] * batch > 224 * 224 * 4 else 5


def predict_input(work, name, batch, shape):
    """The input array of an inference workload, as written by prepare_predict."""
    import numpy as np
    return np.fromfile(os.path.join(work, name + ".bin"), dtype="<f4").reshape([batch] + shape)


def export_worker(a):
    """Exports each "tv:" model of PREDICT to a.work/<name>.onnx (in a child process, so that the
    parent never imports torch before measuring peak RSS)."""
    import torch
    torch.set_num_threads(2)
    for model_name in sorted({m for _, m, _, _ in PREDICT if m.startswith("tv:")}):
        model = torch_model(model_name).eval()
        shape = [w[3] for w in PREDICT if w[1] == model_name][0]
        torch.onnx.export(model, torch.zeros([1] + shape), os.path.join(a.work, model_name[3:] + ".onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)


def prepare_predict(work):
    """Writes every inference workload's ONNX file and input array (float32, numpy's
    default_rng(1) standard normal) into work; returns {name: (onnx path, input path, shape)}."""
    import gzip
    import shutil
    import numpy as np
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--export", "--work", work],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("exporting the torchvision models failed:\n" + p.stderr)
    res = {}
    for name, model_name, batch, shape in PREDICT:
        if model_name.startswith("tv:"):
            onnx_path = os.path.join(work, model_name[3:] + ".onnx")
        else:
            onnx_path = os.path.join(work, model_name + ".onnx")
            if not os.path.exists(onnx_path):
                with gzip.open(os.path.join(ROOT, "testdata", "models", model_name, "eval.onnx.gz")) as src, \
                        open(onnx_path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        x = np.random.default_rng(1).standard_normal([batch] + shape).astype("<f4")
        in_path = os.path.join(work, name + ".bin")
        x.tofile(in_path)
        res[name] = (onnx_path, in_path, [batch] + shape)
    return res


def ort_round(a, predict):
    """ONNX Runtime on every inference workload; {} (and a note) if onnxruntime-node is missing."""
    out = {}
    env = dict(os.environ, NODE_PATH=ORT_NODE_PATH)
    for name, _, batch, shape in PREDICT:
        onnx_path, in_path, dims = predict[name]
        env["WARMUP"] = str(predict_warmups(shape, batch))
        p = subprocess.run(["node", os.path.join(HERE, "ort_predict.js"), onnx_path, in_path, ",".join(map(str, dims)),
                            str(a.seconds / 2)], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            print("ONNX Runtime on %s failed: %s" % (name, p.stderr.strip()), file=sys.stderr)
            continue
        out["predict/" + name] = json.loads(p.stdout.strip().splitlines()[-1])["samples_per_s"]
    return out


def torch_percore_worker(a):
    """torch.mm and inference on one thread (OPENBLAS_NUM_THREADS=1 set by the parent), in GFLOPS
    or samples per second of process CPU time: the per-core speed, which load from other processes
    does not distort."""
    import torch
    torch.set_num_threads(1)
    out = {}
    if a.only in (None, "predict"):
        for name, model_name, batch, shape in PREDICT:
            model = torch_model(model_name).eval()
            x = torch.from_numpy(predict_input(a.work, name, batch, shape))
            with torch.no_grad():
                for _ in range(predict_warmups(shape, batch)):
                    model(x)
                it, t0 = 0, time.process_time()
                while time.process_time() - t0 < a.seconds / 4 or it < 2:
                    model(x)
                    it += 1
            out["predict/" + name] = batch * it / (time.process_time() - t0)
    if a.only not in (None, "gemm"):
        print(json.dumps(out))
        return
    for name, ta, tb, m, n, k in GEMM:
        A = torch.randn(k, m).t() if ta else torch.randn(m, k)
        B = torch.randn(n, k).t() if tb else torch.randn(k, n)
        C = torch.empty(m, n)
        for _ in range(3):
            torch.mm(A, B, out=C)
        it, t0 = 0, time.process_time()
        while time.process_time() - t0 < a.seconds / 4 or it < 3:
            torch.mm(A, B, out=C)
            it += 1
        out["gemm/" + name] = 2 * m * n * k * it / (time.process_time() - t0) / 1e9
    print(json.dumps(out))


def torch_rss_worker(a):
    """Five training steps of one workload (a.rss_workload) in this process, for its peak RSS."""
    import numpy as np
    import torch
    torch.set_num_threads(2)
    name, fixture, shape, batch = [w for w in TRAIN if w[0] == a.rss_workload][0]
    model = train_model(fixture)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal([batch] + shape).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch))
    opt = torch.optim.Adam(model.parameters())
    lossf = torch.nn.CrossEntropyLoss()
    for _ in range(5):
        opt.zero_grad()
        lossf(model(x), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()


def peak_rss(cmd, cwd, env=None):
    """Runs cmd as a child and returns its peak resident set in MiB (wait4's ru_maxrss)."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), p.stderr.read().decode()))
    return ru.ru_maxrss / 1024


def measure_rss(a, bins):
    """Peak RSS per training workload, nnkit and torch. Must run before this process imports torch:
    a child's ru_maxrss also counts the parent's pages it shares between fork and exec."""
    res = []
    for name, _, _, _ in train_list(a):
        g = peak_rss([bins["train"], "-test.run", "^$", "-test.bench", "TrainStep/%s$" % name, "-test.benchtime", "5x"],
                     os.path.join(ROOT, "train"), go_env(a))
        t = peak_rss([sys.executable, os.path.abspath(__file__), "--torch-rss", name], ROOT)
        res.append((name, g, t))
    return res


def rss_table(res):
    print()
    print("peak RSS of a process that trains one workload (5 steps; MiB)")
    print("%-16s %10s %10s %8s" % ("", "nnkit", "torch", "ratio"))
    for name, g, t in res:
        print("%-16s %10.0f %10.0f %7.2fx" % (name, g, t, g / t))


def torch_round(a, policy, percore=False):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--seconds", str(a.seconds)]
    if percore:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"
        cmd = [sys.executable, os.path.abspath(__file__), "--torch-percore", "--seconds", str(a.seconds)]
    if a.only:
        cmd += ["--only", a.only]
    if a.work:
        cmd += ["--work", a.work]
    if a.no_224:
        cmd += ["--no-224"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def parse_go(text, prefix, unit):
    res = {}
    for line in text.splitlines():
        m = re.match(r"Benchmark\w+/(\S+?)-\d+\s+\d+\s+[\d.]+ ns/op.*?([\d.]+) " + re.escape(unit), line)
        if m:
            res[prefix + m.group(1)] = float(m.group(2))
    return res


def go_round(a, bins, predict):
    out = {}
    if a.only in (None, "train"):
        p = subprocess.run([bins["train"], "-test.run", "^$", "-test.bench", "TrainStep", "-test.benchtime", "%gs" % a.seconds],
                           cwd=os.path.join(ROOT, "train"), capture_output=True, text=True, env=go_env(a))
        if p.returncode != 0:
            sys.exit(p.stdout + p.stderr)
        out.update(parse_go(p.stdout, "train/", "samples/s"))
    if a.only in (None, "predict"):
        spec = ";".join("%s=%s,%s,%s" % (name, m, x, "x".join(map(str, dims))) for name, (m, x, dims) in predict.items())
        p = subprocess.run([bins["exec"], "-test.run", "^$", "-test.bench", "Predict$", "-test.benchtime", "%gs" % (a.seconds / 2),
                            "-predict.workloads", spec], cwd=os.path.join(ROOT, "exec"), capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(p.stdout + p.stderr)
        out.update(parse_go(p.stdout, "predict/", "samples/s"))
        out.update(parse_go(p.stdout, "cpupredict/", "cpu-samples/s"))
    if a.only in (None, "gemm"):
        p = subprocess.run([bins["exec"], "-test.run", "^$", "-test.bench", "SGEMM", "-test.benchtime", "%gs" % (a.seconds / 4)],
                           cwd=os.path.join(ROOT, "exec"), capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(p.stdout + p.stderr)
        out.update(parse_go(p.stdout, "gemm/", "GFLOPS"))
        out.update(parse_go(p.stdout, "cpugemm/", "cpu-GFLOPS"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="per training workload and side; GEMMs get a quarter")
    ap.add_argument("--only", choices=["train", "predict", "gemm"])
    ap.add_argument("--no-ort", action="store_true", help="leave ONNX Runtime out of the inference table")
    ap.add_argument("--no-224", action="store_true", help="leave the 224x224 torchvision models (vgg11_bn, alexnet) out of training")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--export-train", help=argparse.SUPPRESS)
    ap.add_argument("--export", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--torch-percore", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-rss", dest="rss_workload", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.zoo_dir = None
    if a.export_train:
        return export_train_worker(a)
    if a.rss_workload:
        return torch_rss_worker(a)
    if a.torch_worker:
        return torch_worker(a)
    if a.torch_percore:
        return torch_percore_worker(a)
    if a.export:
        return export_worker(a)

    tmp = tempfile.mkdtemp(prefix="nnkit-bench-")
    try:
        run(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a, tmp):
    bins = {}
    for pkg in ("train", "exec"):
        bins[pkg] = os.path.join(tmp, pkg + ".test")
        subprocess.run(["go", "test", "-c", "-o", bins[pkg], "./" + pkg], cwd=ROOT, check=True)
    kernel = subprocess.run([bins["exec"], "-test.run", "TestGEMMKernelName", "-test.v"], cwd=os.path.join(ROOT, "exec"),
                            capture_output=True, text=True).stdout
    m = re.search(r"kernel: (.*)", kernel)

    if a.only in (None, "train") and not a.no_224:
        a.zoo_dir = os.path.join(tmp, "train")
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--export-train", a.zoo_dir],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("exporting the torchvision training models failed:\n" + p.stderr)
    rss = measure_rss(a, bins) if a.only in (None, "train") else []
    predict = {}
    if a.only in (None, "predict"):
        a.work = tmp
        predict = prepare_predict(tmp)
    runs = {"default": [], "PASSIVE": [], "percore": [], "go": [], "ort": []}
    for r in range(a.rounds):
        runs["default"].append(torch_round(a, None))
        runs["PASSIVE"].append(torch_round(a, "PASSIVE"))
        if a.only in (None, "gemm", "predict"):
            runs["percore"].append(torch_round(a, None, percore=True))
        if predict and not a.no_ort:
            runs["ort"].append(ort_round(a, predict))
        runs["go"].append(go_round(a, bins, predict))
        print("round %d/%d done" % (r + 1, a.rounds), file=sys.stderr)

    def med(side, key):
        vals = [x[key] for x in runs[side] if key in x]
        return statistics.median(vals) if vals else float("nan")

    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import torch  # noqa: only for the version in the header
    print("machine: %s, %d CPUs; PyTorch %s, 2 threads; nnkit GEMM kernel: %s; median of %d rounds, %g s per workload"
          % (cpu, os.cpu_count(), torch.__version__, m.group(1) if m else "?", a.rounds, a.seconds))
    print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    if a.only in (None, "train"):
        print()
        print("%-16s %12s %12s %12s %8s" % ("training /s", "nnkit", "torch", "torch PASSIVE", "ratio"))
        for name, _, _, batch in train_list(a):
            k = "train/" + name
            g, d, p = med("go", k), med("default", k), med("PASSIVE", k)
            fmt = "%-16s %12.0f %12.0f %12.0f %7.2fx" if min(g, d, p) >= 100 else "%-16s %12.2f %12.2f %12.2f %7.2fx"
            print(fmt % (name, g, d, p, g / max(d, p)))
    if predict:
        print()
        print("inference, samples/s (%s: 32x32 fixtures; resnet50: torchvision, 224x224); ratio = nnkit / faster torch"
              % ", ".join(sorted({m for _, m, _, _ in PREDICT if not m.startswith("tv:")})))
        print("%-16s %10s %10s %13s %10s %8s %9s" % ("", "nnkit", "torch", "torch PASSIVE", "ORT", "ratio", "nnkit/ORT"))
        for name, _, _, _ in PREDICT:
            k = "predict/" + name
            g, d, p, o = med("go", k), med("default", k), med("PASSIVE", k), med("ort", k)
            print("%-16s %10.1f %10.1f %13.1f %10.1f %7.2fx %8.2fx" % (name, g, d, p, o, g / max(d, p), g / o))
        print()
        print("inference per core: one thread each, samples per second of CPU time (robust to machine load)")
        print("%-16s %10s %10s %8s" % ("", "nnkit", "torch", "ratio"))
        for name, _, _, _ in PREDICT:
            g, t = med("go", "cpupredict/" + name + "/serial"), med("percore", "predict/" + name)
            print("%-16s %10.1f %10.1f %7.2fx" % (name, g, t, g / t))
    if rss:
        rss_table(rss)
    if a.only in (None, "gemm"):
        print()
        print("%-16s %6s %6s %6s %2s%2s %10s %10s %10s %8s %8s" % ("SGEMM GFLOPS", "m", "n", "k", "tA", "tB", "nnkit", "gonum", "torch.mm", "nnkit/t", "gonum/t"))
        for name, ta, tb, mm, n, k in GEMM:
            key = "gemm/" + name
            g, gn = med("go", key + "/simd"), med("go", key + "/gonum")
            t = max(med("default", key), med("PASSIVE", key))
            print("%-16s %6d %6d %6d %2s%2s %10.1f %10.1f %10.1f %7.2fx %7.2fx" % (name, mm, n, k, "T" if ta else "N", "T" if tb else "N", g, gn, t, g / t, gn / t))
        print()
        print("SGEMM per core: one thread each, GFLOPS per second of CPU time (robust to machine load)")
        print("%-16s %10s %10s %8s" % ("", "nnkit", "torch.mm", "ratio"))
        for name, ta, tb, mm, n, k in GEMM:
            g = med("go", "cpugemm/" + name + "/serial")
            t = med("percore", "gemm/" + name)
            print("%-16s %10.1f %10.1f %7.2fx" % (name, g, t, g / t))


if __name__ == "__main__":
    main()
