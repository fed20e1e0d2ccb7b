package main

import (
	"math"
	"testing"

	"github.com/nnkit/nnkit/train"
)

// A constant learning rate must be drawn on an axis that reaches it: gonum
// centres a zero-width range on the value with ±1 around it, which drew
// lr 0.01 as a flat line labelled 0.
func TestPlotConstantLR(t *testing.T) {
	var epochs []train.EpochStats
	for e := 1; e <= 4; e++ {
		epochs = append(epochs, train.EpochStats{Epoch: e, TrainLoss: 1 / float64(e), LR: 0.01, TrainAcc: math.NaN(), ValAcc: math.NaN(), ValLoss: math.NaN()})
	}
	lo, hi, ok := yRange(lrPoints(epochs))
	if !ok || lo != 0.01 || hi != 0.01 {
		t.Fatalf("yRange = %v, %v, %v", lo, hi, ok)
	}
	min, max := lrAxis(lrPoints(epochs))
	if !(min == 0 && max > 0.01 && max <= 0.02) {
		t.Errorf("axis [%g, %g] for a constant lr 0.01: want [0, 0.0125]", min, max)
	}
	if _, err := plotCurves(epochs, 0, ""); err != nil {
		t.Fatal(err)
	}
}
