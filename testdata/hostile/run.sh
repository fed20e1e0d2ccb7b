#!/bin/bash
# Runs nntrain and nntrain predict on every hostile data set of
# make_corpus.py under a 4 GB address-space limit and a 2-minute timeout,
# and fails if any run crashes (panic, fatal error), hangs or exits with
# a code other than 0, 1 or 2. About 170 runs, a few minutes (the largest
# case is an honest 1 GiB data set that trains for one epoch).
#
#	testdata/hostile/run.sh            # prints one line per run and a summary
set -u
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/nnkit-hostile.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/nntrain" ./cmd/nntrain || exit 2
python3 testdata/hostile/make_corpus.py "$work/corpus" 2>/dev/null || exit 2
M=testdata/models/mlp_digits/train.onnx
C=testdata/models/cnn_digits/train.onnx
ulimit -v 4000000
n=0; bad=0
for d in "$work"/corpus/*/; do
	d=${d%/}; name=$(basename "$d")
	model=$M; [[ $name == img_* ]] && model=$C
	cmds=()
	if [[ -e $d/input.npy || -p $d/input.npy ]]; then
		cmds+=("predict $model $d/input.npy -o $work/o.npy")
	else
		cmds+=("$model $d --epochs 1 --quiet --val-split 0 --out $work/o.onnx")
		cmds+=("predict $model $d -o $work/o.npy")
	fi
	for c in "${cmds[@]}"; do
		n=$((n+1))
		timeout 120 "$work/nntrain" $c >"$work/out.txt" 2>&1; code=$?
		problem=""
		grep -q "panic:\|fatal error\|goroutine [0-9]" "$work/out.txt" && problem=CRASH
		[[ $code -ne 0 && $code -ne 1 && $code -ne 2 ]] && problem="$problem EXIT$code"
		[[ -n $problem ]] && bad=$((bad+1))
		printf "%-26s %-7s exit %3d %s| %s\n" "$name" "$([[ $c == predict* ]] && echo predict || echo train)" $code "${problem:+$problem }" \
			"$(grep -v '^$' "$work/out.txt" | head -1 | sed "s|$work/corpus/||g" | cut -c1-140)"
	done
done
echo "runs: $n; crashed, hung or exited other than 0/1/2: $bad"
[[ $bad -eq 0 ]]
