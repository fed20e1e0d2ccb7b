package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSummaryCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSummaryCommand(t *testing.T) {
	code, out, errs := runSummaryCmd("summary", "../../testdata/models/robustnet/train.onnx")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"Total params:            537,354", "Non-trainable buffers:   1,536", "training-mode export"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Flags after the file, JSON, a gzip-compressed model.
	code, out, _ = runSummaryCmd("summary", "../../testdata/models/resnet18/train.onnx.gz", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Totals struct {
			Params, TrainableParams, Buffers int64
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out[:200])
	}
	// torchvision resnet18(num_classes=10): 11,181,642 parameters.
	if doc.Totals.Params != 11181642 {
		t.Fatalf("resnet18 params %d", doc.Totals.Params)
	}
	// Several models in JSON: an array.
	code, out, _ = runSummaryCmd("summary", "--format=json", "../../testdata/models/mlp_digits/train.onnx", "../../testdata/models/cnn_digits/train.onnx")
	var arr []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &arr) != nil || len(arr) != 2 {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestSummaryErrors(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile("../../testdata/models/mlp_digits/train.onnx")
	truncated := filepath.Join(dir, "truncated.onnx")
	os.WriteFile(truncated, good[:len(good)/3], 0o644)
	text := filepath.Join(dir, "notes.onnx")
	os.WriteFile(text, []byte("hello, this is not a model"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"summary"}, "Usage"},
		{[]string{"summary", "--format", "xml", "m.onnx"}, "--format must be text or json"},
		{[]string{"summary", "--bogus", "m.onnx"}, "flag provided but not defined"},
		{[]string{"summary", filepath.Join(dir, "missing.onnx")}, "missing.onnx: no such file"},
		{[]string{"summary", truncated}, truncated + ": not a valid ONNX model"},
		{[]string{"summary", text}, text + ": "},
	}
	for _, c := range cases {
		code, _, errs := runSummaryCmd(c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(errs, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, errs, c.want)
		}
	}
}
