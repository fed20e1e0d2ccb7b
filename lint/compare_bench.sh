#!/usr/bin/env bash
# Compare nnlint's speed on the 45 MB ResNet-18 fixture with Python baselines (README.md,
# nnlint's Speed section), measured in the same invocation on the same machine:
#   static lint    vs  onnx.load + onnx.checker + shape inference (what a Python linter starts with)
#   lint + probe   vs  PyTorch forward + backward of torchvision resnet18, batch 32, 3x32x32, train mode
# Best of 5 wall-clock runs each (processes included), then the Go benchmarks.
#
#   bash lint/compare_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$tmp/resnet18.onnx
gzip -dc testdata/models/resnet18/train.onnx.gz >"$model"
go build -o "$tmp/nnlint" ./cmd/nnlint

best() { # best wall time in seconds of 5 runs of "$@"
	local b=999
	for _ in 1 2 3 4 5; do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s.%N)
		b=$(echo "$b $s $e" | awk '{t=$3-$2; print (t<$1)?t:$1}')
	done
	echo "$b"
}

static=$(best "$tmp/nnlint" --probe=false "$model")
probe=$(best "$tmp/nnlint" "$model")

py=$(/usr/bin/python3 - "$model" <<'EOF'
import sys, time
import onnx, onnx.checker, onnx.shape_inference
import torch, torchvision
torch.set_num_threads(2)
path = sys.argv[1]
def best(f, n=5):
    b = 1e9
    for _ in range(n):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b
def load():
    m = onnx.load(path); onnx.checker.check_model(m); onnx.shape_inference.infer_shapes(m)
torch.manual_seed(0)
net = torchvision.models.resnet18(num_classes=10).train()
x = torch.randn(32, 3, 32, 32); y = torch.randint(0, 10, (32,))
def step():
    net.zero_grad(); torch.nn.functional.cross_entropy(net(x), y).backward()
step()  # warm-up
print(best(load), best(step))
EOF
)
read -r pyload pystep <<<"$py"

printf '%-46s %8.3f s\n' "nnlint --probe=false resnet18.onnx (process)" "$static"
printf '%-46s %8.3f s\n' "onnx.load + checker + shape inference" "$pyload"
printf '%-46s %8.2fx\n' "  ratio (Python / nnlint)" "$(echo "$pyload $static" | awk '{print $1/$2}')"
printf '%-46s %8.3f s\n' "nnlint resnet18.onnx (static + probe, process)" "$probe"
printf '%-46s %8.3f s\n' "PyTorch fwd+bwd resnet18, batch 32 (2 threads)" "$pystep"
printf '%-46s %8.2fx\n' "  ratio (nnlint probe / PyTorch step)" "$(echo "$probe $pystep" | awk '{print $1/$2}')"
echo
go test ./lint/rules -run '^$' -bench ResNet18 -benchtime 10x -benchmem
