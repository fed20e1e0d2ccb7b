package ir_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/nnkit/nnkit/ir"
)

// opCase is one entry of testdata/shapes/ops.json: an output size computed
// by PyTorch (conv2d, conv_transpose2d, max_pool2d, avg_pool2d) or by
// Python's slicing for one spatial axis, or null where PyTorch refuses the
// sizes.
type opCase struct {
	Op            string `json:"op"`
	In            int64  `json:"in"`
	K             int64  `json:"k"`
	S             int64  `json:"s"`
	P             int64  `json:"p"`
	D             int64  `json:"d"`
	Ceil          int64  `json:"ceil"`
	OutputPadding int64  `json:"output_padding"`
	Start         int64  `json:"start"`
	End           int64  `json:"end"`
	Step          int64  `json:"step"`
	Out           *int64 `json:"out"`
}

func loadOpCases(t *testing.T) []opCase {
	t.Helper()
	raw, err := os.ReadFile("../testdata/shapes/ops.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []opCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) < 1000 {
		t.Fatalf("only %d cases in ops.json", len(f.Cases))
	}
	return f.Cases
}

// buildOpCase makes a one-node graph for c whose spatial input size is dim
// and returns the model and the output value.
func buildOpCase(t *testing.T, c opCase, dim ir.Dim) (*tg, *ir.Value) {
	b := newTG(t, 13)
	x := b.g.AddInput("x", ir.TensorType(ir.Float32, ir.Shape{ir.DimOf(1), ir.DimOf(2), dim, ir.DimOf(1)}))
	switch c.Op {
	case "Conv":
		return b, b.out1("Conv", []*ir.Value{x, b.w("w", 4, 2, c.K, 1)},
			ir.IntsAttr("strides", c.S, 1), ir.IntsAttr("pads", c.P, 0, c.P, 0), ir.IntsAttr("dilations", c.D, 1))
	case "ConvTranspose":
		return b, b.out1("ConvTranspose", []*ir.Value{x, b.w("w", 2, 3, c.K, 1)},
			ir.IntsAttr("strides", c.S, 1), ir.IntsAttr("pads", c.P, 0, c.P, 0), ir.IntsAttr("dilations", c.D, 1),
			ir.IntsAttr("output_padding", c.OutputPadding, 0))
	case "MaxPool", "AveragePool":
		attrs := []*ir.Attribute{ir.IntsAttr("kernel_shape", c.K, 1), ir.IntsAttr("strides", c.S, 1),
			ir.IntsAttr("pads", c.P, 0, c.P, 0), ir.IntAttr("ceil_mode", c.Ceil)}
		if c.Op == "MaxPool" {
			attrs = append(attrs, ir.IntsAttr("dilations", c.D, 1))
		}
		return b, b.out1(c.Op, []*ir.Value{x}, attrs...)
	case "Slice":
		return b, b.out1("Slice", []*ir.Value{x, b.ints("starts", c.Start), b.ints("ends", c.End), b.ints("axes", 2), b.ints("steps", c.Step)})
	}
	t.Fatalf("unknown op %q in ops.json", c.Op)
	return nil, nil
}

// TestWindowAndSliceSizesAgainstPyTorch checks the output-size formulas of
// Conv, ConvTranspose, MaxPool and AveragePool (ceil_mode included) and of
// Slice against the sizes PyTorch and Python compute, first on concrete
// sizes, then on symbolic ones: with the input size written as c·n for each
// c dividing it, a symbolic result, evaluated at n, must be the true size
// (inference may say "unknown", never something wrong).
func TestWindowAndSliceSizesAgainstPyTorch(t *testing.T) {
	var exact, symbolic, symUnknown int
	for _, c := range loadOpCases(t) {
		label := fmt.Sprintf("%+v", c)
		b, y := buildOpCase(t, c, ir.DimOf(c.In))
		_, err := ir.InferShapes(b.m)
		if c.Out == nil {
			if err == nil {
				t.Errorf("%s: PyTorch rejects these sizes but inference gave %s", label, y.Shape())
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", label, err)
			continue
		}
		if got := y.Shape()[2]; !got.Known() || got.Value != *c.Out {
			t.Errorf("%s: inferred %s, want %d", label, got, *c.Out)
		}
		exact++
		if c.In == 0 {
			continue // symbols are at least 1
		}
		for _, coef := range []int64{1, 2, 4} {
			if c.In%coef != 0 {
				continue
			}
			sym := ir.SymDim("n")
			if coef != 1 {
				sym = ir.SymDim(fmt.Sprintf("%d*n", coef))
			}
			b, y := buildOpCase(t, c, sym)
			if _, err := ir.InferShapes(b.m); err != nil {
				t.Errorf("%s with size %s: %v", label, sym.Param, err)
				continue
			}
			got, ok := y.Shape()[2].Eval(map[string]int64{"n": c.In / coef})
			if !ok {
				symUnknown++
				continue
			}
			symbolic++
			if got != *c.Out {
				t.Errorf("%s with size %s: inferred %s = %d at n = %d, want %d", label, sym.Param, y.Shape()[2], got, c.In/coef, *c.Out)
			}
		}
	}
	t.Logf("%d concrete cases, %d symbolic results checked, %d symbolic left unknown", exact, symbolic, symUnknown)
	if symbolic < 500 {
		t.Errorf("only %d symbolic results: symbolic window arithmetic is barely exercised", symbolic)
	}
}

// TestWindowSizesAgainstPyTorch checks Window's numeric sizes, which the
// executor's planners use, on the same PyTorch cases: OutSize for Conv and
// pooling, TransposedOutSize for ConvTranspose (a size PyTorch refuses is
// one below 1, or NodeWindow's error).
func TestWindowSizesAgainstPyTorch(t *testing.T) {
	n := 0
	for _, c := range loadOpCases(t) {
		if c.Op == "Slice" {
			continue
		}
		_, y := buildOpCase(t, c, ir.DimOf(c.In))
		node := y.Producer
		kernel := []int64{c.K, 1}
		w, err := ir.NodeWindow(node, 2, kernel, true)
		if err != nil {
			if c.Out != nil {
				t.Errorf("%+v: %v", c, err)
			}
			continue
		}
		var got int64
		var ok bool
		if c.Op == "ConvTranspose" {
			got, ok = w.TransposedOutSize(0, c.In)
		} else {
			got, ok = w.OutSize(0, c.In)
		}
		switch {
		case !ok:
			t.Errorf("%+v: no size", c)
		case c.Out == nil && got >= 1:
			t.Errorf("%+v: PyTorch rejects these sizes but OutSize is %d", c, got)
		case c.Out != nil && got != *c.Out:
			t.Errorf("%+v: %d, want %d", c, got, *c.Out)
		}
		n++
	}
	if n < 1000 {
		t.Errorf("only %d cases", n)
	}
}
