package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nntrain on the issue-12 families: a U-Net with per-pixel labels and an
// Embedding+GRU classifier with int64 token ids from CSV (their numbers
// against PyTorch: train/families_test.go).

const (
	unet    = "../../testdata/models/unet_tiny/train.onnx"
	segData = "../../testdata/train/families/seg"
	textGRU = "../../testdata/train/families/text_gru.onnx"
	textCSV = "../../testdata/train/families/text/train.csv"
)

func TestSegmentationAndTokenIDs(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCmd(unet, segData, "--epochs", "1", "--batch-size", "8", "--out", filepath.Join(dir, "u.onnx"))
	if code != 0 {
		t.Fatalf("U-Net: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "labels per position [8 8]: cross-entropy over the class axis at 64 positions per sample, labels -100 ignored; accuracy is per position") {
		t.Errorf("U-Net: the log does not explain the per-pixel loss:\n%s", stdout)
	}
	code, stdout, stderr = runCmd(textGRU, textCSV, "--epochs", "1", "--out", filepath.Join(dir, "t.onnx"))
	if code != 0 {
		t.Fatalf("text GRU from CSV: exit %d\n%s%s", code, stdout, stderr)
	}

	// a fractional value in a column feeding the int64 input
	raw, err := os.ReadFile(textCSV)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	lines[3] = "2.5" + lines[3][strings.Index(lines[3], ","):]
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCmd(textGRU, bad, "--epochs", "1", "--out", filepath.Join(dir, "b.onnx"))
	if code == 0 || !strings.Contains(stderr, "bad.csv line 4: feature 0 is 2.5; the model's input is an integer tensor") {
		t.Errorf("fractional token id: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.onnx")); err == nil {
		t.Error("a failed run wrote its output")
	}

	// labels per pixel need cross-entropy; --ignore-index needs ce
	code, _, stderr = runCmd(unet, segData, "--epochs", "1", "--loss", "mse", "--out", filepath.Join(dir, "m.onnx"))
	if code != 2 || !strings.Contains(stderr, "need --loss ce") {
		t.Errorf("per-pixel labels with mse: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCmd(textGRU, textCSV, "--loss", "mse", "--ignore-index", "0", "--out", filepath.Join(dir, "m.onnx"))
	if code != 2 || !strings.Contains(stderr, "--ignore-index applies to --loss ce only") {
		t.Errorf("--ignore-index with mse: exit %d: %s", code, stderr)
	}
}
