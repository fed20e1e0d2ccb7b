package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnkit/nnkit/tensor"
)

// NNKIT_MAX_MEMORY bounds the executor's plan: a run that would need more
// is refused with exit 2 naming the value and its size; a malformed value
// is a usage error naming the variable.
func TestMaxMemoryEnv(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(predModels, "vgg_bn", "train.onnx")
	x := filepath.Join(dir, "x.npy")
	npy, _ := tensor.EncodeNpy(predGolden(t, "vgg_bn", "input"))
	if err := os.WriteFile(x, npy, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "y.npy")
	t.Setenv("NNKIT_MAX_MEMORY", "4K")
	code, _, stderr := predictCmd(t, m, x, "-o", out, "-q")
	if code != 2 || !strings.Contains(stderr, "exceeds the memory budget of 4.0 KiB") || !strings.Contains(stderr, "value \"") {
		t.Errorf("4K budget: exit %d, stderr %q; want a refusal naming the value", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an output was written despite the refusal")
	}
	t.Setenv("NNKIT_MAX_MEMORY", "lots")
	if code, _, stderr := predictCmd(t, m, x, "-o", out, "-q"); code != 2 || !strings.Contains(stderr, "NNKIT_MAX_MEMORY") {
		t.Errorf("malformed budget: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("NNKIT_MAX_MEMORY", "1G")
	if code, _, stderr := predictCmd(t, m, x, "-o", out, "-q"); code != 0 {
		t.Errorf("1G budget: exit %d, stderr %q", code, stderr)
	}
}
