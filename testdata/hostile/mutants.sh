#!/bin/bash
# Issue 9's attack, repeated: mutated ONNX models (make_mutants.py: about
# 3,300 mutants of the exports under testdata/models, structural and byte
# mutations) through every command that reads a model, under a 4 GB
# address-space limit and a 2-minute timeout:
#
#	nnlint --format json MODEL        (with the probe)
#	nnlint summary MODEL
#	nntrain predict MODEL INPUT.npy -o OUT.npy
#	nntrain MODEL testdata/data/digits --epochs 1   (mutants of the two
#	                                                 digits training graphs)
#
# A run fails the campaign if it crashes (panic, fatal error, a signal),
# hangs, exits other than 0, 1 or 2 (nnlint's 3 is a recovered crash: a bug
# too), or if nnlint's JSON report is missing or unparseable.
#
#	testdata/hostile/mutants.sh [COUNT] [SEED] [KIND]   # default 3300 1 all; ≈ 5 min on 2 cores
#
# KIND soft: only mutations after which most models still load, to reach
# the executor, the probe and training more often (make_mutants.py).
#
# Needs Debian's python3-onnx and python3-numpy (PYTHON, default /usr/bin/python3).
# Prints one line per failing run, the count of each exit code per command
# and a summary; the mutants of failing runs are kept in
# ${MUTANTS_KEEP:-/tmp/nnkit-mutants-failed}.
set -u
cd "$(dirname "$0")/../.."
count=${1:-3300}
seed=${2:-1}
kind=${3:-all}
work=$(mktemp -d /tmp/nnkit-mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
keep=${MUTANTS_KEEP:-/tmp/nnkit-mutants-failed}
go build -o "$work/nnlint" ./cmd/nnlint || exit 2
go build -o "$work/nntrain" ./cmd/nntrain || exit 2
"${PYTHON:-/usr/bin/python3}" testdata/hostile/make_mutants.py "$work/m" "$count" "$seed" "$kind" || exit 2

# one MUTANT: runs its commands, appends "id cmd exit problem" lines to
# $work/results.<worker pid>.
one() {
	local id=$1 work=$2 m=$2/m/$1 res=$2/results.$BASHPID src
	src=$(awk -F'\t' -v id="$id" '$1 == id {print $2}' "$work/m/manifest.tsv")
	local cmds=("lint" "summary" "predict")
	[[ $src == mlp_digits/train.onnx || $src == cnn_digits/train.onnx ]] && cmds+=("train")
	(
		ulimit -v 4000000
		for c in "${cmds[@]}"; do
			local out=$work/out.$BASHPID
			case $c in
			lint) timeout 120 "$work/nnlint" --format json "$m.onnx" >"$out.json" 2>"$out.err" ;;
			summary) timeout 120 "$work/nnlint" summary "$m.onnx" >/dev/null 2>"$out.err" ;;
			predict) timeout 120 "$work/nntrain" predict "$m.onnx" "$m.npy" -o "$out.npy" >/dev/null 2>"$out.err" ;;
			train) timeout 120 "$work/nntrain" "$m.onnx" testdata/data/digits --epochs 1 --quiet --val-split 0 --out "$out.onnx" >/dev/null 2>"$out.err" ;;
			esac
			local code=$? problem=""
			grep -q "panic:\|fatal error\|goroutine [0-9]\|SIGSEGV" "$out.err" && problem=CRASH
			[[ $code -ne 0 && $code -ne 1 && $code -ne 2 ]] && problem="$problem EXIT$code"
			if [[ $c == lint && $code -le 2 ]] && ! python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["files"][0]["file"].endswith(sys.argv[2])' "$out.json" "$id.onnx" 2>/dev/null; then
				problem="$problem NOJSON"
			fi
			echo "$id $c $code ${problem:-ok}" >>"$res"
			if [[ -n $problem ]]; then
				mkdir -p "$keep"
				cp "$m.onnx" "$m.npy" "$keep/" 2>/dev/null
				cp "$out.err" "$keep/$id.$c.stderr" 2>/dev/null
			fi
		done
	)
}
export -f one
export keep
cut -f1 "$work/m/manifest.tsv" | xargs -P "${MUTANTS_JOBS:-2}" -I{} bash -c 'one {} '"$work"
cat "$work"/results.* >"$work/all"
echo "mutants: $count (seed $seed, $kind); runs: $(wc -l <"$work/all")"
awk '{n[$2" exit "$3]++} END {for (k in n) print "  " k ": " n[k]}' "$work/all" | sort
bad=$(awk '$4 != "ok"' "$work/all" | wc -l)
awk '$4 != "ok"' "$work/all" | while read -r id c code problem; do
	printf "  FAILED %s %s exit %s %s | %s\n" "$id" "$c" "$code" "$problem" "$(awk -F'\t' -v id="$id" '$1 == id {print $2 ": " $3}' "$work/m/manifest.tsv" | cut -c1-160)"
done
echo "crashed, hung, exited other than 0/1/2 or wrote no report: $bad (kept in $keep)"
[[ $bad -eq 0 ]]
