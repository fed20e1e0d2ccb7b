package main

// Placeholder: the executor engineer replaces this file with runPredict.

import (
	"fmt"
	"io"
)

func runPredict(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "nntrain predict: not available yet")
	return 2
}
