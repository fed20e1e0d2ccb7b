#!/usr/bin/env bash
# Compare `nnlint summary` on the 45 MB torchvision ResNet-18 training export
# with Python's onnx.load + onnx.checker + shape inference on the same file,
# in one invocation on this machine. Prints wall time and peak RSS of each
# and the ratios. Needs Debian's python3-onnx and /usr/bin/time.
#
#   testdata/bench/summary_vs_python.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gunzip -c testdata/models/resnet18/train.onnx.gz > "$tmp/resnet18.onnx"
go build -o "$tmp/nnlint" ./cmd/nnlint
size=$(stat -c %s "$tmp/resnet18.onnx")

cat > "$tmp/py.py" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1]); onnx.checker.check_model(m); onnx.shape_inference.infer_shapes(m)
PY

# best wall time over $runs runs (ms), and peak RSS (KiB) of the last run
measure() {
  local best=999999999 rss=0
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$tmp/rss" "$@" > /dev/null
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    (( ms < best )) && best=$ms
    rss=$(cat "$tmp/rss")
  done
  echo "$best $rss"
}
read -r go_ms go_kb < <(measure "$tmp/nnlint" summary "$tmp/resnet18.onnx")
read -r py_ms py_kb < <(measure /usr/bin/python3 "$tmp/py.py" "$tmp/resnet18.onnx")
awk -v s="$size" -v gm="$go_ms" -v gk="$go_kb" -v pm="$py_ms" -v pk="$py_kb" 'BEGIN {
  printf "model: ResNet-18 training export, %.1f MB\n", s/1e6
  printf "%-46s %8s %12s %14s\n", "", "wall ms", "peak MiB", "peak/filesize"
  printf "%-46s %8d %12.1f %14.2f\n", "nnlint summary", gm, gk/1024, gk*1024/s
  printf "%-46s %8d %12.1f %14.2f\n", "python onnx.load+checker+infer_shapes", pm, pk/1024, pk*1024/s
  printf "ratio (python / nnlint): wall %.1fx, memory %.1fx\n", pm/(gm>0?gm:1), pk/gk
}'
