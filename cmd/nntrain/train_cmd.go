package main

// Placeholder: the training engineer replaces this file with runTrain.

import (
	"fmt"
	"io"
)

func runTrain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "nntrain: training is not available yet")
	return 2
}
