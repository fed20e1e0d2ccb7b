package main

import (
	"github.com/nnkit/nnkit/ir"
	"github.com/nnkit/nnkit/lint"
	"github.com/nnkit/nnkit/lint/probe"
)

// runProbe runs the data-free probe for the lint rules that need it.
func runProbe(m *ir.Model, f *lint.Facts, batch int, seed uint64, maxBytes int64) (*lint.ProbeReport, error) {
	return probe.Run(m, f, probe.Options{Batch: batch, Seed: seed, MaxBytes: maxBytes})
}
