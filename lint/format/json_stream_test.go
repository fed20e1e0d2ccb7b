package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/nnkit/nnkit/lint"
)

// jsonReport is the JSON document as one value: what Format wrote by
// encoding it whole before it streamed the document piece by piece.
type jsonReport struct {
	Version     int               `json:"version"`
	Tool        jsonTool          `json:"tool"`
	Diagnostics []lint.Diagnostic `json:"diagnostics"`
	Files       []jsonFile        `json:"files"`
	Summary     jsonSummary       `json:"summary"`
}

// wholeJSON encodes r as one value, as Format did.
func wholeJSON(t *testing.T, r *Report) []byte {
	out := jsonReport{Version: 1, Tool: jsonTool{"nnlint", lint.Version}, Diagnostics: []lint.Diagnostic{}, Files: []jsonFile{}}
	failed := false
	for _, res := range r.Results {
		f := fileEntry(res)
		failed = failed || f.Error != nil
		out.Files = append(out.Files, f)
		out.Diagnostics = append(out.Diagnostics, res.Diagnostics...)
		failed = failed || lint.AtLeast(res.Diagnostics, r.FailOn)
	}
	c := r.Count()
	out.Summary = jsonSummary{Files: c.Files, FailedFiles: c.FailedFiles, Errors: c.Errors, Warnings: c.Warnings,
		Infos: c.Infos, FailOn: "none", Failed: failed}
	if r.FailOn != 0 {
		out.Summary.FailOn = r.FailOn.String()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestJSONStreamed: the streamed document is byte for byte the one
// encoding/json writes for the whole report, for reports with no file, no
// finding, findings in several files, probe reports with non-finite
// measurements, errors, internal errors and text JSON must escape.
func TestJSONStreamed(t *testing.T) {
	d := func(file, msg string) lint.Diagnostic {
		return lint.Diagnostic{Rule: "NN603", Name: "dead-relu", Severity: lint.Warning, File: file, Node: "/a<b>&c/Relu", Op: "Relu",
			Message: msg, Fix: "Use nn.LeakyReLU(0.01).", Related: []string{"x", "y\u2028z"}}
	}
	probe := &lint.ProbeReport{Batch: 2, Seed: 1, Loss: math.NaN(), LossKind: "mse",
		Inputs: []lint.ProbeInput{{Name: "x", DType: "float32", Shape: []int{2, 8}, Fill: "N(0,1)"}},
		Layers: []lint.ProbeLayer{{Node: "g", Op: "Gemm", Param: "w", InStd: math.Inf(1), OutStd: 0.5, WeightNorm: 1, GradNorm: math.NaN(), Elements: 4}},
		ReLUs:  []lint.ProbeReLU{{Node: "r", Op: "Relu", Units: 8, Dead: 8}},
		Notes:  []string{"batch 2 \"chosen\"\n"}}
	reports := []*Report{
		{},
		{Results: []Result{{File: "clean.onnx"}}},
		{FailOn: lint.Warning, Results: []Result{
			{File: "a.onnx", Diagnostics: []lint.Diagnostic{d("a.onnx", "8 of 8 units \x1b[31m never fire"), d("a.onnx", "tab\there")}, Probe: probe},
			{File: "b.onnx", Err: errors.New("b.onnx: bad <input>")},
			{File: "c.onnx", Err: &InternalError{Panic: "boom", Stack: []byte("stack")}},
			{File: "d.onnx", Diagnostics: []lint.Diagnostic{d("d.onnx", "ünïcode ✓")}},
		}},
	}
	for i, r := range reports {
		var got bytes.Buffer
		if err := (JSON{}).Format(&got, r); err != nil {
			t.Fatal(err)
		}
		if want := wholeJSON(t, r); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("report %d: streamed JSON differs from the whole report's encoding:\n%s\nwant:\n%s", i, got.Bytes(), want)
		}
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestJSONWriteError: a failing writer's error is returned.
func TestJSONWriteError(t *testing.T) {
	var ds []lint.Diagnostic
	for i := 0; i < 2000; i++ {
		ds = append(ds, lint.Diagnostic{Rule: "NN603", Severity: lint.Warning, File: "a.onnx", Message: "a finding long enough to fill the buffer more than once"})
	}
	r := &Report{Results: []Result{{File: "a.onnx", Diagnostics: ds}}}
	if err := (JSON{}).Format(&failWriter{n: 1000}, r); err == nil || err.Error() != "disk full" {
		t.Errorf("Format to a failing writer returned %v, want the writer's error", err)
	}
}
