#!/bin/sh
# Regenerate the real-architecture corpus (issue 8) and check nnlint's findings on it against
# expected.txt. Needs Debian's /usr/bin/python3 with torch 1.13 + torchvision 0.14 (not in CI:
# the full corpus is ≈1.5 GB and takes ≈10 min on two cores; the committed subset is checked by
# go test ./lint/rules -run TestRealArchitectures).
#
#   sh testdata/lint/realarch/check_corpus.sh [DIR]          # DIR defaults to /tmp/nnlint-corpus
#   SKIP_EXPORT=1 sh testdata/lint/realarch/check_corpus.sh  # reuse the exported models
#
# Writes DIR/report/<model>.<mode>.json (+ .time: wall seconds, max RSS), prints the table
# (table.py) and exits 1 when it differs from expected.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dir=${1:-/tmp/nnlint-corpus}
if [ -z "${SKIP_EXPORT:-}" ]; then
	nice -n 10 /usr/bin/python3 "$here/make_corpus.py" "$dir"
fi
bin=$(mktemp -d)/nnlint
(cd "$root" && go build -o "$bin" ./cmd/nnlint)
mkdir -p "$dir/report"
for f in "$dir"/*.onnx; do
	b=$(basename "$f" .onnx)
	/usr/bin/time -f "%e s %M KB" -o "$dir/report/$b.time" \
		nice -n 10 "$bin" --format json --fail-on none "$f" >"$dir/report/$b.json" 2>"$dir/report/$b.err" || true
done
/usr/bin/python3 "$here/table.py" "$dir/report" >"$dir/report/table.md"
cat "$dir/report/table.md"
if diff -u "$here/expected.txt" "$dir/report/table.md"; then
	echo "corpus: findings as expected"
else
	echo "corpus: findings differ from $here/expected.txt" >&2
	exit 1
fi
