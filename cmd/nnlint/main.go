// Command nnlint finds training-health problems in ONNX models exported from
// PyTorch, and prints model summaries.
//
//	nnlint [flags] model.onnx...        lint (see nnlint -h)
//	nnlint summary [flags] model.onnx   torchinfo-style table of layers, params, MACs
//	nnlint rules                        list rule IDs, names, severities
//	nnlint explain ID                   print a rule's documentation
//
// Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage,
// model-loading or output error, 3 internal error (a bug in nnlint: a crash
// while linting a file, reported for that file while the others are still
// linted and the report still written).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/nnkit/nnkit/cmd/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code. Output that
// cannot be written (a full disk, a closed pipe) is an error, exit 2.
func run(args []string, stdout, stderr io.Writer) int {
	out := &cli.Recorder{W: stdout}
	code := dispatch(args, out, stderr)
	if out.Err != nil {
		fmt.Fprintf(stderr, "nnlint: writing to standard output: %v\n", out.Err)
		if code < cli.ExitUsage {
			code = cli.ExitUsage
		}
	}
	return code
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "summary":
			return runSummary(args[1:], stdout, stderr)
		case "rules":
			return runRules(args[1:], stdout, stderr)
		case "explain":
			return runExplain(args[1:], stdout, stderr)
		case "help":
			printUsage(stdout)
			return cli.ExitOK
		}
	}
	return runLint(args, stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `nnlint: training-health checks for ONNX models exported from PyTorch

Usage:
  nnlint [flags] model.onnx...        lint models (nnlint -h for flags)
  nnlint summary [flags] model.onnx   layer table: output shapes, params, MACs
  nnlint rules                        list rules
  nnlint explain ID                   explain a rule

Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage, input or
output error, 3 internal error (a bug in nnlint; other files still linted).
`)
}
