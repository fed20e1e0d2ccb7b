package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/tensor"
)

// TestPredictDataDirectory: a data directory is read as training reads it;
// the outputs equal those for the same samples given as arrays, and the
// accuracy line counts correct arg-maxes per split.
func TestPredictDataDirectory(t *testing.T) {
	model := filepath.Join(predModels, "cnn_digits", "train.onnx")
	digits := "../../testdata/data/digits"
	dir := t.TempDir()

	code, stdout, stderr := predictCmd(t, model, digits, "-o", filepath.Join(dir, "all.npy"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "1797 samples") || !strings.Contains(stdout, "train accuracy") || !strings.Contains(stdout, "val accuracy") {
		t.Fatalf("stdout %q", stdout)
	}
	// The same samples as arrays: train.npz then val.npz.
	code, _, stderr = predictCmd(t, model, filepath.Join(digits, "train.npz"), "-o", filepath.Join(dir, "train.npy"))
	if code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr = predictCmd(t, model, filepath.Join(digits, "val.npz"), "-o", filepath.Join(dir, "val.npy"))
	if code != 0 {
		t.Fatal(stderr)
	}
	all := readNpyFile(t, filepath.Join(dir, "all.npy"))
	tr := readNpyFile(t, filepath.Join(dir, "train.npy"))
	va := readNpyFile(t, filepath.Join(dir, "val.npy"))
	if len(all) != len(tr)+len(va) || len(all) != 1797*10 {
		t.Fatalf("%d outputs, want %d + %d", len(all), len(tr), len(va))
	}
	for i, v := range append(tr, va...) {
		if all[i] != v {
			t.Fatalf("output %d: %g from the directory, %g from the arrays", i, all[i], v)
		}
	}
	// --split val: only the 360 validation samples; the same as val.npz.
	code, stdout, _ = predictCmd(t, model, digits, "--split", "val", "-o", filepath.Join(dir, "v.npy"))
	if code != 0 || !strings.Contains(stdout, "360 samples") || strings.Contains(stdout, "train accuracy") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	v := readNpyFile(t, filepath.Join(dir, "v.npy"))
	for i := range v {
		if v[i] != va[i] {
			t.Fatalf("--split val output %d differs", i)
		}
	}
	// Accuracy is counted, not guessed: recompute it from the outputs.
	correct := 0
	labels := readCSVLabels(t, filepath.Join(digits, "val.csv"))
	for i, y := range labels {
		row := va[i*10 : i*10+10]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if int64(best) == y {
			correct++
		}
	}
	if want := "val accuracy"; !strings.Contains(stdout, want) || !strings.Contains(stdout, "("+itoa(correct)+"/360)") {
		t.Fatalf("stdout %q, want %d/360 correct", stdout, correct)
	}
}

func TestPredictDataErrors(t *testing.T) {
	model := filepath.Join(predModels, "cnn_digits", "train.onnx")
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{model, "../../testdata/data/digits", "--split", "test", "-o", filepath.Join(dir, "o.npy")}, "--split must be train, val or all"},
		{[]string{model, "../../testdata/data/digits/val.csv", "--split", "val", "-o", filepath.Join(dir, "o.npy")}, "no validation set"},
		{[]string{filepath.Join(predModels, "resnet_narrow", "train.onnx"), "../../testdata/data/digits", "-o", filepath.Join(dir, "o.npy")}, "do not fit the model's input [3, 16, 16]"},
		{[]string{model, dir, "-o", filepath.Join(dir, "o.npy")}, dir},
	}
	for _, c := range cases {
		code, _, stderr := predictCmd(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.npy")); err == nil {
		t.Error("a failed prediction wrote its output")
	}
}

func readNpyFile(t *testing.T, path string) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := tensor.ReadNpy(f)
	if err != nil {
		t.Fatal(err)
	}
	return a.F
}

func readCSVLabels(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, ",")
		var y int64
		for _, c := range f[len(f)-1] {
			y = y*10 + int64(c-'0')
		}
		out = append(out, y)
	}
	return out
}

func itoa(n int) string {
	s := ""
	if n == 0 {
		return "0"
	}
	for n > 0 {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}
