#!/bin/sh
# Runs every fuzz target in the repository, one after another (the engine
# uses one package at a time), each for the same time:
#
#	testdata/fuzz.sh            # 10 minutes per target
#	testdata/fuzz.sh 30s        # a quick pass
#	FUZZ_PKGS='./tensor ./train/data' testdata/fuzz.sh 10m
#
# Targets are discovered with `go test -list`, so new ones are included
# without editing this file. Crashers land in <package>/testdata/fuzz/<Target>/
# and then run as regression seeds with every `go test`. The summary line of
# each run (with the execution count) is printed at the end; logs are kept in
# ${FUZZ_LOG:-/tmp/nnkit-fuzz}.
set -eu
cd "$(dirname "$0")/.."
time=${1:-10m}
log=${FUZZ_LOG:-/tmp/nnkit-fuzz}
mkdir -p "$log"
status=0
for pkg in $(go list ${FUZZ_PKGS:-./...}); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		out="$log/$(echo "$pkg" | tr / _).$target.log"
		echo "== $pkg $target ($time)"
		# -fuzzminimizetime: minimizing each new interesting input takes a
		# minute by default, during which the exec counter stands still.
		if ! nice -n 10 go test "$pkg" -run '^$' -fuzz "^$target\$" -fuzztime "$time" -fuzzminimizetime "${FUZZ_MINIMIZE:-10s}" -parallel "${FUZZ_PARALLEL:-1}" >"$out" 2>&1; then
			status=1
			echo "   FAILED: see $out"
		fi
		grep -E 'execs: [0-9]+' "$out" | tail -1 | sed 's/^/   /'
	done
done
exit $status
