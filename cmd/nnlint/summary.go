package main

import (
	"fmt"
	"io"

	"github.com/nnkit/nnkit/cmd/internal/cli"
)

func runSummary(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "nnlint summary: in progress")
	return cli.ExitUsage
}
