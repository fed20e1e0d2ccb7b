package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countColor counts the pixels of img within 8 levels of c per channel.
func countColor(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := func(a uint32, b uint8) bool { return int(a>>8)-int(b) <= 8 && int(b)-int(a>>8) <= 8 }
			if d(r, c.R) && d(g, c.G) && d(bl, c.B) {
				n++
			}
		}
	}
	return n
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// --plot after training: a PNG with three panels' worth of height, the
// train (blue), validation (orange) and learning-rate (green) curves and
// the early-stopping mark (red) drawn; --lr-find --plot: loss against the
// learning rate with the suggestion marked, and the suggestion still on
// one line starting "suggested --lr".
func TestPlots(t *testing.T) {
	dir := t.TempDir()
	curves := filepath.Join(dir, "curves.png")
	code, stdout, stderr := runCmd(bnMLP, digits, "--epochs", "25", "--early-stopping", "2", "--min-delta", "0.01", "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9",
		"--scheduler", "step", "--step-size", "3", "--plot", curves, "--out", filepath.Join(dir, "o.onnx"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "plot: "+curves) || !strings.Contains(stdout, "early stopping at epoch") {
		t.Fatalf("output:\n%s", stdout)
	}
	img := readPNG(t, curves)
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 3*b.Dx()/3 {
		t.Errorf("size %v: want three stacked panels", b)
	}
	for name, c := range map[string]color.RGBA{"train": colTrain, "validation": colVal, "lr": colLR, "early-stopping mark": colMark} {
		if n := countColor(img, c); n < 200 {
			t.Errorf("%s: %d pixels of its colour", name, n)
		}
	}

	lr := filepath.Join(dir, "lr.png")
	code, stdout, stderr = runCmd(bnMLP, digits, "--lr-find", "--plot", lr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	sugg := 0
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "suggested --lr ") {
			sugg++
		}
	}
	if sugg != 1 {
		t.Errorf("%d lines start with \"suggested --lr\":\n%s", sugg, stdout)
	}
	img = readPNG(t, lr)
	for name, c := range map[string]color.RGBA{"smoothed loss": colTrain, "suggestion": colMark} {
		if n := countColor(img, c); n < 150 {
			t.Errorf("lr-find plot: %s: %d pixels of its colour", name, n)
		}
	}
	// No temporaries left next to the plots.
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	code, _, stderr = runCmd(bnMLP, digits, "--plot", filepath.Join(dir, "no", "such", "p.png"), "--out", filepath.Join(dir, "o.onnx"))
	if code != 2 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("--plot into a missing directory: exit %d: %s", code, stderr)
	}
}
