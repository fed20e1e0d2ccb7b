package main

// Placeholder until the lint rules land: the lint engineer replaces this
// file with the real runLint, runRules and runExplain.

import (
	"fmt"
	"io"

	"github.com/nnkit/nnkit/cmd/internal/cli"
)

func runLint(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		printUsage(stderr)
		return cli.ExitUsage
	}
	fmt.Fprintln(stderr, "nnlint: linting is not available yet; try `nnlint summary model.onnx`")
	return cli.ExitUsage
}

func runRules(args []string, stdout, stderr io.Writer) int   { return runLint(nil, stdout, stderr) }
func runExplain(args []string, stdout, stderr io.Writer) int { return runLint(nil, stdout, stderr) }
